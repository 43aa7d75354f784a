"""The manuscript's metadata file: a declared schema, loaded and validated once."""

from __future__ import annotations

import calendar
import datetime
import difflib
import re
import struct
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import characters, resources, yamlfile
from . import csl as citation_style
from .errors import Problem, SatsError
from .sanitise import web_address_problem

METADATA_FILE = "metadata.yaml"
TOOL_ROOT = Path(__file__).resolve().parent.parent
CSL_STYLES = TOOL_ROOT / "styles" / "csl"
PAGE_SIZE = re.compile(r"^\d{1,4}(\.\d{1,2})?mm \d{1,4}(\.\d{1,2})?mm$")
PAGE_MM = (70, 600)  # the sides of a page: from a pocket book's to a newspaper's, in millimetres
MAX_PAGE = 99_999  # the highest page number an article may start or end on
LANG_TAG = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
# The languages the journal prints, as the article's or the second language; a primary subtag
# alone (`en`) is read as the language too.
LANGUAGES = ("nb-NO", "nn-NO", "sv-SE", "da-DK", "en-GB", "en-US")
# The citation style when the metadata names none, by primary subtag: APA 7 with the journal's
# Norwegian conventions for Norwegian; APA 7 in the article's own locale for the others.
DEFAULT_CSL = {"nb": "norsk-apa-manual.csl", "nn": "norsk-apa-manual.csl"}
APA_CSL = "apa.csl"
DOI = re.compile(r"^10\.\d{4,9}/[^\s\"<>]+$")  # the DOI as Crossref assigns them, without https://doi.org/
MAX_WHOLE = 999_999_999  # a page, volume or year: far below a PDF's integers (2³¹ − 1), whatever is added
ORCID = re.compile(r"^(?:https://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")


@dataclass(frozen=True)
class Author:
    """An author as printed on the first page."""

    name: str
    affiliations: tuple[str, ...] = ()
    email: str | None = None
    orcid: str | None = None  # the bare iD, 0000-0002-1825-0097, its check digit verified
    corresponding: bool = False
    surname: str = ""  # as the running head prints it; by default the name's last word

    @property
    def orcid_url(self) -> str | None:
        """The iD as ORCID asks it to be shown and linked: https://orcid.org/…"""
        return f"https://orcid.org/{self.orcid}" if self.orcid else None

    @property
    def file_as(self) -> str:
        """The name as catalogues sort it: «Surname, Given names»."""
        given = self.name.removesuffix(self.surname).strip()
        return f"{self.surname}, {given}" if given else self.surname


@dataclass(frozen=True)
class Journal:
    """Where the article is published."""

    title: str
    volume: int
    issue: int
    first_page: int
    issn: str | None = None
    last_page: int | None = None
    url: str | None = None


@dataclass(frozen=True)
class License:
    """The licence statement printed on the first page."""

    statement: str
    name: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Translation:
    """The abstract in a second language, which closes the article."""

    lang: str
    title: str
    abstract: Path
    keywords: tuple[str, ...] = ()


ICC_HEADER = 132  # the header (128 bytes) and the count of tags
DEFAULT_PROFILE = TOOL_ROOT / "styles" / "icc" / "FOGRA39L.icc"  # free, shipped: styles/icc/README.md


@dataclass(frozen=True)
class Press:
    """What the printer asks of the print-ready PDF: its bleed, and the CMYK output profile
    (the printer's, or the one Sats ships) its colours are converted to and that its PDF/X-4
    output intent names, with the output condition it characterizes and its ink limit."""

    bleed_mm: float = 3.0
    profile: Path = DEFAULT_PROFILE
    condition: str = "FOGRA39"
    condition_name: str = "Coated FOGRA39 (ISO 12647-2:2004)"
    max_ink: int = 300  # total area coverage, in per cent: FOGRA39's limit

    @property
    def shipped(self) -> bool:
        """Whether the profile is the one Sats ships rather than the printer's."""
        return self.profile == DEFAULT_PROFILE


@dataclass(frozen=True)
class Crossref:
    """Who deposits the article's metadata with Crossref, and the batch's name and time."""

    depositor: str | None = None
    email: str | None = None
    registrant: str | None = None  # default: the depositor
    batch_id: str | None = None  # default: the slug and the date
    timestamp: int | None = None  # default: the publication date; raise it to deposit again


# The file each edition is written to, by the manuscript's slug.
EDITION_FILES = {"pdf": "{slug}.pdf", "print": "{slug}.print.pdf", "epub": "{slug}.epub",
                 "jats": "{slug}.jats.xml", "crossref": "{slug}.crossref.xml"}
