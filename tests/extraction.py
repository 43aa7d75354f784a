"""Recover the author's text from the PDF extraction of the first title.

The rules are those of the seed's SOURCE.md: line-end hyphenation is undone, a hyphen
followed by a space at a line end is a real hyphen, a line that begins with a space
continues the paragraph from the previous page, footnote blocks (number + no-break space)
are lifted out of the running text, and two page-break splits are mended.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NOTE_START = re.compile(r"^(\d+)\u00a0(.*)$")
PAGE_BREAK_MENDS = {"Øst- Ukraina": "Øst-Ukraina", "farge revolusjonene": "fargerevolusjonene"}
FRONT_LABEL, KEYWORDS_NB, BACK_LABEL, KEYWORDS_EN = (
    "Sammendrag", "Nøkkelord:", "Abstract in English", "Keywords:",
)


@dataclass
class Recovered:
    """The article's parts as the author wrote them, each a list of paragraphs."""

    abstract_nb: list[str] = field(default_factory=list)
    keywords_nb: str = ""
    body: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    title_en: str = ""
    abstract_en: list[str] = field(default_factory=list)
    keywords_en: str = ""


def join_lines(lines: list[str]) -> str:
    """Join the lines of one paragraph, undoing line-end hyphenation."""
    text = ""
    for raw in lines:
        line = raw.lstrip(" ")
        if not text:
            text = line
        elif re.search(r"-\s+$", text):  # a real hyphen at the line end
            text = text.rstrip() + line
        elif text.endswith("-"):  # a word broken by the typesetter
            text = text[:-1] + line
        else:
            text = text.rstrip() + " " + line
    text = re.sub(r" +", " ", text.strip())
    for broken, whole in PAGE_BREAK_MENDS.items():
        text = text.replace(broken, whole)
    return text


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    """Split the extraction into ('para'|'cont'|'note', lines) blocks."""
    blocks: list[tuple[str, list[str]]] = []
    current: list[str] = []
    kind = "para"

    def flush() -> None:
        nonlocal current
        if current:
            blocks.append((kind, current))
        current = []

    for line in text.splitlines():
        if not line.strip():
            flush()
            kind = "para"
        elif NOTE_START.match(line):
            flush()
            kind = "note"
            current = [line]
        elif line.startswith(" ") and line.strip() not in (FRONT_LABEL, BACK_LABEL):
            flush()  # a page break: the text goes on where the page before stopped
            kind = "cont"
            current = [line]
        else:
            if line.strip() in (FRONT_LABEL, BACK_LABEL):
                flush()
                kind = "para"
            current.append(line)
    flush()
    return blocks


def recover(text: str) -> Recovered:
    """Recover the article's parts from the extracted text."""
    result = Recovered()
    paragraphs: list[list[str]] = []
    for kind, lines in _blocks(text):
        if kind == "note":
            number, first = NOTE_START.match(lines[0]).groups()  # type: ignore[union-attr]
            result.notes[number] = join_lines([first, *lines[1:]])
        elif kind == "cont":
            paragraphs[-1].extend(lines)
        else:
            paragraphs.append(list(lines))
    section = "front"
    for lines in paragraphs:
        head = lines[0].strip()
        if head == FRONT_LABEL:
            lines = lines[1:]
        if head == BACK_LABEL:
            section = "back"
            result.title_en = lines[1].strip()
            continue
        para = join_lines(lines)
        if para.startswith(KEYWORDS_NB):
            result.keywords_nb = para[len(KEYWORDS_NB):].strip()
            section = "body"
        elif para.startswith(KEYWORDS_EN):
            result.keywords_en = para[len(KEYWORDS_EN):].strip()
        elif section == "front":
            result.abstract_nb.append(para)
        elif section == "back":
            result.abstract_en.append(para)
        elif len(lines) == 1 and not para.endswith((".", "!", "?", "»")):
            result.headings.append(para)
            result.body.append(para)
        else:
            result.body.append(para)
    return result
