"""The build, stage by stage: load → read → parse → typeset the PDF / write the EPUB → save."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import html as lxml_html
from markupsafe import Markup

from . import __version__, cache, config, content, epub, manuscript, pdf, preflight, templates
from .config import TOOL_ROOT, Project
from .errors import Problem, SatsError
from .output import write_atomically

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


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Log a stage of the build with its duration."""
    start = time.perf_counter()
    yield
    LOGGER.info("%-10s %6.2f s", name, time.perf_counter() - start)


def page_range(first: int, last: int | None) -> str:
    """Pages as printed: 319–330."""
    return f"{first}–{last}" if last and last != first else str(first)


def template_context(project: Project, parts: dict[str, str], last_page: int | None) -> dict[str, Any]:
    """What every template sees: the project, its labels and the article's HTML parts."""
    labels = templates.labels(project.lang)
    pages = page_range(project.journal.first_page, last_page)
    journal = project.journal
    source = f"{journal.title} {journal.volume}({journal.issue}), {project.year}, {pages}"
    abstract = parts.get("abstract") or ""
    description = lxml_html.fromstring(f"<div>{abstract}</div>").text_content().strip() if abstract else ""
    return {
        "project": project,
        "labels": labels,
        "authors": templates.author_names(project),
        "translation_labels": templates.labels(project.translation.lang) if project.translation else labels,
        "parts": {name: Markup(html) for name, html in parts.items()},
        "page_range": pages,
        "source": source,
        # A stable identifier: the DOI, or a name-based UUID, never a random one.
        "identifier": f"doi:{project.doi}" if project.doi else
        f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'sats:{project.slug}:{project.title}')}",
        "subject": source,
        "description": description or project.title,
        "version": __version__,
        "stylesheet": (STYLES / "print.css").as_uri(),
    }


def typeset(project: Project, parts: dict[str, str], guess: int | None,
            press: bool) -> tuple[pdf.Pdf, int, str]:
    """Lay out the print edition (and make its PDF for the press, if `press`); the first page
    names the page range the layout produced.

    The range printed on the first page is the metadata's, or else `guess` (the last build's);
    only when the layout proves the guess wrong is the edition laid out again, before any PDF
    is written.
    """
    last = project.journal.last_page or guess
    roots = (STYLES, project.root)
    while True:
        html = templates.render("print.html.j2", **template_context(project, parts, last))
        document = pdf.lay_out(html, project.root, roots, epoch=project.epoch)
        produced = project.journal.first_page + len(document.pages) - 1
        if produced != last and project.journal.last_page is None:
            last = produced  # the guess was wrong: lay out again before writing anything
            continue
        if produced != last:
            LOGGER.warning("%s: the print edition runs to page %d, but journal.last-page is %d",
                           project.metadata_file.name, produced, project.journal.last_page)
        edition = pdf.Edition(project.journal.first_page, project.press if press else None)
        return pdf.write(document, identifier=project.doi or project.slug, edition=edition), produced, html


def build(folder: Path, output: Path, editions: tuple[str, ...] = EDITIONS, *, strict: bool = False,
          force: bool = False, keep_html: bool = False) -> Result:
    """Build the chosen editions of the manuscript in `folder` into `output`.

    An edition whose inputs have not changed since it was built is left as it is. Nothing
    is written until every chosen edition has been made.
    """
    with stage("load"):
        project = config.load(folder)
        digests = {edition: cache.inputs_digest(project, edition) for edition in EDITIONS}
    stale = tuple(e for e in editions if force or not cache.up_to_date(output, project, e, digests[e]))
    outputs = {e: output / project.file(e) for e in editions}
    if not stale:
        last = cache.last_page(output, project)
        return Result(project, outputs, (project.journal.first_page, last) if last else None, (), stale)
    with stage("read"):
        source = manuscript.read(project)
    for warning in source.warnings:
        LOGGER.warning("%s", warning)
    if strict and source.warnings:
        raise SatsError(*source.warnings)
    with stage("parse"):
        article = content.parse(source)
        parts = content.html_parts(article)
    made: dict[str, bytes] = {}
    html = None
    last = project.journal.last_page or cache.last_page(output, project)
    # The EPUB marks the print pages: it takes them from the print edition as built, if current.
    laid_out = any(e in stale for e in LAID_OUT)
    starts = None if laid_out or force else cache.page_starts(output, project, digests["pdf"])
    if starts is None:
        with stage("pdf"):
            rendered, last, html = typeset(project, parts, last, press="print" in stale)
        starts = rendered.starts
        if "pdf" in stale:
            made["pdf"] = rendered.data
        if rendered.press is not None:
            made["print"] = rendered.press
    if "epub" in stale:
        with stage("epub"):
            made["epub"] = epub.write(project, article, template_context(project, parts, last), starts)
    report = None
    if "print" in made:  # the printer reads the preflight report beside the file
        report = templates.render("reports/preflight.txt.j2", report=preflight.inspect(made["print"]),
                                  file=outputs["print"].name, page_range=page_range(project.journal.first_page, last))
    for edition, data in made.items():
        write_atomically(outputs[edition], data)
        cache.record(output, project, edition, digests[edition], data,
                     *((last, starts) if edition == "pdf" else ()))
    if report is not None:
        write_atomically(output / project.preflight_file, (report + "\n").encode())
    if keep_html and html is not None:  # what Sats feeds WeasyPrint, to time or inspect it alone
        write_atomically(output / f"{project.slug}.print.html", html.encode())
    pages = (project.journal.first_page, last) if last else None
    if pages:
        LOGGER.info("%s: printed pages %s", outputs.get("pdf", project.slug), page_range(*pages))
    return Result(project, outputs, pages, source.warnings, stale)
