"""Fields read from the page around the product (`crawlers/page_fields.py`): pictures, colour and
audience, on the markup Magento's Luma theme and WooCommerce write, as probe shops showed them."""

from __future__ import annotations

import json
import subprocess

import pytest
from vtonkit.crawlers.extract import extract_product

from tests.fixture_shops import GARMENTS, FixtureShop, Page, html
from tests.test_crawlers_render import REPO, VTONKIT

SHOP = "http://127.0.0.1:9102"
MEDIA = f"{SHOP}/media/catalog/product"
CACHE = f"{MEDIA}/cache/9a7b3c/image"


def _luma_card(slug: str, title: str) -> str:
    """A product card of Luma's related, up-sell or cross-sell block, or of its listings."""
    return (f'<li class="item product product-item"><div class="product-item-info">'
            f'<a href="{SHOP}/{slug}.html" class="product photo product-item-photo">'
            f'<span class="product-image-container product-image-container-1501"><span class="product-image-wrapper">'
            f'<img class="product-image-photo" src="{CACHE}/240x300/e9c3/{slug[0]}/{slug[1]}/{slug}_main_0.jpg"'
            f' loading="lazy" width="240" height="300" alt="{title}"/></span></span></a>'
            f'<div class="product details product-item-details"><strong class="product name product-item-name">'
            f'<a class="product-item-link" href="{SHOP}/{slug}.html">{title}</a></strong>'
            f'<div class="price-box price-final_price"><span class="price">$45.00</span></div></div></div></li>')


def _luma_block(kind: str, caption: str) -> str:
    cards = "".join(_luma_card(slug, title) for slug, title in
                    [("relaxed-a-line-skirt", "Relaxed A-Line Skirt"), ("summer-pleated-midi-skirt", "Summer Pleated Midi Skirt")])
    return (f'<div class="block {kind}"><div class="block-title title"><strong>{caption}</strong></div>'
            f'<div class="block-content content"><ol class="products list items product-items">{cards}</ol></div></div>')


def _luma_gallery_init(slug: str, count: int = 2) -> str:
    """The `x-magento-init` script Luma's gallery widget draws the product's pictures from."""
    pictures = [{"thumb": f"{CACHE}/88x110/e9c3/{slug[0]}/{slug[1]}/{slug}_main_{i}.jpg",
                 "img": f"{CACHE}/700x700/e9c3/{slug[0]}/{slug[1]}/{slug}_main_{i}.jpg",
                 "full": f"{MEDIA}/{slug[0]}/{slug[1]}/{slug}_main_{i}.jpg",
                 "caption": "Tailored Pencil Skirt", "position": str(i + 1), "isMain": i == 0, "type": "image",
                 "videoUrl": None} for i in range(count)]
    init = {"[data-gallery-role=gallery-placeholder]": {"mage/gallery/gallery": {
        "mixins": ["magnifier/magnify"], "data": pictures, "options": {"nav": "thumbs", "width": 700}}}}
    return f'<script type="text/x-magento-init">{json.dumps(init)}</script>'


