"""The demo store's declarative catalogue (``catalogue.json``) and its drawn garment shots.

Everything the store shows comes from ``catalogue.json``: products (with the markup style each
page uses: JSON-LD, malformed JSON-LD, ``@graph`` + AggregateOffer, microdata, OpenGraph),
which section lists them (``shop`` listing, ``js`` JavaScript-rendered "new in" page, ``private``
path disallowed by robots.txt), drawn garment specs, and deliberately broken pages.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from vtonkit.crawlers.demo_store.drawing import DRAWING_VERSION, GarmentSpec, draw_garment, encode

logger = logging.getLogger(__name__)

STORE_DIR = Path(__file__).resolve().parent
CATALOGUE_PATH = STORE_DIR / "catalogue.json"
STATIC_DIR = STORE_DIR / "static"


@lru_cache(maxsize=1)
def load_catalogue(path: Path = CATALOGUE_PATH) -> dict[str, Any]:
    """The parsed catalogue (cached)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def product_path(product: dict[str, Any]) -> str:
    """URL path of a product page: ``/private/<slug>`` for the robots-disallowed section."""
    prefix = "/private" if product["section"] == "private" else "/products"
    return f"{prefix}/{product['slug']}"


def replicate_catalogue(catalogue: dict[str, Any], copies: int) -> dict[str, Any]:
    """The catalogue with its ``shop`` section repeated ``copies`` times (a bigger store for
    benchmarks): copy k has slug ``<slug>-copy<k>``, SKU ``<sku>-C<k>`` and image URLs with
    ``?copy=k`` (same bytes, distinct URLs, so every image is fetched and analysed)."""
    products = list(catalogue["products"])
    for k in range(1, copies):
        for product in catalogue["products"]:
            if product["section"] != "shop":
                continue
            products.append(
                {
                    **product,
                    "slug": f"{product['slug']}-copy{k}",
                    "sku": f"{product['sku']}-C{k}",
                    "images": [f"{image}?copy={k}" for image in product["images"]],
                }
            )
    return {**catalogue, "products": products}


def underlying_image(path: str) -> str:
    """The original static path behind a media alias (redirect, copy, resized)."""
    for prefix in ("/media/r/", "/media/copy/", "/media/resized/"):
        if path.startswith(prefix):
            return "/" + path[len(prefix) :]
    return path


def _cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("vtonkit")) / "demo_store" / "drawn"


_draw_lock = threading.Lock()
_drawn: dict[str, bytes] = {}


def drawn_png(name: str) -> bytes:
    """PNG bytes of the drawn garment ``name`` (rendered once, cached in memory and on disk)."""
    spec_dict = load_catalogue()["drawn"][name]
    spec = GarmentSpec(**spec_dict)
    identity = json.dumps({"spec": spec_dict, "version": DRAWING_VERSION}, sort_keys=True)
    key = hashlib.sha256(identity.encode()).hexdigest()[:12]
    with _draw_lock:
        if name in _drawn:
            return _drawn[name]
        cached = _cache_dir() / f"{name}-{key}.png"
        if cached.exists():
            data = cached.read_bytes()
        else:
            data = encode(draw_garment(spec), "PNG")
            try:
                from vtonkit.datasets.io.files import atomic_write_bytes

                cached.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(cached, data)
            except Exception as exc:  # a read-only cache only costs a re-render next time
                logger.debug("cannot cache %s: %s", cached, exc)
        _drawn[name] = data
        return data


def write_drawn_garments(out_dir: Path) -> list[Path]:
    """Render every drawn garment of the catalogue into ``out_dir`` as ``<name>.png``."""
    from vtonkit.datasets.io.files import atomic_write_bytes

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in load_catalogue()["drawn"]:
        path = out_dir / f"{name}.png"
        atomic_write_bytes(path, drawn_png(name))
        paths.append(path)
    return paths
