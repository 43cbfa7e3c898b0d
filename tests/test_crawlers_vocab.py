"""The shop vocabularies (crawlers/vocab/*.toml): one check per word class and language, the
loader's errors, and Korean/Japanese/Chinese pages read end to end by `extract_product`.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from vtonkit.crawlers.categories import category_of_text, normalise_category
from vtonkit.crawlers.extract import extract_product
from vtonkit.crawlers.page_fields import gender_of_text
from vtonkit.crawlers.vocab import (
    VocabularyError,
    language_of,
    load_vocabulary,
    vocabularies,
)

LANGUAGES = sorted(vocabularies())
CJK = ("ko", "ja", "zh-Hans", "zh-Hant")


def test_every_language_has_its_file_and_cjk_is_complete():
    assert {"en", "de", "fr", "es", "it", "ko", "ja", "zh-Hans", "zh-Hant"} <= set(LANGUAGES)
    for language in CJK:
        vocab = vocabularies()[language]
        assert {"upper", "lower", "dresses"} <= set(vocab.categories) <= {"upper", "lower", "dresses", "other"}, language
        assert set(vocab.genders) == {"women", "men", "kids", "unisex"}, language
        assert vocab.sku_labels and vocab.colour_labels and vocab.out_of_stock, language


@pytest.mark.parametrize("language", LANGUAGES)
def test_category_words_name_their_category(language):
    for category, words in vocabularies()[language].categories.items():
        for word in words:
            assert category_of_text(f"{word}", language) == category, (language, word)


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if vocabularies()[lang].genders])
def test_gender_words_name_their_audience(language):
    for gender, words in vocabularies()[language].genders.items():
        for word in words:
            assert gender_of_text(f"Home > {word} > x") == gender, (language, word)


@pytest.mark.parametrize(
    ("language", "title", "category"),
    [
        ("zh-Hans", "法式高腰百褶裙", "lower"),  # a skirt: "裙" alone says skirt or dress
        ("zh-Hans", "真丝吊带裙", "dresses"),
        ("zh-Hans", "牛仔背心裙", "dresses"),  # a pinafore, though "背心" alone is a vest
        ("zh-Hans", "纯棉吊带背心", "upper"),
        ("zh-Hant", "高腰A字裙", "lower"),
        ("zh-Hant", "碎花吊帶裙", "dresses"),
        ("ja", "ストレッチチノパン", "lower"),
        ("ko", "린넨 와이드 슬랙스", "lower"),
    ],
)
def test_cjk_product_titles(language, title, category):
    assert normalise_category(title=title, language=language) == category


@pytest.mark.parametrize(
    ("language", "title", "category"),
    [
        # "Jeans" as a brand's word, a fabric or a designer's first name is not the garment
        ("en", "Tommy Jeans badge logo hoodie", "upper"),
        ("en", "Calvin Klein Jeans Monogram T-Shirt", "upper"),
        ("it", "Giacca di jeans", "upper"),
        ("pt", "Jaqueta Jeans Oversized", "upper"),
        ("es", "Camisa jeans", "upper"),
        ("en", "Slim fit jeans", "lower"),
        ("en", "Skinny jeans with topstitching", "lower"),
        ("fr", "Short en jean", "lower"),
        ("en", "Short wool coat", "upper"),
        # one-word compounds and words the tables lacked
        ("en", "Satin Minidress", "dresses"),
        ("en", "Linen Shirtdress", "dresses"),
        ("en", "Hooded Raincoat", "upper"),
        ("en", "Puffer Vest", "upper"),
        ("it", "Pantaloncini in lino", "lower"),
        ("es", "Minifalda de punto", "lower"),
        ("es", "Pantalón de lino", "lower"),
        ("nl", "Spijkerbroek met wijde pijpen", "lower"),
        ("nl", "Gebloemde zomerjurk", "dresses"),
        ("da", "Strikcardigan i uld", "upper"),
        ("de", "Plissee-Rock aus Satin", "lower"),
        ("de", "Punk-Rock T-Shirt", "upper"),
        ("en", "Laptop sleeve", None),
        ("en", "Jean Paul Gaultier", None),
        # Chinese dresses named after a top, Japanese pinafore dresses, Korean shorts, Vietnamese
        ("zh-Hans", "纯棉衬衫裙", "dresses"),
        ("zh-Hans", "宽松T恤裙", "dresses"),
        ("zh-Hant", "針織毛衣裙", "dresses"),
        ("ja", "コーデュロイジャンパースカート", "dresses"),
        ("ko", "린넨 숏츠", "lower"),
        ("vi", "Đầm suông cổ vuông", "dresses"),
        ("vi", "Áo thun nữ basic", "upper"),
        ("vi", "Quần jean ống rộng", "lower"),
        ("vi", "Chân váy xếp ly", "lower"),
    ],
)
def test_titles_name_their_garment(language, title, category):
    assert category_of_text(title, language) == category


def _page(body: str, lang: str = "", head: str = "") -> str:
    lang_attr = f' lang="{lang}"' if lang else ""
    return f"<!doctype html><html{lang_attr}><head>{head}</head><body>{body}</body></html>"


SKU_SAMPLES = {
    "en": ("Article number: AB-1234", "AB-1234"),
    "de": ("Artikelnummer: 4711-01", "4711-01"),
    "fr": ("Référence : FR-5521", "FR-5521"),
    "ko": ("상품코드 SH-24-DB02", "SH-24-DB02"),
    "ja": ("品番：24-JP-0012", "24-JP-0012"),
    "zh-Hans": ("商品编号：CN-1001", "CN-1001"),
    "zh-Hant": ("型號 TW-3003", "TW-3003"),
}


@pytest.mark.parametrize("language", sorted(SKU_SAMPLES))
def test_sku_labels_find_the_visible_reference(language):
    text, sku = SKU_SAMPLES[language]
    head = '<meta property="og:type" content="product"><meta property="product:price:amount" content="10">'
    item = extract_product(_page(f"<h1>x</h1><p>{text}</p>", language, head), "https://shop.example/p/1")
    assert item is not None and item.sku == sku


@pytest.mark.parametrize("label", ["모델명", "자체상품코드", "상품번호"])
def test_korean_shops_label_their_code_in_several_ways(label):
    head = '<meta property="og:type" content="product"><meta property="product:price:amount" content="39000">'
    body = f"<h2>와이드 팬츠</h2><table><tr><th>{label}</th><td>DP-2401-BK</td></tr></table>"
    assert extract_product(_page(body, "ko", head), "https://mall.example/goods/1").sku == "DP-2401-BK"


@pytest.mark.parametrize(
    ("language", "shown", "brand"),
    [
        ("ko", "<table><tr><th>브랜드</th><td>무신사 스탠다드</td></tr></table>", "무신사 스탠다드"),
        ("ja", "<dl><dt>ブランド</dt><dd>ユニクロ</dd></dl>", "ユニクロ"),
        ("zh-Hans", "<p>品牌：优衣库</p>", "优衣库"),
        ("en", "<table><tr><th>Brand:</th><td>Acme Denim</td></tr></table>", "Acme Denim"),
        ("en", "<p>Brand new season styles</p>", None),  # the word, not a label
    ],
)
def test_a_brand_beside_its_label_is_read(language, shown, brand):
    head = '<meta property="og:type" content="product"><meta property="product:price:amount" content="39000">'
    item = extract_product(_page(f"<h2>x</h2>{shown}", language, head), "https://mall.example/goods/1")
    assert item.brand == brand


@pytest.mark.parametrize("language", CJK + ("en", "de"))
def test_sold_out_and_colour_labels_are_read(language):
    vocab = vocabularies()[language]
    body = (
        f"<h1>x</h1><button class='add-to-cart'>{vocab.out_of_stock[0]}</button>"
        f"<p>{vocab.colour_labels[0].replace('?', '')}: Navy</p>"
        "<span class='price'>10,00 €</span>"
    )
    head = '<meta property="og:type" content="product">'
    item = extract_product(_page(body, language, head), "https://shop.example/p/1")
    assert item.availability == "OutOfStock" and item.colour == "Navy", language
    # the same button captioned to buy: the product can be ordered (an enabled buy button is evidence)
    in_stock = extract_product(_page(body.replace(vocab.out_of_stock[0], "Add to cart"), language, head))
    assert in_stock.availability == "InStock"
    unknown = extract_product(_page(body.replace(vocab.out_of_stock[0], "Size guide"), language, head))
    assert unknown.availability is None


def test_page_language_rules_out_false_friends():
    assert normalise_category(title="Robe longue", language="fr") == "dresses"
    assert normalise_category(title="Robe longue") == "dresses"  # no language declared
    assert normalise_category(title="Waffle robe", language="en") == "other"
    assert normalise_category(title="Sheer hose", language="en") == "other"
    assert language_of("ko-KR") == "ko" and language_of("zh-TW") == "zh-Hant"
    assert language_of("zh-CN") == "zh-Hans" and language_of("ja") == "ja" and language_of(None) is None


def test_korean_page_breadcrumb_title_and_code():
    """The issue's example: a Korean-only page with a visible trail and a "상품코드"."""
    body = """<nav class="breadcrumb"><a href="/">홈 › 하의 › 바지</a></nav>
      <h1>와이드 데님 버뮤다 팬츠</h1><span class="price">39,000원</span>
      <dl><dt>상품코드</dt><dd>SH-24-DB02</dd><dt>색상</dt><dd>: 블루</dd></dl>"""
    head = '<meta property="og:type" content="product"><meta property="og:title" content="와이드 데님 버뮤다 팬츠">'
    item = extract_product(_page(body, "ko", head), "https://mall.example/goods/view?no=881")
    assert (item.category, item.sku) == ("lower", "SH-24-DB02")
    assert item.breadcrumbs == ["홈", "하의", "바지"]
    assert (item.price, item.currency) == (39000.0, "KRW")  # the page shows only "39,000원"


