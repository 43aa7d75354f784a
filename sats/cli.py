"""The command line: thin; it parses arguments and calls the pipeline."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__, config, validator
from .characters import one_line
from .errors import Problem, SatsError, display_path
from .output import own_folder

if TYPE_CHECKING:
    from . import pipeline

LOGGER = logging.getLogger("sats")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2  # argparse, too, exits with 2 on a wrong command line
COMMANDS = {
    "build": "build the editions (the default command)",
    "check": "lint the manuscript, then validate the editions: EPUBCheck, the PDF's structure, "
             "and the word check of both editions against the manuscript",
    "preview": "write PNG images of the PDF's pages and a contact sheet to OUTPUT/preview/SLUG/; with "
               "--against REF, compare the pages with REF's and write a report to OUTPUT/review/SLUG/",
    "watch": "rebuild whenever a manuscript file, template or style is saved (Ctrl-C stops)",
    "clean": "remove the editions, previews and build cache of the manuscripts",
}
WATCH_INTERVAL = 0.05  # seconds between looks at the files: a few dozen stat calls
EPILOG = """exit codes:
  0  success (for check: no problem found)
  1  a problem with the manuscript or the editions, one line each: file:line: message
     (or an internal error of Sats, in one line; --debug prints its traceback)
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
    common.add_argument("--debug", action="store_true", help="on an internal error, print its traceback")
    common.add_argument("--shard", type=_shard, metavar="K/N",
                        help="take only every N-th manuscript folder, from the K-th (for CI runners)")
    commands = parser.add_subparsers(dest="command", metavar="command")
    for name, summary in COMMANDS.items():
        sub = commands.add_parser(name, parents=[common], help=summary, description=summary)
        if name in ("build", "watch"):
            sub.add_argument("--edition", choices=tuple(config.EDITION_FILES), action="append",
                             help="build only this edition (may be repeated)")
            sub.add_argument("--strict", action="store_true",
                             help="treat warnings (unused or incomplete bibliography entries, the press "
                                  "PDF's preflight findings) as errors")
        if name == "build":
            sub.add_argument("--force", action="store_true", help="rebuild even what is up to date")
            sub.add_argument("-j", "--jobs", type=_jobs, metavar="N",
                             help="build N manuscripts at once (0: one per core; default 1, for an issue 0)")
            sub.add_argument("--keep-html", action="store_true",
                             help="also write OUTPUT/SLUG.print.html, the HTML WeasyPrint lays out "
                                  "(laying it out even if the editions are up to date)")
        if name == "preview":
            sub.add_argument("--against", metavar="REF", help="a git revision (built by its own code) or a "
                             "folder of earlier page images: report every page as unchanged, changed, new or gone")
            sub.add_argument("--fail-on-change", action="store_true",
                             help="with --against: exit 1 when a page changed, is new or is gone")
    return parser


def _say(options: argparse.Namespace, message: str) -> None:
    """A summary line on stderr, unless --quiet."""
    if not options.quiet:
        print(one_line(message), file=sys.stderr)


def _shard(value: str) -> tuple[int, int]:
    """K/N, with 1 ≤ K ≤ N."""
    try:
        part, parts = (int(number) for number in value.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not K/N") from None
    if not 1 <= part <= parts:
        raise argparse.ArgumentTypeError(f"{value!r}: K must be between 1 and N")
    return part, parts


def _jobs(value: str) -> int:
    """A number of jobs: 0 or more."""
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if jobs < 0:
        raise argparse.ArgumentTypeError(f"{value!r}: N must be 0 (one per core) or more")
    return jobs


def _manuscripts(options: argparse.Namespace) -> list[Path]:
    """The manuscript folders named, in a stable order, this shard's share of them."""
    folders = list(dict.fromkeys(options.manuscripts))
    if options.shard is None:
        return folders
    part, parts = options.shard
    return sorted(folders, key=str)[part - 1::parts]


def _slug(folder: Path) -> str | None:
    try:
        return config.load(folder).slug
    except SatsError:
        return None  # its build will say why


def _cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _build_one(folder: Path, options: argparse.Namespace) -> pipeline.Result:
    from . import pipeline

    chosen = pipeline.Options(tuple(options.edition) if options.edition else None, options.strict,
                              getattr(options, "force", False), getattr(options, "keep_html", False))
    if options.command == "watch" and "pdf" in (chosen.editions or pipeline.EDITIONS):
        # The PDF first, to look at; then the other editions, from its pages.
        pipeline.build(folder, options.output, dataclasses.replace(chosen, editions=("pdf",)))
    return pipeline.build(folder, options.output, chosen)


def _results(options: argparse.Namespace) -> Iterator[tuple[Path, pipeline.Result | SatsError]]:
    """Build each manuscript, several at once with --jobs, in their order; a failed one is
    reported and the others still built."""
    folders = _manuscripts(options)
    seen: dict[str, Path] = {}
    for folder in folders if len(folders) > 1 else ():
        slug = _slug(folder)
        if slug in seen:
            raise SatsError.at(f"{seen[slug]} and {folder} have the same slug {slug!r}: "
                               "their editions would overwrite each other")
        if slug:
            seen[slug] = folder
    jobs = getattr(options, "jobs", None)
    jobs = 1 if jobs is None else jobs or _cores()
    if jobs == 1 or len(folders) == 1:
        for folder in folders:
            try:
                yield folder, _build_one(folder, options)
            except SatsError as error:
                yield folder, error
        return
    # Each title in its own process: layout is single-threaded, and titles share nothing.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(min(jobs, len(folders)), mp_context=multiprocessing.get_context("forkserver"),
                             initializer=_configure_logging, initargs=(options,)) as pool:
        futures = [pool.submit(_build_one, folder, options) for folder in folders]
        for folder, future in zip(folders, futures, strict=True):
            try:
                yield folder, future.result()
            except SatsError as error:
                yield folder, error


