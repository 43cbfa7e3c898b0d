"""Chinese, Japanese and Korean shop pages: undeclared legacy encodings, list prices shown beside
sale prices by their labels, the currency a page's script implies, and Chinese skirt titles."""

from __future__ import annotations

import json

import pytest

from vtonkit.crawlers import evidence
from vtonkit.crawlers.evidence import page_text
from vtonkit.crawlers.extract import extract_product


def _undeclared_page(name: str, sku: str = "X1") -> str:
    """A product page with no charset and no language anywhere, as the prober's pages were."""
    ld = json.dumps({"@context": "https://schema.org", "@type": "Product", "name": name, "sku": sku,
                     "image": "/a.jpg", "offers": {"@type": "Offer", "price": "259", "priceCurrency": "CNY"}},
                    ensure_ascii=False)
    return (f"<html><head><title>{name}</title><script type='application/ld+json'>{ld}</script></head>"
            f"<body><h1>{name}</h1></body></html>")


@pytest.mark.parametrize(
    ("encoding", "name"),
    [
        ("gb18030", "直筒牛仔裤"),  # was read as Thai (cp874): 'ึฑอฒลฃืะฟใ'
        ("gbk", "百褶裙"),
        ("big5", "直筒牛仔褲"),  # was read as Korean (cp949): 'そ뎀ㆋ쩓옳'
        ("euc-kr", "와이드 팬츠"),
        ("shift_jis", "ワイドパンツ"),
        ("euc-jp", "綿の長袖シャツ"),
    ],
)
def test_an_undeclared_cjk_page_is_read_in_its_own_encoding(encoding, name):
    body = _undeclared_page(name).encode(encoding)
    assert name in page_text(body)
    item = extract_product(body, "http://127.0.0.1/p/1")
    assert item.title == name


@pytest.mark.parametrize(
    ("encoding", "shown"),
    [
        ("cp1252", "Don’t miss our “naïve” café skirt – it’s über schön"),
        ("cp1251", "Юбка плиссе с высокой талией"),
        ("cp874", "กางเกงยีนส์ขากว้าง"),  # decodes as GB18030: '∫о¨抡故膦摇情咬'
        ("cp874", "สีดำ"),  # two common Chinese characters in GB18030: too little to tell
    ],
)
def test_a_single_byte_page_is_not_taken_for_cjk(encoding, shown):
    """A Western page's accents and curly quotes pair with the next ASCII byte into CJK characters
    ("don’t" is "don稚" in cp932): alone between ASCII letters, they are no CJK text."""
    body = f"<html><body><p>{shown}</p></body></html>".encode(encoding)
    assert evidence.cjk_reading(body) is None


@pytest.mark.slow
def test_a_crawl_writes_undeclared_cjk_titles_readably(tmp_path):
    """In a crawl (`PageEncodingMiddleware`) the same pages reached catalog.jsonl garbled, with no note."""
    from tests.fixture_shops import Page
    from tests.test_crawlers_render import _crawl_shop

    pages = {"/p/gb": ("gb18030", "直筒牛仔裤"), "/p/big5": ("big5", "直筒牛仔褲")}

    def shop(base: str) -> dict:
        links = "".join(f"<a href='{path}'>x</a>" for path in pages)
        return {"/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain"),
                "/": Page(f"<html><body>{links}</body></html>".encode()),
                **{path: Page(_undeclared_page(name, path).encode(encoding), "text/html")
                   for path, (encoding, name) in pages.items()}}

    _, _, products, _, _ = _crawl_shop(shop, "generic", tmp_path, "--render", "never")
    assert sorted((p["title"], p["category"]) for p in products) == [("直筒牛仔裤", "lower"), ("直筒牛仔褲", "lower")]


_SHOP_PAGE = """<html{lang}><head><title>{title}</title></head><body><h1>{title}</h1>
<div class="price">{price}</div><p>{details}</p><div class="gallery"><img src="/img/cn1.jpg"></div></body></html>"""
_DETAILS = {"zh-Hans": "首页 &gt; 女装 &gt; 半身裙 商品编号：CN-SK-88 颜色：黑色 已售罄",
            "zh-Hant": "首頁 &gt; 女裝 &gt; 長褲 商品編號：TW-88 顏色：黑色", "ja": "品番：JP-88 カラー：ブラック"}


