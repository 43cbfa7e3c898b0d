"""Price and currency normalisation (price-parser for the amount, ISO 4217 for the currency)."""

from __future__ import annotations

import logging
import re

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
    "¥": "JPY",
    "円": "JPY",
    "￥": "JPY",
    "元": "CNY",
    "rmb": "CNY",
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
}
_ISO = re.compile(r"^[A-Z]{3}$")


def currency_code(value: str | None) -> str | None:
    """ISO 4217 code for a code or symbol ("€" -> "EUR", "eur" -> "EUR"); unknown symbols pass through."""
    if not value:
        return None
    text = str(value).strip()
    if _ISO.match(text.upper()) and text.isalpha():
        return text.upper()
    return SYMBOL_TO_ISO.get(text.lower(), text)


def parse_price(value: object, currency_hint: str | None = None) -> tuple[float | None, str | None]:
    """Amount and ISO currency from a number or a price string ("7,95 EUR", "€39.30", 49.99)."""
    if value is None or value == "":
        return None, currency_code(currency_hint)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), currency_code(currency_hint)
    parsed = Price.fromstring(str(value), currency_hint=currency_hint)
    amount = float(parsed.amount) if parsed.amount is not None else None
    return amount, currency_code(parsed.currency or currency_hint)
