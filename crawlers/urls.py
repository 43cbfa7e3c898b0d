"""URL splitting and joining that take a page's malformed addresses as no address.

`urllib.parse` raises ValueError on some addresses a hostile or broken page holds (an unclosed IPv6
bracket: ``http://[::1/p``); one such link, canonical tag or image URL must cost only itself, never
the page's extraction.
"""
from __future__ import annotations

import functools
import ipaddress
import re
import socket
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


# the legacy IPv4 spellings a resolver still accepts ("2130706433", "0x7f.1", "127.1")
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


def _is_internal_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (address.is_loopback or address.is_private or address.is_link_local or address.is_reserved
            or address.is_unspecified or address.is_multicast)


@functools.lru_cache(maxsize=4096)
def resolves_inward(host: str) -> bool:
    """The host name resolves (the system resolver, `/etc/hosts` included) to an address on this
    machine or a private network: the machine's own name, or a public name pointed inward. Asked once
    per name per process; a name that does not resolve reaches nothing and is not inward."""
    try:
        answers = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    for *_, sockaddr in answers:
        try:
            if _is_internal_address(ipaddress.ip_address(str(sockaddr[0]).split("%")[0])):
                return True
        except ValueError:
            continue
    return False


def url_host(url: str) -> str:
    """The URL's host as name lookups and address checks compare it: lower-case, no trailing dot."""
    return (split_url(url).hostname or "").rstrip(".").lower()


def is_internal_host(url: str) -> bool:
    """The URL's host is this machine or a private network: localhost, an IP literal (any spelling)
    that is loopback, private, link-local (cloud metadata at 169.254.169.254), reserved or
    unspecified, or a name that resolves to one (`resolves_inward`). An answer that changes between
    this check and the download (DNS rebinding) is not caught."""
    host = url_host(url)
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not _LEGACY_IPV4.match(host):
            return resolves_inward(host)
        try:
            address = ipaddress.ip_address(socket.inet_aton(host))
        except OSError:
            return False
    return _is_internal_address(address)


def is_link_local(url: str) -> bool:
    """The URL's host is a link-local IP literal (cloud metadata at 169.254.169.254)."""
    host = url_host(url)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_link_local


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of the URL, the port filled in from the scheme."""
    parts = split_url(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        port = None
    return parts.scheme, url_host(url), port


def reaches_inward(url: str, shop_url: str) -> bool:
    """A request to `url` for the shop at `shop_url` goes to this machine or a private network
    (`is_internal_host`) outside the shop's own address: a public shop may reach none of them, a
    shop served from one only its own scheme, host and port (any other port of the machine, a
    router, would be fetched on the shop's say). A link-local address (cloud metadata at
    169.254.169.254) is never reached. The browser's requests, the product images and the
    redirects of both answer to this one rule."""
    if not is_internal_host(url):
        return False
    return not is_internal_host(shop_url) or origin(url) != origin(shop_url) or is_link_local(url)
