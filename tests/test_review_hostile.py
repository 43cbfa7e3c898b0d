"""The review app under attack: a real uvicorn server on 127.0.0.1, real headless Chromium, real files.

Issue #15 items 1-4: DNS rebinding, active content served from the app's origin, framing, the
static report following symlinks out of the dataset, and concurrent writes reverting a decision.
"""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import os
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from review_server import chromium_path, serve_on_loopback
from vtonkit.crawlers.browser import LAUNCH_ARGS
from vtonkit.datasets.findings import Report
from vtonkit.datasets.review.app import create_app
from vtonkit.datasets.review.static_report import render_static_report
from vtonkit.datasets.review.store import db_path
from vtonkit.datasets.sample_copy import copy_dataset

# A page whose script records a decision on the app's origin: what an attacker wants to run there.
ATTACK_SCRIPT = """
  fetch("/api/decisions", {method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({split: "test", sample: "%s", decision: "reject", note: "pwned"})})
    .then(r => r.status, e => "error " + e).then(s => { document.body.dataset.post = String(s); });
"""


def decision_of(dataset: Path, sample: str) -> str | None:
    with sqlite3.connect(db_path(dataset)) as connection:
        row = connection.execute("SELECT decision FROM decisions WHERE sample = ?", (sample,)).fetchone()
    return row[0] if row else None


@pytest.fixture(scope="module")
def dataset(vitonhd: Path, tmp_path_factory) -> Path:
    return copy_dataset(vitonhd, tmp_path_factory.mktemp("hostile") / "ds")


def clean_report(dataset: Path) -> Report:
    """A report that lists the genuine test samples with no finding (validate has its own tests)."""
    stems = sorted(
        p.stem for p in (dataset / "test/image").glob("*.jpg") if "_" in p.stem and p.stem[0].isdigit()
    )
    return Report(dataset=dataset.name, splits=["test"], samples={"test": stems})


@pytest.fixture(scope="module")
def server(dataset: Path) -> Iterator[str]:
    app = create_app(dataset, clean_report(dataset), bound_host="127.0.0.1", allow_hosts=["review.lan"])
    with serve_on_loopback(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server: str):
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    rules = "MAP evil.example 127.0.0.1, MAP attacker.example 127.0.0.1"
    # Chromium's own Private Network Access checks would stop a public page's script from calling
    # 127.0.0.1; Firefox, Safari and older Chromium have none, so the app must not rely on them.
    no_pna = "BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,LocalNetworkAccessChecks"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable,
            args=[*LAUNCH_ARGS, f"--host-resolver-rules={rules}", f"--disable-features={no_pna}"],
        )
        yield chromium
        chromium.close()


@pytest.mark.browser
def test_dns_rebinding_is_refused(server: str, dataset: Path, browser) -> None:
    """The browser sends `Host: evil.example:PORT` (the name resolves to 127.0.0.1): nothing is
    read, nothing is recorded. The attacker's first page is served by Playwright's router: it
    stands for the page evil.example served before its DNS answer was switched to 127.0.0.1."""
    port = server.rsplit(":", 1)[1]
    evil = f"http://evil.example:{port}"
    page = browser.new_page()
    page.route(
        f"{evil}/attack",
        lambda route: route.fulfill(
            content_type="text/html",
            body=f"<html><body><script>{ATTACK_SCRIPT % '00006_00'}"
            "fetch('/api/samples').then(r => { document.body.dataset.read = String(r.status); });"
            "</script></body></html>",
        ),
    )
    page.goto(f"{evil}/attack")
    page.wait_for_selector("body[data-post][data-read]", state="attached")
    assert page.evaluate("document.body.dataset.read") == "403"
    assert page.evaluate("document.body.dataset.post") == "403"
    assert decision_of(dataset, "00006_00") is None
    # navigations through the rebound name are refused too: the page, a file, a thumbnail
    for path in ("/", "/files/test/image/00006_00.jpg", "/tile/test/00006_00/image.jpg"):
        assert page.goto(evil + path).status == 403, path
    # the same browser through the loopback name gets the app
    assert page.goto(f"http://localhost:{port}/").status == 200
    page.wait_for_selector("body[data-ready='1']")
    page.close()
    # other host spellings, and --allow-host
    with httpx.Client(base_url=server) as client:
        for host, status in (
            ("evil.example", 403),
            (f"127.0.0.1.evil.example:{port}", 403),
            (f"127.0.0.1:{port}@evil.example", 403),
            ("", 403),
            (f"localhost.:{port}", 200),
            (f"[::1]:{port}", 200),
            (f"review.lan:{port}", 200),
        ):
            assert client.get("/api/flags", headers={"Host": host}).status_code == status, host


