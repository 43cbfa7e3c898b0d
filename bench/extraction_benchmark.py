"""Product-page extraction measured on a public benchmark it was not written against.

Reads a local copy of scrapinghub/product-extraction-benchmark (MIT; 140 saved product pages of
as many shops, many of them not fashion, with price, currency, brand, SKU and availability
annotated), runs the crawl's own `extract_product` on each page with its annotated URL, and prints
per-field accuracy for three disjoint sets:

* shared: the 7 pages ../shared/data/shop-pages holds (the tests' pages);
* tune: the other pages at even positions of all 140 sorted by key: the pages whose misses may
  be looked at (`--misses`) and fixed;
* test: the rest. Quote these figures; their misses are never printed.

Matching: prices within 0.005 (a ground truth written "23.450" also matches 23450, its thousands
separator); an ISO currency matches its symbol or a shared one ("$" for CAD, TWD, ...); other
fields case-insensitively; a field a page does not annotate is not counted.

Usage:
    git clone https://github.com/scrapinghub/product-extraction-benchmark
    python bench/extraction_benchmark.py product-extraction-benchmark [--misses]
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
from collections import Counter
from pathlib import Path

from vtonkit.crawlers.extract import extract_product
from vtonkit.crawlers.prices import currency_code

FIELDS = ("price", "currency", "brand", "sku", "availability")
# Currencies that write the ground truth's bare symbol.
SYMBOL_CURRENCIES = {"$": {"USD", "CAD", "AUD", "NZD", "TWD", "CLP", "MXN", "ARS", "COP", "SGD", "HKD"},
                     "Rs": {"PKR", "INR", "LKR"}, "Kn": {"HRK"}}


def matches(field: str, extracted: object, truths: list[str]) -> bool:
    if extracted is None:
        return False
    if field == "price":
        amounts = [float(t) for t in truths]
        amounts += [float(t.replace(".", "")) for t in truths if re.fullmatch(r"\d+\.\d{3}", t)]
        return any(abs(float(extracted) - a) < 0.005 for a in amounts)
    if field == "currency":
        return any(extracted in (t, currency_code(t)) or extracted in SYMBOL_CURRENCIES.get(t, ()) for t in truths)
    return any(str(extracted).casefold() == t.casefold() for t in truths)


def page_html(benchmark: Path, key: str) -> bytes:
    html = benchmark / "dataset" / "html" / f"{key}.html"
    return html.read_bytes() if html.exists() else gzip.decompress(html.with_suffix(".html.gz").read_bytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("benchmark", type=Path, help="local copy of scrapinghub/product-extraction-benchmark")
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared",
                        help="the ../shared folder (its shop pages form the 'shared' set)")
    parser.add_argument("--misses", action="store_true", help="list the tune set's misses (never the test set's)")
    args = parser.parse_args()
    truth = json.loads((args.benchmark / "dataset" / "ground-truth.json").read_text(encoding="utf-8"))
    shared_truth = args.shared / "data" / "shop-pages" / "ground-truth.json"
    shared = set(json.loads(shared_truth.read_text(encoding="utf-8"))) if shared_truth.exists() else set()
    right: dict[str, Counter[str]] = {name: Counter() for name in ("shared", "tune", "test")}
    counted: dict[str, Counter[str]] = {name: Counter() for name in right}
    pages: Counter[str] = Counter()
    for position, key in enumerate(sorted(truth)):
        annotated = truth[key]
        which = "shared" if key in shared else ("tune" if position % 2 == 0 else "test")
        pages[which] += 1
        try:
            item = extract_product(page_html(args.benchmark, key), annotated["url"])
        except Exception as exc:  # noqa: BLE001 - a crash is a miss of every field, said once
            print(f"{key[:12]} ({which}): extraction failed: {type(exc).__name__}: {exc}")
            item = None
        record = item.to_dict() if item is not None else {}
        misses = []
        for field in FIELDS:
            if field not in annotated:
                continue
            counted[which][field] += 1
            if matches(field, record.get(field), annotated[field]):
                right[which][field] += 1
            else:
                misses.append(f"{field}: {record.get(field)!r}, annotated {annotated[field]}")
        if args.misses and which == "tune" and misses:
            print(f"{key[:12]} {annotated['url'][:80]}\n    " + "\n    ".join(misses))
    print(f"\n{'set':8s} {'pages':>5s} " + " ".join(f"{f:>14s}" for f in FIELDS))
    for which in ("shared", "tune", "test"):
        cells = [f"{right[which][f]}/{counted[which][f]} ({right[which][f] / max(counted[which][f], 1):.2f})"
                 for f in FIELDS]
        print(f"{which:8s} {pages[which]:>5d} " + " ".join(f"{c:>14s}" for c in cells))


if __name__ == "__main__":
    main()
