"""Visual review: the pages of the current build against a reference — a git revision, built with
its own code, or a folder of earlier page images — compared pixel by pixel, page number by page
number, with an HTML report and a contact sheet of the pages that changed."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup
from PIL import Image, ImageChops, ImageDraw, ImageFont

from . import images, preview
from .config import TOOL_ROOT, Project
from .errors import SatsError, display_path
from .output import write_atomically

WIDTH = preview.PAGE_WIDTH  # pages are compared as `preview` writes them: 900 px wide
THRESHOLD = 48  # a pixel differs when one of its channels differs by more than this (of 255) ...
NOISE = 4  # ... and a page has changed when more than this many pixels differ: anti-aliasing is not a change
CELL = 8  # px: the grid on which differing pixels are gathered into regions
REACH = (24, 2)  # cells across and down: differing pixels this close are one region (the words of a line,
# lines one under the other), and lines apart are regions apart
MARGIN = 6  # px around a region where it is drawn and cut out
CONTEXT = 60  # px of page shown either side of a region, enlarged
CROPS = 8  # regions shown enlarged, at most, per page
CROP_WIDTH = 1300  # px: a region is shown twice its size, or narrower to fit this width
VIEWS = ("reference", "current", "difference")
STATUSES = ("changed", "new", "gone", "unchanged")
THUMB = 300  # px: a page's width on the contact sheet
GAP = 16
LABEL, CAPTION = 34, 26  # px above each row of the contact sheet for its caption, and below each page
REMOVED, ADDED, BOX = (215, 25, 32), (0, 92, 230), (230, 0, 126)
HIGHLIGHT = (255, 226, 64)  # under a region's ink, as a highlighter
BAR, BAR_WIDTH = 24, 10  # px: the change bar in the left margin, from the page's edge
SHEET = "contact-sheet.png"
REPORT = "index.html"
WRITTEN = re.compile(rf"page-\d+\.(reference|current|difference)\.png|{re.escape(SHEET)}|{re.escape(REPORT)}")
PAGE_IMAGE = re.compile(r"page-(\d+)\.png")
CSS = TOOL_ROOT / "styles" / "review.css"
FONT = TOOL_ROOT / "styles" / "fonts" / "SourceSerif4-Semibold.ttf"
FILES = (TOOL_ROOT / "templates" / "review", CSS)  # the report's own template and style: no edition's input


@dataclass(frozen=True)
class Box:
    """A region of a page that differs, in pixels of the compared images."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        """The region's width in pixels."""
        return self.right - self.left

    @property
    def height(self) -> int:
        """The region's height in pixels."""
        return self.bottom - self.top


@dataclass(frozen=True)
class Page:
    """One page number's verdict: unchanged, changed, new (only in the current build) or gone."""

    number: int
    status: str
    pixels: int = 0  # how many pixels differ
    regions: tuple[Box, ...] = ()
    size: tuple[int, int] = (0, 0)  # of the page images, in pixels

    @property
    def line(self) -> str:
        """The page's verdict in one line: `page 325: changed, 1 region (412 pixels differ)`."""
        if self.status != "changed":
            return f"page {self.number}: {self.status}"
        regions = f"{len(self.regions)} region{'s' if len(self.regions) != 1 else ''}"
        return f"page {self.number}: changed, {regions} ({self.pixels} pixels differ)"


@dataclass(frozen=True)
class Reference:
    """The pages to compare against, by printed page number, and where they came from."""

    label: str  # `main (4ca81ef)`, or the folder
    pages: dict[int, Image.Image]
    note: str  # how the pages were made


@dataclass(frozen=True)
class Review:
    """A title's pages against a reference."""

    project: Project
    reference: Reference
    current: dict[int, Image.Image]
    pages: tuple[Page, ...]

    def count(self, status: str) -> int:
        """How many pages have `status`."""
        return sum(page.status == status for page in self.pages)

    @property
    def changes(self) -> tuple[Page, ...]:
        """The pages that are not unchanged, in page order."""
        return tuple(page for page in self.pages if page.status != "unchanged")

    @property
    def summary(self) -> str:
        """`1 changed, 0 new, 0 gone, 11 unchanged`."""
        return ", ".join(f"{self.count(status)} {status}" for status in STATUSES)


def numbered(pdf: Path) -> dict[int, Image.Image]:
    """The pages of `pdf` at the compared width, by their printed numbers (the PDF's page labels)."""
    data = pdf.read_bytes()
    labels = images.labels(data)
    first = int(labels[0]) if labels and labels[0].isdigit() else 1
    return dict(enumerate(images.pages(data, WIDTH), first))


