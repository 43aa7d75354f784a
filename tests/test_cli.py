"""The command line: incremental builds, check, preview, clean, and one-line errors."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, Built

from bench.run import titles
from sats import pipeline
from sats.cli import main


def digests(folder: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in folder.iterdir() if p.is_file()}


def edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))


@pytest.fixture
def built_copy(manuscript_copy: Path, tmp_path: Path) -> tuple[Path, Path]:
    output = tmp_path / "dist"
    assert main(["build", str(manuscript_copy), "-o", str(output), "-q"]) == 0
    return manuscript_copy, output


def test_second_build_renders_nothing_and_touches_nothing(built_copy: tuple[Path, Path],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    folder, output = built_copy
    before = digests(output)
    capsys.readouterr()
    assert main(["build", str(folder), "-o", str(output)]) == 0
    assert "the editions are up to date" in capsys.readouterr().err
    assert digests(output) == before


def _build_without_weasyprint(folder: Path, output: Path) -> str:
    """Build in a fresh interpreter, which fails if WeasyPrint was imported; return its messages."""
    script = ("import sys; from sats.cli import main; code = main(sys.argv[1:]); "
              "sys.exit(3 if 'weasyprint' in sys.modules else code)")
    run = subprocess.run([sys.executable, "-c", script, "build", str(folder), "-o", str(output)],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    return run.stderr


def test_no_layout_without_need(built_copy: tuple[Path, Path]) -> None:
    """A no-op rebuild, and an EPUB rebuilt alone (its cover and the print pages cached),
    do not even load WeasyPrint."""
    folder, output = built_copy
    assert "up to date" in _build_without_weasyprint(folder, output)
    before = digests(output)
    (output / "testwriter-2024-a-small-test-article.epub").unlink()
    assert ".epub" in _build_without_weasyprint(folder, output)
    assert digests(output)["testwriter-2024-a-small-test-article.epub"][0] == before[
        "testwriter-2024-a-small-test-article.epub"][0]


def test_a_changed_note_rebuilds_and_force_rebuilds(built_copy: tuple[Path, Path],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    folder, output = built_copy
    notes = folder / "notes.md"
    notes.write_text(notes.read_text().replace("The second note.", "The second note, revised."))
    capsys.readouterr()
    assert main(["build", str(folder), "-o", str(output)]) == 0
    assert capsys.readouterr().err.startswith("built ")
    assert main(["build", str(folder), "-o", str(output), "--force", "--edition", "epub"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("built ") and ".epub" in err and ".pdf" not in err


def test_a_corrupt_cache_counts_as_empty(built_copy: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """Stamps, the kept parse and the kept cover, all damaged: a full build, as if none were kept."""
    folder, output = built_copy
    kept = sorted(path.name for path in (output / ".sats-cache").iterdir())
    assert kept == [f"testwriter-2024-a-small-test-article.{name}"
                    for name in ("article.json", "cover.png", "json", "typography.json")]
    for path in (output / ".sats-cache").iterdir():
        path.write_text("{not json")
    capsys.readouterr()
    assert main(["build", str(folder), "-o", str(output)]) == 0
    assert capsys.readouterr().err.startswith("built ")
    stamps = json.loads((output / ".sats-cache" / kept[2]).read_text())
    assert set(stamps) == {"pdf", "print", "epub", "article.json", "cover.png", "typography.json"}
    assert json.loads((output / ".sats-cache" / kept[0]).read_text())["pandoc-api-version"]


def test_an_edited_output_is_rebuilt(built_copy: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    folder, output = built_copy
    pdf = next(output.glob("*.pdf"))
    pdf.write_bytes(b"not a pdf")
    capsys.readouterr()
    assert main(["build", str(folder), "-o", str(output), "--edition", "pdf"]) == 0
    assert pdf.read_bytes().startswith(b"%PDF-")


def test_two_builds_are_byte_identical_wherever_the_sources_are(mini: Built, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "manuscript"
    shutil.copytree(mini.project.root, elsewhere)
    os.utime(elsewhere / "body.md", (0, 0))  # file dates do not matter either
    assert main(["build", str(elsewhere), "-o", str(tmp_path / "dist"), "-q"]) == 0
    for name in (*(mini.project.file(edition) for edition in pipeline.available(mini.project)),
                 mini.project.preflight_file):
        assert (tmp_path / "dist" / name).read_bytes() == (mini.output / name).read_bytes(), name


def test_check_validates_both_editions(mini: Built, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(mini.project.root), "-o", str(mini.output)]) == 0
    err = capsys.readouterr().err
    assert "EPUBCheck found 0 errors and warnings; words checked" in err
    assert "no problems, 0 warnings" in err


def test_check_fails_on_a_damaged_edition(built_copy: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    folder, output = built_copy
    body = folder / "body.md"
    body.write_text(body.read_text().replace("The text ends here.", "The text ends here, with new words."))
    capsys.readouterr()
    assert main(["check", str(folder), "-o", str(output)]) == 1
    assert "word check: body: word" in capsys.readouterr().err


def test_preview_writes_pages_and_a_contact_sheet(mini: Built, tmp_path: Path) -> None:
    output = tmp_path / "out"
    shutil.copytree(mini.output, output)
    assert main(["preview", str(mini.project.root), "-o", str(output), "-q"]) == 0
    folder = output / "preview" / mini.project.slug
    assert sorted(p.name for p in folder.iterdir()) == ["contact-sheet.png", "page-41.png"]
    assert (folder / "page-41.png").read_bytes()[:4] == b"\x89PNG"


def test_clean_removes_what_the_build_wrote(built_copy: tuple[Path, Path]) -> None:
    folder, output = built_copy
    (output / "unrelated.txt").write_text("keep me")
    assert main(["clean", str(folder), "-o", str(output), "-q"]) == 0
    assert sorted(p.name for p in output.rglob("*") if p.is_file()) == ["unrelated.txt"]


def test_help_documents_commands_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for word in ("build", "check", "preview", "watch", "clean", "exit codes:"):
        assert word in text
    assert main(["build", "--edition", "mobi"]) == 2


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: (f / "metadata.yaml").write_text("title: [unclosed\nlang: en\n"),
     "metadata.yaml:2: invalid YAML: expected ',' or ']', but got ':'"),
    (lambda f: (f / "metadata.yaml").write_text((f / "metadata.yaml").read_text() + "colour: blue\n"),
     "metadata.yaml:23: unknown key 'colour'; expected one of:"),
    (lambda f: edit(f / "metadata.yaml", "volume: 3", "volume: three"),
     "metadata.yaml:12: 'journal.volume' must be a whole number, got 'three'"),
    (lambda f: (f / "notes.md").unlink(), "metadata.yaml:18: 'notes': file not found: notes.md"),
    (lambda f: (f / "body.md").write_bytes(b"# Title\n\nBad \xff byte.\n"), "body.md:3: not valid UTF-8 text"),
    (lambda f: edit(f / "metadata.yaml", "body: body.md", "body: ../../etc/passwd"),
     "metadata.yaml:17: 'body' must name a file inside the manuscript folder, got '../../etc/passwd'"),
])
def test_mistakes_give_one_line_and_leave_dist_untouched(built_copy: tuple[Path, Path], change, message: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    folder, output = built_copy
    before = digests(output)
    change(folder)
    capsys.readouterr()
    assert main(["build", str(folder), "-o", str(output), "--force"]) == 1
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error, error
    assert digests(output) == before


def test_missing_manuscript_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", str(tmp_path / "nowhere"), "-o", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.strip().endswith("nowhere: manuscript folder not found")


def test_parallel_builds_make_what_one_at_a_time_makes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With -j, each title builds in its own process; a broken title is reported with its file
    and line, and the others are still built."""
    folders = titles(FIXTURES / "mini", tmp_path, 3)
    edit(folders[1] / "metadata.yaml", "date: 2024-03-01", "date: 1 March 2024")
    assert main(["build", *map(str, folders), "-o", str(tmp_path / "parallel"), "-j", "2"]) == 1
    err = capsys.readouterr().err
    assert "title-2/metadata.yaml:" in err and "'date' must be a date" in err
    assert err.count("built ") == 2
    edit(folders[1] / "metadata.yaml", "date: 1 March 2024", "date: 2024-03-01")
    assert main(["build", *map(str, folders), "-o", str(tmp_path / "parallel"), "-j", "0", "-q"]) == 0
    assert main(["build", *map(str, folders), "-o", str(tmp_path / "serial"), "-q"]) == 0
    parallel, serial = digests(tmp_path / "parallel"), digests(tmp_path / "serial")
    assert len(serial) == 3 * 4 and {name: d for name, (d, _) in parallel.items()} == {
        name: d for name, (d, _) in serial.items()}


