"""Run in a separate process by tests/test_oauth.py: refresh a stored token at a given time."""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    config = json.loads(sys.argv[1])
    start_at = float(sys.argv[2])
    from tests.conftest import build_host_app
    from xero_panel.state import get_state

    host = build_host_app(config.pop("database_url"), sync=False, **config)
    with host.app.app_context():
        tokens = get_state().client_for(1)._tokens  # the StoredTokens of connection 1
        time.sleep(max(0.0, start_at - time.time()))
        print(tokens.access_token(), flush=True)


if __name__ == "__main__":
    main()
