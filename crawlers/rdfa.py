"""schema.org nodes written in RDFa (``vocab="https://schema.org/" typeof="Product" property="name"``).

Some shop templates (Drupal Commerce, older Magento themes, hand-made shops) declare their product
in RDFa attributes only; read as no product data, such a page lost its SKU, stock and colour, and a
crawl kept it only when a listing linked it. extruct reads RDFa as an expanded graph (full property
IRIs, every value a list, nested nodes as blank-node references); :func:`rdfa_nodes` gives the same
compact nodes as its microdata (``{"@type": "Product", "name": ..., "offers": {"@type": "Offer", ...}}``).
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

SCHEMA_PREFIXES = ("https://schema.org/", "http://schema.org/")
MAX_DEPTH = 8  # nested nodes inlined (a graph may refer in a cycle)


def _schema_name(iri: str) -> str | None:
    """``https://schema.org/price`` -> ``price``; None for another vocabulary's IRI."""
    for prefix in SCHEMA_PREFIXES:
        if iri.startswith(prefix) and len(iri) > len(prefix):
            return iri[len(prefix):]
    return None


def _value(value: dict[str, Any], graph: dict[str, dict[str, Any]], depth: int) -> Any:
    """A compact value: a literal's text, a node referred to inlined, else the address it names
    (an image, ``https://schema.org/InStock``)."""
    if "@value" in value:
        return value["@value"]
    identifier = value.get("@id")
    if isinstance(identifier, str) and identifier in graph and depth < MAX_DEPTH:
        return _compact(graph[identifier], graph, depth + 1)
    return identifier


def _compact(node: dict[str, Any], graph: dict[str, dict[str, Any]], depth: int = 0) -> dict[str, Any]:
    types = [name for name in map(_schema_name, node.get("@type") or []) if name]
    compact: dict[str, Any] = {"@type": types[0] if len(types) == 1 else types}
    if isinstance(node.get("@id"), str) and not node["@id"].startswith("_:"):
        compact["@id"] = node["@id"]
    for key, values in node.items():
        name = _schema_name(key)
        if name is None or not isinstance(values, list):
            continue
        read = [_value(v, graph, depth) for v in values if isinstance(v, dict)]
        read = [v for v in read if v not in (None, "")]
        if read:
            compact[name] = read[0] if len(read) == 1 else read
    return compact


def rdfa_nodes(page_html: str, root: Any, url: str | None) -> list[dict[str, Any]]:
    """The top-level schema.org nodes the page (its text, and its parsed `root`) declares in RDFa
    (those no other node refers to), compact; none when it declares no ``typeof`` or extruct cannot
    read it."""
    if not root.xpath("//*[contains(@typeof, 'Product') or contains(@typeof, 'Offer')]"):
        return []  # most pages: no RDFa product, and pyRdfa (0.4 s on a 1 MB page) is not asked
    import extruct

    try:  # RDFa is read from the text: extruct's RDFa reader needs a DOM tree of its own
        graph_nodes = extruct.extract(page_html, base_url=url or None, syntaxes=["rdfa"], errors="strict").get("rdfa", [])
    except Exception as exc:  # extruct raises assorted errors on odd markup; the rest of the page still counts
        logger.info("extruct (rdfa) failed on %s: %s", url or "<page>", exc)
        return []
    graph = {node["@id"]: node for node in graph_nodes if isinstance(node, dict) and isinstance(node.get("@id"), str)}
    referred = {value.get("@id") for node in graph_nodes if isinstance(node, dict)
                for key, values in node.items() if key.startswith(SCHEMA_PREFIXES) and isinstance(values, list)
                for value in values if isinstance(value, dict)}
    return [_compact(node, graph) for node in graph_nodes
            if isinstance(node, dict) and node.get("@id") not in referred
            and any(_schema_name(t) for t in node.get("@type") or [])]
