"""Item pipelines: product images (downloaded, checked, deduplicated, stored) and the catalog.

Both are active only when the ``VTONKIT_OUT`` setting names an output folder (``vtonkit crawl``
sets it); a bare ``scrapy crawl <store> -O out.jsonl`` only exports items.

* :class:`GarmentImagesPipeline` (a ``FilesPipeline``: Scrapy's scheduling, robots, redirects
  with ``MEDIA_ALLOW_REDIRECTS``) keeps the original bytes (PNG alpha included) under
  ``<out>/images/<category>/<sha256>.<ext>``. It refuses non-images, decompression bombs and
  images under ``VTONKIT_MIN_IMAGE_SIDE``; drops exact duplicates (same SHA-256) and
  near-duplicates (perceptual hash + colour signature); and marks the plain-background garment
  shot of each product (:mod:`vtonkit.crawlers.garment_shot`).
* :class:`CatalogPipeline` appends one record per kept image to ``<out>/catalog.jsonl`` (and
  every product to ``<out>/products.jsonl``), and writes ``<out>/catalog.parquet`` at the end.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.pipelines.files import FilesPipeline
from scrapy.pipelines.media import FileException
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread
from vtonkit.crawlers.catalog import (
    CATALOG_JSONL,
    CATALOG_PARQUET,
    IMAGE_NOT_FETCHED,
    PRODUCTS_JSONL,
    drop_retried_products,
    json_records,
    write_catalog_parquet,
)
from vtonkit.crawlers.image_facts import (
    MAX_IMAGE_PIXELS,
    ImageFacts,
    ImageRejected,
    inspect_image,
    is_near_duplicate,
)
from vtonkit.crawlers.items import CATALOG_COLUMNS
from vtonkit.crawlers.pacing import CrawlStopping
from vtonkit.crawlers.report import failure_reason, report_for
from vtonkit.crawlers.urls import is_web_url, reaches_inward

logger = logging.getLogger(__name__)

# the image facts a product's image record holds (products.jsonl), so a resumed crawl can read them back
_FACT_FIELDS = ("sha256", "phash", "colour_sig", "width", "height", "format", "has_alpha", "is_garment_shot",
                "garment_score", "shot_evidence", "shot_reasons")


def facts_record(facts: ImageFacts) -> dict[str, Any]:
    return {name: getattr(facts, name) for name in _FACT_FIELDS}


def facts_from_record(record: dict[str, Any]) -> ImageFacts:
    """`facts_record`'s inverse; the extension is the stored file's."""
    return ImageFacts(**{name: record[name] for name in _FACT_FIELDS}, extension=Path(record["path"]).suffix[1:])


# image URLs never requested: reason -> why
URL_REFUSALS = {
    "not-http": "only http(s) images are downloaded",
    "internal-address": "an image on this machine or a private network, outside the shop's own address",
    "over-image-cap": "past the product's first VTONKIT_MAX_IMAGES_PER_PRODUCT downloadable images",
}


def image_url_refusal(url: str, page: str | None) -> str | None:
    """Why the image `url` of the product page `page` is not requested (a `URL_REFUSALS` key), or None.

    A ``file://`` image would copy this machine's files into the catalog; an internet shop has no
    picture on this machine or its network, so such a URL would only send requests inward. A shop
    served from one (development, an intranet) has its images at its own address only, the
    browser's rule (`urls.reaches_inward`): any internal address let through, its pages made the
    crawler fetch other ports of the machine and the cloud metadata address 169.254.169.254."""
    if not is_web_url(url):
        return "not-http"
    if reaches_inward(url, page or ""):
        return "internal-address"
    return None


class ImageNotFetched(FileException):
    """An image the stopping crawl dropped before fetching it (Ctrl-C): a --resume fetches it again."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _out_dir(crawler: Any, consequence: str) -> Path:
    """The crawl's output folder (``VTONKIT_OUT``, absolute); without one the pipeline is disabled."""
    out = crawler.settings.get("VTONKIT_OUT")
    if not out:
        raise NotConfigured(f"VTONKIT_OUT not set: {consequence}")
    return Path(out).resolve()


