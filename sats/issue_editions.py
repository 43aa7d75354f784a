"""The issue's own files, made from its articles' finished editions: the press PDF, the archival
PDF, the EPUB and the contents as data."""

from __future__ import annotations

import contextlib
import io
import json
import posixpath
import re
import uuid
import zipfile
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import pikepdf
from lxml import etree

from . import epub, finishing, images, pdf, templates
from .config import TOOL_ROOT
from .errors import SatsError
from .issue import Issue, Placed
from .timing import stage

STYLES = TOOL_ROOT / "styles"
STYLESHEET = (STYLES / "issue.css").as_uri()
NS = epub.NS


@dataclass(frozen=True)
class Line:
    """An article as the contents list it."""

    title: str
    lang: str  # the article's language, which its title is in
    authors: str
    section: str | None
    first: int
    last: int
    doi: str | None
    folder: str  # the article's folder in the issue EPUB
    files: dict[str, str]  # the article's editions, by kind

    @property
    def pages(self) -> str:
        """Its pages as printed: 319–330."""
        return f"{self.first}–{self.last}" if self.last != self.first else str(self.first)


@dataclass(frozen=True)
class Context:
    """What the issue's templates see, each field a variable of the same name."""

    issue: Issue
    labels: dict[str, str]
    lines: tuple[Line, ...]
    page_size: str
    stylesheet: str
    identifier: str  # the EPUB's: a name-based UUID of the issue
    modified: str  # the latest article's date, ISO: the only date the issue's files carry
    cover_text: str  # the cover image's text alternative

    def variables(self) -> dict[str, Any]:
        """The fields by name, for a template."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _render(name: str, context: Context, **variables: Any) -> str:
    return templates.render(name, **context.variables(), **variables)


def _context(issue: Issue, placed: tuple[Placed, ...]) -> Context:
    sizes = {article.project.page_size for article in placed}
    if len(sizes) > 1:
        raise SatsError.at(f"the articles of an issue must have one page size, got {', '.join(sorted(sizes))}",
                           issue.path)
    lines = tuple(Line(title=article.project.title, lang=article.project.lang,
                       authors=templates.author_names(article.project), section=article.project.section,
                       first=article.first, last=article.last,
                       doi=article.project.doi, folder=f"a{index:02d}",
                       files={kind: path.name for kind, path in sorted(article.outputs.items())})
                  for index, article in enumerate(placed, 1))
    labels = templates.labels(issue.lang)
    latest = max(article.project.date for article in placed)
    return Context(issue=issue, labels=labels, lines=lines, page_size=sizes.pop(), stylesheet=STYLESHEET,
                   identifier=f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'sats:issue:{issue.slug}')}",
                   modified=latest.isoformat(), cover_text=f"{labels['cover']}: {issue.name}"
                   + (f". {issue.title}" if issue.title else ""))


def make(issue: Issue, placed: tuple[Placed, ...], kinds: tuple[str, ...], pool: Executor) -> dict[str, bytes]:
    """The issue's files of the `kinds` asked for (print, pdf, epub, contents): the EPUB and the
    issue's own pages made by `pool` at once, which is then shut down; the PDFs merged here."""
    context = _context(issue, placed)
    epoch = max(article.project.epoch for article in placed)
    made = {"contents": contents_data(context)}
    epub_file = pool.submit(_epub, context, placed, epoch) if "epub" in kinds else None
    pages = {what: pool.submit(_archival_pages, _render(f"issue/{what}.html.j2", context), issue, epoch, what)
             for what in (("contents", "blank") if issue.contents else ("blank",))
             if "print" in kinds or "pdf" in kinds}
    with stage("issue pages and epub"):
        own = {what: page.result() for what, page in pages.items()}
        if epub_file is not None:
            made["epub"] = epub_file.result()
    pool.shutdown()  # the workers' memory is free for the merging
    front, blank = own.get("contents"), own.get("blank", b"")  # the blank page, when a PDF is asked for
    if "print" in kinds:
        with stage("issue press pdf"):
            made["print"] = _press(issue, placed, front, blank)
    if "pdf" in kinds:
        with stage("issue pdf"):
            made["pdf"] = _archival(issue, context, placed, front, blank)
    return made


