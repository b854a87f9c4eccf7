"""The command line starts a server that answers."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import requests

from tests.emulator.helpers import control_get, example_seed


def start(*args):
    return subprocess.Popen(
        [sys.executable, "-m", "xero_emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def first_line(proc, lines=None):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if lines is not None:
            lines.append(line)
        if line.startswith("Xero emulator running on "):
            return line.split()[-1]
    raise AssertionError("the emulator did not start")


def test_cli_serves_sample_and_prints_users():
    proc = start()
    lines: list[str] = []
    try:
        url = first_line(proc, lines)
        info = requests.get(url + "/", timeout=10).json()
        while "books@harbour-audio.test" not in lines[-1]:
            lines.append(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert len(info["tenants"]) == 3
    assert "owner@kiwi-garden.test  password: kiwi-demo" in "".join(lines)


def test_cli_seed_file_and_control(tmp_path):
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(example_seed(), default=str))
    proc = start("--seed", str(path), "--enable-control")
    try:
        url = first_line(proc)
        assert control_get(url, "stats").status_code == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_cli_bad_seed_exits_2(tmp_path):
    path = tmp_path / "seed.json"
    path.write_text('{"tenants": [{"tenantId": "nope"}]}')
    proc = start("--seed", str(path))
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2 and "tenants[0]" in err
