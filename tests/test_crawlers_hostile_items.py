"""Hostile product pages on 127.0.0.1 against the real `vtonkit crawl generic`: image URLs that
are no web addresses, image files Pillow would hand to an outside program, images whose header
declares a huge size, odd JSON-LD prices and product pages that redirect off the store's host.

One shop, crawled once in a subprocess (the Twisted reactor cannot restart); each test reads
what that crawl wrote.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import struct
import subprocess
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.fixture_shops import CAFE24_GARMENTS, GARMENTS, FixtureShop, Page, Routes, _Handler, html, json_ld
from tests.test_crawlers_render import REPO, VTONKIT, _crawl

pytestmark = pytest.mark.slow

ROBOTS = Page(b"User-agent: *\nAllow: /\n", "text/plain")
# image URLs that name no web address; each must stay out of the downloads
NOT_WEB = ["ftp://127.0.0.1/img/tee.jpg", "javascript:alert(1)", "file:///etc/passwd"]
# an Encapsulated PostScript file served as a product photo: Pillow draws EPS with Ghostscript
EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 400 400\n%%EndComments\nnewpath 0 0 moveto 400 400 lineto stroke\n%%EOF\n"
# a Ghostscript stand-in for the crawl: it notes that it ran (a real one would run the shop's PostScript)
FAKE_GHOSTSCRIPT = "#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/ran\"\necho 10.0\n"


BOMB_SIDE = 7070  # 50 MP less a little: an RGBA PNG of about 190 kB that decodes to 200 MB


def png_bomb(side: int, *, pixels: bool = True) -> bytes:
    """A valid `side` x `side` RGBA PNG of zeros, compressed row block by row block (never the
    decoded bytes in memory); ``pixels=False``: its header alone, no image data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows, compressor = b"\0" * (1 + side * 4) * 100, zlib.compressobj(9)
    data = [compressor.compress(rows) for _ in range(side // 100)] if pixels else []
    data += [compressor.compress(b"\0" * (1 + side * 4) * (side % 100) if pixels else b""), compressor.flush()]
    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)  # 8 bits, RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(data)) + chunk(b"IEND", b"")


def _garment(n: int) -> Page:
    return Page((GARMENTS / CAFE24_GARMENTS[n % len(CAFE24_GARMENTS)]).read_bytes(), "image/jpeg")


def _product(handle: str, *, image: object = None, price: object = "19.90", body: str = "") -> Page:
    """A product page: schema.org Product JSON-LD (its ``image`` only when given), ``body`` below its ``<h1>``."""
    node = {"@context": "https://schema.org", "@type": "Product", "name": f"Cotton tee {handle}",
            "sku": handle, "category": "T-shirts",
            "offers": {"@type": "Offer", "price": price, "priceCurrency": "EUR"}}
    if image is not None:
        node["image"] = image
    return html(f"<h1>Cotton tee {handle}</h1>{body}", head=json_ld(node))


def local_picture(path: Path) -> Path:
    """A picture on this machine's disk that no shop serves: its copy in the store would be a leak."""
    noise = np.random.default_rng(7).integers(0, 255, (320, 320, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path)
    return path


def hostile_items_store(local: Path):
    def routes(base: str) -> Routes:
        products = {
            # JSON-LD images: a local file, then addresses no download may follow, then a real one
            "local-files": _product("local-files", image=[f"file://{local}", *NOT_WEB, "/img/0.jpg"]),
            # no image in the product data: the gallery's <img> tags are read
            "gallery-schemes": _product("gallery-schemes", body="<div class='gallery'>" + "".join(
                f"<img src='{src}'>" for src in [f"file://{local}", *NOT_WEB, "/img/1.jpg"]) + "</div>"),
            "eps-image": _product("eps-image", image=["/img/drawing.jpg", "/img/2.jpg"]),
            "pixel-bomb": _product("pixel-bomb", image=["/img/bomb.png", "/img/3.jpg"]),
            "moved-away": _product("moved-away"),  # never served: it redirects off the host (_OffHostHandler)
        }
        # pages that send the browser on with <meta http-equiv=refresh>: to themselves, and to another host
        refresh = "<meta http-equiv='refresh' content='0; url={}'>"
        products["refresh-loop"] = html("<h1>Please wait</h1>", head=refresh.format("/products/refresh-loop"))
        products["refresh-away"] = html("<h1>Please wait</h1>", head=refresh.format(
            base.replace("127.0.0.1", "localhost") + "/products/refresh-away"))
        routes: Routes = {"/robots.txt": ROBOTS,
                          "/": html("".join(f"<a href='/products/{h}'>{h}</a>" for h in products)),
                          "/img/drawing.jpg": Page(EPS, "image/jpeg"),
                          "/img/bomb.png": Page(png_bomb(BOMB_SIDE), "image/png"),
                          **{f"/img/{n}.jpg": _garment(n) for n in range(4)}}
        routes.update({f"/products/{handle}": page for handle, page in products.items()})
        return routes

    return routes


class _OffHostHandler(_Handler):
    """``/products/moved-away`` is sent on to the same shop under another host name (``localhost``)."""

    def do_GET(self) -> None:
        if self.path != "/products/moved-away":
            return super().do_GET()
        self.server.log(self.path, self.headers.get("User-Agent", ""))
        self.send_response(301)
        self.send_header("Location", self.server.url.replace("127.0.0.1", "localhost") + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()


def fake_ghostscript(folder: Path) -> Path:
    (folder / "gs").write_text(FAKE_GHOSTSCRIPT)
    (folder / "gs").chmod(0o755)
    return folder / "ran"


@pytest.fixture(scope="module")
def hostile_crawl(tmp_path_factory):
    local = local_picture(tmp_path_factory.mktemp("disk") / "private.png")
    tools, out = tmp_path_factory.mktemp("bin"), tmp_path_factory.mktemp("crawl")
    ghostscript_ran = fake_ghostscript(tools)
    shop = FixtureShop(hostile_items_store(local))
    shop.RequestHandlerClass = _OffHostHandler
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
            summary, products, catalog, console = _crawl("generic", shop.url, out, "--render", "never")
    finally:
        shop.stop()
    return {"shop": shop, "summary": summary, "products": {p["sku"]: p for p in products},
            "catalog": catalog, "console": console, "out": out, "local": local,
            "ghostscript_ran": ghostscript_ran}


def test_only_http_image_urls_are_downloaded(hostile_crawl):
    """A page's ``file://`` image made the crawler copy a file of this machine into the catalog;
    ``ftp:``/``javascript:`` ones were requested too. Each is refused, named with its page."""
    catalog, products, summary = hostile_crawl["catalog"], hostile_crawl["products"], hostile_crawl["summary"]
    assert {record["image_url"].split(":")[0] for record in catalog} == {"http"}
    secret = hashlib.sha256(hostile_crawl["local"].read_bytes()).hexdigest()
    stored = {hashlib.sha256(path.read_bytes()).hexdigest() for path in (hostile_crawl["out"] / "images").rglob("*.*")}
    assert secret not in stored and len(stored) == 4  # the garments the shop serves
    for handle in ("local-files", "gallery-schemes"):
        images = products[handle]["images"]
        refused = [i for i in images if i["status"] == "rejected" and i["reason"] == "not-http"]
        assert len(refused) == 1 + len(NOT_WEB) and [i["status"] for i in images][-1] == "kept", images
        page = f"{hostile_crawl['shop'].url}/products/{handle}"
        errors = [e for e in summary["image_errors"] if e["page_url"] == page]
        assert {e["url"].split(":")[0] for e in errors} == {"file", "ftp", "javascript"}
        assert all(e["reason"].startswith("not-http") for e in errors), errors
    assert summary["image_status"]["rejected:not-http"] == 2 * (1 + len(NOT_WEB))


def test_an_eps_file_as_product_image_is_refused_unread(hostile_crawl):
    """Pillow opens EPS (and PS, PDF) by running Ghostscript on the bytes: a shop's PostScript
    ran on this machine. Only the formats shops show garments in are opened."""
    eps, garment = hostile_crawl["products"]["eps-image"]["images"]
    assert (eps["status"], eps["reason"], garment["status"]) == ("rejected", "not-an-image", "kept")
    assert not hostile_crawl["ghostscript_ran"].exists()
    error = next(e for e in hostile_crawl["summary"]["image_errors"] if e["url"].endswith("/img/drawing.jpg"))
    assert "JPEG" in error["reason"] and "PNG" in error["reason"], error


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def test_image_formats_are_the_ones_shops_show():
    """TIFF and ICO are refused unparsed; a camera's multi-picture JPEG is kept as the JPEG it is."""
    from vtonkit.crawlers.image_facts import ImageRejected, inspect_image

    picture = Image.fromarray(np.random.default_rng(3).integers(0, 255, (300, 300, 3), dtype=np.uint8))
    for fmt in ("TIFF", "ICO", "EPS"):
        with pytest.raises(ImageRejected) as refused:
            inspect_image(_encoded(picture, fmt, **({"sizes": [(256, 256)]} if fmt == "ICO" else {})),
                          person_detector="skin")
        assert refused.value.reason == "not-an-image", fmt
    camera = _encoded(picture, "MPO", save_all=True, append_images=[picture.rotate(90)])
    facts = inspect_image(camera, person_detector="skin")
    assert (facts.format, facts.extension) == ("JPEG", "jpg")
    assert inspect_image(_encoded(picture, "WEBP"), person_detector="skin").extension == "webp"


def test_a_png_declaring_50_megapixels_is_refused_by_its_header(hostile_crawl):
    """7070 x 7070 RGBA: 190 kB on the wire, 200 MB decoded, and a copy, up to ten at once (the
    image threads): ~4 GB from one listing. The default cap (40 MP) refuses it before decoding."""
    bomb, garment = hostile_crawl["products"]["pixel-bomb"]["images"]
    assert (bomb["status"], bomb["reason"], garment["status"]) == ("rejected", "too-large", "kept")
    error = next(e for e in hostile_crawl["summary"]["image_errors"] if e["url"].endswith("/img/bomb.png"))
    assert f"{BOMB_SIDE}x{BOMB_SIDE}" in error["reason"], error


def test_the_pixel_cap_is_read_from_the_header_before_any_pixel():
    """A header with no image data behind it: a decode would fail ("undecodable"); the cap refuses it first."""
    from vtonkit.crawlers.image_facts import MAX_IMAGE_PIXELS, ImageRejected, inspect_image
    from vtonkit.crawlers.runner import crawl_settings

    assert crawl_settings(None).getint("VTONKIT_MAX_IMAGE_PIXELS") == MAX_IMAGE_PIXELS <= 40_000_000
    with pytest.raises(ImageRejected) as refused:
        inspect_image(png_bomb(BOMB_SIDE, pixels=False))
    assert refused.value.reason == "too-large"
    with pytest.raises(ImageRejected) as refused:
        inspect_image(png_bomb(600, pixels=False), max_pixels=300 * 300)
    assert refused.value.reason == "too-large" and "600x600 pixels > 90000" in str(refused.value)


def test_a_header_past_pillows_own_bomb_limit_gets_vtonkits_message():
    """20000 x 20000 (400 MP, over twice Pillow's 89 MP warning limit) was refused with Pillow's
    "exceeds limit of 178956970 pixels", naming a limit the crawl never set."""
    from vtonkit.crawlers.image_facts import ImageRejected, inspect_image

    with pytest.raises(ImageRejected) as refused:
        inspect_image(png_bomb(20000, pixels=False), max_pixels=40_000_000)
    assert refused.value.reason == "too-large" and str(refused.value).endswith("20000x20000 pixels > 40000000")


def test_structured_prices_are_machine_numbers():
    """schema.org prices are numbers with "." for decimals: "12.500" is 12.5, not 12500 (the visible
    text's locale guess), and "-5" is refused, not read as 5. A price string that is no plain number
    ("19,90 €") is still read as text; visible prices keep the locale-aware reading."""
    from vtonkit.crawlers.offers import offer_price
    from vtonkit.crawlers.prices import parse_price

    assert offer_price({"price": "12.500", "priceCurrency": "EUR"}) == (12.5, "EUR")
    assert offer_price({"price": " 1299.00 ", "priceCurrency": "USD"}) == (1299.0, "USD")
    assert offer_price({"price": "-5", "priceCurrency": "EUR"}) == (None, "EUR")
    assert offer_price({"price": -5, "priceCurrency": "EUR"}) == (None, "EUR")
    assert offer_price({"priceSpecification": {"price": "-19.90"}, "priceCurrency": "EUR"}) == (None, "EUR")
    assert offer_price({"price": "19,90 €"}) == (19.9, "EUR")
    assert parse_price("12.500 €") == (12500.0, "EUR")  # shown on a page: the German thousands


def test_a_json_ld_price_string_is_read_as_a_decimal_number(caplog):
    from vtonkit.crawlers.extract import extract_product

    def page(price: str) -> str:
        return _product("tee", image="/img/0.jpg", price=price).body.decode()

    item = extract_product(page("12.500"), "https://shop.example/products/tee")
    assert (item.price, item.currency, item.sources["price"]) == (12.5, "EUR", "json-ld")
    with caplog.at_level("INFO", logger="vtonkit.crawlers.offers"):
        item = extract_product(page("-5"), "https://shop.example/products/tee")
    assert item.price is None
    assert "https://shop.example/products/tee" in caplog.text and "'-5'" in caplog.text


def test_a_product_page_redirected_off_the_store_is_reported(hostile_crawl):
    """Scrapy's offsite filter dropped the redirected request when it was scheduled: no errback, no
    report, the product simply absent. The redirect is refused and named with both addresses."""
    summary, page = hostile_crawl["summary"], f"{hostile_crawl['shop'].url}/products/moved-away"
    errors = [e["reason"] for e in summary["page_errors"] if e["url"] == page]
    assert errors and "redirected off the store's host" in errors[0] and "localhost" in errors[0], errors
    assert summary["skipped"]["off-host-redirect"] == 2  # with the meta refresh below
    assert any(m["url"] == page for m in summary["missing_products"])
    assert "moved-away" not in hostile_crawl["products"]
    assert "redirected off the store's host" in (hostile_crawl["out"] / "crawl.log").read_text()


def test_a_session_id_in_the_path_is_not_another_product():
    """Java shops write the session into every link's path (``;jsessionid=...``): each visit's
    links made the same product a new one."""
    from vtonkit.crawlers.url_roles import product_identity, product_in_url

    plain = "https://shop.example/products/linen-shirt"
    for url in (f"{plain};jsessionid=A1B2C3D4E5", f"{plain};JSESSIONID=ffee99.node01?color=red",
                "https://shop.example/products;jsessionid=0AF/linen-shirt;jsessionid=0AF"):
        assert product_identity(url) == product_identity(plain), url
        assert product_in_url(url) == "linen-shirt", url
    assert product_identity(f"{plain};color=red") != product_identity(plain)  # other parameters stay


RESUME_PRODUCTS = 400  # its requests fill the buffer of the duplicate filter's seen-list: it reaches the disk


class _SlowProductHandler(_Handler):
    def do_GET(self) -> None:
        if self.path.startswith("/products/"):
            time.sleep(0.02)  # the killed run must still be crawling
        super().do_GET()


def many_products(base: str) -> Routes:
    handles = [f"tee-{n}" for n in range(RESUME_PRODUCTS)]
    routes: Routes = {"/robots.txt": ROBOTS, "/": html("".join(f"<a href='/products/{h}'>{h}</a>" for h in handles))}
    routes.update({f"/products/{h}": _product(h) for h in handles})
    return routes


def _kill_then_resume(tmp_path: Path, *resume_options: str) -> tuple[int, dict, list[dict]]:
    """Crawl `many_products` with --resume, kill -9 it after 100 products, run it again with
    `resume_options`: (products the killed run wrote, summary, products.jsonl) of the resumed run."""
    shop = FixtureShop(many_products)
    shop.RequestHandlerClass = _SlowProductHandler
    command = [*VTONKIT, "crawl", "generic", "--url", shop.url, "--out", str(tmp_path), "--no-throttle",
               "--render", "never", "--resume"]
    products = tmp_path / "products.jsonl"
    try:
        killed = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline and killed.poll() is None and (
                not products.exists() or products.read_text().count("\n") < 100):
            time.sleep(0.02)
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        before = products.read_text().count("\n")
        assert 0 < before < RESUME_PRODUCTS, before  # killed mid-crawl
        summary, found, _, _ = _crawl("generic", shop.url, tmp_path, "--render", "never", "--resume",
                                      *resume_options)
    finally:
        shop.stop()
    return before, summary, found


def test_a_killed_crawl_resumes_the_whole_store(tmp_path):
    """`kill -9`, then `--resume`: Scrapy writes its queue's index only at a clean close, while its
    seen-list grew as the crawl went, so the resumed run dropped the start page as already seen and
    ended at once, exit 0, the rest of the store never crawled. Now the store is crawled again and
    the products found before are kept once."""
    before, summary, found = _kill_then_resume(tmp_path)
    skus = [p["sku"] for p in found]
    assert sorted(set(skus)) == sorted(f"tee-{n}" for n in range(RESUME_PRODUCTS))
    assert len(skus) == RESUME_PRODUCTS  # each product once
    assert summary["catalog_totals"]["products"] == RESUME_PRODUCTS  # this run's own counts are fewer
    assert summary["products_total"] < RESUME_PRODUCTS
    assert summary["skipped"]["found-before"] >= before - 16  # a killed run's last lines may be lost
    assert any("killed" in note for note in summary["notes"]), summary["notes"]


def test_a_resumed_crawls_limit_counts_the_products_of_its_earlier_runs(tmp_path):
    """--limit 300 after a kill at 100 or more products collected 300 more: 400 in all."""
    limit = 300
    _, summary, found = _kill_then_resume(tmp_path, "--limit", str(limit))
    skus = [p["sku"] for p in found]
    assert len(skus) == len(set(skus)) == limit, len(skus)
    assert summary["finish_reason"] == "limit", summary["finish_reason"]
    assert summary["catalog_totals"]["products"] == limit


def test_a_product_page_whose_meta_refresh_loops_or_leaves_the_store_is_reported(hostile_crawl):
    """A page refreshing to itself (`<meta http-equiv=refresh content="0; url=...">`) was followed by
    Scrapy's MetaRefreshMiddleware into its duplicate filter and vanished: no error, no missing product.
    One refreshing to another host was dropped by the offsite filter. Both are reported like HTTP redirects."""
    summary, base = hostile_crawl["summary"], hostile_crawl["shop"].url
    reasons = {e["url"]: e["reason"] for e in summary["page_errors"]}
    assert "meta refresh loop" in reasons.get(f"{base}/products/refresh-loop", ""), summary["page_errors"]
    away = reasons.get(f"{base}/products/refresh-away", "")
    assert "meta refresh off the store's host" in away and "localhost" in away, summary["page_errors"]
    assert summary["skipped"]["off-host-redirect"] == 2
