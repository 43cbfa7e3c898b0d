"""Per-store spiders as configuration: a few lines of TOML instead of a spider class.

A store file (``crawlers/stores/<name>.toml``, or any folder named in ``$VTONKIT_STORES``,
``os.pathsep``-separated) says where the store starts, which links are products, how listings
paginate, how its pages are rendered, and, only for the fields the store hides from structured
data, CSS selectors::

    name = "my-mall"
    base_url = "https://www.my-mall.example"
    start_paths = ["/display/list?cate=bottoms"]
    product_link_pattern = '/goods/view\\?goodsNo='
    next_page_css = "a.next::attr(href)"
    currency = "KRW"            # for prices shown without a symbol
    render = "auto"             # auto | always | never

    [selectors]                 # optional; each is a Scrapy CSS selector (::text, ::attr(...))
    sku = "input[name=goods_cd]::attr(value)"

``kind = "shopify"`` reads the store's ``/products.json`` instead (``name``, ``base_url``,
``currency`` are all it needs). :func:`spider_class` turns a config into a spider class; the
spider module :mod:`vtonkit.crawlers.spiders.configured` registers one per file, so
``vtonkit crawl my-mall`` works like any built-in store.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector
from vtonkit.crawlers.categories import normalise_category
from vtonkit.crawlers.extract import ProductPage
from vtonkit.crawlers.items import ProductItem
from vtonkit.crawlers.page_fields import gender_of_text
from vtonkit.crawlers.prices import parse_price
from vtonkit.crawlers.render import render_policy
from vtonkit.crawlers.vocab import language_of

STORES_DIR = Path(__file__).resolve().parent / "stores"
STORES_ENV = "VTONKIT_STORES"
KINDS = ("html", "shopify")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class StoreConfigError(ValueError):
    """A store file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class FieldSelectors:
    """CSS selectors for fields a store keeps out of its structured data (all optional).

    A value found by a selector replaces the extracted one: the store's author knows best.
    """

    title: str | None = None
    sku: str | None = None
    price: str | None = None
    brand: str | None = None
    colour: str | None = None
    breadcrumbs: str | None = None  # every match is one crumb
    images: str | None = None  # every match is one image URL


@dataclass(frozen=True)
class StoreConfig:
    """One store: where to start, what is a product, how to render, what to select."""

    name: str
    base_url: str
    kind: str = "html"
    start_paths: tuple[str, ...] = ("/",)
    product_link_pattern: str = r"/products?/"
    next_page_css: str = "a[rel=next]::attr(href), link[rel=next]::attr(href)"
    use_sitemap: bool = False
    js_paths: tuple[str, ...] = ()
    js_wait_selector: str | None = None
    render: str = "auto"
    currency: str | None = None
    page_size: int = 250  # shopify: products per /products.json page
    selectors: FieldSelectors = field(default_factory=FieldSelectors)
    source: str = ""  # the file it was read from


def load_store_config(path: Path) -> StoreConfig:
    """Read and check one store file; raises :class:`StoreConfigError` naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise StoreConfigError(f"{path}: {exc}") from exc
    problems = _problems(data)
    if problems:  # every one at once: a store file is fixed in one edit, not one run per mistake
        raise StoreConfigError(f"{path}: {'; '.join(problems)}")
    selectors = data.pop("selectors", {})
    try:
        render_policy(data.get("render"))
        re.compile(data.get("product_link_pattern", ""))
        for name in ("start_paths", "js_paths"):
            if name in data:
                data[name] = tuple(data[name])
        if not all(isinstance(css, str) for css in selectors.values()):
            raise ValueError("each of [selectors] is a CSS selector (a string)")
        return StoreConfig(**data, selectors=FieldSelectors(**selectors), source=str(path))
    except (ValueError, TypeError, re.error) as exc:
        raise StoreConfigError(f"{path}: {exc}") from exc


def _problems(data: dict[str, Any]) -> list[str]:
    """What is wrong with a store file's keys and values (each check that its input allows)."""
    problems = []
    known = {f.name for f in fields(StoreConfig)} - {"source"}
    unknown = set(data) - known
    if unknown:
        problems.append(f"unknown keys {sorted(unknown)} (known: {', '.join(sorted(known))})")
    for key in ("name", "base_url"):
        if not isinstance(data.get(key), str) or not data[key]:
            problems.append(f"'{key}' is required (a string)")
    for key, value in data.items():
        problem = _type_problem(StoreConfig.__dataclass_fields__[key].type, value) if key in known else None
        if problem:
            problems.append(f"'{key}' must be {problem}, got {value!r}")
    if isinstance(data.get("base_url"), str) and data["base_url"]:
        base = urlsplit(data["base_url"])
        if base.scheme not in ("http", "https") or not base.hostname:
            problems.append(f"base_url {data['base_url']!r} is no http(s) address with a host name; write it as "
                            "https://shop.example")
    if isinstance(data.get("name"), str) and data["name"] and not _NAME.match(data["name"]):
        problems.append(f"name {data['name']!r} must be lower-case letters, digits, - or _")
    if data.get("kind", "html") not in KINDS:
        problems.append(f"kind must be one of {', '.join(KINDS)}, got {data['kind']!r}")
    selectors = data.get("selectors", {})
    known_selectors = {f.name for f in fields(FieldSelectors)}
    if not isinstance(selectors, dict) or set(selectors) - known_selectors:
        problems.append(f"[selectors] may only name {', '.join(sorted(known_selectors))}, got {sorted(selectors)}")
    return problems


