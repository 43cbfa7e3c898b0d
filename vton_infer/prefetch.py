"""Read the next pairs while the current ones compute: an order-keeping, bounded read-ahead.

`read_ahead` keeps at most `depth` reads in flight on `workers` threads and yields them in the
pair list's order. Reading is decoding JPEG/PNG files, parsing JSON and building the agnostic
(PIL, NumPy, OpenCV: C code that releases the GIL), so threads overlap it with the network's
compute without the pickling and start-up of worker processes (and work inside Ray workers).
`workers=0` reads inline, one pair after the other (the serial loop).
"""
from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from vtonkit.vton_infer.data import PairSample, output_stem

from vtonkit.core.errors import InputError

logger = logging.getLogger(__name__)


@dataclass
class LoadedPair:
    """One pair after reading: its sample, or why it could not be read."""

    person: str
    cloth: str
    sample: PairSample | None
    error: str | None
    seconds: float

    @property
    def output_stem(self) -> str:
        return output_stem(self.person, self.cloth)


def load_pair(read: Callable[[str, str], PairSample], person: str, cloth: str) -> LoadedPair:
    """`read(person, cloth)` -> LoadedPair; a bad input becomes the pair's error, never an exception."""
    start = time.perf_counter()
    try:
        sample, error = read(person, cloth), None
    except (InputError, ValueError) as exc:
        sample, error = None, str(exc)
    except Exception as exc:  # a bug or an unexpected library error: recorded for this pair, batch goes on
        logger.exception("reading %s %s", person, cloth)
        sample, error = None, f"internal error while reading: {type(exc).__name__}: {exc}"
    return LoadedPair(person, cloth, sample, error, time.perf_counter() - start)


def read_ahead(read: Callable[[str, str], PairSample], pairs: Sequence[tuple[str, str]], *,
               workers: int = 2, depth: int = 4) -> Iterator[LoadedPair]:
    """Yield `load_pair` of every pair, in order, reading up to `depth` pairs ahead on `workers` threads."""
    if workers <= 0:
        for person, cloth in pairs:
            yield load_pair(read, person, cloth)
        return
    depth = max(depth, workers)
    remaining = iter(pairs)
    pending: deque[Future[LoadedPair]] = deque()
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vtonkit-read")
    try:
        while True:
            while len(pending) < depth:
                pair = next(remaining, None)
                if pair is None:
                    break
                pending.append(executor.submit(load_pair, read, *pair))
            if not pending:
                return
            yield pending.popleft().result()
    finally:  # also when the consumer stops early: drop what was not started, wait for the rest
        executor.shutdown(wait=True, cancel_futures=True)
