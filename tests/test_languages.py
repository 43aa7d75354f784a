"""Every language the journal prints, and every author: titles in Swedish, Nynorsk, Danish and
American English, each with several authors, affiliations and ORCID iDs and an abstract in a
second language, checked on the built files: labels, the language of each part in both editions,
the iDs in the EPUB package and the PDF's XMP, the references' terms, running heads, headings,
and every line-end hyphen against its language's dictionary."""

from __future__ import annotations

import itertools
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from conftest import Built
from lxml import etree

from sats import config, content, manuscript, pdf, validator
from sats.cli import main
from sats.errors import SatsError
from sats.templates import labels
from sats.wordcheck import BREAK, LINE_END_HYPHEN, pdf_pages, pdf_words, reading, stringify

XHTML = {"x": "http://www.w3.org/1999/xhtml"}
OPF = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def epub_document(built: Built, href: str) -> etree._Element:
    with zipfile.ZipFile(built.epub) as book:
        return etree.fromstring(book.read(f"EPUB/text/{href}"))


def epub_text(built: Built, href: str) -> str:
    """The text of a content document's body, its spaces collapsed."""
    return " ".join("".join(epub_document(built, href).find("x:body", XHTML).itertext()).split())


def structure(element: Any) -> list[Any]:
    """Every structure element of a PDF's structure tree under `element`."""
    kids = element.get("/K")
    found = []
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            found += [kid, *structure(kid)]
    return found


def test_every_epub_passes_epubcheck(titles: dict[str, Built]) -> None:
    """Creators refined with their role, order, sorting name and ORCID iD, labels and `lang` in
    four languages: EPUBCheck finds neither errors nor warnings."""
    runs = {name: subprocess.Popen(validator.command(built.epub), stdout=subprocess.PIPE, text=True,
                                   stderr=subprocess.DEVNULL) for name, built in titles.items()}
    assert {name: validator.messages(run.communicate()[0]) for name, run in runs.items()} == {
        name: [] for name in titles}


# Per title: the abstract's label, the keywords' label, the references' heading, the second
# language, its abstract's label, and the journal line up to the last page.
LABELS = {
    "sv-SE": ("Sammanfattning", "Nyckelord:", "Referenser", "en-GB", "Abstract in English",
              "Nordisk tidskrift för fixturer, årgång 12, nr 1, 2024, s. 7–"),
    "nn-NO": ("Samandrag", "Nøkkelord:", "Litteratur", "da-DK", "Resumé på dansk",
              "Norsk tidsskrift for fiksturar, årgang 5, nummer 4-2024, side 101–"),
    "da-DK": ("Resumé", "Nøgleord:", "Litteratur", "sv-SE", "Sammanfattning på svenska",
              "Dansk tidsskrift for fiksturer, årgang 8, nr. 3, 2024, s. 201–"),
    "en-US": ("Abstract", "Keywords:", "References", "nb-NO", "Sammendrag på norsk",
              "Nordic Journal of Fixtures, Volume 3, Issue 2, 2024, pp. 41–"),
}


@pytest.mark.parametrize("name", LABELS)
def test_labels_and_languages_in_the_epub(titles: dict[str, Built], name: str) -> None:
    abstract, keywords, references, second, translation, journal = LABELS[name]
    built = titles[name]
    title_page = epub_document(built, "ch001.xhtml")
    assert title_page.get("lang") == title_page.get(XML_LANG) == name
    assert epub_text(built, "ch001.xhtml").startswith(journal)
    assert title_page.xpath("string(//x:h2[@class='abstract-heading'])", namespaces=XHTML) == abstract
    assert title_page.xpath("string(//x:span[@class='keywords-label'])", namespaces=XHTML) == keywords
    assert epub_text(built, "ch004.xhtml").startswith(references)
    (section,) = epub_document(built, "ch005.xhtml").xpath("//x:section[@id='translation']", namespaces=XHTML)
    (label,) = section.xpath("x:h1", namespaces=XHTML)
    assert (label.text, label.get("lang"), label.get(XML_LANG)) == (translation, second, second)
    assert section.get("lang") == second, "the second-language abstract, its title and keywords"
    with zipfile.ZipFile(built.epub) as book:
        nav = etree.fromstring(book.read("EPUB/nav.xhtml"))
    (entry,) = nav.xpath("//x:a[@href='text/ch005.xhtml#translation']", namespaces=XHTML)
    assert (entry.text, entry.get("lang"), entry.get(XML_LANG)) == (translation, second, second), "in the contents"
    phrase = "nb" if name == "en-US" else "en"
    phrases = epub_document(built, "ch002.xhtml").xpath("//x:span[@lang]", namespaces=XHTML)
    assert [(span.get("lang"), span.get(XML_LANG)) for span in phrases] == [(phrase, phrase)]


