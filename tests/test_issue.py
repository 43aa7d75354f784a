"""A journal issue: one pagination through its articles, and the issue's own files."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from conftest import FIXTURES, ROOT, require
from lxml import etree

from sats import config, content, finishing, images, manuscript, templates, validator, wordcheck
from sats.cli import main
from sats.finishing import structure_elements

ISSUE = FIXTURES / "issue" / "issue.yaml"
SLUG = "internasjonal-politikk-79-3"
# The test issue: an editorial (one page), the first title on the next right-hand page, a note
# and an article that may start on a left-hand page, as their layouts chain them.
PAGES = [(319, 319), (321, 332), (333, 333), (334, 335)]
FOLDERS = [FIXTURES / "issue-editorial", ROOT / "manuscript", FIXTURES / "issue-short", FIXTURES / "issue-left"]
MM = 72 / 25.4
XHTML = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops"}


@dataclass(frozen=True)
class BuiltIssue:
    """The test issue built into a folder."""

    output: Path
    contents: dict[str, object]

    def file(self, name: str) -> Path:
        return self.output / name.format(slug=SLUG)


@pytest.fixture(scope="session")
def issue(tmp_path_factory: pytest.TempPathFactory) -> BuiltIssue:
    """The test issue, built once, two articles at a time."""
    output = tmp_path_factory.mktemp("issue")
    assert main(["build", str(ISSUE), "-o", str(output), "-q", "-j", "2"]) == 0
    return BuiltIssue(output, json.loads((output / f"{SLUG}.contents.json").read_text(encoding="utf-8")))


def _page_text(path: Path, index: int) -> str:
    document = pdfium.PdfDocument(path)
    try:
        page = document[index]
        text: str = page.get_textpage().get_text_range()
        page.close()
        return text
    finally:
        document.close()


def test_pages_chain_through_the_issue(issue: BuiltIssue) -> None:
    """Each article starts after the one before it, on the next odd page where it must start on
    the right; the contents data says which article is on which pages."""
    articles = issue.contents["articles"]
    assert isinstance(articles, list)
    assert [(a["first-page"], a["last-page"]) for a in articles] == PAGES
    assert [a["title"] for a in articles] == [config.load(folder).title for folder in FOLDERS]
    assert articles[1]["doi"] == "10.23865/intpol.v79.3393"
    assert articles[1]["files"]["pdf"] == "wilhelmsen-2021-krigen-mot-terror.pdf"
    assert (issue.contents["first-page"], issue.contents["last-page"]) == (319, 335)


def test_each_article_is_built_at_its_place(issue: BuiltIssue) -> None:
    """Each article's editions carry its pages in the issue: the PDF's labels and folios, the
    EPUB's page list."""
    for folder, (first, last) in zip(FOLDERS, PAGES, strict=True):
        project = config.load(folder)
        pdf = issue.output / project.file("pdf")
        assert images.labels(pdf.read_bytes()) == [str(page) for page in range(first, last + 1)]
        assert _page_text(pdf, 0).rstrip().endswith(str(first))  # the first page's folio, at its foot
        with zipfile.ZipFile(issue.output / project.file("epub")) as archive:
            nav = etree.fromstring(archive.read("EPUB/nav.xhtml"))
        pages = nav.xpath('//x:nav[@epub:type="page-list"]//x:a/text()', namespaces=XHTML)
        assert pages == [str(page) for page in range(first, last + 1)]


def _left_edge_and_last_character(path: Path, index: int) -> tuple[float, float]:
    """Where the page's text begins on the left, and where its last character (the folio) is, in mm."""
    document = pdfium.PdfDocument(path)
    try:
        text = document[index].get_textpage()
        boxes = [text.get_charbox(k) for k in range(text.count_chars()) if text.get_text_range(k, 1).strip()]
        return round(min(box[0] for box in boxes) / MM, 1), round(boxes[-1][2] / MM, 1)
    finally:
        document.close()


