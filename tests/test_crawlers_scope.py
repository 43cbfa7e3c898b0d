"""What the store is: its start page as given, its hosts and ports, and whose robots.txt may stop it.

A shop on 127.0.0.1 and the real `vtonkit crawl`. Links and images point at servers that cannot
be reached: another port of the store's host name (nothing listens there) and a subdomain of it
(which does not resolve, or, where ``*.localhost`` resolves, drops the robots.txt connection).
"""

from __future__ import annotations

import json
import socket
import subprocess

import pytest

from tests.fixture_shops import GARMENTS, FixtureShop, Page, Routes, _Handler, html, product_ld
from tests.test_crawlers_render import REPO, VTONKIT

HANDLES = ["linen-shirt", "midi-skirt", "wide-trousers"]


def _closed_port() -> int:
    """A port of 127.0.0.1 nothing listens on (a server that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _shop_routes(footer: str, image: str) -> Routes:
    """A home page linking the products and `footer`; each product shows `image`."""
    links = "".join(f"<a href='/products/{h}'>{h}</a>" for h in HANDLES)
    routes: Routes = {"/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain"),
                      "/": html(f"{links}<footer>{footer}</footer>")}
    for n, handle in enumerate(HANDLES):
        offer = {"@type": "Offer", "price": 30 + n, "priceCurrency": "EUR"}
        routes[f"/products/{handle}"] = html(f"<h1>{handle}</h1><footer>{footer}</footer>",
                                             head=product_ld(handle, image, offer, sku=handle))
    return routes


class _SubdomainRobotsDropped(_Handler):
    """Drops the connection when a subdomain's robots.txt is asked for (where ``blog.localhost``
    resolves to this server)."""

    def do_GET(self) -> None:
        if self.path == "/robots.txt" and self.headers.get("Host", "").startswith("blog."):
            self.server.log(f"//{self.headers['Host']}{self.path}", self.headers.get("User-Agent", ""))
            self.close_connection = True
            return
        super().do_GET()


def _crawl(shop: FixtureShop, url: str, out) -> tuple[subprocess.CompletedProcess, dict, list[dict]]:
    try:
        run = subprocess.run([*VTONKIT, "crawl", "generic", "--out", str(out), "--url", url, "--no-throttle",
                              "--render", "never"], capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    finally:
        shop.stop()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    lines = (out / "products.jsonl").read_text(encoding="utf-8").splitlines()
    return run, summary, [json.loads(line) for line in lines]


def _tail(run: subprocess.CompletedProcess) -> str:
    return run.stdout[-3000:] + run.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("where", ["another-port-link", "subdomain-link", "another-port-image"])
def test_an_unreachable_robots_txt_of_another_server_does_not_stop_the_crawl(tmp_path, where):
    """A footer link to ``blog.localhost:PORT`` or ``localhost:OTHER-PORT``, or product images on
    another port, whose robots.txt could not be read, stopped the whole crawl ("the crawl stops",
    exit 1), and a --resume met it again: the crawl could never finish. Only the store's own
    robots.txt may stop it; another port is another server, not the store, so its links are not
    followed; a subdomain is the store's, and only its own pages are left, with a note."""
    closed = _closed_port()
    shop = FixtureShop(lambda base: {})
    port = shop.server_address[1]
    elsewhere = {"another-port-link": f"http://localhost:{closed}/",
                 "subdomain-link": f"http://blog.localhost:{port}/",
                 "another-port-image": f"http://localhost:{closed}/img/0.jpg"}[where]
    footer = "" if where.endswith("image") else f"<a href='{elsewhere}'>elsewhere</a>"
    image = elsewhere if where.endswith("image") else "/img/0.jpg"
    shop.routes = _shop_routes(footer, image)
    shop.RequestHandlerClass = _SubdomainRobotsDropped

    run, summary, products = _crawl(shop, f"http://localhost:{port}", tmp_path)

    assert run.returncode == 0, _tail(run)
    assert summary["finish_reason"] == "finished"
    assert sorted(p["sku"] for p in products) == HANDLES
    robots_notes = [note for note in summary["notes"] if note.startswith("robots.txt of ")]
    assert not [note for note in robots_notes if "the crawl stops" in note], robots_notes
    if where.startswith("another-port"):  # not the store: never asked for (an image there is refused unasked)
        assert not robots_notes, robots_notes
    else:  # the subdomain is the store's: that host alone is left
        netloc = elsewhere.split("/")[2]
        assert [note for note in robots_notes if note.startswith(f"robots.txt of {netloc} could not be read")]


