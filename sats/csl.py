"""The citation style (CSL), checked before citeproc reads it, so that a mistake in it is told
with the style's file and line rather than in citeproc's words, and a macro that calls itself
is refused rather than followed without end."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from .errors import SatsError

CSL = "http://purl.org/net/xbiblio/csl"


def check(path: Path) -> None:
    """Refuse a style that is not well-formed XML, not a CSL style, or calls a macro it does not
    define or a macro that calls itself, directly or through others."""
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
