"""Price and currency normalisation (price-parser for the amount, ISO 4217 for the currency)."""

from __future__ import annotations

import logging
import math
import re
import unicodedata

from price_parser import Price

logger = logging.getLogger(__name__)

# Symbols that name one currency unambiguously enough for a shop page ("$" alone is USD by
# convention; a shop in another dollar zone states its code in structured data anyway).
SYMBOL_TO_ISO = {
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "$": "USD",
    "us$": "USD",
    "usd": "USD",
    "a$": "AUD",
    "au$": "AUD",
    "c$": "CAD",
    "ca$": "CAD",
    "nz$": "NZD",
    "hk$": "HKD",
    "s$": "SGD",
    "r$": "BRL",
    "mx$": "MXN",
    "円": "JPY",
    "日元": "JPY",
    "人民币": "CNY",
    "rmb": "CNY",
    "yuan": "CNY",
    "yen": "JPY",
    "ntd": "TWD",
    "nt$": "TWD",
    "新台幣": "TWD",
    "台幣": "TWD",
    "港幣": "HKD",
    "港币": "HKD",
    "港元": "HKD",
    "美元": "USD",
    "欧元": "EUR",
    "歐元": "EUR",
    "원": "KRW",
    "won": "KRW",
    "đ": "VND",
    "vnđ": "VND",
    "rp": "IDR",
    "rp.": "IDR",
    "rm": "MYR",
    "₹": "INR",
    "rs": "INR",
    "rs.": "INR",
    "₩": "KRW",
    "₽": "RUB",
    "руб": "RUB",
    "руб.": "RUB",
    "₺": "TRY",
    "tl": "TRY",
    "zł": "PLN",
    "zl": "PLN",
    "kč": "CZK",
    "kc": "CZK",
    "ft": "HUF",
    "lei": "RON",
    "chf": "CHF",
    "fr.": "CHF",
    "₪": "ILS",
    "₫": "VND",
    "฿": "THB",
    "บาท": "THB",
    "php": "PHP",
    "₱": "PHP",
    "ر.س": "SAR",
    "ر.س.": "SAR",
    "ريال": "SAR",
    "sr": "SAR",
    "د.إ": "AED",
    "د.إ.": "AED",
    "درهم": "AED",
    "aed": "AED",
    "د.ك": "KWD",
    "ر.ق": "QAR",
    "د.ب": "BHD",
    "ر.ع.": "OMR",
    "ج.م": "EGP",
    "e£": "EGP",
    "kd": "KWD",
    "bd": "BHD",
    "jd": "JOD",
    "₴": "UAH",
    "грн": "UAH",
    "₦": "NGN",
    "₸": "KZT",
    "৳": "BDT",
    "s/": "PEN",
    "s/.": "PEN",
}
# Currencies with three decimals: "24.500" KWD is 24.5 and "1,250.500" 1250.5, where the text
# reading takes a last group of three digits for thousands ("249.000" IDR is 249,000).
THREE_DECIMALS = frozenset({"KWD", "BHD", "OMR", "JOD", "TND", "LYD", "IQD"})
# Currencies that write "$" too: a page showing "COP $129.900" names its currency beside the sign.
DOLLAR_CODES = frozenset({"USD", "AUD", "CAD", "NZD", "HKD", "SGD", "TWD", "MXN", "ARS", "CLP", "COP", "UYU",
                          "BRL", "JMD", "TTD", "BSD", "BBD", "FJD", "LRD", "NAD", "SBD", "SRD", "XCD"})