def test_an_article_may_start_on_a_left_hand_page(issue: BuiltIssue) -> None:
    """An even first page is a left-hand page (the wider margin, 21 mm, outside on the left); the
    next page is a right-hand one: 17 mm inside, the folio at the outer edge, the short title."""
    pdf = issue.output / config.load(FOLDERS[3]).file("pdf")
    assert _left_edge_and_last_character(pdf, 0)[0] == 21.0
    left, folio = _left_edge_and_last_character(pdf, 1)
    assert left == 17.0 and 148 < folio <= 149  # the text area ends 21 mm from the edge
    assert _page_text(pdf, 1).split()[-4:] == ["A", "Left-Hand", "Start", "335"]  # the short title


def test_the_press_pdf_runs_through_the_issue(issue: BuiltIssue) -> None:
    """The contents page, a blank page to bring the first article to the right, the articles,
    a blank page before an article that starts on the right after an odd page; page labels
    through the issue; one PDF/X-4 output intent, every page with the same boxes."""
    path = issue.file("{slug}.print.pdf")
    assert images.labels(path.read_bytes()) == ["i", "ii", *(str(page) for page in range(319, 336))]
    assert _page_text(path, 1).strip() == "" and _page_text(path, 3).strip() == ""  # ii and 320
    with pikepdf.open(path) as document:
        (intent,) = document.Root.OutputIntents
        assert intent.S == "/GTS_PDFX" and str(intent.OutputConditionIdentifier) == "FOGRA39"
        assert "/StructTreeRoot" not in document.Root
        assert {(tuple(page.TrimBox), tuple(page.BleedBox), tuple(page.MediaBox)) for page in document.pages} \
            .__len__() == 1
        with document.open_metadata() as meta:
            assert meta["pdfxid:GTS_PDFXVersion"] == "PDF/X-4"
            assert meta["dc:title"] == "Internasjonal Politikk 79(3), 2021: Russland og Vesten"


def test_the_contents_page_lists_every_article_at_its_first_page(issue: BuiltIssue) -> None:
    text = " ".join(_page_text(issue.file("{slug}.print.pdf"), 0).split())
    assert text.startswith("319 321 333 334 Internasjonal Politikk Årgang 79, nummer 3-2021 Russland og Vesten "
                           "INNHOLD LEDER Per Redaktør")  # the page numbers, in their column, first
    for folder in FOLDERS:
        project = config.load(folder)
        assert f"{project.authors[0].name} {project.title}" in text


def test_the_archival_pdf_has_a_bookmark_per_article(issue: BuiltIssue) -> None:
    """No blank pages; labels by article; a bookmark per article, its headings under it; it
    claims what each article's archival PDF claims, PDF/A-2a and PDF/UA-1."""
    path = issue.file("{slug}.pdf")
    assert images.labels(path.read_bytes()) == ["i", "319", *(str(page) for page in range(321, 336))]
    with pikepdf.open(path) as document:
        with document.open_outline() as outline:
            top = [(item.title, document.pages.index(pikepdf.Page(item.destination[0]))) for item in outline.root]
            headings = [child.title for child in outline.root[2].children]
        with document.open_metadata() as meta:
            assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("2", "A")
            assert meta["{http://www.aiim.org/pdfua/ns/id/}part"] == "1"
            assert meta["dc:title"] == "Internasjonal Politikk 79(3), 2021: Russland og Vesten"
        assert document.Root.ViewerPreferences.DisplayDocTitle is True
        assert str(document.Root.Lang) == "nb-NO" and document.Root.MarkInfo.Marked is True
        assert len(document.Root.OutputIntents) == 1
        assert {str(page.Tabs) for page in document.pages} == {"/S"}
    assert top == [("Innhold", 0), *((config.load(folder).title, index) for folder, index
                                     in zip(FOLDERS, (1, 2, 14, 15), strict=True))]
    assert "Litteratur" in headings