class GarmentImagesPipeline(FilesPipeline):
    """Download every ``image_urls`` entry of a product and record one result per URL in ``images``."""

    FILES_URLS_FIELD = "image_urls"
    FILES_RESULT_FIELD = "images"

    def __init__(self, store_uri: str, *, crawler: Any):
        super().__init__(store_uri, crawler=crawler)
        settings = crawler.settings
        self.out = Path(store_uri)
        self.min_side = settings.getint("VTONKIT_MIN_IMAGE_SIDE", 256)
        self.max_pixels = settings.getint("VTONKIT_MAX_IMAGE_PIXELS", MAX_IMAGE_PIXELS)
        self.max_bytes = settings.getint("VTONKIT_MAX_IMAGE_BYTES", 30 * 1024 * 1024)
        self.max_images = settings.getint("VTONKIT_MAX_IMAGES_PER_PRODUCT", 100)
        self.phash_distance = settings.getint("VTONKIT_PHASH_DISTANCE", 6)
        self.person_detector = settings.get("VTONKIT_PERSON_DETECTOR", "mediapipe")
        self.by_sha: dict[str, str] = {}  # sha256 -> stored path
        self.kept: list[tuple[ImageFacts, str]] = []  # for near-duplicate search
        self.path_owner: dict[str, str] = {}  # stored path -> product url that claimed it
        # smaller near-duplicates replaced by a larger copy: old path -> new path (the catalog
        # pipeline drops their records and files at the end)
        self.superseded: dict[str, str] = {}
        crawler.vtonkit_superseded = self.superseded
        self._load_previous_catalog()

    @classmethod
    def from_crawler(cls, crawler: Any) -> GarmentImagesPipeline:
        return cls(str(_out_dir(crawler, "images are not downloaded")), crawler=crawler)

    def _load_previous_catalog(self) -> None:
        """On a resumed crawl, images already kept count for deduplication: exact copies by the
        catalog's hashes, near-duplicates by the fingerprints the products' image records hold."""
        catalog = self.out / CATALOG_JSONL
        if not (self.crawler.settings.get("JOBDIR") and catalog.exists()):
            return
        for record in json_records(catalog):
            self.by_sha[record["sha256"]] = record["path"]
            self.path_owner[record["path"]] = record["page_url"]
        in_catalog = set(self.by_sha.values())
        for product in json_records(self.out / PRODUCTS_JSONL):
            for entry in product.get("images") or []:
                # a product written again by a --resume that fetched its dropped images has its
                # earlier images as duplicates of themselves
                if (entry.get("status") in ("kept", "duplicate") and entry.get("path") in in_catalog
                        and "colour_sig" in entry):
                    self.kept.append((facts_from_record(entry), entry["path"]))
                    in_catalog.discard(entry["path"])  # once, however many products show it

    # -- requests -------------------------------------------------------------------------
    def _refusals(self, item: Any) -> list[tuple[str, str | None]]:
        """`(url, refusal or None)` per image URL of `item`: `image_url_refusal`, and past the first
        `max_images` downloadable ones `over-image-cap` (a page listing thousands of images)."""
        adapter = ItemAdapter(item)
        page = adapter.get("url")
        verdicts, allowed = [], 0
        for url in adapter.get("image_urls") or []:
            refused = image_url_refusal(url, page)
            if refused is None:
                allowed += 1
                refused = "over-image-cap" if self.max_images and allowed > self.max_images else None
            verdicts.append((url, refused))
        return verdicts

    def get_media_requests(self, item: Any, info: Any) -> list[Request]:
        """A request per image URL that `_refusals` lets through; any other is refused here, named
        with its page (`item_completed` records it as rejected)."""
        page = ItemAdapter(item).get("url")
        requests = []
        verdicts = self._refusals(item)
        over_cap = [url for url, refused in verdicts if refused == "over-image-cap"]
        if over_cap:  # one line for the page, not one per URL (a page may list thousands)
            report_for(self.crawler).image_error(
                over_cap[0], f"over-image-cap: {len(over_cap)} image URLs past the product's first "
                             f"{self.max_images} downloadable ones (VTONKIT_MAX_IMAGES_PER_PRODUCT) not requested",
                page)
        for url, refused in verdicts:
            if refused:
                if refused != "over-image-cap":
                    report_for(self.crawler).image_error(url, f"{refused}: {URL_REFUSALS[refused]}", page)
                continue
            requests.append(Request(
                url,
                meta={"download_maxsize": self.max_bytes, "vtonkit_page": page, "allow_offsite": True},
                dont_filter=True,
            ))  # images often live on a CDN domain
        return requests

    def media_to_download(self, request: Request, info: Any, *, item: Any = None) -> None:
        return None  # names come from the content hash: nothing to look up before downloading

    def media_failed(self, failure: Any, request: Request, info: Any):
        reason = f"download failed: {failure_reason(failure.value, max_bytes=self.max_bytes)}"
        report_for(self.crawler).image_error(request.url, reason, request.meta.get("vtonkit_page", ""))
        raise (ImageNotFetched if failure.check(CrawlStopping) else FileException)(reason)

    # -- responses ------------------------------------------------------------------------
    async def media_downloaded(
        self, response: Any, request: Request, info: Any, *, item: Any = None
    ) -> dict[str, Any]:
        url, page = request.url, request.meta.get("vtonkit_page", "")
        result: dict[str, Any] = {"url": url}
        if response.status != 200 or not response.body:
            reason = f"HTTP {response.status}" if response.status != 200 else "empty body"
            report_for(self.crawler).image_error(url, reason, page)
            return {**result, "status": "failed", "reason": reason}
        try:
            facts: ImageFacts = await maybe_deferred_to_future(
                deferToThread(
                    inspect_image,
                    response.body,
                    min_side=self.min_side,
                    max_pixels=self.max_pixels,
                    person_detector=self.person_detector,
                )
            )
        except ImageRejected as exc:
            report_for(self.crawler).image_error(url, str(exc), page)
            return {**result, "status": "rejected", "reason": exc.reason}
        result.update(facts_record(facts))
        if facts.sha256 in self.by_sha:
            return {
                **result,
                "status": "duplicate",
                "path": self.by_sha[facts.sha256],
                "duplicate_of": self.by_sha[facts.sha256],
            }
        category = ItemAdapter(item).get("category") or "other"
        path = f"images/{category}/{facts.sha256}.{facts.extension}"
        for index, (other, other_path) in enumerate(self.kept):
            if not is_near_duplicate(facts, other, max_phash=self.phash_distance):
                continue
            if facts.width * facts.height <= other.width * other.height:
                return {**result, "status": "near-duplicate", "path": other_path, "duplicate_of": other_path}
            # the same picture in a higher resolution: keep this one, retire the smaller copy
            self.kept[index] = (facts, path)
            self.superseded[other_path] = path
            result["supersedes"] = other_path
            break
        else:
            self.kept.append((facts, path))
        # claim the hash before the (threaded) write, so a concurrent copy sees it
        self.by_sha[facts.sha256] = path
        from vtonkit.datasets.io.files import atomic_write_bytes

        await maybe_deferred_to_future(deferToThread(atomic_write_bytes, self.out / path, response.body))
        return {**result, "status": "kept", "path": path}

    # -- per product ----------------------------------------------------------------------
    def item_completed(self, results: list[tuple[bool, Any]], item: Any, info: Any) -> Any:
        adapter = ItemAdapter(item)
        report = report_for(self.crawler)
        page = adapter.get("url")
        images = []
        downloads = iter(results)  # one per URL not refused, in order (`get_media_requests`)
        for url, refused in self._refusals(item):
            if refused:
                entry = {"url": url, "status": "rejected", "reason": refused}
            else:
                ok, value = next(downloads)
                entry = dict(value) if ok else {
                    "url": url, "status": "failed", "reason": failure_reason(getattr(value, "value", value))}
                if not ok and isinstance(getattr(value, "value", value), ImageNotFetched):  # read by --resume
                    entry["reason"] = f"{IMAGE_NOT_FETCHED}: the crawl stopped before it was fetched"
            if entry.get("status") == "kept" and entry.get("path") in self.superseded:
                final = resolve_superseded(self.superseded, entry["path"])
                entry = {**entry, "status": "near-duplicate", "path": final, "duplicate_of": final}
            if entry.get("status") == "kept":
                # the same URL on a second product comes back from Scrapy's media cache as "kept"
                owner = self.path_owner.setdefault(entry["path"], page)
                if owner != page:
                    entry = {**entry, "status": "duplicate", "duplicate_of": entry["path"]}
            status = entry.get("status", "failed")
            report.image_status[status if status != "rejected" else f"rejected:{entry.get('reason')}"] += 1
            images.append(entry)
        adapter["images"] = images
        usable = [i for i in images if i.get("status") in ("kept", "duplicate", "near-duplicate")]
        garment = [i for i in usable if i.get("is_garment_shot")]
        best = max(garment or [], key=lambda i: i.get("garment_score", 0), default=None)
        adapter["garment_image_url"] = best["url"] if best else None
        return item


