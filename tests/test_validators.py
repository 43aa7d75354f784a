"""The reference validators (veraPDF for PDF/A-2a and PDF/UA-1, DAISY Ace for the EPUB), and the
accessibility of both editions where the validators do not look."""

from __future__ import annotations

from pathlib import Path

import pytest

from sats import check, validator


def test_verapdf_finds_no_failed_rule_in_the_archival_pdfs(verapdf_reports: dict[str, list[str]]) -> None:
    assert verapdf_reports["first_title"] == []
    assert verapdf_reports["mini"] == []


def test_verapdf_reports_each_claim_a_pdf_does_not_make(verapdf_reports: dict[str, list[str]]) -> None:
    press = verapdf_reports["mini press"]
    assert press[-2:] == ["not validated against PDF/A-2A: the PDF does not claim it",
                          "not validated against PDF/UA-1: the PDF does not claim it"]
    # Without a claim veraPDF falls back on PDF/A-1b, which the press PDF does not meet either.
    assert ("PDF/A-1B ISO 19005-1:2005 clause 6.7.11 test 1: The PDF/A version and conformance level of a "
            "file shall be specified using the PDF/A Identification extension schema (failed checks: 1)") in press


def test_ace_finds_no_violation_in_the_epubs(ace_reports: dict[str, list[str]]) -> None:
    assert ace_reports["first_title"] == []
    assert ace_reports["mini"] == []


def test_ace_reports_each_document_without_a_language(ace_reports: dict[str, list[str]]) -> None:
    damaged = ace_reports["mini without language"]
    assert damaged and all("html-has-lang (serious) at html" in line for line in damaged), damaged


def test_check_says_which_validators_it_could_not_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(validator, "VERAPDF", tmp_path / "verapdf")
    monkeypatch.setattr(validator, "ACE", tmp_path / "ace" / "node_modules" / ".bin" / "ace-cli")
    runs, notes = check.start_validators(tmp_path / "a.pdf", tmp_path / "a.epub")
    assert runs == []
    assert notes == [f"{tmp_path / 'a.pdf'}: veraPDF not run: veraPDF is not installed in {tmp_path / 'verapdf'}: "
                     "install it with `make validators`",
                     f"{tmp_path / 'a.epub'}: DAISY Ace not run: DAISY Ace is not installed in {tmp_path / 'ace'}: "
                     "install it with `make validators`"]
