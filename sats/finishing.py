"""What WeasyPrint leaves undone in its PDF, done with pikepdf: the archival PDF's page labels,
artifacts and note identifiers; and the press PDF, made from the archival one, with its boxes,
crop marks, CMYK colour and output intent. Every PDF is saved reproducibly."""

from __future__ import annotations

import functools
import hashlib
import io
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pikepdf
from lxml import etree

from . import colour, templates
from .artwork import Artwork, Catalogue
from .config import DEFAULT_PROFILE, Press
from .errors import SatsError

# PDF/UA-1 identification, with the extension schemas PDF/A asks for it and for the authors' iDs
PDFUA_XMP = templates.TEMPLATES / "pdf" / "pdfua.xmp"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDF = f"{{{RDF_NS}}}RDF"
# What only the archival PDF claims: PDF/A, PDF/UA, and the schema PDF/A asks for the latter.
ARCHIVAL_CLAIMS = ("http://www.aiim.org/pdfa/ns/id/", "http://www.aiim.org/pdfua/ns/id/",
                   "http://www.aiim.org/pdfa/ns/extension/")
MM = 72 / 25.4
MARK_LENGTH = 6 * MM  # crop marks stand outside the bleed, this long
MARK_GAP = 1 * MM  # and this far from it
MARK_WIDTH = 0.25  # points


def _open(data: bytes) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(data))