def test_the_store_is_its_hosts_on_its_port():
    """`on_store_host` compared host names only: ``127.0.0.1:9807`` (another server) was the store of
    ``--url http://127.0.0.1:8807``. A subdomain (``www.``, ``m.``, ``blog.``) is the store's; the
    default ports of http and https are one store; the store's own address is its host and port."""
    from vtonkit.crawlers.spiders.generic import GenericSpider

    local = GenericSpider(url="http://localhost:8807")
    assert local.on_store_host("http://localhost:8807/shop") and local.on_store_host("http://blog.localhost:8807/")
    assert not local.on_store_host("http://localhost:9807/") and not local.on_store_host("http://localhost/")
    assert not local.on_store_host("http://127.0.0.1:8807/") and not local.on_store_host("http://notlocalhost:8807/")
    shop = GenericSpider(url="https://shop.example/kr")
    assert shop.on_store_host("http://shop.example/p/1") and shop.on_store_host("https://www.shop.example:443/p/1")
    assert not shop.on_store_host("https://shop.example:8443/p/1")
    assert shop.is_store_address("https://shop.example/robots.txt")
    assert shop.is_store_address("http://SHOP.example/")
    assert not shop.is_store_address("https://www.shop.example/") and not local.is_store_address("http://localhost:9807/")


@pytest.mark.slow
def test_a_start_url_with_a_path_is_requested_as_given(tmp_path):
    """`--url http://127.0.0.1:8806/shop` was requested as ``/shop/`` (a slash added), a 404: no product."""
    shop = FixtureShop(lambda base: {"/shop": html("".join(f"<a href='/products/{h}'>{h}</a>" for h in HANDLES))})
    shop.routes.update({path: page for path, page in _shop_routes("", "/img/0.jpg").items() if path != "/"})

    run, _, products = _crawl(shop, f"{shop.url}/shop", tmp_path)

    assert run.returncode == 0, _tail(run)
    assert sorted(p["sku"] for p in products) == HANDLES
    assert "/shop" in shop.paths and "/shop/" not in shop.paths, shop.paths


@pytest.mark.slow
def test_a_local_shops_images_reach_only_its_own_address(tmp_path):
    """A shop on an internal address made the crawler fetch any internal address its pages named:
    another port of the machine, the cloud metadata address 169.254.169.254. The browser's rule
    holds for images now: the shop's own host and port only."""
    other = FixtureShop(lambda base: {"/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain"),
                                      "/img/0.jpg": Page(b"secret", "image/jpeg")})
    shop = FixtureShop(lambda base: {})
    photo = (GARMENTS / "ruby_polo.jpg").read_bytes()
    images = ["/img/own.jpg", f"{other.url}/img/0.jpg", "http://169.254.169.254/latest/meta-data/x.jpg"]
    shop.routes = {**_shop_routes("", "/img/own.jpg"), "/img/own.jpg": Page(photo, "image/jpeg")}
    offer = {"@type": "Offer", "price": 30, "priceCurrency": "EUR"}
    shop.routes[f"/products/{HANDLES[0]}"] = html(f"<h1>{HANDLES[0]}</h1>",
                                                  head=product_ld(HANDLES[0], images, offer, sku=HANDLES[0]))
    try:
        run, summary, products = _crawl(shop, shop.url, tmp_path)
    finally:
        other.stop()
    assert run.returncode == 0, _tail(run)
    statuses = {image["url"]: (image["status"], image.get("reason")) for image in
                next(p for p in products if p["sku"] == HANDLES[0])["images"]}
    own = statuses[f"{shop.url}/img/own.jpg"][0]  # the other products show it too
    assert statuses == {f"{shop.url}/img/own.jpg": (own, None),
                        f"{other.url}/img/0.jpg": ("rejected", "internal-address"),
                        "http://169.254.169.254/latest/meta-data/x.jpg": ("rejected", "internal-address")}, statuses
    assert own in ("kept", "duplicate")
    assert other.paths == []  # not even its robots.txt


@pytest.mark.slow
def test_a_link_that_redirects_to_a_product_address_is_a_product_link(tmp_path):
    """A home page linking a product only by an old address (`/old/4`, 301 to the product page): the
    link was judged alone, so the product page, with no structured data, was read as any page and
    dropped with no word in the summary; linked directly, the same page was kept."""
    garment = (GARMENTS / "ruby_hoodie.jpg").read_bytes()
    product = ("<h1>슬랙스 바지</h1><p class='price'>판매가 : 35,000원</p>"
               "<table><tr><th>상품코드</th><td>KRP-004</td></tr></table><img src='/img/4.jpg'>")
    shop = FixtureShop(lambda base: {
        "/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain"),
        "/": html("<a href='/old/4'>new slacks</a>", lang="ko"),
        "/old/4": Page(b"", status=301, location="/product/detail.html?product_no=4"),
        "/product/detail.html?product_no=4": html(product, lang="ko", title="슬랙스 바지"),
        "/img/4.jpg": Page(garment, "image/jpeg"),
    })
    run, summary, products = _crawl(shop, shop.url + "/", tmp_path / "out")
    assert run.returncode == 0, _tail(run)
    assert [(p["sku"], p["price"], p["url"]) for p in products] == [
        ("KRP-004", 35000.0, shop.url + "/product/detail.html?product_no=4")]