PREFLIGHT_FILE = "{slug}.print.preflight.txt"  # the preflight report of the PDF for the press
HTML_FILE = "{slug}.print.html"  # with --keep-html: the HTML WeasyPrint lays out
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # a file name stem that stays in the output folder
MAX_SLUG = 80  # characters: with `.print.preflight.txt` and the cache's temporary names, well within a file name's 255
RESERVED = re.compile(r"con|prn|aux|nul|com\d|lpt\d")  # Windows' device names: no file may be named so


@dataclass(frozen=True)
class Project:
    """Everything the build needs to know about one manuscript folder."""

    root: Path
    metadata_file: Path
    title: str
    short_title: str
    lang: str
    authors: tuple[Author, ...]
    date: datetime.date
    journal: Journal
    body: Path
    bibliography: Path
    csl: Path
    slug: str
    page_size: str = "170mm 240mm"
    notes: Path | None = None
    abstract: Path | None = None
    keywords: tuple[str, ...] = ()
    contact: str | None = None
    doi: str | None = None
    license: License | None = None
    article_type: str | None = None
    section: str | None = None
    translation: Translation | None = None
    press: Press = field(default_factory=Press)
    crossref: Crossref = field(default_factory=Crossref)
    number_sections: bool = False
    source_files: tuple[Path, ...] = field(default=())

    def file(self, edition: str) -> str:
        """The name of an edition's file."""
        return EDITION_FILES[edition].format(slug=self.slug)

    @property
    def preflight_file(self) -> str:
        """The name of the press PDF's preflight report."""
        return PREFLIGHT_FILE.format(slug=self.slug)

    @property
    def html_file(self) -> str:
        """The name of the print edition's HTML, written with --keep-html."""
        return HTML_FILE.format(slug=self.slug)

    @property
    def year(self) -> int:
        """The year of publication."""
        return self.date.year

    @property
    def epoch(self) -> int:
        """The publication date as a Unix time: the only date stamped into the outputs."""
        return calendar.timegm(self.date.timetuple())


class _Reader:
    """Reads typed values out of parsed YAML, collecting every problem by key and line."""

    def __init__(self, path: Path, data: dict[str, Any], lines: dict[tuple[Any, ...], int]):
        self.path = path
        self.data = data
        self.lines = lines
        self.problems: list[Problem] = []
        self.misspelt: set[tuple[Any, ...]] = set()  # required keys already reported as misspelt

    def problem(self, keys: tuple[Any, ...], message: str) -> None:
        line = self.lines.get(keys) or self.lines.get(keys[:-1])
        self.problems.append(Problem(message, self.path, line))

    def mapping(self, keys: tuple[Any, ...], allowed: set[str]) -> dict[str, Any]:
        value = self._lookup(keys)
        if not isinstance(value, dict):
            self.problem(keys, f"'{_name(keys)}' must be a mapping, got {characters.quoted(value)}")
            return {}
        for key in value:
            if key not in allowed:
                guess = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                if guess and guess[0] not in value:
                    self.misspelt.add((*keys, guess[0]))
                    hint = f"did you mean '{guess[0]}'?"
                else:
                    hint = f"expected one of: {', '.join(sorted(allowed))}"
                self.problem((*keys, key), f"unknown key '{_name((*keys, key))}'; {hint}")
        return value

    def _lookup(self, keys: tuple[Any, ...]) -> Any:
        value: Any = self.data
        for key in keys:
            if isinstance(value, dict):
                value = value.get(key)
            elif isinstance(value, list) and isinstance(key, int) and key < len(value):
                value = value[key]
            else:
                return None
        return value

    def get(self, keys: tuple[Any, ...], kind: Callable[[Any], Any], required: bool = False) -> Any:
        value = self._lookup(keys)
        if value is None:
            if required and keys not in self.misspelt:
                self.problem(keys, f"missing required key '{_name(keys)}'")
            return None
        try:
            return kind(value)
        except (TypeError, ValueError) as error:
            self.problem(keys, f"'{_name(keys)}' {error}, got {characters.quoted(value)}")
            return None

    def file(self, keys: tuple[Any, ...], kind: str, required: bool = False) -> Path | None:
        name = self.get(keys, _text, required)
        if name is None:
            return None
        root = self.path.parent.resolve()
        try:
            return resources.resolve(name, root, (root,), kind)
        except resources.Refused as refused:
            if refused.outside:
                self.problem(keys, f"'{_name(keys)}' must name a file inside the manuscript folder, got {name!r}")
            elif str(refused) == "not found":
                self.problem(keys, f"'{_name(keys)}': file not found: {name}")
            else:
                self.problem(keys, f"'{_name(keys)}': {name} {refused}")
            return None


