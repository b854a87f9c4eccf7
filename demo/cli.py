"""``python demo_app.py``: start the emulator and the CRM, rebuild the database, print the URLs."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from .app import create_app
from .seeding import DEMO_PASSWORD, DEMO_USERS, connect_acme, rebuild_database

__all__ = ["banner", "build_arg_parser", "main"]

_SEED_HELP = "JSON seed for the Xero emulator (default: the built-in sample)"
_DATABASE_HELP = (
    "SQLAlchemy URL of the demo database, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test"
    " (default: a SQLite file in the instance folder)"
)
#: The options, as ``(flag, add_argument keywords)``.
_OPTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--host", {"default": "127.0.0.1", "help": "interface to listen on"}),
    ("--port", {"type": int, "default": 5000, "help": "the CRM's port (default 5000)"}),
    ("--xero-seed", {"metavar": "FILE", "help": _SEED_HELP}),
    (
        "--emulator-port",
        {"type": int, "default": 5055, "help": "the Xero emulator's port (default 5055)"},
    ),
    ("--database-url", {"metavar": "URL", "help": _DATABASE_HELP}),
)


def build_arg_parser() -> argparse.ArgumentParser:
    """The ``python demo_app.py`` options."""
    parser = argparse.ArgumentParser(
        prog="demo_app.py",
        description=(
            "Run the demo CRM with the Xero panel, on a local Xero emulator. The demo database"
            " is rebuilt at each start. Every XERO_PANEL_* setting can come from the environment."
        ),
    )
    for flag, options in _OPTIONS:
        parser.add_argument(flag, **options)
    return parser


def _browser_host(host: str) -> str:
    if host in ("", "0.0.0.0", "::", "[::]"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def main(argv: Sequence[str] | None = None) -> None:
    """Start the emulator and the CRM, rebuild the demo database, and serve until stopped."""
    from xero_emulator import Emulator, load_seed, sample_seed

    parser = build_arg_parser()
    args = parser.parse_args(argv)
    try:
        seed = load_seed(args.xero_seed) if args.xero_seed else sample_seed()
    except (OSError, ValueError) as exc:
        parser.error(f"--xero-seed: {exc}")
    public_host = _browser_host(args.host)
    crm_url = f"http://{public_host}:{args.port}"
    emulator_url = f"http://{public_host}:{args.emulator_port}"
    config: dict[str, Any] = {}
    if args.database_url:
        config["SQLALCHEMY_DATABASE_URI"] = args.database_url
    app = create_app(config, seed=seed, emulator_url=emulator_url)

    prefix = str(app.config["XERO_PANEL_URL_PREFIX"]).rstrip("/")
    emulator = Emulator(
        seed,
        webhook_url=f"{crm_url}{prefix}/webhooks",
        webhook_key=app.config["XERO_PANEL_WEBHOOK_KEY"],
        control_enabled=True,
    )
    server = emulator.serve(host=args.host, port=args.emulator_port)
    try:
        rebuild_database(app)
        connect_acme(app, emulator)
        print(banner(crm_url, server.url, seed, emulator.control_token), flush=True)
        app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    finally:
        server.shutdown()


def banner(
    crm_url: str, emulator_url: str, seed: Mapping[str, Any], control_token: str | None = None
) -> str:
    """What ``python demo_app.py`` prints once both servers are up: URLs, logins and the
    emulator's control token (``XERO_EMULATOR_CONTROL_TOKEN`` when set, else made for this
    run)."""
    tenants = seed.get("tenants") or []
    names = [str(t.get("tenantName") or t.get("tenantId")) for t in tenants[:2]]
    lines = [
        "",
        f"  Demo CRM:       {crm_url}",
        f"  Xero emulator:  {emulator_url}",
        *(
            [f"  Emulator control token (header X-Emulator-Token): {control_token}"]
            if control_token
            else []
        ),
        "",
        f"  CRM users (password '{DEMO_PASSWORD}'):",
    ]
    for user in DEMO_USERS:
        lines.append(f"    {user.email:<20} {user.role:<6} {user.crm_account}")
    if names:
        lines.append(f"  Acme is connected to the Xero organisation {names[0]!r}.")
    if len(names) > 1:
        lines.append(f"  Globex is not connected: install Xero to connect {names[1]!r}.")
    lines.append("")
    lines.append("  Xero logins (on the emulator's sign-in page):")
    tenant_names = {
        str(t.get("tenantId")): str(t.get("tenantName") or t.get("tenantId")) for t in tenants
    }
    for xero_user in seed.get("users") or []:
        orgs = ", ".join(tenant_names.get(str(t), str(t)) for t in xero_user.get("tenants") or [])
        lines.append(
            f"    {xero_user.get('email')}  password {xero_user.get('password')!r}  ({orgs})"
        )
    lines.append("")
    return "\n".join(lines)
