"""Products read from a page's application state (crawlers/page_state.py) through `extract_product`,
the spiders' own code path: no browser, no schema.org markup on the page."""

from __future__ import annotations

import json
import time

import pytest
from vtonkit.crawlers.extract import extract_product, is_product_page
from vtonkit.crawlers.page_state import names_the_page


def _next_page(title: str, data: dict | str, lang: str = "en", body: str = "") -> str:
    state = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return (f"<html lang='{lang}'><head><title>{title}</title><script id='__NEXT_DATA__' type='application/json'>"
            f"{state}</script></head><body><div id='__next'>{body}</div></body></html>")


def test_a_next_js_product_page_without_markup():
    """The page's product beside a related one whose name is part of the title: the page's wins."""
    data = {"props": {"pageProps": {
        "related": [{"name": "Midi skirt", "price": 30, "image": "/img/b.jpg"}],
        "product": {"id": 123, "name": "Pleated midi skirt", "sku": "PMS-01", "price": {"amount": 59.9, "currency": "EUR"},
                    "images": [{"url": "/img/a.jpg"}], "brand": {"name": "Acme"}}}}}
    item = extract_product(_next_page("Pleated midi skirt | Acme", data, body="<h1>Pleated midi skirt</h1>"),
                           "https://acme.example/p/pleated-midi-skirt")
    assert is_product_page(item) and item.sources["product"] == "page-state"
    assert (item.title, item.sku, item.price, item.currency, item.brand, item.category) == (
        "Pleated midi skirt", "PMS-01", 59.9, "EUR", "Acme", "lower")
    assert item.image_urls == ["https://acme.example/img/a.jpg"]


def test_a_listing_state_is_not_a_product():
    data = {"props": {"pageProps": {"products": [
        {"name": f"Skirt {n}", "price": 20 + n, "image": f"/img/{n}.jpg"} for n in range(10)]}}}
    assert extract_product(_next_page("Skirts | Acme", data), "https://acme.example/c/skirts") is None


def test_a_korean_app_shell_with_a_preloaded_state():
    """The sale price (what it costs now), the shop's own key names, an empty root element."""
    state = {"product": {"productName": "와이드 슬랙스", "salePrice": 39000, "consumerPrice": 49000,
                         "representImage": {"url": "https://cdn.example/slacks.jpg"}, "productCode": "WS-100"}}
    page = ("<html lang='ko'><head><title>와이드 슬랙스 : 샘플스토어</title></head><body><div id='root'></div>"
            f"<script>window.__PRELOADED_STATE__ = {json.dumps(state, ensure_ascii=False)};</script></body></html>")
    item = extract_product(page, "https://store.example/products/123")
    assert is_product_page(item)
    assert (item.title, item.sku, item.price, item.category) == ("와이드 슬랙스", "WS-100", 39000.0, "lower")
    assert item.image_urls == ["https://cdn.example/slacks.jpg"]


def test_a_state_assigned_through_json_parse():
    state = {"goods": {"goodsNm": "リネンシャツ", "price": "6,900", "currency": "JPY", "img": ["/g/1.jpg"]}}
    literal = json.dumps(json.dumps(state, ensure_ascii=False), ensure_ascii=False)  # a JS string literal
    page = ("<html lang='ja'><head><title>リネンシャツ｜ショップ</title></head><body><div id='app'></div>"
            f"<script>window.__INITIAL_STATE__ = JSON.parse({literal});</script></body></html>")
    item = extract_product(page, "https://shop.example/goods/1")
    assert is_product_page(item)
    assert (item.title, item.price, item.currency, item.category) == ("リネンシャツ", 6900.0, "JPY", "upper")


def test_schema_org_markup_still_decides_first():
    data = {"props": {"pageProps": {"product": {"name": "Wrap dress", "price": 1, "image": "/img/x.jpg"}}}}
    ld = {"@context": "https://schema.org", "@type": "Product", "name": "Wrap dress", "image": "/img/y.jpg",
          "offers": {"@type": "Offer", "price": 79, "priceCurrency": "EUR"}}
    page = _next_page("Wrap dress", data).replace(
        "</head>", f"<script type='application/ld+json'>{json.dumps(ld)}</script></head>")
    item = extract_product(page, "https://acme.example/p/wrap-dress")
    assert item.sources["product"] == "json-ld" and item.price == 79.0


def test_hostile_states_end_quickly_and_yield_nothing():
    deep = '{"child":' * 5000 + "{}" + "}" * 5000  # deeper than the JSON parser's recursion limit
    wide = '{"child":' * 900 + '{"name": "Tee", "price": 1, "image": "/t.jpg"}' + "}" * 900  # parsed, walked flat
    broken = "<script>window.__INITIAL_STATE__ = {\"product\": {\"name\": \"Tee\", </script>"
    started = time.perf_counter()
    for page in (_next_page("Tee", deep), f"<html><head><title>Tee</title></head><body>{broken}</body></html>",
                 _next_page("Tee", {"a": [[[[[]]]]] * 100_000})):
        assert extract_product(page, "https://shop.example/p/tee") is None
    assert extract_product(_next_page("Tee", wide), "https://shop.example/p/tee").title == "Tee"
    assert time.perf_counter() - started < 30  # generous: these took seconds-long walks to go wrong