def _save(document: pikepdf.Pdf, version: str = "") -> bytes:
    """Save with every stream compressed but the XMP metadata, with the header's `version` if given.

    WeasyPrint is asked for an uncompressed PDF: it compresses at zlib's slowest level, and
    compressing here once takes a fifth of that time for a file 3 % larger.
    """
    output = io.BytesIO()
    document.save(output, deterministic_id=True, compress_streams=True, force_version=version,
                  object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return output.getvalue()


def _content(document: pikepdf.Pdf, data: bytes) -> pikepdf.Stream:
    """A content stream (compressed when saved)."""
    return document.make_stream(data)


# Instructions rewritten here, as WeasyPrint writes them: each alone on its lines, text in hex strings.
MARKED_CONTENT = re.compile(rb"^/\w+\s*<<\s*/MCID (\d+)\s*>>\s*BDC$", re.MULTILINE)
RGB = re.compile(rb"^(?P<values>[-\d.]+ [-\d.]+ [-\d.]+) (?P<op>rg|RG)$", re.MULTILINE)


def _rewrite(document: pikepdf.Pdf, page: pikepdf.Page, pattern: re.Pattern[bytes],
             change: Callable[[re.Match[bytes]], bytes]) -> None:
    """Rewrite each instruction of the page's content that `pattern` matches through `change`.

    Working on the bytes rather than on parsed instructions takes a tenth of the time; the tests
    read the results back with a full content-stream parser.
    """
    page.contents_coalesce()
    page.Contents = _content(document, pattern.sub(change, page.Contents.read_bytes()))


def _label_pages(document: pikepdf.Pdf, first_page: int) -> None:
    """Page labels in decimal numbers from `first_page`, so that a reader's "go to page 325"
    lands on printed page 325 (WeasyPrint writes no page labels)."""
    document.Root.PageLabels = pikepdf.Dictionary(
        Nums=pikepdf.Array([0, pikepdf.Dictionary(S=pikepdf.Name.D, St=first_page)]))


def archival(data: bytes, first_page: int, orcids: tuple[str, ...] = ()) -> bytes:
    """Finish the tagged PDF/A-2a and PDF/UA-1 PDF: page labels, running heads and folios as
    artifacts, the tree of the notes' identifiers, and the authors' ORCID iDs (`orcids`, one
    for each author, empty for one without) in the XMP metadata."""
    with _open(data) as document:
        _label_pages(document, first_page)
        _margins_as_artifacts(document)
        identifier_tree(document)
        _identify_pdfua(document)
        if any(orcids):
            authors = etree.fromstring(templates.render("pdf/authors.xmp.j2", orcids=orcids))
            _edit_xmp(document, lambda rdf: rdf.extend(authors))
        _images_for_pdfa(document)
        return _save(document)


def _images_for_pdfa(document: pikepdf.Pdf) -> None:
    """What PDF/A-2 asks of images and WeasyPrint does not do: no /Interpolate, and a device
    independent DefaultCMYK (the FOGRA39 profile Sats ships) wherever a CMYK image is painted."""
    profile: pikepdf.Object | None = None
    for resources in _resources(document):
        images = [x for x in (resources.get("/XObject") or {}).values() if x.get("/Subtype") == "/Image"]
        for image in images:
            for picture in (image, image.get("/SMask")):
                if picture is not None and "/Interpolate" in picture:
                    del picture.Interpolate
        if any(image.get("/ColorSpace") == "/DeviceCMYK" for image in images):
            if profile is None:
                profile = document.make_indirect(document.make_stream(DEFAULT_PROFILE.read_bytes(), N=4))
            if "/ColorSpace" not in resources:
                resources.ColorSpace = pikepdf.Dictionary()
            resources.ColorSpace.DefaultCMYK = pikepdf.Array([pikepdf.Name.ICCBased, profile])


def _without_default_cmyk(document: pikepdf.Pdf) -> None:
    """Drop the archival PDF's DefaultCMYK: the press takes CMYK as it is, for its own profile."""
    for resources in _resources(document):
        spaces = resources.get("/ColorSpace")
        if spaces is not None and "/DefaultCMYK" in spaces:
            del spaces.DefaultCMYK


def _resources(document: pikepdf.Pdf) -> Iterator[pikepdf.Object]:
    """The resource dictionaries of the pages and of the forms they paint."""
    forms = (x for x in document.objects if isinstance(x, pikepdf.Stream) and x.get("/Subtype") == "/Form")
    for owner in [*(page.obj for page in document.pages), *forms]:
        if isinstance(owner.get("/Resources"), pikepdf.Dictionary):
            yield owner.Resources


def _identify_pdfua(document: pikepdf.Pdf) -> None:
    """Add the PDF/UA-1 identification (and the schema PDF/A asks for it) to the XMP metadata."""
    _edit_xmp(document, lambda rdf: rdf.extend(etree.parse(str(PDFUA_XMP)).getroot()))


def _edit_xmp(document: pikepdf.Pdf, edit: Callable[[etree._Element], None]) -> None:
    """Change the descriptions of the XMP metadata packet through `edit`, keeping its wrapper."""
    packet = document.Root.Metadata.read_bytes()
    xmp = etree.fromstring(packet)
    edit(xmp.find(f".//{RDF}"))
    etree.cleanup_namespaces(xmp)
    head, _, _ = packet.partition(b"<x:xmpmeta")
    _, _, tail = packet.rpartition(b"</x:xmpmeta>")
    document.Root.Metadata = document.make_stream(head + etree.tostring(xmp) + tail, Type=pikepdf.Name.Metadata,
                                                  Subtype=pikepdf.Name.XML)


def structure_elements(element: pikepdf.Object) -> Iterator[pikepdf.Dictionary]:
    """Every structure element under `element`."""
    kids = element.get("/K")
    for kid in (kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []):
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            yield kid
            yield from structure_elements(kid)


def _margins_as_artifacts(document: pikepdf.Pdf) -> None:
    """Mark the content that is in no structure element (WeasyPrint's margin boxes: running
    heads and folios) as pagination artifacts, which PDF/UA asks of page furniture."""
    root = document.Root.StructTreeRoot
    reachable = {element.objgen for element in structure_elements(root)}
    parents = root.ParentTree.Nums
    for number, page in enumerate(document.pages):
        _rewrite(document, page, MARKED_CONTENT,
                 functools.partial(_artifact_if_unmapped, parents[2 * number + 1], reachable))


def _artifact_if_unmapped(mapped: pikepdf.Object, reachable: set[tuple[int, int]], match: re.Match[bytes]) -> bytes:
    """A marked content sequence whose structure element is in no tree becomes an artifact."""
    mcid = int(match.group(1))
    if mapped[mcid].objgen in reachable:
        return match.group(0)
    mapped[mcid] = None  # its structure element is no longer wanted
    return b"/Artifact << /Type /Pagination >> BDC"


def identifier_tree(document: pikepdf.Pdf) -> None:
    """The structure root's /IDTree, which PDF readers use to find elements by /ID (notes)."""
    root = document.Root.StructTreeRoot
    named = sorted((str(element.ID), element) for element in structure_elements(root) if "/ID" in element)
    if named:
        names = pikepdf.Array()
        for name, element in named:
            names.extend([pikepdf.String(name), element])
        root.IDTree = document.make_indirect(pikepdf.Dictionary(Names=names))


def new_structure(document: pikepdf.Pdf) -> None:
    """Give `document`, once its pages are gone, a structure tree of its own to gather tagged
    PDFs into (`append_tagged`): a root, an empty parent tree, one Document element."""
    root = document.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot, ParentTreeNextKey=0))
    root.ParentTree = pikepdf.NumberTree.new(document).obj
    root.K = document.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.Document,
                                                       P=root, K=pikepdf.Array()))
    document.Root.StructTreeRoot = root


