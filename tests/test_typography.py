"""The typographic report and its fixes: each fault found at its page and words, on plain
layouts made here and on the real layout of a manuscript written to provoke them; notes on
their calls' pages; the fixes keep the text."""

from __future__ import annotations

import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, Built

from sats import check, config, content, manuscript, pipeline, typography
from sats.cli import main
from sats.errors import SatsError
from sats.typography import Fault, Fixes, Layout, Line, Page
from sats.wordcheck import BREAK, pdf_pages

FOOT = 600.0  # where the main text of the made-up pages may end
LEADING = 13.5


def line(page: int, block: str, text: str, row: int, **kwargs: object) -> Line:
    """A line of a made-up page, `row` lines below the top."""
    top = 100 + row * LEADING
    return Line(page, block, text, top, top + LEADING, kwargs.pop("right", 400.0), 400.0,  # type: ignore[arg-type]
                **kwargs)  # type: ignore[arg-type]


def foot_row(rows_from_foot: int = 1) -> int:
    return int((FOOT - 100) / LEADING) - rows_from_foot


def layout(*lines: Line, pages: int = 2, notes: dict[int, tuple[str, ...]] | None = None) -> Layout:
    return Layout(tuple(Page(FOOT, LEADING, (notes or {}).get(index, ()), note_room=280)
                        for index in range(pages)), lines, first_page=41)


def found(made: Layout) -> list[str]:
    return [str(fault) for fault in typography.report(made)]


def full_page(page: int, block: str, rows: int = foot_row() + 1) -> list[Line]:
    return [line(page, block, "words of a full page", row, justified=True) for row in range(rows)]


def test_an_overfull_line_is_found_at_its_page_and_word() -> None:
    made = layout(line(0, "p1", "a long token 27182818284590452353602874713526624977", 0, right=405.25), pages=1)
    assert found(made) == ["page 41: overfull: «27182818284590452353602874713526624977» (5.2 pt past the measure)"]


def test_a_loose_line_is_found() -> None:
    made = layout(line(0, "p1", "a line before a long compound", 0, stretch=0.4, justified=True),
                  line(0, "p1", "grenseoverskridende, internasjonalt fenomen.", 1, justified=True), pages=1)
    assert found(made) == ["page 41: loose: «a line before a long compound» (word spaces 0.40 em wider)"]


def test_a_hyphen_across_a_page_is_found_with_the_whole_word() -> None:
    lines = full_page(0, "p1", foot_row(2))
    made = layout(*lines, line(0, "p2", "i det postsovjetiske området og", foot_row(2)),
                  line(0, "p2", "etablerte i 2003 «Den kollekti\u2010", foot_row(), hyphenated=True),
                  line(1, "p2", "ve sikkerhetspakten» i samme område, med", 0), line(1, "p2", "henvisning.", 1))
    (fault,) = typography.report(made)
    assert str(fault) == "page 41: hyphen across a page: «kollekti\u2010 / ve» (the word continues on the next page)"
    assert typography.fixes((fault,)) == Fixes(unhyphenated=frozenset({("p2", "kollektive")}),
                                               tighter=frozenset({"p2"}))


def test_three_hyphens_in_a_row_are_a_ladder() -> None:
    made = layout(line(0, "p1", "the first line ends in a frag\u2010", 0, hyphenated=True),
                  line(0, "p1", "ment and so does the sec\u2010", 1, hyphenated=True),
                  line(0, "p1", "ond, and the third is a ladder\u2010", 2, hyphenated=True),
                  line(0, "p1", "ing line.", 3), pages=1)
    (fault,) = typography.report(made)
    assert str(fault) == "page 41: hyphen ladder: «ladder\u2010» (3 hyphenated line ends in a row)"
    assert fault.word == "second"  # a fix keeps the middle one whole


def test_a_paragraph_ending_on_a_fragment_is_a_runt() -> None:
    made = layout(line(0, "p1", "et diplomatisk ut\u2010", 0, hyphenated=True, justified=True),
                  line(0, "p1", "spill.", 1, justified=True), pages=1)
    assert found(made) == ["page 41: runt: «ut\u2010 spill.» (the paragraph ends on the end of a hyphenated word)"]


