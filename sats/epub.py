"""The EPUB 3 edition: pandoc writes it from the parsed article; Sats finishes the package."""

from __future__ import annotations

import io
import posixpath
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lxml import etree

from . import figures, images, mathematics, pagebreaks, pandoc, pdf, sanitise, templates
from .config import TOOL_ROOT, Project
from .content import Block, Content, check_resources
from .pdf import PageStart
from .timing import stage

STYLES = TOOL_ROOT / "styles"
EPUB_FONTS = ("SourceSerif4-Regular.ttf", "SourceSerif4-It.ttf", "SourceSerif4-Semibold.ttf",
              "SourceSerif4-SemiboldIt.ttf")
XHTML = "http://www.w3.org/1999/xhtml"
OPS = "http://www.idpf.org/2007/ops"
OPF = "http://www.idpf.org/2007/opf"
SVG = "http://www.w3.org/2000/svg"
NCX = "http://www.daisy.org/z3986/2005/ncx/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NS = {"x": XHTML, "epub": OPS, "opf": OPF, "svg": SVG, "dc": "http://purl.org/dc/elements/1.1/"}
COVER_WIDTH = 1600
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# What sets type in bold and in italics in the EPUB's documents (with styles/epub.css's classes),
# to tell which of the embedded faces a document uses.
BOLD = ("self::x:h1 or self::x:h2 or self::x:h3 or self::x:h4 or self::x:h5 or self::x:h6 or self::x:strong "
        "or self::x:b or self::x:th or contains(@class, 'section-name') or contains(@class, 'author-name')")
ITALIC = ("self::x:em or self::x:i or self::x:cite or self::x:var or self::x:dfn or contains(@class, 'journal-title') "
          "or contains(@class, 'affiliation') or contains(@class, 'keywords-label')")
FACE_USES = {"SourceSerif4-It.ttf": f"//*[{ITALIC}]", "SourceSerif4-Semibold.ttf": f"//*[{BOLD}]",
             "SourceSerif4-SemiboldIt.ttf": f"//*[{ITALIC}][ancestor-or-self::*[{BOLD}]]"
                                            f" | //*[{BOLD}][ancestor-or-self::*[{ITALIC}]]"}
# Landmarks: (epub:type, the id of the heading that starts it, the label's key).
LANDMARKS = (("titlepage", "title-page", "title-page"), ("bodymatter", None, "body-start"),
             ("bibliography", "references", "references"))


def _header(identifier: str, text: str, classes: list[str], **attributes: str) -> Block:
    inlines: list[Any] = []
    for word in text.split(" "):
        inlines += [{"t": "Space"}] if inlines else []
        inlines.append({"t": "Str", "c": word})
    return {"t": "Header", "c": [1, [identifier, classes, list(attributes.items())], inlines]}


def _raw(html: str) -> Block:
    return {"t": "RawBlock", "c": ["html", html]}


def cover_html(context: templates.Context) -> str:
    """The cover, as HTML from its template."""
    return templates.render("epub/cover.html.j2", context)


def cover(html: str, project: Project) -> bytes:
    """The cover image (PNG), rendered from `html`."""
    document = pdf.lay_out(html, STYLES, (STYLES,), epoch=project.epoch)
    rendered = pdf.write(document, identifier=f"cover {project.slug}")
    return images.png(images.pages(rendered.data, COVER_WIDTH)[0])


def document(project: Project, article: Content, context: templates.Context) -> str:
    """The EPUB's pandoc document: title page, body, references, the translated abstract."""
    labels = context.labels
    # The heading starts the title page's document; finishing gives way to the page's own title.
    blocks = [_header("title-page", project.title, ["title-page"]),
              _raw(templates.render("partials/front.html.j2", context))]
    blocks += article.parts["body"]
    blocks += [_header("references", labels["references"], ["references"]),
               {"t": "Div", "c": [["refs", ["references", "csl-bib-body"], []],
                                  article.parts["refs"]]}]
    if project.translation:
        lang = project.translation.lang
        blocks += [_header("translation", context.translation_labels["translation"], ["translation-label"],
                           lang=lang),
                   _raw(templates.render("partials/translation.html.j2", context, show_label=False))]
    return article.document(blocks, title=project.title)


