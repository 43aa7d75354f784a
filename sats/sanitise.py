"""What a manuscript may put into the editions, read from what pandoc parsed rather than from the
text: raw HTML (a few inline elements with harmless attributes, rewritten by Sats), pandoc
attributes, link targets and image sources; and a last look at the HTML and XHTML the editions
are made of, which stops the build if anything active got through."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from lxml import etree

from .errors import SatsError

if TYPE_CHECKING:
    from .manuscript import Manuscript

# Raw HTML: a few inline elements, with harmless attributes; nothing that runs, styles, embeds or fetches.
INLINE_ELEMENTS = frozenset({"a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "dfn", "em", "i", "kbd",
                             "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u",
                             "var", "wbr"})
VOID_ELEMENTS = frozenset({"br", "wbr"})
RAW_ATTRIBUTES = frozenset({"class", "dir", "href", "id", "lang", "title", "xml:lang", "datetime"})
# Pandoc attributes ({key=value}) besides the identifier and classes: what Sats reads (`lang`,
# an image's `alt`, `width` and `height`) and what only tells a reader something.
KEYS = frozenset({"alt", "dir", "height", "lang", "title", "width", "xml:lang"})
LENGTH = re.compile(r"^\d+(\.\d+)?(%|px|cm|mm|in|pt|pc|em)?$")
LANGUAGE = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
DIRECTIONS = frozenset({"ltr", "rtl", "auto"})
# The raw formats pandoc's HTML and EPUB writers copy into their output (pandoc 3.9; the
# formats are compared without case), and those no writer Sats runs copies (BibLaTeX fields).
HTML_FORMATS = frozenset({"html", "html4", "html5", "s5", "slidy", "slideous", "dzslides", "revealjs"})
DROPPED_FORMATS = frozenset({"latex", "tex"})
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINKS = "links go to http(s), mailto or # targets"
# A URL as a browser reads it: spaces and control characters around it dropped, tabs and line
# breaks inside it ignored; then its scheme, if it has one.
URL_EDGES = "".join(map(chr, range(0x21)))
URL_IGNORED = re.compile(r"[\t\n\r]")
SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
# Characters XML does not allow (the EPUB is XML): controls other than tab and line breaks.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# What the attributes Sats reads must hold.
LENGTHS = (LENGTH.match, "a length such as 80% or 9cm")
LANGUAGES = (LANGUAGE.match, "a language tag such as en or nb-NO")
VALUES: dict[str, tuple[Callable[[str], object], str]] = {
    "width": LENGTHS, "height": LENGTHS, "lang": LANGUAGES, "xml:lang": LANGUAGES,
    "dir": (DIRECTIONS.__contains__, "ltr, rtl or auto")}
NAMES = {"Span": "a span", "Div": "a div", "Header": "a heading", "Code": "code", "CodeBlock": "a code block",
         "Link": "a link", "Image": "an image", "Table": "a table", "Figure": "a figure"}

Node = dict[str, Any]


def _browser_reads(url: str) -> str:
    return URL_IGNORED.sub("", url.strip(URL_EDGES))


def scheme(url: str) -> str | None:
    """The scheme of `url` as a browser reads it, lower-case; None for a relative URL."""
    match = SCHEME.match(_browser_reads(url))
    return match.group(1).lower() if match else None


def link_problem(url: str) -> str | None:
    """What is wrong with `url` as a link for the reader, or None: http(s), mailto or a # target."""
    if _browser_reads(url).startswith("#") or scheme(url) in LINK_SCHEMES:
        return None
    return LINKS


def web_address_problem(url: str) -> str | None:
    """What is wrong with `url` as the address of a web page (a licence, a journal), or None."""
    if scheme(url) in ("http", "https") and re.match(r"^https?://[^/?#\s]", url, re.IGNORECASE) \
            and url == _browser_reads(url) and not NOT_XML.search(url):
        return None
    return "must be a web address starting with https:// or http://"