def append_tagged(document: pikepdf.Pdf, source: pikepdf.Pdf, kind: pikepdf.Name, identifiers: str,
                  title: str, lang: str | None = None) -> None:
    """Append the pages of the tagged PDF `source` to `document` (see `new_structure`), its
    structure tree with them: its Document element becomes a `kind` (Art, Part) titled `title`,
    in `lang` where given; its parent-tree keys (the pages' /StructParents, the annotations'
    /StructParent) follow the document's; its elements' /ID take the prefix `identifiers`, so
    that two sources' notes (fn1) stay apart (`identifier_tree` lists them once all are in);
    its role and class maps join the document's."""
    root = document.Root.StructTreeRoot
    first, base = len(document.pages), int(root.ParentTreeNextKey)
    document.pages.extend(source.pages)
    # Copied after the pages, so that its references to pages and annotations land on their copies.
    tree = document.copy_foreign(source.Root.StructTreeRoot)
    for page in document.pages[first:]:
        if "/StructParents" in page:
            page.StructParents = base + int(page.StructParents)
        for annotation in page.get("/Annots", []):
            if "/StructParent" in annotation:
                annotation.StructParent = base + int(annotation.StructParent)
    parents = pikepdf.NumberTree(root.ParentTree)
    next_key = int(tree.get("/ParentTreeNextKey", 0))
    for key, value in pikepdf.NumberTree(tree.ParentTree).items():
        parents[base + key] = value
        next_key = max(next_key, key + 1)
    root.ParentTreeNextKey = base + next_key
    (element,) = tree.K if isinstance(tree.K, pikepdf.Array) else [tree.K]  # its Document element
    element.S, element.P, element.T = kind, root.K, pikepdf.String(title)
    if lang:
        element.Lang = pikepdf.String(lang)
    root.K.K.append(element)
    for named in structure_elements(element):
        if "/ID" in named:
            named.ID = pikepdf.String(identifiers + str(named.ID))
    for mapping in ("/RoleMap", "/ClassMap"):
        _join_map(root, tree, mapping)


def _join_map(root: pikepdf.Object, tree: pikepdf.Object, key: str) -> None:
    """Add the names of the role or class map `key` of `tree` to `root`'s. Sats's tagging
    writes each name alike in every PDF; a name defined otherwise in two cannot be joined."""
    if key not in tree:
        return
    if key not in root:
        root[key] = pikepdf.Dictionary()
    joined = root[key]
    for name, value in tree[key].items():
        if name in joined and joined[name].unparse(resolved=True) != value.unparse(resolved=True):
            raise ValueError(f"two tagged PDFs define {name} in their {key} differently")
        joined[name] = value


