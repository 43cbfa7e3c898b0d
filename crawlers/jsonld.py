"""Tolerant JSON-LD reading: shops ship JSON-LD that strict parsers reject.

Seen in the wild: trailing commas, JavaScript comments, raw newlines and tabs inside strings,
HTML entities, several objects concatenated in one script tag, ``@graph`` wrappers, top-level
arrays, and ``@type`` written in lower case ("product"). :func:`json_ld_blocks` returns every
block it could read (after repairs), :func:`resolve_references` puts the node a ``{"@id": ...}``
reference names in its place (Yoast's ``@graph`` gives a product's image, offers and brand that
way), and :func:`iter_nodes` walks them.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger(__name__)

_SCRIPT = re.compile(
    r"<script\b[^>]*type\s*=\s*[\"']?application/ld\+json[\"']?[^>]*>(.*?)</script\s*>",
    re.IGNORECASE | re.DOTALL,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def _strip_comments_and_fix_strings(text: str) -> str:
    """Drop // and /* */ comments outside strings; escape raw newlines/tabs inside strings."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        ch = text[i]
        if in_string:
            if ch == "\\" and i + 1 < n:
                out.append(text[i : i + 2])
                i += 2
                continue
            if ch == '"':
                in_string = False
            elif ch == "\n":
                ch = "\\n"
            elif ch == "\r":
                ch = "\\r"
            elif ch == "\t":
                ch = "\\t"
            out.append(ch)
            i += 1
            continue
        if ch == '"':
            in_string = True
        elif ch == "/" and i + 1 < n and text[i + 1] == "/":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch == "/" and i + 1 < n and text[i + 1] == "*":
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _decode_concatenated(text: str) -> list[Any]:
    """Decode one or more JSON values written back to back (``{..}{..}`` or ``{..},{..}``)."""
    decoder = json.JSONDecoder(strict=False)
    values: list[Any] = []
    pos, n = 0, len(text)
    while pos < n:
        while pos < n and text[pos] in " \t\r\n,;":
            pos += 1
        if pos >= n:
            break
        value, pos = decoder.raw_decode(text, pos)
        values.append(value)
    return values


def parse_json_ld(text: str) -> list[Any]:
    """Parse one JSON-LD script body, repairing common breakage. Raises ValueError if hopeless."""
    raw = text.strip()
    raw = raw.removeprefix("<!--")
    raw = raw.removesuffix("-->")
    raw = raw.strip().removeprefix("<![CDATA[").removesuffix("]]>").strip()
    try:
        return _decode_concatenated(raw)
    except ValueError:
        pass
    repaired = _strip_comments_and_fix_strings(raw)
    repaired = _CONTROL.sub(" ", repaired)
    repaired = _TRAILING_COMMA.sub(r"\1", repaired)
    for candidate in (repaired, html.unescape(repaired)):
        try:
            return _decode_concatenated(candidate)
        except ValueError as exc:
            error = exc
    raise ValueError(f"unreadable JSON-LD ({error})")


def json_ld_blocks(page_html: str, url: str = "") -> list[Any]:
    """Every readable JSON-LD value in the page; unreadable blocks are logged and skipped."""
    blocks: list[Any] = []
    for match in _SCRIPT.finditer(page_html):
        body = match.group(1)
        if not body.strip():
            continue
        try:
            blocks.extend(parse_json_ld(body))
        except (ValueError, RecursionError) as exc:  # RecursionError: nested past the JSON parser's depth
            logger.info("skipping JSON-LD block on %s: %s", url or "<page>", exc)
    return blocks


_REFERENCE_KEYS = {"@id", "@type", "@context"}
# Caps on what resolving may build: references of a hostile page can nest and fan out.
MAX_REFERENCE_HOPS = 3
MAX_RESOLVED_VALUES = 50_000


def _is_reference(value: dict[str, Any]) -> bool:
    return isinstance(value.get("@id"), str) and not set(value) - _REFERENCE_KEYS


def resolve_references(blocks: list[Any]) -> list[Any]:
    """Copies of `blocks` in which each reference (a dict holding only ``@id``, maybe ``@type``) is
    replaced by the node of that ``@id`` elsewhere in the page, its own references resolved too.

    At most `MAX_REFERENCE_HOPS` references deep and `MAX_RESOLVED_VALUES` values in all (what is
    left over stays a reference), so cycles and fan-outs end; references to nothing stay as they are.
    """
    index: dict[str, dict[str, Any]] = {}
    for node in iter_nodes(blocks):
        if isinstance(node.get("@id"), str) and not _is_reference(node):
            index.setdefault(node["@id"], node)
    budget = [MAX_RESOLVED_VALUES]

    def resolve(value: Any, hops: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            return value
        if isinstance(value, list):
            return [resolve(v, hops) for v in value]
        if not isinstance(value, dict):
            return value
        if _is_reference(value):
            target = index.get(value["@id"])
            return resolve(target, hops - 1) if target is not None and hops > 0 else value
        return {key: resolve(v, hops) for key, v in value.items()}

    if not index:
        return blocks
    try:
        return [resolve(block, MAX_REFERENCE_HOPS) for block in blocks]
    except RecursionError:  # nested past Python's depth (a hostile page): read as written
        logger.info("JSON-LD nested too deeply to resolve its references; read as written")
        return blocks


def types_of(node: dict[str, Any]) -> set[str]:
    """The node's schema.org types, lower-case and without the vocabulary prefix."""
    value = node.get("@type") or node.get("type") or []
    if isinstance(value, str):
        value = [value]
    return {str(t).rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower() for t in value if t}


def iter_nodes(value: Any) -> Iterator[dict[str, Any]]:
    """Depth-first walk over every dict in a JSON-LD value (``@graph`` and nesting included)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
