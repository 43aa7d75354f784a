"""The build, stage by stage: load → read → parse → typeset the PDF / write the EPUB → save."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import html as lxml_html
from markupsafe import Markup

from . import __version__, cache, config, content, crossref, limits, manuscript, pdf, typography
from .config import TOOL_ROOT, Project
from .errors import Problem, SatsError
from .output import write_atomically
from .timing import stage

if TYPE_CHECKING:  # the engines are loaded when there is something to make: a no-op build stays fast
    from . import epub, figures, templates

LOGGER = logging.getLogger("sats")
EDITIONS = ("pdf", "print", "epub", "jats", "crossref")
# The editions that need the print edition's pages: where each begins (the EPUB's page list),
# or where the article ends (the JATS file and the Crossref deposit).
PAGED = ("print", "epub", "jats", "crossref")
STYLES = TOOL_ROOT / "styles"


RELAYOUTS = 3  # at most this many further layouts to mend the hard faults the typographic report found
# The layout's time budget: seconds, and seconds more per MB of the article's HTML (README, «Limits»).
LAYOUT_BUDGET = (60, 120)


def layout_budget(parts: dict[str, str]) -> float:
    """How long the layouts of an article may take, in seconds: in proportion to its HTML."""
    base, per_megabyte = LAYOUT_BUDGET
    return base + per_megabyte * sum(len(part.encode()) for part in parts.values()) / 1_000_000


@dataclass(frozen=True)
class Typesetting:
    """The typographic report of the first layout and of the one kept."""

    found: tuple[typography.Fault, ...]
    kept: tuple[typography.Fault, ...]
    layouts: int  # how many layouts it took


@dataclass(frozen=True)
class Result:
    """What a build made."""

    project: Project
    outputs: dict[str, Path]
    pages: tuple[int, int] | None
    warnings: tuple[Problem, ...]
    rebuilt: tuple[str, ...]


def page_range(first: int, last: int | None) -> str:
    """Pages as printed: 319–330."""
    return f"{first}–{last}" if last and last != first else str(first)


def printed_in(project: Project, last_page: int | None) -> str:
    """Where the article is printed: Internasjonal Politikk 79(3), 2021, 319–330."""
    journal = project.journal
    return f"{journal.title} {journal.volume}({journal.issue}), {project.year}, " \
           f"{page_range(journal.first_page, last_page)}"


def template_context(project: Project, parts: dict[str, str], last_page: int | None) -> templates.Context:
    """What every template sees: the project, its labels and the article's HTML parts; the last
    page, if it is known."""
    from . import templates

    labels = templates.labels(project.lang)
    abstract = parts.get("abstract") or ""
    description = lxml_html.fromstring(f"<div>{abstract}</div>").text_content().strip() if abstract else ""
    return templates.Context(
        project=project,
        labels=labels,
        translation_labels=templates.labels(project.translation.lang) if project.translation else labels,
        authors=templates.author_names(project),
        running_authors=templates.running_authors(project),
        affiliations=templates.affiliation_marks(project.authors),
        parts={name: Markup(html) for name, html in parts.items()},
        last_page=last_page,
        source=printed_in(project, last_page),
        # A stable identifier: the DOI, or a name-based UUID, never a random one.
        identifier=f"doi:{project.doi}" if project.doi else
        f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'sats:{project.slug}:{project.title}')}",
        description=description or project.title,
        version=__version__,
        stylesheet=(STYLES / "print.css").as_uri(),
    )


def typeset(project: Project, parts: dict[str, str],
            resources: dict[Path, bytes]) -> tuple[pdf.Pdf, int, str, Typesetting]:
    """Lay out the print edition (with `resources`, the sanitised SVGs, in place of their files)
    and write its PDF; return it with its last page, its HTML and the typographic report.

    Unless the metadata names the last page, the first page prints the page the layout ends on
    (a CSS target counter), so one layout does. Only a one-page article is laid out again, to
    print its page alone rather than a range. Where the report finds a hard fault, the pages are
    laid out again with fixes where it was found, at most `RELAYOUTS` times, and the best layout
    kept.
    """
    from . import templates

    first, last = project.journal.first_page, project.journal.last_page
    html = templates.render("print.html.j2", template_context(project, parts, last))
    roots = (STYLES, project.root)
    document = pdf.lay_out(html, project.root, roots, epoch=project.epoch, resources=resources)
    produced = first + len(document.pages) - 1
    if last is None and produced == first:
        html = templates.render("print.html.j2", template_context(project, parts, produced))
        document = pdf.lay_out(html, project.root, roots, epoch=project.epoch, resources=resources)
    faults = _measure(document, first)
    found, fixes, layouts = faults, typography.Fixes(), 1
    tried = faults  # the last layout's: the next fixes build on them, even if it was not kept
    while layouts <= RELAYOUTS and typography.wanting(tried):
        wanted = typography.fixes(tried, fixes)
        if wanted == fixes:
            break  # nothing more to try
        fixes, layouts = wanted, layouts + 1
        fixed_html = typography.apply(html, fixes)
        fixed = pdf.lay_out(fixed_html, project.root, roots, epoch=project.epoch,
                            resources=resources)
        fixed_faults = tried = _measure(fixed, first)
        if typography.better(fixed_faults, faults):
            document, html, faults = fixed, fixed_html, fixed_faults
    produced = first + len(document.pages) - 1
    for overflow in pdf.overflows(document):
        LOGGER.warning("%s: %s", project.body.name, overflow)
    if last is not None and produced != last:
        LOGGER.warning("%s: the print edition runs to page %d, but journal.last-page is %d",
                       project.metadata_file.name, produced, last)
    edition = pdf.Edition(first, printed_in(project, produced),
                          tuple(author.orcid_url or "" for author in project.authors))
    written = pdf.write(document, identifier=project.doi or project.slug, edition=edition)
    return written, produced, html, Typesetting(found, faults, layouts)


def _measure(document: Any, first_page: int) -> tuple[typography.Fault, ...]:
    """The typographic report of a laid-out document."""
    from . import weasyprint_private

    with stage("typographic report"):
        return typography.report(weasyprint_private.measure(document.pages, first_page))


def _report_typography(path: Path, report: Typesetting) -> tuple[Problem, ...]:
    """Say what the typographic report found (with `-v`); the hard faults left, as warnings."""
    LOGGER.info("typography: first layout: %s", typography.summary(report.found))
    if report.layouts > 1:
        LOGGER.info("typography: after fixes (%d layouts): %s", report.layouts, typography.summary(report.kept))
    for fault in report.kept:
        if not fault.hard:
            LOGGER.info("%s: %s", path, fault)
    return tuple(Problem(str(fault), path) for fault in report.kept if fault.hard)


def _start_epub(project: Project, article: content.Content, parts: dict[str, str], output: Path,
                reuse: bool, placed: figures.Images) -> epub.Writing:
    """Start writing the EPUB, its cover rendered (or, if `reuse`, taken from the cache); the
    last page is the metadata's, if it names one, or else printed when the EPUB is finished."""
    from . import epub

    context = template_context(project, parts, project.journal.last_page)
    html = epub.cover_html(context)
    image = cache.cover(output, project, html, lambda: epub.cover(html, project), fresh=not reuse)
    return epub.start(project, article, context, image, placed)


