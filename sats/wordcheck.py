"""The word check: do the built editions carry every word of the manuscript, exactly and in order?

The manuscript's words (citations as citeproc rendered them, note calls glued to the word before
them) are read in each edition in lockstep. An edition adds words only at known places: around
the parts (title page, labels, keywords, the reference list), and a table's header row repeated
where a page begins. The notes are read apart: at each page's foot in the PDF, at the end of each
content document in the EPUB. Anything else (a word dropped, changed, added or two swapped) is
reported at the word it concerns.
"""

from __future__ import annotations

import io
import re
import zipfile
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from .content import Content
from .pagebreaks import BLOCKS

# PDFium marks a hyphen at a line end with U+FFFE, whether the typesetter broke the word
# there or the word has a hyphen of its own: the comparison tries both readings. The rest of
# the word follows on the next line, or on the next page.
LINE_END_HYPHEN = re.compile(r"(?:\ufffe|[\u00ad\u2010-])\r?\n|\ufffe")
BREAK = "\ufffe"
# Inside a line, the hyphen U+2010 and the hyphen-minus are one glyph in a font subset, which
# PDFium reads as whichever the subset's map names: both read as the hyphen-minus.
HYPHEN = "\u2010"
DASHES = ("\u2013", "\u2014")  # a line may end after an en or em dash inside a word: «590–» / «593»
# WeasyPrint draws a page's footnote area after its text, each note on a line of its own that
# begins with the note's number and an en space (print.css, ::footnote-marker). After a word
# broken at the text's last line end, PDFium starts no new line.
NOTE_START = re.compile(r"(?:^|(?<=\ufffe))\d+\u2002", re.MULTILINE)
# WeasyPrint draws the markers of a page's list items (print.css: •, –, 1., a., iv.) after its
# text, each on a line of its own: they are not the manuscript's words.
MARKERS = re.compile(r"(?:^[ \t]*(?:[•–]|[0-9]+\.|[a-zA-Z]\.|[ivxlcIVXLC]+\.)[ \t\u2002]*\r?\n?|^[ \t]*\r?\n)+\Z",
                     re.MULTILINE)
# A list item in a note begins with its marker and an em space (content.py): not the manuscript's words.
NOTE_LIST_MARKER = re.compile(r"(?:\u2022|[0-9]+\.|[a-zA-Z]\.|[ivxlcdmIVXLCDM]+\.)\u2003")
XHTML = "http://www.w3.org/1999/xhtml"
OPS = "http://www.idpf.org/2007/ops"
MATHML = "http://www.w3.org/1998/Math/MathML"
FORM_DEPTH = 8  # forms within forms that WeasyPrint nests for an SVG's opacity and masks
ANCHOR = 5  # words that must follow each other to locate a part, or to resume after a departure
HEADER = 60  # words a table's header row repeated at the top of a page may have
TABLE = 5000  # words back to where that row was first set


@dataclass(frozen=True)
class Segment:
    """One page of a PDF or one content document of an EPUB: its running text and its notes.

    `lines` are the positions in `text` where a line (PDF) or a block (EPUB) begins: a part of
    the manuscript begins and ends only there.
    """

    text: tuple[str, ...]
    notes: tuple[str, ...]
    lines: tuple[int, ...]


@dataclass(frozen=True)
class Mismatch:
    """A place where an edition departs from the manuscript, named by the manuscript's word."""

    part: str
    index: int  # the manuscript's word in `part` (0-based); -1 is a note's number
    kind: str  # "missing", "changed", "swapped" (with the next), "extra" (after it), "leading" (before it)
    words: tuple[str, ...]  # the manuscript's word (two for a swap)
    found: str = ""  # the edition's word, for "changed", "extra" and "leading"

    def __str__(self) -> str:
        name = "the note number" if self.index < 0 else f"word {self.index + 1}"
        if self.kind == "missing":
            return f"{self.part}: {name} «{self.words[0]}» is missing"
        if self.kind == "changed":
            return f"{self.part}: {name} «{self.words[0]}» reads «{self.found}»"
        if self.kind == "swapped":
            names = "the note number and word 1" if self.index < 0 else f"words {self.index + 1}–{self.index + 2}"
            return f"{self.part}: {names} «{' '.join(self.words)}» are swapped"
        return f"{self.part}: an extra «{self.found}» {'after' if self.kind == 'extra' else 'before'} {name}"


