"""Validate built editions: EPUBCheck, veraPDF and DAISY Ace where installed, the PDF's structure,
the word check of both, and the JATS and Crossref files; and an issue's own files."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from lxml import etree

from . import cache, content, crossref, epub, fonts, jats, manuscript, templates, typography, validator, wordcheck
from .characters import roman
from .config import Project
from .errors import Problem
from .issue import Issue, chain

MM_TO_PT = 72 / 25.4
NOTE = re.compile(r"fn\d+")  # a note's destination, which its call links to


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
            for font in fonts.used(page.Resources):
                name = str(font.get("/BaseFont"))
                if font.get("/Subtype") == "/Type3":
                    problems.append(f"page {number}: font {name} is a Type 3 font")
                elif not fonts.is_own(name):
                    problems.append(f"page {number}: font {name} is not one of the project's (styles/fonts): "
                                    "a fallback for text its fonts cannot set")
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


def notes_off_their_page(path: Path, first_page: int) -> list[str]:
    """Each note whose call (a link to the note) is on another page than the note itself, read
    from the PDF's links and named destinations."""
    found = []
    with pikepdf.open(path) as pdf:
        names = pdf.Root.get("/Names")
        if names is None or "/Dests" not in names:
            return []
        destinations = pikepdf.NameTree(names.Dests)
        pages: dict[tuple[int, int], int] = {page.obj.objgen: number
                                             for number, page in enumerate(pdf.pages, first_page)}
        for number, page in enumerate(pdf.pages, first_page):
            for annotation in page.get("/Annots", []):
                name = str(annotation.get("/Dest", ""))
                if annotation.get("/Subtype") != "/Link" or not NOTE.fullmatch(name) or name not in destinations:
                    continue
                placed = pages.get(destinations[name][0].objgen)
                if placed != number:
                    found.append(f"page {number}: note off its page: «note {name[2:]}» (its call is here, "
                                 f"the note on page {placed})")
    return found


def typography_report(path: Path, output: Path, project: Project) -> tuple[list[Problem], list[str]]:
    """The typographic report of the PDF as built (its hard faults are problems, the others
    are noted), and the notes' pages read from the PDF itself."""
    problems = [Problem(message, path) for message in notes_off_their_page(path, project.journal.first_page)]
    kept = cache.recall(output, project, cache.TYPOGRAPHY, hashlib.sha256(path.read_bytes()).hexdigest())
    if kept is None:
        return problems, [f"{path}: no typographic report kept for this file: build it again to have one"]
    faults = typography.from_json(kept)
    problems += [Problem(str(fault), path) for fault in faults if fault.hard and fault.kind != "note off its page"]
    notes = [f"{path}: {fault}" for fault in faults if not fault.hard]
    return problems, [*notes, f"{path}: {typography.summary(faults)}; notes on their calls' pages checked"]


def start_validators(pdf_path: Path, epub_path: Path) -> tuple[list[validator.Run], list[str]]:
    """Start veraPDF on the PDF and Ace on the EPUB, each that is installed and has its file;
    the runs, and a note for each that could not run, saying why."""
    runs, notes = [], []
    for name, path, missing, start in (("veraPDF", pdf_path, validator.verapdf_missing, validator.start_verapdf),
                                       ("DAISY Ace", epub_path, validator.ace_missing, validator.start_ace)):
        reason = missing()
        if reason:
            notes.append(f"{path}: {name} not run: {reason}")
        elif path.is_file():
            runs.append(start(path))
    return runs, notes


def validator_findings(runs: list[validator.Run]) -> tuple[list[Problem], list[str]]:
    """Wait for the validators; what each found, as problems, and a note of each one's verdict."""
    problems, notes = [], []
    for run in runs:
        messages = run.messages()
        problems += [Problem(f"{run.name}: {message}", run.path) for message in messages]
        notes.append(f"{run.path}: {run.name} found {len(messages)} problems")
    return problems, notes