@dataclass(frozen=True)
class PressPdf:
    """The PDF for the press, and the manuscript's image files its images were made from, by
    their names among the pages' resources."""

    data: bytes
    images: dict[str, tuple[Artwork, ...]]  # each image's placements in the Markdown, in order


def for_press(archival: bytes, press: Press, identifier: str, artworks: tuple[Artwork, ...] = ()) -> PressPdf:
    """The PDF for the press, made from the finished archival PDF: every colour and image in the
    printer's CMYK; trim, bleed and media boxes with crop marks outside the bleed; no archival
    claims; PDF/X-4 with the printer's profile (or the one Sats ships) as its output intent."""
    with _open(archival) as document:
        bleed = press.bleed_mm * MM
        inks = _Inks(document, colour.Separation(press.profile), Catalogue(artworks))
        for number, page in enumerate(document.pages, int(document.Root.PageLabels.Nums[1].St)):
            inks.page(page, number)
            _bleed_and_marks(document, page, bleed)
        inks.drop_converted_spaces()
        del document.Root.OutputIntents  # the archival PDF's sRGB intent
        _without_default_cmyk(document)
        _edit_xmp(document, _without_archival_claims)
        _output_intent(document, press)
        # The same identifier for the same sources, unlike WeasyPrint's random one.
        document_id = hashlib.sha256(identifier.encode()).hexdigest()[:32]
        modified = document.open_metadata().get("xmp:ModifyDate")
        pdfx = etree.fromstring(templates.render("pdf/pdfx.xmp.j2", modified=modified, document_id=document_id))
        _edit_xmp(document, lambda rdf: rdf.extend(pdfx))
        document.docinfo.Trapped = pikepdf.Name("/False")
        return PressPdf(_save(document, version="1.6"), inks.images)


def _without_archival_claims(rdf: etree._Element) -> None:
    """Drop the descriptions that identify PDF/A and PDF/UA (each stands alone in the packet)."""
    for description in list(rdf):
        names = [*description.attrib, *(child.tag for child in description)]
        if any(etree.QName(name).namespace in ARCHIVAL_CLAIMS for name in names):
            rdf.remove(description)


# Colour instructions as WeasyPrint writes them, each alone on its line: q and Q (the colour space is
# part of the graphics state they save), colour spaces set by name, and colours.
PAINT = re.compile(rb"^(?:(?P<save>q)|(?P<restore>Q)|/(?P<space>\S+) (?P<set>cs|CS)|"
                   rb"(?:(?P<values>[-\d.]+(?: [-\d.]+)*) )?(?:/(?P<pattern>\S+) )?"
                   rb"(?P<op>sc|scn|SC|SCN|rg|RG|g|G|k|K))$", re.MULTILINE)
SETS_SPACE = re.compile(rb" (?:cs|CS)$", re.MULTILINE)
GRADIENT_SAMPLES = 256  # a gradient's colours, sampled along it for its CMYK function
JPEG_QUALITY = 95
PROFILE_COMPRESSION = 5
ADOBE_CMYK_DECODE = [1, 0] * 4  # Pillow writes CMYK JPEG inverted, as Adobe does


class _Unconvertible(Exception):
    """Colour in a form Sats cannot convert to CMYK."""


