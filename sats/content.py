"""The article parsed once by pandoc (citations resolved) and shaped for each edition."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import html as lxml_html

from . import figures, mathematics, pandoc, resources, sanitise
from .characters import roman
from .config import LANG_TAG
from .errors import SatsError
from .manuscript import Manuscript

PARTS = ("abstract", "body", "translation", "refs")
# Each paragraph starts with an empty span carrying this attribute, in both editions: the points
# from which the EPUB finds where each printed page begins.
ANCHOR = "data-anchor"
# The author's quotes and dashes stay exactly as typed; no raw blocks for other formats.
READER = "markdown-smart-raw_attribute-raw_tex"

Block = dict[str, Any]


@dataclass(frozen=True)
class Content:
    """The article's parts as pandoc AST blocks, with citations already rendered."""

    parts: dict[str, list[Block]]
    api_version: list[int]
    lang: str
    formulas: bool = False  # whether it has any TeX math: most articles have none, and no work for it

    def document(self, blocks: list[Block], **meta: str) -> str:
        """A pandoc JSON document of `blocks`, for a writer."""
        metadata = {key: {"t": "MetaString", "c": value} for key, value in
                    {"lang": self.lang, **meta}.items()}
        return json.dumps({"pandoc-api-version": self.api_version, "meta": metadata,
                           "blocks": blocks}, ensure_ascii=False)


def _arguments(manuscript: Manuscript) -> list[str]:
    project = manuscript.project
    return [f"--from={READER}", "--to=json", "--citeproc", f"--bibliography={project.bibliography}",
            f"--csl={project.csl}", f"--metadata=lang:{project.lang}", "--metadata=link-citations:true"]


def parse_digest(manuscript: Manuscript) -> str:
    """A digest of all the parse reads: the Markdown, the bibliography, the CSL style and pandoc."""
    project = manuscript.project
    digest = hashlib.sha256(f"{pandoc.version()}\0{_arguments(manuscript)}\0{manuscript.markdown()}".encode())
    for path in (project.bibliography, project.csl):
        digest.update(b"\0" + path.read_bytes())
    return digest.hexdigest()


class Parsing:
    """The manuscript's Markdown being parsed by pandoc, its citations resolved with citeproc,
    meanwhile other work goes on. `parsed`, pandoc's output from an earlier run on the same
    inputs (parse_digest), spares running it again."""

    def __init__(self, manuscript: Manuscript, parsed: bytes | None = None) -> None:
        self.parsed, self._manuscript = parsed, manuscript
        self._numbered = manuscript.project.number_sections
        entries = manuscript.bibliography.entries
        self._languages = {f"ref-{key}": str(entry["language"]) for key, entry in entries.items()
                           if LANG_TAG.match(str(entry.get("language", "")))}
        self._job = None if parsed is not None else pandoc.start(_arguments(manuscript), manuscript.markdown(),
                                                                 expected=figures.CROSS_REF_WARNING)

    def result(self) -> Content:
        """The parsed article, sanitised: figures and tables numbered, cross-references resolved, each
        paragraph given its anchor."""
        if self._job is not None:
            self.parsed = self._job.result()
        assert self.parsed is not None
        article = _content(json.loads(self.parsed), self._manuscript, mathematics.any_in(self.parsed))
        _mark_reference_languages(article.parts["refs"], self._languages)
        if self._numbered:
            _number_sections(article.parts["body"])
        return article


def _mark_reference_languages(references: list[Block], languages: dict[str, str]) -> None:
    """Give each reference whose entry names its language (CSL `language`, BibLaTeX `langid`)
    that language, for hyphenation and for readers."""
    for entry in references:
        attributes = entry["c"][0] if entry["t"] == "Div" else None
        if attributes and attributes[0] in languages:
            attributes[2].append(["lang", languages[attributes[0]]])


def _number_sections(body: list[Block]) -> None:
    """Number the headings of the body's three levels («2.1»), in the text itself, so that both
    editions, their navigation and the word check print the same; `{-}` leaves one unnumbered."""
    numbers = [0, 0, 0]
    for block in body:
        if block["t"] != "Header" or "unnumbered" in block["c"][1][1] or block["c"][0] > len(numbers):
            continue
        level = block["c"][0]
        numbers[level - 1] += 1
        numbers[level:] = [0] * (len(numbers) - level)
        label = ".".join(str(number) for number in numbers[:level])
        block["c"][2][:0] = [{"t": "Span", "c": [["", ["section-number"], []], [{"t": "Str", "c": label}]]},
                             {"t": "Space"}]


