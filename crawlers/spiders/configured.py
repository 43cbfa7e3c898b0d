"""Spiders made from store files (see :mod:`vtonkit.crawlers.store_config`).

One spider class per ``crawlers/stores/*.toml`` and per file in ``$VTONKIT_STORES``; Scrapy's
spider loader finds them here like any hand-written spider. A broken store file stops the
spider list with a :class:`~vtonkit.crawlers.store_config.StoreConfigError` naming the file.
"""

from __future__ import annotations

from vtonkit.crawlers.store_config import spider_class, store_configs


def _register() -> None:
    for config in store_configs():
        cls = spider_class(config)
        cls.__module__ = __name__
        globals()[cls.__name__] = cls


_register()