class _Inks:
    """Turns the colour of a document's pages into the printer's CMYK: every content stream
    (pages, form XObjects such as SVG figures and transparency groups, tiling patterns, soft
    masks, annotation appearances), image, gradient and transparency group, each once."""

    def __init__(self, document: pikepdf.Pdf, separation: colour.Separation, catalogue: Catalogue) -> None:
        self.document = document
        self.separation = separation
        self.catalogue = catalogue
        self.images: dict[str, tuple[Artwork, ...]] = {}
        self._done: set[tuple[int, int]] = set()
        self._space_dictionaries: list[pikepdf.Object] = []
        self._profiles: dict[tuple[int, int], str] = {}  # ICC-based RGB spaces' sources, by their profile
        self.where = ""

    def page(self, page: pikepdf.Page, number: int) -> None:
        """Convert one page and everything it draws."""
        self.where = f"the print edition's page {number}"
        resources = page.obj.get("/Resources")
        try:
            page.contents_coalesce()
            page.Contents = _content(self.document, self._paint(page.Contents.read_bytes(), resources))
            self._group(page.obj)
            self._resources(resources)
            for annotation in page.obj.get("/Annots", []):
                for appearance in annotation.get("/AP", {}).values():
                    streams = appearance.values() if isinstance(appearance, pikepdf.Dictionary) else [appearance]
                    for stream in streams:
                        self._form(stream)
        except _Unconvertible as error:
            raise SatsError.at(f"{self.where} uses {error}, which Sats cannot convert to CMYK") from None

    def _seen(self, thing: pikepdf.Object) -> bool:
        """Whether `thing` (if indirect, and so perhaps shared) was converted already; it is now."""
        if not thing.is_indirect:
            return False
        if thing.objgen in self._done:
            return True
        self._done.add(thing.objgen)
        return False

    def _resources(self, resources: pikepdf.Object | None) -> None:
        if resources is None or self._seen(resources):
            return
        if "/ColorSpace" in resources:
            self._space_dictionaries.append(resources.ColorSpace)
        for name, xobject in resources.get("/XObject", {}).items():
            if xobject.get("/Subtype") == "/Image":
                self._image(name, xobject)
            elif xobject.get("/Subtype") == "/Form":
                self._form(xobject)
        for pattern in resources.get("/Pattern", {}).values():
            if pattern.get("/PatternType") == 1:
                self._form(pattern)
            else:
                self._shading(pattern.Shading)
        for shading in resources.get("/Shading", {}).values():
            self._shading(shading)
        for state in resources.get("/ExtGState", {}).values():
            mask = state.get("/SMask")
            if isinstance(mask, pikepdf.Dictionary) and "/G" in mask:
                if "/BC" in mask and "/CS" in mask.G.get("/Group", {}):
                    mask.BC = self._convert(mask.G.Group.CS, [float(v) for v in mask.BC])
                self._form(mask.G)

    def _form(self, form: pikepdf.Object) -> None:
        """A content stream with its own resources: a form XObject, tiling pattern or appearance."""
        if not isinstance(form, pikepdf.Stream) or self._seen(form):
            return
        resources = form.get("/Resources")
        data = form.read_bytes()
        converted = self._paint(data, resources)
        if converted != data:
            form.write(converted)
        self._group(form)
        self._resources(resources)

    def _paint(self, content: bytes, resources: pikepdf.Object | None) -> bytes:
        """A content stream with its colours in CMYK. Without a colour space set by name, only
        its RGB colours need rewriting, which is faster than following q and Q."""
        return (PAINT if SETS_SPACE.search(content) else RGB).sub(_Painter(self, resources), content)

    def _group(self, owner: pikepdf.Object) -> None:
        """A transparency group blends in CMYK."""
        group = owner.get("/Group")
        if isinstance(group, pikepdf.Dictionary) and "/CS" in group and self.source(group.CS):
            group.CS = pikepdf.Name.DeviceCMYK

    def source(self, space: pikepdf.Object) -> str | None:
        """What colours in `space` are converted from (sRGB, Lab or an RGB profile), or None for
        a space the press takes as it is (CMYK, grey, patterns)."""
        if isinstance(space, pikepdf.Name):
            return colour.SRGB if space == "/DeviceRGB" else None
        family = str(space[0]) if isinstance(space, pikepdf.Array) and len(space) else ""
        if family == "/ICCBased":
            profile = space[1]
            if int(profile.N) != 3:
                return None
            if profile.objgen not in self._profiles:
                self._profiles[profile.objgen] = self.separation.source(profile.read_bytes())
            return self._profiles[profile.objgen]
        if family == "/CalRGB":
            return colour.SRGB
        if family == "/Lab":
            white = [float(v) for v in space[1].WhitePoint]
            return colour.LAB_D65 if abs(white[0] - 0.9505) < 0.01 else colour.LAB_D50
        if family in ("/Indexed", "/Separation", "/DeviceN", "/Pattern") and any(
                isinstance(part, (pikepdf.Name, pikepdf.Array)) and self.source(part) for part in space[1:]):
            raise _Unconvertible(f"the colour space {family[1:]} over RGB")
        return None

    def named_space(self, resources: pikepdf.Object | None, name: str) -> str | None:
        """The source of the colour space `name` (a device space, or one of the resources)."""
        if name in ("DeviceRGB", "DeviceGray", "DeviceCMYK", "Pattern"):
            return self.source(pikepdf.Name("/" + name))
        spaces = resources.get("/ColorSpace") if resources is not None else None
        return self.source(spaces["/" + name]) if spaces is not None and "/" + name in spaces else None

    def _convert(self, space: pikepdf.Object, values: list[float]) -> pikepdf.Array:
        source = self.source(space)
        return pikepdf.Array(self.cmyk(values, source) if source else values)

    def cmyk(self, values: list[float], source: str) -> tuple[float, ...]:
        """A colour in CMYK; a neutral grey in RGB as black ink alone (text and rules stay pure K)."""
        if source not in colour.LAB and len(set(values)) == 1:
            return (0, 0, 0, round(1 - min(1.0, max(0.0, values[0])), 4))
        return self.separation.colours([tuple(values)], source)[0]

    def _shading(self, shading: pikepdf.Object) -> None:
        """A gradient's colour function, sampled along it and converted: a sampled CMYK function."""
        if not isinstance(shading, pikepdf.Dictionary | pikepdf.Stream) or self._seen(shading):
            return
        source = self.source(shading.ColorSpace)
        if source is None:
            return
        kind = int(shading.ShadingType)
        if kind not in (2, 3) or "/Function" not in shading:
            raise _Unconvertible(f"a gradient of shading type {kind} in RGB (Sats converts axial and radial ones)")
        start, end = (float(v) for v in shading.get("/Domain", [0, 1]))
        steps = [start + (end - start) * i / (GRADIENT_SAMPLES - 1) for i in range(GRADIENT_SAMPLES)]
        try:
            colours = [_evaluate(shading.Function, t) for t in steps]
        except _Unconvertible as error:
            raise _Unconvertible(f"a gradient with {error}") from None
        cmyk = self.separation.colours(colours, source)
        samples = bytes(round(value * 255) for ink in cmyk for value in ink)
        shading.Function = self.document.make_stream(
            samples, FunctionType=0, Domain=[start, end], Range=[0, 1] * 4, Size=[GRADIENT_SAMPLES],
            BitsPerSample=8)
        if "/Background" in shading:
            shading.Background = pikepdf.Array(self.cmyk([float(v) for v in shading.Background], source))
        shading.ColorSpace = pikepdf.Name.DeviceCMYK

    def _image(self, name: str, image: pikepdf.Object) -> None:
        """An RGB image converted to CMYK through its own profile (or sRGB): JPEG stays JPEG."""
        if self._seen(image):
            return
        assert isinstance(image, pikepdf.Stream)
        picture = pikepdf.PdfImage(image)
        placements = self.catalogue.identify(picture.size, lambda: picture.as_pil_image(apply_mask=False))
        if placements:
            self.images[name] = placements
        artwork = placements[0] if placements else None
        space = image.get("/ColorSpace")
        if space is None:
            return  # a stencil mask
        try:
            source = self.source(space[1] if isinstance(space, pikepdf.Array) and space[0] == "/Indexed" else space)
        except _Unconvertible as error:
            raise _image_error(artwork, self.where, f"is in {error}, which Sats cannot convert to CMYK") from None
        if source is None:
            return
        if isinstance(image.get("/Mask"), pikepdf.Array):
            raise _image_error(artwork, self.where, "has a transparent colour given in RGB (a colour-key mask), "
                                                    "which Sats cannot convert to CMYK")
        embedded = self.catalogue.profile(artwork) if artwork else None
        if source == colour.SRGB and embedded and embedded[16:20] == b"RGB ":
            source = self.separation.source(embedded)  # the file's own profile, which WeasyPrint dropped
        pixels = self.separation.image(picture.as_pil_image(apply_mask=False), source)
        if _filters(image) == ["/DCTDecode"]:
            encoded = io.BytesIO()
            pixels.save(encoded, format="JPEG", quality=JPEG_QUALITY)
            image.write(encoded.getvalue(), filter=pikepdf.Name.DCTDecode)
            image.Decode = pikepdf.Array(ADOBE_CMYK_DECODE)
        else:
            image.write(pixels.tobytes())  # compressed when saved
            if "/Decode" in image:
                del image.Decode
        image.ColorSpace = pikepdf.Name.DeviceCMYK
        image.BitsPerComponent = 8

    def drop_converted_spaces(self) -> None:
        """Remove the RGB and Lab colour spaces from the resources: nothing uses them any more."""
        for spaces in self._space_dictionaries:
            for name in [name for name, space in spaces.items() if self._converted(space)]:
                del spaces[name]

    def _converted(self, space: pikepdf.Object) -> bool:
        try:
            return self.source(space) is not None
        except _Unconvertible:
            return False  # unused, or the build would have stopped


