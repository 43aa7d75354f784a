"""The preflight report of the PDF for the press: what a printer checks before printing it.

Its problems (an image below 150 ppi at its placed size, ink above the profile's limit, colour
the press does not take, a font not embedded) and warnings (an image below 300 ppi) are also
the build's warnings, which `--strict` makes fatal."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

from . import colour
from . import fonts as project_fonts
from .artwork import Artwork
from .characters import one_line
from .config import Press
from .errors import Problem

MM = 25.4 / 72
GOOD_PPI = 300  # below it, a warning
MINIMUM_PPI = 150  # below it, a problem
INK_TOLERANCE = 2  # per cent: 8-bit samples and the profile's interpolation round up to this much
COLOUR_OPERATORS = {"k": "DeviceCMYK", "K": "DeviceCMYK", "rg": "DeviceRGB", "RG": "DeviceRGB",
                    "g": "DeviceGray", "G": "DeviceGray"}
PRESS_SPACES = {"DeviceCMYK", "DeviceGray", "Pattern", "ICCBased CMYK", "ICCBased Gray"}
ICC_COMPONENTS = {1: "Gray", 3: "RGB", 4: "CMYK"}
REGISTRATION = [1.0] * 4  # the crop marks' colour, on every plate: not ink on the page


@dataclass
class Report:
    """What the preflight found."""

    pages: int = 0
    trim: str = ""
    bleed: str = ""
    standard: str = ""
    profile: str = ""
    colour_spaces: list[str] = field(default_factory=list)
    coverage: str = ""
    fonts: list[str] = field(default_factory=list)
    fonts_embedded: bool = True
    images: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    root: Path = Path()

    @property
    def findings(self) -> tuple[Problem, ...]:
        """The problems, then the warnings: the build reports each."""
        return (*self.problems, *self.warnings)

    def lines(self, found: list[Problem]) -> list[str]:
        """Problems as the report prints them: at their place in the manuscript folder."""
        return [one_line(f"{_relative(problem.path, self.root)}:{problem.line}: {problem.message}" if problem.path
                         else problem.message) for problem in found]


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return path.name


def _size(box: pikepdf.Object) -> tuple[float, float]:
    left, bottom, right, top = (float(value) for value in box)
    return (right - left) * MM, (top - bottom) * MM


def inspect(data: bytes, press: Press, images: Mapping[str, tuple[Artwork, ...]], root: Path) -> Report:
    """Inspect the press PDF: boxes, standard, colour and ink, fonts, and images at their placed
    size, named by their files and the Markdown lines that place them, where `images` (by the
    images' names in the pages' resources) knows them."""
    report = Report(root=root)
    fonts: dict[str, bool] = {}
    ink = _Ink(press.max_ink)
    with pikepdf.open(io.BytesIO(data)) as document:
        report.pages = len(document.pages)
        trims, bleeds = set(), set()
        reader = _Reader(report, images, ink)
        for number, page in enumerate(document.pages, int(document.Root.PageLabels.Nums[1].St)):
            if "/TrimBox" not in page.obj or "/BleedBox" not in page.obj:
                report.problems.append(Problem(f"page {number} has no trim box or no bleed box"))
                continue
            trims.add("{:.1f} × {:.1f} mm".format(*_size(page.TrimBox)))
            (trim_width, _), (bleed_width, _) = _size(page.TrimBox), _size(page.BleedBox)
            bleeds.add(f"{(bleed_width - trim_width) / 2:.1f} mm on every side")
            reader.page(page, number)
            for font in project_fonts.used(page.Resources):
                descriptor = font.get("/FontDescriptor") or font.DescendantFonts[0].FontDescriptor
                embedded = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
                fonts[str(font.BaseFont)[1:]] = embedded
        report.trim = " / ".join(sorted(trims)) + (" on every page" if len(trims) == 1 else " (pages differ)")
        report.bleed = " / ".join(sorted(bleeds))
        intents = document.Root.get("/OutputIntents")
        identifier = document.open_metadata().get("pdfxid:GTS_PDFXVersion")
        if identifier and intents:
            report.standard = one_line(f"{identifier}, output intent {intents[0].OutputConditionIdentifier}")
        else:
            report.standard = "not PDF/X: no output intent"
    report.profile = one_line(f"{colour.Separation(press.profile).description} ({press.profile.name}, "
                              f"{'shipped with Sats' if press.shipped else 'the printer’s'}), "
                              f"relative colorimetric with black-point compensation")
    report.colour_spaces = sorted(reader.spaces) or ["none"]
    foreign = sorted(reader.spaces - PRESS_SPACES)
    if foreign:
        report.problems.append(Problem(f"colour in {', '.join(foreign)}: the press takes CMYK and grey only"))
    report.coverage = f"at most {ink.highest:.0f} %, limit {press.max_ink} %"
    for number, (highest, artwork) in sorted(ink.over.items()):
        where = f" in image {artwork.name!r}" if artwork else ""
        report.problems.append(Problem(f"page {number}: total area coverage {highest:.0f} %{where}, above the "
                                       f"limit of {press.max_ink} %", *_place(artwork)))
    report.fonts = [one_line(f"{name} ({'embedded' if ok else 'NOT EMBEDDED'})") for name, ok in sorted(fonts.items())]
    report.fonts_embedded = all(fonts.values())
    if not report.fonts_embedded:
        report.problems.append(Problem("a font is not embedded"))
    report.problems += [Problem(f"font {name} is not one of the project's: a fallback") for name in sorted(fonts)
                        if not project_fonts.is_own(name)]
    return report


def _place(artwork: Artwork | None) -> tuple[Path | None, int | None]:
    return (artwork.source, artwork.line) if artwork else (None, None)


class _Ink:
    """The highest total area coverage on each page, and the pages above the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.highest = 0.0
        self.over: dict[int, tuple[float, Artwork | None]] = {}
        self._images: dict[tuple[int, int], float] = {}

    def add(self, number: int, coverage: float, artwork: Artwork | None = None) -> None:
        """Count `coverage` (per cent) on page `number`."""
        self.highest = max(self.highest, coverage)
        if coverage > self.limit + INK_TOLERANCE and coverage > self.over.get(number, (0.0, None))[0]:
            self.over[number] = (coverage, artwork)

    def image(self, image: pikepdf.Object) -> float:
        """The highest coverage of a CMYK image where it shows (each image read once)."""
        assert isinstance(image, pikepdf.Stream)
        if image.objgen not in self._images:
            mask = image.get("/SMask")
            self._images[image.objgen] = colour.coverage(
                pikepdf.PdfImage(image).as_pil_image(apply_mask=False),
                pikepdf.PdfImage(mask).as_pil_image().convert("L") if isinstance(mask, pikepdf.Stream) else None)
        return self._images[image.objgen]

    def shading(self, number: int, shading: pikepdf.Object) -> None:
        """Count the highest coverage of a CMYK gradient sampled as Sats samples them."""
        function = shading.get("/Function")
        if (shading.get("/ColorSpace") == "/DeviceCMYK" and isinstance(function, pikepdf.Stream)
                and function.get("/FunctionType") == 0 and function.get("/BitsPerSample") == 8):
            samples = function.read_bytes()
            self.add(number, max(sum(samples[i:i + 4]) for i in range(0, len(samples) - 3, 4)) * 100 / 255)