@pytest.mark.parametrize(
    ("lang", "title", "price", "encoding", "expected"),
    [
        ("", "高腰半身裙", "￥199.00", "gb18030", "CNY"),  # was JPY: only lang="zh-CN" made it CNY
        (' lang="zh-CN"', "高腰半身裙", "￥199.00", "gb18030", "CNY"),
        ("", "ワイドパンツ", "￥3,980", "shift_jis", "JPY"),  # kana: Japanese
        ("", "寬褲牛仔褲長褲", "NT$1,280", "big5", "TWD"),
        (' lang="zh-TW"', "寬褲", "$1,280", "utf-8", "TWD"),  # was USD
        ("", "寬褲牛仔褲長褲", "$1,280", "big5", "TWD"),  # traditional characters: Taiwan's dollar
        (' lang="zh-HK"', "寬褲", "HK$680", "utf-8", "HKD"),
        ("", "高腰半身裙", "$19.90", "utf-8", "USD"),
    ],
)
def test_the_currency_of_a_shared_symbol_follows_the_page_script(lang, title, price, encoding, expected):
    script = "ja" if encoding == "shift_jis" else "zh-Hant" if "褲" in title else "zh-Hans"
    page = _SHOP_PAGE.format(lang=lang, title=title, price=price, details=_DETAILS[script])
    item = extract_product(page.encode(encoding), "http://127.0.0.1/p/1")
    assert (item.title, item.currency) == (title, expected)


@pytest.mark.parametrize(
    ("lang", "shown", "expected"),
    [
        ("ko", '<table><tr><th>소비자가</th><td class="price">39,000원</td></tr>'
               '<tr><th>판매가</th><td class="price">27,300원</td></tr></table>', (27300.0, "KRW")),
        ("ko", '<div class="price">정가 39,000원 할인가 27,300원</div>', (27300.0, "KRW")),
        ("ko", '<ul class="info_list"><li><span>소비자가</span><span class="price">39,000원</span></li>'
               '<li><span>할인판매가</span><span class="price">27,300원 (11,700원 할인)</span></li></ul>', (27300.0, "KRW")),
        ("ja", '<dl><dt>定価</dt><dd class="price">¥5,990</dd><dt>販売価格</dt><dd class="price">¥2,990</dd></dl>',
         (2990.0, "JPY")),
        ("ja", '<div class="price">定価 ¥5,990 → 販売価格 ¥2,990</div>', (2990.0, "JPY")),
        ("zh-CN", '<div class="price">市场价：￥399.00</div><div class="price">本店价：￥199.00</div>', (199.0, "CNY")),
        ("zh-CN", '<div class="price">原价：<span>￥399.00</span> 促销价：<span class="promo">￥199.00</span></div>',
         (199.0, "CNY")),
        ("de", '<p><span>UVP</span> <span class="price">79,95 €</span></p><p class="price">49,95 €</p>', (49.95, "EUR")),
        ("en", '<div class="price">RRP £60.00 Our price £35.00</div>', (35.0, "GBP")),
        # a list price the page shows alone is the price
        ("ja", '<dl><dt>定価</dt><dd class="price">¥5,990</dd></dl>', (5990.0, "JPY")),
    ],
)
def test_a_list_price_shown_by_its_label_is_not_the_price(lang, shown, expected):
    """The list price came first: 39,000원, ¥5,990, ￥399 were taken for the price paid."""
    page = f'<html lang="{lang}"><head><title>T</title></head><body><h1>Wide pants</h1>{shown}<img src="/a.jpg"></body></html>'
    item = extract_product(page.encode(), "http://s.test/p/1")
    assert (item.price, item.currency) == expected


@pytest.mark.parametrize(
    ("title", "category"),
    [
        ("高腰裙", "lower"),  # was other: a --category lower crawl dropped it
        ("长裙", "lower"),
        ("長裙", "lower"),
        ("百褶裙", "lower"),
        ("法式碎花连衣裙", "dresses"),  # "裙" is in the dress word too: the dress stays a dress
        ("碎花連身裙", "dresses"),
        ("女童公主裙", "dresses"),
        ("大裙摆衬衫", "upper"),  # a shirt with a full hem
        ("真丝睡裙", "other"),  # a nightdress
    ],
)
def test_a_chinese_skirt_title_names_a_lower_garment(title, category):
    page = f'<html lang="zh-CN"><head><title>{title}</title></head><body><h1>{title}</h1>' \
           '<div class="price">￥199.00</div><img src="/a.jpg"></body></html>'
    assert extract_product(page.encode(), "http://s.test/p/1").category == category