@pytest.mark.parametrize(
    ("lang", "shown", "expected"),
    [
        ("zh-CN", "¥299", (299.0, "CNY")),  # the yuan sign is the yen sign
        ("zh-CN", "299元", (299.0, "CNY")),  # price-parser finds no currency here: the price was lost
        ("zh-TW", "NT$1,280", (1280.0, "TWD")),
        ("ja", "3,300円(税込)", (3300.0, "JPY")),
        ("ja", "¥3,300", (3300.0, "JPY")),
        ("ko", "2만9천원", (29000.0, "KRW")),  # was 2.0
    ],
)
def test_visible_cjk_prices_without_structured_data(lang, shown, expected):
    head = '<meta property="og:type" content="product">'
    body = f'<h1>Wide pants</h1><span class="price">{shown}</span>'
    item = extract_product(_page(body, lang, head), "https://shop.example/item/7")
    assert (item.price, item.currency) == expected


def test_breadcrumb_schema_decides_over_the_title_in_chinese():
    crumbs = {
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": 1, "name": "首页"},
            {"@type": "ListItem", "position": 2, "name": "女装"},
            {"@type": "ListItem", "position": 3, "name": "连衣裙"},
        ],
    }
    product = {"@type": "Product", "name": "法式碎花长款", "offers": {"price": "299", "priceCurrency": "CNY"}}
    scripts = "".join(
        f'<script type="application/ld+json">{json.dumps(x, ensure_ascii=False)}</script>'
        for x in (crumbs, product)
    )
    item = extract_product(_page("<p>货号：CN-88-01</p>", "zh-CN", scripts), "https://shop.example.cn/item/9")
    assert (item.category, item.gender, item.sku, item.price, item.currency) == (
        "dresses",
        "women",
        "CN-88-01",
        299.0,
        "CNY",
    )


