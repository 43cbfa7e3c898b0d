"""The whole vtonkit job on bundled data, offline: what `make demo` runs.

Each step is the very `vtonkit` command a user would type (printed before it runs), so the demo
doubles as a tutorial. The demo store runs in this process on 127.0.0.1; everything else runs
as subprocesses. Every step is resumable: an interrupted demo picks up where it stopped (the
crawl keeps its Scrapy job state, `prep` skips cached stage outputs, finished steps are skipped).
"""
from __future__ import annotations

import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vtonkit.crawlers.demo_store.catalogue import STATIC_DIR
from vtonkit.datasets.layout import SplitDir

# The bundled CC0 person photos (also the demo store's on-model shots; licences beside them).
PERSONS_DIR = STATIC_DIR / "persons"
CATEGORIES = ("upper", "lower")


@dataclass
class DemoPlan:
    """Where every result of the demo goes (all under `out`)."""

    out: Path
    workers: int = 2
    tocg_checkpoint: Path | None = None
    gen_checkpoint: Path | None = None
    results: list[tuple[str, Path]] = field(default_factory=list)

    @property
    def crawl(self) -> Path:
        return self.out / "crawl"

    def dataset(self, category: str) -> Path:
        return self.out / "datasets" / category

    def tryon(self, category: str) -> Path:
        return self.out / "tryon" / category

    @property
    def reports(self) -> Path:
        return self.out / "reports"

    @property
    def sheets(self) -> Path:
        return self.out / "sheets"

    def method(self, category: str) -> str:
        """HR-VITON when both checkpoints are given (its published weights are upper-body only)."""
        return "hrviton" if category == "upper" and self.tocg_checkpoint and self.gen_checkpoint else "warp"

    def method_args(self, category: str) -> list[object]:
        args: list[object] = ["--method", self.method(category), "--category", category]
        if self.method(category) == "hrviton":
            args += ["--tocg-checkpoint", self.tocg_checkpoint, "--gen-checkpoint", self.gen_checkpoint]
        return args


def vtonkit_command(*args: object) -> list[str]:
    return [sys.executable, "-m", "vtonkit", *map(str, args)]


class Steps:
    """The demo's steps, numbered over the whole run ("[3/13 pair list (upper)]"): numbers that
    restarted per category showed "[2/7 ...]" after "[6/7 ...]" and "[7/7 ...]" twice."""

    def __init__(self, total: int, echo: Callable[[str], None]) -> None:
        self.total, self.done, self.echo = total, 0, echo

    def title(self, what: str) -> str:
        self.done += 1
        return f"{self.done}/{self.total} {what}"

    def run(self, what: str, args: list[object], *, allowed_codes: tuple[int, ...] = (0,)) -> int:
        return run_step(self.title(what), args, self.echo, allowed_codes=allowed_codes)

    def skip(self, what: str, why: str) -> None:
        self.echo(f"\n[{self.title(what)}] {why}")


def run_step(title: str, args: list[object], echo: Callable[[str], None], *, allowed_codes: tuple[int, ...] = (0,)) -> int:
    """Print the user-facing command, run it, fail loudly on an unexpected exit code. `echo` must not
    wrap the command line: a line broken without a backslash does not paste into a shell."""
    shown = "vtonkit " + " ".join(shlex.quote(str(a)) for a in args)
    echo(f"\n[{title}]\n$ {shown}")
    started = time.perf_counter()
    code = subprocess.run(vtonkit_command(*args)).returncode
    echo(f"  ({time.perf_counter() - started:.1f} s, exit {code})")
    if code not in allowed_codes:
        raise RuntimeError(f"step '{title}' failed with exit code {code}: {shown}")
    return code


# the crawl, five steps per garment category, two catalog sheets
STEP_COUNT = 1 + 5 * len(CATEGORIES) + 2


def run_demo(plan: DemoPlan, echo: Callable[[str], None] = print) -> list[tuple[str, Path]]:
    """Run every step of the demo; returns (what, path) of each result."""
    from vtonkit.crawlers.demo_store.server import DemoStoreServer, prerender_drawn

    plan.out.mkdir(parents=True, exist_ok=True)
    plan.reports.mkdir(parents=True, exist_ok=True)
    results = plan.results
    steps = Steps(STEP_COUNT, echo)
    echo(f"vtonkit demo -> {plan.out}  (upper-body try-on: {plan.method('upper')}, lower-body: warp baseline)")

    # crawl the bundled demo store, served on loopback for the duration of the crawl.
    if not (plan.crawl / "summary.json").is_file():
        prerender_drawn()
        server = DemoStoreServer("127.0.0.1", 0, access_log=plan.out / "demo-store-access.log").start_background()
        echo(f"demo store serving at {server.url}")
        try:
            steps.run("crawl the demo store",
                      ["crawl", "demo", "--url", server.url, "--out", plan.crawl, "--no-throttle", "--resume"])
        finally:
            server.stop()
    else:
        steps.skip("crawl the demo store", "already done (delete the crawl folder to redo it)")
    results.append(("garment catalog (JSONL + Parquet) and images", plan.crawl))

    for category in CATEGORIES:
        dataset = plan.dataset(category)
        # preprocess persons and garments of this category into the HR-VITON layout.
        steps.run(f"prep {category}-body dataset",
                  ["prep", "--persons", PERSONS_DIR, "--cloths", plan.crawl, "--category", category,
                   "--out", dataset, "--split", "test", "--workers", plan.workers], allowed_codes=(0, 1))
        # unpaired test pairs in the official format.
        steps.run(f"pair list ({category})", ["pairs", dataset, "--split", "test", "--mode", "unpaired",
                                              "--category", category])
        results.append((f"{category}-body HR-VITON dataset + test_pairs.txt", dataset))
        # validate, then a static review report.
        report = plan.reports / f"validate-{category}.json"
        steps.run(f"validate ({category})", ["validate", dataset, "--json", report, "--category", category])
        results.append((f"validation report ({category})", report))
        review = plan.reports / f"review-{category}.html"
        steps.run(f"static review report ({category})", ["review", dataset, "--static", review])
        results.append((f"review report ({category}, open in a browser)", review))
        # try-on previews.
        method = plan.method(category)
        steps.run(f"try-on previews ({category}, {method})",
                  ["infer", dataset, "--split", "test", "--out", plan.tryon(category), "--grids",
                   *plan.method_args(category)])
        results.append((f"try-on previews ({category}, {method})", plan.tryon(category)))

    # catalog sheets: one upper garment on every person, one person in every lower garment.
    upper, lower = SplitDir(plan.dataset("upper") / "test"), SplitDir(plan.dataset("lower") / "test")
    what = "catalog sheet: one garment, every person"
    if upper.cloth_stems():
        steps.run(what, ["sheet", plan.dataset("upper"), "--garment", upper.cloth_stems()[0], "--out", plan.sheets,
                         *plan.method_args("upper")])
    else:
        steps.skip(what, "skipped: no upper-body garment was prepared")
    what = "catalog sheet: one person, every lower-body garment"
    if lower.person_stems():
        steps.run(what, ["sheet", plan.dataset("lower"), "--person", lower.person_stems()[0], "--out", plan.sheets,
                         *plan.method_args("lower")])
    else:
        steps.skip(what, "skipped: no lower-body person was prepared")
    results.append(("catalog sheets (PNG + HTML)", plan.sheets))
    return results
