"""What WeasyPrint leaves undone in its PDF, done with pikepdf: the archival PDF's page labels,
artifacts and note identifiers; and the press PDF, made from the archival one, with its boxes,
crop marks, CMYK colour and output intent. Every PDF is saved reproducibly."""

from __future__ import annotations

import functools
import hashlib
import io
import re
from collections.abc import Callable, Iterator

import pikepdf
from lxml import etree

from . import templates
from .config import Press
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
RGB = re.compile(rb"^([-\d.]+) ([-\d.]+) ([-\d.]+) (rg|RG)$", re.MULTILINE)


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
        _identifier_tree(document)
        _identify_pdfua(document)
        if any(orcids):
            authors = etree.fromstring(templates.render("pdf/authors.xmp.j2", orcids=orcids))
            _edit_xmp(document, lambda rdf: rdf.extend(authors))
        return _save(document)


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


def _structure(element: pikepdf.Object) -> Iterator[pikepdf.Dictionary]:
    """Every structure element under `element`."""
    kids = element.get("/K")
    for kid in (kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []):
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            yield kid
            yield from _structure(kid)


def _margins_as_artifacts(document: pikepdf.Pdf) -> None:
    """Mark the content that is in no structure element (WeasyPrint's margin boxes: running
    heads and folios) as pagination artifacts, which PDF/UA asks of page furniture."""
    root = document.Root.StructTreeRoot
    reachable = {element.objgen for element in _structure(root)}
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


def _identifier_tree(document: pikepdf.Pdf) -> None:
    """The structure root's /IDTree, which PDF readers use to find elements by /ID (notes)."""
    root = document.Root.StructTreeRoot
    named = sorted((str(element.ID), element) for element in _structure(root) if "/ID" in element)
    if named:
        names = pikepdf.Array()
        for name, element in named:
            names.extend([pikepdf.String(name), element])
        root.IDTree = document.make_indirect(pikepdf.Dictionary(Names=names))


def for_press(archival: bytes, press: Press, identifier: str) -> bytes:
    """The PDF for the press, made from the finished archival PDF: all colour in CMYK; trim,
    bleed and media boxes with crop marks outside the bleed; no archival claims; and, with the
    printer's profile, PDF/X-4 and its output intent."""
    with _open(archival) as document:
        bleed = press.bleed_mm * MM
        for number, page in enumerate(document.pages, int(document.Root.PageLabels.Nums[1].St)):
            _to_cmyk(document, page, number)
            _bleed_and_marks(document, page, bleed)
        del document.Root.OutputIntents  # the archival PDF's sRGB intent
        _edit_xmp(document, _without_archival_claims)
        if not press.profile:
            return _save(document)
        _output_intent(document, press)
        # The same identifier for the same sources, unlike WeasyPrint's random one.
        document_id = hashlib.sha256(identifier.encode()).hexdigest()[:32]
        modified = document.open_metadata().get("xmp:ModifyDate")
        pdfx = etree.fromstring(templates.render("pdf/pdfx.xmp.j2", modified=modified, document_id=document_id))
        _edit_xmp(document, lambda rdf: rdf.extend(pdfx))
        document.docinfo.Trapped = pikepdf.Name("/False")
        return _save(document, version="1.6")


def _without_archival_claims(rdf: etree._Element) -> None:
    """Drop the descriptions that identify PDF/A and PDF/UA (each stands alone in the packet)."""
    for description in list(rdf):
        names = [*description.attrib, *(child.tag for child in description)]
        if any(etree.QName(name).namespace in ARCHIVAL_CLAIMS for name in names):
            rdf.remove(description)


def _to_cmyk(document: pikepdf.Pdf, page: pikepdf.Page, number: int) -> None:
    """Turn the page's grey RGB colours (WeasyPrint writes black text and rules in RGB) into
    CMYK black; any other RGB colour has no place in a press PDF."""

    def cmyk(match: re.Match[bytes]) -> bytes:
        red, green, blue = (float(value) for value in match.group(1, 2, 3))
        if not red == green == blue:
            raise SatsError.at(f"the print edition's page {number} uses the RGB colour "
                               f"{red:g} {green:g} {blue:g}; a press PDF takes CMYK and grey only")
        return f"0 0 0 {round(1 - red, 4):g} {'k' if match.group(4) == b'rg' else 'K'}".encode()

    _rewrite(document, page, RGB, cmyk)


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
    """The PDF/X output intent: the printer's CMYK profile and its output condition."""
    assert press.profile is not None and press.condition is not None
    profile = document.make_stream(press.profile.read_bytes(), N=4)
    document.Root.OutputIntents = pikepdf.Array([pikepdf.Dictionary(
        Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFX,
        OutputConditionIdentifier=pikepdf.String(press.condition), Info=pikepdf.String(press.condition),
        RegistryName=pikepdf.String("http://www.color.org"), DestOutputProfile=profile)])