def contents_data(context: Context) -> bytes:
    """The contents as JSON, for the journal's website: which article on which pages."""
    issue = context.issue
    data = {"journal": issue.journal, "volume": issue.volume, "issue": issue.number, "year": issue.year,
            "title": issue.title, "first-page": context.lines[0].first, "last-page": context.lines[-1].last,
            "articles": [{"title": line.title, "authors": line.authors, "section": line.section,
                          "first-page": line.first, "last-page": line.last, "doi": line.doi,
                          "files": line.files} for line in context.lines]}
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode()


def _archival_pages(html: str, issue: Issue, epoch: int, what: str) -> bytes:
    """Pages of the issue's own (the contents, a blank page), laid out and finished as the
    articles' archival PDFs are."""
    document = pdf.lay_out(html, STYLES, (STYLES,), epoch=epoch)
    return pdf.write(document, identifier=f"{issue.slug} {what}", edition=pdf.Edition(1, issue.name)).data


def _front_pages(issue: Issue, front: pikepdf.Pdf | None, blank: pikepdf.Pdf) -> list[pikepdf.Page]:
    """The front matter's pages, with a blank one where needed so that the first page of the
    articles falls on its side: an odd page on the right."""
    pages = list(front.pages) if front is not None else []
    if (len(pages) + issue.first_page) % 2 == 0:
        pages.append(blank.pages[0])
    return pages


def _sources(placed: tuple[Placed, ...], kind: str, stack: contextlib.ExitStack) -> list[pikepdf.Pdf]:
    """The articles' PDFs of `kind`, open (their pages are copied from them when the issue is
    saved), their links pointed at their pages."""
    sources = []
    for article in placed:
        source = stack.enter_context(pikepdf.open(article.outputs[kind]))
        _explicit_destinations(source)
        sources.append(source)
    return sources


def _explicit_destinations(source: pikepdf.Pdf) -> None:
    """Point the links at their pages rather than at the document's named destinations, whose
    names (fn1, …) two articles share."""
    if "/Names" not in source.Root or "/Dests" not in source.Root.Names:
        return
    names = pikepdf.NameTree(source.Root.Names.Dests)
    for page in source.pages:
        for annotation in page.get("/Annots", []):
            destination = annotation.get("/Dest")
            if isinstance(destination, pikepdf.String) and str(destination) in names:
                annotation.Dest = names[str(destination)]
    del source.Root.Names


def _untagged(document: pikepdf.Pdf) -> None:
    """Drop the structure tree, which pages from several documents no longer match."""
    for key in ("/StructTreeRoot", "/MarkInfo", "/Names"):
        if key in document.Root:
            del document.Root[key]
    for page in document.pages:
        if "/StructParents" in page:
            del page.StructParents
        for annotation in page.get("/Annots", []):
            if "/StructParent" in annotation:
                del annotation.StructParent


def _label(document: pikepdf.Pdf, front: int, segments: list[tuple[int, int]]) -> None:
    """Page labels: the front matter in roman numerals, then each run of pages from its number."""
    numbers: list[Any] = [0, pikepdf.Dictionary(S=pikepdf.Name.r, St=1)] if front else []
    for index, first in segments:
        numbers += [index, pikepdf.Dictionary(S=pikepdf.Name.D, St=first)]
    document.Root.PageLabels = pikepdf.Dictionary(Nums=pikepdf.Array(numbers))