def _issue_file(path: Path) -> Path | None:
    """The issue file `path` names: a .yaml file, or a folder holding issue.yaml and no metadata.yaml."""
    if path.suffix in (".yaml", ".yml"):
        return path
    if (path / "issue.yaml").is_file() and not (path / config.METADATA_FILE).is_file():
        return path / "issue.yaml"
    return None


def _build_issue(options: argparse.Namespace, path: Path) -> int:
    """Build a journal issue: its articles, several at once, then the issue's own files."""
    import multiprocessing
    from concurrent.futures import Executor, ProcessPoolExecutor

    from . import issue, pipeline

    chosen = pipeline.Options(tuple(options.edition) if options.edition else None, options.strict,
                              getattr(options, "force", False), getattr(options, "keep_html", False))
    jobs = getattr(options, "jobs", None) or _cores()  # watch has no -j
    pool: Executor = issue.InProcess() if jobs == 1 else ProcessPoolExecutor(
        jobs, mp_context=multiprocessing.get_context("forkserver"), initializer=_configure_logging,
        initargs=(options,))
    with pool:
        result = issue.build(path, options.output, chosen, pool)
    for article in result.articles:
        pages = pipeline.page_range(article.first, article.last)
        if article.rebuilt:
            _say(options, f"built {', '.join(str(article.outputs[e]) for e in article.rebuilt)}, "
                          f"printed pages {pages}")
        else:
            _say(options, f"{article.entry.folder.name}: the editions are up to date, printed pages {pages}")
    for move in result.moves:
        _say(options, f"{result.issue.path.name}: {move}")
    if result.rebuilt:
        _say(options, f"built {', '.join(str(result.outputs[kind]) for kind in result.rebuilt)}")
    else:
        _say(options, f"{result.issue.path.name}: the issue's files are up to date")
    return EXIT_OK


def _build(options: argparse.Namespace) -> int:
    from . import pipeline

    issues = [found for found in map(_issue_file, options.manuscripts) if found]
    if issues:
        if len(options.manuscripts) > 1 or options.shard:
            raise SatsError.at("an issue is built alone: name its issue.yaml and nothing else")
        return _build_issue(options, issues[0])
    failed = False
    for folder, result in _results(options):
        if isinstance(result, SatsError):
            print(result, file=sys.stderr)
            failed = True
            continue
        pages = f", printed pages {pipeline.page_range(*result.pages)}" if result.pages else ""
        if result.rebuilt:
            _say(options, f"built {', '.join(str(result.outputs[e]) for e in result.rebuilt)}{pages}")
        else:
            editions = tuple(result.outputs)
            what = "the editions are" if len(editions) > 1 else f"the {editions[0]} edition is"
            _say(options, f"{folder}: {what} up to date{pages}")
        if not options.edition:
            for edition, lacking in pipeline.unavailable(result.project).items():
                _say(options, f"{folder}: no {edition} file: the metadata has no {lacking}")
    return EXIT_FAILED if failed else EXIT_OK


def _check(options: argparse.Namespace) -> int:
    failed = False
    for folder in _manuscripts(options):
        issue_file = _issue_file(folder)
        if issue_file is not None:
            failed = _check_issue(options, issue_file) or failed
        else:
            failed = _check_article(options, config.load(folder), folder) or failed
    return EXIT_FAILED if failed else EXIT_OK