@pytest.mark.parametrize("name", LABELS)
def test_labels_and_languages_in_the_pdf(titles: dict[str, Built], name: str) -> None:
    abstract, keywords, references, second, translation, journal = LABELS[name]
    built = titles[name]
    first, *_, last = (page.replace("\r\n", "\n") for page in pdf_pages(built.pdf.read_bytes(),
                                                                         built.project.journal.first_page))
    assert first.startswith(journal) and f"\n{abstract}\n" in first and f"\n{keywords} " in first
    assert f"\n{references}\n" in last and f"\n{translation.upper()}\n" in last
    html = (built.output / f"{built.project.slug}.print.html").read_text()
    assert f'<section class="translation" lang="{second}" xml:lang="{second}"' in html
    label = f'<p class="translation-label" role="heading" aria-level="2">{translation}</p>'
    assert label in html.split('<section class="translation"')[1]
    with pikepdf.open(built.pdf) as document:
        assert str(document.Root.Lang) == name
        languages = {(str(element.S), str(element.Lang)) for element in structure(document.Root.StructTreeRoot)
                     if "/Lang" in element}
    phrase = "nb" if name == "en-US" else "en"
    # The second-language abstract's section, the phrase marked in another language, and the
    # references (list items) whose entries name their language.
    assert languages == {("/Sect", second), ("/Span", phrase), ("/LI", "en-GB"), ("/LI", "nb-NO")}


def test_second_language_labels_name_the_language() -> None:
    assert [labels(lang)["translation"] for lang in ("en", "nb-NO", "nn-NO", "sv-SE", "da-DK")] == [
        "Abstract in English", "Sammendrag på norsk", "Samandrag på nynorsk", "Sammanfattning på svenska",
        "Resumé på dansk"]
    keys = set(labels("nb"))
    for lang in ("nn", "sv", "da", "en"):
        assert set(labels(lang)) - {"figure", "figure-ref", "table", "table-ref"} == keys - {
            "figure", "figure-ref", "table", "table-ref"}, f"{lang} has every label"


# Per title: each author's ORCID iD, and the name as catalogues sort it.
AUTHORS = {
    "sv-SE": [("0000-1661-3186-0917", "Andersson, Karin"), ("0000-9099-6030-8243", "Lindgren, Per")],
    "nn-NO": [("0001-1819-0937-8657", "Aasen, Ivar"), ("0001-9754-3231-9485", "Moe, Ragnhild"),
              (None, "Lunde, Sigrid")],
    "da-DK": [("0001-5749-1186-2525", "Nielsen, Mette"), ("0001-6018-9555-9796", "Kierkegaard Holm, Søren")],
    "en-US": [("0001-2601-8159-0836", "Hætta, Elle"), ("0001-2819-4821-993X", "Łukaszewicz, Jan"),
              (None, "Äijälä, Aino")],
}


@pytest.mark.parametrize("name", AUTHORS)
def test_orcid_in_the_package_and_the_xmp(titles: dict[str, Built], name: str) -> None:
    built = titles[name]
    urls = [f"https://orcid.org/{orcid}" if orcid else "" for orcid, _ in AUTHORS[name]]
    with zipfile.ZipFile(built.epub) as book:
        opf = etree.fromstring(book.read("EPUB/content.opf"))
    creators = opf.xpath("//dc:creator", namespaces=OPF)
    assert [creator.text for creator in creators] == [author.name for author in built.project.authors]
    for number, (creator, url, (_, file_as)) in enumerate(zip(creators, urls, AUTHORS[name], strict=True), 1):
        refines = {meta.get("property"): meta.text for meta in
                   opf.xpath(f"//opf:meta[@refines='#{creator.get('id')}']", namespaces=OPF)}
        assert refines.get("dcterms:identifier", "") == url
        assert (refines["role"], refines["file-as"], refines["display-seq"]) == ("aut", file_as, str(number))
    links = epub_document(built, "ch001.xhtml").xpath("//x:a[@class='orcid']", namespaces=XHTML)
    assert [(link.get("href"), link.text) for link in links] == [(url, url) for url in urls if url]
    with pikepdf.open(built.pdf) as document:
        xmp = etree.fromstring(document.Root.Metadata.read_bytes())
        annotations = {str(annotation.A.URI) for page in document.pages for annotation in page.get("/Annots", [])
                       if "/A" in annotation and "/URI" in annotation.A}
    (orcids,) = xmp.iter("{http://ns.sats.invalid/author/1.0/}orcid")
    assert [item.text or "" for item in orcids.iter(f"{{{RDF}}}li")] == urls
    (names,) = xmp.iter("{http://purl.org/dc/elements/1.1/}creator")
    assert [item.text for item in names.iter(f"{{{RDF}}}li")] == [author.name for author in built.project.authors]
    assert {url for url in urls if url} <= annotations, "each iD is a link on the first page"


