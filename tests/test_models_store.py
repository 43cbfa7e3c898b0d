"""The model store against a real HTTP server on 127.0.0.1 (threaded http.server with Range support)."""
from __future__ import annotations

import hashlib
import http.server
import json
import re
import threading

import pytest

from vtonkit.preprocess import models
from vtonkit.preprocess.model_registry import MODELS, ModelSpec

PAYLOAD = bytes(range(256)) * 4096 + b"tail"  # 1 MiB + 4 bytes, several read chunks


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, payload: bytes, cut_first: bool = False, honour_range: bool = True):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.payload, self.cut_first, self.honour_range = payload, cut_first, honour_range
        self.requests: list[str | None] = []  # the Range header of each GET

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/weights.onnx"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        server: _Server = self.server  # type: ignore[assignment]
        if self.path != "/weights.onnx":
            self.send_error(404)
            return
        header = self.headers.get("Range")
        server.requests.append(header)
        body, start = server.payload, 0
        if header and server.honour_range:
            start = int(header.split("=")[1].split("-")[0])
            body = server.payload[start:]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(server.payload) - 1}/{len(server.payload)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if server.cut_first and len(server.requests) == 1:
            # Cut the connection half-way through the body (a dropped download).
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def serve():
    servers = []

    def start(**kwargs) -> _Server:
        server = _Server(PAYLOAD, **kwargs)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def store_home(tmp_path, monkeypatch):
    monkeypatch.setenv("VTONKIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("VTONKIT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "home"


def _spec(url: str, *, checksum: str | None = "good", size: int | None = len(PAYLOAD)) -> ModelSpec:
    if checksum == "good":
        checksum = "sha256:" + hashlib.sha256(PAYLOAD).hexdigest()
    return ModelSpec(name="test-model", backends=("none",), filename="weights.onnx", urls=(url,), size=size,
                     checksum=checksum, checksum_source="test")


def test_download_success_verifies_and_renames_atomically(serve, store_home):
    server = serve()
    path = models.download(_spec(server.url))
    assert path == store_home / "models" / "test-model" / "weights.onnx"
    assert path.read_bytes() == PAYLOAD
    assert not path.with_name("weights.onnx.part").exists()
    assert path.with_name("weights.onnx.sha256").read_text().split()[0] == hashlib.sha256(PAYLOAD).hexdigest()
    assert server.requests == [None]
    models.download(_spec(server.url))  # cached and verified: no second request
    assert server.requests == [None]


def test_download_resumes_after_cut_connection(serve):
    server = serve(cut_first=True)
    path = models.download(_spec(server.url), retries=2)
    assert path.read_bytes() == PAYLOAD
    # First request got half the body; the retry asked for exactly the rest.
    assert server.requests == [None, f"bytes={len(PAYLOAD) // 2}-"]


def test_interrupted_download_resumes_on_the_next_run(serve):
    server = serve(cut_first=True)
    with pytest.raises(models.DownloadError, match="resume"):
        models.download(_spec(server.url), retries=0)
    part = models.cache_path(_spec(server.url)).with_name("weights.onnx.part")
    assert part.stat().st_size == len(PAYLOAD) // 2
    path = models.download(_spec(server.url), retries=0)
    assert path.read_bytes() == PAYLOAD and not part.exists()
    assert server.requests[-1] == f"bytes={len(PAYLOAD) // 2}-"


def test_server_ignoring_range_restarts_cleanly(serve):
    server = serve(cut_first=True, honour_range=False)
    path = models.download(_spec(server.url), retries=1)
    assert path.read_bytes() == PAYLOAD


def test_checksum_mismatch_rejected_and_partial_removed(serve):
    server = serve()
    spec = _spec(server.url, checksum="sha256:" + "0" * 64)
    with pytest.raises(models.ChecksumMismatchError, match="does not match"):
        models.download(spec)
    cached = models.cache_path(spec)
    assert not cached.exists() and not cached.with_name("weights.onnx.part").exists()


def test_size_mismatch_rejected(serve):
    server = serve()
    spec = _spec(server.url, size=len(PAYLOAD) + 10, checksum=None)
    with pytest.raises(models.SizeMismatchError, match="bytes"):
        models.download(spec, retries=0)
    assert not models.cache_path(spec).exists()


def test_http_404_is_a_clear_error(serve):
    server = serve()
    with pytest.raises(models.DownloadError, match="404"):
        models.download(_spec(server.url.replace("weights", "missing")))


def test_path_order_config_then_use_then_cache(tmp_path, store_home):
    with pytest.raises(models.ModelNotFoundError, match="vtonkit models download schp-lip"):
        models.path("schp-lip")
    local = tmp_path / "my_lip.onnx"
    local.write_bytes(b"weights")
    models.use("schp-lip", local, check=False)
    assert models.path("schp-lip") == local.resolve()
    assert json.loads((store_home / "local-models.json").read_text())["schp-lip"] == str(local.resolve())
    other = tmp_path / "from_config.onnx"
    other.write_bytes(b"x")
    assert models.path("schp-lip", configured={"schp-lip": str(other)}) == other
    local.unlink()
    with pytest.raises(models.InputError, match="my_lip.onnx"):
        models.path("schp-lip")
    assert models.forget("schp-lip") and not models.forget("schp-lip")


def test_use_refuses_a_file_of_the_wrong_size(tmp_path):
    wrong = tmp_path / "parsing_lip.onnx"
    wrong.write_bytes(b"too small")
    with pytest.raises(models.SizeMismatchError, match="266863411"):
        models.use("schp-lip", wrong)


def test_use_says_what_stands_where_the_file_should_be(tmp_path):
    """A folder was "model file not found"; a dangling link too."""
    from vtonkit.core.errors import InputError

    folder = tmp_path / "weights"
    folder.mkdir()
    dangling = tmp_path / "parsing_lip.onnx"
    dangling.symlink_to(tmp_path / "gone.onnx")
    for where, problem in ((folder, "not a regular file (a folder)"), (tmp_path / "none.onnx", "file not found")):
        with pytest.raises(InputError, match=re.escape(f"model file for schp-lip: {problem}")):
            models.use("schp-lip", where)
    with pytest.raises(InputError, match="model file for schp-lip: file not found"):
        models.use("schp-lip", dangling)  # resolved first: the missing target is named


def test_verify_reports_ok_corrupt_missing_unverified(serve, monkeypatch):
    server = serve()
    spec = _spec(server.url)
    monkeypatch.setitem(MODELS, spec.name, spec)
    assert models.verify(spec.name).status == "missing"
    path = models.download(spec.name, url=server.url)
    assert models.verify(spec.name).status == "ok"
    path.write_bytes(PAYLOAD[:-1] + b"X")
    result = models.verify(spec.name)
    assert result.status == "corrupt" and "does not match" in result.detail
    # Without a published checksum: the sha256 recorded at download time catches corruption.
    unpublished = _spec(server.url, checksum=None)
    monkeypatch.setitem(MODELS, spec.name, unpublished)
    path.unlink()
    models.download(spec.name)
    assert models.verify(spec.name).status == "unverified"
    path.write_bytes(PAYLOAD[:-1] + b"Y")
    assert models.verify(spec.name).status == "corrupt"


def test_registry_entries_are_complete():
    for spec in MODELS.values():
        assert spec.licence and spec.notes and spec.backends and spec.filename
        assert spec.checksum is None or spec.checksum_algorithm in ("sha256", "sha512", "md5")
        assert spec.urls or "export" in spec.checksum_source
        assert all(url.startswith("https://") for url in spec.urls)


def test_cli_download_verify_path(serve, monkeypatch, store_home):
    from typer.testing import CliRunner

    from vtonkit.cli import app

    server = serve(cut_first=True)
    monkeypatch.setitem(MODELS, "test-model", _spec(server.url))
    runner = CliRunner()
    result = runner.invoke(app, ["models", "download", "test-model"])
    assert result.exit_code == 0, result.output
    assert "1 downloaded, 0 failed" in result.output
    result = runner.invoke(app, ["models", "verify", "test-model"])
    assert result.exit_code == 0 and "test-model: ok" in result.output
    result = runner.invoke(app, ["models", "path", "test-model"])
    assert result.output.strip() == str(store_home / "models" / "test-model" / "weights.onnx")
    result = runner.invoke(app, ["models", "path", "schp-atr"])
    assert result.exit_code == 1 and "vtonkit models download schp-atr" in result.output
    result = runner.invoke(app, ["models", "download", "no-such-model"])
    assert result.exit_code == 1 and "unknown model" in result.output


def test_corrupt_cached_file_is_downloaded_again(serve):
    server = serve()
    spec = _spec(server.url)
    path = models.download(spec)
    path.write_bytes(b"garbage")
    assert models.download(spec).read_bytes() == PAYLOAD
    assert server.requests == [None, None]


@pytest.mark.parametrize("wrong", ["checksum", "size"])
def test_wrong_file_on_the_first_url_falls_back_to_the_next_url(serve, wrong):
    # Two real loopback servers: the first serves a different file (a stale mirror), the second the right one.
    stale = serve()
    stale.payload = PAYLOAD[:-4] + b"TAIL" if wrong == "checksum" else PAYLOAD + b"extra"
    good = serve()
    spec = _spec(stale.url)
    spec = ModelSpec(name=spec.name, backends=spec.backends, filename=spec.filename, urls=(stale.url, good.url),
                     size=spec.size, checksum=spec.checksum, checksum_source=spec.checksum_source)
    path = models.download(spec, retries=0)
    assert path.read_bytes() == PAYLOAD
    assert stale.requests == [None] and good.requests == [None]  # the good mirror did not resume the bad bytes


def test_every_url_serving_a_wrong_file_names_each_url(serve):
    first, second = serve(), serve()
    spec = ModelSpec(name="test-model", backends=("none",), filename="weights.onnx", urls=(first.url, second.url),
                     size=len(PAYLOAD), checksum="sha256:" + "0" * 64, checksum_source="test")
    with pytest.raises(models.ChecksumMismatchError) as caught:
        models.download(spec, retries=0)
    assert first.url in str(caught.value) and second.url in str(caught.value)
    assert not models.cache_path(spec).with_name("weights.onnx.part").exists()


def test_cli_lists_every_stage_backend():
    """`--pose` pointed at `vtonkit models list`, which lists weight files: mediapipe, geometric, cv (the
    defaults) appeared nowhere but in the error for an unknown name."""
    from typer.testing import CliRunner
    from vtonkit.preprocess.stages import REGISTRIES

    from vtonkit.cli import app

    result = CliRunner().invoke(app, ["models", "backends"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("│")]
    for stage, registry in REGISTRIES.items():
        for name in registry.names():
            label = f"{name} (default)" if name == registry.default else name
            assert any(f"--{stage.replace('_', '-')})" in row and f" {label} " in row for row in rows), (stage, name)
    assert any("dwpose " in row and "dwpose-det, dwpose-pose" in row for row in rows)
