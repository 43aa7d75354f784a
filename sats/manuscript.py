"""Read the manuscript's text files and check what can be checked before typesetting."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

from . import bibliography, csl, figures, resources
from .bibliography import Bibliography
from .config import Project
from .errors import Problem, SatsError

CITATION = re.compile(r"(?<![\w@.])-?@(\{[^}\n]+\}|\w[\w:.#$%&+?<>~/-]*)")
TRAILING_PUNCTUATION = re.compile(r"[:.#$%&+?<>~/-]+$")
NOTE_DEFINITION = re.compile(r"^\[\^([^\]\s]+)\]:[ \t]*(.*)$")
NOTE_CALL = re.compile(r"\[\^([^\]\s]+)\](?!:)")
CODE = re.compile(r"`+[^`]*`+")
# An image: its caption (brackets nested once, lines may wrap), its file, and its attributes.
IMAGE = re.compile(r"!\[(?P<caption>(?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*(?:<(?P<spaced>[^>\n]+)>|(?P<target>[^)\s>]+))"
                   r"(?:[^)]*\)(?P<attributes>\{[^}]*\}))?")
ALT = re.compile(r"\balt\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s}]+)")
# Where a cross-reference's target is defined: an identifier in an attribute block.
CROSS_REF_TARGET = re.compile(r"\{[^{}]*?#((?:fig|tbl|sec|eq)-[^\s}]+)")
MAX_NESTING = 12  # quote and list levels: enough for any article, bounded for the engines
QUOTES = re.compile(r"^(?:\s*>)*")


@dataclass(frozen=True)
class Source:
    """One text file of the manuscript."""

    path: Path
    text: str


@dataclass(frozen=True)
class Manuscript:
    """All sources of one manuscript, read and checked, ready for typesetting."""

    project: Project
    body: Source
    notes: Source | None
    abstract: Source | None
    translation: Source | None
    bibliography: Bibliography
    warnings: tuple[Problem, ...]

    def markdown(self) -> str:
        """The whole article as one Pandoc Markdown text, its parts in fenced divs."""
        parts = []
        if self.abstract:
            parts.append(_div("abstract", self.project.lang, self.abstract.text))
        body = self.body.text + ("\n\n" + self.notes.text if self.notes else "")
        parts.append(_div("body", self.project.lang, body))
        if self.translation and self.project.translation:
            parts.append(_div("translation", self.project.translation.lang, self.translation.text))
        parts.append(_div("refs", self.project.lang, ""))
        return "\n\n".join(parts) + "\n"


def _div(identifier: str, lang: str, text: str) -> str:
    return f"::::::::: {{#{identifier} lang={lang}}}\n\n{text}\n\n:::::::::"


def read_source(path: Path) -> Source:
    """Read a UTF-8 text file, with a clear error naming the line of a bad byte."""
    try:
        data = resources.read(path, "text")
    except resources.Refused as refused:
        raise SatsError.at(str(refused), path) from None
    try:
        return Source(path, data.decode("utf-8").replace("\r\n", "\n"))
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SatsError.at("not valid UTF-8 text", path, line) from None


def _lines(source: Source) -> list[tuple[int, str]]:
    """Numbered lines of a source, with code spans blanked out."""
    return [(number, CODE.sub("", line)) for number, line in enumerate(source.text.split("\n"), 1)]


def citations(source: Source) -> list[tuple[str, int]]:
    """The citation keys used in a source, with their line numbers."""
    found = []
    for number, line in _lines(source):
        for match in CITATION.finditer(line):
            key = match.group(1)
            key = key[1:-1] if key.startswith("{") else TRAILING_PUNCTUATION.sub("", key)
            found.append((key, number))
    return found


def check_citations(sources: list[Source], bib: Bibliography) -> list[Problem]:
    """Unknown citation keys and cross-references to nothing are errors; unused bibliography
    entries are returned as warnings."""
    used: set[str] = set()
    targets = {match.group(1) for source in sources for match in CROSS_REF_TARGET.finditer(source.text)}
    for source in sources:
        for key, line in citations(source):
            if figures.CROSS_REF.match(key):
                if figures.target(key) not in targets:
                    raise SatsError.at(figures.unknown_target(key), source.path, line)
            elif key not in bib.entries:
                raise SatsError.at(f"[@{key}] is not in the bibliography", source.path, line)
            used.add(key)
    return [Problem(f"entry '{key}' is never cited", bib.path, bib.lines.get(key))
            for key in bib.entries if key not in used]


def check_nesting(sources: list[Source]) -> None:
    """Refuse block quotes and lists nested deeper than an article needs."""
    for source in sources:
        for number, line in _lines(source):
            quotes = QUOTES.match(line).group(0).count(">")  # type: ignore[union-attr]
            indent = len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip(" "))
            depth = quotes + indent // 4
            if depth > MAX_NESTING:
                raise SatsError.at(f"nested {depth} levels deep; at most {MAX_NESTING} are allowed",
                                   source.path, number)


@dataclass(frozen=True)
class Placed:
    """An image as the Markdown places it: its file as written, the line, caption and attributes."""

    target: str
    line: int
    caption: str
    attributes: str


def placed_images(text: str) -> list[Placed]:
    """The images a Markdown text places, in order (a caption may run over lines; code spans aside)."""
    text = "\n".join(CODE.sub("", line) for line in text.split("\n"))
    found = []
    for match in IMAGE.finditer(text):
        group = "spaced" if match["spaced"] else "target"
        found.append(Placed(match[group], text.count("\n", 0, match.start(group)) + 1, match["caption"],
                            match["attributes"] or ""))
    return found


def check_images(sources: list[Source], root: Path) -> None:
    """Every image is a file inside the manuscript folder, a PNG, JPEG or SVG that can be used,
    with a text alternative (its caption, or `alt`)."""
    for source in sources:
        for image in placed_images(source.text):
            try:
                problem = figures.image_problem(resources.resolve(image.target, source.path.parent, (root,), "image"))
            except resources.Refused as refused:
                problem = str(refused)
            alt = ALT.search(image.attributes)
            if problem is None and not image.caption.strip() and not (alt and alt.group(1).strip("\"'")):
                problem = 'has no text alternative: give it a caption, or alt="…"'
            if problem:
                raise SatsError.at(f"image {image.target!r} {problem}", source.path, image.line)


def check_note_figures(notes: Source) -> None:
    """Refuse a figure (an image on a paragraph of its own) in a note: the print edition sets
    each note at its page's foot as text, which a figure cannot join."""
    lines = notes.text.split("\n")
    for image in placed_images(notes.text):
        if image.line == 1 or not lines[image.line - 2].strip():
            raise SatsError.at(f"image {image.target!r} is a figure in a note: notes hold text only; place the "
                               "figure in the body and refer to it from the note", notes.path, image.line)


