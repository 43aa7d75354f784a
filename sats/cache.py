"""Incremental builds: an edition is rebuilt only when something it depends on has changed.

Each edition's stamp records a digest of everything that shapes it (the manuscript's files,
Sats's own code, the templates and styles it uses, fonts, the CSL styles, the versions of every
distribution Sats's requirements pull in, and the system libraries WeasyPrint draws with), a
digest of the file it produced and the warnings of the build that made it. The cache is safe to
delete; a corrupt or foreign stamp counts as none.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from . import manuscript, system
from .config import TOOL_ROOT, Project
from .errors import Problem, SatsError
from .output import own_folder, write_atomically
from .pdf import PageStart

CACHE_FOLDER = ".sats-cache"
TEMPLATES = TOOL_ROOT / "templates"
STYLES = TOOL_ROOT / "styles"
CODE = tuple(sorted(Path(__file__).resolve().parent.glob("*.py")))  # Sats's own sources
COMMON = (*CODE, TEMPLATES / "partials", TEMPLATES / "labels.yaml", STYLES / "fonts", STYLES / "csl")
PRINT = (*COMMON, TEMPLATES / "print.html.j2", TEMPLATES / "pdf", STYLES / "print.css")
# The EPUB marks the print edition's pages, so whatever shapes the print layout shapes it too.
DEPENDENCIES = {
    "pdf": (*PRINT, STYLES / "icc"),  # the archival PDF's DefaultCMYK, where a CMYK image needs one
    "print": (*PRINT, STYLES / "icc", TEMPLATES / "reports"),
    "epub": (*PRINT, TEMPLATES / "epub", STYLES / "epub.css", STYLES / "cover.css"),
    # The JATS file and the deposit carry the print edition's last page.
    "jats": (*PRINT, TEMPLATES / "jats"),
    "crossref": (*PRINT, TEMPLATES / "jats", TEMPLATES / "crossref"),
}
COVER = (*COMMON, STYLES / "cover.css")  # and the cover's HTML
ISSUE = (*COMMON, TEMPLATES / "issue", STYLES / "issue.css", STYLES / "cover.css")  # a journal issue's own files
PARSED = "article.json"  # pandoc's parse of the manuscript, for builds and checks of the same inputs
COVER_IMAGE = "cover.png"
TYPOGRAPHY = "typography.json"  # the typographic report of a PDF, kept for `check`
KEPT = (PARSED, COVER_IMAGE, TYPOGRAPHY)  # the intermediate results the cache keeps beside the stamps
MANUSCRIPT = "manuscript"  # the stamp's key for the manuscript folder the files were built from
HEADER_VERSION = re.compile(r"^Version:[ \t]*(\S+)", re.MULTILINE)
REQUIRES = re.compile(r"^Requires-Dist:[ \t]*(.+?)\s*$", re.MULTILINE)
REQUIREMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # the name that begins a requirement
EXTRA = re.compile(r";.*\bextra\s*==")


def _version_and_requirements(distribution: metadata.Distribution) -> tuple[str, list[str]]:
    """A distribution's version and requirements, read from its METADATA's header (parsing it as
    email, as `metadata` does, takes ten times as long)."""
    text = distribution.read_text("METADATA")
    if text is None:  # an egg-info folder, as in a source checkout
        return distribution.version, distribution.requires or []
    header = text.split("\n\n", 1)[0]
    return HEADER_VERSION.findall(header)[0], REQUIRES.findall(header)


@functools.cache
def distributions(root: str = "sats") -> dict[str, str]:
    """The version of every installed distribution `root` requires, itself and its
    requirements' requirements included (optional extras aside): whatever code makes the editions."""
    versions: dict[str, str] = {}
    todo = [root]
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in versions:
            continue
        try:
            versions[name], requirements = _version_and_requirements(metadata.distribution(name))
        except metadata.PackageNotFoundError:
            if name == root:
                raise SatsError.at(f"{root} is not installed: run make") from None
            continue  # a requirement for another platform or Python
        todo += [match.group() for requirement in requirements
                 if not EXTRA.search(requirement) and (match := REQUIREMENT.match(requirement))]
    return dict(sorted(versions.items()))


@functools.cache
def _environment() -> str:
    versions = "".join(f"{name} {version}\n" for name, version in distributions().items())
    return f"{versions}{system.state()}\n"


def _files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def _digest(what: str, paths: tuple[Path, ...], read: dict[Path, str] | None = None) -> str:
    """A digest of `what`, the files under `paths` and the environment; `read` holds the
    digests of files already read, so that digests sharing files read each once."""
    read = {} if read is None else read
    digest = hashlib.sha256(f"{what}\n{_environment()}".encode())
    for path in paths:
        for file in _files(path):
            if file not in read:
                read[file] = hashlib.sha256(file.read_bytes()).hexdigest()
            digest.update(f"{file}\0{read[file]}\n".encode())
    return digest.hexdigest()


def digest(what: str, paths: tuple[Path, ...]) -> str:
    """A digest of `what`, the files under `paths` and the engines' versions."""
    return _digest(what, paths)


def inputs_digests(project: Project) -> dict[str, str]:
    """For each edition of `project`, a digest of everything that shapes it."""
    read: dict[Path, str] = {}
    sources = (*project.source_files, *manuscript.image_files(project))
    # The journal as placed: an issue sets the first page from outside the metadata.
    return {edition: _digest(f"{edition} {project.journal!r}", (*sources, *paths), read)
            for edition, paths in DEPENDENCIES.items()}