def stringify(node: Any, notes: list[str] | None = None) -> str:
    """The text of AST `node`; note texts go to `notes` and leave their number (the note call)
    in line, or are dropped with `notes` None. Math has no words: it is drawn, not set."""
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
        if notes is None:
            return ""
        notes.append(stringify(children, notes))
        return str(len(notes))
    if kind in ("Para", "Plain", "Header"):
        return stringify(children, notes) + "\n"
    if kind == "Code":
        return str(node["c"][-1])
    if kind == "CodeBlock":
        return str(node["c"][-1]) + "\n"
    if kind in ("Math", "RawInline", "RawBlock", "Image"):
        return ""
    return stringify(children, notes)


def expected(article: Content) -> dict[str, list[str]]:
    """The manuscript's words, part by part: abstract, body (note calls glued to the word
    before them), translation, each note."""
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
            pages.append(re.sub(rf"(\s*(?:{marks}))+\s*$", "", _running_text(page)))
    finally:
        document.close()
    return pages


def _running_text(page: Any) -> str:
    """A page's text without the words drawn in its figures: an SVG's labels are part of the
    picture (tagged, with the picture, as a Figure), not of the author's running text."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    textpage = page.get_textpage()
    text = str(textpage.get_text_range())
    in_figures = set()
    figure_level = None  # the level of the Figure being read: a form's objects lie deeper
    for item in page.get_objects(max_depth=FORM_DEPTH):
        if figure_level is not None and item.level <= figure_level:
            figure_level = None
        if figure_level is None and "Figure" in _marks(item.raw):
            figure_level = item.level
        if figure_level is not None and item.type == pdfium_c.FPDF_PAGEOBJ_TEXT:
            in_figures.add(ctypes.cast(item.raw, ctypes.c_void_p).value)
    if not in_figures:
        return text
    characters = list(text)
    for index, character in enumerate(characters):
        if not character.isspace() and ctypes.cast(pdfium_c.FPDFText_GetTextObject(textpage.raw, index),
                                                   ctypes.c_void_p).value in in_figures:
            characters[index] = " "
    return "".join(characters)


def _marks(item: Any) -> list[str]:
    """The names of the marked-content sequences a page object is in (P, Span, Figure, …)."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    names = []
    for index in range(pdfium_c.FPDFPageObj_CountMarks(item)):
        name, length = (ctypes.c_ushort * 64)(), ctypes.c_ulong()
        pdfium_c.FPDFPageObjMark_GetName(pdfium_c.FPDFPageObj_GetMark(item, index), name, ctypes.sizeof(name),
                                         ctypes.byref(length))
        names.append(bytes(name)[:max(length.value - 2, 0)].decode("utf-16-le"))
    return names