def test_a_widow_and_an_orphan_are_found() -> None:
    lines = [*full_page(0, "p1", foot_row()), line(0, "p2", "the first line of a paragraph", foot_row()),
             *(line(1, "p2", "more of it", row) for row in range(3)),
             line(1, "p3", "a paragraph that runs to the foot", 3),
             *(line(1, "p3", "of the page", row) for row in range(4, foot_row() + 1)),
             line(2, "p3", "and leaves its last line alone.", 0)]
    assert found(layout(*lines, pages=3)) == [
        "page 41: orphan: «the first line of a paragraph» (a paragraph's first line alone at the foot of a page)",
        "page 43: widow: «and leaves its last line alone.» (a paragraph's last line alone at the top of a page)"]


def test_a_heading_at_the_foot_is_found() -> None:
    made = layout(*full_page(0, "p1", foot_row()), line(0, "h", "Conclusion", foot_row(), heading=True),
                  line(1, "p2", "follows.", 0))
    assert found(made) == ["page 41: heading at the foot: «Conclusion»"]


def test_a_short_page_is_found_with_why_it_is_short() -> None:
    made = layout(*full_page(0, "p1", foot_row(5)), line(1, "p2", "the call of a long note", 0, calls=("fn3",)),
                  line(1, "fn3", "A long note.", 20, in_note=True), notes={1: ("fn3",)})
    assert found(made) == [
        "page 41: short page: «a full page» (5.0 lines short; the call of note 3 moved on with its note)"]


def test_a_page_is_not_short_before_a_heading_a_figure_or_at_the_end() -> None:
    before_heading = layout(*full_page(0, "p1", foot_row(5)), line(1, "h", "Conclusion", 0, heading=True),
                            line(1, "p2", "follows.", 1))
    at_the_end = layout(*full_page(0, "p1", foot_row(5)), pages=1)
    before_figure = Layout((Page(FOOT, LEADING), Page(FOOT, LEADING, opens_whole=True)),
                           tuple(full_page(0, "p1", foot_row(5))), first_page=41)
    assert found(before_heading) == found(at_the_end) == found(before_figure) == []


def test_a_note_off_its_page_is_found() -> None:
    made = layout(*full_page(0, "p1", foot_row()), line(0, "p2", "a call", foot_row(), calls=("fn3",)),
                  line(1, "p3", "text", 0), line(1, "fn3", "The note.", 30, in_note=True), notes={1: ("fn3",)})
    (fault,) = typography.report(made)
    assert str(fault) == "page 41: note off its page: «note 3» (its call is here, the note on page 42)"
    assert typography.fixes((fault,)).new_page == {"p2"}  # the paragraph of its call


def test_a_note_taller_than_its_room_asks_for_more() -> None:
    tall = [line(1, "fn3", "A very long note.", row, in_note=True) for row in range(25)]
    made = layout(*full_page(0, "p1", foot_row()), line(0, "p2", "a call", foot_row(), calls=("fn3",)),
                  line(1, "p3", "text", 0), *tall, notes={1: ("fn3",)})
    (fault,) = typography.report(made)
    assert str(fault) == ("page 41: note off its page: «note 3» (its call is here, the note on page 42; "
                          "it is 338 pt tall, the notes may take 280 pt)")
    assert typography.fixes((fault,)).long_notes


def test_hard_faults_fail_a_strict_build(tmp_path: Path) -> None:
    fault = Fault("hyphen across a page", 321, "kollekti\u2010 / ve", "the word continues on the next page")
    report = pipeline.Typesetting((fault,), (fault,), 4)
    faults = pipeline._report_typography(tmp_path / "a.pdf", report)
    pipeline._warn(faults, strict=False)
    with pytest.raises(SatsError) as raised:
        pipeline._warn(faults, strict=True)
    assert str(raised.value) == f"{tmp_path / 'a.pdf'}: page 321: hyphen across a page: «kollekti\u2010 / ve» " \
                                "(the word continues on the next page)"


