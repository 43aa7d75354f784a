"""The word check: do the built editions carry every word of the manuscript, in order?

The manuscript's words (citations as citeproc rendered them) must appear in each edition in
the same order. An edition may add words around them (running heads, page numbers, labels,
the reference list, notes placed elsewhere), never drop, change or reorder them.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Any

from lxml import etree

from .content import Content
from .pagebreaks import BLOCKS

# PDFium marks a hyphen at a line end with U+FFFE, whether the typesetter broke the word
# there or the word has a hyphen of its own: the comparison tries both readings. The rest of
# the word follows on the next line, or on the next page after the notes of this one.
LINE_END_HYPHEN = re.compile(r"(?:\ufffe|[\u00ad\u2010-])\r?\n|\ufffe")
BREAK = "\ufffe"
XHTML = "http://www.w3.org/1999/xhtml"
LOOKAHEAD = 400  # words an edition may set between two of the manuscript's words
ANCHOR = 5  # opening words that locate a part in an edition


@dataclass(frozen=True)
class Mismatch:
    """The first place where an edition departs from the manuscript."""

    part: str
    index: int
    expected: str
    context: str

    def __str__(self) -> str:
        return (f"{self.part}: word {self.index + 1} «{self.expected}» not found in order "
                f"(manuscript: «{self.context}»)")


def stringify(node: Any, notes: list[str] | None = None) -> str:
    """The text of AST `node`; note texts go to `notes` (or are dropped), not in line."""
    if isinstance(node, list):
        return "".join(stringify(item, notes) for item in node)
    if not isinstance(node, dict):
        return ""
    kind, children = node.get("t"), node.get("c")
    if kind == "Str":
        return str(children)
    if kind in ("Space", "SoftBreak", "LineBreak"):
        return " "
    if kind == "Note":
        if notes is not None:
            notes.append(stringify(children, notes))
        return ""
    if kind in ("Para", "Plain", "Header"):
        return stringify(children, notes) + "\n"
    if kind in ("Code", "Math"):
        return str(node["c"][-1])
    if kind in ("RawInline", "RawBlock", "Image"):
        return ""
    return stringify(children, notes)


def expected(article: Content) -> dict[str, list[str]]:
    """The manuscript's words, part by part: abstract, body, each note, translation."""
    notes: list[str] = []
    parts = {
        "abstract": stringify(article.parts["abstract"]).split(),
        "body": stringify(article.parts["body"], notes).split(),
        "translation": stringify(article.parts["translation"]).split(),
    }
    for number, text in enumerate(notes, 1):
        parts[f"note {number}"] = text.split()
    return {name: words for name, words in parts.items() if words}


def pdf_pages(data: bytes, first_page: int = 1, furniture: tuple[str, ...] = ()) -> list[str]:
    """The text of each page of a PDF, without its folio and running heads (`furniture`).

    WeasyPrint draws the page margin boxes after the page's text, so they are cut from the
    end of each page's text.
    """
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    pages = []
    try:
        for index, page in enumerate(document):
            marks = "|".join(re.escape(mark) for mark in (str(first_page + index), *furniture))
            pages.append(re.sub(rf"(\s*(?:{marks}))+\s*$", "", page.get_textpage().get_text_range()))
    finally:
        document.close()
    return pages


def pdf_words(data: bytes, first_page: int = 1, furniture: tuple[str, ...] = ()) -> list[str]:
    """The words of a PDF in reading order; a word broken across two pages is joined again."""
    return LINE_END_HYPHEN.sub(BREAK + " ", "\n".join(pdf_pages(data, first_page, furniture))).split()


def epub_words(data: bytes) -> list[str]:
    """The words of an EPUB's content documents in reading order."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        opf_name = next(name for name in archive.namelist() if name.endswith(".opf"))
        base = opf_name.rsplit("/", 1)[0] + "/"
        opf = etree.fromstring(archive.read(opf_name))
        namespaces = {"opf": "http://www.idpf.org/2007/opf"}
        hrefs = {item.get("id"): item.get("href") for item in opf.iterfind("opf:manifest/opf:item", namespaces)}
        words: list[str] = []
        for itemref in opf.iterfind("opf:spine/opf:itemref", namespaces):
            tree = etree.fromstring(archive.read(base + hrefs[itemref.get("idref")]))
            for element in tree.iter(*BLOCKS):
                element.tail = "\n" + (element.tail or "")
            body = tree.find(f"{{{XHTML}}}body")
            words += "".join(body.itertext()).split() if body is not None else []
    return words


def _same(found: str, wanted: str) -> bool:
    """A word matches itself, or itself with a note call glued to it (regionen.1)."""
    return found == wanted or (found.startswith(wanted) and found[len(wanted):].isdigit())


def _find(words: list[str], position: int, wanted: str) -> int | None:
    """The position after `wanted` in `words`, looking from `position` a bounded distance on.

    Notes, running heads and page numbers may stand between two words of the manuscript, and
    between the two halves of a word broken at a line end, but no more than a page's worth.
    """
    for index in range(position, min(len(words), position + LOOKAHEAD)):  # no copy of the slice
        candidate = words[index]
        if _same(candidate, wanted):
            return index + 1
        stem = candidate[:-1]
        if candidate.endswith(BREAK) and stem and wanted.startswith(stem) and len(wanted) > len(stem):
            rest = wanted[len(stem):]
            for reading in (rest, rest[1:]) if rest.startswith("-") else (rest,):
                after = _find(words, index + 1, reading) if reading else None
                if after is not None:
                    return after
    return None


def _anchor(words: list[str], wanted: list[str]) -> int:
    """Where a part begins in an edition: the first place its opening words stand together."""
    opening = wanted[:ANCHOR]
    for start in range(len(words)):
        if all(start + i < len(words) and _same(words[start + i], word) for i, word in enumerate(opening)):
            return start
    return 0


def compare(parts: dict[str, list[str]], words: list[str]) -> list[Mismatch]:
    """Check that each part's words appear in `words` in order; report the first miss of each."""
    problems = []
    for part, wanted in parts.items():
        position = _anchor(words, wanted)
        for index, word in enumerate(wanted):
            found = _find(words, position, word)
            if found is None:
                context = " ".join(wanted[max(0, index - 4):index + 5])
                problems.append(Mismatch(part, index, word, context))
                break
            position = found
    return problems