def run(project: Project, output: Path, epubcheck: validator.Run | None) -> Report:
    """Check the manuscript of `project` and its editions in `output`, `epubcheck` (started on
    the EPUB first, as it takes longest) meanwhile."""
    source = manuscript.read(project)
    problems: list[Problem] = []
    pdf_path, epub_path = (output / project.file(edition) for edition in ("pdf", "epub"))
    for path in (pdf_path, epub_path):
        if not path.is_file():
            problems.append(Problem("missing: build it first", path))
    validators, notes = start_validators(pdf_path, epub_path)
    # The build's parse of the same inputs, or pandoc parsing while the editions' words are read.
    parsing = content.Parsing(source, cache.recall(output, project, cache.PARSED, content.parse_digest(source)))
    found: dict[Path, tuple[wordcheck.Segment, ...]] = {}
    if pdf_path.is_file():
        problems += [Problem(message, pdf_path) for message in pdf_problems(pdf_path, project)]
        furniture = (templates.running_authors(project), project.short_title)
        found[pdf_path] = wordcheck.pdf_words(pdf_path.read_bytes(), project.journal.first_page, furniture)
        notes.append(f"{pdf_path}: page size, fonts, metadata, bookmarks and words checked")
        typeset_problems, typeset_notes = typography_report(pdf_path, output, project)
        problems += typeset_problems
        notes += typeset_notes
    if epub_path.is_file():
        found[epub_path] = wordcheck.epub_words(epub_path.read_bytes())
    jats_path = output / project.file("jats")
    if jats_path.is_file():
        found[jats_path] = wordcheck.jats_words(jats_path.read_bytes())
    expected = wordcheck.expected(parsing.result())
    for path, words in found.items():
        problems += [Problem(f"word check: {miss}", path) for miss in wordcheck.compare(expected, words)]
    problems += _metadata_files(project, output, notes)
    if epubcheck is not None:
        messages = epubcheck.messages()
        problems += [Problem(f"EPUBCheck: {message}", epubcheck.path) for message in messages]
        notes.append(f"{epubcheck.path}: EPUBCheck found {len(messages)} errors and warnings; words checked")
    found_by_validators, verdicts = validator_findings(validators)
    problems += found_by_validators
    notes += verdicts
    return Report(project, tuple(problems), source.warnings, tuple(notes))


def page_labels(path: Path) -> list[str]:
    """The label of each page of a PDF, as a reader shows it (319, or i for front matter)."""
    with pikepdf.open(path) as document:
        return [str(page.label) for page in document.pages]


def _numbers(labels: list[str]) -> list[int] | None:
    """The labels as page numbers, if each is one and each follows the one before it."""
    if not labels or not all(label.isdigit() for label in labels):
        return None
    numbers = [int(label) for label in labels]
    return numbers if numbers == list(range(numbers[0], numbers[0] + len(numbers))) else None


def _labels_problem(path: Path, labels: list[str], expected: list[str], what: str) -> list[Problem]:
    """A problem if the PDF's page labels are not `expected`: front matter in roman numerals,
    then the pages as numbered through the issue."""
    front = len(labels) - len(expected)
    if front >= 0 and labels == [*(roman(page) for page in range(1, front + 1)), *expected]:
        return []
    shown = ", ".join(labels[:3]) + (f", …, {labels[-1]}" if len(labels) > 3 else "")
    return [Problem(f"the page labels are {shown}: the {what} should run {expected[0]}–{expected[-1]}", path)]


def _contents_pages(path: Path, labels: list[str], firsts: list[int]) -> list[Problem]:
    """The contents page (the issue PDF's front matter) gives each article's first page, in order."""
    front = next((index for index, label in enumerate(labels) if label.isdigit()), len(labels))
    words = [word for page in wordcheck.pdf_pages(path.read_bytes())[:front] for word in page.split()]
    listed = iter(int(word) for word in words if word.isdigit())
    missing = [first for first in firsts if not any(number == first for number in listed)]
    if not missing:
        return []
    return [Problem(f"the contents page does not list the articles at their first pages: "
                    f"{', '.join(map(str, firsts))} expected, page {missing[0]} not found in order", path)]


