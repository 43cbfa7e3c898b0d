"""`vtonkit crawl`, `vtonkit extract-product`, `vtonkit demo-store`: the crawling area's CLI."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import typer
from vtonkit.core.terminal import escape, printable


class Category(str, Enum):
    upper = "upper"
    lower = "lower"
    dresses = "dresses"


class Render(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


def crawl(
    store: str = typer.Argument(
        None, help="Store spider to run (see --list-stores), e.g. demo, generic, shopify."
    ),
    out: Path = typer.Option(
        None,
        "--out",
        "-o",
        help="Output folder: catalog.jsonl/.parquet, products.jsonl, images/, summary.json, crawl.log.",
    ),
    limit: int = typer.Option(None, "--limit", "-n", min=1, help="Stop after this many products (with --resume, those of the earlier runs count too)."),
    category: Category = typer.Option(None, "--category", "-c", help="Keep only products of this category."),
    url: str = typer.Option(
        None,
        "--url",
        "-u",
        help="Store base URL (required for generic and shopify; overrides a store's default).",
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Resumable crawl: state in OUT/.job; rerun the same command to continue. "
        "Without --resume, a folder holding such a crawl is refused (its catalog is kept)."
    ),
    cache: bool = typer.Option(
        False, "--cache", help="Development HTTP cache in OUT/.httpcache (replays pages without refetching)."
    ),
    no_throttle: bool = typer.Option(
        False,
        "--no-throttle",
        help="No politeness delays: ONLY for your own servers (demo store, benchmarks).",
    ),
    no_browser: bool = typer.Option(
        False, "--no-browser", help="Skip the store's JavaScript-rendered pages (no Chromium started)."
    ),
    render: Render = typer.Option(
        None,
        "--render",
        help="When pages go through Chromium: auto (the default, unless the store's file says "
        "otherwise) = only pages that should hold a product but whose HTML has none (product "
        "sitemap, listing link, app shell); always; never. A rendered listing is scrolled and its "
        "'load more' / 'next page' buttons clicked until it stops growing.",
        show_default=False,
    ),
    render_budget: int = typer.Option(
        200, "--render-budget", min=0, help="At most this many pages rendered in Chromium per crawl."
    ),
    render_timeout: float = typer.Option(
        60.0, "--render-timeout", min=1.0,
        help="Seconds one rendered page may take, all steps; a page still busy then is closed and reported.",
    ),
    max_pages: int = typer.Option(
        None,
        "--max-pages",
        min=0,
        help="Page budget: stop after this many pages (images not counted). Default 5000; 0 = none.",
    ),
    max_time: float = typer.Option(
        None,
        "--max-time",
        min=0,
        help="Time budget in seconds: stop after this long, keeping what was found. Default 3600; 0 = none.",
    ),
    list_stores: bool = typer.Option(False, "--list-stores", help="List the available stores and exit."),
) -> None:
    """Crawl a store into a garment catalog and images.

    Obeys robots.txt, throttles itself, retries with backoff; a bad page or image is logged (OUT/crawl.log), counted in OUT/summary.json and skipped. Every crawl is bounded: --max-pages, --max-time, a stop after 300 pages without a product, link traps (facets, session ids, link loops) pruned and reported. Exit code 1 when no product was found or the crawl aborted.

    Example:

        vtonkit demo-store --port 8765 &
        vtonkit crawl demo --out runs/demo --url http://127.0.0.1:8765 --no-throttle
        vtonkit crawl generic --url https://shop.example --out runs/shop --limit 200 --category lower
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from vtonkit.core.native_logs import NATIVE_LOG, native_stderr_to
    from vtonkit.crawlers.limits import BUDGET_REASONS
    from vtonkit.crawlers.runner import CrawlSetupError, check_crawl, run_crawl, skipped_store_files, store_names

    from vtonkit.commands.checks import check_output_folder

    console = Console(stderr=True, soft_wrap=True)
    for problem in skipped_store_files():  # a broken store file costs its own store, not this crawl
        console.print(f"[yellow]warning:[/yellow] store file left out: {escape(problem)}", soft_wrap=True)
    if list_stores:
        for name in store_names():
            typer.echo(name)
        raise typer.Exit()
    if not store or out is None:
        console.print(
            "[red]error:[/red] give a STORE and --out DIR (vtonkit crawl --list-stores lists stores)"
        )
        raise typer.Exit(2)
    try:  # before the progress display: a crawl that cannot start draws none
        check_crawl(store, url, out=out, resume=resume)
    except CrawlSetupError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    check_output_folder(out)
    counts = {"pages": 0, "products": 0}
    columns = [
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"crawling {escape(store)}", total=limit, detail="")

        def on_event(kind: str, payload: object) -> None:
            if kind == "stopping":  # Ctrl-C or a budget: said at once, the pages in flight still finish
                progress.console.print(f"stopping ({escape(str(payload))}): no new request is sent; the pages in "
                                       "flight finish (Ctrl-C again to force)", highlight=False)
                progress.update(task, description=f"stopping {escape(store)}")
                return
            if kind == "page":
                counts["pages"] += 1
            elif kind == "product":
                counts["products"] += 1
                progress.advance(task)
            progress.update(task, detail=f"{counts['pages']} pages, {counts['products']} products")

        try:
            # native libraries (MediaPipe, Chromium) write to fd 2 from their own threads: send
            # that to OUT/native.log so the progress display stays readable
            with native_stderr_to(out / NATIVE_LOG):
                summary = run_crawl(
                    store,
                    out,
                    url=url,
                    limit=limit,
                    category=category.value if category else None,
                    cache=cache,
                    resume=resume,
                    no_throttle=no_throttle,
                    extra_settings={
                        "VTONKIT_RENDER_BUDGET": render_budget,
                        "VTONKIT_RENDER_TIMEOUT": render_timeout,
                        **({"VTONKIT_RENDER": render.value} if render else {}),
                    },
                    max_pages=max_pages,
                    max_seconds=max_time,
                    spider_args={"browser": "0"} if no_browser else None,
                    on_event=on_event,
                )
        except CrawlSetupError as exc:
            console.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from exc
    _print_summary(console, summary)
    if (problem := _store_not_answering(store, url, summary) or _all_disallowed(summary)) is not None:
        console.print(f"[yellow]note[/yellow] {escape(problem)}", soft_wrap=True)
    products_file = out / "products.jsonl"
    # a resumed crawl may add nothing new: what counts is the catalog as a whole
    found = summary.get("products_total") or (
        resume and products_file.exists() and products_file.stat().st_size > 0
    )
    if not found or summary.get("finish_reason") not in ("finished", "limit", *BUDGET_REASONS):
        raise typer.Exit(1)