def _save(output: Path, project: Project, edition: str, digest: str, data: bytes, last: int | None,
          starts: tuple[pdf.PageStart, ...], warnings: tuple[Problem, ...]) -> None:
    """Write an edition and its stamp, with the build's warnings (for the PDF, with its last page
    and its pages' starts)."""
    write_atomically(output / project.file(edition), data)
    cache.record(output, project, edition, digest, data, *((last, starts) if edition == "pdf" else (None, ())),
                 warnings)


def _warn(warnings: tuple[Problem, ...], strict: bool) -> None:
    """Report the manuscript's warnings; with `strict`, they fail the build."""
    for warning in warnings:
        LOGGER.warning("%s", warning)
    if strict and warnings:
        raise SatsError(*warnings)


@dataclass(frozen=True)
class Options:
    """How to build: which editions, and how strictly."""

    editions: tuple[str, ...] | None = None  # None: every edition the metadata has what it needs for
    strict: bool = False  # warnings fail the build
    force: bool = False  # rebuild every chosen edition, from nothing kept in the cache
    keep_html: bool = False  # also write the HTML WeasyPrint lays out (laying it out even if up to date)
    # Where an issue places the article (journal, volume, issue, first page), instead of the
    # metadata's; the layout then finds the last page.
    journal: config.Journal | None = None


