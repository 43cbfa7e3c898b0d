"""Checkpoint-compatible HR-VITON networks (condition generator, SPADE image generator)."""
from __future__ import annotations

from vtonkit.vton_infer.networks.condition import ConditionGenerator, ConditionOutput
from vtonkit.vton_infer.networks.spade import SPADEGenerator

__all__ = ["ConditionGenerator", "ConditionOutput", "SPADEGenerator"]