class Writing:
    """An EPUB whose package pandoc is writing, meanwhile the print edition is laid out."""

    def __init__(self, job: pandoc.Job, folder: tempfile.TemporaryDirectory[str]) -> None:
        self._job, self._folder = job, folder

    def finish(self, starts: tuple[PageStart, ...], context: templates.Context) -> bytes:
        """The finished EPUB; `starts` are where the print edition's pages begin, `context`
        knows its last page."""
        try:
            package = self._job.result()
        finally:
            self._folder.cleanup()
        return finish(package, context, starts)

    def cancel(self) -> None:
        """Stop writing: the build has failed."""
        self._job.cancel()
        self._folder.cleanup()


def start(project: Project, article: Content, context: templates.Context, cover_image: bytes,
          placed: figures.Images) -> Writing:
    """Start pandoc writing the EPUB's package, with `cover_image` (PNG) as its cover, and the
    article's images as `placed` made them (SVGs sanitised) and scaled for the EPUB."""
    check_resources(article, project.root)
    folder = tempfile.TemporaryDirectory(prefix="sats-epub-")
    work = Path(folder.name)
    copies = figures.epub_copies(placed, work)
    (work / "cover.png").write_bytes(cover_image)
    (work / "metadata.xml").write_text(templates.render("epub/metadata.xml.j2", context), encoding="utf-8")
    args = ["--from=json", "--to=epub3", "--mathml", "--split-level=1", "--epub-title-page=false",
            f"--css={STYLES / 'epub.css'}", f"--epub-cover-image={work / 'cover.png'}",
            f"--epub-metadata={work / 'metadata.xml'}",
            *(f"--epub-embed-font={STYLES / 'fonts' / name}" for name in EPUB_FONTS),
            "--output=-"]
    with figures.pointed(list(article.parts.values()), copies):
        text = document(project, article, context)
    # The sandbox would keep pandoc from the CSS and fonts; check_resources above stands in.
    job = pandoc.start(args, text, sandbox=False, epoch=project.epoch, cwd=project.root)
    return Writing(job, folder)


class _Package:
    """The files of an EPUB, opened for finishing."""

    def __init__(self, data: bytes) -> None:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            self.files = {name: archive.read(name) for name in archive.namelist()}
        self.opf_name = next(name for name in self.files if name.endswith(".opf"))
        self.base = self.opf_name.rsplit("/", 1)[0] + "/"
        self.opf = etree.fromstring(self.files[self.opf_name])
        self.trees: dict[str, etree._Element] = {}  # documents parsed for finishing, by href

    def href(self, item_id: str) -> str:
        (item,) = self.opf.xpath(f'opf:manifest/opf:item[@id="{item_id}"]', namespaces=NS)
        return str(item.get("href"))

    def spine(self) -> list[str]:
        """The content documents in reading order, as hrefs relative to the package file."""
        return [self.href(ref.get("idref")) for ref in self.opf.iterfind("opf:spine/opf:itemref", NS)]

    def text(self) -> list[str]:
        """The documents of the spine that hold the text: all but the cover."""
        cover = self.opf.xpath('opf:manifest/opf:item[contains(@properties, "svg")]/@href', namespaces=NS)
        return [href for href in self.spine() if href not in cover]

    def nav(self) -> etree._Element:
        """The navigation document."""
        return self.tree(self.opf.xpath('opf:manifest/opf:item[contains(@properties, "nav")]/@href',
                                        namespaces=NS)[0])

    def tree(self, href: str) -> etree._Element:
        """A document of the package, parsed once; changes to it are written by zip()."""
        if href not in self.trees:
            self.trees[href] = etree.fromstring(self.files[self.base + href])
        return self.trees[href]

    def zip(self) -> bytes:
        """A reproducible EPUB ZIP: mimetype first and stored, fixed dates, sorted names."""
        self.files[self.opf_name] = etree.tostring(self.opf, xml_declaration=True, encoding="utf-8")
        for href, tree in self.trees.items():
            self.files[self.base + href] = etree.tostring(tree, xml_declaration=True, encoding="utf-8")
        files = dict(self.files)
        output = io.BytesIO()
        with zipfile.ZipFile(output, "w") as archive:
            archive.writestr(zipfile.ZipInfo("mimetype", ZIP_DATE), files.pop("mimetype"), zipfile.ZIP_STORED)
            for name in sorted(files):
                info = zipfile.ZipInfo(name, ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, files[name])
        return output.getvalue()