_THOUSANDTHS = re.compile(r"(?<![\d.,])(\d{1,3}(?:([.,\s])\d{3})*?)([.,])(\d{3})(?![\d.,])")
# Symbols several currencies write: (the currency without other evidence, {page language: currency}).
# An ISO code from the page's structured data or the store's config decides before either.
SHARED_SYMBOLS: dict[str, tuple[str | None, dict[str, str]]] = {
    # Taiwan prices in New Taiwan dollars written "$1,280"; Hong Kong shops write "HK$" (SYMBOL_TO_ISO)
    "$": ("USD", {"zh-Hant": "TWD"}),
    "¥": ("JPY", {"zh": "CNY"}),  # the yen and the yuan
    "￥": ("JPY", {"zh": "CNY"}),
    "元": ("CNY", {"zh-Hant": "TWD"}),  # the yuan, and in Taiwan the New Taiwan dollar
    "kr": (None, {"sv": "SEK", "da": "DKK", "nb": "NOK", "no": "NOK", "is": "ISK"}),
}
_ISO = re.compile(r"^[A-Z]{3}$")
# A price is a short text; a hostile page's megabyte "price" would cost the number searches
# quadratic time (10,000 digits: seconds), so only its start is read.
MAX_PRICE_TEXT = 200
# Symbols price-parser does not find by itself ("299元", "39,000원"): looked for in the text, longest first.
_WRITTEN_SYMBOLS = sorted((k for k in {**SYMBOL_TO_ISO, **SHARED_SYMBOLS} if not k.isascii()), key=len, reverse=True)
# CJK number units: "2만9천원" is 29,000 won, "1.5万円" 15,000 yen.
_CJK_UNITS = {"억": 10**8, "億": 10**8, "亿": 10**8, "만": 10**4, "萬": 10**4, "万": 10**4, "천": 10**3, "千": 10**3}
_CJK_TERM = re.compile(r"(\d+(?:\.\d+)?)\s*([억億亿만萬万천千])")
# Japanese shops show the price before tax beside the one with it ("¥3,000(税抜) ¥3,300(税込)");
# the customer pays the one marked 税込 (tax included).
_TAX_INCLUDED = re.compile(r"(\d[\d,]*)\s*円?\s*[（(]\s*税込\s*[)）]|税込[^\d]{0,6}?(\d[\d,]*)")
_FIRST_NUMBER = re.compile(r"\d[\d,.]*\s*([억億亿만萬万천千])?")
_CJK_AMOUNT = re.compile(r"(?:\d+(?:\.\d+)?\s*[억億亿만萬万천千]\s*)+(?:\d[\d,]*)?")
# Arabic shops write U+066B for the decimal point and U+066C between thousands ("١٬٢٣٤٫٥٠"), which
# price-parser stops at; as "." and ",", with "." named the decimal point when U+066B was (it is
# never a thousands dot, unlike "12.500").
_ARABIC_DECIMAL = "\u066b"
_ARABIC_SEPARATORS = str.maketrans({_ARABIC_DECIMAL: ".", "\u066c": ","})
# What continues a number price-parser read part-way: an exponent ("1e3", "1e309") or a digit
# separator ("1_000"), read as 1. No shop shows a price so; such a text is refused, not truncated.
_NUMBER_GOES_ON = re.compile(r"(?:[eE][+-]?|_)\d")


def _is_iso(code: str | None) -> bool:
    return bool(code) and bool(_ISO.match(str(code).strip()))


def currency_code(value: str | None, language: str | None = None) -> str | None:
    """ISO 4217 code for a code or symbol ("€" -> "EUR", "eur" -> "EUR"); unknown symbols pass through.

    `language` (the page's, "zh-Hans", "ja", "sv", ...) settles a symbol several currencies write:
    "¥" is CNY on a Chinese page and JPY otherwise, "$" TWD on a traditional-Chinese page.
    """
    if not value:
        return None
    text = str(value).strip()
    shared = SHARED_SYMBOLS.get(text.lower())
    if shared is not None:
        default, by_language = shared
        base = (language or "").split("-")[0].lower()
        return by_language.get(language or "") or by_language.get(base) or default or text
    if text.lower() in SYMBOL_TO_ISO:  # before the ISO shape: "RMB" and "NTD" look like codes but are not
        return SYMBOL_TO_ISO[text.lower()]
    if _ISO.match(text.upper()) and text.isalpha():
        return text.upper()
    return text


def cjk_amount(text: str) -> float | None:
    """The amount of a price written with CJK number units ("2만9천원" -> 29000.0), else None.

    Units must fall from large to small ("2만9천", not "9천2만"); a text whose units do not parse
    gives None, never the number before the first unit.
    """
    found = _CJK_AMOUNT.search(text)
    if found is None:
        return None
    written = found.group(0)
    total, last_unit, end = 0.0, None, 0
    for term in _CJK_TERM.finditer(written):
        unit = _CJK_UNITS[term.group(2)]
        if last_unit is not None and unit >= last_unit:
            return None
        total += float(term.group(1)) * unit
        last_unit, end = unit, term.end()
    rest = written[end:].replace(",", "").strip()
    if rest:
        if last_unit is not None and float(rest) >= last_unit:
            return None
        total += float(rest)
    return total


_MACHINE_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


# Currencies whose prices have no minor unit in practice: "249.000" IDR in structured data is a
# shop writing 249,000 as its country does (nobody prices 249 rupiah to the thousandth).
NO_DECIMALS = frozenset({"IDR", "VND", "KRW", "JPY", "CLP", "ISK", "PYG", "UGX", "XOF", "XAF", "COP", "HUF"})
_GROUPED_BY_DOTS = re.compile(r"\d{1,3}(?:\.\d{3})+")


