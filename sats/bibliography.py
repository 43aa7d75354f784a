"""The bibliography: CSL-JSON (or BibLaTeX, converted by pandoc), with where each entry stands."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import characters, pandoc
from .errors import Problem, SatsError

# What an entry of each CSL type needs before it can be printed as a full reference.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "*": ("author", "issued", "title"),
    "article-journal": ("container-title", "volume", "page"),
    "article-magazine": ("container-title",),
    "article-newspaper": ("container-title",),
    "chapter": ("container-title", "publisher", "page"),
    "book": ("publisher",),
    "report": ("publisher",),
}


# CSL-JSON's name and date variables; every other field holds text or a number (the type, text),
# but for `custom`, which citeproc does not read.
NAME_FIELDS = frozenset({
    "author", "chair", "collection-editor", "compiler", "composer", "container-author", "contributor", "curator",
    "director", "editor", "editorial-director", "executive-producer", "guest", "host", "illustrator", "interviewer",
    "narrator", "organizer", "original-author", "performer", "producer", "recipient", "reviewed-author",
    "script-writer", "series-creator", "translator"})
DATE_FIELDS = frozenset({"accessed", "available-date", "event-date", "issued", "original-date", "submitted"})
FREE_FIELDS = frozenset({"custom"})
DATE_PART = re.compile(r"-?\d{1,5}")  # a year (negative before the common era), a month or season, a day
BRACES = re.compile(r"[{}]")
MAX_BRACES = 20  # an entry's own, a field's, and a title's protected words: three or four
BETWEEN = re.compile(r"[\s,]*")  # between two entries of a JSON list

# A title wholly in square brackets is the editor's description of an untitled work (APA).
DESCRIPTION = re.compile(r"^\[.*\]$")


@dataclass(frozen=True)
class Bibliography:
    """The entries of the bibliography as CSL-JSON items, keyed by id."""

    path: Path
    entries: dict[str, dict[str, Any]]
    lines: dict[str, int]

    def csl_json(self) -> str:
        """The entries as CSL-JSON text, for citeproc."""
        return json.dumps(list(self.entries.values()), ensure_ascii=False)

    def incomplete(self) -> list[Problem]:
        """Entries that lack a field their type needs, with the fields they lack."""
        problems = []
        for key, entry in self.entries.items():
            needed = REQUIRED_FIELDS["*"] + REQUIRED_FIELDS.get(entry.get("type", ""), ())
            missing = [name for name in needed if not entry.get(name)]
            if DESCRIPTION.match(str(entry.get("title", ""))):
                missing.insert(0, "title (a description in brackets stands in its place)")
            if entry.get("type") == "article-journal" and entry.get("DOI") and "page" in missing:
                missing.remove("page")
            if missing:
                problems.append(Problem(f"entry '{key}' is incomplete: no {', no '.join(missing)}",
                                        self.path, self.lines.get(key)))
        return problems


def load(path: Path, text: str) -> Bibliography:
    """Read a CSL-JSON or BibLaTeX bibliography: `text`, the file `path`'s."""
    items: list[tuple[Any, int | None]]
    if path.suffix in (".bib", ".biblatex"):
        lines = _line_numbers(text, r"@\w+\s*\{\s*([^,\s]+)\s*,")
        _check_braces(text, path)
        csl_json = pandoc.run(["--from=biblatex", "--to=csljson"], text, source=path)
        items = [(item, None) for item in json.loads(csl_json)]
        for item, _ in items:
            if not item.get("type"):  # pandoc's reader gives an entry type it does not know none
                key = str(item.get("id"))
                kind = re.search(rf"@(\w+)\s*\{{\s*{re.escape(key)}\s*,", text)
                raise SatsError.at(f"entry '{key}': @{kind[1] if kind else ''} is not a BibLaTeX entry type",
                                   path, lines.get(key, [0])[0] or None)
    else:
        lines = _line_numbers(text, r'"id"\s*:\s*"([^"]+)"')
        items = list(_json_items(text, path))
    entries: dict[str, dict[str, Any]] = {}
    for item, start in items:
        key = _key(item, path, start, lines)
        if key in entries:
            raise SatsError.at(f"entry '{key}' is defined twice", path, lines.get(key, [0, 0])[-1] or None)
        entries[key] = item
    return Bibliography(path, entries, {key: places[0] for key, places in lines.items()})


