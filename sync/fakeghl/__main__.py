"""Run the fake GHL as a process: `python -m sync.fakeghl --locations 1000 --port 8765`."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from sync.fakeghl.server import FakeGHL


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--locations", type=int, default=60, help="sub-accounts of the agency")
    parser.add_argument("--agencies", type=int, default=1)
    parser.add_argument("--no-limits", action="store_true", help="do not enforce rate limits")
    args = parser.parse_args(argv)
    agencies = [
        (f"Agency {i + 1}" if i else "BrightPath Agency", args.locations)
        for i in range(args.agencies)
    ]
    fake = FakeGHL(
        seed=args.seed,
        agencies=agencies,
        host=args.host,
        port=args.port,
        enforce_limits=not args.no_limits,
    )
    url = fake.start()
    print(
        f"fake GHL at {url} client_id={fake.client_id} client_secret={fake.client_secret} "
        f"companies={','.join(fake.company_ids)}",
        flush=True,
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