def image_files(project: Project) -> tuple[Path, ...]:
    """The files of the images the manuscript's Markdown places, those inside its folder: what
    shapes the editions besides the files the metadata names."""
    found: set[Path] = set()
    for path in (project.abstract, project.body, project.notes,
                 project.translation.abstract if project.translation else None):
        try:
            text = resources.read(path, "text").decode("utf-8") if path else ""
        except (resources.Refused, UnicodeDecodeError):
            continue  # reading the manuscript will say why
        for image in placed_images(text):
            with contextlib.suppress(resources.Refused):
                found.add(resources.resolve(image.target, Path(path or "").parent, (project.root,), "image"))
    return tuple(sorted(found))


def check_notes(sources: list[Source]) -> None:
    """Every note call has a note with text, and every note is called exactly once."""
    definitions: dict[str, tuple[Source, int]] = {}
    calls: dict[str, tuple[Source, int]] = {}
    for source in sources:
        for number, line in _lines(source):
            definition = NOTE_DEFINITION.match(line)
            if definition:
                note, text = definition.groups()
                if note in definitions:
                    raise SatsError.at(f"note [^{note}] is defined twice", source.path, number)
                if not text.strip() and not _continues(source, number):
                    raise SatsError.at(f"note [^{note}] has no text", source.path, number)
                definitions[note] = (source, number)
                line = line[definition.end(1) + 2:]
            for call in NOTE_CALL.finditer(line):
                if call.group(1) in calls:
                    raise SatsError.at(f"note [^{call.group(1)}] is called twice", source.path, number)
                calls[call.group(1)] = (source, number)
    for note, (source, number) in calls.items():
        if note not in definitions:
            raise SatsError.at(f"note [^{note}] is called but has no text", source.path, number)
    for note, (source, number) in definitions.items():
        if note not in calls:
            raise SatsError.at(f"note [^{note}] is never called", source.path, number)


def _continues(source: Source, number: int) -> bool:
    """Whether a note definition's text starts on the indented line after it."""
    lines = source.text.split("\n")
    return number < len(lines) and lines[number].startswith(("    ", "\t")) and bool(lines[number].strip())


def read(project: Project) -> Manuscript:
    """Read every source of the manuscript and check its citations and notes (its raw HTML,
    attributes and links are checked in what pandoc parses of it: sanitise.parsed)."""
    body = read_source(project.body)
    notes = read_source(project.notes) if project.notes else None
    abstract = read_source(project.abstract) if project.abstract else None
    translation = read_source(project.translation.abstract) if project.translation else None
    sources = [s for s in (abstract, body, notes, translation) if s]
    csl.check(project.csl)
    references = read_source(project.bibliography)
    bib = bibliography.load(references.path, references.text)
    check_nesting(sources)
    check_images(sources, project.root)
    if notes:
        check_note_figures(notes)
    check_notes(sources)
    unused = check_citations(sources, bib)
    return Manuscript(project, body, notes, abstract, translation, bib,
                      tuple(unused + bib.incomplete()))
