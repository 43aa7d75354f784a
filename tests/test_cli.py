"""The command line: incremental builds, check, preview, clean, and one-line errors."""

from __future__ import annotations

import dataclasses
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
from sats import cache, pipeline, review, system
from sats.cli import main


def digests(folder: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in folder.iterdir() if p.is_file()}


def files(folder: Path) -> list[str]:
    """The files under `folder`, by their paths inside it."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


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


def _build_without(folder: Path, output: Path, modules: tuple[str, ...] = ("weasyprint",)) -> str:
    """Build in a fresh interpreter, which fails if one of `modules` was imported; return its messages."""
    script = ("import sys; from sats.cli import main; code = main(sys.argv[2:]); "
              "sys.exit(3 if set(sys.argv[1].split()) & set(sys.modules) else code)")
    run = subprocess.run([sys.executable, "-c", script, " ".join(modules), "build", str(folder), "-o", str(output)],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    return run.stderr


def test_no_layout_without_need(built_copy: tuple[Path, Path]) -> None:
    """A no-op rebuild loads no engine (it stays fast), and an EPUB rebuilt alone (its cover
    and the print pages cached) does not even load WeasyPrint."""
    folder, output = built_copy
    assert "up to date" in _build_without(folder, output, ("weasyprint", "pikepdf", "PIL", "pypdfium2"))
    before = digests(output)
    (output / "testwriter-2024-a-small-test-article.epub").unlink()
    assert ".epub" in _build_without(folder, output)
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
    assert set(stamps) == {"manuscript", "pdf", "print", "epub", "article.json", "cover.png", "typography.json"}
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


def test_clean_removes_what_sats_made_and_nothing_else(built_copy: tuple[Path, Path]) -> None:
    folder, output = built_copy
    slug = "testwriter-2024-a-small-test-article"
    assert main(["preview", str(folder), "-o", str(output), "-q"]) == 0
    assert main(["build", str(folder), "-o", str(output), "-q", "--keep-html"]) == 0
    mine = ["unrelated.txt", f"preview/{slug}/notes.txt", f".sats-cache/{slug}.notes.txt"]
    for name in mine:
        (output / name).write_text("the editor's, not Sats's")
    kept = [f".sats-cache/{slug}.{name}" for name in ("article.json", "cover.png", "typography.json", "json")]
    assert sorted(set(files(output)) - set(mine)) == sorted([*kept, f"preview/{slug}/contact-sheet.png",
        f"preview/{slug}/page-41.png", f"{slug}.epub", f"{slug}.pdf", f"{slug}.print.html", f"{slug}.print.pdf",
        f"{slug}.print.preflight.txt"])
    assert main(["clean", str(folder), "-o", str(output), "-q"]) == 0
    assert files(output) == sorted(mine)
    assert main(["clean", str(folder), "-o", str(output), "-q"]) == 0  # twice: nothing left to remove


def test_clean_leaves_empty_folders_of_its_own_behind_it(built_copy: tuple[Path, Path]) -> None:
    folder, output = built_copy
    assert main(["preview", str(folder), "-o", str(output), "-q"]) == 0
    assert main(["clean", str(folder), "-o", str(output), "-q"]) == 0
    assert list(output.iterdir()) == []


@pytest.mark.parametrize(("argv", "message"), [
    (["chek"], "'chek' is neither a command nor a manuscript folder: did you mean 'check'?"),
    (["biuld", "manuscript"], "'biuld' is neither a command nor a manuscript folder: did you mean 'build'?"),
    (["publish"], "'publish' is neither a command nor a manuscript folder: the commands are build, check, "
                  "preview, watch, clean"),
    (["build", "-j", "-1"], "argument -j/--jobs: '-1': N must be 0 (one per core) or more"),
    (["build", "-j", "two"], "argument -j/--jobs: 'two' is not a whole number"),
    (["build", "--shard", "3/2"], "argument --shard: '3/2': K must be between 1 and N"),
    (["clean", "--shard", "0/2"], "argument --shard: '0/2': K must be between 1 and N"),
    (["check", "--shard", "1"], "argument --shard: '1' is not K/N"),
])
def test_a_wrong_command_line_exits_2(argv: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # where no manuscript folder is: nothing may be built
    assert main(argv) == 2
    assert capsys.readouterr().err.strip().endswith(f"error: {message}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["build", "clean", "preview"])
def test_an_output_folder_inside_the_manuscript_is_refused(manuscript_copy: Path, command: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    before = sorted(manuscript_copy.rglob("*"))
    assert main([command, str(manuscript_copy), "-o", str(manuscript_copy / "dist")]) == 2
    assert capsys.readouterr().err.strip().endswith(
        f"error: the output folder {manuscript_copy / 'dist'} is inside the manuscript folder {manuscript_copy}: "
        "the editions would become part of the manuscript")
    assert sorted(manuscript_copy.rglob("*")) == before


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
    assert capsys.readouterr().err.strip() == (f"{first} and {second} have the same slug "
                                               "'testwriter-2024-a-small-test-article': their editions would "
                                               "overwrite each other")
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


def test_warnings_are_kept_with_the_build(built_copy: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """An up-to-date build says the warnings of the build that made it again, and --strict fails on them."""
    folder, output = built_copy
    bib = folder / "refs.bib"
    lines = bib.read_text().count("\n")
    bib.write_text(bib.read_text() + "\n@book{unused2021,\n  author = {Nobody, Ann},\n  title = {Never Cited},\n"
                                     "  publisher = {Fixture Press},\n  year = {2021}\n}\n")
    warning = f"{bib}:{lines + 2}: entry 'unused2021' is never cited"
    capsys.readouterr()
    assert main(["build", str(folder), "-o", str(output)]) == 0
    assert capsys.readouterr().err.splitlines()[0] == warning
    before = digests(output)
    assert main(["build", str(folder), "-o", str(output)]) == 0
    assert capsys.readouterr().err.splitlines()[:2] == [warning,
                                                       f"{folder}: the editions are up to date, printed pages 41"]
    assert main(["build", str(folder), "-o", str(output), "--strict", "--edition", "epub"]) == 1
    assert capsys.readouterr().err.splitlines() == [warning, warning]  # logged, then the error
    assert digests(output) == before


def test_keep_html_lays_out_up_to_date_editions(mini: Built, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """--keep-html on up-to-date editions lays the print edition out to write its HTML, and
    rewrites no edition."""
    output = tmp_path / "dist"
    shutil.copytree(mini.output, output)
    html = output / mini.project.html_file
    html.unlink()
    before = digests(output)
    capsys.readouterr()
    assert main(["build", str(mini.project.root), "-o", str(output), "--keep-html"]) == 0
    assert "mini: the editions are up to date, printed pages 41\n" in capsys.readouterr().err
    assert html.read_bytes() == (mini.output / html.name).read_bytes()
    assert {name: d for name, d in digests(output).items() if name != html.name} == before


def test_verbose_shows_sats_stages_and_nothing_of_the_libraries(built_copy: tuple[Path, Path]) -> None:
    folder, output = built_copy
    run = subprocess.run([sys.executable, str(ROOT / "build.py"), "build", str(folder), "-o", str(output), "-v",
                          "--force", "--edition", "pdf"], capture_output=True, text=True, check=True)
    stages = [line.split()[0] for line in run.stderr.splitlines()]
    assert stages[:4] == ["load", "read", "parse", "layout"], run.stderr
    assert "pikepdf" not in run.stderr


def _tool_copy(folder: Path) -> Path:
    """A copy of Sats (its code, templates and styles) to change without touching the real one."""
    for name in ("sats", "templates", "styles"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "build.py", folder)
    return folder


# A file of each kind that shapes the editions, and the editions it shapes.
SHAPES = [
    ("sats/finishing.py", pipeline.EDITIONS),
    ("sats/templates.py", pipeline.EDITIONS),
    ("templates/pdf/pdfx.xmp.j2", pipeline.EDITIONS),
    ("templates/partials/front.html.j2", pipeline.EDITIONS),
    ("templates/reports/preflight.txt.j2", ("print",)),
    # The fixture names its own profile for the press; the shipped one is the archival PDF's DefaultCMYK.
    ("styles/icc/FOGRA39L.icc", ("pdf", "print")),
    ("templates/epub/metadata.xml.j2", ("epub",)),
    ("templates/jats/front.xml.j2", ("jats", "crossref")),
    ("templates/crossref/deposit.xml.j2", ("crossref",)),
    ("styles/print.css", pipeline.EDITIONS),
    ("styles/epub.css", ("epub",)),
    ("styles/cover.css", ("epub",)),
    ("styles/fonts/SourceSerif4-Regular.ttf", pipeline.EDITIONS),
    ("styles/csl/norsk-apa-manual.csl", pipeline.EDITIONS),
]


def test_every_file_of_sats_is_in_the_cache_key() -> None:
    keyed = {file for paths in (*cache.DEPENDENCIES.values(), cache.ISSUE) for path in paths
             for file in cache._files(path)}
    shipped = {*ROOT.glob("sats/*.py"), *(p for p in (ROOT / "templates").rglob("*") if p.is_file()),
               *(p for p in (ROOT / "styles").rglob("*") if p.is_file())}
    reviewing = {file for path in review.FILES for file in cache._files(path)}  # no edition's input
    assert reviewing and shipped - keyed == reviewing


def test_a_change_to_any_input_rebuilds_the_editions_it_shapes(tmp_path: Path) -> None:
    tool = _tool_copy(tmp_path / "tool")
    script = ("import json, sys; from pathlib import Path; from sats import cache, config; "
              "print(json.dumps(cache.inputs_digests(config.load(Path(sys.argv[1])))))")

    def inputs() -> dict[str, str]:
        run = subprocess.run([sys.executable, "-c", script, str(FIXTURES / "mini")], cwd=tool, capture_output=True,
                             text=True, check=True)
        return json.loads(run.stdout)  # type: ignore[no-any-return]

    last = inputs()
    for name, editions in SHAPES:
        with (tool / name).open("ab") as file:
            file.write(b"\n")
        now = inputs()
        assert tuple(e for e in now if now[e] != last[e]) == editions, name
        last = now


@pytest.mark.parametrize("library", ["pikepdf", "fonttools", "pillow", "weasyprint", "pypandoc-binary", "pydyf"])
def test_a_new_version_of_a_library_rebuilds_the_editions(mini: Built, tmp_path: Path, library: str) -> None:
    """A distribution of another version, first on the path, as after an upgrade."""
    import importlib

    assert library in cache.distributions() and "pytest" not in cache.distributions()
    before = cache.inputs_digests(mini.project)
    upgrade = tmp_path / f"{library.replace('-', '_')}-999.0.dist-info"
    upgrade.mkdir()
    (upgrade / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {library}\nVersion: 999.0\n")
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    try:
        cache.distributions.cache_clear()
        cache._environment.cache_clear()
        assert cache.distributions()[library] == "999.0"
        after = cache.inputs_digests(mini.project)
    finally:
        sys.path.remove(str(tmp_path))
        importlib.invalidate_caches()
        cache.distributions.cache_clear()
        cache._environment.cache_clear()
    assert all(after[edition] != before[edition] for edition in pipeline.EDITIONS)
    assert cache.inputs_digests(mini.project) == before


def test_another_system_harfbuzz_rebuilds_the_editions(mini: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    before = cache.inputs_digests(mini.project)
    elsewhere = tuple(dataclasses.replace(library, file=f"{library.file}.elsewhere")
                      if "harfbuzz-subset" in library.file else library for library in system.LIBRARIES)
    monkeypatch.setattr(system, "LIBRARIES", elsewhere)
    try:
        system.state.cache_clear()
        cache._environment.cache_clear()
        assert "libharfbuzz-subset.so.0.elsewhere missing" in system.state()
        after = cache.inputs_digests(mini.project)
    finally:
        system.state.cache_clear()
        cache._environment.cache_clear()
    assert all(after[edition] != before[edition] for edition in pipeline.EDITIONS)


def test_an_edit_of_sats_itself_rebuilds(tmp_path: Path) -> None:
    """After an edit of Sats's finishing, a build no longer says «up to date» over the old files."""
    tool = _tool_copy(tmp_path / "tool")
    command = [sys.executable, str(tool / "build.py"), "build", str(FIXTURES / "mini"), "-o", str(tmp_path / "dist")]
    subprocess.run(command, capture_output=True, check=True)
    with (tool / "sats" / "finishing.py").open("a") as file:
        file.write("\n# An edit.\n")
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    assert run.stderr.startswith("built ") and ".print.pdf" in run.stderr
    assert "up to date" in subprocess.run(command, capture_output=True, text=True, check=True).stderr


