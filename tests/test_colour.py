"""Colour for the press: a manuscript with an RGB chart, a JPEG photograph, a colour SVG (a
gradient, an opacity, a Lab colour), an RGBA image and a CMYK image above any ink limit. Its press
PDF has its colour in the printer's CMYK, converted as LittleCMS converts it; its preflight
measures each image at its placed size and the ink, and names the files."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from conftest import FIXTURES, ROOT, Built
from PIL import Image, ImageChops, ImageCms

from sats import artwork, colour, config, finishing, manuscript, preflight
from sats.cli import main
from sats.errors import SatsError, display_path

FIXTURE = FIXTURES / "colour-figures"
PROFILE = ROOT / "styles" / "icc" / "FOGRA39L.icc"
RGB_SPACES = ("/DeviceRGB", "/CalRGB", "/Lab")
FLAGS = ImageCms.Flags.BLACKPOINTCOMPENSATION | ImageCms.Flags.NOOPTIMIZE  # Sats's: no precalculated tables
CONTENT_OPERATORS = ("rg", "RG", "k", "K", "g", "G", "cs", "CS", "sc", "scn", "SC", "SCN")


def _press(built: Built) -> pikepdf.Pdf:
    return pikepdf.open(built.output / built.project.file("print"))


def _transform() -> ImageCms.ImageCmsTransform:
    """What LittleCMS makes of sRGB on the shipped profile: relative colorimetric, black point compensated."""
    return ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.getOpenProfile(str(PROFILE)), "RGB",
                                   "CMYK", renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                                   flags=FLAGS)


def _cmyk(red: int, green: int, blue: int, source: bytes | None = None) -> list[float]:
    """A colour as LittleCMS converts it, from sRGB or from the profile `source`."""
    transform = _transform() if source is None else ImageCms.buildTransform(
        ImageCms.ImageCmsProfile(io.BytesIO(source)), ImageCms.getOpenProfile(str(PROFILE)), "RGB", "CMYK",
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, flags=FLAGS)
    converted = ImageCms.applyTransform(Image.new("RGB", (1, 1), (red, green, blue)), transform)
    assert converted is not None
    return [round(value / 255, 4) for value in converted.getpixel((0, 0))]  # type: ignore[union-attr]


def _is_rgb(space: pikepdf.Object) -> bool:
    """Whether a colour space is RGB (device, calibrated or ICC-based) or Lab, or built on one."""
    if isinstance(space, pikepdf.Name):
        return str(space) == "/DeviceRGB"
    if isinstance(space, pikepdf.Array) and len(space):
        if str(space[0]) in RGB_SPACES or (str(space[0]) == "/ICCBased" and int(space[1].N) == 3):
            return True
        return any(_is_rgb(part) for part in space[1:] if isinstance(part, (pikepdf.Name, pikepdf.Array)))
    return False


def _content_streams(document: pikepdf.Pdf) -> Iterator[tuple[pikepdf.Object, pikepdf.Object]]:
    """Every content stream with its resources: pages, form XObjects (SVG figures, transparency
    groups, soft masks' groups, annotation appearances) and tiling patterns."""
    for page in document.pages:
        yield page, page.obj.get("/Resources")
    for thing in document.objects:
        if isinstance(thing, pikepdf.Stream) and (thing.get("/Subtype") == "/Form" or thing.get("/PatternType") == 1):
            yield thing, thing.get("/Resources")


def _colour_spaces(document: pikepdf.Pdf) -> list[pikepdf.Object]:
    """Every colour space the document declares: of images (and their soft masks), shadings,
    transparency groups, resources and output, wherever they are."""
    found = []
    for thing in document.objects:
        if isinstance(thing, (pikepdf.Dictionary, pikepdf.Stream)):
            for key in ("/ColorSpace", "/CS"):
                space = thing.get(key)
                if key == "/ColorSpace" and isinstance(space, pikepdf.Dictionary):
                    found.extend(space.values())  # a resource dictionary of named spaces
                elif space is not None:
                    found.append(space)
            group = thing.get("/Group")
            if isinstance(group, pikepdf.Dictionary) and "/CS" in group:
                found.append(group.CS)
    return found


def _rgb_instructions(document: pikepdf.Pdf) -> list[str]:
    """Content instructions that paint in RGB: rg and RG, and colour spaces set by name to RGB."""
    found = []
    for stream, resources in _content_streams(document):
        named = resources.get("/ColorSpace", {}) if resources is not None else {}
        for operands, operator in pikepdf.parse_content_stream(stream, " ".join(CONTENT_OPERATORS)):
            if str(operator) in ("rg", "RG"):
                found.append(f"{operands} {operator}")
            elif str(operator) in ("cs", "CS"):
                space = named.get(str(operands[0]), operands[0])
                if _is_rgb(space):
                    found.append(f"{operands[0]} {operator}")
    return found


def test_the_archival_pdf_has_the_rgb_the_press_pdf_has_not(figures: Built) -> None:
    """The fixture's archival PDF holds RGB in every place it can hide; the press PDF in none."""
    with pikepdf.open(figures.pdf) as archival:
        assert any(_is_rgb(space) for space in _colour_spaces(archival))
        images = [x for x in archival.pages[0].Resources.XObject.values() if x.get("/Subtype") == "/Image"]
        assert sorted(str(x.ColorSpace) for x in images) == ["/DeviceCMYK", "/DeviceRGB", "/DeviceRGB", "/DeviceRGB"]
        assert any("/SMask" in x for x in images)
        instructions = _rgb_instructions(archival)
        assert any(i.endswith(" rg") for i in instructions) and any(i.endswith(" RG") for i in instructions)
        assert "/lab-d50 cs" in instructions, "the SVG's lab() colour"
        shadings = [s for s in archival.objects if isinstance(s, pikepdf.Dictionary) and "/ShadingType" in s]
        assert shadings and all(_is_rgb(s.ColorSpace) for s in shadings)
        groups = [x.Group for x, _ in _content_streams(archival) if isinstance(x, pikepdf.Stream) and "/Group" in x]
        assert groups and all(_is_rgb(group.CS) for group in groups)
    with _press(figures) as press:
        assert [space for space in _colour_spaces(press) if _is_rgb(space)] == []
        assert _rgb_instructions(press) == []
        shadings = [s for s in press.objects if isinstance(s, pikepdf.Dictionary) and "/ShadingType" in s]
        assert shadings and all(s.ColorSpace == "/DeviceCMYK" for s in shadings)
        images = [x for x in press.pages[0].Resources.XObject.values() if x.get("/Subtype") == "/Image"]
        assert [str(x.ColorSpace) for x in images] == ["/DeviceCMYK"] * 4
        assert all(x.SMask.ColorSpace == "/DeviceGray" for x in images if "/SMask" in x), "soft masks stay grey"


def test_vector_colours_are_converted_by_the_profile(figures: Built) -> None:
    """The SVG's red stroke (#c03020) in CMYK as LittleCMS converts it; black text in black ink alone."""
    with _press(figures) as press:
        instructions = [([float(v) for v in operands], str(operator)) for page in press.pages
                        for operands, operator in pikepdf.parse_content_stream(page, "k K")]
    assert (_cmyk(0xC0, 0x30, 0x20), "K") in instructions
    assert (_cmyk(0xA0, 0x20, 0x80), "k") in instructions, "the SVG's text"
    assert ([0, 0, 0, 1], "k") in instructions, "text in black ink alone, not rich black"
    assert _cmyk(0xC0, 0x30, 0x20)[0:3] != [0, 0, 0]


def test_gradients_are_sampled_in_cmyk(figures: Built) -> None:
    """The SVG's gradient from #e8f4ff to #0050a0, in WeasyPrint's ICC-based sRGB: its CMYK
    samples begin and end at the stops converted from that profile."""
    with pikepdf.open(figures.pdf) as archival:
        (shading,) = [s for s in archival.objects if isinstance(s, pikepdf.Dictionary) and "/ShadingType" in s]
        profile = shading.ColorSpace[1].read_bytes()
    with _press(figures) as press:
        (shading,) = [s for s in press.objects if isinstance(s, pikepdf.Dictionary) and "/ShadingType" in s]
        function = shading.Function
        assert function.FunctionType == 0 and list(function.Size) == [256] and len(function.Range) == 8
        samples = function.read_bytes()
    first, last = [round(v / 255, 4) for v in samples[:4]], [round(v / 255, 4) for v in samples[-4:]]
    assert first == _cmyk(0xE8, 0xF4, 0xFF, profile) and last == _cmyk(0x00, 0x50, 0xA0, profile)


def test_images_are_converted_by_the_profile(figures: Built) -> None:
    """The chart (lossless, sRGB) pixel for pixel as LittleCMS converts it; the photograph (a
    JPEG, and still one) within JPEG's error, from the RGB profile embedded in its file, which
    WeasyPrint drops."""
    transform = _transform()
    with _press(figures) as press:
        images = {(int(x.Width), int(x.Height)): x for x in press.pages[0].Resources.XObject.values()
                  if x.get("/Subtype") == "/Image"}
        chart = pikepdf.PdfImage(images[600, 400]).as_pil_image()
        photo_stream = images[400, 300]
        assert photo_stream.Filter == "/DCTDecode"
        photo = pikepdf.PdfImage(photo_stream).as_pil_image()
    expected = ImageCms.applyTransform(Image.open(FIXTURE / "chart.png").convert("RGB"), transform)
    assert expected is not None and chart.mode == "CMYK"
    assert chart.tobytes() == expected.tobytes()
    original = Image.open(FIXTURE / "photo.jpg")
    embedded = ImageCms.ImageCmsProfile(io.BytesIO(original.info["icc_profile"]))
    assert embedded.profile.profile_description == "Compatible with Adobe RGB (1998)"
    from_embedded = ImageCms.buildTransform(embedded, ImageCms.getOpenProfile(str(PROFILE)), "RGB", "CMYK",
                                            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                                            flags=FLAGS)
    expected = ImageCms.applyTransform(original.convert("RGB"), from_embedded)
    as_srgb = ImageCms.applyTransform(original.convert("RGB"), transform)
    assert expected is not None and as_srgb is not None

    def distance(first: object, second: object) -> int:
        return max(abs(a - b) for a, b in zip(first, second, strict=True))  # type: ignore[call-overload]

    for point in ((10, 10), (200, 150), (390, 290), (10, 290)):
        assert distance(photo.getpixel(point), expected.getpixel(point)) <= 8, point
    assert distance(photo.getpixel((10, 290)), as_srgb.getpixel((10, 290))) > 40, "a saturated green"


def test_the_press_pdf_renders_as_the_archival_one(figures: Built) -> None:
    """Converted, the press PDF's colours are neither inverted nor lost: PDFium renders the
    chart's red bar as red as in the archival PDF."""
    reds = []
    for pdf in (figures.pdf, figures.output / figures.project.file("print")):
        document = pdfium.PdfDocument(str(pdf))
        red, green, blue = document[0].render(scale=1).to_pil().convert("RGB").split()
        document.close()
        mask = ImageChops.logical_and(ImageChops.logical_and(red.point(lambda v: 255 * (v > 180)).convert("1"),
                                                             green.point(lambda v: 255 * (v < 90)).convert("1")),
                                      blue.point(lambda v: 255 * (v < 90)).convert("1"))
        reds.append(mask.histogram()[255])
    archival, press = reds
    assert archival > 100 and abs(press - archival) < archival / 10, reds


def test_pdf_x4_with_the_shipped_profile_by_default(figures: Built) -> None:
    with _press(figures) as press:
        assert press.pdf_version == "1.6"
        (intent,) = press.Root.OutputIntents
        assert intent.S == "/GTS_PDFX" and str(intent.OutputConditionIdentifier) == "FOGRA39"
        assert str(intent.Info) == "Coated FOGRA39 (ISO 12647-2:2004)"
        assert intent.DestOutputProfile.read_bytes() == PROFILE.read_bytes()
        assert press.open_metadata().get("pdfxid:GTS_PDFXVersion") == "PDF/X-4"
    assert (ROOT / "styles" / "icc" / "README.md").is_file()
    assert PROFILE.stat().st_size < 200_000, "every press PDF embeds it"


def test_preflight_numbers(figures: Built) -> None:
    """Each image at its placed size, in pixels per inch on its coarser axis, as PDFium measures
    it too; ink coverage; which profile; problems and warnings at the Markdown lines."""
    report = (figures.output / figures.project.preflight_file).read_text()
    document = pdfium.PdfDocument(str(figures.output / figures.project.file("print")))
    measured = sorted(min(image.get_metadata().horizontal_dpi, image.get_metadata().vertical_dpi)
                      for page in document for image in page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE]))
    document.close()
    reported = sorted(int(ppi) for ppi in re.findall(r"px at (\d+) ppi", report))
    assert reported == [102, 203, 317, 381]
    assert all(abs(a - b) < 1 for a, b in zip(reported, measured, strict=True)), measured
    assert report.split("Images:")[1] == """        4
  page 101: 'chart.png', 600×400 px at 381 ppi, DeviceCMYK
  page 101: 'photo.jpg', 400×300 px at 203 ppi, DeviceCMYK
  page 102: 'thumbnail.png', 120×80 px at 102 ppi, DeviceCMYK
  page 102: 'rich-black.jpg', 150×100 px at 317 ppi, DeviceCMYK
Problems:      2
  body.md:12: page 102: image 'thumbnail.png' at 102 ppi at its placed size, below 150 ppi
  body.md:14: page 102: total area coverage 400 % in image 'rich-black.jpg', above the limit of 300 %
Warnings:      1
  body.md:8: page 101: image 'photo.jpg' at 203 ppi at its placed size, below 300 ppi
"""
    assert "Standard:      PDF/X-4, output intent FOGRA39\n" in report
    assert ("Profile:       Coated FOGRA39 (Sats, from the FOGRA39L characterization data) (FOGRA39L.icc, "
            "shipped with Sats), relative colorimetric with black-point compensation\n") in report
    assert "Colour spaces: DeviceCMYK, Pattern\n" in report
    assert "Ink coverage:  at most 400 %, limit 300 %\n" in report