def test_a_broken_vocabulary_file_is_named(tmp_path):
    bad = tmp_path / "xx.toml"
    bad.write_text('[categories]\nshoes = ["boot"]\n', encoding="utf-8")
    with pytest.raises(VocabularyError, match="xx.toml.*unknown category key 'shoes'"):
        load_vocabulary(bad)
    bad.write_text("[categories\n", encoding="utf-8")
    with pytest.raises(VocabularyError, match="xx.toml"):
        load_vocabulary(bad)
    bad.write_text('[categories]\nlower = ["rok"]\nambiguous = ["rock"]\n', encoding="utf-8")
    with pytest.raises(VocabularyError, match="ambiguous word 'rock' is none of this file's garment words"):
        load_vocabulary(bad)
    bad.write_text('[genders]\nwomen = "damen"\n', encoding="utf-8")
    with pytest.raises(VocabularyError, match="genders.women must be a list"):
        load_vocabulary(bad)


_LEGACY_PAGE = """<html lang="{lang}"><head>{declaration}<meta property="og:type" content="product">
<title>{title}</title></head><body><h1>{title}</h1><span class="price">{price}</span>
<table><tr><th>{label}</th><td>SH-24-DB02</td></tr></table></body></html>"""


@pytest.mark.parametrize(
    ("lang", "encoding", "declared", "title", "price", "label", "expected"),
    [
        ("ko", "euc-kr", True, "와이드 데님 버뮤다 팬츠", "39,000원", "상품코드", (39000.0, "KRW")),
        ("ko", "cp949", False, "와이드 데님 버뮤다 팬츠", "39,000원", "상품코드", (39000.0, "KRW")),
        ("ja", "shift_jis", False, "ワイドデニムパンツ", "3,300円", "品番", (3300.0, "JPY")),
        ("zh-CN", "gbk", True, "阔腿牛仔裤", "￥299", "货号", (299.0, "CNY")),
        ("zh-TW", "big5", False, "寬褲牛仔褲長褲", "NT$1,280", "商品編號", (1280.0, "TWD")),
    ],
)
def test_saved_pages_in_legacy_cjk_encodings(lang, encoding, declared, title, price, label, expected):
    """Saved pages are bytes: read as UTF-8 these titles were U+FFFD and the price and code were lost."""
    declaration = f'<meta http-equiv="Content-Type" content="text/html; charset={encoding}">' if declared else ""
    page = _LEGACY_PAGE.format(lang=lang, declaration=declaration, title=title, price=price, label=label)
    item = extract_product(page.encode(encoding), "https://shop.example/item/7")
    assert (item.title, item.sku, item.category) == (title, "SH-24-DB02", "lower")
    assert (item.price, item.currency) == expected