def test_the_setup_names_the_package_of_a_missing_library(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    present = system.Library("libc.so.6", "libc6")
    monkeypatch.setattr(system, "LIBRARIES", (present,))
    assert system.main() == 0
    assert capsys.readouterr().err == ""
    subsetter = system.Library("libharfbuzz-subset.so.404", "libharfbuzz-subset0", required=False)
    monkeypatch.setattr(system, "LIBRARIES", (present, system.Library("libpango-1.0.so.404", "libpango-1.0-0"),
                                              subsetter))
    assert system.main() == 1
    assert capsys.readouterr().err == (
        "libpango-1.0.so.404 not found: WeasyPrint needs it; install it with: apt-get install libpango-1.0-0\n"
        "libharfbuzz-subset.so.404 not found: WeasyPrint subsets fonts with it (recommended); install it with: "
        "apt-get install libharfbuzz-subset0\n")
    monkeypatch.setattr(system, "LIBRARIES", (present, subsetter))  # recommended, not needed
    assert system.main() == 0


def test_without_the_system_harfbuzz_subsetter(mini: Built, tmp_path: Path) -> None:
    """Where WeasyPrint cannot load libharfbuzz-subset, it subsets fonts with fontTools: the tests
    pass (two builds byte-identical among them), and the PDFs differ from those made with it
    while the EPUB does not (README)."""
    hidden = {**os.environ, "PYTHONPATH": str(Path(__file__).parent / "without_harfbuzz_subset"),
              "WITHOUT_HARFBUZZ_SUBSET_REPORT": "1"}
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            f"{__file__}::test_two_builds_are_byte_identical_wherever_the_sources_are"],
                           cwd=ROOT, env=hidden, capture_output=True, text=True, check=False)
    assert tests.returncode == 0, tests.stdout
    assert "1 passed" in tests.stdout
    assert tests.stderr.strip().endswith("found-by-weasyprint=False")
    build = subprocess.run([sys.executable, str(ROOT / "build.py"), "build", str(mini.project.root), "-o",
                            str(tmp_path), "-q"], env=hidden, capture_output=True, text=True, check=True)
    assert build.stderr.strip().endswith("found-by-weasyprint=False")
    subsetter = "libharfbuzz-subset.so.0 missing" not in system.state()
    for edition in ("pdf", "print", "epub"):  # the fixture has no ISSN, so no JATS file nor deposit
        name = mini.project.file(edition)
        same = (tmp_path / name).read_bytes() == (mini.output / name).read_bytes()
        assert same == (edition == "epub" or not subsetter), edition


def test_the_preflights_findings_are_kept_with_the_press_pdf(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The press PDF's preflight findings are its build's warnings: said again when it is up to
    date, and fatal with --strict then too."""
    folder = FIXTURES / "colour-figures"
    assert main(["build", str(folder), "-o", str(tmp_path), "--edition", "print"]) == 0
    findings = [line for line in capsys.readouterr().err.splitlines() if ": page " in line]
    assert len(findings) == 3
    assert main(["build", str(folder), "-o", str(tmp_path), "--edition", "print", "--strict"]) == 1
    assert capsys.readouterr().err.splitlines()[-3:] == findings
