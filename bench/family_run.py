"""Run one benchmark family in this process and write its figures as JSON: ``python -m bench.family_run NAME OUT [--quick]``.

The suite starts one process per family: each configures Django its own way (database, threads, broker), and
memory and load figures need a fresh process anyway.
"""

from __future__ import annotations

import argparse
import importlib
import json
import signal
from pathlib import Path

from bench.registry import BY_NAME


def _stop(signum, frame) -> None:
    # The suite stops a family that overran with SIGTERM: leaving through the exception runs every ``finally`` on the way
    # out, so the servers a family started (Redis, a Celery worker, the production stack) are stopped, not orphaned.
    raise SystemExit(f"stopped by signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(BY_NAME))
    parser.add_argument("out", type=Path)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    module = importlib.import_module(BY_NAME[args.name].module)
    figures = module.run(quick=args.quick)
    args.out.write_text(json.dumps([figure.as_dict() for figure in figures], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
