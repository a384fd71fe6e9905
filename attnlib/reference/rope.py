"""Rotary position embeddings (RoPE; Su et al., 2021, "RoFormer"): rotate feature pairs by position.

Each pair of features of a query or key vector is a point in a plane; RoPE turns pair i of the
vector at position p by the angle p * theta_i, with theta_i = base ** (-2i / d) for i = 0 .. d/2 - 1:
fast turns for the first pairs, slow ones for the last. Because a rotation by p * theta followed
by the transpose of one by r * theta is a rotation by (r - p) * theta, the dot product of a
rotated query at position p with a rotated key at position r depends on the offset r - p only.

Two conventions pair the features differently and are the same model up to a permutation of
the features (``half_order``):

- ``"interleaved"`` pairs (x[2i], x[2i+1]): RoFormer and Meta's Llama code;
- ``"half"`` pairs (x[i], x[i + d/2]): Hugging Face's ``rotate_half``.
"""
from __future__ import annotations

import numbers

import numpy as np

from .validate import float_array, positive_number

PAIRINGS = ("interleaved", "half")


def rope_frequencies(d: int, base: float = 10000.0) -> np.ndarray:
    """Return theta (d/2,): the angle per position of each feature pair, theta_i = base ** (-2i / d)."""
    if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 2 or d % 2:
        raise ValueError(f"RoPE needs an even feature width d >= 2, got d={d!r}")
    base = positive_number("base", base)
    return float(base) ** (-np.arange(0, d, 2) / d)


def _positions(positions: object, lead: tuple[int, ...], n: int) -> np.ndarray:
    """Return positions as a float array broadcast to lead + (n,), or raise naming the shapes."""
    p = np.asarray(positions)
    if p.dtype == bool or not (np.issubdtype(p.dtype, np.integer) or (np.issubdtype(p.dtype, np.floating) and np.all(p == np.round(p)))):
        raise ValueError(f"positions must be whole numbers (token positions 0, 1, 2, ...), got dtype {p.dtype}: {p!r:.80}")
    try:
        return np.broadcast_to(p.astype(np.float64), lead + (n,))
    except ValueError:
        raise ValueError(f"positions of shape {p.shape} do not broadcast to (..., n) = {lead + (n,)}, the shape of x without its last axis") from None


def apply_rope(x: np.ndarray, positions: np.ndarray, base: float = 10000.0, pairing: str = "interleaved") -> np.ndarray:
    """Return x with each feature pair rotated by its position's angle: the shape of x, (..., n, d).

    x: (..., n, d) queries or keys, d even; positions: ints broadcastable to (..., n), the
    position of each row of x; base: sets the slowest rotation (10000 in RoFormer and Llama 2);
    pairing: "interleaved" rotates (x[..., 2i], x[..., 2i+1]), "half" rotates (x[..., i],
    x[..., i + d/2]); both by the angle position * base ** (-2i / d). x itself is not changed.
    """
    x = float_array("x", x, 2)
    if pairing not in PAIRINGS:
        raise ValueError(f"pairing must be one of {PAIRINGS}, got {pairing!r}")
    *lead, n, d = x.shape
    theta = rope_frequencies(d, base)                                     # (d/2,)
    angles = _positions(positions, tuple(lead), n)[..., None] * theta     # (..., n, d/2)
    cos, sin = np.cos(angles).astype(x.dtype), np.sin(angles).astype(x.dtype)
    if pairing == "interleaved":
        x1, x2 = x[..., 0::2], x[..., 1::2]
    else:
        x1, x2 = x[..., : d // 2], x[..., d // 2:]
    r1, r2 = x1 * cos - x2 * sin, x1 * sin + x2 * cos                     # each pair turned by its angle
    out = np.empty_like(x)
    if pairing == "interleaved":
        out[..., 0::2], out[..., 1::2] = r1, r2
    else:
        out[..., : d // 2], out[..., d // 2:] = r1, r2
    return out


def half_order(d: int) -> np.ndarray:
    """Return the permutation (d,) of features that turns the interleaved pairing into the half one.

    apply_rope(x[..., perm], p, pairing="half") == apply_rope(x, p, pairing="interleaved")[..., perm]
    with perm = half_order(d) = [0, 2, 4, ..., 1, 3, 5, ...]: the even features first, then the odd.
    """
    rope_frequencies(d)  # validates d
    return np.concatenate([np.arange(0, d, 2), np.arange(1, d, 2)])
