"""The word check: exact where the editions set the author's words, lenient only where they add
their own (around the parts, a table's header row again atop a page); and, as properties over
the first title, any one word dropped, changed, doubled or swapped is found and named."""

from __future__ import annotations

import io
import shutil
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import pypdfium2
import pytest
from conftest import FIXTURES, Built, build
from hypothesis import given, settings
from hypothesis import strategies as st

from sats import content, manuscript, templates
from sats.wordcheck import BREAK, Mismatch, Segment, compare, epub_words, expected, pdf_words, stringify

PROPERTY = settings(max_examples=100, deadline=None, derandomize=True, database=None)
CHARACTERS = "abcdefghijklmnopqrstuvwxyzæøå0123456789"


def page(text: str, notes: str = "") -> Segment:
    """A page whose lines are separated by `/`, with the notes at its foot."""
    lines = [line.split() for line in text.split("/")]
    starts = [sum(len(line) for line in lines[:index]) for index in range(len(lines))]
    return Segment(tuple(word for line in lines for word in line), tuple(notes.split()), tuple(starts))


def misses(parts: dict[str, list[str]], *pages: Segment) -> list[str]:
    """The word check's report of `pages` against `parts`, one line a part."""
    return [str(miss) for miss in compare(parts, pages)]


BODY = {"body": ["Med", "denne", "type", "gjensidige", "fiendebilder", "gir", "det", "seg", "selv"]}


def test_an_exact_edition_passes_and_its_title_page_and_labels_are_its_own() -> None:
    assert misses(BODY, page("Tittel / Med denne type gjensidige / fiendebilder gir det seg selv / Litteratur")) == []


def test_a_word_broken_across_a_page_whose_notes_stand_apart() -> None:
    edition = (page(f"Med denne type gjensi{BREAK}", "8 Skiftet fra partner"),
               page("dige fiendebilder gir det seg selv"))
    assert misses(BODY | {"note 8": ["Skiftet", "fra", "partner"]}, *edition) == []


def test_a_real_hyphen_at_a_line_end_is_read_both_ways() -> None:
    parts = {"body": ["at", "NATO-Russland-rådet", "(NRC)", "og", "sikkerhets-", "og", "forsvarspolitikk"]}
    edition = page(f"at NATO{BREAK} / Russland-rådet (NRC) og sikkerhets{BREAK} / og forsvarspolitikk")
    assert misses(parts, edition) == []


def test_a_note_call_is_glued_to_its_word_and_a_digit_elsewhere_is_not() -> None:
    parts = {"body": ["hele", "regionen.1", "For", "mindre"], "note 1": ["Prinsippet"]}
    assert misses(parts, page("hele regionen.1 For mindre", "1 Prinsippet")) == []
    assert misses(parts, page("hele / regionen. / 1 For mindre", "1 Prinsippet")) == []  # PDFium sets it apart
    assert misses(parts, page("hele regionen.1 For7 mindre", "1 Prinsippet")) == ["body: word 3 «For» reads «For7»"]


@pytest.mark.parametrize(("edition", "message"), [
    ("Med denne gjensidige fiendebilder gir det seg selv", "body: word 3 «type» is missing"),
    ("Med denne typen gjensidige fiendebilder gir det seg selv", "body: word 3 «type» reads «typen»"),
    ("Med denne type type gjensidige fiendebilder gir det seg selv", "body: an extra «type» after word 3"),
    ("Med type denne gjensidige fiendebilder gir det seg selv", "body: words 2–3 «denne type» are swapped"),
    ("Med denne type gjensidige fiendebilder gir det seg selv selv", "body: an extra «selv» after word 9"),
    ("Med denne type gjensidige fiendebilder gir det seg", "body: word 9 «selv» is missing"),
    ("Tittel / Nå Med denne type gjensidige fiendebilder gir det seg selv", "body: an extra «Nå» before word 1"),
    ("Tittel / denne type gjensidige fiendebilder gir det seg selv", "body: word 1 «Med» is missing"),
    (f"Med denne type gjen{BREAK} / sidig fiendebilder gir det seg selv",
     "body: word 4 «gjensidige» reads «gjensidig»"),
])
def test_each_departure_is_told_at_its_word(edition: str, message: str) -> None:
    assert misses(BODY, page(edition)) == [message]


