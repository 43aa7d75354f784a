"""The sanitiser: what a manuscript may put into the editions, read from what pandoc parsed, and
the last look at the editions' HTML and XHTML. The hostile manuscripts are in tests/broken/sanitise-*."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from lxml import html as lxml_html

from sats import config, content, epub, manuscript, pandoc, sanitise
from sats.cli import main
from sats.errors import SatsError

PROPERTY = settings(max_examples=80, deadline=None, derandomize=True, database=None)
# An independent reading of what is active, for the property tests: not the sanitiser's own lists.
DANGEROUS = {"script", "style", "iframe", "frame", "object", "embed", "applet", "link", "meta", "base", "form",
             "input", "button", "textarea", "select", "svg", "math", "video", "audio", "source", "template",
             "noscript", "title", "image", "set", "animate", "img", "plaintext", "xmp", "param", "portal"}
PANDOC_STYLE = re.compile(r"^((width|height):[\d.]+(%|px|cm|mm|in|pt|pc|em)?;?)+$")


@pytest.fixture(scope="module")
def mini() -> manuscript.Manuscript:
    """The small fixture manuscript, read once: each test gives it a body of its own."""
    return manuscript.read(config.load(FIXTURES / "mini"))


def sanitised(text: str, source: manuscript.Manuscript) -> list[Any]:
    """The blocks pandoc parses of `text`, as the body of `source`, sanitised."""
    body = dataclasses.replace(source.body, text=text)
    blocks = json.loads(pandoc.run([f"--from={content.READER}", "--to=json"], text))["blocks"]
    sanitise.parsed({"body": blocks}, dataclasses.replace(source, body=body))
    return list(blocks)


def written(blocks: list[Any]) -> str:
    """The blocks as pandoc's HTML writer writes them (the EPUB's writer, but for its XML head)."""
    document = {"pandoc-api-version": [1, 23, 1, 1], "meta": {}, "blocks": blocks}
    return pandoc.run(["--from=json", "--to=html5", "--wrap=none"], json.dumps(document))


def active_in(html: str, images: bool = False) -> list[str]:
    """What is active in pandoc's HTML, read independently of the sanitiser; it must also be
    well-formed XML, as the EPUB's XHTML is. With `images`, Markdown images may be there, each
    pointing at a file."""
    etree.fromstring(f"<div>{html}</div>".encode())
    found = []
    for element in lxml_html.fragment_fromstring(html, create_parent="div").iter():
        if not isinstance(element.tag, str):
            found.append("a comment or processing instruction")
            continue
        if element.tag.lower().rsplit(":", 1)[-1] in DANGEROUS - ({"img"} if images else set()):
            found.append(element.tag)
        for key, value in element.items():
            name = key.lower()
            url = re.sub(r"[\t\n\r]", "", value.strip("".join(map(chr, range(0x21))))).lower()
            if name.startswith("on") or name in ("srcdoc", "formaction", "action", "xlink:href", "cite"):
                found.append(f"{name}=")
            elif name == "style" and not PANDOC_STYLE.match(value.replace(" ", "")):
                found.append(f"style={value}")
            elif name == "href" and not url.startswith(("http:", "https:", "mailto:", "#")):
                found.append(f"href={value}")
            elif name == "src" and (re.match(r"^[a-z][a-z0-9+.-]*:", url) or url.startswith(("//", "\\"))):
                found.append(f"src={value}")
    return found


def test_allowed_raw_html_is_kept_and_written_again_by_sats(mini: manuscript.Manuscript) -> None:
    text = ('A line<br>and the next, <ABBR TITLE="North &amp; &quot;x&quot;">NATO</ABBR> <time datetime=2020-01-01>'
            "then</time> x<wbr>y <sup>2</sup> <a href='https://example.org/?a=1&b=2' class=x>link</a> "
            "<!-- the author's remark --> <span lang=nb xml:lang=nb>norsk</span>.\n\n<!-- a block remark -->\n")
    raws = [node["c"] for node in content.walk(sanitised(text, mini)) if node["t"] in ("RawInline", "RawBlock")]
    assert raws == [["html", "<br />"], ["html", '<abbr title="North &amp; &quot;x&quot;">'], ["html", "</abbr>"],
                    ["html", '<time datetime="2020-01-01">'], ["html", "</time>"], ["html", "<wbr />"],
                    ["html", "<sup>"], ["html", "</sup>"],
                    ["html", '<a href="https://example.org/?a=1&amp;b=2" class="x">'], ["html", "</a>"]]
    assert "remark" not in written(sanitised(text, mini))


@pytest.mark.parametrize(("text", "message"), [
    ('Text <meta http-equiv="refresh" content="0; url=https://example.org/"> more.', "raw HTML <meta> is not allowed"),
    ("Text <link rel=stylesheet href=x.css> more.", "raw HTML <link> is not allowed"),
    ("Text <a href='java\0script:alert(1)'>x</a> more.", "holds a control character"),
    ("Text <span title='a\x0bb'>x</span> more.", "holds a control character"),
    ("Text <img/src=x/onerror=alert(1)> more.", "raw HTML <img> is not allowed"),
    ("Text <a/href=javascript:alert(1)>x</a> more.", "raw HTML link 'javascript:alert(1)' is not allowed"),
    ("Text <em/>x more.", "raw HTML <em> is not closed in the same paragraph"),
    ("Text </br> more.", "raw HTML </br> closes no <br>"),
    ("[x]{dir=sideways}", "attribute dir= on a span must be ltr, rtl or auto, got 'sideways'"),
    ("[x]{lang=../../etc}", "attribute lang= on a span must be a language tag such as en or nb-NO"),
    ("[x](https://example.org){target=_blank}", "attribute target= on a link is not allowed"),
    ("| a |\n|---|\n| x <b onclick=y>b</b> |\n", "raw HTML attribute onclick= on <b> is not allowed"),
])
def test_what_the_sanitiser_refuses(text: str, message: str, mini: manuscript.Manuscript) -> None:
    with pytest.raises(SatsError, match=re.escape(message)):
        sanitised(text, mini)


def test_an_error_names_the_line_where_it_is_written(mini: manuscript.Manuscript) -> None:
    text = "# Heading\n\nA paragraph\nthat runs on, with <b>bold</b>\nand a [link](JavaScript:alert(1)) in it.\n"
    with pytest.raises(SatsError) as caught:
        sanitised(text, mini)
    assert str(caught.value).endswith("body.md:5: link 'JavaScript:alert(1)' is not allowed: links go to http(s), "
                                      "mailto or # targets")


@pytest.mark.parametrize(("url", "problem"), [
    ("https://example.org/x", None), ("HTTP://example.org", None), ("mailto:a@example.org", None), ("#fn1", None),
    (" javascript:alert(1)", sanitise.LINKS), ("java\nscript:alert(1)", sanitise.LINKS),
    ("\x01javascript:x", sanitise.LINKS), ("data:text/html,x", sanitise.LINKS), ("file:///etc/passwd", sanitise.LINKS),
    ("vbscript:x", sanitise.LINKS), ("//example.org", sanitise.LINKS), ("java%73cript:x", sanitise.LINKS),
    ("ｊａｖａｓｃｒｉｐｔ:x", sanitise.LINKS), ("chapter.html", sanitise.LINKS),
])
def test_links_go_to_the_web_mail_or_the_text(url: str, problem: str | None) -> None:
    assert sanitise.link_problem(url) == problem


@given(st.text(max_size=12), st.sampled_from(["javascript", "data", "file", "vbscript", "blob", "filesystem"]),
       st.lists(st.sampled_from(["", " ", "\t", "\n", "\r", "\x00", "\x1f"]), max_size=3), st.booleans())
@settings(max_examples=300, deadline=None, derandomize=True, database=None)
def test_no_dangerous_scheme_passes_however_it_is_written(rest: str, name: str, noise: list[str],
                                                          upper: bool) -> None:
    scheme = "".join(f"{letter}{noise[index % len(noise)] if noise else ''}" for index, letter in enumerate(name))
    url = "".join(noise) + (scheme.upper() if upper else scheme) + ":" + rest
    assert sanitise.link_problem(url) == sanitise.LINKS


ALLOWED_TAGS = st.sampled_from(["a", "b", "em", "span", "sup", "abbr", "q", "time", "code", "A", "Em"])
TAGS = ALLOWED_TAGS | st.sampled_from([
    "br", "wbr", "div", "p", "script", "SCRIPT", "ScRiPt", "style", "img", "IMG", "iframe", "svg", "math", "textarea",
    "title", "noscript", "object", "embed", "link", "meta", "base", "form", "input", "video", "template", "image",
    "set", "animate", "xmp", "plaintext"])
KNOWN_ATTRIBUTES = st.sampled_from(["href", "title", "class", "id", "lang", "dir", "HREF", "datetime"])
ATTRIBUTES = KNOWN_ATTRIBUTES | st.sampled_from([
    "onclick", "onerror", "OnLoad", "style", "src", "srcdoc", "xlink:href", "role", "epub:type", "data-anchor",
    "formaction", "cite", "xml:lang", "width"])
URLS = st.sampled_from(["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:x", "java\tscript:x",
                        "javascript&#58;x", "&#106;avascript:x", "&#x6A;avascript:x", "java&#x09;script:x",
                        "data:text/html,<script>x</script>", "vbscript:x", "file:///etc/passwd", "//example.org",
                        "https://example.org", "mailto:a@example.org", "#ref-x", "java%73cript:x", "fig.png",
                        "a&quot; onclick=&quot;x", "x\" onclick=\"y", "</a><script>x</script>"])
VALUES = URLS | st.text(alphabet="ax <>\"'&;=:/-", max_size=8)
SPACE = st.sampled_from([" ", "\n", "\t", "/", "  \n "])


@st.composite
def attribute(draw: st.DrawFn, names: st.SearchStrategy[str] = ATTRIBUTES) -> str:
    name, value = draw(names), draw(VALUES)
    quote = draw(st.sampled_from(['"', "'", "", None]))
    if quote is None:
        return str(name)
    return f"{name}={quote}{value.replace(quote, '') if quote else value.replace(' ', '')}{quote}"


@st.composite
def raw_html(draw: st.DrawFn) -> str:
    """Random raw HTML in a paragraph: tags, attributes, comments, CDATA, backticks and breaks."""
    pieces = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["element"] * 6 + ["start", "end", "text", "comment", "cdata", "tick", "break",
                                                       "raw"]))
        if kind == "element":  # a whole allowed element, so that much of what is drawn gets through
            name = draw(ALLOWED_TAGS)
            attributes = "".join(" " + draw(attribute(KNOWN_ATTRIBUTES)) for _ in range(draw(st.integers(0, 2))))
            pieces.append(f"<{name}{attributes}>{draw(st.text(alphabet='ab <&`', max_size=4))}</{name}>")
        elif kind == "start":
            attributes = "".join(draw(SPACE) + draw(attribute()) for _ in range(draw(st.integers(0, 3))))
            pieces.append(f"<{draw(TAGS)}{attributes}{draw(st.sampled_from(['>', '/>', ' >', chr(10) + '>']))}")
        elif kind == "end":
            pieces.append(f"</{draw(TAGS)}>")
        elif kind == "text":
            pieces.append(draw(st.text(alphabet="ab <>&;`\\{}=", max_size=6)))
        elif kind == "comment":
            pieces.append(f"<!--{draw(st.sampled_from(['', ' x ', '<script>x</script>', '--', ' <!-- ']))}-->")
        elif kind == "cdata":
            pieces.append("<![CDATA[<script>x</script>]]>")
        elif kind == "tick":
            pieces.append(draw(st.sampled_from(["`", "\\`", "``", "`{=html}"])))
        elif kind == "break":
            pieces.append(draw(st.sampled_from(["\n", "\n\n", "  \n"])))
        else:
            pieces.append(draw(st.sampled_from(["<script>alert(1)</script>", "<textarea>", "<title>", "</textarea>"])))
    return "Text " + "".join(pieces) + " end.\n"


@st.composite
def attribute_soup(draw: st.DrawFn) -> str:
    """Random pandoc attributes on every element that takes them, and link and image targets."""
    soup = "{" + " ".join(draw(st.lists(
        st.sampled_from(["#x", ".y", "-"]) | attribute().map(lambda text: text.replace("}", "")), max_size=4))) + "}"
    url = draw(URLS).replace(")", "").replace(" ", "")
    return draw(st.sampled_from([
        f"[x]{soup}", f"::: {soup}\nText.\n:::", f"# Heading {soup}", f"`code`{soup}", f"```{soup}\ncode\n```",
        f"[x]({url}){soup}", f"![x]({url}){soup}", f"[x][r]\n\n[r]: {url}", f"<{url}>", f"![x][r]\n\n[r]: {url}",
    ])) + "\n"


def assert_refused_or_inert(text: str, source: manuscript.Manuscript, images: bool = False) -> None:
    """`text` is refused with one line, or pandoc writes it with nothing active in it."""
    try:
        blocks = sanitised(text, source)
    except SatsError as error:
        assert "\n" not in str(error)
        return
    assert active_in(written(blocks), images) == []


@given(text=raw_html())
@PROPERTY
def test_random_raw_html_is_refused_or_inert(text: str, mini: manuscript.Manuscript) -> None:
    assert_refused_or_inert(text, mini)


@given(text=attribute_soup())
@PROPERTY
def test_random_attributes_and_targets_are_refused_or_inert(text: str, mini: manuscript.Manuscript) -> None:
    assert_refused_or_inert(text, mini, images=True)


@pytest.fixture(scope="module")
def built_with_raw_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small fixture with the raw HTML the README allows, an unclosed <br> among it, built."""
    folder = tmp_path_factory.mktemp("raw-html") / "manuscript"
    shutil.copytree(FIXTURES / "mini", folder)
    with (folder / "body.md").open("a") as body:
        body.write("\nA line<br>and the next, <abbr title='North Atlantic Treaty Organization'>NATO</abbr>,"
                   " <span lang=nb>norsk</span> and <a href=https://example.org>a link</a>.<!-- remark -->\n")
    output = folder.parent / "dist"
    assert main(["build", str(folder), "-o", str(output), "-q", "--keep-html"]) == 0
    return output


