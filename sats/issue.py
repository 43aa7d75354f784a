"""A journal issue: several articles in one pagination, and the issue's own files.

`issue.yaml` names the articles in order; each is built by the same pipeline as a single
article, with its journal, volume, issue and first page given by the issue. The articles are
laid out in parallel on a first guess of their first pages, then again, only those whose first
page the real page counts moved, until the chain of pages holds. The issue's files are made
from the articles' finished editions: the press PDF, the archival PDF, the EPUB and the
contents as data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import cache, config, pipeline
from .config import Journal, Project
from .errors import Problem, SatsError, display_path
from .output import write_atomically

LOGGER = logging.getLogger("sats")
ISSUE_FILE = "issue.yaml"
ROUNDS = 4  # layouts of the chain at most: parity and number width settle it in two
CHARACTERS_PER_PAGE = 2500  # a first guess at a page's worth of manuscript, before any layout
TOP_KEYS = {"journal", "volume", "issue", "year", "title", "lang", "first-page", "contents", "slug", "articles"}
ARTICLE_KEYS = {"folder", "right-hand"}
ISSUE_FILES = {"pdf": "{slug}.pdf", "print": "{slug}.print.pdf", "epub": "{slug}.epub",
               "contents": "{slug}.contents.json"}


@dataclass(frozen=True)
class Entry:
    """An article of the issue, as `issue.yaml` names it."""

    folder: Path
    right_hand: bool  # starts on a right-hand (odd) page
    line: int  # where issue.yaml names it


@dataclass(frozen=True)
class Issue:
    """A journal issue: what `issue.yaml` says, validated."""

    path: Path
    journal: str
    volume: int
    number: int
    year: int
    lang: str
    first_page: int
    articles: tuple[Entry, ...]
    title: str | None = None  # the theme, if the issue has one
    contents: bool = True  # front matter: a contents page
    slug: str = ""

    def file(self, kind: str) -> str:
        """The name of one of the issue's files."""
        return ISSUE_FILES[kind].format(slug=self.slug)

    @property
    def name(self) -> str:
        """The issue as cited: Internasjonal Politikk 79(3), 2021."""
        return f"{self.journal} {self.volume}({self.number}), {self.year}"


@dataclass(frozen=True)
class Placed:
    """An article built in its place in the issue."""

    entry: Entry
    project: Project  # with the journal as the issue places it
    first: int
    last: int
    outputs: dict[str, Path]
    rebuilt: tuple[str, ...]

    @property
    def pages(self) -> int:
        """How many pages the article has."""
        return self.last - self.first + 1


@dataclass(frozen=True)
class Result:
    """What an issue build made."""

    issue: Issue
    articles: tuple[Placed, ...]
    outputs: dict[str, Path]
    rebuilt: tuple[str, ...]  # the issue's own files made
    moves: tuple[str, ...]  # the articles the pages moved, as the build reports them
    warnings: tuple[Problem, ...]