def test_a_departure_in_the_notes_is_told_at_its_note() -> None:
    parts = {"body": ["ord.1", "og", "ord.2"], "note 1": ["Se", "Sakwa."], "note 2": ["Ibid."]}
    assert misses(parts, page("ord.1 og ord.2", "1 Se Sakwa. 2 Ibid.")) == []
    assert misses(parts, page("ord.1 og ord.2", "1 Se 2 Ibid.")) == ["note 1: word 2 «Sakwa.» is missing"]
    assert misses(parts, page("ord.1 og ord.2", "Se 1 Sakwa. 2 Ibid.")) == [
        "note 1: the note number and word 1 «1 Se» are swapped"]
    assert misses(parts, page("ord.1 og ord.2", "1 Se Sakwa. 2 Ibid. 3")) == ["note 2: an extra «3» after word 1"]


def test_a_table_header_row_again_atop_a_page_is_the_editions_own() -> None:
    parts = {"body": ["Tabell", "1", "År", "Antall", "2001", "12", "2002", "14"]}
    assert misses(parts, page("Tabell 1 / År Antall / 2001 12"), page("År Antall / 2002 14")) == []
    assert misses(parts, page("Tabell 1 / År Antall / 2001 12"), page("Antall / 2002 14")) == [
        "body: an extra «Antall» after word 6"]