def _print_summary(console, summary: dict) -> None:
    """The end-of-crawl summary. URLs, reasons and notes come from the crawled site: printed as
    text (escaped), never as rich markup, so `[/x]` in a URL is shown, not interpreted."""
    from rich.table import Table

    title = f"crawl of {summary.get('store')} ({summary.get('finish_reason')}, {summary.get('seconds')} s)"
    table = Table(title=escape(title))
    table.add_column("category")
    table.add_column("products", justify="right")
    table.add_column("images kept", justify="right")
    categories = sorted(set(summary.get("products", {})) | set(summary.get("images_kept", {})))
    for name in categories:
        table.add_row(
            escape(name), str(summary["products"].get(name, 0)), str(summary["images_kept"].get(name, 0))
        )
    table.add_row(
        "[bold]total", str(summary.get("products_total", 0)), str(summary.get("images_kept_total", 0))
    )
    console.print(table)
    if totals := summary.get("catalog_totals"):
        console.print(f"catalog with the earlier runs of this crawl: {totals['products']} products, "
                      f"{totals['images']} images kept")
    rendered = summary.get("rendered") or {}
    console.print(
        f"pages rendered in Chromium: {summary.get('rendered_total', 0)}"
        + (f" ({', '.join(f'{why}: {n}' for why, n in sorted(rendered.items()))})" if rendered else "")
        + f", {summary.get('render_seconds', 0)} s"
        + (f"; listings grew in {summary['grow_rounds']} scroll / load-more rounds" if summary.get("grow_rounds") else "")
    )
    missing = summary.get("missing_products") or []
    if missing:
        gaps = Table(title=f"{len(missing)} pages should have held a product and do not")
        gaps.add_column("page")
        gaps.add_column("why")
        for entry in missing:
            gaps.add_row(escape(entry["url"]), escape(entry["reason"]))
        console.print(gaps)
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(summary.get("image_status", {}).items()))
    if statuses:
        console.print(f"images: {statuses}", markup=False)
    skipped = ", ".join(f"{k}: {v}" for k, v in sorted(summary.get("skipped", {}).items()))
    if skipped:
        console.print(f"skipped: {skipped}", markup=False)
    for error in summary.get("page_errors", [])[:20]:
        console.print(f"[yellow]page skipped[/yellow] {escape(error['url'])}: {escape(error['reason'])}")
    for error in summary.get("image_errors", [])[:20]:
        console.print(f"[yellow]image skipped[/yellow] {escape(error['url'])}: {escape(error['reason'])}")
    for note in summary.get("notes", []):
        console.print(f"[yellow]note[/yellow] {escape(note)}")
    for trap in summary.get("traps", []):
        console.print(
            f"[yellow]link trap pruned[/yellow] {escape(trap['pattern'])}: {trap['pruned']} link(s), "
            f"e.g. {escape(trap['example'])}"
        )
    budget = summary.get("budget")
    if budget:
        limits = ", ".join(
            f"{name} {value if value else 'none'}"
            for name, value in (
                ("--max-pages", budget["max_pages"]),
                ("--max-time", f"{budget['max_seconds']:g} s" if budget["max_seconds"] else 0),
                ("stall", budget["stall_pages"]),
            )
        )
        stopped = f"; stopped by {budget['stopped_by']}" if budget.get("stopped_by") else ""
        console.print(f"budget: {budget['pages']} page(s) fetched ({limits}){stopped}", markup=False)
    console.print(
        f"catalog: {Path(summary.get('out', '.')) / 'catalog.jsonl'} (+ .parquet), summary: summary.json",
        markup=False,
    )


