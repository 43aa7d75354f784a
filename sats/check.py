"""Validate built editions: EPUBCheck, the PDF's structure, the word check of both, and the JATS and
Crossref files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pikepdf

from . import cache, content, crossref, jats, manuscript, templates, validator, wordcheck
from .config import Project
from .errors import Problem

MM_TO_PT = 72 / 25.4


@dataclass(frozen=True)
class Report:
    """What `check` found, edition by edition."""

    project: Project
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    notes: tuple[str, ...]


def pdf_problems(path: Path, project: Project) -> list[str]:
    """Check the page size, fonts, language, metadata and outline of a PDF."""
    problems = []
    width, height = (float(size[:-2]) * MM_TO_PT for size in project.page_size.split())
    with pikepdf.open(path) as pdf:
        for number, page in enumerate(pdf.pages, project.journal.first_page):
            box = [float(value) for value in page.mediabox]
            if abs(box[2] - box[0] - width) > 0.5 or abs(box[3] - box[1] - height) > 0.5:
                problems.append(f"page {number} is not {project.page_size}")
            for name, font in (page.Resources.get("/Font") or {}).items():
                if font.get("/Subtype") == "/Type3":
                    problems.append(f"page {number}: font {name} is a Type 3 font")
                descriptor = font.get("/FontDescriptor") or next(
                    (d.get("/FontDescriptor") for d in font.get("/DescendantFonts", [])), None)
                if descriptor is None or not any(key in descriptor for key in
                                                 ("/FontFile", "/FontFile2", "/FontFile3")):
                    problems.append(f"page {number}: font {font.get('/BaseFont')} is not embedded")
        if str(pdf.Root.get("/Lang", "")) != project.lang:
            problems.append(f"/Lang is {pdf.Root.get('/Lang')!r}, not {project.lang}")
        if str(pdf.docinfo.get("/Title", "")) != project.title:
            problems.append("the document title is not the article's title")
        with pdf.open_outline() as outline:
            if not outline.root:
                problems.append("the PDF has no bookmarks")
    return sorted(set(problems))


def _metadata_files(project: Project, output: Path, notes: list[str]) -> list[Problem]:
    """Validate the JATS file against its DTD and the Crossref deposit for what Crossref requires,
    where they were built."""
    problems = []
    checks = {"jats": ("JATS", jats.validate, "valid against the JATS Journal Publishing 1.1 DTD"),
              "crossref": ("Crossref", crossref.problems, "has every element Crossref requires")}
    for edition, (name, validate, verdict) in checks.items():
        path = output / project.file(edition)
        if path.is_file():
            found = validate(path.read_bytes())
            problems += [Problem(f"{name}: {message}", path) for message in found]
            if not found:
                notes.append(f"{path}: {verdict}")
    return problems


def run(project: Project, output: Path, epubcheck: validator.Run | None) -> Report:
    """Check the manuscript of `project` and its editions in `output`, `epubcheck` (started on
    the EPUB first, as it takes longest) meanwhile."""
    source = manuscript.read(project)
    problems: list[Problem] = []
    notes = []
    pdf_path, epub_path = (output / project.file(edition) for edition in ("pdf", "epub"))
    for path in (pdf_path, epub_path):
        if not path.is_file():
            problems.append(Problem("missing: build it first", path))
    # The build's parse of the same inputs, or pandoc parsing while the editions' words are read.
    parsing = content.Parsing(source, cache.recall(output, project, cache.PARSED, content.parse_digest(source)))
    found: dict[Path, tuple[wordcheck.Segment, ...]] = {}
    if pdf_path.is_file():
        problems += [Problem(message, pdf_path) for message in pdf_problems(pdf_path, project)]
        furniture = (templates.author_names(project), project.short_title)
        found[pdf_path] = wordcheck.pdf_words(pdf_path.read_bytes(), project.journal.first_page, furniture)
        notes.append(f"{pdf_path}: page size, fonts, metadata, bookmarks and words checked")
    if epub_path.is_file():
        found[epub_path] = wordcheck.epub_words(epub_path.read_bytes())
    expected = wordcheck.expected(parsing.result())
    for path, words in found.items():
        problems += [Problem(f"word check: {miss}", path) for miss in wordcheck.compare(expected, words)]
    problems += _metadata_files(project, output, notes)
    if epubcheck is not None:
        messages = epubcheck.messages()
        problems += [Problem(f"EPUBCheck: {message}", epubcheck.path) for message in messages]
        notes.append(f"{epubcheck.path}: EPUBCheck found {len(messages)} errors and warnings; words checked")
    return Report(project, tuple(problems), source.warnings, tuple(notes))