def test_a_name_is_the_page_title_not_a_word_of_it():
    assert names_the_page("Pleated midi skirt", ["Pleated midi skirt | Acme"])
    assert names_the_page("花柄ワンピース", ["花柄ワンピース｜ショップ"])
    assert not names_the_page("Skirt", ["Skirts and dresses for summer | Acme"])
    assert not names_the_page("Midi skirt", ["Pleated midi skirt in washed cotton, made in Portugal | Acme"])


def _naver_page(product: dict) -> str:
    """Naver Smart Store: the product under `product.A` of a preloaded state with no currency, beside
    the store's best sellers; the page shows the price with its "원" split over spans."""
    state = {"product": {"A": product}, "bestProducts": {"A": {"simpleProducts": [
        {"id": "111", "name": "린넨 와이드 팬츠", "salePrice": 29000, "benefitsView": {"discountedSalePrice": 25000},
         "representativeImageUrl": "https://shop-phinf.pstatic.net/x/pants.jpg"}]}}}
    return ("<html lang='ko'><head><title>플라워 쉬폰 롱 A라인 : 데일리룩 스토어</title>"
            "<meta property='og:title' content='플라워 쉬폰 롱 A라인 : 데일리룩 스토어'></head><body><div id='root'>"
            "<h3 class='_22kNQuEXmb _copyable'>플라워 쉬폰 롱 A라인</h3><del class='VaZJPclpdJ'><span class='blind'>정상가"
            "</span><span class='_1LY7DqCnwR'>49,000</span>원</del><strong class='aICRqgP9zw'><span class='blind'>할인판매가"
            "</span><span class='_1LY7DqCnwR'>39,000</span><span class='won'>원</span></strong></div>"
            f"<script>window.__PRELOADED_STATE__={json.dumps(state, ensure_ascii=False)};</script></body></html>")


_NAVER_PRODUCT = {
    "id": "9876543210", "name": "플라워 쉬폰 롱 A라인", "salePrice": 49000, "discountedSalePrice": 39000,
    "productStatusType": "SALE", "channel": {"channelName": "데일리룩 스토어"},
    "category": {"categoryName": "원피스", "wholeCategoryName": "패션의류>여성의류>원피스"},
    "representImage": {"url": "https://shop-phinf.pstatic.net/a/dress.jpg", "imageType": "REPRESENTATIVE"},
    "productImages": [{"url": "https://shop-phinf.pstatic.net/a/dress.jpg"}, {"url": "https://shop-phinf.pstatic.net/a/back.jpg"}],
    "benefitsView": {"discountedSalePrice": 39000, "discountedRatio": 20},
}


@pytest.mark.parametrize(("changes", "availability"), [
    ({}, "InStock"),
    # the discounted price only in "benefitsView" (Naver's listings and some product states)
    ({"discountedSalePrice": None, "productStatusType": "OUTOFSTOCK"}, "OutOfStock"),
    ({"productStatusType": "SUSPENSION"}, "OutOfStock"),
])
def test_a_naver_smart_store_state(changes, availability):
    """The discounted price (what it costs now, not the 판매가 "salePrice"), in the won the page
    shows beside it; the category path, the sale status and every product image of the state."""
    product = {k: v for k, v in {**_NAVER_PRODUCT, **changes}.items() if v is not None}
    item = extract_product(_naver_page(product), "https://smartstore.naver.com/dailylook/products/9876543210")
    assert is_product_page(item) and item.sources["product"] == "page-state"
    assert (item.title, item.price, item.currency, item.category, item.availability) == (
        "플라워 쉬폰 롱 A라인", 39000.0, "KRW", "dresses", availability)
    assert item.image_urls == ["https://shop-phinf.pstatic.net/a/dress.jpg", "https://shop-phinf.pstatic.net/a/back.jpg"]


@pytest.mark.parametrize(("search_info", "brand"), [
    ({"brandName": "데일리룩", "manufacturerName": "한빛섬유"}, "데일리룩"),
    ({"brandName": "", "manufacturerName": "한빛섬유"}, "한빛섬유"),  # the manufacturer only when no brand
])
def test_a_naver_brand_inside_its_shopping_search_info(search_info, brand):
    """Naver writes the brand nowhere but in the product's "naverShoppingSearchInfo"."""
    product = {**_NAVER_PRODUCT, "naverShoppingSearchInfo": search_info}
    item = extract_product(_naver_page(product), "https://smartstore.naver.com/dailylook/products/9876543210")
    assert (item.brand, item.sources["brand"]) == (brand, "page-state")


