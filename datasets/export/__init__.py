"""Exporters: a vtonkit / HR-VITON dataset to the layouts other try-on trainers read (one module per target).

:data:`EXPORTERS` names each target's function (``module:function``, imported when used); a new
target is a module here plus one entry, and ``vtonkit export --to`` offers it. Every function takes
``(dataset, out, *, category, splits, progress, replace, **target_options)`` (``replace``: empty the
folders it writes when they hold an earlier export, else refuse them) and returns a
:class:`~vtonkit.datasets.export.common.ConversionReport`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

EXPORTERS: dict[str, str] = {
    "dresscode": "vtonkit.datasets.export.dresscode:export_dresscode",
    "stableviton": "vtonkit.datasets.export.stableviton:export_stableviton",
    "mask-inpaint": "vtonkit.datasets.export.mask_inpaint:export_mask_inpaint",
}


def exporter(target: str) -> Callable[..., Any]:
    """The export function of ``target``; a KeyError lists the known targets."""
    if target not in EXPORTERS:
        raise KeyError(f"unknown export target {target!r}; known: {', '.join(EXPORTERS)}")
    module_name, function_name = EXPORTERS[target].split(":")
    return getattr(importlib.import_module(module_name), function_name)
