"""Checksums of everything the toolkit writes on the shared samples, to prove a refactor changed no output.

Runs, through the real CLI, in a scratch folder:
  - `vtonkit prep` (upper and lower) on a few shared person photos and garment shots,
  - `vtonkit prep-person` / `vtonkit prep-cloth` on the same photos,
  - `vtonkit agnostic` on a scratch copy of ../shared/data/vitonhd/test (upper and lower),
  - `vtonkit pairs` + `vtonkit infer --method warp` on the prepped upper dataset,
  - `vtonkit crawl demo --no-browser` of the demo store served on 127.0.0.1,
then writes {relative path: sha256} of every output file as JSON.

Ignored because they legitimately vary from run to run (timings, clocks, ports, scratch paths):
  prep-profile.json (timings), .vtonkit/native.log (native library chatter), crawl.log and
  summary.json of the crawl (timestamps, durations), the crawl's .job/.httpcache (none without
  --resume/--cache). Text outputs have the scratch folder path and the store's base URL replaced
  by placeholders before hashing, so absolute paths and the random port do not count. JSON-lines
  and Parquet rows are hashed without their clock fields (`crawled_at`; `seconds` and `finished`
  of infer's run log) and in sorted order (the crawler's concurrent requests finish in any order).
One unreadable person photo and one unreadable garment shot are among the inputs, so the error
records of the failure policy are part of the checksums too.

Known variation that is not a code change: when two demo products share one picture (or one
picture is served in two sizes), the crawl's catalog.jsonl / products.jsonl / catalog.parquet
credit it to whichever download finished first, so those three can differ between two runs of
the same code; the downloaded images/ files do not.

Usage: python bench/output_checksums.py OUT.json [--keep SCRATCH]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
PERSONS = ["01008_00.jpg", "07966_00.jpg", "049713_0.jpg", "model_1.png"]
UPPER_CLOTHS = ["00055_00.jpg", "02015_00.jpg"]
LOWER_CLOTHS = ["048554_1.jpg", "049805_1.jpg"]
IGNORED_NAMES = {"prep-profile.json", "native.log", "crawl.log", "summary.json"}
CLOCK_FIELDS = {"crawled_at", "seconds", "finished"}  # the crawl's clock; infer-log.jsonl's timings
TEXT_SUFFIXES = {".json", ".jsonl", ".txt", ".csv", ".html", ".toml"}


def vtonkit(*args: str, expect_ok: bool = False) -> int:
    """Run the CLI; failures of single inputs are part of the output, so only a crash stops the run."""
    run = subprocess.run([sys.executable, "-m", "vtonkit", *args], capture_output=True, text=True, cwd=REPO)
    if run.returncode not in (0, 1) or (expect_ok and run.returncode):
        raise SystemExit(f"vtonkit {' '.join(args)} exited {run.returncode}:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    return run.returncode


def _without_clock(value):
    if isinstance(value, dict):
        return {k: _without_clock(v) for k, v in value.items() if k not in CLOCK_FIELDS}
    if isinstance(value, list):
        return [_without_clock(v) for v in value]
    return value


def digest(path: Path, replacements: dict[str, str]) -> str:
    data = path.read_bytes()
    if path.suffix == ".parquet":
        import pandas as pd

        table = pd.read_parquet(path).drop(columns=list(CLOCK_FIELDS), errors="ignore").astype(str)
        data = table.sort_values(list(table.columns)).to_csv(index=False).encode("utf-8")
    if path.suffix in TEXT_SUFFIXES or path.suffix == ".parquet":
        text = data.decode("utf-8")
        for old, new in replacements.items():
            text = text.replace(old, new)
        if path.suffix == ".jsonl":
            rows = [json.dumps(_without_clock(json.loads(line)), sort_keys=True) for line in text.splitlines()]
            text = "\n".join(sorted(rows))
        data = text.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def checksums(root: Path, replacements: dict[str, str]) -> dict[str, str]:
    return {
        str(path.relative_to(root)): digest(path, replacements)
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name not in IGNORED_NAMES and not {".job", ".httpcache"} & set(path.parts)
    }


def run_all(scratch: Path) -> dict[str, str]:
    inputs = scratch / "inputs"
    for group, names, src in (("persons", PERSONS, "persons"), ("upper", UPPER_CLOTHS, "garments"),
                              ("lower", LOWER_CLOTHS, "garments")):
        (inputs / group).mkdir(parents=True)
        for name in names:
            shutil.copy(SHARED / "photos" / src / name, inputs / group / name)
    (inputs / "persons" / "broken.jpg").write_bytes(b"not a JPEG")
    (inputs / "upper" / "broken_00.jpg").write_bytes(b"not a JPEG either")
    out = scratch / "out"
    for category in ("upper", "lower"):
        vtonkit("prep", "--persons", str(inputs / "persons"), "--cloths", str(inputs / category), "--category",
                category, "--out", str(out / f"prep-{category}"), "--split", "test", "--no-progress")
    vtonkit("prep-person", *map(str, sorted((inputs / "persons").iterdir())), "--out",
            str(out / "prep-person" / "test"), "--category", "upper")
    vtonkit("prep-cloth", *map(str, sorted((inputs / "upper").iterdir())), "--out", str(out / "prep-cloth" / "test"))
    for category in ("upper", "lower"):
        split = out / f"agnostic-{category}" / "test"
        shutil.copytree(SHARED / "vitonhd" / "test", split)
        vtonkit("agnostic", str(split), "--category", category)
    vtonkit("pairs", str(out / "prep-upper"), "--split", "test", "--mode", "unpaired", "--seed", "1")
    vtonkit("infer", str(out / "prep-upper"), "--split", "test", "--method", "warp", "--out",
            str(out / "infer-warp"), "--grids")
    base_url = crawl_demo(out / "crawl-demo")
    return checksums(out, {str(scratch): "<SCRATCH>", base_url: "<STORE>"})


def crawl_demo(out: Path) -> str:
    from vtonkit.crawlers.demo_store.server import DemoStoreServer, prerender_drawn

    prerender_drawn()
    server = DemoStoreServer(port=0).start_background()
    try:
        base_url = server.url.rstrip("/")
        vtonkit("crawl", "demo", "--out", str(out), "--url", base_url, "--no-throttle", "--no-browser")
    finally:
        server.stop()
    return base_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("json_out", type=Path)
    parser.add_argument("--keep", type=Path, help="Keep the outputs in this (new) folder instead of a temp folder.")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True)
        sums = run_all(args.keep.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="vtonkit-checksums-") as tmp:
            sums = run_all(Path(tmp))
    args.json_out.write_text(json.dumps(sums, indent=1, sort_keys=True) + "\n")
    print(f"{len(sums)} output files -> {args.json_out}")


if __name__ == "__main__":
    main()