def test_shards_share_the_titles_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folders = titles(FIXTURES / "mini", tmp_path, 3)
    shards = []
    for shard in ("1/2", "2/2"):
        assert main(["clean", *map(str, reversed(folders)), "-o", str(tmp_path / "dist"), "--shard", shard]) == 0
        shards.append(sorted(line.split()[4] for line in capsys.readouterr().err.splitlines()))
    assert shards == [[str(folders[0]), str(folders[2])], [str(folders[1])]]
    assert main(["build", "--shard", "3/2"]) == 2


def test_two_titles_with_one_slug_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        shutil.copytree(FIXTURES / "mini", folder)
    assert main(["build", str(first), str(second), "-o", str(tmp_path / "dist")]) == 1
    assert "two manuscripts have the slug" in capsys.readouterr().err
    assert not (tmp_path / "dist").exists()


def test_the_pdf_first_then_the_rest_makes_the_same_files(mini: Built, tmp_path: Path) -> None:
    """watch builds the PDF, then the press PDF and the EPUB from its pages without laying them
    out again; the files are those of one build."""
    first = pipeline.build(mini.project.root, tmp_path, pipeline.Options(editions=("pdf",)))
    assert first.rebuilt == ("pdf",)
    result = pipeline.build(mini.project.root, tmp_path)
    assert result.rebuilt == ("print", "epub")
    built = {name: d for name, (d, _) in digests(tmp_path).items()}
    assert built == {name: d for name, (d, _) in digests(mini.output).items() if not name.endswith(".html")}
    assert digests(tmp_path)[mini.pdf.name][1] < digests(tmp_path)[mini.epub.name][1]