def test_the_allowed_raw_html_reaches_both_editions_well_formed(built_with_raw_html: Path) -> None:
    epub_file = next(built_with_raw_html.glob("*.epub"))
    with zipfile.ZipFile(epub_file) as archive:
        texts = [archive.read(name).decode() for name in archive.namelist() if name.endswith(".xhtml")]
    line = next(line for text in texts for line in text.splitlines() if "A line" in line)
    assert line == ('<p>A line<br/>and the next, <abbr title="North Atlantic Treaty Organization">NATO</abbr>, '
                    '<span lang="nb" xml:lang="nb">norsk</span> and <a href="https://example.org">a link</a>.</p>')
    print_html = next(built_with_raw_html.glob("*.print.html")).read_text()
    assert "<abbr title=\"North Atlantic Treaty Organization\">NATO</abbr>" in print_html
    assert "remark" not in print_html and not any("remark" in text for text in texts)


@pytest.mark.parametrize(("injected", "found"), [
    ("<script>alert(1)</script>", "a <script> element"),
    ('<span onclick="alert(1)">x</span>', "an event handler onclick= on <span>"),
    ('<span style="background: url(x)">x</span>', "a style 'background: url(x)' on <span>"),
    ('<a href="javascript:alert(1)">x</a>', "a link to 'javascript:alert(1)'"),
    ('<img src="../../canary.txt" alt=""/>', "<img> pointing at '../../canary.txt'"),
    ('<img src="data:image/png;base64,AAAA" alt=""/>', "<img> pointing at 'data:image/png;base64,AAAA'"),
    ('<embed src="../media/file0.png"/>', "a <embed> element"),
    ('<form action="https://example.org"><input name="q"/></form>', "a <form> element"),
    ('<svg xmlns="http://www.w3.org/2000/svg"><set attributeName="href" to="javascript:x"/></svg>',
     "a <set> element"),
    ('<math xmlns="http://www.w3.org/1998/Math/MathML"><mi xml:base="javascript:x">x</mi></math>',
     "a base= on <mi>"),
    ("<!-- <script>alert(1)</script> -->", "an HTML comment"),
])
def test_the_last_look_at_the_epub_stops_what_got_through(built_with_raw_html: Path, injected: str,
                                                          found: str) -> None:
    """A document of a real EPUB with something active slipped in, as if past the sanitiser."""
    data = next(built_with_raw_html.glob("*.epub")).read_bytes()
    epub._nothing_active(epub._Package(data))  # as built, nothing
    package = epub._Package(data)
    name = next(name for name in package.files if name.endswith("ch002.xhtml"))
    package.files[name] = package.files[name].replace(b"</section>", injected.encode() + b"</section>", 1)
    with pytest.raises(SatsError, match=re.escape(f"the EPUB (text/ch002.xhtml) would carry {found}, which the "
                                                  "sanitiser let through: nothing is written")):
        epub._nothing_active(package)


def test_a_sanitiser_that_lets_something_through_stops_the_build(manuscript_copy: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """With the sanitiser switched off, the last look at the print edition's HTML stops the build."""
    with (manuscript_copy / "body.md").open("a") as body:
        body.write("\nText <img onerror=alert(1) src=x> more.\n")
    monkeypatch.setattr(sanitise, "parsed", lambda parts, manuscript: None)
    assert main(["build", str(manuscript_copy), "-o", str(tmp_path / "dist")]) == 1
    assert capsys.readouterr().err.strip() == ("the print edition would carry an event handler onerror= on <img>, "
                                               "which the sanitiser let through: nothing is written")
    assert not list((tmp_path / "dist").glob("*.pdf"))


def test_what_sats_lays_out_passes_the_last_look(built_with_raw_html: Path) -> None:
    """Sats's templates are not mistaken for the manuscript's doing: the whole body of the print
    HTML WeasyPrint lays out passes, not only the article's parts."""
    tree = lxml_html.document_fromstring(next(built_with_raw_html.glob("*.print.html")).read_bytes())
    assert sanitise.active(tree.find("body"), lambda url: False) is None