def _all_disallowed(summary: dict) -> str | None:
    """Why a crawl fetched no page at all when robots.txt disallowed every one it tried (only
    "skipped: robots.txt: 2" was shown, which reads as two pages left out of many)."""
    skipped = (summary.get("skipped") or {}).get("robots.txt", 0)
    if summary.get("finish_reason") != "finished":  # an unreadable robots.txt: its own note says so
        return None
    if skipped and not (summary.get("budget") or {}).get("pages") and not summary.get("products_total"):
        return (f"the store's robots.txt disallows every page this crawl tried ({skipped}, its start pages "
                "included) for vtonkit's user agent: nothing may be crawled there")
    return None


def _store_not_answering(store: str, url: str | None, summary: dict) -> str | None:
    """Why a crawl whose robots.txt was unreachable found nothing, when the start address refuses
    connections: the store is not running there (the robots.txt note alone suggested trying later)."""
    import socket
    from urllib.parse import urlsplit

    from vtonkit.crawlers.robots import ROBOTS_UNREACHABLE

    if summary.get("finish_reason") != ROBOTS_UNREACHABLE:
        return None
    start = url or _store_address(store)
    parts = urlsplit(start)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with socket.create_connection((parts.hostname, port), timeout=5):
            return None  # it answers now: the robots.txt note says what went wrong
    except ConnectionRefusedError:
        pass
    except (OSError, ValueError):  # no such host, a timeout: not the store-not-started case
        return None
    if store == "demo":
        where = "" if parts.hostname in ("127.0.0.1", "localhost") else f" --host {parts.hostname}"
        advice = f"start it first (in another terminal): vtonkit demo-store --port {port}{where}"
    else:
        advice = "check that the store runs and that --url names it"
    return f"nothing answered at {start} (connection refused): the store is not running at that address; {advice}"


