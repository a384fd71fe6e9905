"""A toy decoder and its KV cache: decoding token by token equals recomputing everything (notebook 08).

The toy is a stack of causal self-attention layers with random weights and nothing else (no
MLP, no normalisation, no positional encoding, no training): layer l maps the sequence
x (n, d_model) to ``x + attention(x W_q, x W_k, x W_v) W_o``, with ``n_heads`` query heads that
may share ``n_kv_heads`` key/value heads (grouped-query attention, ``attnlib.reference.gqa``) and, if
``window`` is set, a sliding window (``attnlib.reference.masks.sliding_window_mask``).

Two ways to run it:

- ``forward(model, x)``: all n positions at once, under a causal (or sliding-window) mask.
  Generating without a cache means calling it again on the whole sequence for every new token.
- ``decode_step(model, x_t, cache)``: one new position. Its query attends to its own key and
  value and to those of the earlier positions, which a ``KVCache`` kept from earlier steps:
  causal masking guarantees they never change, so they are computed once.

Both give the same outputs (``decode(model, x)`` equals ``forward(model, x)`` up to rounding).
Everything is numpy and one sequence (no batch axis): x is (n, d_model); a cache holds, per
layer, keys and values of shape (n_kv_heads, n_cached, d_head).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..reference.validate import float_array, positive_int
from ..reference.gqa import grouped_query_attention
from ..reference.masks import causal_mask, sliding_window_mask


@dataclass(frozen=True)
class ToyDecoder:
    """Random weights of a stack of causal self-attention layers (see the module docstring).

    W_q: (n_layers, d_model, n_heads * d_head); W_k, W_v: (n_layers, d_model, n_kv_heads * d_head);
    W_o: (n_layers, n_heads * d_head, d_model); window: positions each token sees (itself
    included), or None for full causal attention.
    """

    W_q: np.ndarray
    W_k: np.ndarray
    W_v: np.ndarray
    W_o: np.ndarray
    n_heads: int
    n_kv_heads: int
    window: int | None = None

    @property
    def n_layers(self) -> int:
        """Return the number of layers."""
        return self.W_q.shape[0]

    @property
    def d_model(self) -> int:
        """Return the width of the token vectors."""
        return self.W_q.shape[1]

    @property
    def d_head(self) -> int:
        """Return the width of one head."""
        return self.W_q.shape[2] // self.n_heads


def toy_decoder(
    n_layers: int = 2,
    d_model: int = 32,
    n_heads: int = 4,
    n_kv_heads: int | None = None,
    window: int | None = None,
    seed: int = 0,
) -> ToyDecoder:
    """Return a ToyDecoder with standard-normal weights scaled by 1/sqrt(fan-in), from ``seed``.

    d_head = d_model // n_heads; n_kv_heads defaults to n_heads (multi-head attention) and must
    divide n_heads (1 is multi-query attention).
    """
    n_layers = positive_int("n_layers", n_layers)
    d_model = positive_int("d_model", d_model)
    n_heads = positive_int("n_heads", n_heads)
    n_kv_heads = n_heads if n_kv_heads is None else positive_int("n_kv_heads", n_kv_heads)
    if d_model % n_heads:
        raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
    if n_heads % n_kv_heads:
        raise ValueError(f"n_heads={n_heads} must be a multiple of n_kv_heads={n_kv_heads}")
    if window is not None:
        window = positive_int("window", window)
    d_head = d_model // n_heads
    rng = np.random.default_rng(seed)

    def weights(rows: int, cols: int) -> np.ndarray:
        return rng.standard_normal((n_layers, rows, cols)) / np.sqrt(rows)

    return ToyDecoder(
        W_q=weights(d_model, n_heads * d_head),
        W_k=weights(d_model, n_kv_heads * d_head),
        W_v=weights(d_model, n_kv_heads * d_head),
        W_o=weights(n_heads * d_head, d_model),
        n_heads=n_heads,
        n_kv_heads=n_kv_heads,
        window=window,
    )


class KVCache:
    """The keys and values of the tokens seen so far, for every layer, in preallocated arrays.

    ``k`` and ``v``: (n_layers, n_kv_heads, capacity, d_head); ``length``: tokens seen so far.
    Without a window, position p sits in slot p, and ``capacity`` is the longest sequence the
    cache can hold. With ``window=W`` the cache is a rolling buffer of W slots: position p goes
    to slot p % W and overwrites position p - W, which no later token may see anyway (Mistral
    7B's "rolling buffer cache", Jiang et al., 2023). The order of the slots does not matter to
    attention: its weighted sum over keys does not depend on their order.
    """

    def __init__(
        self,
        n_layers: int,
        n_kv_heads: int,
        d_head: int,
        capacity: int,
        window: int | None = None,
        dtype: np.dtype | type = np.float64,
    ) -> None:
        n_layers, n_kv_heads, d_head = (positive_int(a, b) for a, b in (("n_layers", n_layers), ("n_kv_heads", n_kv_heads), ("d_head", d_head)))
        capacity = positive_int("capacity", capacity)
        self.window = None if window is None else positive_int("window", window)
        if self.window is not None:
            capacity = self.window
        self.k = np.zeros((n_layers, n_kv_heads, capacity, d_head), dtype=dtype)
        self.v = np.zeros_like(self.k)
        self.length = 0

    @property
    def capacity(self) -> int:
        """Return the number of slots per layer and head."""
        return self.k.shape[2]

    @property
    def n_cached(self) -> int:
        """Return how many tokens' keys and values the cache holds now: min(length, capacity)."""
        return min(self.length, self.capacity)

    @property
    def nbytes(self) -> int:
        """Return the bytes of the keys and values held now (the slots in use), K and V together."""
        n_layers, n_kv_heads, _, d_head = self.k.shape
        return 2 * n_layers * n_kv_heads * self.n_cached * d_head * self.k.itemsize

    def keys(self, layer: int) -> np.ndarray:
        """Return the cached keys of ``layer``: a view (n_kv_heads, n_cached, d_head)."""
        return self.k[layer, :, : self.n_cached]

    def values(self, layer: int) -> np.ndarray:
        """Return the cached values of ``layer``: a view (n_kv_heads, n_cached, d_head)."""
        return self.v[layer, :, : self.n_cached]

    def truncate(self, length: int) -> None:
        """Forget every token after the first ``length`` (a full-attention cache only)."""
        if self.window is not None:
            raise ValueError("a rolling buffer has overwritten its old entries: it cannot be truncated")
        if not 0 <= length <= self.length:
            raise ValueError(f"length must be between 0 and the {self.length} tokens cached, got {length}")
        self.length = int(length)

    def write(self, layer: int, k: np.ndarray, v: np.ndarray) -> None:
        """Store the keys and values (n_kv_heads, m, d_head) of the next m positions of ``layer``.

        The positions are length .. length + m - 1; ``advance(m)`` moves ``length`` on once
        every layer has written them. Raises ValueError when a full-attention cache is full.
        """
        m = k.shape[-2]
        if k.shape != v.shape or k.shape[0] != self.k.shape[1] or k.shape[2] != self.k.shape[3]:
            raise ValueError(
                f"k {k.shape} and v {v.shape} must both be (n_kv_heads, m, d_head) = "
                f"({self.k.shape[1]}, m, {self.k.shape[3]})"
            )
        if self.window is None:
            if self.length + m > self.capacity:
                raise ValueError(f"the cache is full: capacity {self.capacity}, {self.length} cached, {m} more")
            self.k[layer, :, self.length : self.length + m] = k
            self.v[layer, :, self.length : self.length + m] = v
        else:
            keep = min(m, self.capacity)  # of a long chunk, only the last W positions survive
            slots = (self.length + m - keep + np.arange(keep)) % self.capacity
            self.k[layer][:, slots] = k[:, m - keep :]
            self.v[layer][:, slots] = v[:, m - keep :]

    def advance(self, m: int = 1) -> None:
        """Count m more tokens as cached (after every layer has written them)."""
        self.length += positive_int("m", m)


def new_cache(model: ToyDecoder, capacity: int) -> KVCache:
    """Return an empty KVCache for ``model`` holding up to ``capacity`` tokens (its window if it has one)."""
    return KVCache(model.n_layers, model.n_kv_heads, model.d_head, capacity, model.window)


def _sequence(model: ToyDecoder, x: object, name: str = "x") -> np.ndarray:
    """Return x as a float (n, d_model) array, or raise ValueError naming its shape."""
    x = float_array(name, x, 2)
    if x.ndim != 2 or x.shape[1] != model.d_model:
        raise ValueError(f"{name} must be (n, d_model) = (n, {model.d_model}), got shape {x.shape}")
    return x


def _project(model: ToyDecoder, layer: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return q (n_heads, n, d_head) and k, v (n_kv_heads, n, d_head) of x (n, d_model) in ``layer``."""
    n, d_head = x.shape[0], model.d_head

    def heads(W: np.ndarray, h: int) -> np.ndarray:
        return (x @ W[layer]).reshape(n, h, d_head).transpose(1, 0, 2)

    return heads(model.W_q, model.n_heads), heads(model.W_k, model.n_kv_heads), heads(model.W_v, model.n_kv_heads)


def _layer_output(model: ToyDecoder, layer: int, x: np.ndarray, heads_out: np.ndarray) -> np.ndarray:
    """Return x + the heads' outputs (n_heads, n, d_head), concatenated and projected by W_o: (n, d_model)."""
    merged = heads_out.transpose(1, 0, 2).reshape(x.shape[0], -1)
    return x + merged @ model.W_o[layer]


def forward(model: ToyDecoder, x: np.ndarray, cache: KVCache | None = None) -> np.ndarray:
    """Return the outputs (n, d_model) of every position of x (n, d_model), all at once.

    Each layer uses a causal mask, or the sliding-window mask when ``model.window`` is set. If
    an empty ``cache`` is given, it is filled with every layer's keys and values ("prefill"), so
    that decoding can go on from position n.
    """
    x = _sequence(model, x)
    n = x.shape[0]
    if cache is not None and cache.length:
        raise ValueError(f"forward fills an empty cache; this one already holds {cache.length} tokens")
    mask = causal_mask(n) if model.window is None else sliding_window_mask(n, model.window)
    for layer in range(model.n_layers):
        q, k, v = _project(model, layer, x)
        if cache is not None:
            cache.write(layer, k, v)
        out, _ = grouped_query_attention(q, k, v, mask)
        x = _layer_output(model, layer, x, out)
    if cache is not None:
        cache.advance(n)
    return x


def decode_step(model: ToyDecoder, x_t: np.ndarray, cache: KVCache) -> np.ndarray:
    """Return the output (d_model,) of one new position x_t (d_model,), using and extending ``cache``.

    In every layer the new position's keys and values are added to the cache, and its queries
    attend to all the cached ones (with a window, the rolling buffer holds exactly the positions
    it may see). Costs O(n_cached) per layer instead of forward's O(n^2).
    """
    x = _sequence(model, np.asarray(x_t)[None, :] if np.ndim(x_t) == 1 else x_t, "x_t")
    if x.shape[0] != 1:
        raise ValueError(f"x_t must be one token vector (d_model,) = ({model.d_model},), got shape {np.shape(x_t)}")
    visible = min(cache.length + 1, cache.capacity)
    for layer in range(model.n_layers):
        q, k, v = _project(model, layer, x)
        cache.write(layer, k, v)
        keys, values = cache.k[layer, :, :visible], cache.v[layer, :, :visible]
        out, _ = grouped_query_attention(q, keys, values)
        x = _layer_output(model, layer, x, out)
    cache.advance(1)
    return x[0]


def decode(model: ToyDecoder, x: np.ndarray) -> np.ndarray:
    """Return the outputs (n, d_model) of x (n, d_model) fed one position at a time through a cache."""
    x = _sequence(model, x)
    cache = new_cache(model, x.shape[0])
    return np.stack([decode_step(model, x_t, cache) for x_t in x])


def next_input(y: np.ndarray) -> np.ndarray:
    """Return the toy's next input from its last output y (d_model,): y rescaled to a root-mean-square of 1."""
    return y / np.sqrt(np.mean(y**2))


def generate(model: ToyDecoder, prompt: np.ndarray, steps: int, use_cache: bool = True) -> np.ndarray:
    """Return ``steps`` generated vectors (steps, d_model), each fed back as the next input.

    prompt: (n_0, d_model). Step t appends ``next_input`` of the last position's output. With
    ``use_cache`` the prompt is run once through ``forward`` into a cache and every new token
    through ``decode_step``; without, ``forward`` reruns on the whole sequence at every step.
    """
    x = _sequence(model, prompt, "prompt")
    steps = positive_int("steps", steps)
    generated = []
    if use_cache:
        cache = new_cache(model, x.shape[0] + steps)
        y = forward(model, x, cache)[-1]
        for _ in range(steps):
            generated.append(next_input(y))
            y = decode_step(model, generated[-1], cache)
    else:
        seq = x
        y = forward(model, seq)[-1]
        for _ in range(steps):
            generated.append(next_input(y))
            seq = np.vstack([seq, generated[-1]])
            y = forward(model, seq)[-1]
    return np.stack(generated)


def time_per_token(
    model: ToyDecoder, prefix_lengths: Sequence[int], use_cache: bool, repeats: int = 5, seed: int = 0
) -> np.ndarray:
    """Return the median seconds to produce one more token after each prefix length: (len(prefix_lengths),).

    Without the cache the step is ``forward`` on the prefix plus the new token; with the cache it
    is one ``decode_step`` on a cache already holding the prefix (filled once, untimed, with the
    longest prefix, and truncated back to each prefix before each timed call). Inputs are random (seed ``seed``); times from time.perf_counter.
    """
    lengths = [positive_int("prefix length", t) for t in prefix_lengths]
    repeats = positive_int("repeats", repeats)
    x = np.random.default_rng(seed).standard_normal((max(lengths) + 1, model.d_model))
    cache = new_cache(model, max(lengths) + 1) if use_cache else None
    if cache is not None and cache.window is not None:
        raise ValueError("time_per_token truncates its cache: use a model without a window")
    if cache is not None:
        forward(model, x[: max(lengths)], cache)
    seconds = np.empty(len(lengths))
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):  # longest first: truncate only shrinks
        t = lengths[i]
        times = []
        for _ in range(repeats + 1):  # the first call is a warm-up
            start = time.perf_counter()
            if cache is None:
                forward(model, x[: t + 1])
            else:
                cache.truncate(t)
                decode_step(model, x[t], cache)
            times.append(time.perf_counter() - start)
        seconds[i] = float(np.median(times[1:]))
    return seconds


__all__ = [
    "KVCache",
    "ToyDecoder",
    "decode",
    "decode_step",
    "forward",
    "generate",
    "new_cache",
    "next_input",
    "time_per_token",
    "toy_decoder",
]