def test_cross_site_changes_are_refused(server: str, dataset: Path) -> None:
    body = {"split": "test", "sample": "00008_00", "decision": "reject"}
    with httpx.Client(base_url=server) as client:
        for headers in (
            {"Origin": "http://evil.example"},
            {"Origin": "null"},
            {"Origin": f"http://localhost:{server.rsplit(':', 1)[1]}"},  # another name than the Host
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site"},
        ):
            assert client.post("/api/decisions", json=body, headers=headers).status_code == 403, headers
        form = client.post(
            "/api/decisions", content=b'{"split": "test"}', headers={"Content-Type": "text/plain"}
        )
        assert form.status_code == 415
        assert decision_of(dataset, "00008_00") is None
        same = {"Origin": server, "Sec-Fetch-Site": "same-origin"}
        assert (
            client.post("/api/decisions", json={**body, "decision": "keep"}, headers=same).status_code == 200
        )
    assert decision_of(dataset, "00008_00") == "keep"


@pytest.mark.browser
def test_active_content_is_never_served(server: str, dataset: Path, browser) -> None:
    """An .svg and an .html in an artifact folder would run script on the app's origin."""
    image = dataset / "test/image"
    (image / "evil.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><script>' + ATTACK_SCRIPT % "00013_00" + "</script></svg>"
    )
    (image / "evil.html").write_text(
        f"<html><body><script>{ATTACK_SCRIPT % '00013_00'}</script></body></html>"
    )
    (image / "evil.svg.jpg").write_bytes((image / "evil.svg").read_bytes())  # the name lies
    # a PNG named .jpg is served as what it is
    Image.new("RGB", (8, 8), (10, 200, 30)).save(image / "real-png.jpg", format="PNG")
    page = browser.new_page()
    for name in ("evil.svg", "evil.html", "evil.svg.jpg"):
        response = page.goto(f"{server}/files/test/image/{name}")
        assert response.status == 403, name
        page.wait_for_load_state("networkidle")  # any script on the page has finished its request
        assert (
            "image/svg" not in response.headers["content-type"]
            and "text/html" not in response.headers["content-type"]
        )
    assert decision_of(dataset, "00013_00") is None
    response = page.goto(f"{server}/files/test/image/real-png.jpg")
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    real = page.goto(f"{server}/files/test/image/00006_00.jpg")
    assert real.status == 200 and real.headers["content-type"] == "image/jpeg"
    assert page.evaluate("[...document.images].every(i => i.naturalWidth === 768)")  # it still displays
    keypoints = page.goto(f"{server}/files/test/openpose_json/00006_00_keypoints.json")
    assert keypoints.status == 200 and keypoints.headers["content-type"] == "application/json"
    for response in (real, page.goto(server + "/")):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
    page.wait_for_selector("body[data-ready='1']")  # the app itself works under its own CSP
    assert page.locator("section.card").count() > 0
    # another site framing the app (clickjacking a keep/reject) gets an error page in the frame
    page.route(
        "http://attacker.example/frame",
        lambda route: route.fulfill(
            content_type="text/html",
            body=f'<iframe src="{server}/"></iframe><img src="{server}/files/test/image/00006_00.jpg">',
        ),
    )
    page.goto("http://attacker.example/frame")
    page.wait_for_load_state("networkidle")
    framed = [frame for frame in page.frames if frame != page.main_frame]
    assert framed and all(frame.url.startswith("chrome-error://") for frame in framed)
    # ... and cannot embed the dataset's images either (not even to learn their sizes)
    assert page.evaluate("document.images[0].complete && document.images[0].naturalWidth") == 0
    page.close()