def structured_amount(value: object, currency: str | None = None) -> object:
    """A structured-data price written as a string of a number, as that number; any other value as is.

    schema.org prices are machine numbers with "." for decimals: "12.500" is twelve and a half
    (the text reading guesses a German "12.500" = 12500) and "-5" is minus five (the text reading
    drops the sign), which `parse_price` then refuses. A string that is no plain number ("19,90 €")
    is left to the text reading. In a currency without decimals (`currency`, ISO), dots between
    groups of three digits group thousands ("249.000" IDR is 249,000).
    """
    if not isinstance(value, str):
        return value
    written = value.strip()
    if (currency or "").upper() in NO_DECIMALS and _GROUPED_BY_DOTS.fullmatch(written):
        return float(written.replace(".", ""))
    return float(written) if _MACHINE_NUMBER.fullmatch(written) else value


# A currency written in letters right beside the amount ("Php 899.00", "899 Php"), which price-parser
# does not know: looked up in SYMBOL_TO_ISO.
_LETTERS_BESIDE = re.compile(r"(?<![A-Za-z])([A-Za-z]{2,4}\.?)\s?(?=\d)|(?<=\d)\s?([A-Za-z]{2,4}\.?)(?![A-Za-z])")


def _lettered_symbol(text: str) -> str | None:
    for found in _LETTERS_BESIDE.finditer(text):
        word = (found.group(1) or found.group(2)).lower()
        if word in SYMBOL_TO_ISO:
            return word
    return None


def _read_part_way(text: str, amount_text: str) -> bool:
    """True when the number price-parser read as `amount_text` goes on in `text` ("1" of "1e3")."""
    start = text.find(amount_text)
    return start >= 0 and bool(_NUMBER_GOES_ON.match(text, start + len(amount_text)))


def parse_price(value: object, currency_hint: str | None = None,
                language: str | None = None) -> tuple[float | None, str | None]:
    """Amount and ISO currency from a number or a price string ("7,95 EUR", "€39.30", "39,000원", 49.99).

    The currency the text shows wins over `currency_hint`, except a symbol several currencies write
    ("$", "¥"): then an ISO hint decides, else the page `language` (see `currency_code`).
    An amount of 0 is no price (an ``AggregateOffer``'s ``lowPrice`` of 0, a price on request, a
    placeholder): a garment never costs nothing, so the next evidence decides. Nor does it cost an
    infinite or undefined amount (JSON-LD "Infinity", "NaN", 1e999).
    """
    amount, currency = _amount_and_currency(value, currency_hint, language)
    return (amount if amount is not None and math.isfinite(amount) and amount > 0 else None), currency


def _amount_and_currency(value: object, currency_hint: str | None,
                         language: str | None) -> tuple[float | None, str | None]:
    hint = currency_code(currency_hint, language)
    if value is None or value == "":
        return None, hint
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), hint
    # Full-width forms as plain ones: CJK pages write "３９，０００원", and EUC-KR has no "₩" but
    # "￦" (U+FFE6); then a backslash before the amount is the yen sign, byte 0x5C of Shift_JIS and
    # EUC-JP pages decoded as ASCII; Swiss shops group thousands with a typographic apostrophe
    # ("CHF 1’299.90"), where price-parser knows "'".
    text = unicodedata.normalize("NFKC", str(value)[:MAX_PRICE_TEXT])
    text = re.sub(r"\\(?=\s?\d)", "¥", text)
    text = re.sub(r"(?<=\d)[’ʼ′](?=\d{3})", "'", text)
    decimal_separator = "." if _ARABIC_DECIMAL in text else None
    text = text.translate(_ARABIC_SEPARATORS)
    parsed = Price.fromstring(text, decimal_separator=decimal_separator)
    parsed_amount = None if parsed.amount is None or _read_part_way(text, parsed.amount_text) else float(parsed.amount)
    first_number = _FIRST_NUMBER.search(text)
    written_in_units = bool(first_number and first_number.group(1))  # "2만9천원", not "39,000원 (5만원 이상 무료)"
    amount = cjk_amount(text) if written_in_units else parsed_amount
    with_tax = _TAX_INCLUDED.search(text)
    if with_tax and not written_in_units:
        amount = float((with_tax.group(1) or with_tax.group(2)).replace(",", ""))
    symbol = parsed.currency or next((s for s in _WRITTEN_SYMBOLS if s in text), None) or _lettered_symbol(text)
    if symbol is None:
        currency = hint
    elif symbol.strip().lower() in SHARED_SYMBOLS and _is_iso(hint):
        currency = hint
    else:
        currency = currency_code(symbol, language)
        if symbol.strip() == "$":  # a bare sign, not "US$"
            named = [code for code in re.findall(r"(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])", text) if code in DOLLAR_CODES]
            currency = named[0] if named else currency
    if currency in THREE_DECIMALS and amount is not None and not written_in_units:
        written = _THOUSANDTHS.search(text)
        # the last separator is the decimal one unless the groups before it use it too ("1.250.500")
        if written and written.group(2) != written.group(3):
            whole = re.sub(r"\D", "", written.group(1))
            if float(whole + written.group(4)) == amount:
                amount = float(f"{whole}.{written.group(4)}")
    return amount, currency
