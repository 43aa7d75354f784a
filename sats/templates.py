"""Jinja templates and their labels: the editions' markup lives in templates/, never in code."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import jinja2
import yaml
from markupsafe import Markup

from .characters import one_line
from .config import TOOL_ROOT, Author, Project
from .errors import SatsError

TEMPLATES = TOOL_ROOT / "templates"


@functools.cache
def environment() -> jinja2.Environment:
    """The template environment: strict about undefined names, escaping everything."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=lambda name: not (name or "").endswith(".txt.j2"),  # plain-text reports are not markup
        finalize=_finalize,
    )
    env.filters["fields"] = pattern_fields
    return env


@jinja2.pass_eval_context
def _finalize(context: jinja2.nodes.EvalContext, value: Any) -> Any:
    """Each value a plain-text template prints, on one line: a value cannot forge a line of a report."""
    return value if context.autoescape else one_line(value)


FIELD = re.compile(r"\{([a-z]+)\}")


def pattern_fields(pattern: str) -> Iterator[tuple[str, str]]:
    """A label pattern («årgang {volume}») as (text, field) pairs, the last field empty; a space
    between a word and a field does not break («årgang 79» stays on one line)."""
    pieces = FIELD.split(pattern)
    for index in range(0, len(pieces), 2):
        text, field = pieces[index], pieces[index + 1] if index + 1 < len(pieces) else ""
        if field and re.search(r"\w $", text):
            text = text[:-1] + "\u00a0"
        yield text, field


@functools.cache
def _all_labels() -> dict[str, dict[str, str]]:
    path = TEMPLATES / "labels.yaml"
    try:
        data: dict[str, dict[str, str]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise SatsError.at(f"invalid YAML: {error}", path, mark.line + 1 if mark else None) from None
    return data


def labels(lang: str) -> dict[str, str]:
    """The words printed around the text for a language tag such as nb-NO."""
    table = _all_labels()
    primary = lang.split("-")[0]
    if primary not in table:
        raise SatsError.at(f"no labels for language '{lang}'", TEMPLATES / "labels.yaml")
    return table[primary]


def author_names(project: Project) -> str:
    """The authors' names in full, as the cover prints them: «A og B»."""
    return f" {labels(project.lang)['and']} ".join(author.name for author in project.authors)


def running_authors(project: Project) -> str:
    """The authors as the running head prints them: one author's full name, two surnames joined
    by «and», from three the first surname and «et al.», in the article's language."""
    words, authors = labels(project.lang), project.authors
    if len(authors) == 1:
        return authors[0].name
    if len(authors) == 2:
        return f" {words['and']} ".join(author.surname for author in authors)
    return f"{authors[0].surname} {words['et-al']}"


def affiliation_marks(authors: tuple[Author, ...]) -> tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]:
    """The affiliations in order of first mention and each author's numbers among them; none
    when the authors all share the same affiliations, which are then printed once."""
    if len({author.affiliations for author in authors}) <= 1:
        return (), tuple(() for _ in authors)
    listed: list[str] = []
    for author in authors:
        listed += [name for name in author.affiliations if name not in listed]
    return tuple(listed), tuple(tuple(sorted(listed.index(name) + 1 for name in author.affiliations))
                              for author in authors)


@dataclass(frozen=True)
class Context:
    """What the article's templates see, each field a variable of the same name."""

    project: Project
    labels: dict[str, str]
    translation_labels: dict[str, str]  # the second language's, for its abstract
    authors: str  # the names in full, as the cover prints them
    running_authors: str  # the names as the running heads print them
    affiliations: tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]  # listed, and each author's marks
    parts: dict[str, Markup]  # the article's HTML parts: abstract, body, translation, refs
    last_page: int | None  # None until the layout knows it
    source: str  # where the article is printed: journal, volume, issue, year, pages
    identifier: str  # the editions' stable identifier: doi:… or urn:uuid:…
    description: str  # the abstract as plain text
    version: str  # Sats's
    stylesheet: str  # the print edition's CSS, as a URL

    def variables(self) -> dict[str, Any]:
        """The fields by name, for a template."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


def render(name: str, context: Context | None = None, **variables: Any) -> str:
    """Render the template `name` with the article's `context` and further `variables`."""
    try:
        return environment().get_template(name).render(**(context.variables() if context else {}), **variables)
    except jinja2.TemplateSyntaxError as error:
        path = Path(error.filename) if error.filename else TEMPLATES / name
        raise SatsError.at(f"template error: {error.message}", path, error.lineno) from None
    except jinja2.UndefinedError as error:
        raise SatsError.at(f"template error: {error.message}", TEMPLATES / name) from None
