"""The command line: thin; it parses arguments and calls the pipeline."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__, pipeline
from .errors import SatsError

LOGGER = logging.getLogger("sats")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EPILOG = """exit codes:
  0  success
  1  the manuscript or the outputs have a problem (one line each: file:line: message)
  2  the command line is wrong
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py", description="Typeset a scholarly manuscript as a print PDF and an EPUB 3.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"Sats {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("manuscripts", nargs="*", type=Path, default=[Path("manuscript")],
                        help="manuscript folders (default: manuscript)")
    common.add_argument("-o", "--output", type=Path, default=Path("dist"), help="output folder (default: dist)")
    common.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    common.add_argument("-v", "--verbose", action="store_true", help="print every stage with its timing")
    common.add_argument("--strict", action="store_true",
                        help="treat warnings (unused or incomplete bibliography entries) as errors")
    commands = parser.add_subparsers(dest="command", metavar="command")
    build = commands.add_parser("build", parents=[common], help="build the editions (the default)")
    build.add_argument("--edition", choices=pipeline.EDITIONS, action="append",
                       help="build only this edition (may be repeated)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] not in ("build", "-h", "--help", "--version"):
        arguments.insert(0, "build")
    try:
        options = _parser().parse_args(arguments)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    level = logging.ERROR if options.quiet else logging.INFO if options.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr, force=True)
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    try:
        editions = tuple(options.edition or pipeline.EDITIONS)
        for folder in options.manuscripts:
            result = pipeline.build(folder, options.output, editions, strict=options.strict)
            if not options.quiet:
                made = ", ".join(str(path) for path in result.outputs.values())
                pages = f" (pages {pipeline.page_range(*result.pages)})" if result.pages else ""
                print(f"built {made}{pages}", file=sys.stderr)
    except SatsError as error:
        print(error, file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