def test_preflight_findings_are_warnings_that_strict_makes_fatal(figures: Built, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "dist"
    shutil.copytree(figures.output, output)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in output.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["build", str(FIXTURE), "-o", str(output), "--force", "--strict", "-q"]) == 1
    body = display_path(FIXTURE / "body.md")
    assert capsys.readouterr().err.strip().splitlines() == [
        f"{body}:12: page 102: image 'thumbnail.png' at 102 ppi at its placed size, below 150 ppi",
        f"{body}:14: page 102: total area coverage 400 % in image 'rich-black.jpg', above the limit of 300 %",
        f"{body}:8: page 101: image 'photo.jpg' at 203 ppi at its placed size, below 300 ppi",
    ]
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in output.rglob("*") if p.is_file()} == before


def test_the_report_cannot_be_forged_from_the_metadata(manuscript_copy: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A metadata value with line breaks, which would forge lines of the report, is refused."""
    metadata = manuscript_copy / "metadata.yaml"
    metadata.write_text(metadata.read_text().replace(
        "output-condition: FOGRA39", 'output-condition: "FOGRA39\\nProblems:      none\\rWarnings: none"'))
    assert main(["build", str(manuscript_copy), "-o", str(tmp_path), "--edition", "print"]) == 1
    assert capsys.readouterr().err.strip().endswith(
        "metadata.yaml:22: 'print.output-condition' must not hold a line break, "
        "got 'FOGRA39\\nProblems:      none\\rWarnings: none'")
    assert not list(tmp_path.glob("*.preflight.txt"))


@pytest.mark.parametrize(("press", "expected"), [
    ("print:\n  max-ink: 450\n", "metadata.yaml:21: 'print.max-ink' must be a whole number of per cent from 100 to "
                                 "400, got 450"),
    ("print:\n  output-condition: FOGRA51\n", "metadata.yaml:21: 'print.output-condition' is the condition of the "
                                              "printer's profile: name it in 'print.icc-profile'"),
])
def test_the_press_settings_are_checked(manuscript_copy: Path, press: str, expected: str) -> None:
    metadata = manuscript_copy / "metadata.yaml"
    text = metadata.read_text()
    metadata.write_text(text[:text.index("print:")] + press)
    with pytest.raises(SatsError) as error:
        config.load(manuscript_copy)
    assert str(error.value).endswith(expected)


def test_the_printers_ink_limit(manuscript_copy: Path) -> None:
    metadata = manuscript_copy / "metadata.yaml"
    metadata.write_text(metadata.read_text() + "  max-ink: 330\n")
    press = config.load(manuscript_copy).press
    assert (press.max_ink, press.condition, press.profile.parent, press.shipped) == (330, "FOGRA39", manuscript_copy,
                                                                                      False)


def _document(content: bytes, **resources: pikepdf.Object) -> tuple[pikepdf.Pdf, pikepdf.Page]:
    """A one-page PDF, labelled from page 7, drawing `content` with `resources`."""
    document = pikepdf.new()
    page = document.add_blank_page(page_size=(200, 200))
    page.obj.Resources = pikepdf.Dictionary(**resources)
    page.obj.Contents = document.make_stream(content)
    document.Root.PageLabels = pikepdf.Dictionary(Nums=[0, pikepdf.Dictionary(S=pikepdf.Name.D, St=7)])
    document.Root.OutputIntents = pikepdf.Array()  # as in an archival PDF, whose intent the press PDF replaces
    document.Root.Metadata = document.make_stream(b'<?xpacket begin=""?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
                                                  b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
                                                  b'</x:xmpmeta><?xpacket end="w"?>')
    return document, page


def _bytes(document: pikepdf.Pdf) -> bytes:
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


def test_colour_spaces_by_name_q_and_q_palettes_and_appearances() -> None:
    """What other PDFs than WeasyPrint's hold: a colour space set by name and restored by Q, an
    image with an RGB palette, an annotation's appearance. All in CMYK after, greys in black ink."""
    document, page = _document(b"q\n/CS0 cs\n1 0 0 sc\nQ\n0.5 sc\n0.2 0.2 0.2 rg\n/Im0 Do\n",
                               ColorSpace=pikepdf.Dictionary(CS0=pikepdf.Array([pikepdf.Name.CalRGB,
                                                                                pikepdf.Dictionary()])))
    palette = pikepdf.Array([pikepdf.Name.Indexed, pikepdf.Name.DeviceRGB, 1,
                             pikepdf.String(bytes([255, 0, 0, 0, 0, 255]))])
    page.obj.Resources.XObject = pikepdf.Dictionary(Im0=document.make_stream(
        bytes([0, 1, 1, 0]), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=2, Height=2,
        ColorSpace=palette, BitsPerComponent=8))
    appearance = document.make_stream(b"0 0 1 RG\n0 0 10 10 re\nS\n", Type=pikepdf.Name.XObject,
                                      Subtype=pikepdf.Name.Form, BBox=[0, 0, 10, 10])
    page.obj.Annots = pikepdf.Array([pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Square,
                                                        Rect=[0, 0, 10, 10], AP=pikepdf.Dictionary(N=appearance))])
    press = finishing.for_press(_bytes(document), config.Press(), "test")
    with pikepdf.open(io.BytesIO(press.data)) as result:
        page = result.pages[0]
        instructions = [(str(operator), [str(o) for o in operands]) for operands, operator in
                        pikepdf.parse_content_stream(page, "cs sc rg k Do")]
        assert instructions[:5] == [("cs", ["/DeviceCMYK"]), ("sc", [f"{v:g}" for v in _cmyk(255, 0, 0)]),
                                    ("sc", ["0.5"]), ("k", ["0", "0", "0", "0.8"]), ("Do", ["/Im0"])]
        image = pikepdf.PdfImage(page.Resources.XObject.Im0)
        red, blue = (bytes(round(v * 255) for v in _cmyk(*rgb)) for rgb in ((255, 0, 0), (0, 0, 255)))
        assert image.mode == "CMYK" and image.as_pil_image().tobytes() == red + blue + blue + red
        appearance = page.obj.Annots[0].AP.N.read_bytes()
        assert appearance.startswith(f"{' '.join(f'{v:g}' for v in _cmyk(0, 0, 255))} K\n".encode())
        assert "/CS0" not in page.Resources.ColorSpace


