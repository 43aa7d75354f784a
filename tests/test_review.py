"""The visual review: `preview --against REF` finds the pages a change moved, and only those."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, Built
from PIL import Image, ImageChops

from sats import review
from sats.cli import main

PAGES = range(319, 331)  # the first title's printed pages
EDITED = 325
WORD = ("haukenes", "huakenes")  # on page 325: the same letters, so the lines break where they did
SLUG = "wilhelmsen-2021-krigen-mot-terror"


def lines(changed: dict[int, str]) -> list[str]:
    """The page lines `preview --against` prints: each page unchanged but those given."""
    verdicts = {number: "unchanged" for number in PAGES} | changed
    return [f"page {number}: {verdict}" for number, verdict in sorted(verdicts.items())]


def opened(path: Path) -> Image.Image:
    """An image file, read and closed."""
    with Image.open(path) as image:
        return image.convert("RGB")


def page_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("page ")]


@pytest.fixture(scope="module")
def earlier(first_title: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the first title's output with its page images, written by preview."""
    output = tmp_path_factory.mktemp("earlier") / "dist"
    shutil.copytree(first_title.output, output)
    assert main(["preview", str(ROOT / "manuscript"), "-o", str(output), "-q"]) == 0
    return output


def test_a_no_op_changes_no_page(earlier: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["preview", str(ROOT / "manuscript"), "-o", str(earlier), "-q", "--against",
                 str(earlier / "preview"), "--fail-on-change"]) == 0
    out = capsys.readouterr().out
    assert page_lines(out) == lines({})
    folder = earlier / "review" / SLUG
    assert sorted(path.name for path in folder.iterdir()) == ["index.html"]
    report = (folder / "index.html").read_text()
    assert "No page changed." in report
    assert "<strong>12</strong> unchanged" in report


def committed(repository: Path) -> str:
    """Make `repository` a git repository of its files, committed; return the commit, short."""
    git = ["git", "-C", str(repository), "-c", "user.name=Sats", "-c", "user.email=sats@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "The first title as published"], check=True)
    return subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_one_word_edit_changes_its_page_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Against a git revision, built by that revision's own code in a checkout of its own."""
    repository = tmp_path / "repository"
    for name in ("sats", "templates", "styles", "manuscript"):
        shutil.copytree(ROOT / name, repository / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "build.py", repository)
    commit = committed(repository)
    body = repository / "manuscript" / "article.md"
    text = body.read_text()
    assert text.count(WORD[0]) == 1
    body.write_text(text.replace(*WORD))
    output = tmp_path / "dist"
    capsys.readouterr()

    code = main(["preview", str(repository / "manuscript"), "-o", str(output), "--against", "HEAD",
                 "--fail-on-change"])

    captured = capsys.readouterr()
    assert code == 1  # asked for: a change fails
    assert captured.out.splitlines()[0] == (f"{SLUG}: against HEAD ({commit}), "
                                            "built by its own code and its own styles")
    changed = [line for line in page_lines(captured.out) if not line.endswith("unchanged")]
    assert len(changed) == 1 and changed[0].startswith(f"page {EDITED}: changed, ")
    assert page_lines(captured.out) == lines({EDITED: changed[0].split(": ", 1)[1]})
    folder = output / "review" / SLUG
    assert sorted(path.name for path in folder.iterdir()) == sorted([
        "contact-sheet.png", "index.html", *(f"page-{EDITED}.{kind}.png" for kind in review.VIEWS)])
    assert f'<section id="page-{EDITED}" class="changed">' in (folder / "index.html").read_text()
    assert f"0 new, 0 gone, 11 unchanged; report: {folder / 'index.html'}" in captured.err
    # The change is on one line, the word's: its regions lie within a line's height.
    (page,) = review.compare(*({EDITED: opened(folder / f"page-{EDITED}.{kind}.png")}
                               for kind in ("current", "reference")))
    assert page.regions and max(box.bottom for box in page.regions) - min(box.top for box in page.regions) < 30


def test_a_revision_whose_code_cannot_build_is_built_by_this_one(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    repository = tmp_path / "repository"
    shutil.copytree(ROOT / "manuscript", repository / "manuscript")
    (repository / "build.py").write_text('raise SystemExit("this Sats needs a library this Python lacks")\n')
    commit = committed(repository)
    capsys.readouterr()
    assert main(["preview", str(repository / "manuscript"), "-o", str(tmp_path / "dist"), "-q",
                 "--against", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (f"{SLUG}: against HEAD ({commit}), its manuscript built by this version of "
                                   "Sats: its own code could not build it (exit 1: this Sats needs a library "
                                   "this Python lacks)")
    assert page_lines(out) == lines({})


def test_pages_new_and_gone_are_named(earlier: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An earlier edition one page shorter at the start and one page longer at the end."""
    images = tmp_path / "images"
    shutil.copytree(earlier / "preview" / SLUG, images)
    (images / "page-319.png").unlink()
    shutil.copy(images / "page-330.png", images / "page-331.png")
    capsys.readouterr()
    assert main(["preview", str(ROOT / "manuscript"), "-o", str(earlier), "-q", "--against", str(images)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{SLUG}: against {images}, page images written earlier by preview"
    assert page_lines(out) == [*lines({319: "new"}), "page 331: gone"]
    folder = earlier / "review" / SLUG
    assert sorted(path.name for path in folder.iterdir()) == [
        "contact-sheet.png", "index.html", "page-319.current.png", "page-331.reference.png"]
    report = (folder / "index.html").read_text()
    assert report.count('<div class="missing">') == 4  # no reference and no difference for 319; the same for 331
    with Image.open(folder / "contact-sheet.png") as sheet:
        assert sheet.width == 3 * review.THUMB + 4 * review.GAP


def test_the_tolerance_passes_anti_aliasing_and_finds_a_dot(earlier: Path) -> None:
    page = opened(earlier / "preview" / SLUG / "page-325.png")
    grey = ImageChops.add(page, Image.new("RGB", page.size, (review.THRESHOLD,) * 3))  # every pixel, within it
    assert review.compare({325: grey}, {325: page})[0].status == "unchanged"
    dotted = page.copy()
    dotted.paste((200, 0, 0), (450, 600, 453, 602))  # six pixels, one mark of a pen
    found = review.compare({325: dotted}, {325: page})[0]
    assert (found.status, found.pixels) == ("changed", 6)
    assert found.regions == (review.Box(448, 600, 456, 608),)


@pytest.mark.parametrize("reference", ["no-such-revision", "--output=stolen"])
def test_a_reference_that_is_neither_a_folder_nor_a_revision(reference: str, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    top = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--show-toplevel"], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert main(["preview", str(ROOT / "manuscript"), "-o", str(tmp_path), f"--against={reference}"]) == 1
    assert capsys.readouterr().err == f"{reference!r} is neither a folder of page images nor a revision of {top}\n"
    assert list(tmp_path.iterdir()) == []


def test_the_workflow_reviews_every_pull_request_against_its_target() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "editions.yml").read_text())
    steps = workflow["jobs"]["review"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    assert 'build.py preview $TITLES --against "origin/$BASE"' in runs
    assert workflow["jobs"]["review"]["if"] == "github.event_name == 'pull_request'"
    assert any(step.get("uses", "").startswith("actions/upload-artifact@") and step["with"]["path"] == "dist/review/"
               for step in steps)
