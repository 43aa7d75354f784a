"""The EPUB knows the print pages: a marker where each printed page begins, and a page list."""

from __future__ import annotations

import copy
import re
import zipfile

import pytest
from conftest import Built
from lxml import etree

from sats.templates import author_names
from sats.wordcheck import pdf_pages

X = "http://www.w3.org/1999/xhtml"
NS = {"x": X, "epub": "http://www.idpf.org/2007/ops", "opf": "http://www.idpf.org/2007/opf"}
BLOCKS = ("p", "div", "section", "h1", "h2", "h3", "li", "aside", "header", "nav", "br")
MARK = "\u2063"  # stands for a marker in the text read around it
COMPARED = 40  # characters of each page compared, blanks, hyphens and case aside


def _plain(text: str) -> str:
    return re.sub(r"[\s\-\u2010\ufffe]", "", text).lower()


class PagedEpub:
    """An EPUB's text in reading order, with each page-break marker as MARK + label + MARK."""

    def __init__(self, built: Built) -> None:
        self.zip = zipfile.ZipFile(built.epub)
        self.opf = etree.fromstring(self.zip.read("EPUB/content.opf"))
        hrefs = {i.get("id"): i.get("href") for i in self.opf.iterfind("opf:manifest/opf:item", NS)}
        self.spine = [hrefs[r.get("idref")] for r in self.opf.iterfind("opf:spine/opf:itemref", NS)]
        self.trees = {href: etree.fromstring(self.zip.read(f"EPUB/{href}")) for href in self.spine}
        self.nav = etree.fromstring(self.zip.read("EPUB/nav.xhtml"))
        self.text = "".join(self._text(tree) for tree in self.trees.values())

    @staticmethod
    def _text(tree: etree._Element) -> str:
        tree = copy.deepcopy(tree)
        for note in tree.xpath('//x:aside[@role="doc-footnote"]', namespaces=NS):
            if not note.xpath('.//*[@role="doc-pagebreak"]'):  # notes stand apart from the text
                note.getparent().remove(note)
        for marker in tree.xpath('//*[@role="doc-pagebreak"]', namespaces=NS):
            marker.text = MARK + marker.get("aria-label") + MARK
        for element in tree.iter(*(f"{{{X}}}{name}" for name in BLOCKS)):
            element.tail = "\n" + (element.tail or "")
        return "".join(tree.find("x:body", NS).itertext()) + "\n"

    def markers(self) -> list[etree._Element]:
        return [m for tree in self.trees.values() for m in tree.xpath("//*[@epub:type='pagebreak']", namespaces=NS)]

    def marker(self, label: str) -> etree._Element:
        (marker,) = [m for m in self.markers() if m.get("aria-label") == label]
        return marker

    def around(self, label: str) -> tuple[str, str]:
        """The text before and after a page's marker, without the other markers."""
        before, after = self.text.split(MARK + label + MARK)
        return (re.sub(f"{MARK}\\w+{MARK}", "", before), re.sub(f"{MARK}\\w+{MARK}", "", after))


def _check_pages(built: Built) -> tuple[int, list[int]]:
    """Every page's first words follow its marker. A page that begins inside a link may have
    its marker after the link (the link's words stay whole): return the number of pages, and
    those pages."""
    book = PagedEpub(built)
    project = built.project
    pages = pdf_pages(built.pdf.read_bytes(), project.journal.first_page,
                      (author_names(project), project.short_title))
    after_links = []
    for number, page in enumerate(pages, project.journal.first_page):
        before, after = book.around(str(number))
        assert before == "" or before[-1].isspace(), f"the marker of page {number} splits a word"
        words = page.split()
        last_word = before.split()[-1] if before.split() else ""
        if len(_plain(last_word)) > len(_plain(words[0])) and _plain(last_word).endswith(_plain(words[0])):
            words = words[1:]  # the page begins with the rest of a word broken across the pages
        if not _plain(after).startswith(_plain(" ".join(words))[:COMPARED]):
            skipped = next(k for k in range(1, 4) if _plain(before).endswith(_plain(" ".join(words[:k]))))
            assert _plain(after).startswith(_plain(" ".join(words[skipped:]))[:COMPARED]), number
            (link,) = book.marker(str(number)).xpath("preceding::x:a[not(@role='doc-noteref')][1]", namespaces=NS)
            link_text, skipped_text = _plain("".join(link.itertext())), _plain(" ".join(words[:skipped]))
            assert any(skipped_text.startswith(link_text[j:]) for j in range(1, len(link_text))), \
                f"page {number} begins inside {link_text!r}: {skipped_text!r}"
            after_links.append(number)
    return len(pages), after_links


def test_each_page_begins_right_after_its_marker(first_title: Built) -> None:
    assert _check_pages(first_title) == (12, [])


def test_each_page_of_a_hundred_page_title_begins_right_after_its_marker(long_title: Built) -> None:
    pages, after_links = _check_pages(long_title)
    assert pages >= 100 and len(after_links) <= pages // 10


@pytest.mark.parametrize("fixture", ["first_title", "long_title"])
def test_page_list_has_every_printed_page(fixture: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(fixture)
    book = PagedEpub(built)
    pages = len(pdf_pages(built.pdf.read_bytes()))
    first = built.project.journal.first_page
    (page_list,) = book.nav.xpath('//x:nav[@epub:type="page-list"]', namespaces=NS)
    links = page_list.xpath(".//x:li/x:a", namespaces=NS)
    assert [a.text for a in links] == [str(first + n) for n in range(pages)]
    for link in links:
        href, identifier = link.get("href").split("#")
        (marker,) = book.trees[href].xpath(f'//*[@id="{identifier}"]')
        assert marker.get("aria-label") == link.text


def test_markers_are_empty_and_outside_links_and_headings(first_title: Built, long_title: Built) -> None:
    for built in (first_title, long_title):
        for marker in PagedEpub(built).markers():
            assert marker.get("role") == "doc-pagebreak" and marker.get("id") == f"page-{marker.get('aria-label')}"
            assert not marker.text and len(marker) == 0
            assert not marker.xpath("ancestor::x:a or ancestor::x:h1 or ancestor::x:h2 or ancestor::x:h3",
                                    namespaces=NS)


def test_package_names_the_print_edition_as_page_source(first_title: Built) -> None:
    book = PagedEpub(first_title)
    sources = [m.text for m in book.opf.iterfind("opf:metadata/opf:meta", NS) if m.get("property") == "pageBreakSource"]
    assert sources == [f"doi:{first_title.project.doi}"]
    features = {m.text for m in book.opf.iterfind("opf:metadata/opf:meta", NS)
                if m.get("property") == "schema:accessibilityFeature"}
    assert {"pageBreakMarkers", "pageNavigation"} <= features


def test_no_anchor_is_left_in_the_epub(first_title: Built) -> None:
    book = PagedEpub(first_title)
    assert not any(tree.xpath("//*[@data-anchor]") for tree in book.trees.values())
