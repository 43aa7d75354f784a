"""YAML from a manuscript (metadata.yaml, issue.yaml): parsed once, strictly and within bounds.

PyYAML's safe loader still accepts what a metadata file never needs and an attacker uses: an
alias bomb (nine levels of nine aliases are a billion values to whoever walks the data),
duplicate keys (the second silently wins), tags such as `!!binary` or `!!set`, and nesting
deep enough to exhaust Python's stack. This loader refuses each where it stands, while the
document is composed and before anything is expanded, with its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .characters import quoted
from .errors import SatsError

MAX_ALIASES = 20  # an anchor reused for a shared affiliation or two; a bomb needs dozens
MAX_VALUES = 10_000  # values of the document with every alias expanded: an issue of 100 articles needs ~1,000
MAX_DIGITS = 20  # a whole number's characters: enough for any 64-bit number
MAX_DEPTH = 20  # mappings and lists within each other: metadata goes four deep
YAML_TAG = "tag:yaml.org,2002:"
MERGE = f"{YAML_TAG}merge"
TAGS = {f"{YAML_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")}

Lines = dict[tuple[Any, ...], int]


class _Refused(yaml.MarkedYAMLError):
    """What the loader refuses, at the place it stands."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class _Loader(yaml.SafeLoader):
    """The safe loader, counting aliases and values, measuring depth, refusing duplicate keys
    and every tag but the plain ones."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.aliases = 0
        self.values = 0  # composed so far, each alias counted as the values it stands for
        self.depth = 0
        self.sizes: dict[int, int] = {}  # by id of each node composed: the values it holds

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        mark: yaml.Mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _Refused(f"more than {MAX_ALIASES} aliases (*name)", mark)
            node = super().compose_node(parent, index)
            if id(node) not in self.sizes:
                raise _Refused("an alias inside the value it names", mark)
            self._count(self.sizes[id(node)], mark)
            return node
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep", mark)
        before = self.values
        node = super().compose_node(parent, index)
        self.depth -= 1
        tag = node.tag if node is not None else ""
        if tag not in TAGS:
            shown = "<< (a merge key)" if tag == MERGE else tag.replace(YAML_TAG, "!!")
            raise _Refused(f"{shown} is not allowed: only text, numbers, true/false, dates, lists and mappings", mark)
        self._count(1, mark)
        self.sizes[id(node)] = self.values - before
        return node

    def _count(self, values: int, mark: yaml.Mark) -> None:
        self.values += values
        if self.values > MAX_VALUES:
            raise _Refused(f"more than {MAX_VALUES:,} values, aliases expanded", mark)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping: dict[Any, Any] = super().construct_mapping(node, deep)
        if len(mapping) < len(node.value):  # a key given twice: name the second
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node)
                if key in seen:
                    raise _Refused(f"the key {key_node.value!r} is given twice in the same mapping",
                                   key_node.start_mark)
                seen.add(key)
        return mapping

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node.tag == f"{YAML_TAG}int" and len(node.value) > MAX_DIGITS:  # 1:0:0:… is base 60: no digit limit
            raise _Refused(f"{quoted(node.value, 42)} is larger than any number a manuscript holds", node.start_mark)
        try:
            return super().construct_object(node, deep)
        except ValueError as error:  # a date such as 2024-02-30
            raise _Refused(f"{quoted(node.value, 42)} cannot be read: {error}", node.start_mark) from None


def load(text: str, path: Path) -> tuple[Any, Lines]:
    """The data of a YAML document and the line of each key path in it, or one error with its line."""
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as error:  # a character YAML does not allow, such as NUL
        line = text.count("\n", 0, error.position) + 1
        raise SatsError.at(f"invalid YAML: the character U+{error.character:04X} is not allowed", path, line) from None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        reason = error.problem or error.context or "unreadable"
        if error.context and reason.startswith("but "):  # "expected a single document…, but found another"
            reason = f"{error.context}, {reason}"
        message = reason if isinstance(error, _Refused) else f"invalid YAML: {reason}"
        raise SatsError.at(message, path, mark.line + 1 if mark else None) from None
    finally:
        loader.dispose()
    return data, _node_lines(node) if node is not None else {}


def _node_lines(node: yaml.Node, keys: tuple[Any, ...] = ()) -> Lines:
    lines = {keys: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            lines.update(_node_lines(value_node, (*keys, key_node.value)))
            lines[(*keys, key_node.value)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(_node_lines(item, (*keys, index)))
    return lines