# XMP schemas PDF/A knows without an extension schema (ISO 19005-2, 6.6.2.3.2), and those of the schemas.
PREDEFINED = {"http://purl.org/dc/elements/1.1/", "http://ns.adobe.com/xap/1.0/", "http://ns.adobe.com/pdf/1.3/",
              "http://ns.adobe.com/xap/1.0/mm/", "http://ns.adobe.com/xap/1.0/rights/", "http://www.aiim.org/pdfa/ns/id/",
              "http://www.aiim.org/pdfa/ns/extension/", RDF}


def test_every_xmp_property_is_predefined_or_declared(titles: dict[str, Built]) -> None:
    """PDF/A accepts a property outside the predefined schemas only when an extension schema
    declares it, with the prefix it is written with."""
    with pikepdf.open(titles["en-US"].pdf) as document:
        xmp = etree.fromstring(document.Root.Metadata.read_bytes())
    schema = "http://www.aiim.org/pdfa/ns/schema#"
    declared = {(node.findtext(f"{{{schema}}}namespaceURI"), node.findtext(f"{{{schema}}}prefix"),
                 name.text) for node in xmp.iter(f"{{{RDF}}}li") if node.find(f"{{{schema}}}namespaceURI") is not None
                for name in node.iter("{http://www.aiim.org/pdfa/ns/property#}name")}
    used = set()
    for description in xmp.iter(f"{{{RDF}}}Description"):
        for name in [*description.attrib, *(child.tag for child in description)]:
            qname = etree.QName(name)
            if qname.namespace not in PREDEFINED:
                prefix = next(key for key, value in description.nsmap.items() if value == qname.namespace)
                used.add((qname.namespace, prefix, qname.localname))
    assert ("http://ns.sats.invalid/author/1.0/", "satsAuthor", "orcid") in used
    assert used <= declared


# Per title: the in-text citation of three authors, and the reference list's terms.
REFERENCES = {
    "sv-SE": ("(Karlsson m.fl., 2021)", "I A. Berg & K. Holm (Red.), Nordic security in transition (s. 45–67)",
              "Solberg, E. (2023, december 20)."),
    "nn-NO": ("(Karlsson et al., 2021)", "I A. Berg & K. Holm (Red.), Nordic security in transition (s. 45–67)",
              "Solberg, E. (2023, 20. desember)."),
    "da-DK": ("(Karlsson et al., 2021)", "I A. Berg & K. Holm (Red.), Nordic security in transition (s. 45–67)",
              "Solberg, E. (2023, december 20)."),
    "en-US": ("(Karlsson et al., 2021)", "In A. Berg & K. Holm (Eds.), Nordic security in transition (pp. 45–67)",
              "Solberg, E. (2023, December 20)."),
}


@pytest.mark.parametrize("name", REFERENCES)
def test_citations_and_references_in_the_article_language(titles: dict[str, Built], name: str) -> None:
    citation, chapter, dated = REFERENCES[name]
    built = titles[name]
    assert citation in epub_text(built, "ch002.xhtml")
    references = epub_text(built, "ch004.xhtml")
    assert chapter in references and dated in references
    page_text = " ".join(pdf_pages(built.pdf.read_bytes(), built.project.journal.first_page)[-1].split())
    assert chapter in page_text.replace("\ufffe ", "")