def _check_article(options: argparse.Namespace, project: config.Project, folder: Path) -> bool:
    """Check one article's manuscript and editions, and say what was found; whether a problem was."""
    epubcheck = validator.start(options.output / project.file("epub"))  # before the rest loads
    from . import check

    report = check.run(project, options.output, epubcheck)
    for warning in report.warnings:
        LOGGER.warning("%s", warning)
    return _verdict(options, folder, list(report.problems), list(report.notes), len(report.warnings))


def _verdict(options: argparse.Namespace, what: Path, problems: list[Problem], notes: list[str],
             warnings: int) -> bool:
    """Print the problems found in `what`, the notes unless --quiet, and a summary line."""
    for problem in problems:
        print(problem, file=sys.stderr)
    for note in notes:
        _say(options, note)
    verdict = f"{len(problems)} problems" if problems else "no problems"
    _say(options, f"{what}: {verdict}, {warnings} warnings")
    return bool(problems)


def _check_issue(options: argparse.Namespace, path: Path) -> bool:
    """Check every article of an issue, each at its place, then the issue's own files."""
    from . import issue

    loaded = issue.load(path)
    projects = issue.placed(loaded, options.output)
    epubcheck = validator.start(options.output / loaded.file("epub"))  # beside the articles' checks
    failed = False
    for entry, project in zip(loaded.articles, projects, strict=True):
        failed = _check_article(options, project, Path(display_path(entry.folder))) or failed
    from . import check

    problems, notes = check.issue_files(loaded, projects, options.output, epubcheck)
    return _verdict(options, path, problems, notes, 0) or failed


def _preview(options: argparse.Namespace) -> int:
    from . import preview

    if options.against:
        return _review(options)
    for folder in _manuscripts(options):
        if (issue_file := _issue_file(folder)) is not None:
            _preview_issue(options, issue_file)
            continue
        project = config.load(folder)
        pdf = options.output / project.file("pdf")
        if not pdf.is_file():
            raise SatsError.at("missing: build it first", pdf)
        written = preview.write(pdf, preview.folder(options.output, project.slug), project.journal.first_page)
        _say(options, f"wrote {len(written)} images to {written[-1].parent}")
    return EXIT_OK


def _review(options: argparse.Namespace) -> int:
    """A line per page on stdout; the report and the contact sheet under OUTPUT/review/SLUG/."""
    from . import review

    changed = False
    for result in review.run(_manuscripts(options), options.output, options.against):
        slug = result.project.slug
        print(f"{slug}: against {result.reference.label}, {result.reference.note}")
        for page in result.pages:
            print(page.line)
        report = review.write(result, own_folder(own_folder(options.output, "review"), result.project.slug))
        _say(options, f"{slug}: {result.summary}; report: {report}")
        changed = changed or bool(result.changes)
    return EXIT_FAILED if changed and options.fail_on_change else EXIT_OK


def _watched(options: argparse.Namespace) -> dict[Path, float]:
    from . import cache

    paths: list[Path] = []
    for folder in _manuscripts(options):
        issue_file = _issue_file(folder)
        if issue_file is not None:  # the issue file and its articles' folders
            from . import issue

            paths.append(issue_file)
            with contextlib.suppress(SatsError):  # the build says why
                folders = [entry.folder for entry in issue.load(issue_file).articles]
                paths += [p for article in folders for p in article.rglob("*") if p.is_file()]
            continue
        paths += [p for p in Path(folder).rglob("*") if p.is_file()]
    for root in (cache.TEMPLATES, cache.STYLES):
        paths += [p for p in root.rglob("*") if p.is_file()]
    return {path: path.stat().st_mtime for path in paths}


def _watch(options: argparse.Namespace) -> None:
    """Rebuild on every save, in this process, so the engines stay loaded."""
    seen: dict[Path, float] = {}
    _say(options, f"watching {', '.join(str(f) for f in options.manuscripts)} (Ctrl-C stops)")
    try:
        while True:
            current = _watched(options)
            if current != seen:
                seen = current
                try:
                    _build(options)
                except SatsError as error:  # the folders named cannot be built together
                    print(error, file=sys.stderr)
            time.sleep(WATCH_INTERVAL)
    except KeyboardInterrupt:
        pass


def _preview_issue(options: argparse.Namespace, path: Path) -> None:
    """Write images of the issue PDF's pages, numbered in the file's order (page-1 is its first)."""
    from . import issue, preview

    loaded = issue.load(path)
    pdf = options.output / loaded.file("pdf")
    if not pdf.is_file():
        raise SatsError.at("missing: build it first", pdf)
    written = preview.write(pdf, preview.folder(options.output, loaded.slug), 1)
    _say(options, f"wrote {len(written)} images to {written[-1].parent}")


