"""The model store: where real-model weights live, how they get there, and how they are checked.

Files are cached under `$VTONKIT_HOME/models/<name>/<filename>` (default home:
`platformdirs.user_cache_dir("vtonkit")`). A local file can be used instead of a download, either
per call (`model_path=` on a backend), in the config file (`[models] schp-lip = "/path"`), or once
for all with `vtonkit models use NAME --file PATH` (recorded in `$VTONKIT_HOME/local-models.json`).

Downloads are resumable: bytes go to `<file>.part`; after a cut connection the next attempt asks
for the rest with an HTTP `Range` header. The finished file is checked (size, then checksum) and
only then renamed into place, so a cached file is always complete and verified; a corrupt
download is deleted. Its sha256 is recorded next to it (`<file>.sha256`) so `verify` can detect
later corruption even for models without a published checksum.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vtonkit.datasets.file_digest import file_digest
from vtonkit.datasets.io.files import atomic_write_json, atomic_write_text
from vtonkit.datasets.io.images import regular_file_problem
from vtonkit.preprocess.model_registry import MODELS, ModelSpec, get_spec

from vtonkit.core.errors import InputError, VtonkitError

logger = logging.getLogger(__name__)

CHUNK = 1 << 20
LOCAL_MODELS_FILE = "local-models.json"

ProgressCallback = Callable[[int, int | None], None]
"""Called with (bytes done, total bytes or None) while downloading."""


class ModelError(VtonkitError):
    """A model file is missing, unusable or failed to download."""


class ModelNotFoundError(ModelError):
    """The model is neither cached nor pointed at."""


class DownloadError(ModelError):
    """The download failed (network, HTTP status, no URL)."""


class ChecksumMismatchError(ModelError, InputError):
    """A file's checksum differs from the registry's (the file was removed when it was a download)."""


class SizeMismatchError(ModelError, InputError):
    """A file's size differs from the registry's."""


# ----------------------------------------------------------------------------------- locations


def home() -> Path:
    """`$VTONKIT_HOME`, default `platformdirs.user_cache_dir("vtonkit")`."""
    env = os.environ.get("VTONKIT_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("vtonkit"))


def cache_path(spec: ModelSpec | str) -> Path:
    """Where the downloaded file of `spec` lives (whether or not it exists)."""
    spec = get_spec(spec) if isinstance(spec, str) else spec
    return home() / "models" / spec.name / spec.filename


def _local_models_file() -> Path:
    return home() / LOCAL_MODELS_FILE


def local_overrides() -> dict[str, str]:
    """Model name -> local file recorded by `use` (empty when none)."""
    path = _local_models_file()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc}); fix or delete it") from exc
    if not isinstance(data, dict):
        raise InputError(path, "expected a JSON object {model name: file path}")
    return {str(k): str(v) for k, v in data.items()}


def use(name: str, file: str | Path, *, check: bool = True) -> Path:
    """Point model `name` at a local file (recorded in `$VTONKIT_HOME/local-models.json`).

    With `check`, a file whose size or published checksum disagrees with the registry is refused.
    """
    spec = get_spec(name)
    file = Path(file).expanduser().resolve()
    problem = regular_file_problem(file)
    if problem is not None:
        raise InputError(file, f"model file for {name}: {problem}")
    if check:
        _check_file(spec, file)
    overrides = local_overrides()
    overrides[name] = str(file)
    atomic_write_json(_local_models_file(), overrides, indent=2)
    return file


def forget(name: str) -> bool:
    """Remove a `use` record; True when there was one."""
    overrides = local_overrides()
    if overrides.pop(name, None) is None:
        return False
    atomic_write_json(_local_models_file(), overrides, indent=2)
    return True


def path(name: str, *, configured: dict[str, str] | None = None) -> Path:
    """The file to load for model `name`.

    Order: `configured` (the config file's `[models]` table, see `vtonkit.preprocess.config`),
    then `vtonkit models use` records, then the download cache.

    Raises:
        ModelNotFoundError: none of them has the file (the message says how to get it).
        InputError: a configured or recorded local file does not exist.
    """
    spec = get_spec(name)
    if configured is None:
        from vtonkit.preprocess.config import configured_model_paths

        configured = configured_model_paths()
    for source, table in (("config [models]", configured), ("`vtonkit models use`", local_overrides())):
        if name in table:
            local = Path(table[name]).expanduser()
            if not local.is_file():
                raise InputError(local, f"model file for {name} (set by {source}) not found")
            return local
    cached = cache_path(spec)
    if cached.is_file():
        return cached
    how = (f"run `vtonkit models download {name}`" if spec.urls
           else f"no download is available ({spec.checksum_source})")
    raise ModelNotFoundError(
        f"model {name} is not available: {how}, or point at a local file with "
        f"`vtonkit models use {name} --file PATH` or `[models] {name} = \"PATH\"` in vtonkit.toml"
    )


# ------------------------------------------------------------------------------------ checking


def _check_file(spec: ModelSpec, file: Path) -> None:
    """Raise when `file`'s size or checksum disagrees with `spec` (a size check is cheap: first)."""
    if spec.size is not None and file.stat().st_size != spec.size:
        raise SizeMismatchError(
            file, f"size {file.stat().st_size} bytes, but {spec.name} is {spec.size} bytes: "
            "incomplete or a different file"
        )
    if spec.checksum:
        actual = file_digest(file, spec.checksum_algorithm)
        if actual != spec.checksum_hex:
            raise ChecksumMismatchError(
                file, f"{spec.checksum_algorithm} {actual} does not match {spec.name}'s "
                f"{spec.checksum_hex} ({spec.checksum_source}): corrupt or a different file"
            )


@dataclass
class VerifyResult:
    """Outcome of `verify` for one model. `status`: ok | missing | corrupt | unverified."""

    name: str
    status: str
    path: Path | None
    detail: str


def verify(name: str) -> VerifyResult:
    """Check the file `path(name)` would load: size and published checksum, else the recorded sha256."""
    spec = get_spec(name)
    try:
        file = path(name)
    except (ModelNotFoundError, InputError) as exc:
        return VerifyResult(name, "missing", None, str(exc))
    try:
        _check_file(spec, file)
    except (SizeMismatchError, ChecksumMismatchError) as exc:
        return VerifyResult(name, "corrupt", file, exc.reason)
    if spec.checksum:
        return VerifyResult(name, "ok", file, f"{spec.checksum_algorithm} matches ({spec.checksum_source})")
    recorded = file.with_name(file.name + ".sha256")
    if recorded.is_file():
        expected = recorded.read_text(encoding="utf-8").split()[0]
        actual = file_digest(file)
        if actual != expected:
            return VerifyResult(name, "corrupt", file, f"sha256 {actual} differs from the one recorded at download {expected}")
        return VerifyResult(name, "unverified", file, "unchanged since download (no published checksum)")
    return VerifyResult(name, "unverified", file, f"sha256 {file_digest(file)}; no published checksum to compare")


# ----------------------------------------------------------------------------------- downloads


def download_file(
    url: str, dest: Path, *, expected_size: int | None = None, retries: int = 3, timeout: float = 30.0,
    progress: ProgressCallback | None = None, backoff_s: float = 0.5,
) -> Path:
    """Download `url` to `dest` resumably; returns `dest.part` holding the complete body.

    An existing `dest.part` is continued with `Range: bytes=<size>-`. A server that ignores the
    range (status 200) restarts the file. Cut connections are retried `retries` times, each
    continuing where the last one stopped.
    """
    part = dest.with_name(dest.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    attempt = 0
    while True:
        try:
            _fetch_into(url, part, expected_size=expected_size, timeout=timeout, progress=progress)
            return part
        except (http.client.IncompleteRead, ConnectionError, socket.timeout, TimeoutError,
                urllib.error.URLError, http.client.HTTPException) as exc:
            if isinstance(exc, urllib.error.HTTPError) and exc.code not in (408, 429, 500, 502, 503, 504):
                raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
            attempt += 1
            done = part.stat().st_size if part.exists() else 0
            if attempt > retries:
                raise DownloadError(
                    f"{url}: download interrupted after {done} bytes ({exc!r}); run the same command "
                    f"again to resume from {part}"
                ) from exc
            logger.warning("download of %s interrupted at %d bytes (%r); resuming", url, done, exc)
            time.sleep(backoff_s * attempt)


def _fetch_into(url: str, part: Path, *, expected_size: int | None, timeout: float,
                progress: ProgressCallback | None) -> None:
    have = part.stat().st_size if part.exists() else 0
    if expected_size is not None and have == expected_size:
        return
    if expected_size is not None and have > expected_size:
        part.unlink()
        have = 0
    request = urllib.request.Request(url, headers={"User-Agent": "vtonkit-models/1"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            # Nothing left to send: the part file is already whole (size unknown to us).
            return
        raise
    with response:
        if have and response.status == 206:
            start = _content_range_start(response.headers.get("Content-Range"))
            if start != have:
                raise DownloadError(f"{url}: server resumed at byte {start}, expected {have}")
            mode = "ab"
        else:
            have, mode = 0, "wb"  # full body (server ignored the range, or a fresh start)
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else expected_size
        with open(part, mode) as handle:
            done = have
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                handle.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
            handle.flush()
            os.fsync(handle.fileno())
        if total is not None and done < total:
            raise http.client.IncompleteRead(b"", total - done)


def _content_range_start(value: str | None) -> int:
    # "bytes 100-999/1000"
    if not value or not value.startswith("bytes "):
        raise DownloadError(f"server answered 206 without a valid Content-Range ({value!r})")
    return int(value[6:].split("-", 1)[0])


def download(
    spec: ModelSpec | str, *, url: str | None = None, force: bool = False, retries: int = 3,
    timeout: float = 30.0, progress: ProgressCallback | None = None,
) -> Path:
    """Download model `spec` into the cache (resumable), verify it, and return its path.

    Args:
        spec: registry name or a `ModelSpec`.
        url: use this URL instead of the registry's (a mirror).
        force: download again even when a verified copy is cached (a cached copy that fails
            its check is always downloaded again).

    Raises:
        DownloadError: no URL, HTTP/network failure after `retries` resumptions.
        SizeMismatchError / ChecksumMismatchError: every URL failed and at least one served a
            wrong file (deleted); a wrong file from one URL makes the next URL of the entry be tried.
    """
    spec = get_spec(spec) if isinstance(spec, str) else spec
    dest = cache_path(spec)
    if dest.is_file() and not force:
        try:
            _check_file(spec, dest)
            return dest
        except (SizeMismatchError, ChecksumMismatchError) as exc:
            logger.warning("cached %s is corrupt (%s): downloading it again", spec.name, exc.reason)
            dest.unlink()
    urls = (url,) if url else spec.urls
    if not urls:
        raise DownloadError(f"model {spec.name} has no download URL: {spec.checksum_source}")
    errors: list[str] = []
    mismatch: SizeMismatchError | ChecksumMismatchError | None = None
    for candidate in urls:
        try:
            part = download_file(candidate, dest, expected_size=spec.size, retries=retries,
                                 timeout=timeout, progress=progress)
        except DownloadError as exc:
            errors.append(str(exc))
            continue
        try:
            _check_file(spec, part)
        except (SizeMismatchError, ChecksumMismatchError) as exc:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()  # never leave a corrupt file that a later run (or the next mirror) would resume
            # A stale or wrong mirror must not hide a good one further down the list.
            logger.warning("%s from %s: %s; trying the next URL", spec.name, candidate, exc.reason)
            errors.append(f"{candidate}: {exc.reason}")
            mismatch = mismatch or exc
            continue
        atomic_write_text(dest.with_name(dest.name + ".sha256"), f"{file_digest(part)}  {dest.name}\n")
        os.replace(part, dest)
        logger.info("downloaded %s -> %s", spec.name, dest)
        return dest
    if mismatch is not None:  # every URL answered, at least one with the wrong file: say so, with its type
        raise type(mismatch)(mismatch.path, "; ".join(errors))
    raise DownloadError(f"could not download {spec.name}: " + "; ".join(errors))


def list_models() -> list[tuple[ModelSpec, str]]:
    """Every registry entry with where it stands: "cached", "local", or "missing"."""
    overrides = local_overrides()
    rows = []
    for spec in MODELS.values():
        if spec.name in overrides:
            state = "local"
        elif cache_path(spec).is_file():
            state = "cached"
        else:
            state = "missing"
        rows.append((spec, state))
    return rows