def _luma_page(*, og_image: bool = True, placeholder: bool = True, gallery: bool = True, colour_row: str = "",
               canonical: str = f"{SHOP}/tailored-pencil-skirt.html", blocks: str = "") -> str:
    """A Luma product page as Magento 2 writes it: microdata on the body, the price box, the
    gallery placeholder with its `x-magento-init` data, the "More Information" table, then a
    block of related products."""
    slug = "tailored-pencil-skirt"
    main = f"{CACHE}/700x700/e9c3/t/a/{slug}_main_0.jpg"
    head = (f'<link rel="canonical" href="{canonical}" /><meta property="og:type" content="product" />'
            '<meta property="og:title" content="Tailored Pencil Skirt" />'
            + (f'<meta property="og:image" content="{main}" />' if og_image else "")
            + f'<meta property="og:url" content="{canonical}" />'
            '<meta property="product:price:amount" content="20.65"/><meta property="product:price:currency" content="USD"/>')
    picture = f'<img alt="main product photo" class="gallery-placeholder__image" src="{main}" />' if placeholder else ""
    body = ('<div class="breadcrumbs"></div><script type="text/x-magento-init">{".breadcrumbs": {"breadcrumbs": '
            '{"categoryUrlSuffix": ".html", "useCategoryPathInUrl": 0, "product": "Tailored Pencil Skirt"}}}</script>'
            '<div class="columns"><div class="column main"><div class="product-info-main"><div class="page-title-wrapper product">'
            '<h1 class="page-title"><span class="base" data-ui-id="page-title-wrapper" itemprop="name">Tailored Pencil Skirt</span></h1></div>'
            '<div class="product-info-price"><div class="price-box price-final_price" data-role="priceBox">'
            '<span class="normal-price"><span class="price-container price-final_price tax weee" itemprop="offers" itemscope'
            ' itemtype="http://schema.org/Offer"><span id="product-price-1501" data-price-amount="20.65"'
            ' data-price-type="finalPrice" class="price-wrapper "><span class="price">$20.65</span></span>'
            '<meta itemprop="price" content="20.65" /><meta itemprop="priceCurrency" content="USD" /></span></span></div>'
            '<div class="product-info-stock-sku"><div class="stock available" title="Availability"><span>In stock</span></div>'
            '<div class="product attribute sku"><strong class="type">SKU</strong><div class="value" itemprop="sku">MA-1001-X</div>'
            '</div></div></div></div>'
            '<div class="product media"><div class="gallery-placeholder _block-content-loading"'
            f' data-gallery-role="gallery-placeholder">{picture}</div>{_luma_gallery_init(slug) if gallery else ""}</div>'
            '<div class="product info detailed"><div class="data item content" id="additional">'
            '<table class="data table additional-attributes" id="product-attribute-specs-table"><tbody>'
            '<tr><th class="col label" scope="row">Material</th><td class="col data" data-th="Material">Cotton</td></tr>'
            f'{colour_row}</tbody></table></div></div>'
            f'{blocks or _luma_block("related", "Related Products")}</div></div>')
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"/><title>Tailored Pencil Skirt</title>{head}</head>'
            '<body itemtype="http://schema.org/Product" itemscope="itemscope"'
            f' class="catalog-product-view product-{slug} page-layout-1column"><main id="maincontent" class="page-main">'
            f'{body}</main></body></html>')


# --- pictures: the product's own, never a related product's ------------------------------------

def test_luma_pictures_only_in_its_gallery_data_are_the_products():
    """A Luma product whose pictures are only in the gallery's `x-magento-init` data (no og:image, no
    placeholder `<img>`) was given the related products' thumbnails: Luma's cards are
    `product-image-container`s, which the gallery fallback took for the product's gallery."""
    item = extract_product(_luma_page(og_image=False, placeholder=False), f"{SHOP}/tailored-pencil-skirt.html")
    assert item.image_urls == [f"{MEDIA}/t/a/tailored-pencil-skirt_main_0.jpg",
                               f"{MEDIA}/t/a/tailored-pencil-skirt_main_1.jpg"]


def test_luma_with_og_image_gives_its_whole_gallery_at_full_size():
    """Stock Luma: og:image names the first shot only, a resized cache copy; the other gallery shots
    (where the garment shot the crawl keeps often is) were never fetched."""
    item = extract_product(_luma_page(), f"{SHOP}/tailored-pencil-skirt.html")
    assert item.image_urls == [f"{MEDIA}/t/a/tailored-pencil-skirt_main_0.jpg",
                               f"{MEDIA}/t/a/tailored-pencil-skirt_main_1.jpg"]


def test_luma_without_og_image_reads_its_gallery_not_the_related_products():
    """Stock Luma markup less og:image: the placeholder's picture came back with four related ones."""
    item = extract_product(_luma_page(og_image=False), f"{SHOP}/tailored-pencil-skirt.html")
    assert item.image_urls and all("tailored-pencil-skirt" in url for url in item.image_urls)


@pytest.mark.parametrize(("kind", "caption"), [("related", "Related Products"), ("upsell", "We found other products you might like!"),
                                               ("crosssell", "More Choices:"), ("you-may-also-like", "You may also like"),
                                               ("recently-viewed", "Recently Viewed")])
def test_gallery_images_in_other_products_blocks_are_not_the_products(kind, caption):
    """With neither gallery data nor og:image, only the gallery placeholder's picture is the product's:
    no card of a related, up-sell, cross-sell, "you may also like" or recently viewed block."""
    page = _luma_page(og_image=False, gallery=False, blocks=_luma_block(kind, caption))
    item = extract_product(page, f"{SHOP}/tailored-pencil-skirt.html")
    assert item.image_urls == [f"{CACHE}/700x700/e9c3/t/a/tailored-pencil-skirt_main_0.jpg"]