def _check_braces(text: str, path: Path) -> None:
    """Refuse braces nested deeper than any title needs: pandoc's reader slows down with each level."""
    depth = 0
    for brace in BRACES.finditer(text):
        depth += 1 if brace.group() == "{" else -1
        if depth > MAX_BRACES:
            raise SatsError.at(f"braces nested more than {MAX_BRACES} levels deep", path,
                               text.count("\n", 0, brace.start()) + 1)


def _key(item: Any, path: Path, line: int | None, lines: dict[str, list[int]]) -> str:
    """The id of an entry, once it is known to be a mapping whose text fields hold text."""
    if not isinstance(item, dict):
        raise SatsError.at(f"an entry must be a mapping of fields, got {_kind(item)}", path, line)
    key = item.get("id")
    if not isinstance(key, str) or not key:
        raise SatsError.at("every entry needs an 'id'", path, line)
    for field, value in item.items():
        fault = None if field in FREE_FIELDS else _shape_fault(field, value)
        strange = next(filter(None, (characters.control(text, lines=True) for text in _strings(value))), None)
        if fault or strange:
            message = f"must be {fault}, got {_kind(value)}" if fault else f"must not hold {strange}"
            raise SatsError.at(f"entry '{key}': '{field}' {message}", path, lines.get(key, [line])[0])
    return key


def _shape_fault(field: str, value: Any) -> str | None:
    """What a field's value should have been, if it is not: a list of names, a date, text."""
    if field in NAME_FIELDS:
        names = isinstance(value, list) and all(
            isinstance(name, dict) and all(_scalar(part) for part in name.values()) for name in value)
        return None if names else 'a list of names, each a mapping such as {"family": "Ibsen", "given": "Henrik"}'
    if field in DATE_FIELDS:
        if isinstance(value, str):
            return None
        parts = value.get("date-parts", [[0]]) if isinstance(value, dict) else None
        dated = isinstance(parts, list) and 1 <= len(parts) <= 2 and all(
            isinstance(date, list) and 1 <= len(date) <= 3 and all(
                isinstance(part, (int, str)) and not isinstance(part, bool) and DATE_PART.fullmatch(str(part))
                for part in date) for date in parts)
        others = isinstance(value, dict) and all(_scalar(other) for name, other in value.items()
                                                 if name != "date-parts")
        return None if dated and others else 'a date such as {"date-parts": [[2019, 5, 3]]}'
    allowed = ("text",) if field == "type" else ("text", "a number")
    return None if _kind(value) in allowed else " or ".join(allowed)


def _scalar(value: Any) -> bool:
    return not isinstance(value, (list, dict))


def _strings(value: Any) -> Iterator[str]:
    """Every text in a JSON value, however deep."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for part in value.values():
            yield from _strings(part)
    elif isinstance(value, list):
        for part in value:
            yield from _strings(part)


def _kind(value: Any) -> str:
    """What a JSON value is, in words: a list, a number."""
    return {list: "a list", dict: "a mapping", str: "text", bool: "true or false", type(None): "null"}.get(
        type(value), "a number")


def _json_items(text: str, path: Path) -> list[tuple[Any, int]]:
    """The entries of a CSL-JSON bibliography, each with the line it starts on."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SatsError.at(f"invalid JSON: {error.msg}", path, error.lineno) from None
    if not isinstance(data, list):
        raise SatsError.at("a CSL-JSON bibliography must be a list of entries", path, 1)
    # Valid JSON: read it again, entry by entry, to know where each begins.
    decoder, items = json.JSONDecoder(), []
    index, line, counted = text.index("[") + 1, 1, 0
    for _ in data:
        index = BETWEEN.match(text, index).end()  # type: ignore[union-attr]
        line, counted = line + text.count("\n", counted, index), index
        item, index = decoder.raw_decode(text, index)
        items.append((item, line))
    return items


def _line_numbers(text: str, pattern: str) -> dict[str, list[int]]:
    """The lines where each entry's key stands (more than one if it is defined twice)."""
    lines: dict[str, list[int]] = {}
    for match in re.finditer(pattern, text):
        lines.setdefault(match.group(1), []).append(text.count("\n", 0, match.start()) + 1)
    return lines
