"""One check per exercise: ``check.softmax(softmax)`` returns a CheckResult.

A result has ``passed``, ``status`` ("passed", "failed", "not attempted") and ``message``, and
shows itself in Jupyter as one coloured line. ``EXERCISES`` lists every exercise with its
notebook, for progress reports. ``fallback(name, candidate)`` returns the learner's function
if it passes, else attnlib's reference, saying so, so a notebook runs on with unfinished
exercises.
"""
from __future__ import annotations

from typing import Callable, Union

from .attention_checks import hand_softmax, scaled_dot_product_attention, sharpened_softmax, softmax
from .cost_checks import attention_flops, attention_score_bytes, kv_cache_bytes
from .harness import Check
from .mask_checks import causal_mask, padding_attention_mask, padding_mask, sliding_window_mask
from .model_checks import additive_attention, grouped_query_attention, merge_heads, multi_head_attention, split_heads
from .predictions import Prediction
from .result import CheckResult
from .tiled_checks import tiled_attention

Exercise = Union[Check, Prediction]

#: every exercise by name, in course order; each has .name, .notebook and .summary
EXERCISES: dict[str, Exercise] = {
    ex.name: ex
    for ex in sorted(
        [
            softmax,
            hand_softmax,
            sharpened_softmax,
            scaled_dot_product_attention,
            causal_mask,
            padding_mask,
            padding_attention_mask,
            additive_attention,
            split_heads,
            merge_heads,
            multi_head_attention,
            attention_flops,
            attention_score_bytes,
            grouped_query_attention,
            kv_cache_bytes,
            sliding_window_mask,
            tiled_attention,
        ],
        key=lambda ex: ex.notebook,
    )
}


def fallback(name: str, candidate: Callable) -> Callable:
    """Return ``candidate`` if it passes the check ``name``, else attnlib's reference, saying which.

    Used in the notebooks right after an exercise, so that the cells below (plots, widgets)
    keep working while the exercise is unfinished or wrong.
    """
    exercise = EXERCISES[name]
    if not isinstance(exercise, Check):
        raise ValueError(f"{name} is a prediction, not a function with a reference")
    result = exercise(candidate)
    if result.passed:
        print(f"Using your {name}.")
        return candidate
    state = "is not attempted yet" if result.status == "not attempted" else "did not pass its check"
    print(f"Note: your {name} {state}, so the cells below use attnlib.{name} instead.")
    return exercise.reference


__all__ = ["CheckResult", "EXERCISES", "fallback", *EXERCISES]
