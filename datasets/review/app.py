"""The local review app: FastAPI + vanilla JS, served from 127.0.0.1, works offline.

Routes:
  GET  /                                   the single page (static/index.html)
  GET  /static/{app.js|app.css}            its script and style (no CDN)
  GET  /api/samples?flag=&decision=&sort=  review rows (findings + decision): persons, then garment-only
                                           stems ("kind": "garment", shown as cloth + cloth mask)
  GET  /api/flags                          finding counts per code (for the filter)
  POST /api/decisions                      {split, sample, decision?, note?} -> stored record
  GET  /tile/{split}/{sample}/{kind}.jpg   thumbnail rendered from the dataset files
  GET  /files/{split}/{folder}/{file}      a raw dataset file (only known artifact folders), served
                                           only as what its content is: JPEG, PNG, or (keypoints) JSON
Every path parameter goes through `safe_paths`; nothing outside the dataset is ever served.
`http_guard` refuses other hosts (DNS rebinding) and cross-site changes, and adds nosniff, CSP
and anti-framing headers to every response.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from threading import Lock
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from vtonkit.datasets import layout
from vtonkit.datasets.findings import CODES, Report
from vtonkit.datasets.review.http_guard import LocalOnlyGuard
from vtonkit.datasets.review.safe_paths import (
    UnsafePathError,
    check_split,
    check_stem,
    links_outside,
    normalisation_forms,
    resolve_dataset_file,
)
from vtonkit.datasets.review.samples import (
    SORTS,
    Listing,
    build_rows,
    flag_problem,
    reviewable,
    select_rows,
    split_level_findings,
)
from vtonkit.datasets.review.store import DECISIONS, DecisionStore, NoteConflict
from vtonkit.datasets.review.tiles import DEFAULT_HEIGHT, KINDS, TILE_KINDS, source_files, tile_jpeg, tile_kinds

from vtonkit.core.hosts import allowed_host_names

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css"}
TILE_CACHE_SIZE = 512
# Content signatures of the only file types `/files/` hands out (a file is served as what it is,
# whatever its name says; an .svg or .html dropped into an artifact folder is refused).
IMAGE_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


class NotServable(ValueError):
    """A dataset file whose content is not a type the app serves."""


def servable_body(path: Path) -> tuple[bytes, str]:
    """(body, media type) of a dataset file, typed from its content: JPEG, PNG, or keypoints JSON
    (parsed and re-encoded, so the bytes sent are JSON and nothing else). Raises NotServable."""
    data = path.read_bytes()
    for signature, media_type in IMAGE_SIGNATURES:
        if data.startswith(signature):
            return data, media_type
    if path.parent.name == layout.OPENPOSE_JSON:
        try:
            return json.dumps(json.loads(data)).encode(), "application/json"
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise NotServable(f"{path.name} is not valid JSON") from exc
    raise NotServable(f"{path.name} is not a JPEG or PNG image")


class DecisionIn(BaseModel):
    split: str
    sample: str
    decision: str | None = None
    note: str | None = None
    note_read: str | None = None  # the note the page showed: a note changed since (another tab) is not overwritten
    decision_read: str | None = None  # likewise the decision


class _TileCache:
    """Small LRU of rendered thumbnails keyed by file modification times."""

    def __init__(self, size: int) -> None:
        self.size, self.items, self.lock = size, OrderedDict(), Lock()

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)


def create_app(
    dataset_root: str | Path,
    report: Report,
    *,
    bound_host: str | None = "127.0.0.1",
    allow_hosts: Iterable[str] = (),
) -> FastAPI:
    """Build the app for one dataset and its validate report.

    bound_host: the address the server listens on (its name is accepted as `Host`);
    allow_hosts: further host names browsers may use to reach it (`--allow-host`).
    """
    root = Path(dataset_root).resolve()
    data = layout.DatasetLayout(root)
    store = DecisionStore(root)
    listing = Listing.read(root, report)  # garment-only samples and placeholder copies, read once
    known = reviewable(report, listing)
    cache = _TileCache(TILE_CACHE_SIZE)
    app = FastAPI(title="vtonkit review", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(LocalOnlyGuard, allowed_hosts=allowed_host_names(bound_host, allow_hosts))

    def refuse(exc: Exception) -> HTTPException:
        return HTTPException(status_code=403, detail=f"refused: {exc}")

    def source_links(split: str, stem: str, kind: str) -> dict[str, str]:
        """Tile kind -> `/files/...` URL of the file behind it (opens the full-resolution file), for
        the tiles of a "person" or a "garment" sample."""
        files = source_files(data.split(split), stem)
        # percent-encoded: a non-ASCII name must reach the server as the same code points
        return {tile: quote(f"/files/{split}/{files[tile].parent.name}/{files[tile].name}")
                for tile, _ in tile_kinds(kind)}

    def known_sample(split: str, sample: str) -> str:
        """The sample as the report names it, in whichever Unicode form (NFC/NFD) the client sent it."""
        found = next((form for form in normalisation_forms(sample) if (split, form) in known), None)
        if found is None:
            raise HTTPException(status_code=404, detail=f"unknown sample {split}/{sample}")
        return found

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse((STATIC_DIR / "index.html").read_text(encoding="utf-8"))

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)  # no icon: the browser asks anyway, and a 404 is a console error on every load

    @app.get("/static/{name}")
    def static(name: str) -> FileResponse:
        if name not in STATIC_FILES:
            raise HTTPException(status_code=404, detail="not found")
        return FileResponse(STATIC_DIR / name, media_type=STATIC_FILES[name])

    @app.get("/api/samples")
    def samples(flag: str = "", decision: str = "", sort: str = "severity") -> dict:
        if sort not in SORTS:
            raise HTTPException(status_code=400, detail=f"sort must be one of {SORTS}")
        if (problem := flag_problem(flag)) is not None:
            raise HTTPException(status_code=400, detail=problem)
        rows = select_rows(build_rows(report, store.all(), listing), flag=flag, decision=decision, sort=sort)
        return {
            "dataset": root.name,
            "kinds": [{"kind": k, "label": label} for k, label in TILE_KINDS],
            "samples": [{**row.to_dict(), "files": source_links(row.split, row.sample, row.kind)} for row in rows],
            "other_findings": [f.__dict__ for f in split_level_findings(report, listing)],
        }

    @app.get("/api/flags")
    def flags() -> dict:
        counts = {}
        for row in build_rows(report, {}, listing):
            for code in row.codes:
                counts[code] = counts.get(code, 0) + 1
        return {
            "flags": [
                {"code": code, "samples": n, "severity": CODES[code][1], "description": CODES[code][2]}
                for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            ]
        }

    @app.post("/api/decisions")
    def decide(body: DecisionIn) -> dict:
        try:
            check_split(body.split)
            check_stem(body.sample)
        except UnsafePathError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        sample = known_sample(body.split, body.sample)
        if body.decision is None and body.note is None:
            raise HTTPException(status_code=400, detail="give a decision, a note, or both")
        if body.decision is not None and body.decision not in DECISIONS:
            raise HTTPException(status_code=400, detail=f"decision must be one of {DECISIONS}")
        try:
            if body.decision is None:
                record = store.set_note(body.split, sample, body.note or "", note_read=body.note_read)
            else:
                record = store.set(body.split, sample, body.decision, body.note, note_read=body.note_read,
                                   decision_read=body.decision_read)
        except ValueError as exc:  # a note that is no storable text
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        except NoteConflict as exc:
            # what the sample holds now, so the page shows it and the next key press decides on it
            # (a tab kept its stale badge, and pressing the key again was refused again)
            now = store.get(body.split, sample)
            return JSONResponse(status_code=409, content={
                "detail": str(exc), "decision": now.decision if now else "undecided", "note": now.note if now else ""})
        return record.__dict__

    @app.get("/tile/{split}/{sample}/{kind}.jpg")
    def tile(split: str, sample: str, kind: str, h: int = Query(DEFAULT_HEIGHT, ge=32, le=1024)) -> Response:
        try:
            check_split(split)
            check_stem(sample)
        except UnsafePathError as exc:
            raise refuse(exc) from exc
        if kind not in KINDS:
            raise HTTPException(status_code=404, detail=f"unknown tile kind {kind!r}")
        sample = known_sample(split, sample)
        split_dir = data.split(split)
        sources = [*split_dir.person_files(sample).values(), *split_dir.cloth_files(sample).values()]
        if links_outside(root, sources):
            raise refuse(UnsafePathError("a file of this sample links outside the dataset"))
        stamp = tuple(p.stat().st_mtime_ns if p.is_file() else 0 for p in sources)
        key = (split, sample, kind, h, stamp)
        body = cache.get(key)
        if body is None:
            body = tile_jpeg(split_dir, sample, kind, h)
            cache.put(key, body)
        return Response(body, media_type="image/jpeg", headers={"Cache-Control": "no-cache"})

    @app.get("/files/{relative:path}")
    def files(relative: str) -> Response:
        try:
            path = resolve_dataset_file(root, relative)
            body, media_type = servable_body(path)
        except (UnsafePathError, NotServable) as exc:
            raise refuse(exc) from exc
        except FileNotFoundError as exc:
            raise HTTPException(status_code=404, detail="not found") from exc
        except PermissionError as exc:  # a file the server's user may not read: named, not a 500 and a traceback
            raise HTTPException(status_code=403, detail=f"cannot read {relative} (permission denied)") from exc
        except OSError as exc:  # any other read failure (an I/O error, a file gone stale): named, not a 500
            raise HTTPException(status_code=404, detail=f"cannot read {relative} ({exc.strerror or exc})") from exc
        return Response(body, media_type=media_type, headers={"Cache-Control": "no-cache"})

    return app
