"""The EPUB edition: EPUBCheck clean, languages, notes that link both ways, metadata, navigation."""

from __future__ import annotations

import re
import zipfile

import pytest
from conftest import Built
from lxml import etree

from sats.content import Content
from sats.wordcheck import compare, epub_words, expected

NS = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops",
      "opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/",
      "svg": "http://www.w3.org/2000/svg"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


class Epub:
    """An EPUB opened for reading."""

    def __init__(self, built: Built) -> None:
        self.zip = zipfile.ZipFile(built.epub)
        self.opf = etree.fromstring(self.zip.read("EPUB/content.opf"))

    def xml(self, name: str) -> etree._Element:
        return etree.fromstring(self.zip.read(name))

    def documents(self) -> dict[str, etree._Element]:
        return {name: self.xml(name) for name in self.zip.namelist() if name.endswith(".xhtml")}

    def meta(self, name: str) -> list[str]:
        if name.startswith("dc:"):
            return [e.text for e in self.opf.iterfind(f"opf:metadata/{name}", NS)]
        return [e.text for e in self.opf.iterfind("opf:metadata/opf:meta", NS) if e.get("property") == name]


@pytest.fixture(scope="module")
def book(first_title: Built) -> Epub:
    return Epub(first_title)


def test_epubcheck_reports_no_errors_and_no_warnings(epubcheck_reports: dict[str, list[str]]) -> None:
    assert epubcheck_reports == {"first_title": [], "mini": []}


def test_language_on_the_package_and_every_document(book: Epub) -> None:
    assert book.opf.get(XML_LANG) == "nb-NO"
    assert book.meta("dc:language") == ["nb-NO"]
    for name, document in book.documents().items():
        assert document.get("lang") == "nb-NO" and document.get(XML_LANG) == "nb-NO", name


def test_english_abstract_is_marked_english(book: Epub) -> None:
    marked = [e for document in book.documents().values() for e in document.iter()
              if e.get("lang") == "en" and "Russia and the USA forged" in "".join(e.itertext())]
    assert marked and all(e.get(XML_LANG) == "en" for e in marked)


def test_notes_are_popup_footnotes_that_link_back(book: Epub) -> None:
    numbers = []
    for name, document in sorted(book.documents().items()):
        for call in document.xpath('//x:a[@epub:type="noteref"]', namespaces=NS):
            assert call.get("role") == "doc-noteref"
            (note,) = document.xpath(f'//x:aside[@id="{call.get("href")[1:]}"]', namespaces=NS)
            assert note.get("{http://www.idpf.org/2007/ops}type") == "footnote"
            assert note.get("role") == "doc-footnote"
            (back,) = note.xpath('.//x:a[@role="doc-backlink"]', namespaces=NS)
            assert back.get("href") == f"#{call.get('id')}", name
            assert back.text == call.text
            numbers.append((name, int(call.text)))
    assert [number for _, number in sorted(numbers, key=lambda item: (item[0], item[1]))] == [1, 2, 3]


def test_package_metadata(book: Epub) -> None:
    assert book.meta("dc:identifier") == ["doi:10.23865/intpol.v79.3393"]
    assert book.meta("dc:title") == ["Krigen mot terror – et vanskelig bindemiddel mellom Russland og USA"]
    assert book.meta("dc:creator") == ["Julie Wilhelmsen"]
    assert book.meta("dc:rights") == [
        "© 2021 Julie Wilhelmsen. Creative Commons Attribution 4.0 International (CC BY 4.0)"]
    assert book.meta("dc:source") == ["Internasjonal Politikk 79(3), 2021, 319–330"]
    assert book.meta("dc:date") == ["2021-09-07"]
    assert {"Russland", "internasjonal terrorisme", "international terrorism"} <= set(book.meta("dc:subject"))
    assert book.meta("dc:description")[0].startswith("I kjølvannet av terrorangrepene 11. september")
    assert book.meta("dcterms:modified") == ["2021-09-07T00:00:00Z"]


