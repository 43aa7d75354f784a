"""Print page breaks in the EPUB: a marker where each printed page begins, found from the
print layout's anchors (see `pdf.PageStart`), never inside a word, a link or a heading."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from .content import ANCHOR
from .pdf import NOT_TEXT_ROLES, PageStart

XHTML = "http://www.w3.org/1999/xhtml"
OPS = "http://www.idpf.org/2007/ops"
MATH = "{http://www.w3.org/1998/Math/MathML}math"
# Elements whose edges part words: the text of one never runs into the next.
BLOCK_NAMES = ("address", "article", "aside", "blockquote", "body", "dd", "div", "dl", "dt", "figcaption",
               "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "nav", "ol", "p",
               "pre", "section", "table", "td", "th", "tr", "ul", "br")
BLOCKS = {f"{{{XHTML}}}{name}" for name in BLOCK_NAMES}
# A marker inside these would change what they say (a link's or a heading's accessible name).
WHOLE = {f"{{{XHTML}}}{name}" for name in ("a", "h1", "h2", "h3", "h4", "h5", "h6")}
NOTES = ("doc-footnote", "doc-endnote")
NON_BLANK = re.compile(r"\S")
WORD_START = re.compile(r"(?:^|(?<=\s))\S")  # a word's first character, or the text's (the word may begin before)


@dataclass
class _Slot:
    """A run of text: an element's `text`, or its `tail`."""

    element: etree._Element
    tail: bool
    block: etree._Element | None
    whole: tuple[etree._Element, ...]  # links and headings around the text, outermost first
    flow: bool | None  # in a note (True), in the main text (False), or in neither (None)

    @property
    def text(self) -> str:
        return (self.element.tail if self.tail else self.element.text) or ""


class _Document:
    """The text of one content document in reading order, with where each element starts."""

    def __init__(self, tree: etree._Element) -> None:
        self.slots: list[_Slot] = []
        self.starts: dict[etree._Element, int] = {}
        self._before: dict[bool, list[int]] = {}  # see _counts
        self._positions: dict[int, list[int]] = {}  # see _non_blank
        # The last search for a word start in each flow: from where, to where, what it found
        # (a page that begins inside a long word finds what the page before it found).
        self._scanned: dict[bool, tuple[tuple[int, int], tuple[int, int], _Target | None]] = {}
        self.body = tree.find(f"{{{XHTML}}}body")
        self._read(self.body, None, (), False)

    def _read(self, element: etree._Element, block: etree._Element | None,
              whole: tuple[etree._Element, ...], in_note: bool) -> None:
        self.starts[element] = len(self.slots)
        if isinstance(element.tag, str):
            role = element.get("role")
            # Formulas are drawn in print, with no text to count: neither are they text here.
            flow = None if role in NOT_TEXT_ROLES or element.tag == MATH else in_note or role in NOTES
            inner_block = element if element.tag in BLOCKS else block
            inner = (*whole, element) if element.tag in WHOLE else whole
            self.slots.append(_Slot(element, False, inner_block, inner, flow))
            for child in element:
                if flow is None:  # not text: neither are its children
                    self.starts[child] = len(self.slots)
                    continue
                self._read(child, inner_block, inner, flow)
        if element is not self.body:
            self.slots.append(_Slot(element, True, block, whole, in_note))

    def _counts(self, in_note: bool) -> list[int]:
        """For each slot, how many non-blank characters of the flow come before it (and, last,
        how many the flow has)."""
        if in_note not in self._before:
            counts, total = [], 0
            for slot in self.slots:
                counts.append(total)
                total += len(NON_BLANK.findall(slot.text)) if slot.flow is in_note else 0
            self._before[in_note] = [*counts, total]
        return self._before[in_note]

    def _non_blank(self, number: int) -> list[int]:
        """Where the non-blank characters of a slot's text are."""
        if number not in self._positions:
            self._positions[number] = [match.start() for match in NON_BLANK.finditer(self.slots[number].text)]
        return self._positions[number]

    def _word_start(self, number: int, index: int) -> bool:
        """Whether the character at a position begins a word: its block begins there, or the
        text of its flow before it ends in a space."""
        slot = self.slots[number]
        if index:
            return slot.text[index - 1].isspace()
        while True:
            number -= 1
            if number < 0 or self.slots[number].block is not slot.block:
                return True
            if self.slots[number].flow is slot.flow and self.slots[number].text:
                return self.slots[number].text[-1].isspace()

    def _begins(self, element: etree._Element, number: int, index: int) -> bool:
        """Whether nothing but blanks of `element` comes before a position."""
        return not self.slots[number].text[:index].strip() and all(
            not slot.text.strip() for slot in self.slots[self.starts[element]:number])

    def locate(self, element: etree._Element, offset: int, in_note: bool) -> _Target | int:
        """The first word start at least `offset` non-blank characters after `element` begins,
        where a marker changes nothing a reader reads; or, if the document ends before it,
        how many characters are still to go.

        The character is found by counting slots whole, and the word start by a search in their
        text: the time is linear in the document, however long a paragraph or a word is."""
        counts = self._counts(in_note)
        start = self.starts[element]
        goal = counts[start] + offset
        if goal >= counts[-1]:
            return offset - (counts[-1] - counts[start])
        first = bisect.bisect_right(counts, goal, start) - 1
        here = (first, self._non_blank(first)[goal - counts[first]])
        scanned = self._scanned.get(in_note)
        if scanned is None or not scanned[0] <= here <= scanned[1]:  # not within the last search: search
            found = self._word_after(*here, in_note)
            scanned = self._scanned[in_note] = (here, (found.slot, found.index) if found else (len(self.slots), 0),
                                                found)
        return scanned[2] or 0

    def _word_after(self, first: int, index: int, in_note: bool) -> _Target | None:
        """The first word start of the flow at or after a position where a marker may go."""
        for number in range(first, len(self.slots)):
            slot = self.slots[number]
            if slot.flow is not in_note:
                continue
            for match in WORD_START.finditer(slot.text, index):
                position = match.start()
                if position == 0 and not self._word_start(number, 0):
                    continue
                if not slot.whole:
                    return _Target(self, number, position, None)
                if self._begins(slot.whole[0], number, position):
                    return _Target(self, number, position, slot.whole[0])
            index = 0
        return None