class CatalogPipeline:
    """Write ``catalog.jsonl`` (one record per kept image) and ``products.jsonl``; Parquet at close."""

    def __init__(self, crawler: Any, out: Path):
        self.crawler = crawler
        self.out = out
        self.category_filter = None
        self._catalog = None
        self._products = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> CatalogPipeline:
        return cls(crawler, _out_dir(crawler, "no catalog is written"))

    def open_spider(self, spider: Any = None) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        resumed = bool(self.crawler.settings.get("JOBDIR"))
        mode = "a" if resumed else "w"  # a resumed crawl appends
        if resumed:
            for name in (CATALOG_JSONL, PRODUCTS_JSONL):
                drop_cut_short_line(self.out / name)
        self._catalog = open(self.out / CATALOG_JSONL, mode, encoding="utf-8")
        self._products = open(self.out / PRODUCTS_JSONL, mode, encoding="utf-8")

    def process_item(self, item: Any, spider: Any = None) -> Any:
        adapter = ItemAdapter(item)
        product = adapter.asdict()
        report = report_for(self.crawler)
        crawled_at = product.get("crawled_at") or _now()
        self._products.write(json.dumps(product, ensure_ascii=False) + "\n")
        self._products.flush()
        # counted here, not when the spider found it: items still waiting for their images when a
        # second Ctrl-C forces the stop are never written, and the summary counted them anyway
        report.products[product.get("category")] += 1
        superseded = getattr(self.crawler, "vtonkit_superseded", {})
        for image in product.get("images") or []:
            if image.get("status") != "kept" or image.get("path") in superseded:
                continue
            record = {key: product.get(key) for key in CATALOG_COLUMNS}
            record.update(
                image_url=image["url"],
                page_url=product.get("url"),
                path=image["path"],
                sha256=image["sha256"],
                phash=image["phash"],
                width=image["width"],
                height=image["height"],
                format=image["format"],
                has_alpha=image["has_alpha"],
                is_garment_shot=image["is_garment_shot"],
                garment_score=image["garment_score"],
                shot_evidence=image.get("shot_evidence", ""),
                shot_reasons=image.get("shot_reasons", ""),
                crawled_at=crawled_at,
            )
            report.images[product.get("category") or "other"] += 1
            self._catalog.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._catalog.flush()
        return item

    def close_spider(self, spider: Any = None) -> None:
        for handle in (self._catalog, self._products):
            if handle:
                handle.close()
        superseded = getattr(self.crawler, "vtonkit_superseded", {})
        if superseded:
            drop_superseded(self.out, superseded, report_for(self.crawler))
        if self.crawler.settings.get("JOBDIR"):
            drop_retried_products(self.out / PRODUCTS_JSONL)
        write_catalog_parquet(self.out / CATALOG_JSONL, self.out / CATALOG_PARQUET)