@pytest.mark.parametrize("placeholder", ["상세페이지 참조", "상세설명참조", "상품 상세 참고", "해당없음", "(상세정보 참조)"])
def test_a_sellers_see_the_detail_page_is_no_brand(placeholder):
    """Naver sellers fill the notice fields they skip with "see the detail page": no brand, and a
    brand label in the page comes next."""
    product = {**_NAVER_PRODUCT, "naverShoppingSearchInfo": {"brandName": "", "manufacturerName": placeholder}}
    item = extract_product(_naver_page(product), "https://smartstore.naver.com/dailylook/products/9876543210")
    assert item.brand is None and "brand" not in item.sources
    labelled = _naver_page(product).replace("</body>", "<table><tr><th>브랜드</th><td>데일리룩</td></tr></table></body>")
    item = extract_product(labelled, "https://smartstore.naver.com/dailylook/products/9876543210")
    assert (item.brand, item.sources["brand"]) == ("데일리룩", "html")


def _musinsa_page(title: str, **changes) -> str:
    """Musinsa: the product nested in `pageProps.meta.data`, its prices in one object, its category
    as named levels, beside recommended goods."""
    goods = {"goodsNo": 3470432, "goodsNm": "베이식 릴렉스 핏 [오트밀]", "brand": "musinsastandard",
             "brandInfo": {"brandName": "무신사 스탠다드"},
             "thumbnailImageUrl": "/images/goods_img/3470432_500.jpg",  # on the CDN of the og:image
             "goodsImages": [{"imageUrl": "/images/prd_img/detail_3470432_500.jpg"}],
             "goodsPrice": {"normalPrice": 39900, "salePrice": 29900, "discountRate": 25, "couponPrice": 0},
             "category": {"categoryDepth1Code": "001", "categoryDepth1Name": "상의", "categoryDepth2Code": "001005",
                          "categoryDepth2Name": "맨투맨/스웨트셔츠"}, **changes}
    data = {"props": {"pageProps": {"meta": {"data": goods}, "recommendGoods": [
        {"goodsName": "릴렉스 후드 집업", "price": 49900, "imageUrl": "/images/goods_img/111_500.jpg"}]}},
        "page": "/products/[goodsNo]", "query": {"goodsNo": "3470432"}}
    body = ('<span class="text-body_13px_reg line-through">39,900원</span>'
            '<span class="text-title_18px_semi text-black">29,900원</span>')
    og_image = '<meta property="og:image" content="https://image.msscdn.net/images/goods_img/3470432_500.jpg">'
    return _next_page(title, data, lang="ko", body=body).replace("</head>", f"{og_image}</head>")


@pytest.mark.parametrize("title", ["베이식 릴렉스 핏 [오트밀] | 무신사",
                                   "무신사 스탠다드 베이식 릴렉스 핏 [오트밀] - 사이즈 &amp; 후기 | 무신사"])
def test_a_musinsa_next_data_product(title):
    """The title adds the brand and "- 사이즈 & 후기" before the shop's name."""
    item = extract_product(_musinsa_page(title), "https://www.musinsa.com/products/3470432")
    assert is_product_page(item) and item.sources["product"] == "page-state"
    assert (item.title, item.brand, item.price, item.currency, item.category) == (
        "베이식 릴렉스 핏 [오트밀]", "무신사 스탠다드", 29900.0, "KRW", "upper")
    assert item.image_urls == ["https://image.msscdn.net/images/goods_img/3470432_500.jpg",
                               "https://image.msscdn.net/images/prd_img/detail_3470432_500.jpg"]


@pytest.mark.parametrize(("sex", "gender"), [
    ("M", "men"), ("F", "women"), ("남성", "men"), ("여성", "women"), ("공용", "unisex"), (["M", "F"], "unisex"),
])
def test_a_musinsa_audience_and_final_price(sex, gender):
    """Musinsa's "sex" is the audience, its "finalPrice" what the buyer pays (below the 판매가 "salePrice")."""
    prices = {"normalPrice": 39900, "salePrice": 29900, "finalPrice": 26900, "discountRate": 33}
    item = extract_product(_musinsa_page("베이식 릴렉스 핏 [오트밀] | 무신사", sex=sex, goodsPrice=prices),
                           "https://www.musinsa.com/products/3470432")
    assert (item.gender, item.price) == (gender, 26900.0)


def test_a_name_is_one_part_of_a_title_that_adds_more_than_the_shops_name():
    assert names_the_page("베이식 릴렉스 핏", ["무신사 스탠다드 베이식 릴렉스 핏 - 사이즈 & 후기 | 무신사"])
    assert not names_the_page("Midi skirt", ["Pleated midi skirt in washed cotton - Sale | Acme"])