def _lines(text: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The words of `text`, and where each of its lines begins (a broken word does not end one)."""
    words: list[str] = []
    starts = []
    for line in LINE_END_HYPHEN.sub(BREAK + " ", text).replace(HYPHEN, "-").split("\n"):
        if line.split():
            starts.append(len(words))
            words += line.split()
    return tuple(words), tuple(starts)


def pdf_words(data: bytes, first_page: int = 1, furniture: tuple[str, ...] = ()) -> tuple[Segment, ...]:
    """The words of each page of a PDF: its text, then the notes at its foot."""
    segments = []
    for page in pdf_pages(data, first_page, furniture):
        foot = NOTE_START.search(page)
        text, lines = _lines(MARKERS.sub("", page[:foot.start()] if foot else page))
        notes = _lines(NOTE_LIST_MARKER.sub(" ", page[foot.start():]))[0] if foot else ()
        segments.append(Segment(text, notes, lines))
    return tuple(segments)


def _text(element: etree._Element, out: list[str], notes: list[str]) -> None:
    """Append the text of `element` to `out` (a new line for each block), its notes to `notes`;
    MathML is skipped (it has no words of the manuscript)."""
    if not isinstance(element.tag, str) or element.tag.startswith(f"{{{MATHML}}}"):
        return
    if element.get(f"{{{OPS}}}type") == "footnotes" or element.get("role") == "doc-endnotes":
        inner: list[str] = []
        for child in element:
            _text(child, inner, notes)
            inner.append(child.tail or "")
        notes.append("".join(inner))
        return
    block = element.tag in BLOCKS
    out.append(("\n" if block else "") + (element.text or ""))
    for child in element:
        _text(child, out, notes)
        out.append(child.tail or "")
    out.append("\n" if block else "")


def epub_words(data: bytes) -> tuple[Segment, ...]:
    """The words of each content document of an EPUB in reading order: its text, then its notes."""
    segments = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        opf_name = next(name for name in archive.namelist() if name.endswith(".opf"))
        base = opf_name.rsplit("/", 1)[0] + "/"
        opf = etree.fromstring(archive.read(opf_name))
        namespaces = {"opf": "http://www.idpf.org/2007/opf"}
        hrefs = {item.get("id"): item.get("href") for item in opf.iterfind("opf:manifest/opf:item", namespaces)}
        for itemref in opf.iterfind("opf:spine/opf:itemref", namespaces):
            body = etree.fromstring(archive.read(base + hrefs[itemref.get("idref")])).find(f"{{{XHTML}}}body")
            out: list[str] = []
            notes: list[str] = []
            if body is not None:
                _text(body, out, notes)
            text, lines = _lines("".join(out))
            segments.append(Segment(text, tuple(" ".join(notes).split()), lines))
    return tuple(segments)


# JATS elements that run inside a line of text; every other element begins a block.
JATS_INLINE = {"italic", "bold", "xref", "ext-link", "sup", "sub", "styled-content", "named-content", "monospace",
               "sc", "underline", "strike", "inline-graphic", "uri", "email"}
# Formulas (TeX and MathML) and images' text alternatives: no words of the running text.
JATS_SKIPPED = ("inline-formula", "disp-formula", "alt-text", "long-desc")


def jats_words(data: bytes) -> tuple[Segment, ...]:
    """The words of a JATS article: its abstracts and body as one text, then its notes."""
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    out: list[str] = []
    for part in root.xpath("front/article-meta/abstract | front/article-meta/trans-abstract | body"):
        _jats_text(part, out)
    notes: list[str] = []
    for note in root.iterfind("back/fn-group/fn"):
        _jats_text(note, notes)
    text, lines = _lines("".join(out))
    return (Segment(text, tuple("".join(notes).split()), lines),)


def _jats_text(element: etree._Element, out: list[str]) -> None:
    """Append the text of a JATS `element` to `out`, a new line for each block; formulas and text
    alternatives skipped."""
    if not isinstance(element.tag, str) or element.tag in JATS_SKIPPED:
        return
    block = element.tag not in JATS_INLINE
    out.append(("\n" if block else "") + (element.text or ""))
    for child in element:
        _jats_text(child, out)
        out.append(child.tail or "")
    out.append("\n" if block else "")


def reading(edition: Sequence[Segment]) -> list[str]:
    """The words of an edition in reading order: each page's or document's text, then its notes."""
    return [word for segment in edition for word in (*segment.text, *segment.notes)]


@dataclass(frozen=True)
class _Wanted:
    """The manuscript's words to read in one stream, each named by its part and place in it."""

    words: list[str]
    names: list[tuple[str, int]]

    def mismatch(self, kind: str, i: int, found: str = "") -> Mismatch:
        """A departure at wanted word `i`: missing, changed, swapped with the next, or an extra
        word `found` before it (told as after the word before, if there is one)."""
        if kind == "extra" and i == 0:
            kind = "leading"
        elif kind == "extra":
            i -= 1
        part, index = self.names[i]
        words = tuple(self.words[i:i + 2]) if kind == "swapped" else (self.words[i],)
        return Mismatch(part, index, kind, words, found)


class _Reader:
    """Reads wanted words from an edition's stream of found words, in lockstep."""

    def __init__(self, found: list[str], pages: Sequence[int], lines: Sequence[int]) -> None:
        self.found = found
        self.pages = frozenset(pages)  # where a table's header row may be set again in `found`
        self.lines = lines  # where each line or block begins, ascending: a part ends only there
        self.ends = frozenset(lines)

    def read(self, word: str, j: int) -> int | None:
        """The position after `word` read at `j`: the word itself (its note call may stand
        apart), or broken at a line end into a stem marked with BREAK and its rest (without a
        hyphen of its own, or with it), or broken at a line end without a hyphen: after a dash,
        or anywhere in a word with a slash (a URL)."""
        if j >= len(self.found):
            return None
        candidate = self.found[j]
        if candidate == word:
            return j + 1
        call = word[len(candidate):]
        if call.isdigit() and word.startswith(candidate):
            # PDFium may set raised note calls apart from their word, and from each other
            apart, joined, found = j + 1, "", self.found
            while apart < len(found) and found[apart].isdigit() and call.startswith(joined + found[apart]):
                joined += found[apart]
                apart += 1
                if joined == call:
                    return apart
        stem = candidate[:-1]
        if candidate.endswith(BREAK) and stem and word.startswith(stem) and len(word) > len(stem):
            rest = word[len(stem):]
            for tail in (rest[1:], rest) if rest.startswith("-") else (rest,):
                after = self.read(tail, j + 1) if tail else j + 1
                if after is not None:
                    return after
        if (("/" in word or candidate.endswith(DASHES)) and len(candidate) < len(word) and word.startswith(candidate)
                and self.line_end(j)):
            return self.read(word[len(candidate):], j + 1)
        return None

    def line_end(self, j: int) -> bool:
        """Whether a line may end after the found word at `j` (anywhere in notes, whose lines
        are not known)."""
        return not self.ends or j + 1 in self.ends

    def follows(self, wanted: Sequence[str], i: int, j: int, stop: int) -> int | None:
        """The position after the next `ANCHOR` wanted words from `i` read at `j`; if they are
        the last before `stop`, that position must be where the wanted words may end."""
        for word in wanted[i:min(stop, i + ANCHOR)]:
            after = self.read(word, j)
            if after is None:
                return None
            j = after
        return j if i + ANCHOR < stop or self.ending(j) else None

    def ending(self, j: int) -> bool:
        """Whether the wanted words may end at `j`: the end of the stream, or a line's start."""
        return j >= len(self.found) or j in self.ends

    def _other(self, wanted: Sequence[str], i: int, j: int, stop: int) -> int | None:
        """Where the wanted words from `i` follow if the found word at `j` (perhaps broken
        across a line end) is another than the manuscript has."""
        broken = j + 1 < len(self.found) and self.found[j].endswith(BREAK)
        for after in (j + 1, j + 2) if broken else (j + 1,):
            if after <= len(self.found) and self.follows(wanted, i, after, stop) is not None:
                return after
        return None

    def _shown(self, j: int, after: int) -> str:
        """The found word from `j` to `after`, a word broken at a line end joined again."""
        return "".join(word.removesuffix(BREAK) for word in self.found[j:after])

    def _header(self, wanted: Sequence[str], i: int, j: int) -> int | None:
        """Where the text resumes if page `j` begins with a table's header row repeated: two
        words or more that the part has set before, followed by the wanted words."""
        if j not in self.pages:
            return None
        for end in range(j + 2, min(len(self.found), j + HEADER) + 1):
            if self.follows(wanted, i, end, len(wanted)) is not None:
                run = list(self.found[j:end])
                if any(list(wanted[k:k + len(run)]) == run for k in range(i - len(run), max(-1, i - TABLE), -1)):
                    return end
        return None

    def walk(self, wanted: _Wanted, i: int, j: int, limit: int) -> tuple[list[Mismatch], bool]:
        """Read the wanted words from `i` at `j`: the departures met (up to `limit`), each told
        as what explains the words that follow (missing, changed, extra, swapped), and whether
        all were explained (a departure nothing explains ends the walk)."""
        words, found, stop = wanted.words, self.found, len(wanted.words)
        problems: list[Mismatch] = []
        while i < stop and len(problems) < limit:
            after = self.read(words[i], j)
            if after is not None:
                i, j = i + 1, after
                continue
            swap_first = self.read(words[i + 1], j) if i + 1 < stop else None
            swap_last = self.read(words[i], swap_first) if swap_first is not None else None
            if swap_last is not None and self.follows(words, i + 2, swap_last, stop) is not None:
                problems.append(wanted.mismatch("swapped", i))
                i, j = i + 2, swap_last
            elif self.follows(words, i + 1, j, stop) is not None:
                problems.append(wanted.mismatch("missing", i))
                i += 1
            elif (changed := self._other(words, i + 1, j, stop)) is not None:
                problems.append(wanted.mismatch("changed", i, self._shown(j, changed)))
                i, j = i + 1, changed
            elif (extra := self._other(words, i, j, stop)) is not None:
                problems.append(wanted.mismatch("extra", i, self._shown(j, extra)))
                j = extra
            elif (resume := self._header(words, i, j)) is not None:
                j = resume
            else:
                problems.append(wanted.mismatch("changed", i, found[j]) if j < len(found)
                                else wanted.mismatch("missing", i))
                return problems, False
        if i < stop:
            return problems, False
        if stop and not self.ending(j):
            problems.append(wanted.mismatch("extra", stop, found[j]))
        return problems, True


def _streams(edition: Sequence[Segment]) -> tuple[_Reader, _Reader]:
    """Readers of an edition's running text and of its notes (which end only at their end)."""
    text: list[str] = []
    notes: list[str] = []
    pages, lines = [], []
    for segment in edition:
        pages.append(len(text))
        lines += [len(text) + line for line in segment.lines]
        text += segment.text
        notes += segment.notes
    return _Reader(text, pages, lines), _Reader(notes, (), ())


def _part(reader: _Reader, name: str, words: list[str]) -> list[Mismatch]:
    """Locate part `name` in the running text, where a line begins, and read it through."""
    wanted = _Wanted(words, [(name, index) for index in range(len(words))])
    stop = len(words)
    start = next((line for line in reader.lines if reader.follows(words, 0, line, stop) is not None), None)
    if start is not None:
        return reader.walk(wanted, 0, start, 1)[0]
    # The opening is damaged (a swap reaches one word further): the part begins at one of the
    # lines just before the words that follow the damage, the last from which one departure
    # explains the rest.
    resume = next((j for j in range(len(reader.found)) for skip in range(1, ANCHOR + 2)
                   if reader.follows(words, skip, j, stop) is not None), None)
    if resume is None:
        return [wanted.mismatch("missing", 0)]
    lines = reader.lines[bisect_right(reader.lines, resume - 2 * ANCHOR - 4):bisect_right(reader.lines, resume)]
    nearest: list[Mismatch] | None = None
    for line in reversed(lines or [0]):
        problems, explained = reader.walk(wanted, 0, line, 2)
        if explained and len(problems) == 1:
            return problems
        nearest = problems[:1] if nearest is None else nearest
    return nearest or [wanted.mismatch("missing", 0)]


def compare(parts: dict[str, list[str]], edition: Sequence[Segment]) -> list[Mismatch]:
    """Read each part of the manuscript in an edition; report the first departure of each."""
    text, notes = _streams(edition)
    parts = {name: [word.replace(HYPHEN, "-") for word in words] for name, words in parts.items()}
    problems = [problem for name, words in parts.items() if not name.startswith("note ")
                for problem in _part(text, name, words)]
    wanted = _Wanted([], [])
    for number in sorted(int(name.split()[1]) for name in parts if name.startswith("note ")):
        words = parts[f"note {number}"]
        wanted.words.extend([str(number), *words])
        wanted.names.extend((f"note {number}", index) for index in range(-1, len(words)))
    first: dict[str, Mismatch] = {}
    for departure in notes.walk(wanted, 0, 0, len(wanted.words))[0]:
        first.setdefault(departure.part, departure)
    return problems + list(first.values())