def difference(before: Image.Image, after: Image.Image) -> tuple[int, tuple[Box, ...], Image.Image]:
    """How many pixels differ beyond the tolerance, the regions they form, and their mask."""
    if before.size != after.size:
        mask = Image.new("L", after.size, 255)
        return after.width * after.height, (Box(0, 0, after.width, after.height),), mask
    red, green, blue = ImageChops.difference(before, after).split()
    largest = ImageChops.lighter(red, ImageChops.lighter(green, blue))
    mask = largest.point(lambda value: 255 if value > THRESHOLD else 0)
    pixels = mask.histogram()[255]
    return pixels, (_regions(mask) if pixels > NOISE else ()), mask


def _regions(mask: Image.Image) -> tuple[Box, ...]:
    """The differing pixels gathered into boxes: cells of CELL px with a differing pixel, joined
    when they lie within REACH cells of each other."""
    cells = mask.reduce(CELL)  # a cell's mean: above 0 when one of its pixels differs
    columns = cells.width
    hot = {(index % columns, index // columns) for index, value in enumerate(cells.tobytes()) if value}
    boxes = []
    while hot:
        start = hot.pop()
        group, todo = [start], [start]
        while todo:
            x, y = todo.pop()
            across, down = REACH
            near = {(x + dx, y + dy) for dx in range(-across, across + 1) for dy in range(-down, down + 1)} & hot
            hot -= near
            group += near
            todo += near
        xs, ys = [x for x, _ in group], [y for _, y in group]
        boxes.append(Box(min(xs) * CELL, min(ys) * CELL, min((max(xs) + 1) * CELL, mask.width),
                         min((max(ys) + 1) * CELL, mask.height)))
    return tuple(sorted(boxes, key=lambda box: (box.top, box.left)))


def compare(current: dict[int, Image.Image], reference: dict[int, Image.Image]) -> tuple[Page, ...]:
    """Each page number's verdict, in page order."""
    pages = []
    for number in sorted(current.keys() | reference.keys()):
        if number not in reference:
            pages.append(Page(number, "new", size=current[number].size))
        elif number not in current:
            pages.append(Page(number, "gone", size=reference[number].size))
        else:
            pixels, regions, _ = difference(reference[number], current[number])
            status = "changed" if pixels > NOISE else "unchanged"
            pages.append(Page(number, status, pixels, regions, current[number].size))
    return tuple(pages)


def from_folder(folder: Path, project: Project) -> Reference:
    """The page images `preview` wrote (page-N.png), in `folder`/SLUG or in `folder` itself."""
    for candidate in (folder / project.slug, folder):
        found = {int(match.group(1)): path for path in sorted(candidate.glob("page-*.png"))
                 if (match := PAGE_IMAGE.fullmatch(path.name))}
        if found:
            pages = {}
            for number, path in found.items():
                with Image.open(path) as image:
                    pages[number] = image.convert("RGB")
            return Reference(display_path(candidate), pages, "page images written earlier by preview")
    raise SatsError.at(f"no page images (page-N.png) for {project.slug} in it or in {project.slug}/", folder)


def _git(top: Path, *arguments: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(top), *arguments], capture_output=True, check=False)


@contextlib.contextmanager
def checkout(revision: str, folder: Path) -> Iterator[tuple[str, Path, Path]]:
    """The repository holding `folder` as of `revision`, unpacked into a temporary folder (git
    archive: the repository itself is not touched): its label, the repository's top and the tree."""
    found = _git(folder, "rev-parse", "--show-toplevel")
    if found.returncode:
        raise SatsError.at(f"{revision!r} is not a folder, and {display_path(folder)} is not in a git "
                           "repository whose revision it could be")
    top = Path(found.stdout.decode().strip())
    # A revision never begins with a dash: that would be an option to git.
    commit = None if revision.startswith("-") else _git(top, "rev-parse", "--verify", "--quiet", "--short",
                                                         f"{revision}^{{commit}}")
    if commit is None or commit.returncode:
        raise SatsError.at(f"{revision!r} is neither a folder of page images nor a revision of {top}")
    archive = _git(top, "archive", "--format=tar", commit.stdout.decode().strip())
    if archive.returncode:
        raise SatsError.at(f"git archive {revision} failed: {archive.stderr.decode().strip()}")
    with tempfile.TemporaryDirectory(prefix="sats-review-") as scratch:
        tree = Path(scratch) / "tree"
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as unpacked:
            unpacked.extractall(tree, filter="data")
        yield f"{revision} ({commit.stdout.decode().strip()})", top, tree


def from_revision(label: str, top: Path, tree: Path, folder: Path) -> Reference:
    """The pages of `folder`'s manuscript as of a revision unpacked in `tree`, built by that
    revision's own build.py in this Python; by this Sats's code where its own cannot build it."""
    try:
        relative = folder.resolve().relative_to(top)
    except ValueError:
        raise SatsError.at(f"not in the repository {top}", folder) from None
    if not (tree / relative / "metadata.yaml").is_file():
        return Reference(label, {}, f"{relative} did not exist at {label}: every page is new")
    output = Path(tempfile.mkdtemp(dir=tree.parent))
    reason = "it has no build.py"
    if (tree / "build.py").is_file():
        run = subprocess.run([sys.executable, "build.py", "build", str(relative), "-o", str(output), "-q",
                              "--edition", "pdf"], cwd=tree, capture_output=True, text=True, check=False)
        pdfs = [path for path in output.glob("*.pdf") if not path.name.endswith(".print.pdf")]
        if run.returncode == 0 and len(pdfs) == 1:
            return Reference(label, numbered(pdfs[0]), "built by its own code and its own styles")
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        reason = f"exit {run.returncode}: {lines[-1].strip() if lines else 'no message'}"
    from . import pipeline

    try:
        built = pipeline.build(tree / relative, output, pipeline.Options(editions=("pdf",), force=True))
    except SatsError as error:
        raise SatsError.at(f"the manuscript as of {label} cannot be built, by its own code ({reason}) "
                           f"or by this one: {error}") from None
    return Reference(label, numbered(built.outputs["pdf"]),
                     f"its manuscript built by this version of Sats: its own code could not build it ({reason})")


def run(folders: list[Path], output: Path, against: str) -> Iterator[Review]:
    """Each manuscript's pages, built first as far as they are stale, against the reference's:
    a folder of page images if `against` is a folder, else a revision of their git repository."""
    from . import config, pipeline

    with contextlib.ExitStack() as stack:
        revision = None if Path(against).is_dir() else stack.enter_context(checkout(against, folders[0]))
        for folder in folders:
            project = config.load(folder)
            pdf = pipeline.build(folder, output, pipeline.Options(editions=("pdf",))).outputs["pdf"]
            reference = from_folder(Path(against), project) if revision is None else from_revision(*revision, folder)
            current = numbered(pdf)
            yield Review(project, reference, current, compare(current, reference.pages))


def _small(box: Box, height: int) -> bool:
    """Whether a region is a few lines, to be highlighted and shown enlarged, rather than a passage
    set anew, which its change bar marks enough."""
    return box.height <= height // 4


def _marked(page: Image.Image, regions: tuple[Box, ...]) -> Image.Image:
    """The page with a change bar in the margin beside each region and the small ones highlighted
    under their ink, as an editor marks a proof."""
    marked = page.copy()
    for box in (box for box in regions if _small(box, page.height)):
        area = (max(box.left - MARGIN, 0), max(box.top - MARGIN, 0), min(box.right + MARGIN, page.width),
                min(box.bottom + MARGIN, page.height))
        marked.paste(ImageChops.multiply(marked.crop(area), Image.new("RGB", (area[2] - area[0], area[3] - area[1]),
                                                                     HIGHLIGHT)), area[:2])
    return _barred(marked, regions)


def _barred(page: Image.Image, regions: tuple[Box, ...]) -> Image.Image:
    """The page with a change bar in its left margin beside each region (drawn on `page`)."""
    draw = ImageDraw.Draw(page)
    for box in regions:
        draw.rectangle((BAR, max(box.top - MARGIN, 0), BAR + BAR_WIDTH, min(box.bottom + MARGIN, page.height)),
                       fill=BOX)
    return page


def overlay(before: Image.Image, after: Image.Image, regions: tuple[Box, ...]) -> Image.Image:
    """The current page faded, the ink only the reference has in red, the ink only the current
    page has in blue, and the regions boxed."""
    _, _, mask = difference(before, after)
    if before.size != after.size:
        return _marked(after, regions)
    removed = ImageChops.subtract(after.convert("L"), before.convert("L")).point(lambda v: 255 if v else 0)
    shown = Image.blend(after, Image.new("RGB", after.size, "white"), 0.8)
    shown.paste(Image.new("RGB", after.size, ADDED), mask=mask)
    shown.paste(Image.new("RGB", after.size, REMOVED), mask=ImageChops.multiply(mask, removed))
    return _barred(shown, regions)


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size)


