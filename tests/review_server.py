"""Test helpers for the review app: serve it on 127.0.0.1 with a real uvicorn, find Debian chromium."""
from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from vtonkit.crawlers.browser import ChromiumNotFound, find_chromium

from conftest import in_ci


def chromium_path() -> str:
    """The crawler's own Chromium lookup (`$VTONKIT_CHROMIUM`, /usr/bin, PATH); skip without one
    (fail in CI, where `make test` installs it)."""
    try:
        return str(find_chromium())
    except ChromiumNotFound as exc:
        message = f"needs Debian chromium (apt-get install chromium, or `make system-deps`): {exc}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


@contextlib.contextmanager
def serve_on_loopback(app) -> Iterator[str]:
    """Run `app` with uvicorn on a free 127.0.0.1 port in a thread; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
