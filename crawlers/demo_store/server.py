"""The demo store as a plain ``ThreadingHTTPServer`` on 127.0.0.1, with a readable access log.

Routes: ``/`` home, ``/shop?page=N`` paginated listing, ``/new-in`` JavaScript-rendered section
(``/api/new-in.json``), ``/products/<slug>`` and ``/private/<slug>`` product pages,
``/products.json?page=N&limit=M`` (Shopify style), ``/robots.txt`` (disallows ``/private/``),
``/sitemap.xml``, ``/static/...`` images (``/static/drawn/<name>.png`` rendered on demand) and
``/media/...`` image traps: a redirect (``/media/r/...``), an exact copy (``/media/copy/...``),
a resized re-encode (``/media/resized/...``), a tiny swatch, an HTML page posing as a JPEG and a
PNG whose header claims 40000x40000 pixels. Broken product pages come from the catalogue.

Each request appends one line to the access log: ``<unix time> <METHOD> <path> <status> "<UA>"``.
"""

from __future__ import annotations

import io
import logging
import struct
import threading
import time
import zlib
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from PIL import Image
from vtonkit.core.hosts import allowed_host_names, host_name
from vtonkit.crawlers.demo_store import pages
from vtonkit.crawlers.demo_store.catalogue import (
    STATIC_DIR,
    drawn_png,
    load_catalogue,
    product_path,
    replicate_catalogue,
)

logger = logging.getLogger(__name__)

_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