def test_static_report_never_embeds_a_file_outside_the_dataset(dataset: Path, tmp_path: Path) -> None:
    """A photo symlinked to a picture outside the dataset: the report shows a placeholder instead."""
    outside = tmp_path / "private.jpg"
    Image.new("RGB", (768, 1024), (255, 0, 255)).save(outside, quality=95)  # magenta: easy to find
    photo = dataset / "test/image/00017_00.jpg"
    kept = photo.with_name("kept-00017_00.jpg")
    photo.rename(kept)
    os.symlink(outside, photo)
    try:
        html = render_static_report(dataset, clean_report(dataset), thumb_height=64)
    finally:
        photo.unlink()
        kept.rename(photo)
    tiles = [
        np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")).astype(int)
        for data in re.findall(r"data:image/jpeg;base64,([A-Za-z0-9+/=]+)", html)
    ]
    assert len(tiles) >= 7 * 5
    magenta = [(t[..., 0] > 180) & (t[..., 1] < 90) & (t[..., 2] > 180) for t in tiles]
    assert max(m.mean() for m in magenta) < 0.05, "the outside picture was embedded"


def test_parallel_decisions_and_notes_never_revert_each_other(server: str, dataset: Path) -> None:
    """40 requests at once on one sample: half set keep/reject, half only a note (issue #15 item 4)."""
    sample, requests = "00034_00", 40
    barrier = threading.Barrier(requests)
    statuses: list[int] = []

    def send(i: int) -> None:
        payload = {"decision": ("keep", "reject")[i // 2 % 2]} if i % 2 else {"note": f"note-{i}"}
        with httpx.Client(base_url=server, timeout=60) as client:
            barrier.wait()
            statuses.append(
                client.post("/api/decisions", json={"split": "test", "sample": sample, **payload}).status_code
            )

    threads = [threading.Thread(target=send, args=(i,)) for i in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * requests
    with sqlite3.connect(db_path(dataset)) as connection:
        history = connection.execute(
            "SELECT decision, note FROM history WHERE sample = ? ORDER BY id", (sample,)
        ).fetchall()
        current = connection.execute(
            "SELECT decision, note FROM decisions WHERE sample = ?", (sample,)
        ).fetchone()
    assert len(history) == requests and tuple(history[-1]) == tuple(current)
    reverted = []
    for before, (decision, note) in itertools.pairwise(history):
        # every note is unique and only note-only writes send one: a row with a new note and a
        # new decision is a note write that put back a decision it had read before another write
        if note != before[1] and decision != before[0]:
            reverted.append((before, (decision, note)))
    assert reverted == [], f"{len(reverted)} writes reverted another: {reverted[:3]}"


@pytest.mark.parametrize("name", ["*", "", "http://review.lan", "review.lan/path", "*.lan"])
def test_an_allow_host_that_is_no_host_name_is_refused_not_turned_into_anything_goes(dataset: Path, name: str) -> None:
    """`--allow-host '*'` (or a URL) became "", the name a missing or malformed Host header parses to:
    requests without a usable Host were let through. Now it is an error, in the app and on the command line."""
    from typer.testing import CliRunner

    from vtonkit.cli import app as cli
    from vtonkit.core.hosts import allowed_host_names

    with pytest.raises(ValueError, match="not a host name"):
        allowed_host_names("127.0.0.1", [name])
    # --static: refused before it would write the report (and a server would never return)
    result = CliRunner().invoke(cli, ["review", str(dataset), "--static", str(dataset / "r.html"), "--allow-host", name],
                                env={"COLUMNS": "300"})
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "Invalid value for --allow-host: not a host name" in said, said
    assert not (dataset / "r.html").exists()
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "vtonkit", "demo-store", "--port", "0", "--allow-host", name],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "300"})
    said = " ".join(done.stderr.split())
    assert done.returncode == 2 and "Invalid value for --allow-host: not a host name" in said, said