def _filters(stream: pikepdf.Object) -> list[str]:
    filters = stream.get("/Filter")
    return [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)] if filters else []


def _image_error(artwork: Artwork | None, where: str, message: str) -> SatsError:
    """An error about an image: at the Markdown line that places it, if the file is known."""
    if artwork is None:
        return SatsError.at(f"{where}: an image {message}")
    return SatsError.at(f"image {artwork.name!r} {message}", artwork.source, artwork.line)


class _Painter:
    """Rewrites one content stream's colour instructions into CMYK, following the colour space
    in force through q and Q."""

    def __init__(self, inks: _Inks, resources: pikepdf.Object | None) -> None:
        self.inks = inks
        self.resources = resources
        self.spaces: list[tuple[str | None, str | None]] = [(None, None)]  # fill, stroke

    def _set(self, stroke: bool, source: str | None) -> None:
        fill_space, stroke_space = self.spaces[-1]
        self.spaces[-1] = (fill_space, source) if stroke else (source, stroke_space)

    def __call__(self, match: re.Match[bytes]) -> bytes:
        found = match.groupdict()
        if found.get("save"):
            self.spaces.append(self.spaces[-1])
            return match.group(0)
        if found.get("restore"):
            if len(self.spaces) > 1:
                self.spaces.pop()
            return match.group(0)
        operator = (found.get("set") or found["op"]).decode()
        stroke = operator.isupper()
        if operator in ("cs", "CS"):
            source = self.inks.named_space(self.resources, found["space"].decode())
            self._set(stroke, source)
            return f"/DeviceCMYK {operator}".encode() if source else match.group(0)
        if operator in ("rg", "RG"):
            source = colour.SRGB
            self._set(stroke, None)
        elif operator in ("g", "G", "k", "K"):
            self._set(stroke, None)
            return match.group(0)
        else:
            source = self.spaces[-1][1 if stroke else 0]
        values = found["values"]
        if source is None or values is None or found.get("pattern"):
            return match.group(0)
        cmyk = self.inks.cmyk([float(v) for v in values.split()], source)
        ink = " ".join(f"{v:g}" for v in cmyk)
        return f"{ink} {'k' if operator == 'rg' else 'K' if operator == 'RG' else operator}".encode()