def _save(document: pikepdf.Pdf, version: str = "") -> bytes:
    output = io.BytesIO()
    document.save(output, deterministic_id=True, compress_streams=True, force_version=version,
                  object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return output.getvalue()


def _press(issue: Issue, placed: tuple[Placed, ...], front: bytes | None, blank: bytes) -> bytes:
    """The whole issue for the press: the contents, the articles' press PDFs, blank pages where
    an article must start on the right; one output intent; page labels through the issue."""
    presses = {article.project.press for article in placed}
    if len(presses) > 1:
        raise SatsError.at("the articles of an issue must be printed with one press profile, bleed "
                           "and ink limit", issue.path)
    press = presses.pop()
    identifier = f"{issue.slug} print"
    with contextlib.ExitStack() as stack:
        blank_pdf = stack.enter_context(pikepdf.open(io.BytesIO(finishing.for_press(blank, press, identifier).data)))
        base = finishing.for_press(front or blank, press, identifier).data
        document = stack.enter_context(pikepdf.open(io.BytesIO(base)))
        front_pages = _front_pages(issue, document if front else None, blank_pdf)
        if not front:
            del document.pages[0]
        for extra in front_pages[len(document.pages):]:
            document.pages.append(extra)
        page = issue.first_page
        for article, source in zip(placed, _sources(placed, "print", stack), strict=True):
            for _ in range(article.first - page):  # the blank left page before a right-hand start
                document.pages.append(blank_pdf.pages[0])
            document.pages.extend(source.pages)
            page = article.last + 1
        _untagged(document)
        if "/Outlines" in document.Root:  # the contents page's
            del document.Root.Outlines
        _label(document, len(front_pages), [(len(front_pages), issue.first_page)])
        _title(document, issue)
        return _save(document, version="1.6")


def _title(document: pikepdf.Pdf, issue: Issue) -> None:
    """The issue's title and language in the document's metadata."""
    document.Root.Lang = pikepdf.String(issue.lang)
    with document.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:title"] = f"{issue.name}: {issue.title}" if issue.title else issue.name
        meta["dc:description"] = issue.name


def _archival(issue: Issue, context: Context, placed: tuple[Placed, ...], front: bytes | None,
              blank: bytes) -> bytes:
    """The whole issue for archives and readers: the contents page and the articles' archival
    PDFs, tagged as one document (PDF/A-2a and PDF/UA-1, as each of them is): a Part for the
    contents, an Art for each article, in its own language where it is not the issue's; a
    bookmark per article with its headings under it."""
    with contextlib.ExitStack() as stack:
        # The blank page's catalog: the issue's metadata, output intent, viewer preferences.
        document = stack.enter_context(pikepdf.open(io.BytesIO(blank)))
        del document.pages[0]
        finishing.new_structure(document)
        outlines: list[tuple[str, int, list[pikepdf.OutlineItem]]] = []
        if front:
            contents = stack.enter_context(pikepdf.open(io.BytesIO(front)))
            _explicit_destinations(contents)
            outlines.append((context.labels["contents"], 0, []))
            finishing.append_tagged(document, contents, pikepdf.Name.Part, "contents-", context.labels["contents"])
        front_count = len(document.pages)
        segments = []
        for line, article, source in zip(context.lines, placed, _sources(placed, "pdf", stack), strict=True):
            segments.append((len(document.pages), article.first))
            outlines.append((line.title, len(document.pages), _bookmarks(source, len(document.pages))))
            finishing.append_tagged(document, source, pikepdf.Name.Art, f"{line.folder}-", line.title,
                                    line.lang if line.lang != issue.lang else None)
        finishing.identifier_tree(document)
        _label(document, front_count, segments)
        with document.open_outline() as outline:
            for title, index, headings in outlines:
                item = pikepdf.OutlineItem(title, index)
                item.children.extend(headings)
                outline.root.append(item)
        _title(document, issue)
        return _save(document)


def _bookmarks(source: pikepdf.Pdf, offset: int) -> list[pikepdf.OutlineItem]:
    """The article's own bookmarks (its headings), for its pages from `offset` in the issue."""
    def copy(item: pikepdf.OutlineItem) -> pikepdf.OutlineItem:
        destination: Any = item.destination if item.destination is not None else item.action.D  # type: ignore[union-attr]
        page = source.pages.index(pikepdf.Page(destination[0]))
        made = pikepdf.OutlineItem(item.title, offset + page)
        made.children.extend(copy(child) for child in item.children)
        return made

    with source.open_outline() as outline:
        return [copy(item) for item in outline.root]


def _epub(context: Context, placed: tuple[Placed, ...], epoch: int) -> bytes:
    """The whole issue as one EPUB 3: each article's documents in a folder of their own, one
    navigation with a contents entry and a landmark per article, one page list, one cover."""
    files: dict[str, bytes] = {}
    manifest: list[dict[str, str]] = []
    spine: list[str] = []
    articles = []
    for line, article in zip(context.lines, placed, strict=True):
        with zipfile.ZipFile(article.outputs["epub"]) as archive:
            package = {name: archive.read(name) for name in archive.namelist()}
        opf = etree.fromstring(package["EPUB/content.opf"])
        # The fonts and styles the articles share, each once: every font any article uses.
        manifest += [{"id": str(item.get("id")), "href": str(item.get("href")),
                      "media-type": str(item.get("media-type")), "properties": ""}
                     for item in opf.iterfind("opf:manifest/opf:item", NS)
                     if str(item.get("href")).startswith(("fonts/", "styles/"))
                     and f"EPUB/{item.get('href')}" not in files]
        files = {**{name: data for name, data in package.items()
                    if name in ("mimetype", "META-INF/container.xml")
                    or name.startswith(("EPUB/fonts/", "EPUB/styles/"))}, **files}
        items = {str(item.get("id")): item for item in opf.iterfind("opf:manifest/opf:item", NS)}
        cover = {str(item.get("href")) for item in items.values()  # pandoc's cover page and image
                 if item.get("id") == "cover_xhtml" or "cover-image" in str(item.get("properties", ""))}
        for item in items.values():
            href = str(item.get("href"))
            if href in cover or href.startswith(("fonts/", "styles/")) or item.get("id") in ("ncx", "nav"):
                continue
            data = package[f"EPUB/{href}"]
            if href.endswith(".xhtml"):
                data = data.replace(b'href="../styles/', b'href="../../styles/')
            files[f"EPUB/{line.folder}/{href}"] = data
            manifest.append({"id": f"{line.folder}-{item.get('id')}", "href": f"{line.folder}/{href}",
                             "media-type": str(item.get("media-type")),
                             "properties": str(item.get("properties", ""))})  # mathml, svg: as declared
        text = [f"{line.folder}-{ref.get('idref')}" for ref in opf.iterfind("opf:spine/opf:itemref", NS)
                if items[str(ref.get("idref"))].get("href") not in cover]
        spine += text
        nav = etree.fromstring(package["EPUB/nav.xhtml"])
        articles.append(_article_navigation(nav, line.folder))
    html = _render("issue/cover.html.j2", context, stylesheets=((STYLES / "cover.css").as_uri(), STYLESHEET))
    document = pdf.lay_out(html, STYLES, (STYLES,), epoch=epoch)
    cover_png = images.png(images.pages(pdf.write(document, identifier=f"cover {context.issue.slug}").data,
                                        epub.COVER_WIDTH)[0])
    files["EPUB/media/cover.png"] = cover_png
    files["EPUB/text/cover.xhtml"] = _render("issue/cover.xhtml.j2", context).encode()
    entries = list(zip(context.lines, articles, strict=True))
    files["EPUB/text/contents.xhtml"] = _render("issue/contents.xhtml.j2", context, entries=entries).encode()
    files["EPUB/nav.xhtml"] = _render("issue/nav.xhtml.j2", context, entries=entries, articles=articles).encode()
    files["EPUB/content.opf"] = _render("issue/package.opf.j2", context, manifest=manifest, spine=spine).encode()
    return _zip(files)


@dataclass(frozen=True)
class ArticleNavigation:
    """An article's own navigation, its links made relative to the issue's package."""

    toc: str  # the article's contents list (an <ol>), as XHTML
    start: str  # where the article begins: its title page
    pages: tuple[tuple[str, str], ...]  # its print pages: (href, label)


def _article_navigation(nav: etree._Element, folder: str) -> ArticleNavigation:
    for link in nav.iter(f"{{{epub.XHTML}}}a"):
        href = str(link.get("href"))
        if not re.match(r"^[a-z]+:", href):
            link.set("href", posixpath.join(folder, href))
    (toc,) = nav.xpath('//x:nav[@epub:type="toc"]/x:ol', namespaces=NS)
    for element in toc.iter():
        element.attrib.pop("id", None)
    start = str(toc.xpath("x:li[1]/x:a/@href", namespaces=NS)[0])
    pages = tuple((str(a.get("href")), str(a.text))
                  for a in nav.xpath('//x:nav[@epub:type="page-list"]//x:a', namespaces=NS))
    entries = toc.xpath("x:li", namespaces=NS)
    inner = etree.Element(f"{{{epub.XHTML}}}ol", nsmap={None: epub.XHTML})
    for entry in entries[1:]:  # the first is the title page: the article's own entry stands for it
        inner.append(entry)
    return ArticleNavigation(etree.tostring(inner, encoding="unicode") if len(inner) else "", start, pages)


def _zip(files: dict[str, bytes]) -> bytes:
    """A reproducible EPUB ZIP: mimetype first and stored, fixed dates, sorted names."""
    output = io.BytesIO()
    files = dict(files)
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype", epub.ZIP_DATE), files.pop("mimetype"), zipfile.ZIP_STORED)
        for name in sorted(files):
            info = zipfile.ZipInfo(name, epub.ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return output.getvalue()

