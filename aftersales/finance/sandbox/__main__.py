"""`python -m aftersales.finance.sandbox --port 8010 --db var/sandbox-gateway.sqlite3`"""

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from .server import SandboxServer

# The same default as settings.PAYMENT_GATEWAY_SECRET; both read the same variable.
DEV_SECRET = "sandbox-dev-secret"  # noqa: S105


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m aftersales.finance.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--db", type=Path, default=Path("var/sandbox-gateway.sqlite3"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = SandboxServer(
        (args.host, args.port), db_path=args.db, secret=os.environ.get("PAYMENT_GATEWAY_SECRET") or DEV_SECRET
    )
    # SIGTERM (honcho, tests) stops it like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"sandbox gateway on http://{args.host}:{args.port}/ (db {args.db})", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