def _evaluate(function: pikepdf.Object, t: float) -> tuple[float, ...]:
    """The colour a PDF function of one input gives at `t`: exponential and stitching functions,
    or an array of them, one for each component."""
    if isinstance(function, pikepdf.Array):
        return tuple(_evaluate(component, t)[0] for component in function)
    low, high = (float(v) for v in function.Domain[:2])
    t = min(max(t, low), high)
    kind = int(function.FunctionType)
    if kind == 2:
        first = [float(v) for v in function.get("/C0", [0])]
        last = [float(v) for v in function.get("/C1", [1])]
        exponent = float(function.N)
        return tuple(min(1.0, max(0.0, a + t ** exponent * (b - a))) for a, b in zip(first, last, strict=True))
    if kind == 3:
        bounds = [float(v) for v in function.Bounds]
        index = next((i for i, bound in enumerate(bounds) if t < bound), len(bounds))
        start = low if index == 0 else bounds[index - 1]
        end = high if index == len(bounds) else bounds[index]
        encode_low, encode_high = (float(v) for v in function.Encode[2 * index:2 * index + 2])
        share = (t - start) / (end - start) if end > start else 0.0
        return _evaluate(function.Functions[index], encode_low + share * (encode_high - encode_low))
    raise _Unconvertible(f"a colour function of type {kind}")


