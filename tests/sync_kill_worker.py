"""Run in a separate process by tests/test_sync_resume.py: a full sync that SIGKILLs its own
process when it is about to store its ``kill_at``-th page (Xero has answered, nothing of that
page is stored): a worker killed at that point, with no chance to clean up."""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any


def main() -> None:
    config = json.loads(sys.argv[1])
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from tests._sync_support import make_client
    from xero_panel.sync import cache_writer, engine

    class Tokens:
        def access_token(self) -> str:
            return str(config["access_token"])

        def refresh_access_token(self, rejected: str) -> str:
            return str(config["access_token"])

    written = [0]
    write = cache_writer.CacheWriter.write

    def write_or_die(self: Any, kind: Any, page: Any) -> int:
        written[0] += 1
        if written[0] == config["kill_at"]:
            os.kill(os.getpid(), signal.SIGKILL)
        return write(self, kind, page)

    cache_writer.CacheWriter.write = write_or_die  # type: ignore[method-assign]
    db = sa.create_engine(config["database_url"])
    client = make_client(config["emulator_url"], Tokens())
    with Session(db) as session:
        engine.full_sync(session, config["org_id"], client, page_size=config["page_size"])
    print("finished", flush=True)


if __name__ == "__main__":
    main()