@lru_cache(maxsize=1)
def huge_png() -> bytes:
    """A tiny file whose PNG header declares 40000 x 40000 RGB pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" + b"\xff" * 3 * 40000)  # one row; decoders must never get this far
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", rows)
        + _png_chunk(b"IEND", b"")
    )


@lru_cache(maxsize=16)
def resized_jpeg(static_path: str) -> bytes:
    """A near-duplicate: the image at 85% size, re-encoded as JPEG quality 80."""
    image = Image.open(io.BytesIO(static_bytes(static_path))).convert("RGB")
    image = image.resize((int(image.width * 0.85), int(image.height * 0.85)), Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


@lru_cache(maxsize=8)
def swatch_png(colour: str) -> bytes:
    """A 48x48 colour swatch: real shops mix these into galleries; the min-size filter drops them."""
    buffer = io.BytesIO()
    Image.new("RGB", (48, 48), {"grey": (128, 128, 128)}.get(colour, (200, 50, 50))).save(
        buffer, format="PNG"
    )
    return buffer.getvalue()


def static_bytes(path: str) -> bytes:
    """Bytes of a ``/static/...`` path (files shipped in ``static/`` or drawn garments)."""
    relative = path.removeprefix("/static/")
    if relative.startswith("drawn/") and relative.endswith(".png"):
        return drawn_png(relative.removeprefix("drawn/").removesuffix(".png"))
    file = (STATIC_DIR / relative).resolve()
    if STATIC_DIR.resolve() not in file.parents or not file.is_file():
        raise FileNotFoundError(path)
    return file.read_bytes()


class DemoStoreHandler(BaseHTTPRequestHandler):
    server: DemoStoreServer
    server_version = "vtonkit-demo-store/1"

    def _send(
        self,
        status: int,
        body: bytes | str,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        code = code.value if isinstance(code, HTTPStatus) else code
        self.server.log_access(self.command, self.path, code, self.headers.get("User-Agent", ""))

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("demo store: " + format, *args)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if host_name(self.headers.get("Host", "")) not in self.server.allowed_hosts:
            # DNS rebinding: another site's name pointed at this machine (see core/hosts.py)
            return self._send(403, "<h1>Refused</h1><p>The Host header names no address of this demo store.</p>")
        try:
            self._route()
        except FileNotFoundError:
            self._send(404, "<h1>Not found</h1>")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _route(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        base = self.server.url
        catalogue = self.server.catalogue
        if path == "/":
            return self._send(200, pages.home_page())
        if path == "/robots.txt":
            return self._send(200, pages.robots_txt(catalogue, base), "text/plain; charset=utf-8")
        if path == "/sitemap.xml":
            return self._send(200, pages.sitemap_index(base), "application/xml")
        if path == "/sitemap_products_1.xml":
            return self._send(200, pages.products_sitemap(catalogue, base), "application/xml")
        if path == "/shop":
            html = pages.listing_page(catalogue, _int(query, "page", 1))
            return self._send(200, html) if html else self._send(404, "<h1>No such page</h1>")
        if path == "/new-in":
            return self._send(200, pages.new_in_page())
        if path == "/api/new-in.json":
            return self._send(200, pages.new_in_json(catalogue), "application/json")
        if path == "/products.json":
            limit = min(max(_int(query, "limit", 30), 1), 250)
            return self._send(
                200, pages.products_json(catalogue, _int(query, "page", 1), limit, base), "application/json"
            )
        for broken in catalogue["broken"]:
            if path == broken["path"]:
                return self._broken(broken)
        for product in catalogue["products"]:
            if path == product_path(product):
                return self._send(200, pages.product_page(catalogue, product, base))
        if path.startswith("/static/"):
            return self._send(
                200, static_bytes(path), _TYPES.get(Path(path).suffix.lower(), "application/octet-stream")
            )
        if path.startswith("/media/"):
            return self._media(path)
        return self._send(404, "<h1>Not found</h1>")

    def _broken(self, broken: dict) -> None:
        if broken["kind"] == "truncated":
            return self._send(200, pages.truncated_page(broken["title"]))
        if broken["kind"] == "redirect-loop":
            return self._send(302, "", headers={"Location": broken["path"]})
        return self._send(int(broken["status"]), f"<h1>Error {broken['status']}</h1>")

    def _media(self, path: str) -> None:
        if path.startswith("/media/r/"):
            return self._send(302, "", headers={"Location": "/" + path.removeprefix("/media/r/")})
        if path.startswith("/media/copy/"):
            target = "/" + path.removeprefix("/media/copy/")
            return self._send(
                200, static_bytes(target), _TYPES.get(Path(target).suffix.lower(), "image/jpeg")
            )
        if path.startswith("/media/resized/"):
            return self._send(200, resized_jpeg("/" + path.removeprefix("/media/resized/")), "image/jpeg")
        if path.startswith("/media/swatch/"):
            return self._send(200, swatch_png(Path(path).stem), "image/png")
        if path == "/media/not-an-image.jpg":
            return self._send(200, "<html><body>Image temporarily unavailable</body></html>")
        if path == "/media/huge.png":
            return self._send(200, huge_png(), "image/png")
        raise FileNotFoundError(path)


def _int(query: dict[str, list[str]], key: str, default: int) -> int:
    try:
        return int(query.get(key, [default])[0])
    except ValueError:
        return default


class DemoStoreServer(ThreadingHTTPServer):
    """The demo store bound to ``host:port`` (port 0 picks a free one); see :attr:`url`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, access_log: Path | None = None, copies: int = 1,
        allow_hosts: tuple[str, ...] = (),
    ):
        super().__init__((host, port), DemoStoreHandler)
        self.allowed_hosts = allowed_host_names(host, allow_hosts)  # requests naming other hosts are refused
        # copies > 1 multiplies the shop section (benchmarks); see replicate_catalogue
        self.catalogue = replicate_catalogue(load_catalogue(), copies) if copies > 1 else load_catalogue()
        self.access_log = Path(access_log) if access_log else None
        self._log_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def log_access(self, method: str, path: str, status: int | str, user_agent: str) -> None:
        if self.access_log is None:
            return
        line = f'{time.time():.3f} {method} {path} {status} "{user_agent}"\n'
        with self._log_lock, open(self.access_log, "a", encoding="utf-8") as handle:
            handle.write(line)

    def start_background(self) -> DemoStoreServer:
        """Serve from a daemon thread (tests, benchmarks); returns self."""
        self._thread = threading.Thread(target=self.serve_forever, name="demo-store", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread:
            self._thread.join(timeout=5)


def prerender_drawn() -> None:
    """Render every drawn garment now, so that the first crawl is not slowed by drawing."""
    for name in load_catalogue()["drawn"]:
        drawn_png(name)