@pytest.mark.parametrize(("name", "head"), [("sv-SE", "Andersson och Lindgren"), ("nn-NO", "Aasen mfl."),
                                             ("da-DK", "Nielsen og Kierkegaard Holm"), ("en-US", "Hætta et al.")])
def test_running_heads_are_shortened(titles: dict[str, Built], name: str, head: str) -> None:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(titles[name].pdf.read_bytes())
    texts = [page.get_textpage().get_text_range() for page in document]
    assert head in texts[1][-60:], "the left-hand page's running head"
    assert titles[name].project.authors[0].name in texts[0], "full names on the first page"


def test_affiliations_are_numbered_unless_shared(titles: dict[str, Built]) -> None:
    marks = epub_document(titles["nn-NO"], "ch001.xhtml").xpath(
        "//x:p[contains(@class, 'author')]/x:sup/text()", namespaces=XHTML)
    assert marks == ["1", "1,2", "3"]
    listed = epub_document(titles["nn-NO"], "ch001.xhtml").xpath("//x:ol[@class='affiliations']/x:li", namespaces=XHTML)
    assert ["".join(item.itertext()) for item in listed] == [
        "1\u00a0Universitetet i Bergen", "2\u00a0Høgskulen på Vestlandet", "3\u00a0Noregs forskingsråd"]
    shared = epub_document(titles["sv-SE"], "ch001.xhtml")
    assert not shared.xpath("//x:sup", namespaces=XHTML)
    assert shared.xpath("string(//x:p[@class='affiliations'])", namespaces=XHTML) == "Uppsala universitet"
    contact = shared.xpath("string(//x:p[@class='contact'])", namespaces=XHTML)
    assert contact == "Korrespondens: Karin Andersson, karin.andersson@example.org"


def test_three_heading_levels_and_their_numbers(titles: dict[str, Built]) -> None:
    html = (titles["da-DK"].output / f"{titles['da-DK'].project.slug}.print.html").read_text()
    headings = re.findall(r"<(h[234])[^>]*>(.*?)</h[234]>", html.split('<main class="body">')[1].split("</main>")[0])
    assert [(tag, re.sub(r"<[^>]+>", "", text)) for tag, text in headings] == [
        ("h2", "1 Samarbejdets udvikling"), ("h3", "1.1 Forhandlingernes forudsætninger"),
        ("h4", "1.1.1 Interviewenes begrænsninger"), ("h2", "2 Konklusioner")]
    book = epub_text(titles["da-DK"], "ch002.xhtml")
    assert "1.1 Forhandlingernes forudsætninger" in book and "1.1.1 Interviewenes begrænsninger" in book
    assert "1 Samarbeidet" not in epub_text(titles["nn-NO"], "ch002.xhtml"), "numbers only when asked"


def test_heading_levels_look_distinct_in_both_editions(titles: dict[str, Built], tmp_path: Path) -> None:
    """Each of the three levels has its own size, weight or style, in the laid-out editions."""
    built = titles["en-US"]
    html = (built.output / f"{built.project.slug}.print.html").read_text()
    roots = (built.project.root, config.TOOL_ROOT / "styles")
    print_styles = _heading_styles(pdf.lay_out(html, built.project.root, roots, epoch=built.project.epoch),
                                   ("h2", "h3", "h4"))
    with zipfile.ZipFile(built.epub) as book:
        book.extractall(tmp_path)
    chapter = (tmp_path / "EPUB" / "text" / "ch002.xhtml").read_text()
    epub_styles = _heading_styles(pdf.lay_out(chapter, tmp_path / "EPUB" / "text", (tmp_path,),
                                              epoch=built.project.epoch), ("h1", "h2", "h3"))
    for styles in (print_styles, epub_styles):
        assert len(styles) == 3 and len(set(styles.values())) == 3, styles


def _heading_styles(document: Any, tags: tuple[str, ...]) -> dict[str, tuple[Any, ...]]:
    styles = {}

    def visit(box: Any) -> None:
        if getattr(box, "element_tag", None) in tags:
            style = box.style
            styles[box.element_tag] = (style["font_size"], style["font_weight"], style["font_style"])
        for child in getattr(box, "children", ()):
            visit(child)

    for page in document.pages:
        visit(page._page_box)
    return styles