def _name(keys: tuple[Any, ...]) -> str:
    return ".".join(str(key) for key in keys)


def _text(value: Any, lines: bool = False) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise TypeError("must be text")
    text = str(value).strip()
    if not text:
        raise ValueError("must not be empty")
    if strange := characters.control(text, lines) or characters.bidi(text):
        raise ValueError(f"must not hold {strange}")
    return text


def _paragraph(value: Any) -> str:
    return _text(value, lines=True)


def _whole(low: int, high: int) -> Callable[[Any], int]:
    """A reader of whole numbers from `low` to `high`."""
    def whole(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TypeError("must be a whole number")
        if not low <= value <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return value
    return whole


_integer = _whole(0, MAX_WHOLE)
_volume = _whole(0, 9_999)  # a volume, an issue's number or a year


def _words(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError("must be a list")
    return tuple(_text(item) for item in value)


def _texts(value: Any) -> tuple[str, ...]:
    return _words(value) if isinstance(value, list) else (_text(value),)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("must be true or false")
    return value


def _web_address(value: Any) -> str:
    url = _text(value)
    problem = web_address_problem(url)
    if problem:
        raise ValueError(problem)
    return url


def _doi(value: Any) -> str:
    doi = _text(value)
    if not DOI.match(doi):
        raise ValueError("must be a DOI such as 10.1234/abcd, without https://doi.org/")
    return doi


def _orcid(value: Any) -> str:
    """An ORCID iD, bare or as its URL, whose last character is its ISO 7064 11,2 check digit."""
    match = ORCID.match(_text(value))
    if not match:
        raise ValueError("must be an ORCID iD such as 0000-0002-1825-0097")
    identifier = match.group(1)
    total = 0
    for digit in identifier[:-1].replace("-", ""):
        total = (total + int(digit)) * 2
    check = (12 - total % 11) % 11
    expected = "X" if check == 10 else str(check)
    if identifier[-1] != expected:
        raise ValueError(f"has a wrong check digit (it would end in {expected})")
    return identifier


def _date(value: Any) -> datetime.date:
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(_text(value))
    except ValueError:
        raise ValueError("must be a date written YYYY-MM-DD") from None


def _lang(value: Any) -> str:
    tag = _text(value)
    if not LANG_TAG.match(tag):
        raise ValueError("must be a language tag such as nb-NO or en")
    if tag not in LANGUAGES and tag not in {known.split("-")[0] for known in LANGUAGES}:
        raise ValueError(f"must be one of the journal's languages: {', '.join(LANGUAGES)}")
    return tag


def _millimetres(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 10:
        raise TypeError("must be a number of millimetres from 0 to 10")
    return float(value)


def _page_size(value: Any) -> str:
    size = _text(value)
    if not PAGE_SIZE.match(size):
        raise ValueError("must be a width and height in millimetres, such as '170mm 240mm'")
    if not all(PAGE_MM[0] <= float(side.removesuffix("mm")) <= PAGE_MM[1] for side in size.split()):
        raise ValueError(f"must be a width and height from {PAGE_MM[0]} to {PAGE_MM[1]} millimetres each")
    return size


def _page_number(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE:
        raise TypeError(f"must be a page number from 1 to {MAX_PAGE}")
    return value


def _ink_limit(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 400:
        raise TypeError("must be a whole number of per cent from 100 to 400")
    return value


def _icc_fault(path: Path) -> str | None:
    """What keeps `path` from being the ICC profile of a CMYK output device, read from its header
    and tag table (the profile itself is read by LittleCMS only when the press PDF is made)."""
    size = path.stat().st_size
    with path.open("rb") as file:
        header = file.read(ICC_HEADER)
        if len(header) < ICC_HEADER or header[36:40] != b"acsp":
            return "which is not an ICC profile"
        declared, count = struct.unpack(">I", header[:4])[0], struct.unpack(">I", header[128:132])[0]
        if declared != size or ICC_HEADER + 12 * count > size:
            return f"which is corrupt: its header gives {declared} bytes and {count} tags, the file has {size} bytes"
        table = file.read(12 * count)
    tags = {}
    for index in range(count):
        signature, offset, length = struct.unpack(">4sII", table[12 * index:12 * index + 12])
        if offset + length > size:
            return f"which is corrupt: its tag {signature.decode('latin-1')!r} runs past the end of the file"
        tags[signature] = length
    device, space = header[12:16], header[16:20]
    if device != b"prtr":
        return f"which is not an output (printer) profile but of the class {device.decode('latin-1')!r}"
    if space != b"CMYK":
        return f"which is for {space.decode('latin-1').strip()!r}, not CMYK"
    if not {b"B2A0", b"B2A1"} & tags.keys():
        return "which has no table into the printer's colours (no B2A0 or B2A1 tag)"
    return None


def _slug(value: Any) -> str:
    slug = _text(value)
    if not SLUG.fullmatch(slug):
        raise ValueError("must be lower-case letters, digits and single hyphens between them, such as 'hansen-2024'")
    if len(slug) > MAX_SLUG:
        raise ValueError(f"must be at most {MAX_SLUG} characters long")
    if RESERVED.fullmatch(slug):
        raise ValueError("is a device name on Windows, where no file may be called so")
    return slug


def slugify(text: str) -> str:
    """Make an ASCII file name stem out of a title."""
    text = text.replace("ø", "o").replace("Ø", "O").replace("æ", "ae").replace("Æ", "Ae")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _parse_yaml(path: Path) -> tuple[Any, yamlfile.Lines]:
    if not path.exists():
        raise SatsError.at(f"no {METADATA_FILE} in the manuscript folder", path.parent)
    try:
        data = resources.read(resources.checked(path.resolve(), (path.parent.resolve(),), "metadata"), "metadata")
        text = data.decode("utf-8")
    except resources.Refused as refused:
        raise SatsError.at(str(refused), path) from None
    except UnicodeDecodeError as error:
        raise SatsError.at("not valid UTF-8 text", path, data[: error.start].count(b"\n") + 1) from None
    return yamlfile.load(text, path)


TOP_KEYS = {
    "title", "short-title", "lang", "author", "contact", "date", "doi", "license", "journal",
    "article-type", "section", "keywords", "abstract", "translation", "body", "notes",
    "bibliography", "csl", "page-size", "slug", "print", "crossref", "number-sections",
}
AUTHOR_KEYS = {"name", "surname", "affiliation", "email", "orcid", "corresponding"}


def default_csl(lang: str) -> Path:
    """The citation style for an article in `lang` whose metadata names none."""
    return CSL_STYLES / DEFAULT_CSL.get(lang.split("-")[0], APA_CSL)


def load(folder: Path) -> Project:
    """Load and validate the metadata of the manuscript in `folder`."""
    root = folder.resolve()
    if not root.is_dir():
        raise SatsError.at("manuscript folder not found", folder)
    path = root / METADATA_FILE
    data, lines = _parse_yaml(path)
    if not isinstance(data, dict):
        raise SatsError.at("the metadata must be a mapping of keys to values", path, 1)
    read = _Reader(path, data, lines)
    read.mapping((), TOP_KEYS)

    authors = []
    raw_authors = data.get("author")
    if not isinstance(raw_authors, list) or not raw_authors:
        read.problem(("author",), "'author' must be a list of authors with a name each")
    else:
        for index, _ in enumerate(raw_authors):
            keys = ("author", index)
            read.mapping(keys, AUTHOR_KEYS)
            name = read.get((*keys, "name"), _text, required=True) or ""
            corresponding = bool(read.get((*keys, "corresponding"), _flag))
            email = read.get((*keys, "email"), _text)
            if corresponding and email is None:
                read.problem((*keys, "corresponding"), f"a corresponding author needs an '{_name((*keys, 'email'))}'")
            authors.append(Author(
                name=name,
                affiliations=read.get((*keys, "affiliation"), _texts) or (),
                email=email,
                orcid=read.get((*keys, "orcid"), _orcid),
                corresponding=corresponding,
                surname=read.get((*keys, "surname"), _text) or (name.split() or [""])[-1],
            ))

    journal = None
    if read.get(("journal",), dict, required=True) is not None:
        read.mapping(("journal",), {"title", "issn", "volume", "issue", "first-page", "last-page", "url"})
        journal = Journal(
            title=read.get(("journal", "title"), _text, required=True),
            volume=read.get(("journal", "volume"), _volume, required=True),
            issue=read.get(("journal", "issue"), _volume, required=True),
            first_page=read.get(("journal", "first-page"), _page_number, required=True),
            issn=read.get(("journal", "issn"), _text),
            last_page=read.get(("journal", "last-page"), _page_number),
            url=read.get(("journal", "url"), _web_address),
        )

    license_ = None
    if read.get(("license",), dict) is not None:
        read.mapping(("license",), {"statement", "name", "url"})
        license_ = License(
            statement=read.get(("license", "statement"), _paragraph, required=True),
            name=read.get(("license", "name"), _text),
            url=read.get(("license", "url"), _web_address),
        )

    translation = None
    if read.get(("translation",), dict) is not None:
        read.mapping(("translation",), {"lang", "title", "keywords", "abstract"})
        translation = Translation(
            lang=read.get(("translation", "lang"), _lang, required=True),
            title=read.get(("translation", "title"), _text, required=True),
            abstract=read.file(("translation", "abstract"), "text", required=True),  # type: ignore[arg-type]
            keywords=read.get(("translation", "keywords"), _words) or (),
        )

    press = Press()
    if read.get(("print",), dict) is not None:
        read.mapping(("print",), {"bleed", "icc-profile", "output-condition", "max-ink"})
        profile = read.file(("print", "icc-profile"), "profile")
        if profile is not None and (fault := _icc_fault(profile)):
            read.problem(("print", "icc-profile"), f"'print.icc-profile' must be a CMYK output (printer) "
                                                   f"ICC profile, got {profile.name!r}, {fault}")
        condition = read.get(("print", "output-condition"), _text, required=profile is not None)
        if condition and "icc-profile" not in data["print"]:
            read.problem(("print", "output-condition"), "'print.output-condition' is the condition of the "
                                                        "printer's profile: name it in 'print.icc-profile'")
        bleed = read.get(("print", "bleed"), _millimetres)
        max_ink = read.get(("print", "max-ink"), _ink_limit)
        press = Press(bleed_mm=press.bleed_mm if bleed is None else bleed,
                      max_ink=press.max_ink if max_ink is None else max_ink,
                      **({"profile": profile, "condition": condition, "condition_name": condition}
                         if profile is not None and condition else {}))

    crossref = Crossref()
    if read.get(("crossref",), dict) is not None:
        read.mapping(("crossref",), {"depositor", "email", "registrant", "batch-id", "timestamp"})
        crossref = Crossref(depositor=read.get(("crossref", "depositor"), _text),
                            email=read.get(("crossref", "email"), _text),
                            registrant=read.get(("crossref", "registrant"), _text),
                            batch_id=read.get(("crossref", "batch-id"), _text),
                            timestamp=read.get(("crossref", "timestamp"), _whole(0, 10**17 - 1)))

    title = read.get(("title",), _text, required=True)
    short_title = read.get(("short-title",), _text) or title
    lang = read.get(("lang",), _lang, required=True)
    date = read.get(("date",), _date, required=True)
    csl = read.file(("csl",), "style") if "csl" in data else default_csl(lang or "")
    body = read.file(("body",), "text", required=True)
    notes = read.file(("notes",), "text")
    abstract = read.file(("abstract",), "text")
    bibliography = read.file(("bibliography",), "bibliography", required=True)
    slug = read.get(("slug",), _slug)
    page_size = read.get(("page-size",), _page_size) or "170mm 240mm"
    scalars = {key: read.get((key,), _text) for key in ("contact", "article-type", "section")}
    doi = read.get(("doi",), _doi)
    keywords = read.get(("keywords",), _words) or ()
    number_sections = bool(read.get(("number-sections",), _flag))
    if read.problems:
        raise SatsError(*read.problems)
    assert title and lang and date and journal and body and bibliography and csl
    if not csl.is_relative_to(CSL_STYLES):
        csl = citation_style.independent(csl, (root, CSL_STYLES))
    if not slug:
        slug = slugify(f"{authors[0].surname} {date.year} {short_title}")[:MAX_SLUG].rstrip("-")
    sources = tuple(p for p in (path, body, notes, abstract, bibliography, csl,
                                translation.abstract if translation else None, press.profile) if p)
    return Project(
        root=root,
        metadata_file=path,
        title=title,
        short_title=short_title,
        lang=lang,
        authors=tuple(authors),
        date=date,
        journal=journal,
        body=body,
        bibliography=bibliography,
        csl=csl,
        slug=slug,
        page_size=page_size,
        notes=notes,
        abstract=abstract,
        keywords=keywords,
        contact=scalars["contact"],
        doi=doi,
        license=license_,
        article_type=scalars["article-type"],
        section=scalars["section"],
        translation=translation,
        press=press,
        crossref=crossref,
        number_sections=number_sections,
        source_files=sources,
    )