def test_extract_product_cli_reads_an_euc_kr_page(tmp_path):
    page = tmp_path / "goods.html"
    page.write_bytes(_LEGACY_PAGE.format(
        lang="ko", declaration='<meta charset="euc-kr">', title="린넨 셔츠 원피스", price="59,000원",
        label="상품코드").encode("euc-kr"))
    run = subprocess.run([sys.executable, "-m", "vtonkit", "extract-product", str(page)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    product = json.loads(run.stdout)
    assert (product["title"], product["price"], product["currency"], product["category"]) == (
        "린넨 셔츠 원피스", 59000.0, "KRW", "dresses")


def test_load_more_captions_are_one_pattern_for_python_and_the_browser():
    """The in-page script runs the same pattern as a JavaScript RegExp: keep to the common syntax."""
    import re

    from vtonkit.crawlers.render import load_more_pattern

    pattern = re.compile(load_more_pattern(), re.IGNORECASE)
    for caption in ("Load more", "SHOW MORE", "상품 더보기", "더보기 +", "もっと見る", "加载更多", "載入更多",
                    "Mehr laden", "Voir plus", "Cargar más", "Показать ещё", "Daha fazla göster"):
        assert pattern.search(caption), caption
    for caption in ("Add to cart", "More info", "Sold out", "품절"):
        assert not pattern.search(caption), caption
    python_only = re.compile(r"\(\?P|\(\?<[=!]|\(\?[aiLmsux]|\\[AZ]")  # named groups, look-behind, flags
    for language, vocab in vocabularies().items():
        for label in vocab.load_more_labels + vocab.next_page_labels:
            assert not python_only.search(label), (language, label)


def test_next_page_captions_match_whole_captions_only():
    import re

    from vtonkit.crawlers.render import next_page_pattern

    pattern = re.compile(next_page_pattern(), re.IGNORECASE)
    for caption in ("Next", "next page", "Next »", "다음", "다음 페이지 ›", "次へ", "下一页", "下一頁", "Weiter",
                    "Nächste Seite", "Suivant", "Siguiente", "Далее"):
        assert pattern.search(caption), caption
    for caption in ("Next-day delivery", "Page 2", "다음 상품 보기", "Add to cart"):
        assert not pattern.search(caption), caption


BUY_CAPTIONS = {
    "ar": "أضف إلى الحقيبة", "cs": "Vložit do košíku", "da": "Læg i kurv", "de": "In den Warenkorb", "en": "Add to bag", "es": "Añadir a la cesta",
    "fr": "Ajouter au panier", "it": "Aggiungi al carrello", "ja": "カートに入れる", "ko": "장바구니 담기",
    "nl": "In winkelwagen", "pl": "Dodaj do koszyka", "pt": "Adicionar ao carrinho", "ru": "Добавить в корзину",
    "sk": "Pridať do košíka", "sv": "Lägg i varukorgen", "tr": "Sepete ekle", "vi": "Thêm vào giỏ hàng", "zh-Hans": "加入购物车", "zh-Hant": "加入購物車",
}


@pytest.mark.parametrize("language", sorted(BUY_CAPTIONS))
def test_every_language_has_buy_button_captions(language):
    """Each vocabulary's [availability] buy captions make a page without structured availability
    InStock by its enabled buy button; the same caption greyed out (disabled) says nothing."""
    assert set(BUY_CAPTIONS) == set(vocabularies()) and vocabularies()[language].buy, language
    head = '<meta property="og:type" content="product"><meta property="product:price:amount" content="10">'
    button = f"<h1>x</h1><button type='submit'>{BUY_CAPTIONS[language]}</button>"
    assert extract_product(_page(button, language, head), "https://shop.example/p/1").availability == "InStock"
    greyed = button.replace("<button ", "<button disabled ")
    assert extract_product(_page(greyed, language, head), "https://shop.example/p/1").availability is None
