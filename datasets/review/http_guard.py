"""What the review app refuses before a route runs, and the security headers on every response.

The app has no login: it trusts whoever can reach it. This ASGI middleware keeps "who can reach
it" to the reviewer's own browser on this machine:

* Host allow-list: the request's `Host` must name this machine (`127.0.0.1`, `localhost`,
  `::1`), the address the server is bound to, or a name given with `--allow-host`. A page of
  another site whose name was re-pointed at 127.0.0.1 (DNS rebinding) sends its own name and is
  refused, so it can neither read samples nor record decisions.
* State changes (any method but GET/HEAD/OPTIONS) must come from the app's own page: an `Origin`
  header, when sent, must be exactly `http://<Host>`; `Sec-Fetch-Site`, when sent, must be
  `same-origin`; the body must be `application/json` (HTML forms cannot send that). Browsers
  always send `Origin` on cross-origin POSTs; a client without either header (curl, a script)
  is not a browser that another site could drive.
* Requests another site's page makes (`Sec-Fetch-Site: cross-site`) are refused, except a plain
  navigation (a link to the app still opens it).
* A header the guard reads (Host, Origin, Sec-Fetch-*, Content-Type) sent twice is refused: a
  server reading the last one would let another site's first one through unseen.
* A state change's body is read up to `MAX_BODY_BYTES` only (413 beyond): a decision with a long
  note is a few KiB.
* Every response carries `X-Content-Type-Options: nosniff`, a strict Content-Security-Policy
  with `frame-ancestors 'none'`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer` and
  `Cross-Origin-Resource-Policy: same-origin` (other sites cannot embed the dataset's images).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from vtonkit.core.hosts import host_name

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
GUARDED_HEADERS = ("host", "origin", "sec-fetch-site", "sec-fetch-mode", "content-type")
MAX_BODY_BYTES = 1 << 20

# The page loads only its own script, style, thumbnails and API; nothing inline, nothing remote.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Dataset files, thumbnails and API answers: never a document that could run anything.
RESOURCE_CSP = "default-src 'none'; img-src 'self'; frame-ancestors 'none'; sandbox"
COMMON_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def repeated_header(names: list[str]) -> tuple[int, str] | None:
    """(400, reason) when a header the guard reads comes more than once (`names`: all, lower case)."""
    for name in GUARDED_HEADERS:
        count = names.count(name)
        if count > 1:
            shown = "-".join(part.capitalize() for part in name.split("-"))
            return 400, f"refused: {count} {shown} headers (a request names each once)"
    return None


def refusal(scope: Scope, headers: dict[str, str], allowed: frozenset[str]) -> tuple[int, str] | None:
    """(status, reason) when the request must be refused, else None."""
    host = headers.get("host", "")
    if host_name(host) not in allowed:
        return 403, (
            f"refused: host {host!r} is not this review app (allowed: {', '.join(sorted(allowed))}; "
            "start it with --allow-host NAME to add a name)"
        )
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site == "cross-site" and headers.get("sec-fetch-mode") != "navigate":
        # another site embedding or fetching the app's files and data (a link to the app still works)
        return 403, "refused: a request from another site"
    if scope.get("method", "GET") in SAFE_METHODS:
        return None
    origin = headers.get("origin")
    if origin is not None and origin != f"http://{host}":
        return 403, f"refused: a change requested by another site (Origin {origin!r})"
    if fetch_site is not None and fetch_site != "same-origin":
        return 403, f"refused: a change requested by another site (Sec-Fetch-Site {fetch_site!r})"
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return 415, "refused: changes are sent as application/json"
    return None


async def read_bounded(receive: Receive) -> list[dict[str, Any]] | None:
    """The request's body messages, or None as soon as they hold more than MAX_BODY_BYTES (the
    rest is never read)."""
    messages, size = [], 0
    while True:
        message = await receive()
        messages.append(message)
        size += len(message.get("body", b""))
        if size > MAX_BODY_BYTES:
            return None
        if message["type"] != "http.request" or not message.get("more_body"):
            return messages


def replay(messages: list[dict[str, Any]], receive: Receive) -> Receive:
    """A `receive` that gives the messages read already, then the connection's own."""
    pending = iter(messages)

    async def replayed() -> dict[str, Any]:
        return next(pending, None) or await receive()

    return replayed


class LocalOnlyGuard:
    """ASGI middleware: the checks and headers described in the module docstring."""

    def __init__(self, app: Callable, allowed_hosts: frozenset[str], page_paths: Iterable[str] = ("/",)):
        self.app = app
        self.allowed = allowed_hosts
        self.page_paths = frozenset(page_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        pairs = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        headers = dict(pairs)
        csp = PAGE_CSP if scope.get("path") in self.page_paths else RESOURCE_CSP

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *COMMON_HEADERS,
                    (b"content-security-policy", csp.encode()),
                ]
            await send(message)

        refused = repeated_header([name for name, _ in pairs]) or refusal(scope, headers, self.allowed)
        if refused is None and scope.get("method", "GET") not in SAFE_METHODS:
            messages = await read_bounded(receive)
            if messages is None:
                refused = 413, f"refused: a request body over {MAX_BODY_BYTES >> 20} MiB"
            else:
                receive = replay(messages, receive)
        if refused is None:
            await self.app(scope, receive, send_with_headers)
            return
        status, reason = refused
        body = json.dumps({"detail": reason}).encode()
        await send_with_headers(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
