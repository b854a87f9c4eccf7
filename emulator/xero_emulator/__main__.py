"""``python -m xero_emulator``: run the Xero emulator from the command line."""

from __future__ import annotations

import argparse
import contextlib
import gc
import ipaddress
import signal
import sys
import threading
from collections.abc import Sequence

from .backend import CONTROL_TOKEN_ENV, CONTROL_TOKEN_HEADER
from .emulator import Emulator
from .identity import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from .sample_seed import sample_seed
from .seed import SeedError, load_seed

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xero-emulator",
        description="A local Xero: OAuth 2.0, /connections and the Accounting API, seeded.",
    )
    parser.add_argument("--seed", help="seed JSON file (default: the built-in sample)")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1, loopback only; anything else lets other"
        " machines sign in, read the seed's data and, with --enable-control, mint tokens)",
    )
    parser.add_argument("--port", type=int, default=5055, help="port (default 5055; 0 = any)")
    parser.add_argument("--webhook-url", help="POST signed webhook events here")
    parser.add_argument("--webhook-key", help="the webhook signing key")
    parser.add_argument(
        "--enable-control",
        action="store_true",
        help="serve the /_emulator/ control endpoints (tests and demos only)",
    )
    parser.add_argument(
        "--token-ttl", type=int, default=1800, help="access token lifetime in seconds"
    )
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        help="delay every Accounting API answer this long, like Xero from far away (default 0)",
    )
    return parser


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until interrupted. Returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        seed = load_seed(args.seed) if args.seed else sample_seed()
        emulator = Emulator(
            seed,
            webhook_url=args.webhook_url,
            webhook_key=args.webhook_key,
            control_enabled=args.enable_control,
            access_token_ttl=args.token_ttl,
            latency_ms=args.latency_ms,
        )
    except (OSError, SeedError, ValueError) as exc:
        print(f"xero-emulator: {exc}", file=sys.stderr)
        return 2
    # The seed's objects live as long as the process: keep the cyclic GC from walking them
    # again and again (it matters with a million invoices).
    gc.collect()
    gc.freeze()
    server = emulator.serve(args.host, args.port)
    out = [
        f"Xero emulator running on {server.url}",
        f"  authorize  {server.url}/identity/connect/authorize",
        f"  token      {server.url}/identity/connect/token (also /connect/token)",
        f"  api        {server.url}/api.xro/2.0  connections {server.url}/connections",
        f"  demo client_id={DEMO_CLIENT_ID} client_secret={DEMO_CLIENT_SECRET}",
        f"  control endpoints: {'on' if args.enable_control else 'off'}",
        f"  latency: {args.latency_ms} ms per Accounting API call",
    ]
    if args.enable_control:
        out.append(
            f"  control token ({CONTROL_TOKEN_ENV}): {emulator.control_token}"
            f"  (send it as {CONTROL_TOKEN_HEADER}, with Content-Type: application/json)"
        )
    if not _loopback(args.host):
        out.append(f"  WARNING: bound to {args.host}, not loopback: other machines can reach it")
    out.append("Xero users:")
    names = {tid: emulator.tenant(tid).tenant_name for tid in emulator.tenant_ids}
    for user in emulator.users:
        orgs = ", ".join(names[t] for t in user["tenants"])
        out.append(f"  {user['email']}  password: {user['password']}  ({orgs})")
    print("\n".join(out), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