# what a key's value may be, by the field's annotation (TOML has no null: optional means absent)
_TOML_TYPES: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "str": ("a string", str),
    "str | None": ("a string", str),
    "bool": ("true or false", bool),
    "int": ("a whole number", int),
    "tuple[str, ...]": ("a list of strings, such as [\"/shop\"]", list),
}


def _type_problem(annotation: str, value: Any) -> str | None:
    """What `value` must be instead, or None when it fits the field (`selectors` is checked apart)."""
    if annotation not in _TOML_TYPES:
        return None
    wanted, kind = _TOML_TYPES[annotation]
    fits = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if fits and kind is list:
        fits = all(isinstance(item, str) for item in value)
    return None if fits else wanted


def store_dirs() -> list[Path]:
    """The shipped stores folder, then every folder in ``$VTONKIT_STORES``."""
    extra = [Path(p) for p in os.environ.get(STORES_ENV, "").split(os.pathsep) if p]
    return [STORES_DIR, *extra]


def store_configs(dirs: list[Path] | None = None, problems: list[str] | None = None) -> list[StoreConfig]:
    """Every store file in ``dirs`` (default :func:`store_dirs`), by file name.

    A file that cannot be used raises :class:`StoreConfigError`; when ``problems`` is given, the file is
    left out instead and its error appended there (one broken file in ``$VTONKIT_STORES`` must not
    stop the crawls of every other store). Two files may not give one name, nor names whose spider
    classes would be one (``my-mall`` and ``my_mall``): the second replaced the first silently.
    """
    configs: list[StoreConfig] = []
    taken: dict[str, StoreConfig] = {}  # spider class name -> config
    for folder in dirs if dirs is not None else store_dirs():
        for path in sorted(Path(folder).glob("*.toml")):
            try:
                config = load_store_config(path)
                other = taken.get(_class_name(config.name))
                if other is not None:
                    same = "the name" if other.name == config.name else f"a name too like {other.name!r}"
                    raise StoreConfigError(f"{path}: store {config.name!r} has {same} of {other.source}; "
                                           "give one of them another name")
            except StoreConfigError as exc:
                if problems is None:
                    raise
                problems.append(str(exc))
                continue
            taken[_class_name(config.name)] = config
            configs.append(config)
    return configs


def _selected(selector: Selector, css: str | None) -> list[str]:
    if not css:
        return []
    return [re.sub(r"\s+", " ", value).strip() for value in selector.css(css).getall() if value.strip()]


def apply_selectors(
    item: ProductItem | None, page_html: str, url: str, config: StoreConfig, *, store: str
) -> ProductItem | None:
    """``item`` with the store's selected fields filled in (or a new item built from them).

    A page without structured product data becomes a product when the selectors find a title
    and a price or SKU; the category is recomputed from the selected trail and title.
    """
    chosen = config.selectors
    if chosen == FieldSelectors():
        return item
    selector = Selector(text=page_html, type="html")
    found: dict[str, Any] = {}
    for name in ("title", "sku", "brand", "colour"):
        values = _selected(selector, getattr(chosen, name))
        if values:
            found[name] = values[0]
    prices = _selected(selector, chosen.price)
    if prices:
        price, currency = parse_price(prices[0], config.currency)
        if price is not None:
            found.update(price=price, currency=currency)
    crumbs = _selected(selector, chosen.breadcrumbs)
    if crumbs:
        found["breadcrumbs"] = crumbs
    images = [urljoin(url, src) for src in _selected(selector, chosen.images)]
    if images:
        found["image_urls"] = list(dict.fromkeys(images))
    if not found:
        return item
    if item is None:
        if not (found.get("title") and (found.get("price") is not None or found.get("sku"))):
            return None
        item = ProductItem(store=store, url=url, sources={"product": "selectors"})
    for name, value in found.items():
        setattr(item, name, value)
        item.sources[name] = "selectors"
    item.product_id = item.product_id or item.sku
    item.gender = item.gender or gender_of_text(" ".join(item.breadcrumbs))
    item.category = normalise_category(
        breadcrumbs=item.breadcrumbs,
        title=item.title,
        url=url,
        language=language_of(selector.xpath("/html/@lang").get()),
    )
    return item


def spider_class(config: StoreConfig) -> type:
    """A spider class for ``config`` (Shopify or HTML store)."""
    from vtonkit.crawlers.spiders.base import StoreSpider
    from vtonkit.crawlers.spiders.shopify import ShopifySpider

    attributes: dict[str, Any] = {
        "name": config.name,
        "base_url": config.base_url,
        "store_config": config,
        "__doc__": f"Store configured in {config.source or 'a StoreConfig'}.",
    }
    if config.kind == "shopify":
        attributes.update(currency=config.currency, page_size=config.page_size)
        return type(_class_name(config.name), (ShopifySpider,), attributes)
    attributes.update(
        start_paths=config.start_paths,
        product_link_pattern=config.product_link_pattern,
        next_page_css=config.next_page_css,
        use_sitemap=config.use_sitemap,
        js_paths=config.js_paths,
        js_wait_selector=config.js_wait_selector,
        render=config.render,
    )
    return type(_class_name(config.name), (ConfiguredSpiderMixin, StoreSpider), attributes)


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", name)) + "Spider"


class ConfiguredSpiderMixin:
    """Adds the store's selectors to the generic extraction of a :class:`StoreSpider`."""

    store_config: StoreConfig

    def extract(self, response: Any, expected: str | None = None) -> tuple[bool, ProductPage]:
        ran, page = super().extract(response, expected)  # type: ignore[misc]
        if not ran:
            return ran, page
        # the selectors read the page as shown: its own product, not the group's other colours
        item = apply_selectors(page.item, response.text, response.url, self.store_config, store=self.name)  # type: ignore[attr-defined]
        return True, replace(page, item=item)