@dataclass(frozen=True)
class Plan:
    """What a build must make, and what it can take from the last one."""

    editions: tuple[str, ...]  # the editions chosen
    stale: tuple[str, ...]  # the editions to make
    lay_out: bool  # whether the print edition must be laid out
    reuse: bool  # whether kept intermediate results (parse, cover) may be used
    starts: tuple[pdf.PageStart, ...] | None  # the print pages' starts, kept, when not laid out
    archival: Path | None  # the current archival PDF, when the press PDF is made from it alone


def plan(project: Project, output: Path, digests: dict[str, str], options: Options) -> Plan:
    """Decide what to make: the editions whose inputs changed (every one chosen, with `force`)."""
    editions = options.editions or available(project)
    lacking = unavailable(project)
    for edition in editions:
        if edition in lacking:
            raise SatsError.at(f"the {edition} edition needs {lacking[edition]} in the metadata", project.metadata_file)
    stale = tuple(e for e in editions
                  if options.force or not cache.up_to_date(output, project, e, digests[e]))
    reuse = not options.force
    # The EPUB marks the print pages and the press PDF is made from the archival one: both take
    # them from the archival PDF as built, while it is current.
    current = reuse and "pdf" not in stale and cache.up_to_date(output, project, "pdf", digests["pdf"])
    starts = cache.page_starts(output, project, digests["pdf"]) if current else None
    lay_out = options.keep_html or "pdf" in stale or (starts is None and any(e in stale for e in PAGED))
    archival = output / project.file("pdf") if "print" in stale and not lay_out else None
    return Plan(editions, stale, lay_out, reuse, None if lay_out else starts, archival)


def unavailable(project: Project) -> dict[str, str]:
    """The editions the metadata lacks something for, with the keys it lacks: a build makes them
    only when asked to, and then fails naming the keys."""
    reasons = {}
    issn = [] if project.journal.issn else ["journal.issn"]
    if issn:
        reasons["jats"] = "journal.issn"
    lacking = crossref.missing(project) + issn  # the deposit is made from the JATS file
    if lacking:
        reasons["crossref"] = ", ".join(lacking)
    return reasons


def available(project: Project) -> tuple[str, ...]:
    """The editions a build makes when none are chosen."""
    return tuple(e for e in EDITIONS if e not in unavailable(project))