READ_OPERATORS = " ".join([*COLOUR_OPERATORS, "cs", "CS", "sc", "scn", "SC", "SCN", "q", "Q", "cm", "Do", "sh"])


class _Reader:
    """Reads the pages' content, into form XObjects and tiling patterns, for colour spaces, ink
    and the placed size of images."""

    def __init__(self, report: Report, images: Mapping[str, tuple[Artwork, ...]], ink: _Ink) -> None:
        self.report = report
        self.placements = images
        self.drawn: dict[str, int] = {}  # how many times each image was drawn so far
        self.ink = ink
        self.spaces: set[str] = set()
        self._reported: set[tuple[int, int, tuple[int, int]]] = set()

    def page(self, page: pikepdf.Page, number: int) -> None:
        """Read one page."""
        self._stream(page, page.obj.get("/Resources"), pikepdf.Matrix(), number, set())
        group = page.obj.get("/Group")
        if isinstance(group, pikepdf.Dictionary) and "/CS" in group:
            self.spaces.add(_space_name(group.CS))

    def _stream(self, stream: pikepdf.Page | pikepdf.Object, resources: pikepdf.Object | None,
                base: pikepdf.Matrix, number: int, within: set[tuple[int, int]]) -> None:
        matrix = [base]
        spaces: list[tuple[str, str]] = [("DeviceGray", "DeviceGray")]
        resources = resources if resources is not None else pikepdf.Dictionary()
        for instruction in pikepdf.parse_content_stream(stream, READ_OPERATORS):  # text skipped, faster
            operands, name = instruction.operands, str(instruction.operator)
            stroke = name.isupper() and name not in ("Q", "Do")
            if name in COLOUR_OPERATORS:
                space = COLOUR_OPERATORS[name]
                spaces[-1] = (spaces[-1][0], space) if stroke else (space, spaces[-1][1])
                self.spaces.add(space)
                if space == "DeviceCMYK":
                    self._colour(number, [float(v) for v in operands], stroke)
            elif name in ("cs", "CS"):
                space = self._named_space(resources, str(operands[0]))
                spaces[-1] = (spaces[-1][0], space) if stroke else (space, spaces[-1][1])
                self.spaces.add(space)
            elif name in ("sc", "scn", "SC", "SCN"):
                if spaces[-1][1 if stroke else 0] == "DeviceCMYK":
                    self._colour(number, [float(v) for v in operands], stroke)
                elif operands and isinstance(operands[-1], pikepdf.Name):
                    pattern = resources.get("/Pattern", pikepdf.Dictionary()).get(str(operands[-1]))
                    self._pattern(pattern, number, within)
            elif name == "q":
                matrix.append(matrix[-1])
                spaces.append(spaces[-1])
            elif name == "Q" and len(matrix) > 1:
                matrix.pop()
                spaces.pop()
            elif name == "cm":
                matrix[-1] = pikepdf.Matrix(*(float(value) for value in operands)) @ matrix[-1]
            elif name == "sh":
                shading = resources.get("/Shading", pikepdf.Dictionary()).get(str(operands[0]))
                if shading is not None:
                    self.spaces.add(_space_name(shading.ColorSpace))
                    self.ink.shading(number, shading)
            elif name == "Do":
                self._xobject(resources.XObject[str(operands[0])], str(operands[0]), matrix[-1], number, within)

    def _named_space(self, resources: pikepdf.Object, name: str) -> str:
        spaces = resources.get("/ColorSpace", pikepdf.Dictionary())
        return _space_name(spaces[name]) if name in spaces else name[1:]

    def _colour(self, number: int, values: list[float], stroke: bool) -> None:
        if len(values) == 4 and not (stroke and values == REGISTRATION):
            self.ink.add(number, sum(values) * 100)

    def _pattern(self, pattern: pikepdf.Object | None, number: int, within: set[tuple[int, int]]) -> None:
        if pattern is None or pattern.objgen in within:
            return
        if pattern.get("/PatternType") == 2:
            self.spaces.add(_space_name(pattern.Shading.ColorSpace))
            self.ink.shading(number, pattern.Shading)
            return
        base = pikepdf.Matrix(*(float(v) for v in pattern.get("/Matrix", [1, 0, 0, 1, 0, 0])))
        self._stream(pattern, pattern.get("/Resources"), base, number, within | {pattern.objgen})

    def _xobject(self, xobject: pikepdf.Object, name: str, matrix: pikepdf.Matrix, number: int,
                 within: set[tuple[int, int]]) -> None:
        if xobject.get("/Subtype") == "/Form" and xobject.objgen not in within:
            group = xobject.get("/Group")
            if isinstance(group, pikepdf.Dictionary) and "/CS" in group:
                self.spaces.add(_space_name(group.CS))
            form = pikepdf.Matrix(*(float(v) for v in xobject.get("/Matrix", [1, 0, 0, 1, 0, 0])))
            self._stream(xobject, xobject.get("/Resources"), form @ matrix, number, within | {xobject.objgen})
        elif xobject.get("/Subtype") == "/Image":
            self._image(xobject, name, matrix, number)

    def _image(self, image: pikepdf.Object, name: str, matrix: pikepdf.Matrix, number: int) -> None:
        """An image's effective resolution at its placed size, on each axis, and its ink."""
        width, height = int(image.Width), int(image.Height)
        placed_width = math.hypot(matrix.a, matrix.b) / 72  # inches
        placed_height = math.hypot(matrix.c, matrix.d) / 72
        ppi = round(min(width / placed_width if placed_width else 0, height / placed_height if placed_height else 0))
        space = _space_name(image.get("/ColorSpace", pikepdf.Name.DeviceGray))
        self.spaces.add(space)
        placements = self.placements.get(name, ())
        drawn = self.drawn[name] = self.drawn.get(name, -1) + 1  # the n-th time drawn, the n-th placement
        artwork = placements[min(drawn, len(placements) - 1)] if placements else None
        if space == "DeviceCMYK":
            self.ink.add(number, self.ink.image(image), artwork)
        key = (number, ppi, image.objgen)
        if key in self._reported:
            return
        self._reported.add(key)
        label = f"{artwork.name!r}, " if artwork else ""
        self.report.images.append(one_line(f"page {number}: {label}{width}×{height} px at {ppi} ppi, {space}"))
        what = f"image {artwork.name!r}" if artwork else "an image"
        message = f"page {number}: {what} at {ppi} ppi at its placed size"
        if ppi < MINIMUM_PPI:
            self.report.problems.append(Problem(f"{message}, below {MINIMUM_PPI} ppi", *_place(artwork)))
        elif ppi < GOOD_PPI:
            self.report.warnings.append(Problem(f"{message}, below {GOOD_PPI} ppi", *_place(artwork)))


def _space_name(space: pikepdf.Object) -> str:
    """A colour space as the report names it: DeviceCMYK, ICCBased RGB, Lab, …"""
    if isinstance(space, pikepdf.Name):
        return str(space)[1:]
    family = str(space[0])[1:]
    if family == "ICCBased":
        return f"ICCBased {ICC_COMPONENTS.get(int(space[1].N), '?')}"
    return family
