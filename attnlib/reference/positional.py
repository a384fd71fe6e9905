"""Sinusoidal positional encodings (Vaswani et al., 2017, section 3.5): order for self-attention.

Self-attention treats its input as a set: permute the tokens and the outputs are permuted the
same way. Adding a different vector to each position breaks that symmetry.
"""
from __future__ import annotations

import numpy as np

from .validate import positive_int, positive_number


def sinusoidal_positions(n: int, d: int, base: float = 10000.0) -> np.ndarray:
    """Return the (n, d) sinusoidal positional encodings: row p encodes position p.

    PE[p, 2i] = sin(p / base^(2i/d)) and PE[p, 2i+1] = cos(p / base^(2i/d)), for p in 0..n-1.
    Each pair of columns is a sine/cosine at its own frequency, from one turn every 2*pi
    positions (i = 0) down to very slow ones, so every position gets a distinct vector whose
    entries lie in [-1, 1]. An odd ``d`` drops the last cosine column.
    """
    n = positive_int("n", n)
    d = positive_int("d", d)
    base = positive_number("base", base)
    if base <= 1:
        raise ValueError(f"base must be greater than 1 (the frequencies must decrease), got {base}")
    positions = np.arange(n, dtype=np.float64)[:, None]                      # (n, 1)
    frequencies = float(base) ** (-np.arange(0, d, 2, dtype=np.float64) / d)  # (ceil(d/2),)
    angles = positions * frequencies[None, :]                                # (n, ceil(d/2))
    pe = np.empty((n, d), dtype=np.float64)
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles[:, : d // 2])
    return pe
