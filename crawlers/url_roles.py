"""What a link is to a crawl, read from its URL alone.

* **Another page of the same listing** (:func:`is_next_listing_page`): same host and path (a
  trailing ``/page/N`` aside) and the same query but for a page parameter (``page``, ``p``,
  ``offset``, ...), of a plain listing (a category, not a filtered or sorted view of it). A crawl
  keeps such a page at the depth of the listing it continues, so a 50-page category is not cut
  off by the depth limit after its third page.
* **The listing a page belongs to** (:func:`listing_of`): the URL without its page number; link-trap
  pruning caps the pages of each listing.
* **The view a query shows** (:func:`view_query`): the query without its page parameters and
  without parameters that name one item (``product_no=101``, ``goodsNo=7``, ``id=42``). Link-trap
  pruning counts views per path, not raw query strings: Cafe24 serves every product from
  ``/product/detail.html?product_no=N`` and every category page from
  ``/product/list.html?cate_no=C&page=N``, Godomall from ``/goods/goods_view.php?goodsNo=N``,
  which are one view each however many products and categories the shop has, while facet and
  sort combinations (``?color=red&size=m&sort=price``, each of their pages too) are many.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

PAGE_PARAMS = frozenset({"page", "p", "pg", "pageno", "page_no", "pagenum", "pagenumber", "paged", "offset", "start"})
_PAGE_IN_PATH = re.compile(r"/page/\d+/?$", re.IGNORECASE)
# Names shops give the parameter that picks one item (product_no, goodsNo, branduid, pid, itemId, id,
# no, idx, sku) or one category's listing (cate_no, cateCd, cat, category_id, Makeshop's xcode)
_ITEM_PARAM = re.compile(r"(?:^|_)(?:no|id|idx|seq|uid|sku)$|(?:goods|product|item|brand)_?(?:no|id|uid|cd|code)$|^p?id$"
                         r"|^(?:cate|cat|category)(?:_?(?:no|id|cd|code))?$|^[xms]code$", re.IGNORECASE)
_ITEM_VALUE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


def _is_page_param(name: str, value: str) -> bool:
    return name.lower() in PAGE_PARAMS and value.isdigit()


def _is_item_param(name: str, value: str) -> bool:
    return bool(_ITEM_PARAM.search(name)) and bool(_ITEM_VALUE.match(value))


def page_number(url: str) -> int | None:
    """The page a listing URL shows (``?page=3``, ``/page/3/``), or None when it names none."""
    parts = urlsplit(url)
    found = _PAGE_IN_PATH.search(parts.path)
    if found:
        return int(found.group(0).strip("/").split("/")[-1])
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if _is_page_param(name, value):
            return int(value)
    return None


def view_query(query: str) -> str:
    """The view a query shows, its parameters sorted: without the parameters that pick one item or
    one category, and without the page number of a plain listing. A filtered or sorted listing
    keeps its page number: faceted traps live there, and each of their pages counts."""
    params = [(name, value) for name, value in parse_qsl(query, keep_blank_values=True)
              if not _is_item_param(name, value)]
    if all(_is_page_param(name, value) for name, value in params):
        return ""
    return urlencode(sorted(params))


def listing_of(url: str) -> tuple[str, str, str]:
    """(host, path, query) of the listing a page of it shows: the URL without its page number."""
    parts = urlsplit(url)
    path = _PAGE_IN_PATH.sub("", parts.path).rstrip("/") or "/"
    rest = sorted((name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True)
                  if not _is_page_param(name, value))
    return parts.netloc.lower(), path, urlencode(rest)


def is_next_listing_page(url: str, listing_url: str) -> bool:
    """`url` shows another page of the plain (unfiltered, unsorted) listing at `listing_url`."""
    return (page_number(url) is not None and url != listing_url and listing_of(url) == listing_of(listing_url)
            and view_query(urlsplit(listing_url).query) == "")