def load(path: Path) -> Issue:
    """Load and validate `issue.yaml`: every mistake with its line, all at once."""
    path = path.resolve()
    if not path.is_file():
        raise SatsError.at("issue file not found", path)
    data, lines = config._parse_yaml(path)
    if not isinstance(data, dict):
        raise SatsError.at("the issue file must be a mapping of keys to values", path, 1)
    read = config._Reader(path, data, lines)
    read.mapping((), TOP_KEYS)
    journal = read.get(("journal",), config._text, required=True)
    volume = read.get(("volume",), config._volume, required=True)
    number = read.get(("issue",), config._volume, required=True)
    year = read.get(("year",), config._volume, required=True)
    lang = read.get(("lang",), config._lang, required=True)
    first_page = read.get(("first-page",), config._page_number, required=True)
    title = read.get(("title",), config._text)
    contents = read.get(("contents",), _flag)
    slug = read.get(("slug",), config._slug)
    entries: list[Entry] = []
    articles = data.get("articles")
    if not isinstance(articles, list) or not articles:
        read.problem(("articles",), "'articles' must be a list of manuscript folders")
        articles = []
    for index, article in enumerate(articles):
        keys: tuple[Any, ...] = ("articles", index)
        if isinstance(article, dict):
            read.mapping(keys, ARTICLE_KEYS)
            name = read.get((*keys, "folder"), config._text, required=True)
            right_hand = read.get((*keys, "right-hand"), _flag)
        else:
            name, right_hand = read.get(keys, config._text), None
        if name is None:
            continue
        folder = (path.parent / name).resolve()
        line = lines.get(keys) or lines.get(("articles",)) or 1
        if not (folder / config.METADATA_FILE).is_file():
            read.problem(keys, f"'{config._name(keys)}': no manuscript folder with a "
                               f"{config.METADATA_FILE} at {name}")
        elif folder in (entry.folder for entry in entries):
            read.problem(keys, f"'{config._name(keys)}': {name} is already in the issue")
        entries.append(Entry(folder, True if right_hand is None else right_hand, line))
    if read.problems:
        raise SatsError(*read.problems)
    return Issue(path=path, journal=journal, volume=volume, number=number, year=year, lang=lang,
                 first_page=first_page, articles=tuple(entries), title=title,
                 contents=True if contents is None else contents,
                 slug=slug or config.slugify(f"{journal} {volume} {number}")[:config.MAX_SLUG].rstrip("-"))


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("must be true or false")
    return value


def chain(issue: Issue, pages: Iterable[int]) -> tuple[int, ...]:
    """Each article's first page, from the articles' page counts in order: after the article
    before it, on the next odd page where it starts on a right-hand page."""
    firsts, page = [], issue.first_page
    for entry, count in zip(issue.articles, pages, strict=True):
        if entry.right_hand and page % 2 == 0:
            page += 1
        firsts.append(page)
        page += count
    return tuple(firsts)


def _guessed_pages(project: Project) -> int:
    """A first guess at an article's page count: the pages its metadata gives, or else from the
    size of its text."""
    journal = project.journal
    if journal.last_page is not None and journal.last_page >= journal.first_page:
        return journal.last_page - journal.first_page + 1
    size = sum(path.stat().st_size for path in (project.body, project.notes, project.abstract) if path)
    return 1 + size // CHARACTERS_PER_PAGE


def _placed_journal(issue: Issue, project: Project, first: int) -> Journal:
    return Journal(title=issue.journal, volume=issue.volume, issue=issue.number, first_page=first,
                   issn=project.journal.issn, url=project.journal.url)


def placed(issue: Issue, output: Path) -> list[Project]:
    """Each article of the issue as its last build in `output` placed it (its journal, volume,
    issue and first page), for what reads its editions."""
    pages = _record(output, issue).get("pages")
    if not isinstance(pages, dict) or any(str(entry.folder) not in pages for entry in issue.articles):
        raise SatsError.at(f"the issue is not built in {output}: build it first", issue.path)
    projects = [config.load(entry.folder) for entry in issue.articles]
    firsts = chain(issue, (pages[str(entry.folder)] for entry in issue.articles))
    return [dataclasses.replace(project, journal=_placed_journal(issue, project, first))
            for project, first in zip(projects, firsts, strict=True)]


def forget(issue: Issue, output: Path) -> None:
    """Delete what the build cache keeps for the issue itself."""
    _record_path(output, issue).unlink(missing_ok=True)


def _build_article(folder: Path, output: Path, options: pipeline.Options) -> pipeline.Result:
    """One article's build, in a worker process."""
    return pipeline.build(folder, output, options)


def _current(project: Project, output: Path, options: pipeline.Options) -> bool:
    """Whether the article, placed as `options` say, is built and up to date: then this process
    looks it up, and no worker is started for it."""
    placed = dataclasses.replace(project, journal=options.journal or project.journal)
    try:
        return not pipeline.plan(placed, output, cache.inputs_digests(placed), options).stale
    except SatsError:
        return False  # its build will say why