def test_fixes_mark_the_html_and_keep_its_text() -> None:
    html = ('<!DOCTYPE html><html><body><p><span data-anchor="p1"></span>Den kollektive pakten, '
            '<em>den kollektive</em>.<a class="note-call" href="#fn1">1</a>'
            '<span class="footnote" role="doc-footnote" id="fn1">Den kollektive noten.</span> Kollektive.</p>'
            '<p><span data-anchor="p2"></span>Kollektive.</p></body></html>')
    fixes = Fixes(unhyphenated=frozenset({("p1", "kollektive")}), tighter=frozenset({"p2"}), long_notes=True)
    fixed = typography.apply(html, fixes)
    text = re.sub(r"<[^>]+>", "", html.replace("<!DOCTYPE html>", ""))
    assert re.sub(r"<[^>]+>", "", fixed.replace("<!DOCTYPE html>", "")).strip() == text
    assert fixed.count('<span class="fix-whole">kollektive</span>') == 2  # in p1's text, not its note's
    assert '<span class="footnote" role="doc-footnote" id="fn1">Den kollektive noten.</span>' in fixed
    assert '<p class="fix-tight"><span data-anchor="p2"></span>Kollektive.</p>' in fixed
    assert '<html class="fix-long-notes">' in fixed


# A manuscript written to provoke the faults: running text of long words, a token too long for
# the measure, short notes all through it, one of fifteen lines and one taller than the notes
# may take on a page.
WORDS = ["the", "article", "considers", "how", "institutions", "respond", "to", "uncertainty", "and", "how",
         "governments", "negotiate", "agreements", "across", "borders", "while", "parliaments", "deliberate",
         "responsibility", "accountability", "international", "cooperation", "transformation", "consequences",
         "interpretation", "development", "a", "of", "in", "to", "is", "was", "for", "with", "as", "by", "on", "at",
         "it"]
TOKEN = "27182818284590452353602874713526624977572470936999595749669676277240766303535475945713821785"


def sentences(rng: random.Random, count: int) -> str:
    return " ".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 18))).capitalize() + "."
                    for _ in range(count))


@dataclass(frozen=True)
class Provoked:
    """The provoking manuscript typeset: its report before and after the fixes, its PDF, and the
    PDF of its first layout."""

    project: config.Project
    typesetting: pipeline.Typesetting
    pdf: Path
    first_layout: Path
    notes: tuple[str, ...]


def provoking(folder: Path) -> tuple[str, ...]:
    """Write the provoking manuscript into `folder`; return its notes' texts in order."""
    shutil.copytree(FIXTURES / "mini", folder)
    rng, notes_rng = random.Random(7), random.Random(8)
    body, notes = ["# Introduction", ""], []
    for index in range(40):
        text = sentences(rng, rng.randint(3, 7))
        if index == 1:
            text += f" The number {TOKEN} ends it."
        if index % 4 == 2 or index in (8, 30):
            text += f"[^n{index}]"
            notes.append(sentences(notes_rng, {8: 15, 30: 28}.get(index, 1)))
        body += [text, ""]
    (folder / "body.md").write_text("\n".join(body))
    (folder / "notes.md").write_text("\n\n".join(f"[^n{i}]: {note}" for i, note in
                                                zip([i for i in range(40) if i % 4 == 2 or i in (8, 30)], notes,
                                                    strict=True)) + "\n")
    return tuple(notes)


@pytest.fixture(scope="session")
def provoked(tmp_path_factory: pytest.TempPathFactory) -> Provoked:
    """The provoking manuscript, typeset with its fixes and without."""
    folder = tmp_path_factory.mktemp("provoking") / "manuscript"
    notes = provoking(folder)
    project = config.load(folder)
    parts = content.html_parts(content.parse(manuscript.read(project)))
    written, _, _, typesetting = pipeline.typeset(project, parts, {})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "RELAYOUTS", 0)
        first_layout = pipeline.typeset(project, parts, {})[0]
    paths = folder.parent / "provoked.pdf", folder.parent / "first-layout.pdf"
    for path, data in zip(paths, (written.data, first_layout.data), strict=True):
        path.write_bytes(data)
    return Provoked(project, typesetting, *paths, notes)