def _stamp_path(output: Path, project: Project) -> Path:
    return own_folder(output, CACHE_FOLDER) / f"{project.slug}.json"


def _kept_path(output: Path, project: Project, name: str) -> Path:
    return own_folder(output, CACHE_FOLDER) / f"{project.slug}.{name}"


def owner(output: Path, project: Project) -> Path | None:
    """The manuscript folder that the files named by `project`'s slug in `output` were last built
    from, if the cache says."""
    folder = _read(_stamp_path(output, project)).get(MANUSCRIPT)
    return Path(folder) if isinstance(folder, str) else None


def _read(path: Path) -> dict[str, Any]:
    try:
        stamps = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stamps if isinstance(stamps, dict) else {}


def up_to_date(output: Path, project: Project, edition: str, digest: str) -> bool:
    """Whether the edition in `output` was built from exactly these inputs and is untouched."""
    stamp = _read(_stamp_path(output, project)).get(edition)
    target = output / project.file(edition)
    if not isinstance(stamp, dict) or stamp.get("inputs") != digest or not target.is_file():
        return False
    return stamp.get("output") == hashlib.sha256(target.read_bytes()).hexdigest()


def last_page(output: Path, project: Project) -> int | None:
    """The last page of the print edition as last built, if the stamp knows it."""
    value = _read(_stamp_path(output, project)).get("pdf", {}).get("last-page")
    return value if isinstance(value, int) else None


def page_starts(output: Path, project: Project, digest: str) -> tuple[PageStart, ...] | None:
    """Where the pages of the print edition in `output` begin, if it is built from inputs with `digest`."""
    if not up_to_date(output, project, "pdf", digest):
        return None
    value = _read(_stamp_path(output, project))["pdf"].get("page-starts")
    try:
        return tuple(PageStart(bool(in_note), tuple((str(key), int(offset)) for key, offset in anchors))
                     for in_note, anchors in value) if isinstance(value, list) else None
    except (TypeError, ValueError):
        return None


def record(output: Path, project: Project, name: str, digest: str, data: bytes,
           last: int | None = None, starts: tuple[PageStart, ...] = (), warnings: tuple[Problem, ...] = ()) -> None:
    """Remember that `data`, an edition or a kept result, was made from inputs with `digest`, with
    the build's `warnings` (for the print edition: its last page and where its pages begin)."""
    path = _stamp_path(output, project)
    stamps = _read(path)
    stamps[MANUSCRIPT] = str(project.root)  # whose files these are: `clean` removes no other title's
    stamps[name] = {"inputs": digest, "output": hashlib.sha256(data).hexdigest(),
                    "warnings": [[w.message, str(w.path) if w.path else None, w.line] for w in warnings]}
    if last is not None:
        stamps[name] |= {"last-page": last,
                         "page-starts": [[start.in_note, start.anchors] for start in starts]}
    write_atomically(path, json.dumps(stamps, indent=1).encode())


def warnings(output: Path, project: Project, editions: tuple[str, ...]) -> tuple[Problem, ...]:
    """The warnings of the builds that made these editions, each once, in their order."""
    stamps = _read(_stamp_path(output, project))
    found: dict[Problem, None] = {}
    for edition in editions:
        stamp = stamps.get(edition)
        kept = stamp.get("warnings") if isinstance(stamp, dict) else None
        for item in kept if isinstance(kept, list) else ():
            try:
                message, path, line = item
                found[Problem(str(message), Path(path) if path else None, int(line) if line else None)] = None
            except (TypeError, ValueError):
                continue  # a foreign stamp: what it says is not ours to repeat
    return tuple(found)


def recall(output: Path, project: Project, name: str, digest: str) -> bytes | None:
    """What was kept under `name` from inputs with `digest`, if it was, and is untouched."""
    stamp = _read(_stamp_path(output, project)).get(name)
    path = _kept_path(output, project, name)
    if isinstance(stamp, dict) and stamp.get("inputs") == digest and path.is_file():
        data = path.read_bytes()
        if stamp.get("output") == hashlib.sha256(data).hexdigest():
            return data
    return None


def keep(output: Path, project: Project, name: str, digest: str, data: bytes) -> None:
    """Keep an intermediate result (made from inputs with `digest`) for later builds and checks."""
    try:
        write_atomically(_kept_path(output, project, name), data)
        record(output, project, name, digest, data)
    except SatsError:
        pass  # not kept: writing the editions will say why


def cover(output: Path, project: Project, html: str, render: Callable[[], bytes], fresh: bool = False) -> bytes:
    """The EPUB's cover image: the one rendered last, unless its HTML, styles or engines changed
    (or a `fresh` one is asked for)."""
    digest = _digest(f"cover\n{html}", COVER)
    image = None if fresh else recall(output, project, COVER_IMAGE, digest)
    if image is None:
        image = render()
        keep(output, project, COVER_IMAGE, digest, image)
    return image


def forget(output: Path, project: Project) -> None:
    """Delete what the cache holds for `project`, and the cache's folder once it is empty."""
    for path in (_stamp_path(output, project), *(_kept_path(output, project, name) for name in KEPT)):
        path.unlink(missing_ok=True)
    folder = own_folder(output, CACHE_FOLDER)
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
