"""vtonkit spiders: a generic one, a Shopify one, and thin per-store spiders.

Add a store by subclassing :class:`~vtonkit.crawlers.spiders.base.StoreSpider` (or
:class:`~vtonkit.crawlers.spiders.shopify.ShopifySpider`) with a ``name``, a ``base_url`` and,
only where the generic path fails, selectors. See docs/crawling.md.
"""
