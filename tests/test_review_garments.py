"""Garments no person wears as its own (crawled shop shots) in the review app, the static report and clean.

`validate` flagged such a garment (`cloth-background test/onmodel`), but review listed only persons:
`--flag cloth-background` wrote 0 samples, the app offered no flag and refused a decision on it
("unknown sample"), so `clean` could never quarantine it. Placeholder garments showed as the
persons' own shots.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import httpx
import pytest
from review_server import chromium_path, serve_on_loopback
from vtonkit.crawlers.browser import LAUNCH_ARGS
from vtonkit.datasets import layout
from vtonkit.datasets.clean import apply_decisions, undo_last
from vtonkit.datasets.findings import Report
from vtonkit.datasets.manifest import CLOTHS, Manifest
from vtonkit.datasets.pairing import write_pair_list
from vtonkit.datasets.review.app import create_app
from vtonkit.datasets.review.static_report import render_static_report
from vtonkit.datasets.summary import load_or_run_report, report_path

# stem in cloth/ -> the VITON-HD test file it is a copy of (its mask: that stem's cloth mask)
SHOTS = {"shop_0": "cloth/00006_00", "shop_1": "cloth/00008_00",
         "onmodel": "image/00017_00",  # a photo of a person among the garment shots: cloth-background
         "00034_00": "image/00008_00"}  # the own garment of person 00034_00, flagged as well


def crawled_with_an_on_model_shot(vitonhd: Path, root: Path) -> Path:
    """Test persons with no own garment (but 00034_00), shop garments, one of them an on-model shot,
    paired unpaired: `pairs` gives the persons placeholder copies of their garments."""
    source = vitonhd / "test"
    split = layout.DatasetLayout(root).split("test")
    for folder in layout.PERSON_FOLDERS:
        shutil.copytree(source / folder, split.root / folder)
    for folder in layout.CLOTH_FOLDERS:
        (split.root / folder).mkdir(parents=True)
    manifest = Manifest.load(root)
    for stem, shot in SHOTS.items():
        shutil.copy(source / f"{shot}.jpg", split.cloth(stem))
        shutil.copy(source / "cloth-mask" / f"{Path(shot).name}.jpg", split.cloth_mask(stem))
        manifest.entries("test", CLOTHS)[stem] = {"sha256": f"sha-{stem}", "category": "upper"}
    manifest.save()
    write_pair_list(root, "test", "unpaired", seed=0)
    return root


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".vtonkit" not in p.parts}


@pytest.fixture(scope="module")
def dataset(vitonhd: Path, tmp_path_factory) -> Path:
    return crawled_with_an_on_model_shot(vitonhd, tmp_path_factory.mktemp("garments") / "ds")


@pytest.fixture(scope="module")
def report(dataset: Path) -> Report:
    report = load_or_run_report(dataset)
    assert "onmodel" not in report.samples["test"]  # a garment: validate flags it, but lists persons only
    assert {f.sample for f in report.findings if f.code == "cloth-background"} == {"onmodel", "00034_00"}
    return report


def copies_of(dataset: Path, garment: str) -> list[str]:
    records = Manifest.load(dataset).entries("test", "placeholders")
    return sorted(person for person, record in records.items() if record["copied_from"] == garment)


def test_a_garment_is_listed_flagged_decided_and_cleaned_with_its_copies(dataset: Path, report: Report,
                                                                          tmp_path: Path) -> None:
    work = shutil.copytree(dataset, tmp_path / "ds", symlinks=True)
    copies = copies_of(work, "onmodel")
    assert copies, "pairs gave no person a copy of the on-model shot"
    with serve_on_loopback(create_app(work, report)) as url, httpx.Client(base_url=url) as client:
        flags = {f["code"]: f["samples"] for f in client.get("/api/flags").json()["flags"]}
        assert flags["cloth-background"] == 2
        listed = client.get("/api/samples", params={"flag": "cloth-background", "sort": "name"}).json()
        rows = {row["sample"]: row for row in listed["samples"]}
        assert set(rows) == {"00034_00", "onmodel"}
        garment = rows["onmodel"]
        assert garment["kind"] == "garment" and garment["codes"] == ["cloth-background", "mask-mismatch"]
        assert garment["files"] == {"cloth": "/files/test/cloth/onmodel.jpg",
                                    "cloth-mask": "/files/test/cloth-mask/onmodel.jpg"}
        # the person's own garment stays on the person's card, with its findings
        assert rows["00034_00"]["kind"] == "person" and "cloth-background" in rows["00034_00"]["codes"]
        assert len(rows["00034_00"]["files"]) == 7
        assert not [f for f in listed["other_findings"] if f["sample"] == "onmodel"]
        everything = {row["sample"]: row for row in client.get("/api/samples").json()["samples"]}
        assert {s for s, row in everything.items() if row["kind"] == "garment"} == {"shop_0", "shop_1", "onmodel"}
        assert everything[copies[0]]["tile_notes"]["cloth"] == "placeholder: copy of onmodel"
        assert everything["00034_00"]["tile_notes"] == {}
        tile = client.get("/tile/test/onmodel/cloth.jpg")
        assert tile.status_code == 200 and tile.content[:2] == b"\xff\xd8"
        saved = client.post("/api/decisions", json={"split": "test", "sample": "onmodel", "decision": "reject",
                                                    "note": "worn by a model"})
        assert saved.status_code == 200 and saved.json()["decision"] == "reject"
    before = snapshot(work)
    result = apply_decisions(work)
    assert result.samples == 1 and result.placeholder_persons == [f"test/{person}" for person in copies]
    for stem in ["onmodel", *copies]:
        for folder in layout.CLOTH_FOLDERS:
            assert (work / "quarantine/test" / folder / f"{stem}.jpg").is_file()
            assert not (work / "test" / folder / f"{stem}.jpg").exists()
    assert all((work / f"test/image/{person}.jpg").is_file() for person in copies)  # persons stay
    assert "onmodel" not in (work / "test_pairs.txt").read_text() and result.pair_lines == 2
    undo_last(work)
    assert {k: v for k, v in snapshot(work).items() if not k.startswith("quarantine")} == before


def test_the_static_report_shows_garment_cards_and_marks_placeholder_copies(dataset: Path, report: Report) -> None:
    flagged = render_static_report(dataset, report, thumb_height=32, flag="cloth-background")
    cards = re.findall(r'<section class="card[^"]*" data-kind="(\w+)".*?</section>', flagged, re.S)
    assert sorted(cards) == ["garment", "person"]
    garment = re.search(r'<section[^>]*data-kind="garment".*?</section>', flagged, re.S).group(0)
    assert "test/onmodel" in garment and garment.count("data:image/jpeg;base64,") == 2
    assert "cloth-background" in garment and "1 of them garment(s) no person wears as its own" in flagged
    assert "not tied to a sample" not in flagged
    whole = render_static_report(dataset, report, thumb_height=32)
    for person in copies_of(dataset, "onmodel"):
        card = re.search(rf'<section[^>]*>\s*<h2><span>test/{person}</span>.*?</section>', whole, re.S).group(0)
        assert "<figcaption>cloth (placeholder: copy of onmodel)</figcaption>" in card
        assert "<figcaption>cloth mask (placeholder: copy of onmodel)</figcaption>" in card


def test_garments_the_app_cannot_serve_are_not_listed(dataset: Path, report: Report, tmp_path: Path) -> None:
    """A garment whose name the app refuses stays out (validate calls it name-unreviewable); one linked
    outside the dataset is listed, to be rejected, but nothing of its target is served."""
    work = shutil.copytree(dataset, tmp_path / "ds", symlinks=True)
    secret = tmp_path / "secret.jpg"
    shutil.copy(work / "test/image/00006_00.jpg", secret)
    shutil.copy(work / "test/cloth/shop_0.jpg", work / "test/cloth/x+y.jpg")
    os.symlink(secret, work / "test/cloth/linked.jpg")
    with serve_on_loopback(create_app(work, report)) as url, httpx.Client(base_url=url) as client:
        garments = {r["sample"] for r in client.get("/api/samples").json()["samples"] if r["kind"] == "garment"}
        assert "x+y" not in garments and "linked" in garments
        refused = client.post("/api/decisions", json={"split": "test", "sample": "x+y", "decision": "reject"})
        assert refused.status_code == 400
        assert client.get("/tile/test/linked/cloth.jpg").status_code == 403
        assert client.get("/files/test/cloth/linked.jpg").status_code == 403


@pytest.mark.browser
@pytest.mark.slow
def test_browser_a_garment_card_is_rejected_from_the_keyboard(dataset: Path, report: Report, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    work = shutil.copytree(dataset, tmp_path / "ds", symlinks=True)
    with serve_on_loopback(create_app(work, report)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=list(LAUNCH_ARGS))
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url + "/?sort=name")
        page.wait_for_selector("body[data-ready='1']")
        assert "cloth-background" in page.locator("#flag option").evaluate_all("os => os.map(o => o.value)")
        page.select_option("#flag", "cloth-background")
        expect(page.locator("section.card")).to_have_count(2)
        garment = page.locator("section.card[data-kind='garment']")
        expect(garment.locator("h2 .kind")).to_have_text("garment")
        assert garment.locator("figcaption").all_inner_texts() == ["cloth", "cloth mask"]
        for _ in range(2):  # to the garment's card, whichever comes first
            if page.locator("section.card.current").get_attribute("data-kind") != "garment":
                page.keyboard.press("l")
        expect(page.locator("section.card.current")).to_have_attribute("data-kind", "garment")
        page.keyboard.press("r")
        expect(garment.locator(".badge")).to_have_text("reject")
        page.select_option("#flag", "")
        copy = page.locator("section.card figure.copy figcaption").first
        expect(copy).to_contain_text("placeholder: copy of")
        browser.close()
    from vtonkit.datasets.review.store import DecisionStore

    assert DecisionStore(work).get("test", "onmodel").decision == "reject"
    assert report_path(work).is_file()