def _finish_documents(package: _Package, labels: dict[str, str]) -> None:
    """Number the notes through the whole book, link each note back to its call, give
    every element marked with `lang` the `xml:lang` that XHTML reading systems read, and set
    each formula in MathML."""
    number = 0
    for href in package.spine():
        tree = package.tree(href)
        for element in tree.xpath("//*[@lang][not(@xml:lang)]"):
            element.set(XML_LANG, element.get("lang"))
        if mathematics.in_epub(tree):
            _declare(package, href, "mathml")
        calls = tree.xpath('//x:a[@role="doc-noteref"]', namespaces=NS)
        for call in calls:
            number += 1
            call.text = str(number)
            (note,) = tree.xpath(f'//x:aside[@id="{call.get("href")[1:]}"]', namespaces=NS)
            back = etree.Element(f"{{{XHTML}}}a", href=f"#{call.get('id')}", role="doc-backlink",
                                 attrib={"class": "note-back", "title": labels["back-to-call"]})
            back.text = str(number)
            paragraph = note.find("x:p", NS)
            target = paragraph if paragraph is not None else note
            back.tail = " " + (target.text or "")
            target.text = None
            target.insert(0, back)


def _internal_links(package: _Package) -> None:
    """Point each link to an identifier in another document at that document: pandoc's writer
    leaves a link to a figure as it was (`#fig-map`) when the figure went to another chapter."""
    trees = {href: package.tree(href) for href in package.text()}
    located: dict[str, str] = {}
    for href, tree in trees.items():
        for identifier in tree.xpath("//@id"):
            located.setdefault(str(identifier), href)
    for href, tree in trees.items():
        own = set(tree.xpath("//@id"))
        for link in tree.xpath('//x:a[starts-with(@href, "#")]', namespaces=NS):
            identifier = link.get("href")[1:]
            if identifier not in own and identifier in located:
                target = posixpath.relpath(located[identifier], posixpath.dirname(href))
                link.set("href", f"{target}#{identifier}")


def _declare(package: _Package, href: str, feature: str) -> None:
    """Declare in the manifest that the document `href` holds `feature` (MathML), and no longer
    SVG if none is left in it."""
    (item,) = package.opf.xpath(f'opf:manifest/opf:item[@href="{href}"]', namespaces=NS)
    features = set((item.get("properties") or "").split()) | {feature}
    if not package.tree(href).xpath("//svg:svg", namespaces=NS):
        features.discard("svg")
    item.set("properties", " ".join(sorted(features)))


def _title_page(package: _Package) -> None:
    """Let the title page read like the print edition's first page: drop the heading that began
    its document, so that the page's own title stands where the first page prints it."""
    for href in package.text():
        for heading in package.tree(href).xpath('//x:section[@id="title-page"]/x:h1[1]', namespaces=NS):
            pagebreaks.drop(heading)


def _landmarks(package: _Package, labels: dict[str, str]) -> None:
    """List the title page, the start of the text and the references among the landmarks."""
    (landmarks,) = package.nav().xpath('//x:nav[@epub:type="landmarks"]/x:ol', namespaces=NS)
    spine = package.spine()
    located: dict[str, str] = {}
    for href in spine:
        for identifier in package.tree(href).xpath("//x:section/@id", namespaces=NS):
            located.setdefault(str(identifier), href)
    title_page = located.get("title-page")
    body_start = spine[spine.index(title_page) + 1] if title_page in spine[:-1] else None
    for kind, identifier, label in LANDMARKS:
        target = f"{located[identifier]}#{identifier}" if identifier in located else body_start
        if target is None:
            continue
        item = etree.SubElement(landmarks, f"{{{XHTML}}}li")
        link = etree.SubElement(item, f"{{{XHTML}}}a", href=target, attrib={f"{{{OPS}}}type": kind})
        link.text = labels[label]


