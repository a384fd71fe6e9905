"""Input validation shared by the reference implementations.

Every public function of attnlib checks its inputs here and raises ``ValueError``
with a message that names the argument, its shape and what was expected.
"""
from __future__ import annotations

import numbers
from typing import Sequence

import numpy as np


def float_array(name: str, x: object, min_ndim: int = 1) -> np.ndarray:
    """Return ``x`` as a floating numpy array (integers become float64).

    Raises ValueError when ``x`` has fewer than ``min_ndim`` axes or an empty axis.
    """
    arr = np.asarray(x)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} axes, got shape {arr.shape}")
    if 0 in arr.shape:
        raise ValueError(f"{name} has an empty axis (shape {arr.shape}); every size must be positive")
    return arr


def positive_int(name: str, value: object) -> int:
    """Return ``value`` as an int, raising ValueError unless it is a positive integer."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def positive_number(name: str, value: object) -> float | int:
    """Return ``value`` unchanged, raising ValueError unless it is a positive real number."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value}")
    return value


def broadcast_batch(shapes: dict[str, tuple[int, ...]], n_trailing: int = 2) -> tuple[int, ...]:
    """Return the broadcast of the leading (batch/head) axes of several arrays.

    shapes: argument name -> full shape; the last ``n_trailing`` axes of each are not batch axes.
    """
    try:
        return np.broadcast_shapes(*(s[: len(s) - n_trailing] for s in shapes.values()))
    except ValueError:
        listed = ", ".join(f"{k} {v}" for k, v in shapes.items())
        raise ValueError(f"the leading (batch/head) axes do not broadcast: {listed}") from None


def bool_mask(mask: object, target: Sequence[int], target_desc: str) -> np.ndarray:
    """Return ``mask`` as a bool array broadcast to ``target`` (True = may attend).

    Raises ValueError when the mask is not boolean or does not broadcast to the target shape.
    """
    m = np.asarray(mask)
    if m.dtype != bool:
        raise ValueError(
            f"mask must be a bool array (True = may attend), got dtype {m.dtype}; "
            "convert with mask.astype(bool) if it holds 0/1"
        )
    try:
        return np.broadcast_to(m, tuple(target))
    except ValueError:
        raise ValueError(
            f"mask of shape {m.shape} does not broadcast to {target_desc} {tuple(target)}"
        ) from None