@dataclass(frozen=True)
class _Target:
    document: _Document
    slot: int
    index: int
    before: etree._Element | None  # a link or heading the marker goes before


def _marker(label: str) -> etree._Element:
    return etree.Element(f"{{{XHTML}}}span", {f"{{{OPS}}}type": "pagebreak", "role": "doc-pagebreak",
                                              "id": f"page-{label}", "aria-label": label})


def _insert(target: _Target, marker: etree._Element) -> None:
    if target.before is not None:
        target.before.addprevious(marker)
        return
    if target.slot == len(target.document.slots):  # the end of the document
        target.document.body.append(marker)
        return
    slot = target.document.slots[target.slot]
    text = slot.text
    marker.tail = text[target.index:]
    if slot.tail:
        slot.element.tail = text[:target.index]
        slot.element.addnext(marker)
    else:
        slot.element.text = text[:target.index]
        slot.element.insert(0, marker)


def mark(trees: dict[str, etree._Element], starts: Sequence[PageStart], labels: Sequence[str]) -> list[str]:
    """Put a page-break marker where each page begins in `trees` (content documents by href,
    in reading order) and return each marker's href. The anchors are removed afterwards."""
    documents = {href: _Document(tree) for href, tree in trees.items()}
    keyed: dict[str, tuple[str, etree._Element]] = {}
    for href, tree in trees.items():
        for element in tree.iter():
            for key in (element.get(ANCHOR), element.get("id")):
                if key:
                    keyed.setdefault(key, (href, element))
    located = []
    for start, label in zip(starts, labels, strict=True):
        href, target = _find(documents, keyed, start)
        located.append((href, target, label))
    # Later positions first, so that splitting a text leaves the earlier positions valid.
    for _, target, label in sorted(located, key=lambda item: (item[1].slot, item[1].index), reverse=True):
        _insert(target, _marker(label))
    for tree in trees.values():
        for anchor in tree.xpath(f"//*[@{ANCHOR}]"):
            drop(anchor)
    return [href for href, _, _ in located]


def _find(documents: dict[str, _Document], keyed: dict[str, tuple[str, etree._Element]],
          start: PageStart) -> tuple[str, _Target]:
    """Where a page begins: from its nearest anchor that the EPUB has, or else the book's start.
    The text from an anchor may run on into the documents after it."""
    hrefs = list(documents)
    found = [(keyed[key], offset) for key, offset in start.anchors if key in keyed]
    (first, element), offset = found[0] if found else ((hrefs[0], documents[hrefs[0]].body), 0)
    for href in hrefs[hrefs.index(first):]:
        document = documents[href]
        target = document.locate(element if element is not None else document.body, offset, start.in_note)
        if isinstance(target, _Target):
            return href, target
        element, offset = None, target
    last = hrefs[-1]  # no word begins after the page's start (it begins inside the book's last word)
    return last, _Target(documents[last], len(documents[last].slots), 0, None)


def drop(element: etree._Element) -> None:
    """Remove an element and what it holds, keeping the text after it."""
    parent, previous = element.getparent(), element.getprevious()
    if element.tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)
