"""Which prediction belongs to which ground-truth image.

Predictions are try-on outputs named `<person>_<cloth>.<ext>` (what `vtonkit infer` and the
official test_generator.py write). A prediction is *paired* when its garment is the person's own
(`cloth == person`, the VITON-HD paired setting): then the person's photo
`<split>/image/<person>.jpg` is its ground truth. HR-VITON's evaluate.py compares every output
with its person's photo whatever the garment; `compare_to_person=True` does the same.

Nothing is dropped silently: every prediction or pair that cannot be scored is returned as a
`Skipped` with its reason.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from vtonkit.datasets.layout import SplitDir, stem_of
from vtonkit.datasets.pairs import read_pairs
from vtonkit.vton_infer.data import output_stem

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class Prediction:
    """One try-on output; `ground_truth` is set when paired metrics apply."""

    name: str
    path: Path
    person: str
    cloth: str
    ground_truth: Path | None


@dataclass(frozen=True)
class Skipped:
    """A prediction or pair left out of a metric, and why."""

    name: str
    reason: str
    metrics: str = "all"  # "all" or "paired"


def list_images(folder: Path) -> list[Path]:
    """Image files directly in `folder`, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def outputs_by_stem(folder: Path) -> tuple[dict[str, Path], list[Skipped]]:
    """`{stem: image}` of `folder`, one image per output: where several files share a stem (`a.png` and
    `a.jpg`, or `a.PNG`) the one `vtonkit infer` writes (`.png`) is kept, else the first by name, and the
    others are returned skipped, so no try-on is scored twice."""
    by_stem: dict[str, list[Path]] = {}
    for path in list_images(folder):
        by_stem.setdefault(path.stem, []).append(path)
    kept: dict[str, Path] = {}
    skipped: list[Skipped] = []
    for stem, paths in by_stem.items():
        chosen = next((p for p in paths if p.suffix == ".png"), paths[0])
        kept[stem] = chosen
        skipped.extend(Skipped(p.name, f"another file of the same output {stem} ({chosen.name}) is scored instead")
                       for p in paths if p != chosen)
    return kept, skipped


def _split_name(stem: str, persons: list[str]) -> tuple[str, str] | None:
    # Longest person stem first so that `a_b_c` never matches person `a` when `a_b` exists.
    for person in persons:
        if stem.startswith(person + "_") and len(stem) > len(person) + 1:
            return person, stem[len(person) + 1:]
    # No such person photo: guess the VITON-HD naming (`00006_00_00008_00`, halves) so that the
    # missing photo can be named (the caller leaves such an output out).
    parts = stem.split("_")
    if len(parts) >= 2 and len(parts) % 2 == 0:
        half = len(parts) // 2
        return "_".join(parts[:half]), "_".join(parts[half:])
    return None


def match_predictions(
    pred_dir: Path, split: SplitDir, *, pairs_file: Path | None = None, compare_to_person: bool = False,
    placeholders: Collection[str] = (),
) -> tuple[list[Prediction], list[Skipped]]:
    """The predictions to score and the ones (or parts) left out, with reasons.

    `placeholders`: persons whose `cloth/<person>.jpg` is a copy of another garment (`vtonkit pairs`
    makes them for crawled persons): their "paired" output shows a garment they never wore, so their
    photo is no ground truth for it.
    """
    pred_dir = Path(pred_dir)
    persons = sorted(split.person_stems(), key=len, reverse=True)
    predictions: list[Prediction] = []
    by_stem, skipped = outputs_by_stem(pred_dir)
    if pairs_file is not None:
        candidates = []
        seen: set[str] = set()
        for person, cloth in read_pairs(pairs_file):
            person, cloth = stem_of(person), stem_of(cloth)
            name = output_stem(person, cloth)
            if name in seen:  # a repeated line names the same output: scored once, as infer computes it once
                continue
            seen.add(name)
            if name not in by_stem:
                skipped.append(Skipped(name, f"no prediction {pred_dir / (name + '.png')} for this pair of {pairs_file}"))
                continue
            candidates.append((by_stem[name], person, cloth))
    else:
        candidates = []
        known = set(persons)
        for path in by_stem.values():
            parts = _split_name(path.stem, persons)
            if parts is None:
                skipped.append(Skipped(path.name, f"name is not <person>_<cloth> for any person photo in {split.root / 'image'}"))
                continue
            if parts[0] not in known:
                # only a guess at the name (a stray IMG_0001.jpg reads as person IMG): nothing says it is
                # a try-on of this split, so it is no generated image for FID/KID either
                skipped.append(Skipped(path.name, f"no person photo {split.image(parts[0])} for this output: not a "
                                                  "try-on of this split (left out of FID/KID too)"))
                continue
            candidates.append((path, *parts))
    for path, person, cloth in candidates:
        ground_truth = None
        if cloth == person and person in placeholders and not compare_to_person:
            skipped.append(Skipped(path.name, f"garment {cloth} is a placeholder (a copy of another garment that "
                                              "vtonkit pairs made so the test loader finds one): the person does not "
                                              "wear it, so no ground truth for paired metrics; used for FID/KID only",
                                   "paired"))
        elif cloth == person or compare_to_person:
            ground_truth = split.image(person)
            if not ground_truth.is_file():
                skipped.append(Skipped(path.name, f"ground-truth image {ground_truth} is missing", "paired"))
                ground_truth = None
        else:
            skipped.append(Skipped(path.name, f"unpaired output (garment {cloth} is not the person's own): no ground "
                                              "truth for paired metrics; used for FID/KID only", "paired"))
        predictions.append(Prediction(path.name, path, person, cloth, ground_truth))
    return predictions, skipped