def parse(manuscript: Manuscript) -> Content:
    """Parse the manuscript's Markdown once and resolve its citations with citeproc."""
    return Parsing(manuscript).result()


def _content(document: dict[str, Any], manuscript: Manuscript, formulas: bool) -> Content:
    parts: dict[str, list[Block]] = {name: [] for name in PARTS}
    for block in document["blocks"]:
        if block["t"] == "Div" and block["c"][0][0] in parts:
            parts[block["c"][0][0]] = block["c"][1]
    sanitise.parsed(parts, manuscript)  # what the manuscript wrote, before Sats adds its own
    parts = mathematics.number(parts) if formulas else parts
    figures.number(list(parts.values()), manuscript.project.lang)
    anchors = 0
    for node in walk(list(parts.values())):
        if node.get("t") in ("Para", "Plain"):
            anchors += 1
            node["c"].insert(0, {"t": "Span", "c": [["", [], [[ANCHOR, f"p{anchors}"]]], []]})
    return Content(parts, document["pandoc-api-version"], manuscript.project.lang, formulas)


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every AST element under `node`, depth first."""
    if isinstance(node, dict):
        yield node
        yield from walk(node.get("c"))
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


INLINE_CONTENT = {"Para", "Plain", "Emph", "Strong", "SmallCaps", "Underline", "Strikeout",
                  "Superscript", "Subscript"}
INLINE_SLOT = {"Span": 1, "Link": 1, "Quoted": 1, "Cite": 1, "Header": 2}


def _notes_in_place(blocks: list[Block]) -> list[Block]:
    """Replace each note by a linked call and the note's text in a span at the call.

    WeasyPrint sets page-foot notes only from inline elements floated at the call.
    """
    number = 0

    def inline(items: list[Any]) -> list[Any]:
        nonlocal number
        result = []
        for item in items:
            if item.get("t") != "Note":
                result.append(_descend(item, inline))
                continue
            number += 1
            text = _note_text(item["c"], inline, number)
            call = {"t": "Link", "c": [[f"fnref{number}", ["note-call"], [["role", "doc-noteref"]]],
                                       [{"t": "Str", "c": str(number)}], [f"#fn{number}", ""]]}
            if result and result[-1].get("t") == "Str":
                # The call stays on the line of the word it follows: never a line (or a page) apart.
                call = {"t": "Span", "c": [["", ["note-anchor"], []], [result.pop(), call]]}
            result += [call, {"t": "Span", "c": [[f"fn{number}", ["footnote"], [["role", "doc-footnote"]]], text]}]
        return result

    return [_descend(block, inline) for block in blocks]


def _note_text(blocks: list[Block], inline: Any, number: int) -> list[Any]:
    """A note's blocks as inline content for its span at the call: paragraphs one after another
    (a line break between them), and quotes, lists, verse and code in spans that print.css sets
    as blocks, list items with their marker, so that no word of a note is lost in print."""
    text: list[Any] = []
    for block in blocks:
        kind, children = block["t"], block.get("c", [])
        if kind in ("Para", "Plain"):
            part = inline(children)
        elif kind == "Header":
            part = inline(children[2])
        elif kind == "LineBlock":
            part = [piece for index, line in enumerate(children)
                    for piece in ([{"t": "LineBreak"}] if index else []) + inline(line)]
        elif kind == "CodeBlock":
            part = [_span("note-code", [{"t": "Code", "c": children}])]
        elif kind == "BlockQuote":
            part = [_span("note-quote", _note_text(children, inline, number))]
        elif kind == "Div":
            part = _note_text(children[1], inline, number)
        elif kind in ("BulletList", "OrderedList"):
            items = children if kind == "BulletList" else children[1]
            start, style = (1, "Decimal") if kind == "BulletList" else (children[0][0], children[0][1]["t"])
            part = [_span("note-list", [
                _span("note-item", [_span("note-marker", [{"t": "Str", "c": _marker(kind, style, start + index)}]),
                                    *_note_text(item, inline, number)])
                for index, item in enumerate(items)])]
        elif kind in ("HorizontalRule", "RawBlock"):
            continue
        else:
            raise SatsError.at(f"note {number} holds a {kind.lower()}: notes hold text, quotes and lists only; "
                               "place it in the body and refer to it from the note")
        text += ([{"t": "LineBreak"}] if text and kind in ("Para", "Plain", "Header", "LineBlock") else []) + part
    return text


def _span(name: str, inlines: list[Any]) -> dict[str, Any]:
    return {"t": "Span", "c": [["", [name], []], inlines]}


def _marker(kind: str, style: str, number: int) -> str:
    """A list item's marker in a note, followed by an em space (which the word check knows)."""
    if kind == "BulletList":
        return "\u2022\u2003"
    if style in ("LowerAlpha", "UpperAlpha"):
        letter = chr(ord("a") + (number - 1) % 26)
        return (letter.upper() if style == "UpperAlpha" else letter) + ".\u2003"
    if style in ("LowerRoman", "UpperRoman"):
        return (roman(number).upper() if style == "UpperRoman" else roman(number)) + ".\u2003"
    return f"{number}.\u2003"