def test_accessibility_metadata(book: Epub) -> None:
    assert set(book.meta("schema:accessMode")) == {"textual", "visual"}
    assert book.meta("schema:accessModeSufficient") == ["textual"]
    features = set(book.meta("schema:accessibilityFeature"))
    assert {"structuralNavigation", "tableOfContents", "alternativeText"} <= features
    assert book.meta("schema:accessibilityHazard") == ["none"]
    assert book.meta("schema:accessibilitySummary")[0].startswith("Artikkelen er ren tekst")


def test_fonts_are_embedded_and_css_is_relative(book: Epub) -> None:
    fonts = [i.get("href") for i in book.opf.iterfind("opf:manifest/opf:item", NS) if i.get("media-type") == "font/ttf"]
    # No document sets bold italic: its face is not shipped (test_validators).
    assert sorted(fonts) == ["fonts/SourceSerif4-It.ttf", "fonts/SourceSerif4-Regular.ttf",
                             "fonts/SourceSerif4-Semibold.ttf"]
    css = book.zip.read("EPUB/styles/stylesheet1.css").decode()
    assert all(f"../{font}" in css for font in fonts)
    assert not re.search(r"font-size:\s*[\d.]+(px|pt)", css), "font sizes are relative"
    assert "@page" not in css and "position: fixed" not in css


def test_cover_is_an_image_with_a_text_alternative(book: Epub) -> None:
    (cover,) = [i for i in book.opf.iterfind("opf:manifest/opf:item", NS) if i.get("properties") == "cover-image"]
    assert cover.get("media-type") == "image/png"
    assert book.zip.read("EPUB/" + cover.get("href"))[:8] == b"\x89PNG\r\n\x1a\n"
    (svg,) = book.xml("EPUB/text/cover.xhtml").iterfind(".//svg:svg", NS)
    assert "Krigen mot terror" in svg.get("aria-label") and "Julie Wilhelmsen" in svg.get("aria-label")


def test_navigation_lists_sections_and_landmarks(book: Epub) -> None:
    nav = book.xml("EPUB/nav.xhtml")
    toc = ["".join(a.itertext()) for a in nav.xpath('//x:nav[@epub:type="toc"]//x:a', namespaces=NS)]
    assert toc[1:8] == ["11. september og Russlands partnerskap med USA", "Pragmatisme, ambisjoner og forventninger",
                        "Partnerskapet sporer av (2003–2006)", "Partneren blir den egentlige motstanderen (2006–2014)",
                        "Russland lanserer en alternativ koalisjon mot terrorisme (2014–2021)",
                        "Fremtiden for fellesskap i krigen mot terror", "Litteratur"]
    landmarks = {a.get("{http://www.idpf.org/2007/ops}type")
                 for a in nav.xpath('//x:nav[@epub:type="landmarks"]//x:a', namespaces=NS)}
    assert {"cover", "titlepage", "bodymatter", "bibliography"} <= landmarks


def test_title_page_has_the_facts_of_the_first_page(book: Epub) -> None:
    text = " ".join("".join(book.xml("EPUB/text/ch001.xhtml").itertext()).split())
    for fact in ("Internasjonal Politikk", "årgang 79", "nummer 3-2021", "side 319–330", "FOKUS: 20 ÅR ETTER 9/11",
                 "Fokusartikkel – fagfellevurdert", "Julie Wilhelmsen",
                 "Norsk Utenrikspolitisk Institutt (NUPI), Norge",
                 "Sammendrag", "Nøkkelord: Russland • USA", "e-post: jw@nupi.no", "(CC BY 4.0)",
                 "https://doi.org/10.23865/intpol.v79.3393"):
        assert fact in text, fact


def test_epub_carries_the_authors_words(first_title: Built, article: Content) -> None:
    assert compare(expected(article), epub_words(first_title.epub.read_bytes())) == []