@pytest.mark.parametrize("name", LABELS)
def test_no_heading_stands_alone_at_a_page_foot(titles: dict[str, Built], name: str) -> None:
    built = titles[name]
    article = content.parse(manuscript.read(built.project))
    pages = [" ".join(LINE_END_HYPHEN.sub("", page).split())
             for page in pdf_pages(built.pdf.read_bytes(), built.project.journal.first_page)]
    blocks = article.parts["body"]
    for index, block in enumerate(blocks):
        if block["t"] == "Header":
            heading = _text(block)
            following = " ".join(_text(blocks[index + 1]).split()[:3])
            (page,) = [text for text in pages if heading in text]
            assert following in page, f"«{heading}» is parted from its first lines"


def _text(node: Any) -> str:
    return " ".join(stringify(node).split())


# Words with their breaks as dictionaries give them: Merriam-Webster (English), Bokmålsordboka
# and Nynorskordboka, Svenska Akademiens ordlista, Retskrivningsordbogen. A word may be broken at
# fewer of these points, never at another.
DICTIONARY_WORDS = {
    "en-GB": "be-yond re-spond-ed ev-i-dence in-for-ma-tion po-lit-i-cal gov-ern-ment se-cu-ri-ty "
             "co-op-er-a-tion de-moc-ra-cy ne-go-ti-a-tions strat-e-gy pres-i-den-tial part-ner-ship",
    "en-US": "be-yond re-spond-ed ev-i-dence in-for-ma-tion po-lit-i-cal se-cu-ri-ty strat-e-gy",
    "nb-NO": "sam-ar-beid ter-ro-ris-me in-ter-na-sjo-nal uten-riks-po-li-tikk for-vent-nin-ger "
             "mot-stan-de-ren part-ner-ska-pet re-gje-rin-gen sik-ker-hets-po-li-tikk un-der-sø-kel-sen "
             "nord-om-rå-de-ne",
    "nn-NO": "sam-ar-bei-det in-ter-na-sjo-nal utan-riks-po-li-tikk for-ven-tin-gar mot-stan-da-ren "
             "re-gje-rin-ga tryg-gings-po-li-tikk un-der-sø-kin-ga nord-om-rå-da",
    "sv-SE": "sam-ar-be-te in-ter-na-tio-nell för-vänt-ning-ar-na mot-stån-da-ren re-ge-ring-en "
             "sä-ker-hets-po-li-tik un-der-sök-ning-en myn-dig-he-ter-na ar-bets-mark-na-den över-ens-kom-mel-ser",
    "da-DK": "sam-ar-bej-de in-ter-na-tio-nal uden-rigs-po-li-tik for-vent-nin-ger mod-stan-de-ren "
             "re-ge-rin-gen sik-ker-heds-po-li-tik un-der-sø-gel-sen myn-dig-he-der-ne",
}


def _against_dictionary(hyphenator: Any, lang: str) -> list[str]:
    """The words of DICTIONARY_WORDS[lang] that `hyphenator` breaks where the dictionary does not."""
    wrong = []
    for entry in DICTIONARY_WORDS[lang].split():
        word = entry.replace("-", "")
        allowed = set(itertools.accumulate(len(part) for part in entry.split("-")))
        if not set(hyphenator.positions(word)) <= allowed:
            wrong.append(hyphenator.inserted(word))
    return wrong


@pytest.mark.parametrize("lang", DICTIONARY_WORDS)
def test_hyphenation_breaks_as_the_dictionary_does(lang: str) -> None:
    hyphenator = pdf.hyphenation(lang)
    assert _against_dictionary(hyphenator, lang) == []
    breaks = sum(len(hyphenator.positions(entry.replace("-", ""))) for entry in DICTIONARY_WORDS[lang].split())
    assert breaks >= 2 * len(DICTIONARY_WORDS[lang].split()), "words are broken, not just left whole"


def test_the_word_list_catches_a_bad_pattern_set() -> None:
    """pyphen's en_GB patterns (TeX's British ones) break these words where no dictionary does."""
    import pyphen

    bad = pyphen.Pyphen(filename=str(Path(pyphen.__file__).parent / "dictionaries" / "hyph_en_GB.dic"))
    assert {"bey-ond", "re-spon-ded", "evid-ence"} <= set(_against_dictionary(bad, "en-GB"))