def _descend(node: Any, inline: Any) -> Any:
    """Rebuild `node` with `inline` applied to each list of inlines directly below it."""
    if isinstance(node, list):
        return [_descend(item, inline) for item in node]
    if not isinstance(node, dict) or "c" not in node:
        return node
    if node["t"] in INLINE_CONTENT:
        return {**node, "c": inline(node["c"])}
    if node["t"] in INLINE_SLOT:
        children = list(node["c"])
        slot = INLINE_SLOT[node["t"]]
        children[slot] = inline(children[slot])
        return {**node, "c": children}
    return {**node, "c": _descend(node["c"], inline)}


# Each top-level block's HTML, by a digest of the block, from the last call: in `watch`, after an
# edit pandoc writes only the blocks that changed.
_BLOCK_HTML: dict[str, str] = {}


def _block_digest(block: Block) -> str:
    return hashlib.sha256(json.dumps(block, ensure_ascii=False).encode()).hexdigest()


def html_parts(content: Content) -> dict[str, str]:
    """Each part of the article as an HTML fragment for the templates: notes at their calls (for
    the page foot), formulas drawn, sections one level below the article's title. One pandoc run
    writes every block not written by the last call."""
    parts = {name: [(_block_digest(block), block) for block in _notes_in_place(content.parts[name])]
             for name in PARTS}
    new = {key: mathematics.drawn(block) if content.formulas else block for blocks in parts.values()
           for key, block in blocks if key not in _BLOCK_HTML}
    if new:
        divs = [{"t": "Div", "c": [[f"sats-block-{number}", [], []], [block]]}
                for number, block in enumerate(new.values())]
        args = ["--from=json", "--to=html5", "--wrap=none", "--shift-heading-level-by=1"]
        tree = lxml_html.fragment_fromstring(pandoc.run(args, content.document(divs)), create_parent="div")
        images = {node["c"][2][0] for node in walk(divs) if node.get("t") == "Image"}
        sanitise.check_edition(tree, images.__contains__, "print edition")
        for number, key in enumerate(new):
            (div,) = tree.xpath(f'./div[@id="sats-block-{number}"]')
            _BLOCK_HTML[key] = (div.text or "").removeprefix("\n") + "".join(
                lxml_html.tostring(child, encoding="unicode") for child in div)
    written = {key: _BLOCK_HTML[key] for blocks in parts.values() for key, _ in blocks}
    _BLOCK_HTML.clear()
    _BLOCK_HTML.update(written)
    return {name: ("\n" if blocks else "") + "".join(written[key] for key, _ in blocks)
            for name, blocks in parts.items()}


RESOURCE_ATTRIBUTES = ("src", "href", "data", "poster", "srcset", "xlink:href")


def check_resources(content: Content, root: Path) -> None:
    """Refuse any image or raw-HTML resource that is not a file inside `root`.

    Links to the web stay links; what a writer would embed must be the project's own file.
    """
    targets = []
    for node in walk(list(content.parts.values())):
        if node.get("t") == "Image":
            targets.append(node["c"][2][0])  # percent-encoded: pandoc writes `<my chart.png>` as my%20chart.png
        elif node.get("t") in ("RawBlock", "RawInline") and node["c"][0] in ("html", "html5"):
            fragment = lxml_html.fragment_fromstring(node["c"][1], create_parent="div")
            targets += [value for element in fragment.iter() if isinstance(element.tag, str)
                        for name in RESOURCE_ATTRIBUTES if (value := element.get(name))
                        and not (name == "href" and value.startswith(("http:", "https:", "#", "mailto:")))]
    for target in targets:
        try:
            resources.resolve(target, root, (root,), "image")
        except resources.Refused as refused:
            raise SatsError.at(f"resource {target!r} {refused}", root) from None
