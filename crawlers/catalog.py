"""Reading a crawl's catalog: the hand-off from crawling to preprocessing.

A crawl folder holds ``catalog.parquet`` and ``catalog.jsonl`` (same records, one per kept
image, columns :data:`~vtonkit.crawlers.items.CATALOG_COLUMNS`) and ``images/<category>/``.
``catalog.jsonl`` is written as an append-only log during the crawl (so that a resumed crawl
continues it); ``catalog.parquet`` is written atomically at the end.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vtonkit.crawlers.items import CATALOG_COLUMNS
from vtonkit.crawlers.url_roles import product_identity

from vtonkit.core.errors import InputError

logger = logging.getLogger(__name__)

CATALOG_JSONL = "catalog.jsonl"
CATALOG_PARQUET = "catalog.parquet"
PRODUCTS_JSONL = "products.jsonl"
# reason of a product's image that a stopping crawl (Ctrl-C) did not fetch: a --resume fetches it again
IMAGE_NOT_FETCHED = "not-fetched"


def read_catalog(crawl_dir: str | Path) -> list[dict[str, Any]]:
    """Every image record of a crawl (from ``catalog.jsonl``; Parquet holds the same)."""
    return read_catalog_file(Path(crawl_dir) / CATALOG_JSONL)


def read_catalog_file(path: str | Path) -> list[dict[str, Any]]:
    """The records of a catalog: JSON lines (``catalog.jsonl``, or a copy under another name), or
    ``catalog.parquet`` (by its suffix).

    A line that is not a JSON object is skipped with a warning naming the file and the line (one
    bad line does not cost the others); the last line of a crawl killed mid-write is cut, which is
    said as such. A byte-order mark (an editor's "UTF-8 with BOM") is read past.

    Raises :class:`~vtonkit.core.errors.InputError` naming the file when it is missing or not UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no crawl catalog here (run `vtonkit crawl <store> --out DIR` first)")
    if path.suffix.lower() == ".parquet":
        return _parquet_records(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte {exc.start})") from None
    lines = text.splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            if number == len(lines) and not text.endswith("\n"):  # an append-only log cut by a kill
                logger.warning("%s: ignoring the truncated last line %d", path, number)
            else:
                logger.warning("%s: skipping line %d, which is not JSON (%s)", path, number, exc)
            continue
        if not isinstance(record, dict):
            logger.warning("%s: skipping line %d, which is not a JSON object", path, number)
            continue
        records.append(record)
    return records


def _parquet_records(path: Path) -> list[dict[str, Any]]:
    """The rows of a Parquet catalog as the JSON lines give them: plain Python values, and an absent
    field (null; NaN in a float column) left out rather than present as None/NaN."""
    import numpy as np
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"not a readable Parquet catalog ({exc})") from None

    def plain(value: Any) -> Any:
        return value.tolist() if isinstance(value, np.ndarray) else value.item() if isinstance(value, np.generic) else value

    records = []
    for row in frame.to_dict("records"):
        values = {key: plain(value) for key, value in row.items()}
        records.append({key: value for key, value in values.items()
                        if value is not None and not (isinstance(value, float) and value != value)})
    return records


def garment_images(
    crawl_dir: str | Path, *, category: str | None = None, garment_shots_only: bool = True
) -> list[tuple[Path, dict[str, Any]]]:
    """(absolute image path, record) for the crawl's images, optionally one category only.

    ``garment_shots_only`` keeps the plain-background, no-person product shots that try-on
    datasets use as cloth images.
    """
    crawl_dir = Path(crawl_dir)
    selected = []
    for record in read_catalog(crawl_dir):
        if category and record.get("category") != category:
            continue
        if garment_shots_only and not record.get("is_garment_shot"):
            continue
        selected.append((crawl_dir / record["path"], record))
    return selected


def json_records(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a crawl's JSON-lines log (products.jsonl, catalog.jsonl) for a resumed crawl,
    quietly: a line a killed run cut short is passed over (`read_catalog_file` warns of bad lines)."""
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            yield record


def product_key(sku: str | None, url: str) -> str:
    """One product however it was reached: by its SKU, else by the page it is (`product_identity`)."""
    return f"sku:{sku}" if sku else f"url:{product_identity(url)}"


def record_key(product: dict[str, Any]) -> str:
    """`product_key` of a products.jsonl record."""
    return product_key(product.get("sku"), product.get("canonical_url") or product.get("url") or "")


def images_not_fetched(product: dict[str, Any]) -> bool:
    """A products.jsonl record with an image a stopping crawl dropped unfetched (`IMAGE_NOT_FETCHED`)."""
    return any(isinstance(image, dict) and str(image.get("reason", "")).startswith(IMAGE_NOT_FETCHED)
               for image in product.get("images") or [])


def drop_retried_products(path: Path) -> int:
    """Drop the earlier record of each product written again (a --resume fetches the images an
    interrupted run dropped, writing the product anew): one record per product. The records
    dropped; the file is rewritten only when there are any."""
    from vtonkit.datasets.io.files import atomic_write_text

    if not path.exists():
        return 0
    lines = path.read_text(encoding="utf-8").splitlines()
    keys = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        keys.append(record_key(record) if isinstance(record, dict) else None)
    last = {key: index for index, key in enumerate(keys) if key is not None}
    kept = [line for index, (line, key) in enumerate(zip(lines, keys)) if key is None or last[key] == index]
    if len(kept) < len(lines):
        atomic_write_text(path, "".join(f"{line}\n" for line in kept))
    return len(lines) - len(kept)


def catalog_totals(crawl_dir: str | Path) -> dict[str, int]:
    """Products and kept images the crawl folder holds, every run of a resumed crawl included."""
    def lines(name: str) -> int:
        path = Path(crawl_dir) / name
        return sum(1 for line in path.read_bytes().splitlines() if line.strip()) if path.is_file() else 0

    return {"products": lines(PRODUCTS_JSONL), "images": lines(CATALOG_JSONL)}


def write_catalog_parquet(jsonl: Path, parquet: Path) -> int:
    """Convert ``catalog.jsonl`` to Parquet (atomically); returns the number of records."""
    import pandas as pd

    records = read_catalog(jsonl.parent) if jsonl.name == CATALOG_JSONL else []
    frame = pd.DataFrame.from_records(records, columns=list(CATALOG_COLUMNS))
    tmp = parquet.with_name(f".{parquet.name}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, parquet)
    return len(frame)