def _clean(options: argparse.Namespace) -> None:
    """Remove the files Sats made for each manuscript (or issue, and its articles), and nothing else."""
    from . import issue, preview

    for folder in _manuscripts(options):
        issue_file = _issue_file(folder)
        if issue_file is None:
            _clean_article(options, config.load(folder), folder)
            _say(options, f"removed the editions of {folder} from {options.output}")
            continue
        loaded = issue.load(issue_file)
        for name in map(loaded.file, issue.ISSUE_FILES):
            (options.output / name).unlink(missing_ok=True)
        preview.remove(preview.folder(options.output, loaded.slug))
        issue.forget(loaded, options.output)
        for entry in loaded.articles:
            _clean_article(options, config.load(entry.folder), Path(display_path(entry.folder)))
        _say(options, f"removed the files of the issue {issue_file} and of its articles from {options.output}")


def _clean_article(options: argparse.Namespace, project: config.Project, folder: Path) -> None:
    """Remove one article's editions, previews and build cache."""
    from . import cache, pipeline, preview, review

    owner = cache.owner(options.output, project)
    if owner is not None and owner != project.root:
        raise SatsError.at(f"the files named {project.slug!r} there were built from {owner}, not from "
                           f"{folder}: not removed", options.output)
    for name in (*(project.file(edition) for edition in pipeline.EDITIONS), project.preflight_file,
                 project.html_file):
        (options.output / name).unlink(missing_ok=True)
    preview.remove(preview.folder(options.output, project.slug))
    preview.remove(own_folder(own_folder(options.output, "review"), project.slug), review.WRITTEN)
    cache.forget(options.output, project)


def _configure_logging(options: argparse.Namespace) -> None:
    """Messages on stderr, as many as --quiet or --verbose ask for (in parallel builds' workers too).

    --verbose is for Sats's own stages: the libraries' progress and notices (pikepdf says at
    import that its logging works) stay below what is shown; their warnings are shown."""
    level = logging.ERROR if options.quiet else logging.INFO if options.verbose else logging.WARNING
    logging.basicConfig(level=max(level, logging.WARNING), stream=sys.stderr, force=True)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(_OneLine())
    LOGGER.setLevel(level)
    logging.getLogger("fontTools").setLevel(logging.ERROR)


class _OneLine(logging.Formatter):
    """Log records as their message alone, on one line: a value in it cannot forge a line."""

    def format(self, record: logging.LogRecord) -> str:
        return one_line(record.getMessage())


def _usage_error(message: str) -> int:
    """Say what is wrong with the command line, as argparse does, and return its exit code."""
    _parser().print_usage(sys.stderr)
    print(f"build.py: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _unknown_command(argument: str) -> str | None:
    """Why `argument`, first on the command line, is neither a command nor a manuscript folder."""
    if argument in (*COMMANDS, "-h", "--help", "--version") or argument.startswith("-") or Path(argument).exists():
        return None
    guess = difflib.get_close_matches(argument, list(COMMANDS), n=1)
    hint = f"did you mean {guess[0]!r}?" if guess else f"the commands are {', '.join(COMMANDS)}"
    return f"{argument!r} is neither a command nor a manuscript folder: {hint}"


def _output_inside(options: argparse.Namespace) -> str | None:
    """Why the output folder may not be used: it lies inside a manuscript folder."""
    output = options.output.resolve()
    for folder in options.manuscripts:
        if output.is_relative_to(folder.resolve()):
            return f"the output folder {options.output} is inside the manuscript folder {folder}: " \
                   "the editions would become part of the manuscript"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and (unknown := _unknown_command(arguments[0])):
        return _usage_error(unknown)
    if not arguments or arguments[0] not in (*COMMANDS, "-h", "--help", "--version"):
        arguments.insert(0, "build")
    try:
        options = _parser().parse_args(arguments)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if inside := _output_inside(options):
        return _usage_error(inside)
    _configure_logging(options)
    commands: dict[str, Callable[[argparse.Namespace], int | None]] = {
        "build": _build, "check": _check, "preview": _preview, "watch": _watch, "clean": _clean}
    try:
        return commands[options.command](options) or EXIT_OK
    except SatsError as error:
        print(error, file=sys.stderr)
        return EXIT_FAILED
    except RecursionError:
        print("the manuscript is nested too deeply to typeset", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # a bug in Sats: whatever the input, one line, unless --debug asks for more
        if options.debug:
            traceback.print_exc()
        print(f"internal error: {one_line(f'{type(error).__name__}: {error}')} — a bug in Sats; "
              "run with --debug for the traceback", file=sys.stderr)
        return EXIT_FAILED
