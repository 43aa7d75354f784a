"""The citation style (CSL), checked before citeproc reads it, so that a mistake in it is told
with the style's file and line rather than in citeproc's words, a macro that calls itself or
multiplies without bound is refused rather than followed, and a dependent style's parent is
found among local files (nothing is fetched)."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from . import resources
from .errors import SatsError

CSL = "http://purl.org/net/xbiblio/csl"
NS = {"csl": CSL}
MAX_DEPTH = 50  # macros within macros; the shipped styles go 11 deep
MAX_EXPANSION = 100_000  # macro calls one macro may expand to; the largest shipped style makes 4,689


def check(path: Path) -> None:
    """Refuse a style that is not well-formed XML, not a CSL style, or calls a macro it does not
    define or a macro that calls itself, directly or through others, or whose macros nest more
    than MAX_DEPTH deep or expand to more than MAX_EXPANSION calls."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.parse(str(path), parser).getroot()
    except etree.XMLSyntaxError as error:
        raise SatsError.at(f"invalid XML: {error.msg}", path, error.lineno or None) from None
    if root.tag != f"{{{CSL}}}style":
        raise SatsError.at(f"not a CSL style: its root element is <{etree.QName(root).localname}>, "
                           f"not <style xmlns=\"{CSL}\">", path, root.sourceline)
    macros = {str(macro.get("name")): macro for macro in root.iterfind(f"{{{CSL}}}macro")}
    calls = {name: [(str(call.get("macro")), call.sourceline) for call in macro.iterdescendants()
                    if call.get("macro") is not None] for name, macro in macros.items()}
    for call in root.iter():
        if isinstance(call.tag, str) and call.get("macro") is not None and call.get("macro") not in macros:
            raise SatsError.at(f"the macro {call.get('macro')!r} is not defined", path, call.sourceline)
    done: set[str] = set()
    for name in macros:
        _refuse_cycle(name, calls, [], done, path)
    _refuse_fan_out(macros, {name: [callee for callee, _ in called] for name, called in calls.items()}, path)


def _refuse_cycle(name: str, calls: dict[str, list[tuple[str, int | None]]], chain: list[str], done: set[str],
                  path: Path) -> None:
    """Follow the macros `name` calls, depth first, each once; a call back into `chain` is a cycle."""
    if name in done:
        return
    chain.append(name)
    for callee, line in calls[name]:
        if callee in chain:
            loop = " → ".join((*chain[chain.index(callee):], callee))
            raise SatsError.at(f"the macro {callee!r} calls itself: {loop}", path, line)
        _refuse_cycle(callee, calls, chain, done, path)
    chain.pop()
    done.add(name)


def _refuse_fan_out(macros: dict[str, etree._Element], calls: dict[str, list[str]], path: Path) -> None:
    """Refuse macros (free of cycles) that nest more than MAX_DEPTH deep or multiply past MAX_EXPANSION calls."""
    sizes: dict[str, int] = {}

    def size(name: str, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise SatsError.at(f"macros call each other more than {MAX_DEPTH} deep", path, macros[name].sourceline)
        if name not in sizes:
            sizes[name] = min(MAX_EXPANSION + 1, 1 + sum(size(callee, depth + 1) for callee in calls[name]))
        return sizes[name]

    for name in macros:
        if size(name, 0) > MAX_EXPANSION:
            raise SatsError.at(f"macro {name!r} expands to more than {MAX_EXPANSION:,} macro calls",
                               path, macros[name].sourceline)


def _parse(path: Path) -> etree._Element | None:
    """The style's XML, read with its size's bound and without entities, DTDs or the network;
    None if it is not XML (citeproc says why)."""
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(resources.read(path, "style"), parser)
    except etree.XMLSyntaxError:
        return None
    except resources.Refused as refused:
        raise SatsError.at(str(refused), path) from None


def independent(path: Path, roots: tuple[Path, ...]) -> Path:
    """The style citeproc is given for the style at `path`: itself, or, for a dependent style,
    its parent, found by its id among the styles in `roots` (the manuscript folder, the styles
    Sats ships). Refused: a parent that is not there."""
    tree = _parse(path)
    if tree is None:
        return path
    link = tree.find("csl:info/csl:link[@rel='independent-parent']", NS)
    if link is None:
        return path
    href = link.get("href", "")
    for root in roots:
        for candidate in sorted(root.glob("*.csl")):
            parent = _parse(candidate) if candidate.resolve() != path.resolve() else None
            found = parent.findtext("csl:info/csl:id", "", NS).strip() if parent is not None else ""
            if found == href and parent is not None and parent.find("csl:info/csl:link[@rel='independent-parent']",
                                                                    NS) is None:
                return resources.checked(candidate.resolve(), roots, "style")
    raise SatsError.at(f"the style depends on {href!r}, which is not the id of a style in the manuscript folder "
                       "or of one Sats ships: styles are never fetched", path, link.sourceline)
