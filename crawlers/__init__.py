"""vtonkit.crawlers: Scrapy spiders, shared product extraction, image pipeline and the demo store."""