@pytest.mark.parametrize(("note", "said"), [
    (b"bad \\ud800 note", "note is not valid Unicode text: a lone surrogate (U+D800) at character 4"),
    (b"cut\\u0000 here", "note holds a control character (U+0000) at character 3"),
], ids=["lone-surrogate", "nul"])
def test_a_note_that_is_no_text_is_a_clear_400(server: str, dataset: Path, note: bytes, said: str) -> None:
    """JSON allows a lone surrogate (\\ud800), UTF-8 and SQLite do not: it was an HTTP 500. A NUL (or an
    escape) was stored as is, and C-string readers of the table stop at it. Tabs and line breaks stay."""
    from vtonkit.datasets.review.store import storable_note

    head = b'{"split": "test", "sample": "00013_00", "decision": "keep", "note": "'
    before = decision_of(dataset, "00013_00")  # refused: the sample's decision stays as it was
    with httpx.Client(base_url=server) as client:
        answer = client.post("/api/decisions", content=head + note + b'"}', headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text[:300]
    assert said in answer.json()["detail"]
    assert decision_of(dataset, "00013_00") == before
    assert storable_note("two\nlines\tand a tab\r") == "two\nlines\tand a tab\r"


def test_a_request_body_over_one_mib_is_refused_unread(server: str, dataset: Path) -> None:
    """There was no limit: any body was read whole into memory. Refused with 413 from the limit on,
    declared (Content-Length) or not (chunked); a long note under it is stored."""
    def body(note_size: int) -> bytes:
        return b'{"split": "test", "sample": "00017_00", "note": "' + b"n" * note_size + b'"}'

    def chunked(data: bytes, chunk: int = 64 * 1024) -> Iterator[bytes]:  # no Content-Length
        for start in range(0, len(data), chunk):
            yield data[start: start + chunk]

    json_type = {"Content-Type": "application/json"}
    with httpx.Client(base_url=server, timeout=60) as client:
        answer = client.post("/api/decisions", content=body(2 << 20), headers=json_type)
        assert answer.status_code == 413 and "1 MiB" in answer.json()["detail"], answer.text[:300]
        answer = client.post("/api/decisions", content=chunked(body(64 << 20)), headers=json_type)
        assert answer.status_code == 413, answer.text[:300]
        assert decision_of(dataset, "00017_00") is None
        answer = client.post("/api/decisions", content=body(1000 * 1000), headers=json_type)
        assert answer.status_code == 200, answer.text[:300]
    assert decision_of(dataset, "00017_00") == "undecided"


def test_a_second_origin_header_is_refused(server: str, dataset: Path) -> None:
    """The guard read the last Origin header only: another site's first one was never looked at."""
    with httpx.Client(base_url=server) as client:
        answer = client.post("/api/decisions", json={"split": "test", "sample": "00006_00", "decision": "reject"},
                             headers=[("Origin", "http://evil.example"), ("Origin", server)])
    assert answer.status_code == 400 and "2 Origin headers" in answer.json()["detail"], answer.text[:300]
    assert decision_of(dataset, "00006_00") is None


def test_an_unreadable_dataset_file_is_refused_with_its_reason_not_a_500(vitonhd: Path, tmp_path: Path) -> None:
    """`/files/` of a dataset file the server may not read (mode 000) answered 500 and printed a
    PermissionError traceback. The real `vtonkit review` in its own process: as root it runs under
    setpriv without the override that lets root read any file (skipped where setpriv is missing)."""
    import socket
    import subprocess
    import sys
    import time

    from tests.permissions import without_root_override

    prefix = without_root_override()
    dataset = copy_dataset(vitonhd, tmp_path / "ds")
    unreadable = dataset / "test" / "image-parse-v3" / "00006_00.png"
    unreadable.chmod(0o000)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "review.log"
    with open(log, "w") as sink:
        run = subprocess.Popen([*prefix, sys.executable, "-m", "vtonkit", "review", str(dataset), "--port", str(port)],
                               stdout=sink, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(240):
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/api/flags").status_code == 200:
                        break
                assert run.poll() is None, log.read_text()
                time.sleep(0.25)
            answer = client.get("/files/test/image-parse-v3/00006_00.png")
            readable = client.get("/files/test/image-parse-v3/00008_00.png")
    finally:
        run.terminate()
        run.wait(timeout=30)
        unreadable.chmod(0o644)
    assert answer.status_code == 403, answer.text[:300]
    assert answer.json()["detail"] == "cannot read test/image-parse-v3/00006_00.png (permission denied)"
    assert readable.status_code == 200 and readable.headers["content-type"] == "image/png"
    assert "Traceback" not in log.read_text(), log.read_text()