def build(folder: Path, output: Path, options: Options = Options()) -> Result:
    """Build the chosen editions of the manuscript in `folder` into `output`.

    An edition whose inputs have not changed since it was built is left as it is. Nothing
    is written until every chosen edition has been made.
    """
    with stage("load"):
        project = config.load(folder)
        if options.journal is not None:
            project = dataclasses.replace(project, journal=options.journal)
        digests = cache.inputs_digests(project)
        todo = plan(project, output, digests, options)
    outputs = {e: output / project.file(e) for e in todo.editions}
    if not todo.stale and not todo.lay_out:  # the warnings of the build that made them, again
        warnings = cache.warnings(output, project, todo.editions)
        _warn(warnings, options.strict)
        last = cache.last_page(output, project)
        return Result(project, outputs, (project.journal.first_page, last) if last else None, warnings, ())
    from . import artwork, figures, finishing, jats, mathematics, preflight, templates

    with stage("read"):
        source = manuscript.read(project)
    _warn(source.warnings, options.strict)
    with stage("parse"):  # or not: the parse of the same inputs is kept
        digest = content.parse_digest(source)
        kept = cache.recall(output, project, cache.PARSED, digest) if todo.reuse else None
        parsing = content.Parsing(source, kept)
        if todo.lay_out:
            pdf.load()  # while pandoc parses
        article = parsing.result()
        if kept is None and parsing.parsed is not None:
            cache.keep(output, project, cache.PARSED, digest, parsing.parsed)
        mathematics.check(article, source)
        parts = content.html_parts(article)
        placed = figures.images(article.parts, project.root)
    made: dict[str, bytes] = {}
    html, press, typeset_report = None, None, None
    typeset_faults: tuple[Problem, ...] = ()
    last = project.journal.last_page or cache.last_page(output, project)
    starts = todo.starts
    # Pandoc writes the EPUB and the JATS file while WeasyPrint lays out the print edition.
    writing = _start_epub(project, article, parts, output, todo.reuse, placed) if "epub" in todo.stale else None
    files = {"pdf": project.file("pdf"), "epub": project.file("epub")}
    in_jats = jats.start(project, article, source.bibliography, files) \
        if any(e in todo.stale for e in ("jats", "crossref")) else None
    del article, parsing  # the AST's memory (a hundred MB at 350 pages) is now the layout's
    try:
        archival = todo.archival.read_bytes() if todo.archival else None
        if todo.lay_out:
            with stage("pdf"):
                rendered, last, html, typeset_report = limits.within(
                    layout_budget(parts), "the layout", lambda: typeset(project, parts, placed.svgs))
            typeset_faults = _report_typography(output / project.file("pdf"), typeset_report)
            _warn(typeset_faults, options.strict)
            starts, archival = rendered.starts, rendered.data
            if "pdf" in todo.stale:
                made["pdf"] = rendered.data
        if "print" in todo.stale:
            assert archival is not None
            with stage("press pdf"):
                press = finishing.for_press(archival, project.press, project.doi or project.slug,
                                            artwork.placed(source))
            made["print"] = press.data
        if writing is not None:
            assert starts is not None
            with stage("epub"):
                made["epub"] = writing.finish(starts, template_context(project, parts, last))
        if in_jats is not None:
            with stage("jats"):
                article_xml = in_jats.finish(last)
            if "jats" in todo.stale:
                made["jats"] = article_xml
            if "crossref" in todo.stale:
                made["crossref"] = crossref.deposit(project, article_xml)
    except BaseException:
        for job in (writing, in_jats):
            if job is not None:
                job.cancel()
        raise
    report = None
    press_findings: tuple[Problem, ...] = ()
    if press is not None:  # the printer reads the preflight report beside the file
        with stage("preflight"):
            inspected = preflight.inspect(press.data, project.press, press.images, project.root)
        report = templates.render("reports/preflight.txt.j2", report=inspected,
                                  file=outputs["print"].name,
                                  page_range=page_range(project.journal.first_page, last))
        _warn(inspected.findings, options.strict)
        press_findings = inspected.findings
    for edition, data in made.items():  # the layout's faults are both PDFs', the preflight's the press PDF's
        stamped = source.warnings + (typeset_faults if edition in ("pdf", "print") else ()) + \
            (press_findings if edition == "print" else ())
        _save(output, project, edition, digests[edition], data, last, starts or (), stamped)
    if typeset_report is not None and "pdf" in made:  # for `check`, keyed by the PDF itself
        cache.keep(output, project, cache.TYPOGRAPHY, hashlib.sha256(made["pdf"]).hexdigest(),
                   typography.to_json(typeset_report.kept))
    if report is not None:
        write_atomically(output / project.preflight_file, (report + "\n").encode())
    if options.keep_html and html is not None:  # what Sats feeds WeasyPrint, to time or inspect it alone
        write_atomically(output / project.html_file, html.encode())
    pages = (project.journal.first_page, last) if last else None
    if pages:
        LOGGER.info("%s: printed pages %s", outputs.get("pdf", project.slug), page_range(*pages))
    return Result(project, outputs, pages, source.warnings + typeset_faults + press_findings, todo.stale)
