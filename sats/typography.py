"""The typographic report: what a typesetter looks for on laid-out pages, measured, and the fixes
a new layout can make for it.

It reads plain data (`Layout`: the lines of each page, where each ends, whether the layout
hyphenated it, which notes it calls, and where the notes went) that `weasyprint_private` takes
from WeasyPrint's boxes, so that it can be tested without WeasyPrint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import html as lxml_html

from .content import ANCHOR

OVERFULL_PT = 0.5  # text may touch the measure; past it by more than this is overfull
LOOSE_EM = 0.25  # a word space stretched by more than this beyond its natural width is loose
HYPHENS_IN_A_ROW = 2  # more hyphenated line ends in a row than this is a ladder
SHORT_WORD = 4  # a paragraph's last line of one word this short (in letters) or less is a runt
SHORT_LINES = 2  # a page whose text ends more lines than this above its foot is short
# A page left this many lines short by the call of a long note (taller than a quarter of the
# notes' room) moving on with it: the notes may take more of the page (WeasyPrint cannot run a
# note over to the next page, as a typesetter would).
NOTE_HOLE_LINES = 6
HYPHENS = "\u2010-"
PUNCTUATION = ".,;:!?»”’)]…"
# The faults `--strict` fails on; the others are reported.
HARD = ("overfull", "note off its page", "hyphen across a page", "widow", "orphan")
KINDS = (*HARD, "loose", "hyphen ladder", "runt", "heading at the foot", "short page")


@dataclass(frozen=True)
class Line:
    """A laid-out line of the main text or of a note.

    Positions are in points from the page's top and left edge. `block` names the paragraph the
    line belongs to (its anchor, `p12`), the note (its id, `fn3`), or another block (its id).
    """

    page: int  # the page's index in the article, from 0
    block: str
    text: str
    top: float
    bottom: float
    right: float  # where the text ends
    measure: float  # where the measure ends
    hyphenated: bool = False  # ends with a hyphen the layout inserted
    stretch: float = 0.0  # how far justification widened each word space, in em
    justified: bool = False  # its paragraph is set justified
    in_note: bool = False
    heading: bool = False
    calls: tuple[str, ...] = ()  # the ids of the notes it calls


@dataclass(frozen=True)
class Page:
    """A laid-out page: where its main text may end (above its notes), and why it may end early."""

    bottom: float  # the foot of the area for the main text, in points from the top
    line_height: float
    notes: tuple[str, ...] = ()  # the ids of the notes at its foot
    note_room: float = float("inf")  # the most height the notes may take, in points
    opens_whole: bool = False  # it opens with what cannot be split: a figure, a table, a kept block


@dataclass(frozen=True)
class Layout:
    """The laid-out article: its pages, and their lines in reading order (main text first)."""

    pages: tuple[Page, ...]
    lines: tuple[Line, ...]
    first_page: int = 1  # the number printed on the first page


@dataclass(frozen=True)
class Fault:
    """Something a typesetter would mend: its kind, the page (as printed), the words involved,
    and the block they are in (to fix it)."""

    kind: str
    page: int
    words: str
    detail: str = ""
    block: str = field(default="", compare=False)
    word: str = field(default="", compare=False)  # the word a fix keeps whole; "long": the notes need more room
    badness: float = field(default=1.0, compare=False)  # how bad, among soft faults: a loose line by its stretch

    @property
    def hard(self) -> bool:
        """Whether `--strict` fails on it."""
        return self.kind in HARD

    def __str__(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"page {self.page}: {self.kind}: «{self.words}»{detail}"


@dataclass(frozen=True)
class Fixes:
    """What the next layout changes, only where a fault was found: words the layout may not
    hyphenate (paragraph anchor, word), blocks set tighter or allowed to break a word anywhere,
    paragraphs that begin a page (to keep a note's call and the note together), and room for a
    note taller than the notes may take."""

    unhyphenated: frozenset[tuple[str, str]] = frozenset()
    tighter: frozenset[str] = frozenset()
    breakable: frozenset[str] = frozenset()
    new_page: frozenset[str] = frozenset()
    long_notes: bool = False  # the notes may take most of a page, for a note taller than they may now


def _words(text: str, last: int = 0) -> str:
    words = text.split()
    return " ".join(words[-last:] if last else words)


def _whole_word(line: str, following: str) -> str:
    """The word that `line` ends hyphenated and `following` goes on with."""
    fragment, rest = _words(line, 1), (following.split() or [""])[0]
    return fragment.rstrip(HYPHENS) + rest.rstrip(PUNCTUATION)


def _runs(lines: tuple[Line, ...]) -> Iterator[list[Line]]:
    """The lines of each block, in order."""
    run: list[Line] = []
    for line in lines:
        if run and (line.block != run[-1].block or line.in_note != run[-1].in_note):
            yield run
            run = []
        run.append(line)
    if run:
        yield run


def report(layout: Layout) -> tuple[Fault, ...]:
    """Every fault found in `layout`, page by page."""
    faults: list[Fault] = []
    number = layout.first_page
    text = tuple(line for line in layout.lines if not line.in_note)
    for line in layout.lines:
        if line.right > line.measure + OVERFULL_PT:
            faults.append(Fault("overfull", line.page + number, _words(line.text, 1),
                                f"{line.right - line.measure:.1f} pt past the measure", line.block))
        if line.stretch > LOOSE_EM:
            faults.append(Fault("loose", line.page + number, _words(line.text),
                                f"word spaces {line.stretch:.2f} em wider", line.block,
                                badness=line.stretch / LOOSE_EM))
    for run in _runs(layout.lines):
        faults += _block_faults(run, number)
    for index, page in enumerate(layout.pages):
        faults += _page_faults(layout, index, page, [line for line in text if line.page == index])
    faults += _notes_off_their_page(layout)
    return tuple(sorted(faults, key=lambda fault: fault.page))


def _block_faults(run: list[Line], number: int) -> Iterator[Fault]:
    """Hyphen ladders, runts, widows and orphans in one block's lines."""
    in_a_row = 0
    for index, line in enumerate(run):
        in_a_row = in_a_row + 1 if line.hyphenated else 0
        if in_a_row == HYPHENS_IN_A_ROW + 1:
            middle = run[index - 1]  # a fix keeps its word whole
            yield Fault("hyphen ladder", line.page + number, _words(line.text, 1),
                        f"{in_a_row} hyphenated line ends in a row", line.block,
                        _whole_word(middle.text, line.text))
    last = run[-1]
    words = last.text.split()
    if len(run) > 1 and len(words) == 1 and last.justified and not last.in_note and (
            run[-2].hyphenated or sum(c.isalnum() for c in words[0]) <= SHORT_WORD):
        what = "the end of a hyphenated word" if run[-2].hyphenated else "a single short word"
        yield Fault("runt", last.page + number, f"{_words(run[-2].text, 1)} {words[0]}",
                    f"the paragraph ends on {what}", last.block)
    if last.in_note or last.heading or len(run) < 2:
        return
    if run[-1].page != run[-2].page and (len(run) < 3 or run[-3].page != run[-1].page):
        yield Fault("widow", last.page + number, _words(last.text),
                    "a paragraph's last line alone at the top of a page", last.block)
    if run[0].page != run[1].page:
        yield Fault("orphan", run[0].page + number, _words(run[0].text),
                    "a paragraph's first line alone at the foot of a page", run[0].block)


def _page_faults(layout: Layout, index: int, page: Page, lines: list[Line]) -> Iterator[Fault]:
    """A hyphen or a heading at the foot of the page, and a page that ends short."""
    number = index + layout.first_page
    if not lines:
        return
    foot = lines[-1]
    if foot.hyphenated:
        rest = next((line.text for line in layout.lines if line.page > index
                     and line.block == foot.block and not line.in_note), "")
        yield Fault("hyphen across a page", number, f"{_words(foot.text, 1)} / {(rest.split() or [''])[0]}",
                    "the word continues on the next page", foot.block, _whole_word(foot.text, rest))
    if foot.heading:
        yield Fault("heading at the foot", number, _words(foot.text), block=foot.block)
    last_page = index == len(layout.pages) - 1
    following = layout.pages[index + 1] if not last_page else None
    missing = (page.bottom - foot.bottom) / page.line_height
    if missing > SHORT_LINES and following is not None and not following.opens_whole:
        heading_next = any(line.heading for line in layout.lines if line.page == index + 1)
        if heading_next and _opens_with_heading(layout, index + 1):
            return  # the heading went on with its paragraph
        called = [call for line in layout.lines if line.page == index + 1 and not line.in_note
                  for call in line.calls][:1]
        why = f"; the call of note {called[0].removeprefix('fn')} moved on with its note" if called else ""
        height = sum(line.bottom - line.top for line in layout.lines if line.in_note and line.block in called)
        long = missing > NOTE_HOLE_LINES and height > page.note_room / 4
        yield Fault("short page", number, _words(foot.text, 3), f"{missing:.1f} lines short{why}", foot.block,
                    "long" if long else "", badness=missing / SHORT_LINES)


def _opens_with_heading(layout: Layout, index: int) -> bool:
    first = next((line for line in layout.lines if line.page == index and not line.in_note), None)
    return first is not None and first.heading


def note_pages(layout: Layout) -> dict[str, tuple[int | None, int | None]]:
    """For each note: the index of the page of its call and of the page it is set on."""
    placed = {note: index for index, page in enumerate(layout.pages) for note in page.notes}
    calls = {call: line.page for line in layout.lines for call in line.calls}
    return {note: (calls.get(note), placed.get(note)) for note in dict.fromkeys((*calls, *placed))}


def _notes_off_their_page(layout: Layout) -> Iterator[Fault]:
    number = layout.first_page
    for note, (call, placed) in note_pages(layout).items():
        if call == placed:
            continue
        where = f"page {placed + number}" if placed is not None else "no page"
        height = sum(line.bottom - line.top for line in layout.lines if line.in_note and line.block == note)
        room = min((page.note_room for page in layout.pages if page.notes), default=float("inf"))
        too_tall = f"; it is {height:.0f} pt tall, the notes may take {room:.0f} pt" if height > room else ""
        calling = next((line.block for line in layout.lines if note in line.calls), "")
        yield Fault("note off its page", (call if call is not None else placed or 0) + number,
                    f"note {note.removeprefix('fn')}", f"its call is here, the note on {where}{too_tall}",
                    calling, "long" if too_tall else "")


def fixes(faults: tuple[Fault, ...], tried: Fixes = Fixes()) -> Fixes:
    """What a new layout changes to mend `faults`, each where it was found, after the fixes
    `tried` (which it keeps). A hyphen across a page: the word is kept whole and its paragraph
    set tighter, so that the line it leaves is less loose."""
    unhyphenated, tighter, breakable = set(tried.unhyphenated), set(tried.tighter), set(tried.breakable)
    new_page, long_notes = set(tried.new_page), tried.long_notes
    for fault in faults:
        if fault.kind in ("hyphen across a page", "hyphen ladder"):
            unhyphenated.add((fault.block, fault.word))
        if fault.kind in ("hyphen across a page", "widow", "orphan", "loose", "runt"):
            tighter.add(fault.block)
        elif fault.kind == "overfull":
            breakable.add(fault.block)
        elif fault.kind in ("note off its page", "short page") and fault.word == "long":
            long_notes = True
        elif fault.kind == "note off its page" and fault.block:
            new_page.add(fault.block)
    return Fixes(frozenset(unhyphenated), frozenset(tighter), frozenset(breakable), frozenset(new_page), long_notes)


def wanting(faults: tuple[Fault, ...]) -> bool:
    """Whether `faults` ask for another layout: a hard one, or a page left largely empty because
    the notes could not take the note of a call at its foot."""
    return any(fault.hard or (fault.kind == "short page" and fault.word == "long") for fault in faults)


def better(faults: tuple[Fault, ...], than: tuple[Fault, ...]) -> bool:
    """Whether `faults` are fewer than `than`: fewer hard ones, or as many and less bad in all
    (a loose line counts by how loose it is, a short page by how short)."""
    def score(found: tuple[Fault, ...]) -> tuple[int, float]:
        return sum(fault.hard for fault in found), sum(fault.badness for fault in found if not fault.hard)

    return score(faults) < score(than)


def to_json(faults: tuple[Fault, ...]) -> bytes:
    """The faults as JSON, to keep."""
    return json.dumps([[fault.kind, fault.page, fault.words, fault.detail] for fault in faults],
                      ensure_ascii=False).encode()


def from_json(data: bytes) -> tuple[Fault, ...]:
    """The faults kept as JSON."""
    return tuple(Fault(str(kind), int(page), str(words), str(detail)) for kind, page, words, detail in json.loads(data))


def counts(faults: tuple[Fault, ...]) -> dict[str, int]:
    """How many faults of each kind, every kind named."""
    return {kind: sum(fault.kind == kind for fault in faults) for kind in KINDS}


def summary(faults: tuple[Fault, ...]) -> str:
    """One line: the hard and soft faults, by kind."""
    hard = sum(fault.hard for fault in faults)
    found = ", ".join(f"{count} {kind}" for kind, count in counts(faults).items() if count)
    return f"{hard} hard and {len(faults) - hard} soft typographic faults" + (f": {found}" if found else "")


# The classes print.css gives the fixes (each within a small, stated limit).
WHOLE, TIGHT, BREAKABLE, NEW_PAGE = "fix-whole", "fix-tight", "fix-breakable", "fix-new-page"
LONG_NOTES = "fix-long-notes"


def apply(html: str, fixes: Fixes) -> str:
    """The print HTML with `fixes` marked on it: words the layout may not hyphenate wrapped in
    an element of their own, paragraphs and notes given the class of their fix. The text stays
    exactly as it is."""
    tree = lxml_html.document_fromstring(html)
    blocks: dict[str, Any] = {}
    for span in tree.iter("span"):
        anchor = span.get(ANCHOR)
        if anchor and span.getparent() is not None:
            blocks.setdefault(anchor, span.getparent())
    for key in fixes.tighter | fixes.breakable | fixes.new_page:
        block = blocks[key] if key in blocks else tree.get_element_by_id(key, None)
        if block is not None:
            block.classes |= {name for name, keys in ((TIGHT, fixes.tighter), (BREAKABLE, fixes.breakable),
                                                      (NEW_PAGE, fixes.new_page)) if key in keys}
    if fixes.long_notes:
        tree.classes.add(LONG_NOTES)
    for key, word in fixes.unhyphenated:
        block = blocks[key] if key in blocks else tree.get_element_by_id(key, None)
        if block is not None and word:
            _wrap(block, word)
    return str(lxml_html.tostring(tree, encoding="unicode", doctype="<!DOCTYPE html>"))


def _wrap(block: Any, word: str) -> None:
    """Wrap each whole `word` in `block`'s own text (not its notes') in a span the layout does
    not hyphenate."""
    pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)")

    def in_note(element: Any) -> bool:
        while element is not None and element is not block:
            if element.get("role") == "doc-footnote":
                return True
            element = element.getparent()
        return False

    slots = [(element, False) for element in block.iter() if not in_note(element)]
    slots += [(element, True) for element in block.iter() if element is not block and not in_note(element.getparent())]
    while slots:
        element, tail = slots.pop()
        text = (element.tail if tail else element.text) or ""
        match = pattern.search(text)
        if match is None:
            continue
        span = lxml_html.Element("span", {"class": WHOLE})
        span.text, span.tail = match.group(), text[match.end():]
        if tail:
            element.tail = text[:match.start()]
            element.addnext(span)
        else:
            element.text = text[:match.start()]
            element.insert(0, span)
        slots.append((span, True))