class InProcess(Executor):
    """Runs each job at once, in this process: for an article already built, or with -j 1."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run `fn` now; its result or its error in a future."""
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # the caller's future.result() raises it
            future.set_exception(error)
        return future


def _record_path(output: Path, issue: Issue) -> Path:
    return output / cache.CACHE_FOLDER / f"{issue.slug}.issue.json"


def _record(output: Path, issue: Issue) -> dict[str, Any]:
    try:
        record = json.loads(_record_path(output, issue).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _lay_out(issue: Issue, projects: list[Project], output: Path, options: pipeline.Options,
             pool: Executor, recorded: dict[str, int]) -> tuple[list[pipeline.Result], bool]:
    """Build every article in its place: first on guessed first pages (the last issue build's
    page counts, or else the metadata's pages, or else the size of the text), then again those
    whose first page the real page counts moved, until the chain holds; and whether `pool`
    built any."""
    counts = [recorded.get(str(entry.folder)) or _guessed_pages(project)
              for entry, project in zip(issue.articles, projects, strict=True)]
    built: list[pipeline.Result | None] = [None] * len(projects)
    placed_at: list[int | None] = [None] * len(projects)
    working = False
    for _ in range(ROUNDS):
        firsts = chain(issue, counts)
        todo = [index for index, first in enumerate(firsts) if placed_at[index] != first]
        if not todo:
            return [result for result in built if result is not None], working
        LOGGER.info("%s: laying out articles %s", issue.path.name, ", ".join(str(index + 1) for index in todo))
        futures = {}
        for index in todo:
            placed = dataclasses.replace(options, journal=_placed_journal(issue, projects[index], firsts[index]))
            build = InProcess() if _current(projects[index], output, placed) else pool
            futures[index] = build.submit(_build_article, issue.articles[index].folder, output, placed)
            working = working or build is pool
        problems: list[Problem] = []
        for index, future in futures.items():
            try:
                result = future.result()
            except SatsError as error:
                problems += error.problems
                continue
            assert result.pages is not None
            built[index], placed_at[index] = result, firsts[index]
            counts[index] = result.pages[1] - result.pages[0] + 1
        if problems:
            raise SatsError(*problems)
    raise SatsError.at(f"the pages of the issue do not settle in {ROUNDS} layouts", issue.path)


def _moves(issue: Issue, placed: list[Placed], recorded: dict[str, int]) -> tuple[str, ...]:
    """How far the articles moved since the last issue build: «articles 4–7 move by 2 pages»."""
    if not recorded or any(str(entry.folder) not in recorded for entry in issue.articles):
        return ()
    before = chain(issue, (recorded[str(entry.folder)] for entry in issue.articles))
    shifts = [article.first - first for article, first in zip(placed, before, strict=True)]
    moves, start = [], 0
    for index in range(1, len(shifts) + 1):
        if index == len(shifts) or shifts[index] != shifts[start]:
            shift = shifts[start]
            if shift:
                who = f"article {start + 1} moves" if index - start == 1 else \
                    f"articles {start + 1}–{index} move"
                pages = "page" if abs(shift) == 1 else "pages"
                moves.append(f"{who} {'by' if shift > 0 else 'back by'} {abs(shift)} {pages}")
            start = index
    return tuple(moves)


def _conflicts(issue: Issue, entry: Entry, project: Project, journal: Journal, last: int) -> list[Problem]:
    """Where the article's metadata says otherwise than the issue: a warning naming both."""
    _, lines = config._parse_yaml(project.metadata_file)
    stated = project.journal
    facts = (("title", stated.title, journal.title, "is in"), ("volume", stated.volume, journal.volume, "is in volume"),
             ("issue", stated.issue, journal.issue, "is in issue"),
             ("first-page", stated.first_page, journal.first_page, "places the article at page"),
             ("last-page", stated.last_page, last, "ends the article on page"))
    where = f"{display_path(issue.path)}:{entry.line}"
    problems = [Problem(f"journal.{key} is {says}, but {where} {verb} {placed}", project.metadata_file,
                        lines.get(("journal", key)))
                for key, says, placed, verb in facts if says is not None and says != placed]
    if project.year != issue.year:
        problems.append(Problem(f"the date is in {project.year}, but {where} is the issue of {issue.year}",
                                project.metadata_file, lines.get(("date",))))
    return problems


def _inputs(issue: Issue, placed: list[Placed], kinds: tuple[str, ...]) -> str:
    """A digest of what the issue's files are made from: the issue file, the articles' editions
    as built, and the issue's templates, styles and engines."""
    editions = [f"{article.outputs[kind]}\0{hashlib.sha256(article.outputs[kind].read_bytes()).hexdigest()}"
                for article in placed for kind in sorted(article.outputs) if article.outputs[kind].is_file()]
    return cache.digest(f"issue {kinds}\n" + "\n".join(editions), (issue.path, *cache.ISSUE))


def _up_to_date(output: Path, issue: Issue, record: dict[str, Any], digest: str, kinds: tuple[str, ...]) -> bool:
    if record.get("inputs") != digest:
        return False
    files = record.get("outputs")
    if not isinstance(files, dict):
        return False
    for kind in kinds:
        path = output / issue.file(kind)
        if not path.is_file() or files.get(kind) != hashlib.sha256(path.read_bytes()).hexdigest():
            return False
    return True


def build(path: Path, output: Path, options: pipeline.Options, pool: Executor) -> Result:
    """Build the issue in `path` (issue.yaml) into `output`: every article in its place, with
    `pool` building several at once, then the issue's own files."""
    issue = load(path)
    projects = [config.load(entry.folder) for entry in issue.articles]
    slugs = [project.slug for project in projects]
    twice = sorted({slug for slug in slugs if slugs.count(slug) > 1} | ({issue.slug} & set(slugs)))
    if twice:
        raise SatsError.at(f"two articles, or an article and the issue, have the slug {twice[0]!r}: "
                           f"their files would overwrite each other", issue.path)
    record = _record(output, issue)
    pages = record.get("pages")
    recorded: dict[str, int] = pages if isinstance(pages, dict) else {}
    results, working = _lay_out(issue, projects, output, options, pool, recorded)
    placed = []
    warnings: list[Problem] = []
    for entry, project, result in zip(issue.articles, projects, results, strict=True):
        assert result.pages is not None
        first, last = result.pages
        warnings += _conflicts(issue, entry, project, result.project.journal, last)
        placed.append(Placed(entry, result.project, first, last, result.outputs, result.rebuilt))
    for warning in warnings:
        LOGGER.warning("%s", warning)
    if options.strict and warnings:
        raise SatsError(*warnings)
    moves = _moves(issue, placed, recorded)
    editions = options.editions or pipeline.EDITIONS
    kinds = (*(kind for kind in ("print", "pdf", "epub") if kind in editions), "contents")
    digest = _inputs(issue, placed, kinds)
    outputs = {kind: output / issue.file(kind) for kind in kinds}
    rebuilt: tuple[str, ...] = ()
    if options.force or not _up_to_date(output, issue, record, digest, kinds):
        from . import issue_editions

        # The issue's pages and its EPUB are made in the workers, where WeasyPrint is loaded,
        # two at once; this process only merges the PDFs.
        made = issue_editions.make(issue, tuple(placed), kinds, pool if working else InProcess())
        for kind in kinds:
            write_atomically(outputs[kind], made[kind])
        rebuilt = kinds
        record = {"inputs": digest, "outputs": {kind: hashlib.sha256(made[kind]).hexdigest() for kind in kinds}}
    record["pages"] = {str(article.entry.folder): article.pages for article in placed}
    write_atomically(_record_path(output, issue), json.dumps(record, indent=1).encode())
    return Result(issue, tuple(placed), outputs, rebuilt, moves, tuple(warnings))