def test_a_gradient_sats_cannot_convert_stops_the_build_on_its_page() -> None:
    mesh = pikepdf.Dictionary(ShadingType=4, ColorSpace=pikepdf.Name.DeviceRGB, BitsPerCoordinate=8,
                              BitsPerComponent=8, BitsPerFlag=8, Decode=[0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    document, _ = _document(b"/Sh0 sh\n", Shading=pikepdf.Dictionary(Sh0=mesh))
    with pytest.raises(SatsError) as error:
        finishing.for_press(_bytes(document), config.Press(), "test")
    assert str(error.value) == ("the print edition's page 7 uses a gradient of shading type 4 in RGB (Sats converts "
                                "axial and radial ones), which Sats cannot convert to CMYK")


def test_ink_is_measured_where_an_image_shows(figures: Built) -> None:
    """The thumbnail's transparent pixels are black, rich black once converted, and hidden by its
    soft mask: they are no ink on paper."""
    with _press(figures) as press:
        (thumbnail,) = [x for x in press.pages[1].Resources.XObject.values() if x.get("/Subtype") == "/Image"
                        and x.get("/SMask") is not None]
        pixels = pikepdf.PdfImage(thumbnail).as_pil_image(apply_mask=False)
        mask = pikepdf.PdfImage(thumbnail.SMask).as_pil_image()
    assert colour.coverage(pixels) > 300 > colour.coverage(pixels, mask) > 100


def test_resolution_through_nested_forms_on_each_axis() -> None:
    """An image in a form whose matrix scales it, drawn at twice its size: an inch square once
    placed, so its 600 × 240 pixels are 600 ppi across and 240 ppi down: a warning at 240 ppi."""
    document, page = _document(b"q\n2 0 0 2 0 0 cm\n/Fm0 Do\nQ\n")
    image = document.make_stream(bytes(600 * 240), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                                 Width=600, Height=240, ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8)
    form = document.make_stream(b"q\n72 0 0 144 0 0 cm\n/Im0 Do\nQ\n", Type=pikepdf.Name.XObject,
                                Subtype=pikepdf.Name.Form, BBox=[0, 0, 100, 100], Matrix=[0.5, 0, 0, 0.25, 0, 0],
                                Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)))
    page.obj.Resources.XObject = pikepdf.Dictionary(Fm0=form)
    page.obj.TrimBox = page.obj.BleedBox = pikepdf.Array([0, 0, 200, 200])
    report = preflight.inspect(_bytes(document), config.Press(), {}, ROOT)
    assert report.images == ["page 7: 600×240 px at 240 ppi, DeviceGray"]
    assert [str(w) for w in report.warnings] == ["page 7: an image at 240 ppi at its placed size, below 300 ppi"]
    assert report.problems == []


