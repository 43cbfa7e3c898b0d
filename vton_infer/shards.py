"""Split a pair list into shards for several machines (`vtonkit infer --shard i/n`, `--engine ray`).

A pair belongs to shard `hash(output stem) mod n`, with a fixed hash (the first 8 bytes of the
SHA-1 of `<person>_<cloth>`), so membership depends neither on the pair list's order nor on
the machine or the Python process: shards 0/n ... n-1/n of the same list are disjoint and
together are the whole list, also when the list grows between runs.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (0-based); `Shard(0, 1)` is the whole list."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: need 0 <= index < count and count >= 1")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """'i/n' (e.g. '0/4') -> Shard(i, n)."""
        match = _SPEC.match(text)
        if not match:
            raise ValueError(f"shard {text!r}: expected INDEX/COUNT such as 0/4 (0-based index)")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def whole(self) -> bool:
        return self.count == 1

    def owns(self, output_stem: str) -> bool:
        """Whether the pair whose output is `<output_stem>.png` is computed by this shard."""
        return shard_index(output_stem, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_index(output_stem: str, count: int) -> int:
    """The shard (of `count`) that owns `output_stem`: a hash that is the same on every machine."""
    digest = hashlib.sha1(output_stem.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count