def test_a_carousel_gallery_is_still_the_products():
    """A carousel slides related products' cards as often as the product's own gallery: it alone
    does not make a gallery's pictures another product's."""
    gallery = ('<div class="product-gallery owl-carousel"><div class="product-image">'
               '<img src="/media/skirt-front.jpg"></div><div class="product-image"><img src="/media/skirt-back.jpg"></div></div>')
    page = (f'<html><head><meta property="og:type" content="product"><meta property="og:title" content="Pencil Skirt">'
            f'<meta property="product:price:amount" content="20"><meta property="product:price:currency" content="USD">'
            f'</head><body><h1>Pencil Skirt</h1>{gallery}</body></html>')
    item = extract_product(page, f"{SHOP}/pencil-skirt.html")
    assert item.image_urls == [f"{SHOP}/media/skirt-front.jpg", f"{SHOP}/media/skirt-back.jpg"]


# --- colour from an attribute table --------------------------------------------------------------

def test_luma_more_information_table_gives_the_colour():
    """Magento's "More Information" table (`<th>Color</th><td data-th="Color">Navy</td>`) gave no
    colour: only "Colour: Navy" with its colon was read."""
    row = '<tr><th class="col label" scope="row">Color</th><td class="col data" data-th="Color">Navy</td></tr>'
    item = extract_product(_luma_page(colour_row=row), f"{SHOP}/tailored-pencil-skirt.html")
    assert (item.colour, item.sources.get("colour")) == ("Navy", "html")


def _woo_page(attributes: str, form: str = "") -> str:
    """A WooCommerce product page: its product JSON-LD without a colour, the variations form, the
    "Additional information" tab."""
    ld = {"@context": "https://schema.org/", "@type": "Product", "name": "Essential Linen Shirt", "sku": "WO-1004-X",
          "image": "https://woo.example/wp-content/uploads/essential-linen-shirt.jpg",
          "offers": [{"@type": "Offer", "price": "39.00", "priceCurrency": "EUR", "availability": "http://schema.org/InStock"}]}
    return (f'<html lang="en"><head><script type="application/ld+json">{json.dumps(ld)}</script></head><body>'
            '<div id="product-1004" class="product type-product post-1004 instock"><div class="summary entry-summary">'
            f'<h1 class="product_title entry-title">Essential Linen Shirt</h1>{form}</div>'
            f'<div class="woocommerce-tabs"><div id="tab-additional_information">{attributes}</div></div></div></body></html>')


def _woo_attribute(value: str) -> str:
    return ('<table class="woocommerce-product-attributes shop_attributes"><tr class="woocommerce-product-attributes-item'
            ' woocommerce-product-attributes-item--attribute_pa_color"><th class="woocommerce-product-attributes-item__label">'
            f'Color</th><td class="woocommerce-product-attributes-item__value"><p>{value}</p></td></tr></table>')


def test_woocommerce_additional_information_gives_the_colour():
    item = extract_product(_woo_page(_woo_attribute("Red")), "https://woo.example/product/essential-linen-shirt/")
    assert item.colour == "Red"


def test_a_colour_chooser_or_a_list_of_colours_is_no_colour():
    """A variable product's chooser row (`<th><label>Color</label></th><td><select>`) and the list of
    its colours ("Red, Navy") name the colours on offer, not the product's."""
    chooser = ('<form class="variations_form cart"><table class="variations"><tr><th class="label"><label for="pa_color">'
               'Color</label></th><td class="value"><select id="pa_color" name="attribute_pa_color">'
               '<option value="">Choose an option</option><option value="red">red</option><option value="navy">navy</option>'
               '</select></td></tr></table></form>')
    item = extract_product(_woo_page(_woo_attribute("Red, Navy"), chooser), "https://woo.example/product/essential-linen-shirt/")
    assert item.colour is None


# --- gender: the canonical address first, then the one that reached the product ------------------

@pytest.mark.parametrize("url, expected", [(f"{SHOP}/tailored-pencil-skirt.html", None),
                                           (f"{SHOP}/women/bottoms-women/tailored-pencil-skirt.html", "women")])
def test_gender_from_the_address_that_reached_the_product_when_the_canonical_one_names_none(url, expected):
    """Magento serves a product at its category path and at its canonical address alike; only the
    category path says whom it is for, and that evidence is kept (reading the canonical address alone
    made both unknown)."""
    assert extract_product(_luma_page(), url).gender == expected