def test_an_image_sats_cannot_convert_is_named_with_the_line_that_places_it(manuscript_copy: Path) -> None:
    """Known among the manuscript's images by its size, the PDF's image is reported at its
    Markdown line (an RGB colour-key mask is what WeasyPrint never writes, but a PDF may hold)."""
    Image.new("RGB", (30, 20), (200, 40, 120)).save(manuscript_copy / "keyed.png")
    body = manuscript_copy / "body.md"
    body.write_text(body.read_text() + "\n![Keyed](keyed.png)\n")
    source = manuscript.read(config.load(manuscript_copy))
    document, page = _document(b"q\n30 0 0 20 0 0 cm\n/Im0 Do\nQ\n")
    page.obj.Resources.XObject = pikepdf.Dictionary(Im0=document.make_stream(
        bytes([200, 40, 120] * 600), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=30, Height=20,
        ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8, Mask=[200, 200, 40, 40, 120, 120]))
    with pytest.raises(SatsError) as error:
        finishing.for_press(_bytes(document), config.Press(), "test", artwork.placed(source))
    lines = body.read_text().count("\n")
    assert str(error.value) == (f"{display_path(body)}:{lines}: image 'keyed.png' has a transparent colour given in "
                                "RGB (a colour-key mask), which Sats cannot convert to CMYK")
