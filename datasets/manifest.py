"""The dataset manifest `<dataset>/.vtonkit/manifest.json`: which source made each sample.

```
{"version": 1,
 "splits": {"train": {"persons": {"<stem>": {"source": "/abs/photo.jpg", "sha256": "...", "category": "upper"}},
                      "cloths":  {"<stem>": {"source": "...", "sha256": "...", "category": "upper",
                                             "store": "...", "product_id": "...", ...}},
                      "placeholders": {"<person stem>": {"copied_from": "<cloth stem>", "reason": "..."}}}}}
```
`vtonkit prep` adds entries (stems are stable across runs: a known content hash keeps its stem);
`vtonkit pairs` reads the categories and records the placeholder own-garments it writes.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vtonkit.datasets.io.files import atomic_write_json

from vtonkit.core.categories import GARMENT_CATEGORIES
from vtonkit.core.errors import FormatError, VtonkitError
from vtonkit.core.paths import state_dir

logger = logging.getLogger(__name__)

MANIFEST_VERSION = 1
PERSONS = "persons"
CLOTHS = "cloths"
PLACEHOLDERS = "placeholders"
KINDS = (PERSONS, CLOTHS, PLACEHOLDERS)


def _is_dict_of(value: Any, check: Any) -> bool:
    """`value` is a dict whose values pass `check` (a type, or a predicate)."""
    test = (lambda item: isinstance(item, check)) if isinstance(check, type) else check
    return isinstance(value, dict) and all(test(item) for item in value.values())


def manifest_path(dataset: str | Path) -> Path:
    return state_dir(dataset) / "manifest.json"


@dataclass
class Manifest:
    """In-memory manifest; `entries(split, kind)` is a mutable `{stem: record}` dict."""

    path: Path
    splits: dict[str, dict[str, dict[str, dict[str, Any]]]] = field(default_factory=dict)

    @classmethod
    def load(cls, dataset: str | Path) -> Manifest:
        """Read the dataset's manifest (an empty one when the file does not exist yet)."""
        path = manifest_path(dataset)
        if not path.is_file():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            splits = data["splits"]
            if not _is_dict_of(splits, lambda kinds: _is_dict_of(kinds, lambda records: _is_dict_of(records, dict))):
                raise ValueError("'splits' is not {split: {kind: {stem: record}}}")
            for kinds in splits.values():
                for records in kinds.values():
                    for stem, record in records.items():
                        if not isinstance(record.get("sha256", ""), str):  # looked up as a dict key later
                            raise ValueError(f"the sha256 of {stem!r} is not a string")
        except (ValueError, KeyError, TypeError, RecursionError) as exc:  # RecursionError: nested too deep
            raise FormatError(path, f"unreadable manifest ({exc}); delete it to rebuild the stem mapping") from exc
        return cls(path, splits)

    def entries(self, split: str, kind: str) -> dict[str, dict[str, Any]]:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        return self.splits.setdefault(split, {}).setdefault(kind, {})

    def stem_of_sha(self, split: str, kind: str) -> dict[str, str]:
        """`{sha256: stem}` of one split and kind."""
        return {record["sha256"]: stem for stem, record in self.entries(split, kind).items() if "sha256" in record}

    def categories(self, split: str) -> set[str]:
        """The garment categories its persons and garments of `split` were prepared for."""
        kinds = self.splits.get(split, {})
        return {record["category"] for kind in (PERSONS, CLOTHS) for record in kinds.get(kind, {}).values()
                if isinstance(record.get("category"), str)}

    def refuse_other_categories(self, category: str, action: str) -> None:
        """One dataset holds one garment category (validate and review check one per dataset; infer
        and training one per split): raise when `action` would add `category` beside another."""
        others = {c for split in self.splits for c in self.categories(split)} - {category}
        if others:
            raise VtonkitError(f"{self.path.parent.parent} holds {', '.join(sorted(others))} samples: {action} would "
                               "mix garment categories in one dataset; give another --out (one dataset per category)")

    def save(self) -> None:
        atomic_write_json(self.path, {"version": MANIFEST_VERSION, "splits": self.splits}, indent=1)


def placeholder_stems(dataset: str | Path, split: str) -> set[str]:
    """Cloth stems of `split` that are placeholder copies of another garment, named after a person
    (`vtonkit pairs` makes them so that unpaired pairs load): no person wears them."""
    return set(Manifest.load(dataset).entries(split, PLACEHOLDERS))


def agnostic_check_category(dataset: str | Path) -> str:
    """What `validate` and `review` check the agnostic files against when not told: the one garment
    category the dataset's manifest records for every split, else upper (none or several recorded, or
    a manifest that cannot be read: `validate` names an unreadable one itself)."""
    try:
        manifest = Manifest.load(dataset)
    except FormatError:
        return "upper"
    found = set().union(*(manifest.categories(split) for split in manifest.splits))
    return found.pop() if len(found) == 1 else "upper"


def dataset_category(dataset: Path, split: str) -> str | None:
    """The garment category recorded by `vtonkit prep` in the manifest (None when absent or mixed)."""
    found = Manifest.load(dataset).categories(split)
    if len(found) > 1:
        raise VtonkitError(f"{dataset}: split {split} mixes garment categories {sorted(found)}; "
                           "use one category at a time (--category)")
    return found.pop() if found else None


def resolve_category(dataset: Path, split: str, category: str | None) -> str:
    """`category` (--category) if given (checked against the manifest), else the manifest's, else `upper`."""
    recorded = dataset_category(dataset, split)
    if category is None:
        return recorded or "upper"
    if category not in GARMENT_CATEGORIES:
        raise VtonkitError(f"--category must be one of {', '.join(GARMENT_CATEGORIES)}, not {category!r}")
    if recorded and recorded != category:
        raise VtonkitError(f"{dataset}: the manifest says split {split} holds {recorded} garments, not {category}; "
                           f"pass --category {recorded} (or fix the manifest)")
    return category
