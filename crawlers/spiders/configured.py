"""Spiders made from store files (see :mod:`vtonkit.crawlers.store_config`).

One spider class per ``crawlers/stores/*.toml`` and per file in ``$VTONKIT_STORES``; Scrapy's
spider loader finds them here like any hand-written spider. A store file that cannot be used
(broken, or giving the name of another store) is left out and named in :data:`SKIPPED_STORE_FILES`
with its problem, which ``vtonkit crawl`` prints: one broken file must not stop the crawls of
every other store.
"""

from __future__ import annotations

import importlib
import pkgutil

from scrapy.utils.spider import iter_spider_classes
from vtonkit.crawlers.store_config import spider_class, store_configs

SKIPPED_STORE_FILES: list[str] = []  # "<file>: <problem>", one per store file left out


def hand_written_names() -> set[str]:
    """Names of the spiders written as classes in this package (generic, shopify, demo, ...)."""
    package = __name__.rsplit(".", 1)[0]
    names: set[str] = set()
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
        if f"{package}.{info.name}" != __name__:
            names |= {cls.name for cls in iter_spider_classes(importlib.import_module(f"{package}.{info.name}"))}
    return names


def _register() -> None:
    built_in = hand_written_names()
    for config in store_configs(problems=SKIPPED_STORE_FILES):
        if config.name in built_in:
            SKIPPED_STORE_FILES.append(f"{config.source}: store {config.name!r} has the name of a built-in "
                                       "spider; give it another name")
            continue
        cls = spider_class(config)
        cls.__module__ = __name__
        globals()[cls.__name__] = cls


_register()
