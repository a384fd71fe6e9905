"""Command line of the course: ``python -m attnlib build`` and ``python -m attnlib execute``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import build as nbbuild


def main(argv: list[str] | None = None) -> int:
    """Run the command named in ``argv`` and return the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m attnlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="make notebooks/ from solutions/ (never overwrites your changes unless --force)")
    b.add_argument("--force", action="store_true", help="overwrite notebooks changed since the last build")
    b.add_argument("--solutions", type=Path, default=nbbuild.SOLUTIONS, help="where the solution notebooks are")
    b.add_argument("--out", type=Path, default=nbbuild.NOTEBOOKS, help="where to write the exercise notebooks")
    e = sub.add_parser("execute", help="re-run solution notebooks in place to refresh their stored outputs")
    e.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)

    if args.command == "build":
        try:
            outcomes = nbbuild.build(args.solutions, args.out, force=args.force)
        except nbbuild.BuildError as exc:
            print(f"build failed: {exc}", file=sys.stderr)
            return 1
        for outcome in outcomes:
            print(outcome)
        skipped = [o for o in outcomes if o.action == "skipped"]
        if skipped:
            print(f"{len(skipped)} notebook(s) skipped to keep your changes; rerun with --force to replace them.")
        return 0
    for path in args.paths:
        print(f"executing {path} ...", flush=True)
        nbbuild.execute(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
