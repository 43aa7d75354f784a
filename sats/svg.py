"""SVG figures made safe and set in the project's type: an allow-list of static SVG, nothing that
runs, fetches or expands, and every text in the project's own font."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
# Static SVG: shapes, text, paint servers, clipping, markers and reuse. No scripts, no
# foreignObject, no images (they would fetch), no animation, no filters WeasyPrint cannot draw.
ELEMENTS = frozenset({
    "svg", "g", "defs", "symbol", "use", "title", "desc", "style", "switch",
    "path", "rect", "circle", "ellipse", "line", "polyline", "polygon",
    "text", "tspan", "textPath",
    "linearGradient", "radialGradient", "stop", "pattern", "clipPath", "mask", "marker",
})
ATTRIBUTES = frozenset({
    "id", "class", "style", "transform", "version", "viewBox", "preserveAspectRatio",
    "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "fx", "fy", "width", "height",
    "d", "points", "pathLength", "href",
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-linecap", "stroke-linejoin",
    "stroke-miterlimit", "stroke-dasharray", "stroke-dashoffset", "stroke-opacity", "opacity",
    "color", "display", "visibility", "overflow", "vector-effect", "paint-order", "shape-rendering",
    "text-rendering", "color-interpolation", "clip-path", "clip-rule", "clipPathUnits", "mask",
    "maskUnits", "maskContentUnits", "marker-start", "marker-mid", "marker-end", "markerWidth",
    "markerHeight", "markerUnits", "refX", "refY", "orient", "gradientUnits", "gradientTransform",
    "spreadMethod", "offset", "stop-color", "stop-opacity", "patternUnits", "patternContentUnits",
    "patternTransform",
    "font-family", "font-size", "font-weight", "font-style", "font-variant", "font-stretch",
    "text-anchor", "dominant-baseline", "alignment-baseline", "baseline-shift", "letter-spacing",
    "word-spacing", "text-decoration", "dx", "dy", "rotate", "textLength", "lengthAdjust",
    "startOffset", "method", "spacing", "side", "direction", "writing-mode", "unicode-bidi", "lang",
    "type", "media",
})
KEPT_NAMESPACED = {f"{{{XLINK_NS}}}href": "href", f"{{{XML_NS}}}space": "xml:space",
                   f"{{{XML_NS}}}lang": "xml:lang"}
# A reference to anything but a fragment of this file: url(…), @import, or an href.
EXTERNAL_URL = re.compile(r"url\(\s*['\"]?(?!#)|@import|expression\(", re.IGNORECASE)
FONT_FAMILY = re.compile(r"(font-family\s*:\s*)([^;}\"']|\"[^\"]*\"|'[^']*')+", re.IGNORECASE)
# The font shorthand, which WeasyPrint's SVG does not read: [style weight] size[/line-height] family.
FONT_SHORTHAND = re.compile(
    r"\bfont\s*:\s*(?P<keywords>(?:[\w-]+\s+)*?)(?P<size>[\d.]+(?:px|pt|em|rem|%|mm|cm|in|ex))"
    r"(?:\s*/\s*[\w.%]+)?\s+(?:[^;}\"']|\"[^\"]*\"|'[^']*')+", re.IGNORECASE)
WEIGHTS = {"bold", "bolder", "lighter", *(str(weight) for weight in range(100, 1000, 100))}
MAX_BYTES = 5_000_000


class SvgError(ValueError):
    """An SVG file that cannot be used: the message says why."""


def _css(text: str, family: str) -> str:
    """CSS of a style element or attribute with every font family replaced by `family`."""

    def longhands(match: re.Match[str]) -> str:
        declarations = [f"font-size: {match['size']}", f"font-family: {family}"]
        for keyword in match["keywords"].split():
            kind = "weight" if keyword.lower() in WEIGHTS else "style" if keyword.lower() in ("italic", "oblique") \
                else None
            declarations += [f"font-{kind}: {keyword}"] if kind else []
        return "; ".join(declarations)

    text = FONT_FAMILY.sub(lambda match: match.group(1) + family, text)
    return FONT_SHORTHAND.sub(longhands, text)


def _safe_value(name: str, value: str) -> bool:
    if name == "href":
        return value.startswith("#")
    return not EXTERNAL_URL.search(value)


@dataclass(frozen=True)
class Sanitised:
    """An SVG made safe, and what was taken out of it that would have been drawn or run."""

    data: bytes
    removed: tuple[str, ...]


def sanitise(data: bytes, family: str) -> Sanitised:
    """The SVG document `data` reduced to static, self-contained SVG, its text set in `family`
    (a CSS font-family value).

    The parser expands no entity, reads no DTD and touches no network; comments, processing
    instructions, the doctype and every element or attribute outside the allow-list go, as do
    references to anything outside the file. What was removed that was SVG (not an editor's
    own bookkeeping in its own namespace) is named in the result.
    """
    if len(data) > MAX_BYTES:
        raise SvgError(f"larger than {MAX_BYTES // 1_000_000} MB: too large for a figure")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise SvgError(f"not well-formed XML: {error.msg}") from None
    if root.tag != f"{{{SVG_NS}}}svg":
        raise SvgError("not an SVG image: its root element is not <svg>")
    removed: set[str] = set()
    _clean(root, family, removed)
    root.set("font-family", family)  # text that names no font gets the project's too
    return Sanitised(etree.tostring(root, encoding="utf-8", xml_declaration=True), tuple(sorted(removed)))


def _clean(element: etree._Element, family: str, removed: set[str]) -> None:
    """Remove what the allow-list does not hold from `element` and what it contains, naming in
    `removed` what was SVG."""
    for child in list(element):
        if not isinstance(child.tag, str):  # an entity reference, left unexpanded
            removed.add(f"&{child.name};")
            _remove(child)
            continue
        name = etree.QName(child)
        if name.namespace != SVG_NS:
            _remove(child)  # an editor's metadata, or foreign markup
        elif name.localname not in ELEMENTS or (name.localname == "style" and (
                EXTERNAL_URL.search(child.text or "") or len(child))):
            removed.add(f"<{name.localname}>")
            _remove(child)
        else:
            _clean(child, family, removed)
    for name in list(element.attrib):
        short = KEPT_NAMESPACED.get(name, name)
        value = element.attrib[name]
        if (short not in ATTRIBUTES and short not in KEPT_NAMESPACED.values()) or not _safe_value(short, value):
            del element.attrib[name]
        elif short == "font-family":
            element.set(name, family)
        elif short == "style":
            element.set(name, _css(value, family))
    if etree.QName(element).localname == "style" and element.text:
        element.text = _css(element.text, family)


def _remove(element: etree._Element) -> None:
    """Remove `element` but keep the text that follows it."""
    parent = element.getparent()
    if element.tail and parent is not None:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    if parent is not None:
        parent.remove(element)
