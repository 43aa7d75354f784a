"""Broken and hostile manuscripts: one clear line each, nothing leaked, the last good build kept.

Each folder under tests/broken/ holds the files that differ from the small fixture manuscript,
`expected.txt` (the error line's end), optionally `symlinks.txt` ("name -> target" lines) and
`sparse.txt` ("name size" lines: a file of that size with no data, made in an instant).
`{CANARY}` stands for a file outside the project whose content must appear in no output, and
`{PORT}` for the port of a listener on the loopback interface that no build may connect to.

Each case is built by `build.py` in a process of its own, so that its exit status, its time and
the memory of its whole process tree (the largest process, read from the kernel) are its own;
as many cases are built at once as the machine has cores, each beside its own listener.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import FIXTURES

from sats.cli import main

ROOT = Path(__file__).resolve().parent.parent
BROKEN = Path(__file__).resolve().parent / "broken"
CASES = sorted(path.name for path in BROKEN.iterdir() if path.is_dir())
SECRET = "CANARY-7f3a9c-do-not-publish"
MAX_SECONDS = 30  # a hostile build's wall-clock time, on a busy machine (README, «Limits»)
MAX_MEMORY = 1200  # MiB: the largest process of a hostile build's tree (README, «Limits»)


class Listener:
    """A TCP server on the loopback interface that records every connection made to it."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.connections: list[tuple[str, int]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, address = self.socket.accept()
            except OSError:
                return
            self.connections.append(address)
            connection.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.socket.close()


@pytest.fixture(scope="module")
def good_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("good") / "dist"
    assert main(["build", str(FIXTURES / "mini"), "-o", str(output), "-q"]) == 0
    return output


def prepare(case: str, workspace: Path, port: int = 9) -> tuple[Path, Path]:
    """The fixture manuscript with the case's files laid over it, and the canary beside it."""
    canary = workspace / "canary.txt"
    canary.write_text(SECRET)
    folder = workspace / "manuscript"
    shutil.copytree(FIXTURES / "mini", folder)
    for source in (BROKEN / case).iterdir():
        if source.name in ("expected.txt", "symlinks.txt", "sparse.txt"):
            continue
        data = source.read_bytes().replace(b"{CANARY}", str(canary).encode()).replace(b"{PORT}", str(port).encode())
        (folder / source.name).write_bytes(data)
    links = BROKEN / case / "symlinks.txt"
    for line in links.read_text().splitlines() if links.exists() else ():
        name, target = line.split(" -> ")
        (folder / name).unlink(missing_ok=True)
        (folder / name).symlink_to(target.replace("{CANARY}", str(canary)))
    sparse = BROKEN / case / "sparse.txt"
    for line in sparse.read_text().splitlines() if sparse.exists() else ():
        name, size = line.split()
        with (folder / name).open("wb") as file:
            file.truncate(int(size))
    return folder, canary


def contents(output: Path) -> bytes:
    """Everything in the output folder, EPUBs unpacked."""
    data = b""
    for path in sorted(output.rglob("*")):
        if path.is_file():
            data += path.read_bytes()
            if path.suffix == ".epub":
                with zipfile.ZipFile(path) as archive:
                    data += b"".join(archive.read(name) for name in archive.namelist())
    return data


def snapshot(folder: Path) -> dict[str, str]:
    """Every name under `folder` (links not followed) with what it is: a link's target, a
    file's size and modification time, or a folder."""
    found = {}
    for path in sorted(folder.rglob("*")):
        status = path.lstat()
        what = f"-> {os.readlink(path)}" if path.is_symlink() else \
            "folder" if path.is_dir() else f"{status.st_size} {status.st_mtime_ns}"
        found[str(path.relative_to(folder))] = what
    return found


def built(folder: Path, output: Path, workspace: Path) -> tuple[int, str, float, float]:
    """Build `folder` into `output` in a process of its own (its temporary files in a folder of
    the workspace); its exit status, what it printed, its seconds, and the largest resident
    memory of its process tree in MiB (the kernel's account of the process and of every child it
    waited for)."""
    temporary = workspace / "tmp"
    temporary.mkdir()
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "build", str(folder), "-o", str(output),
                                "--force"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=workspace,
                               env={**os.environ, "TMPDIR": str(temporary)})
    timer = threading.Timer(MAX_SECONDS * 4, process.kill)
    timer.start()
    assert process.stdout is not None
    printed = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    return process.returncode, printed, time.monotonic() - started, usage.ru_maxrss / 1024


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 80
    for prefix in ("path-", "bomb-", "hang-", "network-", "slug-"):
        assert sum(case.startswith(prefix) for case in CASES) >= 5, prefix


