"""The word check's reading of a typeset page: broken words, real hyphens, notes in between."""

from __future__ import annotations

from sats.wordcheck import BREAK, compare


def test_a_word_broken_across_a_page_with_a_note_between() -> None:
    edition = ["Med", "denne", "type", f"gjensi{BREAK}", "8", "Skiftet", "fra", "323", "dige", "fiendebilder"]
    assert compare({"body": ["Med", "denne", "type", "gjensidige", "fiendebilder"]}, edition) == []


def test_a_real_hyphen_at_a_line_end() -> None:
    edition = ["at", f"NATO{BREAK}", "Russland-rådet", "(NRC)"]
    assert compare({"body": ["at", "NATO-Russland-rådet", "(NRC)"]}, edition) == []


def test_a_note_call_glued_to_its_word() -> None:
    assert compare({"body": ["hele", "regionen.", "For"]}, ["hele", "regionen.1", "For"]) == []


def test_a_changed_word_is_reported_with_its_context() -> None:
    (miss,) = compare({"body": ["hele", "regionen.", "For", "mindre"]}, ["hele", "regionen.", "Til", "mindre"])
    assert (miss.part, miss.index, miss.expected) == ("body", 2, "For")
    assert str(miss) == "body: word 3 «For» not found in order (manuscript: «hele regionen. For mindre»)"