def drop_cut_short_line(path: Path) -> None:
    """Cut the unfinished last line a killed run may have left, so that what is appended next starts
    a line of its own instead of merging into a broken record."""
    if not path.exists():
        return
    with open(path, "rb+") as handle:
        data = handle.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            logger.warning("%s: dropped the last line a killed crawl left unfinished", path)
            handle.truncate(end)


def resolve_superseded(superseded: dict[str, str], path: str) -> str:
    """Follow replacements (a -> b -> c) to the path that is finally kept."""
    seen = set()
    while path in superseded and path not in seen:
        seen.add(path)
        path = superseded[path]
    return path


def drop_superseded(out: Path, superseded: dict[str, str], report: Any) -> None:
    """Remove catalog records and files of images replaced by a larger near-duplicate (and count them as
    near-duplicates, not kept)."""
    from vtonkit.datasets.io.files import atomic_write_text

    catalog = out / CATALOG_JSONL
    kept_lines = []
    for line in catalog.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["path"] in superseded:
            # counted as kept when its product completed before the larger copy arrived: the
            # counts must not depend on download order
            report.images[record.get("category") or "other"] -= 1
            report.image_status["kept"] -= 1
            report.image_status["near-duplicate"] += 1
            continue
        kept_lines.append(line)
    atomic_write_text(catalog, "".join(f"{line}\n" for line in kept_lines))
    for old in superseded:
        (out / old).unlink(missing_ok=True)