def _fitted(text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    """`text`, cut at its end with an ellipsis where it is wider than `width`."""
    while font.getlength(text) > width:
        text = text[:-2] + "…"
    return text


def contact_sheet(result: Review) -> Image.Image:
    """A row per page that is not unchanged: the reference, the current page and their
    difference, each region boxed, under a caption."""
    rows = result.changes
    thumbs: list[list[Image.Image | None]] = [list(_views(result, page).values()) for page in rows]
    height = max(round(page.size[1] * THUMB / page.size[0]) for page in rows)
    row_height = LABEL + height + CAPTION + GAP
    sheet = Image.new("RGB", (3 * THUMB + 4 * GAP, LABEL + len(rows) * row_height + GAP), "#d9d9d9")
    draw = ImageDraw.Draw(sheet)
    font = _font(18)
    title = f"{result.project.slug}: {result.summary}, against {result.reference.label}"
    draw.text((GAP, GAP), _fitted(title, font, sheet.width - 2 * GAP), fill="black", font=font)
    for row, (page, views) in enumerate(zip(rows, thumbs, strict=True)):
        top = LABEL + GAP + row * row_height
        draw.text((GAP, top + 4), page.line, fill="black", font=font)
        for column, title in enumerate(VIEWS):
            draw.text((GAP + column * (THUMB + GAP) + THUMB // 2, top + LABEL + height + 4), title, fill="#555555",
                      font=font, anchor="ma")
        for column, (title, view) in enumerate(zip(VIEWS, views, strict=True)):
            left = GAP + column * (THUMB + GAP)
            if view is None:
                draw.rectangle((left, top + LABEL, left + THUMB, top + LABEL + height), outline="#9a9a9a", width=2)
                draw.text((left + THUMB // 2, top + LABEL + height // 2), f"no {title} page", fill="#555555",
                          font=font, anchor="mm")
                continue
            sheet.paste(view.resize((THUMB, round(view.height * THUMB / view.width)), Image.Resampling.LANCZOS),
                        (left, top + LABEL))
    return sheet


def _views(result: Review, page: Page) -> dict[str, Image.Image | None]:
    """The page as the reference has it and as it is now, boxed, and their difference."""
    before, after = result.reference.pages.get(page.number), result.current.get(page.number)
    return {"reference": _marked(before, page.regions) if before else None,
            "current": _marked(after, page.regions) if after else None,
            "difference": overlay(before, after, page.regions) if before and after else None}


def _crops(page: Page) -> tuple[Box, ...]:
    """The regions small enough to show enlarged (a reflowed page is seen whole), widened to
    show the words around them; the first CROPS of them."""
    width, height = page.size
    return tuple(Box(max(box.left - CONTEXT, 0), max(box.top - MARGIN // 2, 0), min(box.right + CONTEXT, width),
                     min(box.bottom + MARGIN // 2, height))
                 for box in page.regions if _small(box, height))[:CROPS]


@dataclass(frozen=True)
class Shown:
    """A page of the report: its verdict and the names of its images."""

    page: Page
    images: dict[str, str]  # reference / current / difference → file name
    crops: tuple[Box, ...]  # the regions with some context around them, shown enlarged, before and after


@dataclass(frozen=True)
class Context:
    """What the report's template sees."""

    review: Review
    shown: tuple[Shown, ...]
    sheet: str | None
    css: Markup
    threshold: int
    noise: int
    width: int
    crop_width: int  # px: the widest a region is shown


def write(result: Review, folder: Path) -> Path:
    """Write the report, the images of every page that is not unchanged and the contact sheet into
    `folder` (replacing what an earlier review wrote there); return the report's path."""
    from . import templates

    preview.remove(folder, WRITTEN)
    folder.mkdir(parents=True, exist_ok=True)
    shown = []
    for page in result.changes:
        names = {}
        for kind, view in _views(result, page).items():
            if view is not None:
                names[kind] = f"page-{page.number}.{kind}.png"
                write_atomically(folder / names[kind], images.png(view))
        shown.append(Shown(page, names, _crops(page) if len(names) == len(VIEWS) else ()))
    sheet = None
    if result.changes:
        sheet = SHEET
        write_atomically(folder / SHEET, images.png(contact_sheet(result)))
    context = Context(result, tuple(shown), sheet, Markup(CSS.read_text(encoding="utf-8")), THRESHOLD, NOISE,
                      WIDTH, CROP_WIDTH)
    html = templates.environment().get_template("review/report.html.j2").render(context=context)
    write_atomically(folder / REPORT, html.encode())
    return folder / REPORT