def test_the_report_finds_the_faults_of_a_real_layout(provoked: Provoked) -> None:
    found = [str(fault) for fault in provoked.typesetting.found if fault.hard]
    assert found == [
        f"page 41: overfull: «{TOKEN}» (82.7 pt past the measure)",
        "page 41: hyphen across a page: «coopera\u2010 / tion.» (the word continues on the next page)",
        "page 46: hyphen across a page: «govern\u2010 / ments» (the word continues on the next page)",
        "page 49: widow: «uncertainty respond parliaments.» (a paragraph's last line alone at the top of a page)",
        "page 49: hyphen across a page: «arti\u2010 / cle» (the word continues on the next page)",
        "page 49: note off its page: «note 9» (its call is here, the note on page 50; "
        "it is 315 pt tall, the notes may take 281 pt)",
        "page 50: hyphen across a page: «de\u2010 / liberate» (the word continues on the next page)",
        "page 51: widow: «liberate uncertainty to was at for deliberate uncertainty uncertainty.» "
        "(a paragraph's last line alone at the top of a page)",
        "page 51: hyphen across a page: «Con\u2010 / sequences» (the word continues on the next page)"]
    # The pages and words are those of the first layout's PDF.
    pages = pdf_pages(provoked.first_layout.read_bytes(), 41, ("Ada Testwriter and Bo Second", "A Small Test Article"))
    assert TOKEN in pages[0]
    for page, fragment, rest in ((41, "coopera", "tion."), (46, "govern", "ments"), (49, "arti", "cle")):
        assert re.search(rf"(?<!\w){fragment}{BREAK}(?!{rest})", pages[page - 41])  # not continued on the page
        assert pages[page - 40].startswith(rest)
    assert pages[49 - 41].startswith("uncertainty respond parliaments.")


def test_the_fixes_leave_no_hard_fault(provoked: Provoked) -> None:
    before = typography.counts(provoked.typesetting.found)
    assert before["overfull"] and before["hyphen across a page"] and before["note off its page"]
    assert [str(fault) for fault in provoked.typesetting.kept if fault.hard] == []
    assert provoked.typesetting.layouts <= 1 + pipeline.RELAYOUTS


def test_every_note_is_on_its_calls_page_in_the_pdf(provoked: Provoked) -> None:
    assert check.notes_off_their_page(provoked.first_layout, 41) == [
        "page 49: note off its page: «note 9» (its call is here, the note on page 50)"]
    assert check.notes_off_their_page(provoked.pdf, 41) == []


def test_a_note_called_at_a_page_foot_moves_on_with_its_call(provoked: Provoked) -> None:
    assert "page 45: short page: «agreements deliberate accountability» (2.3 lines short; the call of note 7 " \
           "moved on with its note)" in [str(fault) for fault in provoked.typesetting.found]


def test_every_notes_text_is_in_the_pdf_in_order(provoked: Provoked) -> None:
    text = re.sub(r"[\s\u2010]", "", "".join(pdf_pages(provoked.pdf.read_bytes())))
    position = 0
    for note in provoked.notes:
        position = text.index(re.sub(r"\s", "", note), position)
    fifteen = provoked.notes[2]
    page = next(page for page in pdf_pages(provoked.pdf.read_bytes(), 41) if fifteen[:40] in page)
    lines = page[page.index(fifteen[:40]):].splitlines()
    assert fifteen[-30:] in lines[14]  # a note of fifteen lines, on one page


def test_check_reports_the_typography_of_the_built_pdf(first_title: Built, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(ROOT / "manuscript"), "-o", str(first_title.output)]) == 0
    err = capsys.readouterr().err
    assert re.search(r"pdf: 0 hard and \d+ soft typographic faults.*; notes on their calls' pages checked", err), err
    assert "hyphen across a page" not in err and "overfull" not in err