def _contents_languages(package: _Package) -> None:
    """Mark each entry of the contents whose section is in another language (the second-language
    abstract) with that language, as its heading is."""
    nav = package.nav()
    for link in nav.xpath('//x:nav[@epub:type="toc"]//x:a', namespaces=NS):
        href, _, identifier = str(link.get("href")).partition("#")
        if not identifier or href not in package.text():
            continue
        lang = package.tree(href).xpath(f'string(//*[@id="{identifier}"]/@lang)')
        if lang and lang != nav.get("lang"):
            link.set("lang", lang)
            link.set(XML_LANG, lang)


def _cover_text(package: _Package, context: templates.Context) -> None:
    """Give the cover image its text alternative."""
    project, labels = context.project, context.labels
    text = f"{labels['cover']}: {project.title}. {context.authors}. {project.journal.title}."
    for href in package.spine():
        tree = package.tree(href)
        for svg in tree.xpath("//svg:svg", namespaces=NS):
            svg.set("role", "img")
            svg.set("aria-label", text)
            title = etree.Element(f"{{{SVG}}}title")
            title.text = text
            svg.insert(0, title)


def _page_list(package: _Package, starts: tuple[PageStart, ...], context: templates.Context) -> None:
    """Mark where each printed page begins and list the pages in the navigation document."""
    first = context.project.journal.first_page
    labels = [str(first + number) for number in range(len(starts))]
    hrefs = pagebreaks.mark({href: package.tree(href) for href in package.text()}, starts, labels)
    nav = package.nav()
    body = nav.find("x:body", NS)
    page_list = etree.SubElement(body, f"{{{XHTML}}}nav", {f"{{{OPS}}}type": "page-list",
                                                         "role": "doc-pagelist", "hidden": "hidden"})
    heading = etree.SubElement(page_list, f"{{{XHTML}}}h2")
    heading.text = context.labels["page-list"]
    items = etree.SubElement(page_list, f"{{{XHTML}}}ol")
    for href, label in zip(hrefs, labels, strict=True):
        link = etree.SubElement(etree.SubElement(items, f"{{{XHTML}}}li"), f"{{{XHTML}}}a",
                                href=f"{href}#page-{label}")
        link.text = label


def _last_page(package: _Package, first: int, last: int | None) -> None:
    """Print the last page where the title page left room for it, now that the layout knows it."""
    for href in package.text():
        for span in package.tree(href).xpath('//x:span[@class="last-page"][not(node())]', namespaces=NS):
            if last is None or last == first:
                pagebreaks.drop(span)
            else:
                span.text = f"–{last}"


def _metadata(package: _Package, metadata_xml: str) -> None:
    """Replace pandoc's accessibility metadata with the project's, and add the printed source and
    what refines each author (role, sorting, order, ORCID iD)."""
    metadata = package.opf.find("opf:metadata", NS)
    for meta in metadata.xpath('opf:meta[starts-with(@property, "schema:")]', namespaces=NS):
        metadata.remove(meta)
    for meta in etree.fromstring(metadata_xml.encode()):
        metadata.append(meta)
    etree.indent(metadata, space="  ", level=1)


def _titles(package: _Package, title: str) -> None:
    """Title each document by its first heading, in the heading's language (pandoc titles them
    by their file names), or by the article's title where it has none."""
    for href in package.text():
        tree = package.tree(href)
        heading = next(iter(tree.xpath("//x:body//*[self::x:h1 or self::x:h2 or self::x:h3]", namespaces=NS)), None)
        element = tree.find("x:head/x:title", NS)
        element.text = title if heading is None else " ".join("".join(heading.itertext()).split())
        lang = heading.xpath("ancestor-or-self::*[@lang][1]/@lang") if heading is not None else []
        if lang and lang[0] != tree.get("lang"):
            element.set("lang", lang[0])
            element.set(XML_LANG, lang[0])