def test_the_archival_pdf_is_tagged_as_one_document(issue: BuiltIssue) -> None:
    """One structure tree: a Document of the contents (a Part) and an Art per article, titled,
    in the article's language where it is not the issue's; its parent tree maps each page's
    marked content to elements on that page and each link to the element that holds it; the
    notes' identifiers, fn1 in two articles, made unique."""
    with pikepdf.open(issue.file("{slug}.pdf")) as document:
        root = document.Root.StructTreeRoot
        (top,) = root.K if isinstance(root.K, pikepdf.Array) else [root.K]
        assert top.S == "/Document"
        assert [(str(part.S), str(part.T), str(part.get("/Lang", ""))) for part in top.K] == [
            ("/Part", "Innhold", ""), *((kind, config.load(folder).title, lang) for folder, kind, lang in zip(
                FOLDERS, ["/Art"] * 4, ["", "", "en-GB", "en-GB"], strict=True))]
        elements = {element.objgen for element in structure_elements(root)}
        parents = pikepdf.NumberTree(root.ParentTree)
        keys = []
        for page in document.pages:
            keys.append(int(page.StructParents))
            marked = [element for element in parents[int(page.StructParents)] if element is not None]
            assert marked and {element.Pg.objgen for element in marked} == {page.objgen}
            assert {element.objgen for element in marked} <= elements
            for annotation in page.get("/Annots", []):
                keys.append(int(annotation.StructParent))
                link = parents[int(annotation.StructParent)]
                assert link.S == "/Link" and link.objgen in elements
                assert [kid.Obj.objgen for kid in link.K
                        if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR"] == [annotation.objgen]
        assert len(keys) == len(set(keys)) == len(parents) == int(root.ParentTreeNextKey)
        identifiers = [str(element.ID) for element in structure_elements(root) if "/ID" in element]
        assert identifiers == ["a02-fn1", "a02-fn2", "a02-fn3", "a04-fn1"]
        assert list(pikepdf.NameTree(root.IDTree).keys()) == identifiers


def test_the_archival_pdf_carries_every_articles_words(issue: BuiltIssue) -> None:
    """Each article's pages in the issue's PDF carry its manuscript's words, in order."""
    with pikepdf.open(issue.file("{slug}.pdf")) as document:
        index = 1  # after the contents page
        for folder, (first, last) in zip(FOLDERS, PAGES, strict=True):
            project = config.load(folder)
            pages = pikepdf.new()
            pages.pages.extend(document.pages[index:index + last - first + 1])
            data = io.BytesIO()
            pages.save(data)
            index += last - first + 1
            words = wordcheck.pdf_words(data.getvalue(), first,
                                        (templates.running_authors(project), project.short_title))
            assert wordcheck.compare(wordcheck.expected(content.parse(manuscript.read(project))), words) == []


@pytest.mark.filterwarnings("ignore::pikepdf.PageCopyWarning")  # the links' named destinations, not kept
def test_role_maps_are_joined(issue: BuiltIssue) -> None:
    """Structure types that two tagged PDFs map alike are mapped once in the merged tree; one
    they map differently cannot be merged."""
    paths = [issue.output / config.load(folder).file("pdf") for folder in FOLDERS[2:]]
    with contextlib.ExitStack() as stack:
        sources = [stack.enter_context(pikepdf.open(path)) for path in (*paths, paths[0])]
        for source, aside in zip(sources, ("/Note", "/Note", "/Div"), strict=True):
            source.Root.StructTreeRoot.RoleMap = pikepdf.Dictionary(Aside=pikepdf.Name(aside), Lead=pikepdf.Name.P)
        merged = stack.enter_context(pikepdf.new())
        finishing.new_structure(merged)
        for source in sources[:2]:
            finishing.append_tagged(merged, source, pikepdf.Name.Art, "x-", "A title")
        assert dict(merged.Root.StructTreeRoot.RoleMap) == {"/Aside": "/Note", "/Lead": "/P"}
        with pytest.raises(ValueError) as raised:
            finishing.append_tagged(merged, sources[2], pikepdf.Name.Art, "y-", "A title")
        assert str(raised.value) == "two tagged PDFs define /Aside in their /RoleMap differently"


@pytest.fixture(scope="session")
def issue_without_contents(issue: BuiltIssue, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The archival PDF of the test issue without its contents page, made from the articles the
    test issue built in their places (they are up to date: only the issue's files are made)."""
    folder = tmp_path_factory.mktemp("issue-without-contents")
    shutil.copytree(issue.output, folder / "dist")
    path = folder / "issue.yaml"
    text = re.sub(r"(- |folder: )(\.\./\S*)", lambda match: f"{match[1]}{ISSUE.parent / match[2]}", ISSUE.read_text())
    path.write_text(text.replace("articles:", "contents: false\narticles:"))
    assert main(["build", str(path), "-o", str(folder / "dist"), "-q", "--edition", "pdf"]) == 0
    return folder / "dist" / f"{SLUG}.pdf"


def test_verapdf_passes_the_archival_issue_pdf_as_pdf_a_2a_and_pdf_ua_1(
        issue: BuiltIssue, issue_without_contents: Path) -> None:
    """veraPDF validates both claims the issue's PDF makes, with and without its contents page,
    and finds no failed rule."""
    require(validator.verapdf_missing())
    paths = [issue.file("{slug}.pdf"), issue_without_contents]
    output = subprocess.run(validator.verapdf_command(paths), capture_output=True, text=True, check=False).stdout
    for job in json.loads(output[output.index("{"):])["report"]["jobs"]:
        assert [(result["profileName"], result["compliant"], result["details"]["failedRules"])
                for result in job["validationResult"]] == \
            [("PDF/A-2A validation profile", True, 0), ("PDF/UA-1 validation profile", True, 0)]
    assert validator.verapdf_messages(output) == {path.resolve(): [] for path in paths}
    assert images.labels(issue_without_contents.read_bytes()) == ["319", *(str(page) for page in range(321, 336))]


def test_the_issue_epub(issue: BuiltIssue) -> None:
    """One EPUB: a contents entry and a landmark per article, one page list of every printed
    page (the blank pages have no text to mark), every article's notes; EPUBCheck clean."""
    path = issue.file("{slug}.epub")
    run = validator.start(path)  # EPUBCheck; meanwhile, the package is read
    assert run is not None
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    nav = etree.fromstring(files["EPUB/nav.xhtml"])
    titles = [config.load(folder).title for folder in FOLDERS]
    assert nav.xpath('//x:nav[@epub:type="toc"]/x:ol/x:li/x:a/text()', namespaces=XHTML) == titles
    entries = nav.xpath('//x:nav[@epub:type="toc"]/x:ol/x:li', namespaces=XHTML)
    assert [entry.get("lang") for entry in entries] == [None, None, "en-GB", "en-GB"]  # the issue's is nb-NO
    landmarks = nav.xpath('//x:nav[@epub:type="landmarks"]//x:a', namespaces=XHTML)
    assert [a.text for a in landmarks] == ["Omslag", "Innhold", *titles]
    pages = nav.xpath('//x:nav[@epub:type="page-list"]//x:a', namespaces=XHTML)
    assert [a.text for a in pages] == ["319", *(str(page) for page in range(321, 336))]
    for link in pages:  # each entry lands on its marker
        href, fragment = link.get("href").split("#")
        document = etree.fromstring(files[f"EPUB/{href}"])
        (marker,) = document.xpath(f'//*[@id="{fragment}"]')
        assert marker.get("aria-label") == link.text
    notes = [note for name, data in files.items() if name.endswith(".xhtml")
             for note in etree.fromstring(data).xpath('//x:aside[@role="doc-footnote"]', namespaces=XHTML)]
    assert len(notes) == 4  # the first title's three and issue-left's one
    assert all(note.xpath('.//x:a[@role="doc-backlink"]', namespaces=XHTML) for note in notes)
    assert run.messages() == []


def test_an_article_in_an_issue_is_the_article_built_at_those_pages(issue: BuiltIssue, tmp_path: Path) -> None:
    """A single-article build with the pages the issue gave it writes the same files."""
    folder = tmp_path / "editorial"
    shutil.copytree(FIXTURES / "issue-editorial", folder)
    metadata = folder / "metadata.yaml"
    metadata.write_text(metadata.read_text().replace("first-page: 1", "first-page: 319"))
    assert main(["build", str(folder), "-o", str(tmp_path / "dist"), "-q"]) == 0
    project = config.load(folder)
    for edition in ("pdf", "print", "epub"):
        built = (tmp_path / "dist" / project.file(edition)).read_bytes()
        assert built == (issue.output / project.file(edition)).read_bytes(), edition


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


def test_a_forced_rebuild_is_byte_identical(issue: BuiltIssue, tmp_path: Path) -> None:
    output = tmp_path / "again"
    shutil.copytree(issue.output, output)
    before = _digests(output)
    assert main(["build", str(ISSUE), "-o", str(output), "-q", "-j", "2", "--force"]) == 0
    assert _digests(output) == before


def _small_issue(tmp_path: Path) -> tuple[Path, Path]:
    """An issue of the three small fixtures, copied to be edited: 319, 320 (left), 321."""
    for name in ("issue-editorial", "issue-short", "issue-left"):
        shutil.copytree(FIXTURES / name, tmp_path / name)
    path = tmp_path / "issue.yaml"
    path.write_text("journal: Internasjonal Politikk\nvolume: 79\nissue: 3\nyear: 2021\nlang: nb-NO\n"
                    "first-page: 319\ncontents: false\narticles:\n  - issue-editorial\n"
                    "  - {folder: issue-short, right-hand: false}\n  - issue-left\n")
    return path, tmp_path / "dist"


def test_an_edit_rebuilds_only_what_it_must(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A no-op build renders nothing; an edit that adds a page rebuilds its article and moves
    the later ones; an edit that keeps the page count rebuilds its article alone."""
    path, output = _small_issue(tmp_path)
    assert main(["build", str(path), "-o", str(output), "-j", "1"]) == 0
    err = capsys.readouterr().err
    assert "issue-editorial/metadata.yaml:11: journal.first-page is 1, but " in err
    assert f"{path}:9 places the article at page 319" in err
    before = _digests(output)
    assert main(["build", str(path), "-o", str(output), "-j", "1"]) == 0
    err = capsys.readouterr().err
    assert err.count("the editions are up to date") == 3
    assert "issue.yaml: the issue's files are up to date" in err
    assert _digests(output) == before

    body = tmp_path / "issue-short" / "body.md"
    body.write_text(body.read_text() + "\n" + "\n\n".join(["More text for a second page."] * 60) + "\n")
    assert main(["build", str(path), "-o", str(output), "-j", "1"]) == 0
    err = capsys.readouterr().err
    assert "issue-editorial: the editions are up to date, printed pages 319" in err
    assert "short-2021-a-short-note-on-page-numbers.pdf" in err and "printed pages 320–321" in err
    assert "left-2021-a-left-hand-start.pdf" in err and "printed pages 323–324" in err
    assert "issue.yaml: article 3 moves by 2 pages" in err

    body = tmp_path / "issue-left" / "body.md"
    body.write_text(body.read_text().replace("The text ends here.", "The text ends here, now."))
    assert main(["build", str(path), "-o", str(output), "-j", "1"]) == 0
    err = capsys.readouterr().err
    assert err.count("the editions are up to date") == 2
    assert "left-2021-a-left-hand-start.pdf" in err
    assert "moves" not in err


WELL_FORMED = """journal: Internasjonal Politikk
volume: 79
issue: 3
year: 2021
lang: nb-NO
first-page: 319
articles:
  - issue-short
"""


@pytest.mark.parametrize(("old", "new", "message"), [
    ("volume: 79", "volum: 79", "issue.yaml:2: unknown key 'volum'; did you mean 'volume'?"),
    ("  - issue-short", "  - nowhere",
     "issue.yaml:8: 'articles.0': no manuscript folder with a metadata.yaml at nowhere"),
    ("  - issue-short", "  - {folder: issue-short, right-hand: yes please}",
     "issue.yaml:8: 'articles.0.right-hand' must be true or false, got 'yes please'"),
    ("first-page: 319", "first-page: 0", "issue.yaml:6: 'first-page' must be a page number from 1 to 99999, got 0"),
    ("first-page: 319", "first-page: 319\nslug: ../escaped", "issue.yaml:7: 'slug' must be lower-case letters, "
     "digits and single hyphens between them, such as 'hansen-2024', got '../escaped'"),
])
def test_a_wrong_issue_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str,
                                        message: str) -> None:
    shutil.copytree(FIXTURES / "issue-short", tmp_path / "issue-short")
    path = tmp_path / "issue.yaml"
    path.write_text(WELL_FORMED.replace(old, new))
    output = tmp_path / "dist"
    assert main(["build", str(path), "-o", str(output)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith(message), err
    assert "\n" not in err
    assert not output.exists()


def _claims(path: Path) -> set[str]:
    """The standards an archival PDF claims in its metadata, as veraPDF names them."""
    with pikepdf.open(path) as document, document.open_metadata() as meta:
        part, level = meta.get("pdfaid:part"), meta.get("pdfaid:conformance")
        ua = meta.get("{http://www.aiim.org/pdfua/ns/id/}part")
    return {f"PDF/A-{part}{level}", *([f"PDF/UA-{ua}"] if ua else [])}


def test_check_takes_an_issue(issue: BuiltIssue, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check issue.yaml` checks every article at its place in the issue, then the issue's own
    files: every article passes; of the issue's files, the contents data, edited to move an
    article, is caught, and only it (page labels, contents page, EPUB page list, EPUBCheck and
    DAISY Ace agree); veraPDF names the claims the issue's PDF does not make."""
    output = tmp_path / "dist"
    shutil.copytree(issue.output, output)
    contents = output / f"{SLUG}.contents.json"
    contents.write_text(contents.read_text(encoding="utf-8").replace('"first-page": 333', '"first-page": 332'),
                        encoding="utf-8")
    assert main(["check", str(ISSUE), "-o", str(output), "-q"]) == 1
    pdf = output / f"{SLUG}.pdf"
    claims = [] if validator.verapdf_missing() else [
        f"{pdf}: veraPDF: not validated against {claim}: the PDF does not claim it"
        for claim in validator.CLAIMS if claim not in _claims(pdf)]
    assert capsys.readouterr().err.splitlines() == [
        f"{contents}: the contents data does not give the articles' pages", *claims]


def test_check_of_an_issue_not_built(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, output = _small_issue(tmp_path)
    assert main(["check", str(path), "-o", str(output)]) == 1
    assert capsys.readouterr().err == f"{path}: the issue is not built in {output}: build it first\n"


def test_preview_and_clean_take_an_issue(issue: BuiltIssue, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """`preview issue.yaml` draws the issue PDF's pages in their order and a contact sheet;
    `clean issue.yaml` removes the issue's files and its articles', and nothing else."""
    output = tmp_path / "dist"
    shutil.copytree(issue.output, output)
    (output / "notes.txt").write_text("the editor's own file\n")
    assert main(["preview", str(ISSUE), "-o", str(output)]) == 0
    folder = output / "preview" / SLUG
    assert capsys.readouterr().err == f"wrote 18 images to {folder}\n"
    assert sorted(path.name for path in folder.iterdir()) == \
        sorted([*(f"page-{number}.png" for number in range(1, 18)), "contact-sheet.png"])
    assert main(["clean", str(ISSUE), "-o", str(output)]) == 0
    assert capsys.readouterr().err == \
        f"removed the files of the issue {ISSUE} and of its articles from {output}\n"
    assert sorted(path.name for path in output.rglob("*")) == ["notes.txt"]