def _languages_of_words(built: Built) -> dict[str, str]:
    """Each word of the article in the language it is set in: its part's, or its span's."""
    article = content.parse(manuscript.read(built.project))
    translation = built.project.translation
    found: dict[str, str] = {}

    def visit(node: Any, lang: str) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item, lang)
        elif isinstance(node, dict):
            if node.get("t") == "Str":
                found.setdefault(re.sub(r"^\W+|\W+$", "", node["c"]), lang)
            elif node.get("t") in ("Span", "Div"):
                own = dict(node["c"][0][2]).get("lang", lang)
                visit(node["c"][1], own)
            else:
                visit(node.get("c"), lang)

    for part in ("abstract", "body", "refs"):
        visit(article.parts[part], built.project.lang)
    visit(article.parts["translation"], translation.lang if translation else built.project.lang)
    return found


@pytest.mark.parametrize("name", LABELS)
def test_every_line_end_hyphen_is_a_dictionary_break(titles: dict[str, Built], name: str) -> None:
    """Read the PDF's line-end hyphens: each word is broken where its own language's patterns
    allow, so that a phrase in another language is hyphenated as that language."""
    built = titles[name]
    languages = _languages_of_words(built)
    words = reading(pdf_words(built.pdf.read_bytes(), built.project.journal.first_page))
    checked: dict[str, list[str]] = {}
    for stem, rest in itertools.pairwise(words):
        if not stem.endswith(BREAK):
            continue
        head, tail = re.sub(r"^\W+", "", stem[:-1]), re.sub(r"\W+$", "", rest)
        lang = languages.get(head + tail)
        if lang is None:
            continue  # a hyphen of the word's own at a line end, or not the author's text
        assert len(head) in pdf.hyphenation(lang).positions(head + tail), f"{head}-{tail} ({lang})"
        checked.setdefault(lang, []).append(f"{head}-{tail}")
    assert len(checked.get(name, [])) >= 3, checked


def test_wrong_orcid_check_digit_is_one_line_with_file_and_line(manuscript_copy: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    metadata = manuscript_copy / "metadata.yaml"
    metadata.write_text(metadata.read_text().replace(
        "    affiliation: Institute of Fixtures\n",
        "    affiliation: [Institute of Fixtures, Second Institute]\n    orcid: 0000-0002-1825-0096\n"))
    capsys.readouterr()
    assert main(["build", str(manuscript_copy), "-o", str(tmp_path / "dist")]) == 1
    assert capsys.readouterr().err == (f"{metadata}:7: 'author.0.orcid' has a wrong check digit "
                                       "(it would end in 7), got '0000-0002-1825-0096'\n")


AFFILIATION = "    affiliation: Institute of Fixtures\n"


@pytest.mark.parametrize(("old", "new", "message"), [
    (AFFILIATION, AFFILIATION + "    orcid: 0000-0002-1825-009\n",
     "metadata.yaml:7: 'author.0.orcid' must be an ORCID iD such as 0000-0002-1825-0097, got '0000-0002-1825-009'"),
    (AFFILIATION, AFFILIATION + "    corresponding: 1\n",
     "metadata.yaml:7: 'author.0.corresponding' must be true or false, got 1"),
    ("  - name: Bo Second\n", "  - name: Bo Second\n    corresponding: true\n",
     "metadata.yaml:8: a corresponding author needs an 'author.1.email'"),
    ("lang: en-GB", "lang: de-DE",
     "metadata.yaml:3: 'lang' must be one of the journal's languages: nb-NO, nn-NO, sv-SE, da-DK, en-GB, en-US, "
     "got 'de-DE'"),
])
def test_author_and_language_keys_are_checked(manuscript_copy: Path, old: str, new: str, message: str) -> None:
    metadata = manuscript_copy / "metadata.yaml"
    metadata.write_text(metadata.read_text().replace(old, new))
    with pytest.raises(SatsError) as error:
        config.load(manuscript_copy)
    assert [str(problem).endswith(message) for problem in error.value.problems] == [True]


def test_a_bare_primary_tag_and_the_style_by_language(manuscript_copy: Path) -> None:
    metadata = manuscript_copy / "metadata.yaml"
    metadata.write_text(metadata.read_text().replace("lang: en-GB", "lang: en"))
    assert config.load(manuscript_copy).csl.name == "apa.csl"
    metadata.write_text(metadata.read_text().replace("lang: en\n", "lang: nn-NO\n"))
    assert config.load(manuscript_copy).csl.name == "norsk-apa-manual.csl"