def _shown(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


# The manuscript's side: what pandoc parsed.

@dataclass(frozen=True)
class Tag:
    """One token of raw HTML: a start tag (its attributes in order), an end tag, a comment, or text."""

    kind: str  # "start", "end", "comment", "text" or "other"
    name: str = ""
    attributes: tuple[tuple[str, str | None], ...] = ()
    text: str = ""


class _Tokens(HTMLParser):
    """Raw HTML as a list of tokens, by Python's HTML tokenizer (character references decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[Tag] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tokens.append(Tag("start", tag, tuple(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)  # `<em/>` opens an em in HTML: only void elements close at once

    def handle_endtag(self, tag: str) -> None:
        self.tokens.append(Tag("end", tag))

    def handle_data(self, data: str) -> None:
        self.tokens.append(Tag("text", text=data))

    def handle_comment(self, data: str) -> None:
        self.tokens.append(Tag("comment", text=data))

    def handle_decl(self, decl: str) -> None:
        self.tokens.append(Tag("other", text=f"<!{decl}>"))

    def handle_pi(self, data: str) -> None:
        self.tokens.append(Tag("other", text=f"<?{data}>"))

    def unknown_decl(self, data: str) -> None:
        self.tokens.append(Tag("other", text=f"<![{data}]>"))


def tokens(raw: str) -> list[Tag]:
    """The tokens of a piece of raw HTML."""
    parser = _Tokens()
    parser.feed(raw)
    parser.close()
    return parser.tokens


class Places:
    """Finds where something pandoc parsed is written in the manuscript: pandoc's Markdown AST
    has no positions, so the text itself is searched, in the part's own files first."""

    def __init__(self, manuscript: Manuscript) -> None:
        sources = {"abstract": [manuscript.abstract], "body": [manuscript.body, manuscript.notes],
                   "translation": [manuscript.translation]}
        self._texts = {part: [(source.path, source.text) for source in files if source]
                       for part, files in sources.items()}
        self._bibliography = manuscript.project.bibliography

    def _files(self, part: str) -> Iterator[tuple[Path, str]]:
        """The manuscript's files, the part's own first (the bibliography's for the references)."""
        if part == "refs":
            yield from self._bibliography_text()
        yield from self._texts.get(part, [])
        for name, files in self._texts.items():
            if name != part:
                yield from files
        if part != "refs":
            yield from self._bibliography_text()

    def _bibliography_text(self) -> Iterator[tuple[Path, str]]:
        with contextlib.suppress(OSError, UnicodeDecodeError):  # read before: the build would have stopped
            yield self._bibliography, self._bibliography.read_text(encoding="utf-8")

    def error(self, message: str, part: str, *needles: str | re.Pattern[str]) -> SatsError:
        """An error at the first place any of `needles` is written, tried in turn."""
        for needle in needles:
            for path, text in self._files(part):
                if isinstance(needle, str):
                    index = text.find(needle) if needle else -1
                else:
                    match = needle.search(text)
                    index = match.start() if match else -1
                if index >= 0:
                    return SatsError.at(message, path, text.count("\n", 0, index) + 1)
        default = self._texts.get(part) or self._texts["body"]
        return SatsError.at(message, default[0][0] if default else self._bibliography)


def _tag(token: Tag) -> str:
    """A start tag written by Sats: lower-case name, each attribute once, quoted and escaped."""
    seen: dict[str, str] = {}
    for key, value in token.attributes:
        seen.setdefault(key, value or "")
    attributes = "".join(f' {key}="{html.escape(value, quote=True)}"' for key, value in seen.items())
    return f"<{token.name}{attributes}{' /' if token.name in VOID_ELEMENTS else ''}>"


def _raw_html(raw: str, part: str, places: Places) -> tuple[str, list[Tag]]:
    """Raw HTML as Sats writes it again, with its tags; refused if it holds anything but the
    allowed inline elements and their harmless attributes, or characters XML does not allow."""
    found = tokens(raw)
    written = []
    for token in found:
        # pandoc writes the attributes of a raw block again: its tag is looked for too
        shown = re.compile(rf"</?{re.escape(token.name)}(?![\w:-])", re.IGNORECASE)
        if token.kind == "other":
            raise places.error(f"raw HTML {_shown(token.text)} is not allowed", part, raw)
        if token.kind == "comment":
            continue  # never printed: not carried into the editions
        if NOT_XML.search(token.text + token.name + "".join(f"{k}{v}" for k, v in token.attributes)):
            raise places.error(f"raw HTML {_shown(raw)} holds a control character", part, raw, shown)
        if token.kind == "text":
            written.append(html.escape(token.text, quote=False))
            continue
        if token.name not in INLINE_ELEMENTS:
            raise places.error(f"raw HTML <{token.name}> is not allowed; allowed are the inline elements "
                               f"{', '.join(sorted(INLINE_ELEMENTS))}", part, raw, shown)
        if token.kind == "end":
            written.append(f"</{token.name}>")
            continue
        for key, value in token.attributes:
            if key not in RAW_ATTRIBUTES:
                raise places.error(f"raw HTML attribute {key}= on <{token.name}> is not allowed; allowed are "
                                   f"{', '.join(sorted(RAW_ATTRIBUTES))}", part, raw, shown)
            if key == "href" and link_problem(value or ""):
                raise places.error(f"raw HTML link {_shown(value or '')} is not allowed: {LINKS}", part, raw, shown)
        written.append(_tag(token))
    return "".join(written), [token for token in found if token.kind in ("start", "end")]


def _balance(tags: list[tuple[Tag, str]], part: str, places: Places) -> None:
    """Refuse raw tags that do not nest within one list of pandoc elements (a paragraph, an
    emphasis, a raw block): what pandoc writes around them must stay well-formed."""
    open_: list[tuple[str, str]] = []
    for tag, raw in tags:
        if tag.kind == "start" and tag.name not in VOID_ELEMENTS:
            open_.append((tag.name, raw))
        elif tag.kind == "end":
            if not open_ or open_[-1][0] != tag.name:
                raise places.error(f"raw HTML </{tag.name}> closes no <{tag.name}> opened before it in the "
                                   "same paragraph", part, raw)
            open_.pop()
    if open_:
        name, raw = open_[-1]
        raise places.error(f"raw HTML <{name}> is not closed in the same paragraph", part, raw)


def _attributes(node: Node, attributes: list[Any], part: str, places: Places) -> None:
    """Refuse a pandoc attribute Sats does not allow, or a value it cannot use."""
    what = NAMES.get(node["t"], "an element")
    if NOT_XML.search(attributes[0] + "".join(attributes[1])):
        raise places.error(f"the identifier or a class of {what} holds a control character", part, attributes[0])
    for key, value in attributes[2]:
        pattern = re.compile(rf"(?<![\w:-]){re.escape(key)}\s*=", re.IGNORECASE)
        if key not in KEYS:
            raise places.error(f"attribute {key}= on {what} is not allowed; besides an identifier and classes, "
                               f"allowed are {', '.join(sorted(KEYS))}", part, pattern)
        if NOT_XML.search(value):
            raise places.error(f"attribute {key}= on {what} holds a control character", part, pattern)
        expected = VALUES.get(key)
        if expected and not expected[0](value):
            raise places.error(f"attribute {key}= on {what} must be {expected[1]}, got {_shown(value)}",
                               part, pattern)


def _target(node: Node, part: str, places: Places) -> None:
    """Refuse a link that is not for a reader, and an image that is not a file."""
    url = node["c"][2][0]
    head = unquote(url).split(":", 1)[0].strip()  # the scheme, however it is written
    needles = (url, re.compile(re.escape(head), re.IGNORECASE) if head else url)
    if node["t"] == "Link" and link_problem(url):
        raise places.error(f"link {_shown(url)} is not allowed: {LINKS}", part, *needles)
    if node["t"] == "Image" and (scheme(url) is not None or _browser_reads(url).startswith(("//", "\\"))):
        raise places.error(f"image {_shown(url)} is refused: it must be a file inside the manuscript folder",
                           part, *needles)


def _sanitise(items: list[Any], part: str, places: Places) -> None:
    """Check and rewrite the pandoc elements in `items` and below, in place."""
    raws: list[tuple[Tag, str]] = []
    kept = []
    for item in items:
        if isinstance(item, list):
            _sanitise(item, part, places)
        elif isinstance(item, dict) and "t" not in item:  # a citation: its prefix and suffix
            for value in item.values():
                if isinstance(value, list):
                    _sanitise(value, part, places)
        if not isinstance(item, dict) or "t" not in item:
            kept.append(item)
            continue
        kind = item["t"]
        if kind in ("RawInline", "RawBlock"):
            raw_format, raw = item["c"]
            if raw_format.lower() in HTML_FORMATS:
                written, tags = _raw_html(raw, part, places)
                if not written:
                    continue  # a comment
                item["c"] = ["html", written]
                if kind == "RawBlock":
                    _balance([(tag, raw) for tag in tags], part, places)
                else:
                    raws += [(tag, raw) for tag in tags]
            elif raw_format.lower() not in DROPPED_FORMATS:
                raise places.error(f"raw {raw_format} is not allowed", part, raw)
        else:
            children: Any = item.get("c")
            if kind in NAMES:
                attributes = children[1] if kind == "Header" else children[0]
                _attributes(item, attributes, part, places)
            if kind in ("Link", "Image"):
                _target(item, part, places)
            if kind == "Table":  # its head, bodies, foot, rows and cells carry attributes too
                for attributes in _table_attributes(children):
                    _attributes(item, attributes, part, places)
            if isinstance(children, list):
                _sanitise(children, part, places)
        kept.append(item)
    _balance(raws, part, places)
    items[:] = kept


def _table_attributes(node: Any) -> Iterator[list[Any]]:
    """The attributes of a table's parts below its own: [identifier, classes, key-value pairs]."""
    if isinstance(node, list):
        if len(node) == 3 and isinstance(node[0], str) and isinstance(node[1], list) and isinstance(node[2], list) \
                and all(isinstance(pair, list) and len(pair) == 2 for pair in node[2]):
            yield node
            return
        for item in node:
            if not (isinstance(item, dict) and "t" in item):  # elements are checked where they stand
                yield from _table_attributes(item)


def parsed(parts: dict[str, list[Node]], manuscript: Manuscript) -> None:
    """Sanitise the article's parts as pandoc parsed them, in place: raw HTML is rewritten by Sats
    (comments dropped) or refused, and so is every attribute, link and image source that is not
    allowed, with the file and line where it is written."""
    places = Places(manuscript)
    for part, blocks in parts.items():
        _sanitise(blocks, part, places)


# The editions' side: the last look at what is written.

# Elements that run, style, embed, fetch or take input: never in an edition's text.
ACTIVE = frozenset({
    "script", "noscript", "template", "style", "link", "meta", "base", "iframe", "frame", "frameset", "object",
    "embed", "applet", "param", "audio", "video", "source", "track", "picture", "canvas", "portal", "form",
    "input", "button", "select", "textarea", "option", "optgroup", "datalist", "keygen", "output", "dialog",
    "foreignobject", "set", "animate", "animatemotion", "animatetransform", "animatecolor", "handler",
    "listener", "discard", "fencedframe", "marquee", "bgsound", "menuitem"})
# Attributes that hold a URL. `href` (links) and `src` (images) are checked for what they point
# at; the others neither Sats nor pandoc writes.
URL_ATTRIBUTES = frozenset({
    "action", "formaction", "data", "poster", "cite", "background", "longdesc", "usemap", "codebase",
    "manifest", "icon", "ping", "lowsrc", "dynsrc", "archive", "classid", "profile", "srcset", "srcdoc",
    "base"})
# What pandoc writes in a style attribute (a table cell's alignment, an image's size) and what
# Sats writes on a drawn formula: lengths and alignments, no function, no URL.
DECLARATION = re.compile(r"^\s*(?:(?:width|height|vertical-align|margin-top|margin-bottom)\s*:\s*-?[\d.]+"
                         r"(?:%|px|cm|mm|in|pt|pc|em)?|text-align\s*:\s*(?:left|right|center|justify))\s*$")
# A document's head is its writer's (pandoc's template: its citation styles among them); no
# manuscript value reaches it but the title, as text.
HEAD = frozenset({"title", "meta", "link", "style"})


def _name(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1].lower()


def _style_problem(value: str) -> bool:
    return not all(DECLARATION.match(declaration) for declaration in value.split(";") if declaration.strip())


def active(tree: Any, resource: Callable[[str], bool]) -> str | None:
    """What in `tree` (an edition's HTML or XHTML, parsed by lxml) is active, or None: a script,
    style, embedding element, event handler, style beyond lengths and alignments, or a URL that
    is not a link for the reader nor, by `resource`, a file of the edition."""
    for element in tree.iter():
        if element.tag is etree.Comment:
            return "an HTML comment"
        if not isinstance(element.tag, str):
            return "a processing instruction or an entity"
        name = _name(element.tag)
        in_head = any(_name(ancestor.tag) == "head" for ancestor in element.iterancestors())
        if in_head and name in HEAD:
            if name == "meta" and {_name(key) for key in element.attrib} - {"charset", "name", "content"}:
                return "a <meta> beyond a name and content"
            if name == "link" and (element.get("rel") != "stylesheet" or not resource(element.get("href", ""))):
                return f"a <link> to {_shown(element.get('href', ''))}"
        elif name in ACTIVE:
            return f"a <{name}> element"
        for key, value in element.items():
            attribute = _name(key)
            if attribute.startswith("on"):
                return f"an event handler {attribute}= on <{name}>"
            if attribute == "style" and _style_problem(value):
                return f"a style {_shown(value)} on <{name}>"
            if attribute in URL_ATTRIBUTES:
                return f"a {attribute}= on <{name}>"
            if attribute == "http-equiv":
                return f"an http-equiv= on <{name}>"
            if attribute == "src" or (attribute == "href" and name in ("image", "use", "link")):
                if not resource(value) and not (name == "use" and value.startswith("#")):
                    return f"<{name}> pointing at {_shown(value)}"
            elif attribute == "href" and link_problem(value) and (scheme(value) is not None or not resource(value)):
                return f"a link to {_shown(value)}"
    return None


def check_edition(tree: Any, resource: Callable[[str], bool], edition: str, where: Path | None = None) -> None:
    """Stop the build if `tree`, a document of `edition`, carries anything active: the sanitiser
    should have refused it, and an edition that would carry it is not made."""
    found = active(tree, resource)
    if found is not None:
        raise SatsError.at(f"the {edition} would carry {found}, which the sanitiser let through: "
                           "nothing is written", where)