def _store_address(store: str) -> str:
    """The address a store's spider crawls when no --url is given."""
    from scrapy.spiderloader import SpiderLoader
    from vtonkit.crawlers.runner import crawl_settings

    return getattr(SpiderLoader.from_settings(crawl_settings(None)).load(store), "base_url", "")


def extract_product_command(
    page: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="A saved product page (.html)."
    ),
    url: str = typer.Option(
        None,
        "--url",
        "-u",
        help="The page's original URL (resolves relative links, ranks SKU candidates); default: its canonical/og:url.",
    ),
) -> None:
    """Print the product extracted from a saved page as JSON (the spiders' own code path).

    Use it to debug a new store: save a product page from the browser, then run:

        vtonkit extract-product page.html --url https://shop.example/p/123
    """
    from vtonkit.crawlers.extract import extract_product
    from vtonkit.datasets.io.images import regular_file_problem

    from vtonkit.crawlers.settings import DOWNLOAD_MAXSIZE

    problem = regular_file_problem(page)  # /dev/zero would be read for ever
    size = page.stat().st_size if problem is None else 0
    if size > DOWNLOAD_MAXSIZE:
        problem = (f"{size} bytes, more than the {DOWNLOAD_MAXSIZE} a crawl downloads of a page "
                   "(DOWNLOAD_MAXSIZE): not a product page a crawl would read")
    if problem is None:
        try:
            data = page.read_bytes()
        except OSError as exc:
            problem = f"cannot read it ({exc.strerror or exc})"
    if problem is not None:
        typer.echo(printable(f"error: {page}: {problem}"), err=True)
        raise typer.Exit(2)
    try:
        item = extract_product(data, url or "")
    except Exception as exc:  # noqa: BLE001 - what the crawl reports as "extraction failed", said here too
        typer.echo(json.dumps({"error": f"{page}: extraction failed: {type(exc).__name__}: {exc}"}))
        raise typer.Exit(1) from exc
    if item is None:
        typer.echo(
            json.dumps(
                {"error": f"{page}: no product data found (no Product JSON-LD, microdata or OpenGraph)"}
            )
        )
        raise typer.Exit(1)
    record = item.to_dict()
    for pipeline_only in ("images", "garment_image_url", "crawled_at"):
        record.pop(pipeline_only, None)
    typer.echo(json.dumps(record, ensure_ascii=False, indent=2))


def demo_store(
    port: int = typer.Option(8765, "--port", "-p", min=0, max=65535, help="Port on 127.0.0.1 (0 picks a free one)."),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Interface to bind (keep loopback unless you mean it)."
    ),
    access_log: Path = typer.Option(None, "--access-log", help="Append one line per request to this file."),
    allow_host: list[str] = typer.Option(
        None, "--allow-host", help="Another host name browsers or crawlers may use to reach the store "
        "(repeatable). Requests naming any other host are refused (DNS-rebinding protection); 127.0.0.1, "
        "localhost, ::1 and --host are always allowed."),
) -> None:
    """Serve the demo store (tops, trousers, skirts, dresses) until Ctrl-C.

    Example:

        vtonkit demo-store --port 8765
        vtonkit crawl demo --out runs/demo --url http://127.0.0.1:8765 --no-throttle
    """
    from vtonkit.core.listening import listen_problem
    from vtonkit.crawlers.demo_store.server import DemoStoreServer, prerender_drawn

    from vtonkit.commands.checks import check_host_names

    allowed = check_host_names(allow_host)

    typer.echo("drawing the demo garments (cached after the first run)...", err=True)
    prerender_drawn()
    try:
        server = DemoStoreServer(host, port, access_log=access_log, allow_hosts=allowed)
    except OSError as exc:
        typer.echo(f"error: {listen_problem(exc, host, port)}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"demo store at {server.url}  (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("crawl")(crawl)
    app.command("extract-product")(extract_product_command)
    app.command("demo-store")(demo_store)