def _reference_list(package: _Package) -> None:
    """Make the reference list a list (pandoc writes a div with the role of one) for the
    reading systems that read structure, not roles."""
    for href in package.text():
        for group in package.tree(href).xpath('//x:div[@id="refs"][@role="list"]', namespaces=NS):
            group.tag = f"{{{XHTML}}}ul"
            del group.attrib["role"]
            for entry in group.xpath('x:div[@role="listitem"]', namespaces=NS):
                entry.tag = f"{{{XHTML}}}li"
                del entry.attrib["role"]


def _unused_fonts(package: _Package) -> None:
    """Drop each embedded face that no document sets type in, with its @font-face rule."""
    trees = [package.tree(href) for href in package.text()]
    for name, uses in FACE_USES.items():
        if any(tree.xpath(uses, namespaces=NS) for tree in trees):
            continue
        for item in package.opf.xpath(f'opf:manifest/opf:item[@href="fonts/{name}"]', namespaces=NS):
            item.getparent().remove(item)
            del package.files[package.base + item.get("href")]
        rule = re.compile(rb"@font-face\s*\{[^}]*/" + re.escape(name.encode()) + rb"[^}]*\}\n?")
        for file, data in package.files.items():
            if file.endswith(".css"):
                package.files[file] = rule.sub(b"", data)


def _ncx_cover(package: _Package) -> None:
    """Point the NCX's cover entry at the cover image's manifest item (pandoc names an id that
    is not there)."""
    (cover,) = package.opf.xpath('opf:manifest/opf:item[contains(@properties, "cover-image")]/@id', namespaces=NS)
    ncx_href = package.href(package.opf.find("opf:spine", NS).get("toc"))
    ncx = package.tree(ncx_href)
    for meta in ncx.xpath('//ncx:head/ncx:meta[@name="cover"]', namespaces={"ncx": NCX}):
        meta.set("content", cover)


def _nothing_active(package: _Package) -> None:
    """The last look before the EPUB is zipped: no document of it carries anything active, and
    each points only at files of the package."""
    for href in package.opf.xpath('opf:manifest/opf:item[@media-type="application/xhtml+xml"]/@href', namespaces=NS):
        folder = posixpath.dirname(package.base + href)

        def packed(url: str, folder: str = folder) -> bool:
            path = unquote(url.split("#", 1)[0])
            return bool(path) and sanitise.scheme(url) is None and not path.startswith(("/", "\\")) \
                and posixpath.normpath(posixpath.join(folder, path)) in package.files

        tree = package.trees.get(href)
        sanitise.check_edition(tree if tree is not None else etree.fromstring(package.files[package.base + href]),
                               packed, f"EPUB ({href})")


def finish(data: bytes, context: templates.Context, starts: tuple[PageStart, ...]) -> bytes:
    """Finish pandoc's EPUB: notes, print pages, landmarks, cover text, document titles, the
    reference list, fonts, metadata, a reproducible ZIP."""
    package = _Package(data)
    _finish_documents(package, context.labels)
    _internal_links(package)
    _title_page(package)
    _titles(package, context.project.title)
    _reference_list(package)
    _unused_fonts(package)
    _ncx_cover(package)
    with stage("page marks"):
        _page_list(package, starts, context)
    _landmarks(package, context.labels)
    _contents_languages(package)
    _cover_text(package, context)
    _last_page(package, context.project.journal.first_page, context.last_page)
    creators = [str(identifier) for identifier in package.opf.xpath("opf:metadata/dc:creator/@id", namespaces=NS)]
    _metadata(package, templates.render("epub/finishing.xml.j2", context, creators=creators))
    _nothing_active(package)
    return package.zip()
