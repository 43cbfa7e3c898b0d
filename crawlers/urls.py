"""URL splitting and joining that take a page's malformed addresses as no address.

`urllib.parse` raises ValueError on some addresses a hostile or broken page holds (an unclosed IPv6
bracket: ``http://[::1/p``); one such link, canonical tag or image URL must cost only itself, never
the page's extraction.
"""
from __future__ import annotations

from urllib.parse import SplitResult, urljoin, urlsplit

_NO_URL = urlsplit("")


def split_url(url: str) -> SplitResult:
    """`urlsplit(url)`; a malformed URL splits as the empty one (no scheme, host or path)."""
    try:
        return urlsplit(url)
    except ValueError:
        return _NO_URL


def join_url(base: str, href: str) -> str:
    """`urljoin(base, href)`; "" when either is malformed."""
    try:
        joined = urljoin(base, href)
        urlsplit(joined)
    except ValueError:
        return ""
    return joined


def is_web_url(url: str) -> bool:
    """An absolute http(s) address with a host: the only kind a crawl downloads (a page's ``file://``
    image would copy this machine's files into the catalog; ``ftp:``, ``javascript:``, ``data:``
    name no shop's picture)."""
    parts = split_url(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)
