"""Figures, tables and cross-references, the same in both editions: each figure and table
numbered and labelled in the article's language («Figur 1.»), each `@fig-…`, `@tbl-…` or
`@sec-…` in the text replaced by a link that names its target («figur 1»); and the image files
themselves, checked, made safe (SVG) and sized for the EPUB."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .errors import SatsError, display_path

LOGGER = logging.getLogger("sats.figures")

# Pillow, lxml and the templates are imported where an image or a caption is at hand: a build
# that finds its editions up to date, which reads the manuscript for its images' names, needs none.

# Cross-reference identifiers by prefix, as Quarto writes them; `mathematics` numbers the equations.
KINDS = {"fig": "figure", "tbl": "table", "sec": "section", "eq": "equation"}
# `@Fig-…` (Quarto's way) asks for the label with a capital, as does a reference that begins a sentence.
CROSS_REF = re.compile(r"^(fig|tbl|sec|eq|Fig|Tbl|Sec|Eq)-")
# What citeproc says of a cross-reference, which is not a citation: not a warning for the user.
CROSS_REF_WARNING = re.compile(r"^Citeproc: citation (?:[Ff]ig|[Tt]bl|[Ss]ec|[Ee]q)-\S+ not found$")
SENTENCE_END = (".", "!", "?")
NO_BREAK = "\u00a0"
# The SVG's text is set in the print edition's face (print.css); a reading system that cannot
# reach it inside an image uses its own serif.
SVG_FONT = '"Source Serif 4", serif'
RASTER_FORMATS = {"PNG": "PNG", "JPEG": "JPEG"}  # what Pillow reads: what the editions embed
MAX_PIXELS = 60_000_000  # a 9000 × 6500 photograph; beyond that, a mistake or a decompression bomb
TRUNCATED = "the file ends before the image does"
EPUB_PIXELS = 1600  # the longest side of an image in the EPUB: sharp on a tablet, a sensible download

Node = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """What a cross-reference may point at: its kind and the words that name it."""

    kind: str
    text: str


def _text(inlines: list[Any]) -> str:
    """The plain words of `inlines` (for a section's title in a reference to it)."""
    words: list[str] = []
    for node in inlines:
        if not isinstance(node, dict) or node.get("t") == "Note":
            continue
        if node["t"] == "Str":
            words.append(node["c"])
        elif node["t"] in ("Space", "SoftBreak"):
            words.append(" ")
        elif isinstance(node.get("c"), list):
            words.append(_text(node["c"][-1] if node["t"] in ("Link", "Span", "Image", "Quoted", "Cite")
                               else node["c"]))
    return "".join(words)


def _holding(node: Any, kind: str) -> list[list[Any]]:
    """Every list under `node` that directly holds an element of type `kind`, in no particular
    order. A loop, not a recursion: at 350 pages it reads the whole article in a tenth of the time."""
    found = []
    pending = [node] if isinstance(node, list) else [[node]]
    while pending:
        items = pending.pop()
        holds = False
        for item in items:
            if type(item) is dict:
                children = item.get("c")
                if type(children) is list:
                    pending.append(children)
                holds = holds or item.get("t") == kind
            elif type(item) is list:
                pending.append(item)
        if holds:
            found.append(items)
    return found


# Blocks that hold no figure, table or heading: the numbering does not look inside them.
LEAVES = {"Para", "Plain", "Header", "CodeBlock", "RawBlock", "LineBlock", "HorizontalRule", "Table", "Figure"}


def _blocks(node: Any, visit: Callable[[Node], None]) -> None:
    """Call `visit` on every block under `node`, in document order, not looking into paragraphs."""
    if isinstance(node, dict):
        visit(node)
        if node.get("t") not in LEAVES:
            _blocks(node.get("c"), visit)
    elif isinstance(node, list):
        for item in node:
            _blocks(item, visit)


def _label(caption: list[Any], words: str) -> None:
    """Begin the caption (pandoc's [short, blocks]) with its label, in a span of its own."""
    blocks = caption[1]
    if not blocks or blocks[0]["t"] not in ("Plain", "Para"):
        blocks.insert(0, {"t": "Plain", "c": []})
    inlines = blocks[0]["c"]
    label = words + ("." if inlines else "")
    span = {"t": "Span", "c": [["", ["caption-label"], []], [{"t": "Str", "c": label}]]}
    blocks[0]["c"] = [span, *([{"t": "Space"}] if inlines else []), *inlines]


def number(blocks: list[Any], lang: str) -> None:
    """Number and label the figures and tables in `blocks`, in order, and replace each
    cross-reference in the text by a link to its target, named as the article's language
    names it. Changes `blocks` in place, as pandoc's parse is the build's own."""
    from . import templates

    labels = templates.labels(lang)

    def word(key: str) -> str:
        if key not in labels:
            raise SatsError.at(f"no label '{key}' for language '{lang}'", templates.TEMPLATES / "labels.yaml")
        return labels[key]

    counts = {"figure": 0, "table": 0}
    targets: dict[str, Target] = {}

    def collect(node: Node) -> None:
        kind = {"Figure": "figure", "Table": "table"}.get(node.get("t", ""))
        if kind:
            counts[kind] += 1
            identifier, caption = node["c"][0][0], node["c"][1]
            _label(caption, f"{word(kind)}{NO_BREAK}{counts[kind]}")
            if identifier:
                targets[identifier] = Target(kind, f"{word(kind + '-ref')}{NO_BREAK}{counts[kind]}")
        elif node.get("t") == "Header" and node["c"][1][0]:
            targets[node["c"][1][0]] = Target("section", _text(node["c"][2]))

    _blocks(blocks, collect)
    citing = {id(inlines): (inlines, keys) for inlines in _holding(blocks, "Cite")
              if (keys := [key for key in _keys(inlines) if CROSS_REF.match(key)])}
    if any(target(key).startswith("eq-") for _, keys in citing.values() for key in keys):
        targets |= _equations(blocks)
    for inlines, _ in citing.values():
        inlines[:] = _references(inlines, targets)


def _keys(inlines: list[Any]) -> list[str]:
    """The keys cited among `inlines`."""
    return [citation["citationId"] for item in inlines if type(item) is dict and item.get("t") == "Cite"
            for citation in item["c"][0]]


def _equations(blocks: list[Any]) -> dict[str, Target]:
    """The equations `mathematics` numbered, by their identifiers, each named by its number: «(1)»."""
    return {node["c"][0][0]: Target("equation", _text(node["c"][1][-1:]))
            for inlines in _holding(blocks, "Span") for node in inlines
            if type(node) is dict and node.get("t") == "Span" and "equation" in node["c"][0][1] and node["c"][0][0]}


def _references(inlines: list[Any], targets: dict[str, Target]) -> list[Any]:
    """`inlines` with each cross-reference replaced, capitalised where it begins a sentence."""
    result: list[Any] = []
    last_word, spaced = None, False  # the word before, if any, and whether a space followed it
    for item in inlines:
        result += _reference(item, targets, last_word is None or (spaced and last_word.endswith(SENTENCE_END)))
        kind = item.get("t") if isinstance(item, dict) else None
        if kind in ("Space", "SoftBreak"):
            spaced = True
        else:
            last_word, spaced = item["c"] if kind == "Str" else "", False
    return result


def target(key: str) -> str:
    """The identifier a cross-reference `key` points at: `fig-map` for `@Fig-map` too."""
    prefix, rest = key.split("-", 1)
    return f"{prefix.lower()}-{rest}"


def unknown_target(key: str) -> str:
    """What to say of a cross-reference `key` whose target is nowhere."""
    kind = KINDS[target(key).split("-", 1)[0]]
    return f"@{key} refers to no {kind}: nothing in the manuscript is marked {{#{target(key)}}}"


def _reference(node: Any, targets: dict[str, Target], begins: bool) -> list[Any]:
    """`node`, or if it cites cross-references only, links to them with the citations' own words."""
    if not isinstance(node, dict) or node.get("t") != "Cite":
        return [node]
    keys = [citation["citationId"] for citation in node["c"][0]]
    crossing = [key for key in keys if CROSS_REF.match(key)]
    if not crossing:
        return [node]
    if len(crossing) != len(keys):
        raise SatsError.at(f"[@{'; @'.join(keys)}]: a cross-reference and a citation cannot share brackets")
    inlines: list[Any] = []
    for citation in node["c"][0]:
        key = citation["citationId"]
        identifier = target(key)
        found = targets.get(identifier)
        if found is None or found.kind != KINDS[identifier.split("-", 1)[0]]:
            raise SatsError.at(unknown_target(key))
        if inlines:
            inlines += [{"t": "Str", "c": ";"}, {"t": "Space"}]
        if citation["citationPrefix"]:
            inlines += [*citation["citationPrefix"], {"t": "Space"}]
        text = found.text
        if key[0].isupper() or (begins and not inlines and found.kind != "section"):
            text = text[0].upper() + text[1:]
        inlines.append({"t": "Link", "c": [["", ["cross-ref"], []], [{"t": "Str", "c": text}],
                                           [f"#{identifier}", ""]]})
        inlines += citation["citationSuffix"]
    return inlines


def image_problem(path: Path) -> str | None:
    """What is wrong with the image file at `path`, or None: a PNG, JPEG or SVG that decodes
    whole, of a sensible size."""
    from PIL import Image, UnidentifiedImageError

    from . import svg

    if path.suffix.lower() == ".svg":
        try:
            svg.sanitise(path.read_bytes(), SVG_FONT)
        except svg.SvgError as error:
            return f"is not a usable SVG: {error}"
        return None
    # WeasyPrint tells Pillow, for the whole process, to load truncated images as if whole:
    # so PNG chunks are verified, and a JPEG must end with its end-of-image marker.
    try:
        with Image.open(path) as image:
            if image.format not in RASTER_FORMATS:
                return f"is a {image.format} image; figures are PNG, JPEG or SVG"
            if image.width * image.height > MAX_PIXELS:
                return f"is {image.width} × {image.height} pixels: more than {MAX_PIXELS // 1_000_000} million"
            kind = image.format
            image.verify()
        with Image.open(path) as image:
            image.load()
    except UnidentifiedImageError:
        return "is not an image: figures are PNG, JPEG or SVG"
    except (OSError, SyntaxError, ValueError) as error:
        return f"is broken: {TRUNCATED if 'truncated' in str(error).lower() else error}"
    if kind == "JPEG" and not path.read_bytes().rstrip(b"\0").endswith(b"\xff\xd9"):
        return f"is broken: {TRUNCATED}"
    return None


@dataclass(frozen=True)
class Images:
    """The images an article places: each target as written, with the file it resolves to, and
    the SVGs among them made safe and set in the project's type, by path."""

    placed: dict[str, Path]
    svgs: dict[Path, bytes]


def images(parts: dict[str, list[Any]], root: Path) -> Images:
    """The images the article's `parts` place, the SVGs among them sanitised."""
    from . import svg

    placed = {node["c"][2][0]: (root / unquote(node["c"][2][0])).resolve()
              for inlines in _holding(list(parts.values()), "Image")
              for node in inlines if isinstance(node, dict) and node.get("t") == "Image"}
    svgs = {}
    for path in sorted(set(placed.values())):
        if path.suffix.lower() == ".svg":
            sanitised = svg.sanitise(path.read_bytes(), SVG_FONT)
            svgs[path] = sanitised.data
            if sanitised.removed:
                LOGGER.warning("%s: removed what a figure may not hold: %s", display_path(path),
                               ", ".join(sanitised.removed))
    return Images(placed, svgs)


def epub_copies(article: Images, folder: Path) -> dict[str, str]:
    """Copies in `folder` of the article's images made for the EPUB, by the target as written:
    the SVGs as sanitised (every one of them), photographs and charts larger than the EPUB needs
    scaled down. The others are used as they are."""
    made: dict[Path, str | None] = {}
    for path in sorted(set(article.placed.values())):
        data = article.svgs[path] if path in article.svgs else _smaller(path)
        made[path] = None
        if data is not None:
            file = folder / f"image{len(made)}{path.suffix.lower()}"
            file.write_bytes(data)
            made[path] = str(file)
    return {target: copy for target, path in article.placed.items() if (copy := made[path])}


@contextmanager
def pointed(blocks: list[Any], copies: dict[str, str]) -> Iterator[None]:
    """Within the block, the images of `blocks` point at their `copies`; after it, back at the
    author's files (an article of 350 pages is not copied for the sake of a few images)."""
    if not copies:
        yield
        return
    moved = [node["c"][2] for inlines in _holding(blocks, "Image") for node in inlines
             if isinstance(node, dict) and node.get("t") == "Image" and node["c"][2][0] in copies]
    originals = [target[0] for target in moved]
    for target in moved:
        target[0] = copies[target[0]]
    try:
        yield
    finally:
        for target, original in zip(moved, originals, strict=True):
            target[0] = original


def _smaller(path: Path) -> bytes | None:
    """The raster image at `path` scaled to the EPUB's size, or None if it is small enough."""
    from PIL import Image, ImageOps

    with Image.open(path) as original:
        if max(original.size) <= EPUB_PIXELS:
            return None
        kind = original.format or "PNG"
        image = ImageOps.exif_transpose(original)
        image.thumbnail((EPUB_PIXELS, EPUB_PIXELS), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        if kind == "JPEG":
            image.convert("RGB" if image.mode not in ("L", "CMYK") else image.mode).save(buffer, "JPEG", quality=88)
        else:
            image.save(buffer, "PNG", optimize=True)
        return buffer.getvalue()
