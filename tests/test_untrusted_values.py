"""Hostile values in the metadata, the bibliography and the printer's profile: one line each and
never a traceback, whatever they hold; no value forges a line of a report."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from sats import bibliography, cli, config, jats, pipeline, templates, yamlfile
from sats.cli import main
from sats.errors import Problem, SatsError
from sats.preflight import Report

PROPERTY = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
FORGED = "Approved: yes, by the printer"
METADATA = yaml.safe_load((FIXTURES / "mini" / "metadata.yaml").read_text())


def billion_laughs() -> str:
    """Nine levels of nine aliases: 387 million values to whoever expands them."""
    levels = ['lol0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join(levels) + "\n"


def test_an_alias_bomb_ends_before_it_is_expanded(manuscript_copy: Path) -> None:
    metadata = manuscript_copy / "metadata.yaml"
    metadata.write_text(metadata.read_text() + billion_laughs())
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(SatsError) as raised:
        config.load(manuscript_copy)
    elapsed, (_, peak) = time.perf_counter() - start, tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert str(raised.value).endswith("metadata.yaml:26: more than 20 aliases (*name)")
    assert elapsed < 0.5 and peak < 2_000_000, (elapsed, peak)


def test_the_issue_file_is_read_by_the_same_loader(tmp_path: Path) -> None:
    path = tmp_path / "issue.yaml"
    path.write_text("journal: Internasjonal Politikk\nvolume: 79\nissue: 3\nvolume: 80\n")
    with pytest.raises(SatsError, match=r"issue\.yaml:4: the key 'volume' is given twice in the same mapping$"):
        from sats import issue

        issue.load(path)


def test_aliases_within_bounds_are_read(manuscript_copy: Path) -> None:
    metadata = manuscript_copy / "metadata.yaml"
    text = metadata.read_text().replace("affiliation: Institute", "affiliation: &home Institute")
    metadata.write_text(text.replace("  - name: Bo Second", "  - name: Bo Second\n    affiliation: *home"))
    assert [author.affiliations for author in config.load(manuscript_copy).authors] == [("Institute of Fixtures",)] * 2


def test_a_licence_statement_may_span_lines_a_title_may_not(manuscript_copy: Path) -> None:
    metadata = manuscript_copy / "metadata.yaml"
    statement = "license:\n  statement: |\n    Published under CC BY 4.0.\n    Share and adapt.\n"
    metadata.write_text(metadata.read_text() + statement)
    assert config.load(manuscript_copy).license == config.License("Published under CC BY 4.0.\nShare and adapt.")
    metadata.write_text(metadata.read_text().replace("statement: |", "statement: |\n    Fine.\n  name: |"))
    with pytest.raises(SatsError) as raised:
        config.load(manuscript_copy)
    assert str(raised.value).endswith("metadata.yaml:26: 'license.name' must not hold a line break, "
                                      "got 'Published under CC BY 4.0.\\nShare and adapt.\\n'")


def test_a_bibliography_over_the_limit_is_refused(manuscript_copy: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    metadata = manuscript_copy / "metadata.yaml"
    metadata.write_text(metadata.read_text().replace("refs.bib", "refs.json"))
    entry = {"id": "smith2020", "type": "book", "title": "A Book About Things", "note": "x" * 1000}
    entries = [{**entry, "id": f"padding{index}"} for index in range(5200)]
    (manuscript_copy / "refs.json").write_text(json.dumps([entry, *entries]))
    assert main(["build", str(manuscript_copy), "-o", str(tmp_path / "dist")]) == 1
    assert capsys.readouterr().err.strip().endswith(
        "metadata.yaml:19: 'bibliography': refs.json is 5.6 MB: larger than the 5 MB allowed for a bibliography")


def test_a_profile_littlecms_cannot_use_is_named(tmp_path: Path) -> None:
    """A profile whose header and tag table are sound but whose tables into CMYK are garbage."""
    from sats import colour

    data = bytearray((FIXTURES / "mini" / "FOGRA39L.icc").read_bytes())
    count = int.from_bytes(data[128:132], "big")
    tags = {bytes(data[132 + 12 * i:136 + 12 * i]): (int.from_bytes(data[136 + 12 * i:140 + 12 * i], "big"),
                                                      int.from_bytes(data[140 + 12 * i:144 + 12 * i], "big"))
            for i in range(count)}
    for name in (b"B2A0", b"B2A1", b"B2A2"):
        offset, length = tags[name]
        data[offset:offset + length] = b"\xff" * length
    profile = tmp_path / "printer.icc"
    profile.write_bytes(bytes(data))
    assert config._icc_fault(profile) is None  # what the metadata's reading can see is sound
    with pytest.raises(SatsError) as raised:
        colour.Separation(profile).colours([(1.0, 0.0, 0.0)])
    assert str(raised.value).endswith("printer.icc: LittleCMS cannot convert colours into this ICC profile: "
                                      "cannot build transform")


def test_a_profile_description_cannot_forge_a_line_of_the_preflight_report(manuscript_copy: Path,
                                                                           tmp_path: Path) -> None:
    profile = manuscript_copy / "FOGRA39L.icc"
    data = profile.read_bytes()
    old = b"(from icc-profiles-free FOGRA39L.ti3)"
    assert data.count(old) == 1
    profile.write_bytes(data.replace(old, f"\n{FORGED}\n".encode().ljust(len(old))))
    output = tmp_path / "dist"
    assert main(["build", str(manuscript_copy), "-o", str(output), "--edition", "print", "-q"]) == 0
    report = next(output.glob("*.preflight.txt")).read_text()
    assert [line for line in report.splitlines() if FORGED in line] == [
        f"Profile:       FOGRA39L coated  {FORGED} (FOGRA39L.icc, the printer’s), relative colorimetric with "
        "black-point compensation"]


def test_the_plain_text_report_prints_each_value_on_one_line() -> None:
    report = Report(pages=2, trim=f"170 × 240 mm\n{FORGED}", profile=f"FOGRA39\r{FORGED}",
                    fonts=[f"Serif (embedded)\u2028{FORGED}"], images=[f"page 1: a.png\x85{FORGED}"],
                    problems=[Problem(f"ink\n{FORGED}", Path("/m/a.png"), 3)], root=Path("/m"))
    text = templates.render("reports/preflight.txt.j2", report=report, file=f"x.print.pdf\n{FORGED}",
                            page_range="1–2")
    assert [line for line in text.splitlines() if FORGED in line] == [
        f"Preflight of x.print.pdf {FORGED}", f"Trim box:      170 × 240 mm {FORGED}",
        f"Profile:       FOGRA39 {FORGED}", f"  Serif (embedded) {FORGED}", f"  page 1: a.png {FORGED}",
        f"  a.png:3: ink {FORGED}"]


def test_messages_and_log_lines_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert str(Problem(f"entry 'a\n{FORGED}' is unused\u202e", Path("refs.json"), 2)) == \
        f"refs.json:2: entry 'a {FORGED}' is unused"
    cli._configure_logging(argparse.Namespace(quiet=False, verbose=False))
    logging.getLogger("sats").warning("%s", f"first\n{FORGED}")
    assert capsys.readouterr().err == f"first {FORGED}\n"


def test_an_internal_error_is_one_line_and_debug_shows_its_traceback(monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    def broken(*_: Any) -> None:
        raise KeyError(f"a\n{FORGED}")

    monkeypatch.setattr(pipeline, "build", broken)
    assert main(["build", str(FIXTURES / "mini"), "-o", "/nonexistent-output"]) == 1
    assert capsys.readouterr().err == (f"internal error: KeyError: 'a\\n{FORGED}' — a bug in Sats; "
                                       "run with --debug for the traceback\n")
    assert main(["build", str(FIXTURES / "mini"), "-o", "/nonexistent-output", "--debug"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("Traceback (most recent call last):") and "in broken" in error
    assert error.endswith("run with --debug for the traceback\n")


# Property tests: whatever a value holds, loading the metadata ends in a project or one SatsError.

SCALARS = (st.text(st.characters(codec=None), max_size=30) | st.integers() | st.floats() | st.booleans()
           | st.none() | st.dates() | st.sampled_from(["", " ", "\x00", "\ud800", "\u202e", "\n", "1:2:3", "0x1f"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
KEY_PATHS = sorted({(key,) for key in config.TOP_KEYS} | {("journal", key) for key in METADATA["journal"]}
                   | {("journal", "last-page"), ("journal", "issn"), ("journal", "url")}
                   | {("author", 0, key) for key in config.AUTHOR_KEYS} | {("license", "url"), ("license", "statement")}
                   | {("crossref", "timestamp"), ("print", "max-ink"), ("print", "bleed")}, key=str)


def _set(data: Any, keys: tuple[Any, ...], value: Any) -> None:
    for key in keys[:-1]:
        data = data.setdefault(key, {}) if isinstance(data, dict) else data[key]
    data[keys[-1]] = value


def _render(project: config.Project) -> None:
    """The templates that print the metadata, on the project: markup that stays well formed."""
    context = pipeline.template_context(project, {"abstract": "<p>Abstract.</p>"}, None)
    etree.fromstring(f"<div>{templates.render('partials/front.html.j2', context)}</div>".encode())
    metadata = templates.render("epub/metadata.xml.j2", context)
    etree.fromstring(f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">{metadata}</metadata>'.encode())


@PROPERTY
@given(keys=st.sampled_from(KEY_PATHS), value=VALUES)
def test_any_metadata_value_loads_or_is_one_error(manuscript_copy: Path, keys: tuple[Any, ...], value: Any) -> None:
    data = json.loads(json.dumps(METADATA, default=str))
    _set(data, keys, value)
    (manuscript_copy / "metadata.yaml").write_text(yaml.safe_dump(data, allow_unicode=False))
    try:
        project = config.load(manuscript_copy)
    except SatsError as error:
        assert error.problems and all("\n" not in str(problem) for problem in error.problems)
        return
    _render(project)


ISSUE = {"journal": "Internasjonal Politikk", "volume": 79, "issue": 3, "year": 2021, "lang": "nb-NO",
         "first-page": 319, "title": "Russland og Vesten", "contents": True, "slug": "ip-79-3",
         "articles": [{"folder": "issue-short", "right-hand": False}]}


@PROPERTY
@given(key=st.sampled_from(sorted(ISSUE)), inner=st.booleans(), value=VALUES)
def test_any_issue_value_loads_or_is_one_error(tmp_path: Path, key: str, inner: bool, value: Any) -> None:
    from sats import issue

    if not (tmp_path / "issue-short").exists():
        shutil.copytree(FIXTURES / "issue-short", tmp_path / "issue-short")
    data = json.loads(json.dumps(ISSUE))
    if inner and key == "articles":
        data["articles"][0]["right-hand" if isinstance(value, bool) else "folder"] = value
    else:
        data[key] = value
    path = tmp_path / "issue.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=False))
    try:
        issue.load(path)
    except SatsError as error:
        assert error.problems and all("\n" not in str(problem) for problem in error.problems)


def test_the_issue_the_property_starts_from_loads(tmp_path: Path) -> None:
    from sats import issue

    shutil.copytree(FIXTURES / "issue-short", tmp_path / "issue-short")
    (tmp_path / "issue.yaml").write_text(yaml.safe_dump(ISSUE))
    assert issue.load(tmp_path / "issue.yaml").volume == 79


def test_the_metadata_the_property_starts_from_loads_and_renders(manuscript_copy: Path) -> None:
    data = json.loads(json.dumps(METADATA, default=str))
    (manuscript_copy / "metadata.yaml").write_text(yaml.safe_dump(data, allow_unicode=False))
    _render(config.load(manuscript_copy))


YAML_TOKENS = [*"{}[]&*!:-,?|>'\"#%@`<\\ \n\tab1.", "a: ", "- ", "&x ", "*x", "!!", "<<: ", "\\u", "\\0", "2024-02-30"]
YAML_SOUP = st.lists(st.sampled_from(YAML_TOKENS), max_size=40).map("".join)


@PROPERTY
@given(text=YAML_SOUP)
def test_any_yaml_text_loads_or_is_one_error(text: str) -> None:
    try:
        yamlfile.load(text, Path("metadata.yaml"))
    except SatsError as error:
        assert str(error).startswith("metadata.yaml") and "\n" not in str(error)


ENTRY_FIELDS = st.sampled_from(["type", "title", "author", "editor", "issued", "accessed", "page", "volume", "DOI",
                                "language", "URL", "custom", "container-title", "note"])


@PROPERTY
@given(fields=st.dictionaries(ENTRY_FIELDS, VALUES, max_size=4))
def test_any_csl_json_entry_loads_or_is_one_error(fields: dict[str, Any]) -> None:
    entry = {"id": "entry", "type": "book", **fields}
    try:
        bib = bibliography.load(Path("refs.json"), json.dumps([entry], default=str))
    except SatsError as error:
        assert "\n" not in str(error)
        return
    bib.incomplete()
    etree.tostring(jats.element_citation(bib.entries["entry"]))


def test_the_fixture_bibliographies_pass_the_shape_check() -> None:
    for path in sorted(FIXTURES.rglob("*.json")) + sorted(FIXTURES.rglob("*.bib")):
        if path.parent.name != "broken":
            assert bibliography.load(path, path.read_text()).entries, path


def test_a_biblatex_entry_type_pandoc_does_not_know_is_refused() -> None:
    text = "@book{known,\n  title = {A}\n}\n\n@manuscriptish{unknown,\n  title = {B}\n}\n"
    with pytest.raises(SatsError, match=r"^refs\.bib:5: entry 'unknown': @manuscriptish is not a BibLaTeX entry type$"):
        bibliography.load(Path("refs.bib"), text)


def test_braces_nested_too_deep_are_refused_before_pandoc() -> None:
    text = "@book{deep,\n  title = {" + "{" * 5000 + "A" + "}" * 5000 + "}\n}\n"
    start = time.perf_counter()
    with pytest.raises(SatsError, match=r"^refs\.bib:2: braces nested more than 20 levels deep$"):
        bibliography.load(Path("refs.bib"), text)
    assert time.perf_counter() - start < 0.1


def test_the_shipped_styles_pass_the_csl_check() -> None:
    from sats import csl

    styles = sorted(config.CSL_STYLES.glob("*.csl"))
    assert len(styles) == 2
    for style in styles:
        csl.check(style)
