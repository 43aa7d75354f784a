"""The build, stage by stage: load → read → parse → typeset the PDF / write the EPUB → save."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import html as lxml_html
from markupsafe import Markup

from . import __version__, cache, config, content, epub, finishing, manuscript, pdf, preflight, templates
from .config import TOOL_ROOT, Project
from .errors import Problem, SatsError
from .output import write_atomically
from .timing import stage

LOGGER = logging.getLogger("sats")
EDITIONS = ("pdf", "print", "epub")
LAID_OUT = ("pdf", "print")  # the editions WeasyPrint lays out, in one layout
STYLES = TOOL_ROOT / "styles"


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


def template_context(project: Project, parts: dict[str, str], last_page: int | None) -> dict[str, Any]:
    """What every template sees: the project, its labels and the article's HTML parts; the last
    page, if it is known."""
    labels = templates.labels(project.lang)
    abstract = parts.get("abstract") or ""
    description = lxml_html.fromstring(f"<div>{abstract}</div>").text_content().strip() if abstract else ""
    return {
        "project": project,
        "labels": labels,
        "authors": templates.author_names(project),
        "translation_labels": templates.labels(project.translation.lang) if project.translation else labels,
        "parts": {name: Markup(html) for name, html in parts.items()},
        "last_page": last_page,
        "source": printed_in(project, last_page),
        # A stable identifier: the DOI, or a name-based UUID, never a random one.
        "identifier": f"doi:{project.doi}" if project.doi else
        f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'sats:{project.slug}:{project.title}')}",
        "description": description or project.title,
        "version": __version__,
        "stylesheet": (STYLES / "print.css").as_uri(),
    }


def typeset(project: Project, parts: dict[str, str]) -> tuple[pdf.Pdf, int, str]:
    """Lay out the print edition and write its PDF; return it with its last page and its HTML.

    Unless the metadata names the last page, the first page prints the page the layout ends on
    (a CSS target counter), so one layout does. Only a one-page article is laid out again, to
    print its page alone rather than a range.
    """
    first, last = project.journal.first_page, project.journal.last_page
    html = templates.render("print.html.j2", **template_context(project, parts, last))
    roots = (STYLES, project.root)
    document = pdf.lay_out(html, project.root, roots, epoch=project.epoch)
    produced = first + len(document.pages) - 1
    if last is None and produced == first:
        html = templates.render("print.html.j2", **template_context(project, parts, produced))
        document = pdf.lay_out(html, project.root, roots, epoch=project.epoch)
    elif last is not None and produced != last:
        LOGGER.warning("%s: the print edition runs to page %d, but journal.last-page is %d",
                       project.metadata_file.name, produced, last)
    edition = pdf.Edition(first, printed_in(project, produced))
    return pdf.write(document, identifier=project.doi or project.slug, edition=edition), produced, html


def _start_epub(project: Project, article: content.Content, parts: dict[str, str], output: Path,
                force: bool) -> epub.Writing:
    """Start writing the EPUB, its cover rendered (or unless `force`, taken from the cache); the
    last page is the metadata's, if it names one, or else printed when the EPUB is finished."""
    context = template_context(project, parts, project.journal.last_page)
    html = epub.cover_html(context)
    image = cache.cover(output, project, html, lambda: epub.cover(html, project), fresh=force)
    return epub.start(project, article, context, image)


def _save(output: Path, project: Project, edition: str, digest: str, data: bytes, last: int | None,
          starts: tuple[pdf.PageStart, ...]) -> None:
    """Write an edition and its stamp (for the PDF, with its last page and its pages' starts)."""
    write_atomically(output / project.file(edition), data)
    cache.record(output, project, edition, digest, data, *((last, starts) if edition == "pdf" else ()))


def build(folder: Path, output: Path, editions: tuple[str, ...] = EDITIONS, *, strict: bool = False,
          force: bool = False, keep_html: bool = False, pdf_first: bool = False) -> Result:
    """Build the chosen editions of the manuscript in `folder` into `output`.

    An edition whose inputs have not changed since it was built is left as it is. Nothing
    is written until every chosen edition has been made; but with `pdf_first` (for previews),
    the PDF is written as soon as it is, and the other files follow.
    """
    with stage("load"):
        project = config.load(folder)
        digests = cache.inputs_digests(project)
    stale = tuple(e for e in editions if force or not cache.up_to_date(output, project, e, digests[e]))
    outputs = {e: output / project.file(e) for e in editions}
    if not stale:
        last = cache.last_page(output, project)
        return Result(project, outputs, (project.journal.first_page, last) if last else None, (), stale)
    # The EPUB marks the print pages: it takes them from the print edition as built, if current.
    laid_out = any(e in stale for e in LAID_OUT)
    starts = None if laid_out or force else cache.page_starts(output, project, digests["pdf"])
    if starts is None:
        pdf.warm_up(project.epoch)  # WeasyPrint loads while pandoc parses
    with stage("read"):
        source = manuscript.read(project)
    for warning in source.warnings:
        LOGGER.warning("%s", warning)
    if strict and source.warnings:
        raise SatsError(*source.warnings)
    with stage("parse"):  # or not: the parse of the same inputs is kept
        digest = content.parse_digest(source)
        kept = None if force else cache.recall(output, project, cache.PARSED, digest)
        parsing = content.Parsing(source, kept)
        article = parsing.result()
        if kept is None and parsing.parsed is not None:
            cache.keep(output, project, cache.PARSED, digest, parsing.parsed)
        parts = content.html_parts(article)
    made: dict[str, bytes] = {}
    html = None
    last = project.journal.last_page or cache.last_page(output, project)
    # Pandoc writes the EPUB while WeasyPrint lays out the print edition; for a preview, after.
    writing, later = None, None
    if "epub" in stale and pdf_first:
        later = article
    elif "epub" in stale:
        writing = _start_epub(project, article, parts, output, force)
    del article, parsing  # the AST's memory (a hundred MB at 350 pages) is now the layout's
    try:
        if starts is None:
            with stage("pdf"):
                rendered, last, html = typeset(project, parts)
            starts = rendered.starts
            if "pdf" in stale and pdf_first:
                _save(output, project, "pdf", digests["pdf"], rendered.data, last, starts)
            elif "pdf" in stale:
                made["pdf"] = rendered.data
            if "print" in stale:
                with stage("press pdf"):
                    made["print"] = finishing.for_press(rendered.data, project.press, project.doi or project.slug)
        if later is not None:
            writing = _start_epub(project, later, parts, output, force)
        if writing is not None:
            with stage("epub"):
                made["epub"] = writing.finish(starts, template_context(project, parts, last))
    except BaseException:
        if writing is not None:
            writing.cancel()
        raise
    report = None
    if "print" in made:  # the printer reads the preflight report beside the file
        report = templates.render("reports/preflight.txt.j2", report=preflight.inspect(made["print"]),
                                  file=outputs["print"].name, page_range=page_range(project.journal.first_page, last))
    for edition, data in made.items():
        _save(output, project, edition, digests[edition], data, last, starts)
    if report is not None:
        write_atomically(output / project.preflight_file, (report + "\n").encode())
    if keep_html and html is not None:  # what Sats feeds WeasyPrint, to time or inspect it alone
        write_atomically(output / f"{project.slug}.print.html", html.encode())
    pages = (project.journal.first_page, last) if last else None
    if pages:
        LOGGER.info("%s: printed pages %s", outputs.get("pdf", project.slug), page_range(*pages))
    return Result(project, outputs, pages, source.warnings, stale)
