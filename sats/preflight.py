"""The preflight report of the PDF for the press: what a printer checks before printing it."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pikepdf

MM = 25.4 / 72
MINIMUM_PPI = 300
COLOUR_OPERATORS = {"k": "DeviceCMYK", "K": "DeviceCMYK", "rg": "DeviceRGB", "RG": "DeviceRGB",
                    "g": "DeviceGray", "G": "DeviceGray"}


@dataclass
class Report:
    """What the preflight found."""

    pages: int = 0
    trim: str = ""
    bleed: str = ""
    standard: str = ""
    colour_spaces: list[str] = field(default_factory=list)
    fonts: list[str] = field(default_factory=list)
    fonts_embedded: bool = True
    images: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _size(box: pikepdf.Object) -> tuple[float, float]:
    left, bottom, right, top = (float(value) for value in box)
    return (right - left) * MM, (top - bottom) * MM


def inspect(data: bytes) -> Report:
    """Inspect the press PDF: boxes, standard, colour, fonts and images."""
    report = Report()
    spaces: set[str] = set()
    fonts: dict[str, bool] = {}
    with pikepdf.open(io.BytesIO(data)) as document:
        report.pages = len(document.pages)
        trims, bleeds = set(), set()
        for number, page in enumerate(document.pages, 1):
            if "/TrimBox" not in page.obj or "/BleedBox" not in page.obj:
                report.problems.append(f"page {number} has no trim box or no bleed box")
                continue
            trims.add("{:.1f} × {:.1f} mm".format(*_size(page.TrimBox)))
            (trim_width, _), (bleed_width, _) = _size(page.TrimBox), _size(page.BleedBox)
            bleeds.add(f"{(bleed_width - trim_width) / 2:.1f} mm on every side")
            _read_page(page, number, spaces, report)
            for font in page.Resources.get("/Font", {}).values():
                descriptor = font.get("/FontDescriptor") or font.DescendantFonts[0].FontDescriptor
                embedded = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
                fonts[str(font.BaseFont)[1:]] = embedded
        report.trim = " / ".join(sorted(trims)) + (" on every page" if len(trims) == 1 else " (pages differ)")
        report.bleed = " / ".join(sorted(bleeds))
        intents = document.Root.get("/OutputIntents")
        identifier = document.open_metadata().get("pdfxid:GTS_PDFXVersion")
        if identifier and intents:
            report.standard = f"{identifier}, output intent {intents[0].OutputConditionIdentifier}"
        else:
            report.standard = "not PDF/X: no printer's profile is named (print.icc-profile in the metadata)"
    report.colour_spaces = sorted(spaces) or ["none"]
    if "DeviceRGB" in spaces:
        report.problems.append("RGB colour: the press takes CMYK")
    report.fonts = [f"{name} ({'embedded' if ok else 'NOT EMBEDDED'})" for name, ok in sorted(fonts.items())]
    report.fonts_embedded = all(fonts.values())
    if not report.fonts_embedded:
        report.problems.append("a font is not embedded")
    return report


READ_OPERATORS = " ".join([*COLOUR_OPERATORS, "cs", "CS", "q", "Q", "cm", "Do"])


def _read_page(page: pikepdf.Page, number: int, spaces: set[str], report: Report) -> None:
    """Colour spaces and images of one page; an image's resolution from the matrix it is drawn at."""
    matrix = [pikepdf.Matrix()]
    for instruction in pikepdf.parse_content_stream(page, READ_OPERATORS):  # text is skipped, faster
        operands, operator = instruction.operands, instruction.operator
        name = str(operator)
        if name in COLOUR_OPERATORS:
            spaces.add(COLOUR_OPERATORS[name])
        elif name in ("cs", "CS"):
            spaces.add(str(operands[0])[1:])
        elif name == "q":
            matrix.append(matrix[-1])
        elif name == "Q" and len(matrix) > 1:
            matrix.pop()
        elif name == "cm":
            matrix[-1] = pikepdf.Matrix(*(float(value) for value in operands)) @ matrix[-1]
        elif name == "Do":
            xobject = page.Resources.XObject[str(operands[0])]
            if xobject.get("/Subtype") == "/Image":
                width_inches = abs(matrix[-1].a) / 72
                ppi = round(int(xobject.Width) / width_inches) if width_inches else 0
                space = str(xobject.get("/ColorSpace", "/?"))
                spaces.add(space[1:] if space.startswith("/") else "ICCBased")
                report.images.append(f"page {number}: {xobject.Width}×{xobject.Height} px at {ppi} ppi, {space}")
                if ppi < MINIMUM_PPI:
                    report.problems.append(f"page {number}: an image at {ppi} ppi, below {MINIMUM_PPI}")