def test_gender_from_the_canonical_address_when_it_names_the_audience():
    page = _luma_page(canonical=f"{SHOP}/women/bottoms-women/tailored-pencil-skirt.html")
    assert extract_product(page, f"{SHOP}/tailored-pencil-skirt.html").gender == "women"


def _microdata_page(picture: str, *, head: str = "") -> str:
    """A product in microdata whose `itemprop="image"` is a lazy-loading `<img>` (`picture`)."""
    return (f'<!doctype html><html lang="en"><head><title>Pleated Skirt Grey</title>{head}</head><body>'
            '<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Pleated Skirt Grey</h1>'
            f'<meta itemprop="sku" content="SKU-C1"><div class="product-gallery">{picture}</div>'
            '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><meta itemprop="price" content="39.00">'
            '<meta itemprop="priceCurrency" content="EUR"><link itemprop="availability" href="https://schema.org/InStock">'
            '</div></div></body></html>')


@pytest.mark.parametrize(("picture", "expected"), [
    ('<img itemprop="image" src="/img/blank.gif" data-src="/img/c1.jpg" class="lazyload">', ["/img/c1.jpg"]),
    ('<img itemprop="image" src="/img/loading.svg" data-src="/img/c2.jpg" data-srcset="/img/c2.jpg 1200w">',
     ["/img/c2.jpg"]),
    ('<img itemprop="image" src="/img/loading.svg" data-srcset="/img/c2-600.jpg 600w, /img/c2-1200.jpg 1200w">',
     ["/img/c2-1200.jpg"]),
    ('<img itemprop="image" src="/img/spacer.png" srcset="/img/c3-400.jpg 400w, /img/c3-900.jpg 900w">',
     ["/img/c3-900.jpg"]),
    ('<img itemprop="image" src="/img/blank.gif" data-src="/img/front.jpg">'
     '<img itemprop="image" src="/img/blank.gif" data-src="/img/back.jpg">', ["/img/front.jpg", "/img/back.jpg"]),
    # a picture that is no placeholder stays as it is
    ('<img itemprop="image" src="/img/c4.jpg" data-src="/img/c4-large.jpg">', ["/img/c4.jpg"]),
])
def test_a_lazy_loaded_microdata_image_gives_the_picture_not_its_placeholder(picture, expected):
    """Microdata's image is the `<img>`'s `src`, on a lazy-loading page a blank.gif or loading.svg:
    the product kept no picture (too small, not an image) and had no catalog row, unnamed anywhere."""
    item = extract_product(_microdata_page(picture), f"{SHOP}/p/c1")
    assert item is not None and item.image_urls == [f"{SHOP}{path}" for path in expected]


def test_a_placeholder_that_loads_nothing_leaves_the_page_picture():
    """A placeholder whose `<img>` says nothing of its picture is no picture: the og:image is read."""
    item = extract_product(_microdata_page('<img itemprop="image" src="/img/blank.gif">',
                                           head=f'<meta property="og:image" content="{SHOP}/img/og.jpg">'),
                           f"{SHOP}/p/c1")
    assert item is not None and item.image_urls == [f"{SHOP}/img/og.jpg"]


def test_a_lazy_loaded_microdata_image_is_downloaded_and_kept(tmp_path):
    """The crawl downloads the real picture, not the placeholder, and keeps it (a catalog row)."""
    blank = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
             b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
    page = _microdata_page('<img itemprop="image" src="/img/blank.gif" data-src="/img/skirt.jpg" class="lazyload">')
    shop = FixtureShop(lambda base: {
        "/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain"),
        "/": html("<a href='/products/c1'>skirt</a>"),
        "/products/c1": Page(page.encode()),
        "/img/blank.gif": Page(blank, "image/gif"),
        "/img/skirt.jpg": Page((GARMENTS / "solidus_long_white.jpg").read_bytes(), "image/jpeg"),
    })
    try:
        run = subprocess.run([*VTONKIT, "crawl", "generic", "--out", str(tmp_path), "--url", shop.url, "--render",
                              "never", "--no-throttle"], capture_output=True, text=True, cwd=REPO, timeout=300,
                             check=False)
    finally:
        shop.stop()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    [product] = [json.loads(line) for line in (tmp_path / "products.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(i["url"], i["status"]) for i in product["images"]] == [(f"{shop.url}/img/skirt.jpg", "kept")], product
    assert "/img/blank.gif" not in shop.paths
