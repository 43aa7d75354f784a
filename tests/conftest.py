"""Shared fixtures: each title is built once per session with the real engines."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(ROOT))

from sats import (  # noqa: E402
    config,
    content,
    manuscript,
    validator,
)
from sats.cli import main  # noqa: E402


@dataclass(frozen=True)
class Built:
    """A manuscript built into a temporary output folder."""

    project: config.Project
    output: Path
    pdf: Path
    epub: Path


def build(folder: Path, output: Path) -> Built:
    """Build `folder` into `output` through the command line, in this process."""
    code = main(["build", str(folder), "-o", str(output), "-q", "--keep-html"])
    assert code == 0
    project = config.load(folder)
    return Built(project, output, output / f"{project.slug}.pdf", output / f"{project.slug}.epub")


@pytest.fixture(scope="session")
def first_title(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The first title, built from the project's manuscript folder."""
    return build(ROOT / "manuscript", tmp_path_factory.mktemp("first-title"))


@pytest.fixture(scope="session")
def article() -> content.Content:
    """The first title's manuscript, parsed with its citations rendered."""
    return content.parse(manuscript.read(config.load(ROOT / "manuscript")))


@pytest.fixture(scope="session")
def mini(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A small English fixture manuscript with a BibLaTeX bibliography."""
    return build(FIXTURES / "mini", tmp_path_factory.mktemp("mini"))


@pytest.fixture(scope="session")
def figures(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The colour fixture (figures in every colour form), built once."""
    return build(FIXTURES / "colour-figures", tmp_path_factory.mktemp("colour"))


@pytest.fixture(scope="session")
def math_title(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A short article with inline and display formulas in its abstract, body and a note."""
    return build(FIXTURES / "math", tmp_path_factory.mktemp("math"))


@pytest.fixture(scope="session")
def titles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """The four language fixture titles (tests/fixtures/languages), each built once; they share
    one bibliography."""
    built = {}
    for name in ("sv-SE", "nn-NO", "da-DK", "en-US"):
        folder = tmp_path_factory.mktemp(name) / "manuscript"
        shutil.copytree(FIXTURES / "languages" / name, folder)
        shutil.copy(FIXTURES / "languages" / "refs.json", folder)
        built[name] = build(folder, folder.parent / "dist")
    return built


@pytest.fixture(scope="session")
def acceptance(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """The acceptance manuscripts (tests/fixtures/acceptance-nn, -en, -da), each built once; the
    English one names its printer's profile, the small fixture's, copied in."""
    built = {}
    for name in ("acceptance-nn", "acceptance-en", "acceptance-da"):
        folder = tmp_path_factory.mktemp(name) / "manuscript"
        shutil.copytree(FIXTURES / name, folder)
        if name == "acceptance-en":
            shutil.copy(FIXTURES / "mini" / "FOGRA39L.icc", folder / "printer.icc")
        built[name] = build(folder, folder.parent / "dist")
    return built


@pytest.fixture(scope="session")
def epubcheck_reports(first_title: Built, mini: Built) -> dict[str, list[str]]:
    """EPUBCheck's errors and warnings for each built EPUB: one run each, in parallel."""
    runs = {name: subprocess.Popen(validator.command(built.epub), stdout=subprocess.PIPE, text=True,
                                   stderr=subprocess.DEVNULL)
            for name, built in (("first_title", first_title), ("mini", mini))}
    return {name: validator.messages(run.communicate()[0]) for name, run in runs.items()}


@pytest.fixture
def manuscript_copy(tmp_path: Path) -> Path:
    """A writable copy of the small fixture manuscript."""
    target = tmp_path / "manuscript"
    shutil.copytree(FIXTURES / "mini", target)
    return target


@pytest.fixture(scope="session")
def long_title(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The first title with its body and notes repeated twelve times: over a hundred pages."""
    from bench.run import lengthen

    folder = tmp_path_factory.mktemp("long-title") / "manuscript"
    lengthen(ROOT / "manuscript", folder, 12)
    return build(folder, folder.parent / "dist")


def require(missing: str | None) -> None:
    """Skip a test whose validator cannot run here, saying why; in CI (CI=true) fail it instead,
    as CI installs every validator."""
    if missing and os.environ.get("CI") == "true":
        pytest.fail(missing)
    if missing:
        pytest.skip(missing)


@pytest.fixture(scope="session")
def verapdf_reports(first_title: Built, mini: Built, figures: Built, math_title: Built,
                    titles: dict[str, Built]) -> dict[str, list[str]]:
    """veraPDF's findings for each archival PDF of the first title and the fixtures, and for the
    press PDF of the small fixture, which claims neither PDF/A-2a nor PDF/UA-1: one JVM for all."""
    require(validator.verapdf_missing())
    pdfs = {"first_title": first_title.pdf, "mini": mini.pdf, "figures": figures.pdf, "math": math_title.pdf,
            **{name: built.pdf for name, built in titles.items()},
            "mini press": mini.output / mini.project.file("print")}
    output = subprocess.run(validator.verapdf_command(list(pdfs.values())), capture_output=True, text=True,
                            check=False).stdout
    found = validator.verapdf_messages(output)
    return {name: found[path.resolve()] for name, path in pdfs.items()}


@pytest.fixture(scope="session")
def ace_reports(first_title: Built, mini: Built, figures: Built, math_title: Built, titles: dict[str, Built],
                tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Ace's violations for the EPUB of the first title and of each fixture, and for a copy of the
    small fixture's EPUB whose documents lost their language: one run each, two at a time."""
    require(validator.ace_missing())
    damaged = tmp_path_factory.mktemp("ace") / "no-language.epub"
    with zipfile.ZipFile(mini.epub) as source, zipfile.ZipFile(damaged, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".xhtml"):
                data = re.sub(rb' (xml:)?lang="[^"]*"', b"", data)
            target.writestr(info, data)
    epubs = {"first_title": first_title.epub, "mini": mini.epub, "figures": figures.epub, "math": math_title.epub,
             **{name: built.epub for name, built in titles.items()}, "mini without language": damaged}
    with ThreadPoolExecutor(2) as pool:  # each run is a browser: two cores, two at a time
        found = dict(zip(epubs, pool.map(lambda path: validator.start_ace(path).messages(), epubs.values()),
                         strict=True))
    return found