def _bleed_and_marks(document: pikepdf.Pdf, page: pikepdf.Page, bleed: float) -> None:
    """The page as trimmed (WeasyPrint's page box) in a larger sheet: bleed around it, and
    crop marks in registration colour on the trim lines, beyond the bleed."""
    left, bottom, right, top = (float(value) for value in page.MediaBox)
    room = bleed + MARK_GAP + MARK_LENGTH + MARK_GAP
    page.TrimBox = pikepdf.Array([left, bottom, right, top])
    page.BleedBox = pikepdf.Array([left - bleed, bottom - bleed, right + bleed, top + bleed])
    page.MediaBox = pikepdf.Array([left - room, bottom - room, right + room, top + room])
    start, end = bleed + MARK_GAP, bleed + MARK_GAP + MARK_LENGTH
    lines = []
    for x, outward_x in ((left, -1), (right, 1)):
        for y, outward_y in ((bottom, -1), (top, 1)):
            lines.append((x + outward_x * start, y, x + outward_x * end, y))  # along the trim line y
            lines.append((x, y + outward_y * start, x, y + outward_y * end))  # along the trim line x
    marks = [f"{MARK_WIDTH} w 1 1 1 1 K"] + [f"{x1:.3f} {y1:.3f} m {x2:.3f} {y2:.3f} l S" for x1, y1, x2, y2 in lines]
    page.contents_add(_content(document, b"q\n"), prepend=True)
    page.contents_add(_content(document, ("Q\nq\n" + "\n".join(marks) + "\nQ\n").encode()))


def _output_intent(document: pikepdf.Pdf, press: Press) -> None:
    """The PDF/X output intent: the printer's CMYK profile and its output condition.

    The profile is compressed here, at zlib's level 5: as small within 1 %, and a quarter of the
    time of the default level, on which its colour tables take 60 ms.
    """
    profile = document.make_stream(zlib.compress(press.profile.read_bytes(), PROFILE_COMPRESSION), N=4,
                                   Filter=pikepdf.Name.FlateDecode)
    document.Root.OutputIntents = pikepdf.Array([pikepdf.Dictionary(
        Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFX,
        OutputConditionIdentifier=pikepdf.String(press.condition), Info=pikepdf.String(press.condition_name),
        RegistryName=pikepdf.String("http://www.color.org"), DestOutputProfile=profile)])