def issue_files(issue: Issue, projects: list[Project], output: Path,
                epubcheck: validator.Run | None) -> tuple[list[Problem], list[str]]:
    """Check the issue's own files in `output` against its articles' editions: each article
    starting where the one before it leaves it, the issue PDFs' page labels, the contents page
    and the contents data, the issue EPUB's page list, EPUBCheck, veraPDF and DAISY Ace."""
    problems: list[Problem] = []
    notes: list[str] = []
    paths = {kind: output / issue.file(kind) for kind in ("pdf", "print", "epub", "contents")}
    spans: list[tuple[int, int]] = []
    for project in projects:
        article = output / project.file("pdf")
        numbers = _numbers(page_labels(article)) if article.is_file() else None
        if article.is_file() and numbers is None:
            problems.append(Problem("the page labels are not page numbers one after another", article))
        if numbers is not None:
            spans.append((numbers[0], numbers[-1]))
    for path in paths.values():
        if not path.is_file():
            problems.append(Problem("missing: build it first", path))
    validators, validator_notes = start_validators(paths["pdf"], paths["epub"])
    notes += validator_notes
    if len(spans) == len(issue.articles):
        problems += _pagination(issue, spans, paths)
        notes.append(f"{issue.path}: pages chained through {len(spans)} articles, "
                     f"{spans[0][0]}–{spans[-1][1]}; page labels and contents checked")
    if epubcheck is not None:
        messages = epubcheck.messages()
        problems += [Problem(f"EPUBCheck: {message}", epubcheck.path) for message in messages]
        notes.append(f"{epubcheck.path}: EPUBCheck found {len(messages)} errors and warnings")
    found, verdicts = validator_findings(validators)
    return problems + found, notes + verdicts


def _pagination(issue: Issue, spans: list[tuple[int, int]], paths: dict[str, Path]) -> list[Problem]:
    """Where the articles' pages, as their PDFs number them, do not chain through the issue's files."""
    problems = []
    chained = chain(issue, (last - first + 1 for first, last in spans))
    for index, (entry, (first, _), placed) in enumerate(zip(issue.articles, spans, chained, strict=True), 1):
        if first != placed:
            problems.append(Problem(f"article {index} ({entry.folder.name}) starts on page {first}, but the "
                                    f"article before it places it at page {placed}: build the issue again",
                                    issue.path, entry.line))
    pages = [str(page) for first, last in spans for page in range(first, last + 1)]
    if paths["print"].is_file():
        problems += _labels_problem(paths["print"], page_labels(paths["print"]),
                                    [str(page) for page in range(issue.first_page, spans[-1][1] + 1)], "issue")
    if paths["pdf"].is_file():
        labels = page_labels(paths["pdf"])
        problems += _labels_problem(paths["pdf"], labels, pages, "articles' pages")
        if issue.contents:
            problems += _contents_pages(paths["pdf"], labels, [first for first, _ in spans])
    if paths["contents"].is_file():
        listed = json.loads(paths["contents"].read_text(encoding="utf-8")).get("articles", [])
        if [(line.get("first-page"), line.get("last-page")) for line in listed] != spans:
            problems.append(Problem("the contents data does not give the articles' pages", paths["contents"]))
    if paths["epub"].is_file():
        with zipfile.ZipFile(paths["epub"]) as archive:
            nav = etree.fromstring(archive.read("EPUB/nav.xhtml"))
        listed = nav.xpath('//x:nav[@epub:type="page-list"]//x:a/text()', namespaces=epub.NS)
        if listed != pages:
            problems.append(Problem("the page list does not give every printed page of the articles in order",
                                    paths["epub"]))
    return problems
