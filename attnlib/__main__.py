"""Command line of the course: ``python -m attnlib build | execute | progress | doctor | lab-defaults | cheatsheet | weights | bench | grading-metadata | nbgrader-course``.

The commands live in the room of the package their work belongs to: the course tooling in
``attnlib.course``, the cheat sheet in ``attnlib.figures``, the trained weights in ``attnlib.models``,
the benchmark in ``attnlib.measure``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path



def main(argv: list[str] | None = None) -> int:
    """Run the command named in ``argv`` and return the process exit status."""
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["doctor"]:  # needs nothing but the standard library, so that it runs in a broken set-up
        from .course import doctor

        return 0 if doctor.main() else 1
    if argv[:1] == ["cheatsheet"]:  # its own options (--out): ``python -m attnlib cheatsheet --help``
        from .figures import cheatsheet

        return cheatsheet.main(argv[1:])
    if argv[:1] == ["bench"]:  # its own options; re-executes itself with one BLAS thread
        from .measure import bench

        bench.reexec_single_threaded(argv[1:])
        return bench.main(argv[1:])
    from .course import build as nbbuild

    parser = argparse.ArgumentParser(prog="python -m attnlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="make notebooks/ from solutions/ (never overwrites your changes unless --force)")
    b.add_argument("--force", action="store_true", help="overwrite notebooks changed since the last build")
    b.add_argument("--solutions", type=Path, default=nbbuild.SOLUTIONS, help="where the solution notebooks are")
    b.add_argument("--out", type=Path, default=nbbuild.NOTEBOOKS, help="where to write the exercise notebooks")
    e = sub.add_parser("execute", help="re-run solution notebooks in place to refresh their stored outputs")
    e.add_argument("paths", nargs="+", type=Path)
    pr = sub.add_parser("progress", help="run your notebooks headlessly and report each exercise (never changes them)")
    pr.add_argument("paths", nargs="*", type=Path, help="notebooks to run (default: every notebook in notebooks/)")
    pr.add_argument("--timeout", type=float, default=300, help="seconds one notebook may take (default 300)")
    sub.add_parser("doctor", help="check your set-up: Python, packages, and the kernel the notebooks run in")
    sub.add_parser("lab-defaults", help="quiet this environment's JupyterLab: no news pop-up")
    sub.add_parser("cheatsheet", help="draw the cheat sheet again into cheatsheet/ (--out DIR for another folder)")
    sub.add_parser("weights", help="train notebook 11's model again and write its shipped weights")
    sub.add_parser("bench", help="tiled_attention's peak memory and time against naive numpy and torch (--help: options)")
    sub.add_parser("grading-metadata", help="instructors: write nbgrader's cell metadata into solutions/")
    nc = sub.add_parser("nbgrader-course", help="instructors: make an nbgrader course folder (config + one assignment per notebook)")
    nc.add_argument("folder", type=Path)
    nc.add_argument("--force", action="store_true", help="replace an existing config and source/ folder")
    args = parser.parse_args(argv)

    if args.command == "nbgrader-course":
        from .course import classroom

        try:
            written = classroom.make_course(args.folder, force=args.force)
        except (FileExistsError, FileNotFoundError) as exc:
            print(f"nbgrader-course: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {written[0]} and {len(written) - 1} assignments in {args.folder / 'source'}")
        return 0

    if args.command == "grading-metadata":
        from .course import grading

        written = grading.annotate_solutions()
        print(f"nbgrader metadata updated in {len(written)} notebook(s)" + "".join(f"\n  {p.name}" for p in written))
        return 0

    if args.command == "lab-defaults":
        from .course import labsettings

        print(f"wrote JupyterLab's course defaults to {labsettings.write_defaults()}")
        return 0

    if args.command == "weights":
        from .models import induction

        print(f"wrote {induction.save_trained()}")
        return 0

    if args.command == "progress":
        from .course import progress

        paths = args.paths or progress.course_notebooks()
        missing = [str(p) for p in paths if not Path(p).is_file()]
        if not paths or missing:
            what = ", ".join(missing) if missing else f"no notebooks in {nbbuild.NOTEBOOKS.name}/"
            print(f"progress: nothing to run ({what})", file=sys.stderr)
            return 2
        progress.report(paths, timeout=args.timeout)
        return 0

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