@dataclass(frozen=True)
class Outcome:
    """A hostile case built beside its canary and its listener, and the workspace around it."""

    workspace: Path
    canary: Path
    port: int
    before: dict[Path, str]  # the good output's files and their digests
    around: dict[str, str]  # the workspace outside the output folder, before the build
    code: int
    printed: str
    seconds: float
    memory: float
    connections: int


def digests(output: Path) -> dict[Path, str]:
    """Every file of `output` and its SHA-256."""
    return {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in output.rglob("*") if path.is_file()}


def outside(workspace: Path) -> dict[str, str]:
    """The workspace's snapshot, its output folder aside."""
    return {name: what for name, what in snapshot(workspace).items() if not name.startswith("dist")}


def attack(case: str, workspace: Path, good_build: Path) -> Outcome:
    """Build `case` in `workspace` beside a canary and a listener of its own."""
    listener = Listener()
    try:
        folder, canary = prepare(case, workspace, listener.port)
        output = workspace / "dist"
        shutil.copytree(good_build, output)
        before, around = digests(output), outside(workspace)
        code, printed, seconds, memory = built(folder, output, workspace)
        return Outcome(workspace, canary, listener.port, before, around, code, printed.strip(), seconds, memory,
                       len(listener.connections))
    finally:
        listener.socket.close()


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             good_build: Path) -> dict[str, Outcome]:
    """The selected cases, built as many at once as there are cores."""
    selected = [item.callspec.params["case"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_broken_manuscript"]
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        results = pool.map(lambda case: attack(case, tmp_path_factory.mktemp(case), good_build), selected)
        return dict(zip(selected, results, strict=True))


@pytest.mark.parametrize("case", CASES)
def test_broken_manuscript(case: str, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[case]
    error, workspace = outcome.printed, outcome.workspace
    output = workspace / "dist"
    expected = (BROKEN / case / "expected.txt").read_text().strip().replace(
        "{CANARY}", str(outcome.canary)).replace("{PORT}", str(outcome.port))
    assert outcome.code == 1, error
    assert "\n" not in error and "Traceback" not in error, error
    assert error.endswith(expected) or expected in error, f"{error!r} does not say {expected!r}"
    assert digests(output) == outcome.before
    assert SECRET.encode() not in contents(output) and SECRET not in error
    assert outcome.connections == 0, "a build connected to the listener"
    assert not list((workspace / "tmp").iterdir()), "temporary files left"
    shutil.rmtree(workspace / "tmp")
    assert outside(workspace) == outcome.around
    assert outcome.seconds < MAX_SECONDS, f"{outcome.seconds:.1f} s"
    assert outcome.memory < MAX_MEMORY, f"{outcome.memory:.0f} MiB"


def test_the_listener_hears_a_connection(listener: Listener) -> None:
    """The listener the cases are built beside does record a connection: its silence means something."""
    before = len(listener.connections)
    socket.create_connection(("127.0.0.1", listener.port)).close()
    for _ in range(100):
        if len(listener.connections) > before:
            break
        time.sleep(0.01)
    assert len(listener.connections) == before + 1


def test_the_manuscript_is_never_a_template(manuscript_copy: Path, tmp_path: Path) -> None:
    body = manuscript_copy / "body.md"
    body.write_text(body.read_text() + "\nLiteral {{ config }} and {% include 'print.html.j2' %} and {{ 7*7 }}.\n")
    assert main(["build", str(manuscript_copy), "-o", str(tmp_path), "-q"]) == 0
    import pikepdf

    from sats.wordcheck import pdf_words, reading
    pdf = next(tmp_path.glob("*.pdf"))
    with pikepdf.open(pdf) as document:
        assert str(document.docinfo.Title) == "A Small Test Article: Notes, Citations and {{ braces }}"
    text = " ".join(reading(pdf_words(pdf.read_bytes())))
    assert "{{ config }}" in text and "{% include 'print.html.j2' %}" in text and "{{ 7*7 }}" in text
    assert "{{ 7*7 }}" in contents(tmp_path).decode("utf-8", "replace")


def test_an_output_folder_that_cannot_be_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "dist"
    blocker.write_text("a file where the output folder should be")
    assert main(["build", str(FIXTURES / "mini"), "-o", str(blocker), "--force"]) == 1
    assert capsys.readouterr().err.strip().endswith("dist: cannot write here: File exists")


def test_a_style_weasyprint_cannot_use_fails_the_build(tmp_path: Path) -> None:
    from sats import pdf
    from sats.errors import SatsError

    html = "<html><head><style>p { colour: red; }</style></head><body><p>Text</p></body></html>"
    with pytest.raises(SatsError, match=r"WeasyPrint cannot use the styles: Ignored `colour: red` at 1:\d+"):
        pdf.lay_out(html, tmp_path, (tmp_path,), epoch=0)


def test_a_template_error_names_the_template_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sats import templates
    from sats.errors import SatsError

    (tmp_path / "broken.html.j2").write_text("<p>\n{{ project.title }\n</p>\n")
    monkeypatch.setattr(templates, "TEMPLATES", tmp_path)
    templates.environment.cache_clear()
    try:
        with pytest.raises(SatsError, match=r"broken\.html\.j2:2: template error: unexpected '}'"):
            templates.render("broken.html.j2", project=None)
    finally:
        templates.environment.cache_clear()



def test_an_absurdly_large_file_is_refused(manuscript_copy: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (manuscript_copy / "body.md").write_text("# Long\n\n" + "Word " * 1_300_000)
    assert main(["build", str(manuscript_copy), "-o", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.strip().endswith("metadata.yaml:17: 'body': body.md is 6.5 MB: larger than the 5 MB "
                                                    "allowed for a text file")


def test_two_builds_at_once_leave_whole_files(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, str(root / "build.py"), "build", str(FIXTURES / "mini"), "-o", str(tmp_path), "-q",
               "--force"]
    runs = [subprocess.Popen(command) for _ in range(2)]
    assert [run.wait() for run in runs] == [0, 0]
    reference = tmp_path / "reference"
    assert main(["build", str(FIXTURES / "mini"), "-o", str(reference), "-q"]) == 0
    for built in (p for p in reference.iterdir() if p.is_file()):
        assert (tmp_path / built.name).read_bytes() == built.read_bytes(), built.name
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".") and p.name != ".sats-cache"], "no leftovers"


def test_a_slug_cannot_lead_out_of_the_output_folder(manuscript_copy: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Neither build nor clean writes or removes a file outside the output folder a slug points to."""
    metadata = manuscript_copy / "metadata.yaml"
    metadata.write_text(metadata.read_text() + "slug: ../escaped\n")
    beside = tmp_path / "out"
    output = beside / "dist"
    output.mkdir(parents=True)
    for name in ("escaped.pdf", "escaped.epub"):
        (beside / name).write_text("the editor's file, not Sats's")
    for command in ("build", "clean"):
        assert main([command, str(manuscript_copy), "-o", str(output)]) == 1
        assert capsys.readouterr().err.strip().endswith(
            "'slug' must be lower-case letters, digits and single hyphens between them, such as 'hansen-2024', "
            "got '../escaped'")
    assert sorted(p.name for p in beside.rglob("*")) == ["dist", "escaped.epub", "escaped.pdf"]


def test_the_watchdog_stops_work_at_its_budget() -> None:
    """Work that never ends is stopped at its budget of processor time, with one line."""
    from sats import limits
    from sats.errors import SatsError

    def spin() -> None:
        while True:
            pass

    started = time.monotonic()
    with pytest.raises(SatsError, match=r"^the spinning took longer than its budget of 1 s of processor time: "):
        limits.within(1, "the spinning", spin)
    assert time.monotonic() - started < 1 * limits.WALL_FACTOR + 2


def test_a_layout_over_its_budget_is_one_line_and_leaves_dist(manuscript_copy: Path, tmp_path: Path, good_build: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The layout, in a process of its own, is stopped at its budget: exit 1, one line, the last
    good editions whole (the cache keeps the parse), no temporary file left."""
    from sats import pipeline

    body = manuscript_copy / "body.md"
    body.write_text(body.read_text() + "\n\n" + "A paragraph of running text to lay out. " * 4000 + "\n")
    monkeypatch.setattr(pipeline, "LAYOUT_BUDGET", (1, 0))
    output = tmp_path / "dist"
    shutil.copytree(good_build, output)
    before = snapshot(output)
    capsys.readouterr()
    assert main(["build", str(manuscript_copy), "-o", str(output), "--force", "-q"]) == 1
    assert capsys.readouterr().err.strip() == ("the layout took longer than its budget of 1 s of processor time: "
                                               "is the manuscript unreasonably large or strange?")
    after = snapshot(output)
    assert {name: what for name, what in after.items() if not name.startswith(".sats-cache")} == \
        {name: what for name, what in before.items() if not name.startswith(".sats-cache")}
    assert not [name for name in after if Path(name).name.startswith(".") and name != ".sats-cache"], "temporary files"


def test_clean_goes_through_no_link_and_removes_no_other_titles_files(manuscript_copy: Path, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A cache or preview folder that is a link leads nowhere; another title under the same slug
    keeps its files."""
    output = tmp_path / "dist"
    assert main(["build", str(FIXTURES / "mini"), "-o", str(output), "-q", "--edition", "pdf"]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("not Sats's")
    before = snapshot(output)
    capsys.readouterr()
    assert main(["clean", str(manuscript_copy), "-o", str(output)]) == 1  # the same slug, another folder
    assert capsys.readouterr().err.strip().endswith(f"were built from {FIXTURES / 'mini'}, not from "
                                                    f"{manuscript_copy}: not removed")
    assert snapshot(output) == before
    (output / "preview").symlink_to(elsewhere)
    for command in ("preview", "clean"):
        assert main([command, str(FIXTURES / "mini"), "-o", str(output)]) == 1
        assert capsys.readouterr().err.strip().endswith(
            "dist/preview: is a symbolic link or not a folder: Sats writes only inside the output folder")
    (output / "preview").unlink()
    shutil.move(output / ".sats-cache", elsewhere / "cache")
    (output / ".sats-cache").symlink_to(elsewhere / "cache")
    kept = snapshot(elsewhere)
    for command in (["build", "--force"], ["clean"]):
        assert main([*command, str(FIXTURES / "mini"), "-o", str(output)]) == 1
        assert capsys.readouterr().err.strip().endswith(
            "dist/.sats-cache: is a symbolic link or not a folder: Sats writes only inside the output folder")
    assert snapshot(elsewhere) == kept


def test_a_dependent_style_takes_its_parent_from_the_shipped_styles(manuscript_copy: Path, tmp_path: Path,
                                                                     listener: Listener) -> None:
    """A dependent style whose parent is a style Sats ships is built with that parent, fetching nothing."""
    (manuscript_copy / "child.csl").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<style xmlns="http://purl.org/net/xbiblio/csl" version="1.0" '
        'default-locale="en-GB">\n  <info><title>Child</title><id>urn:child</id>'
        '<link rel="independent-parent" href="http://www.zotero.org/styles/apa"/>'
        f'<link rel="self" href="http://127.0.0.1:{listener.port}/child"/></info>\n</style>\n')
    metadata = manuscript_copy / "metadata.yaml"
    metadata.write_text(metadata.read_text() + "csl: child.csl\n")
    from sats import config

    assert config.load(manuscript_copy).csl == config.CSL_STYLES / "apa.csl"
    connections = len(listener.connections)
    assert main(["build", str(manuscript_copy), "-o", str(tmp_path / "dist"), "-q", "--edition", "pdf"]) == 0
    assert len(listener.connections) == connections


@pytest.mark.parametrize("target", ["..%2Fcanary.txt", "%2E%2E/canary.txt", "..%252Fcanary.txt",
                                    "sub/..%2F..%2Fcanary.txt"])
def test_the_fetcher_resolves_as_the_markdown_does(target: str, manuscript_copy: Path) -> None:
    """WeasyPrint's fetcher decodes, normalises and follows links before it holds a URL to the folders."""
    from sats import pdf, resources

    canary = manuscript_copy.parent / "canary.txt"
    canary.write_text(SECRET)
    (manuscript_copy / "sub").mkdir()
    root = manuscript_copy.resolve()
    fetcher, refused = pdf._fetcher((root,), {})
    with pytest.raises(refused, match="outside the project"):
        fetcher.fetch(f"{root.as_uri()}/{target}")
    with pytest.raises(resources.Refused, match="inside the manuscript folder"):
        resources.resolve(target, root, (root,), "image")


def _marked(text: str, per_page: int = 2500) -> tuple[float, list[str]]:
    """Mark a page every `per_page` characters of one paragraph holding `text`: the fastest of
    three runs' seconds, and where the markers stand in the text."""
    from lxml import etree

    from sats import pagebreaks
    from sats.pdf import PageStart

    total = sum(not character.isspace() for character in text)
    starts = [PageStart(False, (("p1", offset),)) for offset in range(0, total, per_page)]
    best = float("inf")
    for _ in range(3):
        tree = etree.fromstring(f'<html xmlns="{pagebreaks.XHTML}"><body><p><span data-anchor="p1"/>{text}</p>'
                                "</body></html>")
        started = time.perf_counter()
        pagebreaks.mark({"a.xhtml": tree}, starts, [str(number) for number in range(len(starts))])
        best = min(best, time.perf_counter() - started)
    return best, [element.getparent().tag.rsplit("}")[-1] for element in tree.iter(f"{{{pagebreaks.XHTML}}}span")]


def test_page_markers_take_time_linear_in_one_paragraph() -> None:
    """Four times the words of a single paragraph take not much more than four times as long to
    mark (the quadratic search took 21 times as long)."""
    short, _ = _marked(" ".join(["lorem"] * 4000))
    long, markers = _marked(" ".join(["lorem"] * 16000))
    assert len(markers) == 32
    assert long < 8 * short, f"{short:.3f} s, then {long:.3f} s"


def test_a_page_that_begins_inside_the_last_word_is_marked_at_the_end() -> None:
    """Pages that begin inside one word that ends the book are marked after it, in linear time."""
    short, _ = _marked("x" * 25_000)
    long, markers = _marked("x" * 100_000)
    assert markers == ["p"] + ["body"] * 39  # the first page at the paragraph's start, the rest after the word
    assert long < 8 * short, f"{short:.3f} s, then {long:.3f} s"
