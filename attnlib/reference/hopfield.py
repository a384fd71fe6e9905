"""Hopfield networks as associative memories, classical and modern (notebook 10).

A Hopfield network stores patterns and retrieves the stored one closest to a corrupted query.

- Classical (Hopfield, 1982): binary states s in {-1, +1}^d, Hebbian weights
  W = (1/d) sum_i x_i x_i^T with a zero diagonal, update s_i <- sign(W_i . s) one unit at a time, energy
  E(s) = -1/2 s^T W s: the energy of an Ising model whose couplings are the learned W.
- Modern, continuous (Ramsauer et al., 2020, "Hopfield Networks is All You Need"): with the
  patterns as the rows of X (N, d), one update is xi_new = X^T softmax(beta X xi), which is
  softmax attention with the query xi and the patterns as both keys and values. Its energy is
  E(xi) = -lse(beta, X xi) + 1/2 xi . xi + beta^-1 ln N + 1/2 M^2, with
  lse(beta, z) = beta^-1 ln sum_i exp(beta z_i) and M the largest norm of a pattern; the update
  never increases it.

Shapes: patterns (..., N, d), a state or query (..., d). ``glyph_patterns`` draws small
8 x 8 images as +-1 vectors of length 64, so that retrieval can be seen.
"""
from __future__ import annotations

import numpy as np

from .validate import float_array, positive_int, positive_number
from .attention import softmax