def test_math_has_no_words(tmp_path: Path) -> None:
    para = {"t": "Para", "c": [{"t": "Str", "c": "der"}, {"t": "Space"},
                               {"t": "Math", "c": [{"t": "InlineMath"}, "x^2"]}, {"t": "Space"},
                               {"t": "Str", "c": "vokser"}]}
    assert stringify(para).split() == ["der", "vokser"]
    xhtml = ('<html xmlns="http://www.w3.org/1999/xhtml"><body><p>der <math xmlns="http://www.w3.org/1998/Math/'
             'MathML"><msup><mi>x</mi><mn>2</mn></msup></math> vokser</p></body></html>')
    opf = ('<package xmlns="http://www.idpf.org/2007/opf"><manifest><item id="c" href="c.xhtml"/></manifest>'
           '<spine><itemref idref="c"/></spine></package>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("EPUB/content.opf", opf)
        archive.writestr("EPUB/c.xhtml", xhtml)
    assert epub_words(buffer.getvalue()) == (Segment(("der", "vokser"), (), (0,)),)


# Properties over the first title: one change, anywhere in its body or notes, on either side.

@dataclass(frozen=True)
class Edition:
    """An edition's segments, and its words flat: the running text's and the notes'."""

    segments: tuple[Segment, ...]

    def stream(self, notes: bool) -> list[str]:
        """The running text's words, or the notes', one list."""
        return [word for segment in self.segments for word in (segment.notes if notes else segment.text)]

    def mutated(self, notes: bool, at: int, words: list[str]) -> tuple[Segment, ...]:
        """The segments with `words`, the stream changed at `at` (by one word more or less in
        the segment that holds it), in place of the stream."""
        delta = len(words) - len(self.stream(notes))
        segments, start, taken = [], 0, 0
        for segment in self.segments:
            own = segment.notes if notes else segment.text
            grows = delta if start <= at < start + len(own) else 0
            new = tuple(words[taken:taken + len(own) + grows])
            lines = tuple(line + grows * (line > at - start) for line in segment.lines)
            segments.append(replace(segment, notes=new) if notes else replace(segment, text=new, lines=lines))
            start, taken = start + len(own), taken + len(new)
        return tuple(segments)


@dataclass(frozen=True)
class Title:
    """The first title's words, part by part, and those of its PDF and its EPUB."""

    parts: dict[str, list[str]]
    editions: dict[str, Edition]

    def __repr__(self) -> str:
        return "the first title"  # a failing example need not print every word


@pytest.fixture(scope="module")
def title(first_title: Built, article: content.Content) -> Title:
    """The first title, read once for all the examples."""
    project = first_title.project
    furniture = (templates.author_names(project), project.short_title)
    return Title(expected(article), {
        "pdf": Edition(pdf_words(first_title.pdf.read_bytes(), project.journal.first_page, furniture)),
        "epub": Edition(epub_words(first_title.epub.read_bytes()))})


def mutate(words: list[str], at: int, kind: str, character: str, offset: int) -> tuple[list[str], str]:
    """`words` with one change at `at`; and the word it concerns."""
    word = words[at]
    if kind == "drop":
        return words[:at] + words[at + 1:], word
    if kind == "double":
        return words[:at + 1] + words[at:], word
    if kind == "swap":
        return [*words[:at], words[at + 1], word, *words[at + 2:]], word
    stem = word.removesuffix(BREAK)
    index = offset % (len(stem) + 1)
    if index == len(stem):  # a character added, as a note call is: the case the old check let pass
        changed = stem + character
    else:
        changed = stem[:index] + (character if character != stem[index] else "#") + stem[index + 1:]
    return [*words[:at], changed + word[len(stem):], *words[at + 1:]], word


def note(words: list[str], at: int) -> int:
    """The number of the note that word `at` of the notes belongs to (its number begins it)."""
    number = 0
    for word in words[:at + 1]:
        number += word == str(number + 1)
    return number


def named(miss: Mismatch, word: str) -> bool:
    """Whether `miss` names the edition's `word`, or the manuscript's word it is part of (one
    broken at a line end, or a note call set apart)."""
    stem = word.removesuffix(BREAK)
    return any(stem in name for name in (*miss.words, miss.found))


KINDS = st.sampled_from(["drop", "change", "double", "swap"])
PLACES = st.integers(-10**6, 10**6)  # a place in a list, counted from its end if negative


def place(number: int, start: int, end: int) -> int:
    """The place `number` stands for in `start`..`end`."""
    return start + number % (end - start)


def test_the_first_titles_editions_carry_every_word(title: Title) -> None:
    assert {name: compare(title.parts, edition.segments) for name, edition in title.editions.items()} == {
        "pdf": [], "epub": []}


@PROPERTY
@given(part=st.integers(0, 1000), number=PLACES, kind=KINDS, character=st.sampled_from(CHARACTERS),
       offset=st.integers(0, 40))
def test_any_change_to_the_manuscript_is_found(title: Title, part: int, number: int, kind: str, character: str,
                                               offset: int) -> None:
    parts = title.parts
    names = ["body", *sorted((name for name in parts if name.startswith("note ")), key=lambda n: int(n[5:]))]
    name = names[part % len(names)]
    words = parts[name]
    at = place(number, 0, len(words) - (1 if kind == "swap" else 0))
    if kind == "swap" and words[at] == words[at + 1]:
        return
    changed, word = mutate(words, at, kind, character, offset)
    for edition in title.editions.values():
        (miss,) = compare(parts | {name: changed}, edition.segments)
        assert miss.part == name and abs(miss.index - at) <= 1, str(miss)
        assert word in {*miss.words, miss.found}, str(miss)


@PROPERTY
@given(edition_name=st.sampled_from(["pdf", "epub"]), notes=st.booleans(), number=PLACES, kind=KINDS,
       character=st.sampled_from(CHARACTERS), offset=st.integers(0, 40))
def test_any_change_to_an_edition_is_found(title: Title, edition_name: str, notes: bool, number: int, kind: str,
                                           character: str, offset: int) -> None:
    parts, edition = title.parts, title.editions[edition_name]
    words = edition.stream(notes)
    if notes:
        start, end = 0, len(words)
    else:  # the body's words, between the title page and the reference list
        body = parts["body"]
        start = next(j for j in range(len(words)) if words[j:j + 5] == body[:5])
        end = next(j for j in range(len(words), start, -1) if words[j - 5:j] == body[-5:])
    at = place(number, start, end - (1 if kind == "swap" else 0))
    if kind == "swap" and words[at] == words[at + 1]:
        return
    changed, word = mutate(words, at, kind, character, offset)
    (miss,) = compare(parts, edition.mutated(notes, at, changed))
    assert miss.part in ({f"note {note(words, at)}", f"note {note(words, at + 1)}"} if notes else {"body"}), str(miss)
    assert named(miss, word) or (kind == "swap" and named(miss, words[at + 1])), str(miss)


NOTE_WITH_BLOCKS = """[^a]: The first note, with a citation of its own [@jones2019, pp. 3–4].

    > A passage quoted in the note.

    - a point in a list
    - another point

[^b]: The second note, with a numbered list:

    3. third item
    4. fourth item

    ```
    a line of code
    ```
"""


def test_a_notes_quotes_lists_and_code_are_printed_at_the_page_foot(tmp_path: Path) -> None:
    folder = tmp_path / "manuscript"
    shutil.copytree(FIXTURES / "mini", folder)
    (folder / "notes.md").write_text(NOTE_WITH_BLOCKS)
    built = build(folder, tmp_path / "dist")
    article = content.parse(manuscript.read(built.project))
    furniture = (templates.running_authors(built.project), built.project.short_title)
    segments = pdf_words(built.pdf.read_bytes(), built.project.journal.first_page, furniture)
    assert compare(expected(article), segments) == []
    notes = [word for segment in segments for word in segment.notes]
    assert {"quoted", "another", "fourth", "code"} <= set(notes)
    text = "".join(str(page.get_textpage().get_text_range()) for page in pypdfium2.PdfDocument(built.pdf))
    assert "3.\u2003third item" in text and "\u2022\u2003a point" in text