def _patterns_and_state(patterns: object, state: object, state_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Return patterns (..., N, d) and a state (..., d) as float arrays, or raise ValueError."""
    patterns = float_array("patterns", patterns, 2)
    state = float_array(state_name, state, 1)
    if state.shape[-1] != patterns.shape[-1]:
        raise ValueError(
            f"{state_name} and patterns must share their last axis d: {state_name} {state.shape} has "
            f"d={state.shape[-1]}, patterns {patterns.shape} has d={patterns.shape[-1]}"
        )
    try:
        np.broadcast_shapes(patterns.shape[:-2], state.shape[:-1])
    except ValueError:
        raise ValueError(
            f"the leading axes do not broadcast: patterns {patterns.shape} (..., N, d), "
            f"{state_name} {state.shape} (..., d)"
        ) from None
    return patterns, state


def hopfield_weights(patterns: np.ndarray, query: np.ndarray, beta: float) -> np.ndarray:
    """Return softmax(beta X xi), the weight of each stored pattern: (..., N).

    patterns: (..., N, d) the stored patterns X, one per row; query: (..., d) the state xi;
    beta: the inverse temperature (> 0).
    """
    patterns, query = _patterns_and_state(patterns, query, "query")
    beta = float(positive_number("beta", beta))
    similarities = (patterns @ query[..., None])[..., 0]  # (..., N): x_i . xi for every pattern
    return softmax(beta * similarities, axis=-1)


def hopfield_update(patterns: np.ndarray, query: np.ndarray, beta: float) -> np.ndarray:
    """Return one modern Hopfield update xi_new = X^T softmax(beta X xi): (..., d).

    patterns: (N, d) or (..., N, d) the stored patterns X, one per row; query: (..., d) the
    state xi (leading axes broadcast with those of patterns, so a stack of queries (M, d)
    against one set of patterns (N, d) gives (M, d)); beta: the inverse temperature (> 0).
    Small beta gives nearly the average of the patterns, large beta the pattern most similar
    to the query. With beta = 1/sqrt(d) it is scaled dot-product attention with q = xi and
    k = v = X.
    """
    weights = hopfield_weights(patterns, query, beta)  # (..., N)
    patterns = float_array("patterns", patterns, 2)
    return (weights[..., None, :] @ patterns)[..., 0, :]  # (..., d): sum_i w_i x_i


def hopfield_energy(patterns: np.ndarray, state: np.ndarray, beta: float) -> np.ndarray:
    """Return the modern Hopfield energy of ``state``: (...).

    E(xi) = -beta^-1 ln sum_i exp(beta x_i . xi) + 1/2 xi . xi + beta^-1 ln N + 1/2 M^2, with
    M = max_i |x_i| (Ramsauer et al., 2020). patterns: (..., N, d); state: (..., d); beta > 0.
    The constant terms make the energy non-negative; ``hopfield_update`` never increases it.
    """
    patterns, state = _patterns_and_state(patterns, state, "state")
    beta = float(positive_number("beta", beta))
    z = beta * (patterns @ state[..., None])[..., 0]  # (..., N)
    top = z.max(axis=-1, keepdims=True)
    lse = (top[..., 0] + np.log(np.exp(z - top).sum(axis=-1))) / beta  # stable log-sum-exp
    n = patterns.shape[-2]
    m = np.linalg.norm(patterns, axis=-1).max(axis=-1)
    return -lse + 0.5 * (state * state).sum(axis=-1) + np.log(n) / beta + 0.5 * m**2


def hopfield_trajectory(patterns: np.ndarray, query: np.ndarray, beta: float, steps: int) -> np.ndarray:
    """Return the states of ``steps`` repeated updates, the query first: (steps + 1, ..., d)."""
    steps = positive_int("steps", steps)
    states = [float_array("query", query, 1)]
    for _ in range(steps):
        states.append(hopfield_update(patterns, states[-1], beta))
    return np.stack(states)


# ---------------------------------------------------------------- the classical network


def hebbian_weights(patterns: np.ndarray) -> np.ndarray:
    """Return the classical Hopfield weights W = (1/d) sum_i x_i x_i^T with a zero diagonal: (d, d).

    patterns: (N, d) of +-1 entries. W is the coupling matrix J of an Ising model: the energy
    of a state s is -1/2 s^T W s.
    """
    patterns = float_array("patterns", patterns, 2)
    if patterns.ndim != 2:
        raise ValueError(f"patterns must be (N, d), got shape {patterns.shape}")
    w = patterns.T @ patterns / patterns.shape[1]
    np.fill_diagonal(w, 0.0)
    return w


def classical_energy(weights: np.ndarray, state: np.ndarray) -> np.ndarray:
    """Return the classical (Ising) energy -1/2 s^T W s of each state: (...); state (..., d)."""
    weights = float_array("weights", weights, 2)
    state = float_array("state", state, 1)
    if weights.shape != (state.shape[-1], state.shape[-1]):
        raise ValueError(f"weights must be (d, d) for states (..., d): weights {weights.shape}, state {state.shape}")
    return -0.5 * ((state @ weights) * state).sum(axis=-1)


def classical_recall(weights: np.ndarray, state: np.ndarray, sweeps: int = 5) -> np.ndarray:
    """Return the state after ``sweeps`` sweeps of classical updates s_i <- sign(W_i . s): (..., d).

    weights: (d, d) symmetric with a zero diagonal, from ``hebbian_weights``; state: (..., d) of
    +-1. Each sweep updates the units one at a time, in order (asynchronously), each seeing the
    units already updated, so the energy -1/2 s^T W s never rises. A unit whose input is exactly
    0 keeps its sign.
    """
    weights = float_array("weights", weights, 2)
    s = float_array("state", state, 1).copy()
    if weights.shape != (s.shape[-1], s.shape[-1]):
        raise ValueError(f"weights must be (d, d) for states (..., d): weights {weights.shape}, state {s.shape}")
    for _ in range(positive_int("sweeps", sweeps)):
        for i in range(s.shape[-1]):
            field = s @ weights[:, i]  # (...): the input of unit i
            s[..., i] = np.where(field > 0, 1.0, np.where(field < 0, -1.0, s[..., i]))
    return s


# ---------------------------------------------------------------- patterns to store

#: 8 x 8 glyphs drawn as text, '#' = +1 (ink), '.' = -1 (paper)
GLYPHS: dict[str, tuple[str, ...]] = {
    "A": ("...##...", "..#..#..", ".#....#.", ".#....#.", ".######.", ".#....#.", ".#....#.", "........"),
    "T": (".######.", "...##...", "...##...", "...##...", "...##...", "...##...", "...##...", "........"),
    "L": (".#......", ".#......", ".#......", ".#......", ".#......", ".#......", ".######.", "........"),
    "X": ("#......#", ".#....#.", "..#..#..", "...##...", "...##...", "..#..#..", ".#....#.", "#......#"),
    "O": ("..####..", ".#....#.", "#......#", "#......#", "#......#", "#......#", ".#....#.", "..####.."),
    "H": (".#....#.", ".#....#.", ".#....#.", ".######.", ".#....#.", ".#....#.", ".#....#.", "........"),
    "plus": ("...##...", "...##...", "...##...", "########", "########", "...##...", "...##...", "...##..."),
    "heart": ("........", ".##..##.", "########", "########", ".######.", "..####..", "...##...", "........"),
}


def glyph_patterns(names: tuple[str, ...] | None = None) -> tuple[list[str], np.ndarray]:
    """Return (names, patterns): the glyphs as rows of +-1, patterns (N, 64) float64.

    names: which glyphs of ``GLYPHS`` (all of them, in order, by default). Reshape a row to
    (8, 8) to draw it.
    """
    names = list(GLYPHS) if names is None else list(names)
    unknown = [n for n in names if n not in GLYPHS]
    if unknown:
        raise ValueError(f"unknown glyphs {unknown}; choose from {list(GLYPHS)}")
    rows = [np.array([[1.0 if ch == "#" else -1.0 for ch in line] for line in GLYPHS[n]]).ravel() for n in names]
    return names, np.stack(rows)


def corrupt(pattern: np.ndarray, n_flips: int, rng: np.random.Generator) -> np.ndarray:
    """Return a copy of a +-1 ``pattern`` (d,) with ``n_flips`` entries, chosen by ``rng``, flipped."""
    pattern = float_array("pattern", pattern, 1)
    if pattern.ndim != 1 or not 0 <= n_flips <= pattern.shape[0]:
        raise ValueError(f"need a pattern (d,) and 0 <= n_flips <= d, got shape {pattern.shape} and n_flips={n_flips}")
    out = pattern.copy()
    idx = rng.choice(pattern.shape[0], size=n_flips, replace=False)
    out[idx] = -out[idx]
    return out


def occlude(pattern: np.ndarray, rows: int, shape: tuple[int, int] = (8, 8)) -> np.ndarray:
    """Return a copy of a +-1 ``pattern`` whose last ``rows`` image rows are blanked to -1 (paper)."""
    pattern = float_array("pattern", pattern, 1)
    if pattern.shape != (shape[0] * shape[1],) or not 0 <= rows <= shape[0]:
        raise ValueError(f"need a pattern of {shape[0] * shape[1]} entries and 0 <= rows <= {shape[0]}, got {pattern.shape}, rows={rows}")
    image = pattern.reshape(shape).copy()
    if rows:
        image[-rows:] = -1.0
    return image.ravel()
