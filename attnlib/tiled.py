"""Tiled attention with an online softmax: FlashAttention's idea, exactly, in numpy (notebook 08).

``tiled_attention`` is the reference; ``count_matmul_flops`` counts the floating-point operations
of the matrix products a function runs, which is how notebook 08 and the exercise's check see
whether a causal tiled attention skips the key tiles that lie wholly in the future.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ._validate import positive_int
from .attention import attention_inputs


def tiled_attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, block_size: int = 128, causal: bool = False,
    skip_future: bool = True,
) -> np.ndarray:
    """Return softmax(q k^T / sqrt(d_k)) v computed block by block, never holding the n x n scores.

    q: (..., n_q, d_k); k: (..., n_k, d_k); v: (..., n_k, d_v) -> out: (..., n_q, d_v), in the
    dtype of the inputs. At any moment at most one (block_size x block_size) block of scores per
    batch/head entry exists. For each query block it walks the key blocks and keeps a running
    row maximum ``m``, a running normaliser ``l`` and an unnormalised output ``acc``; when the
    maximum grows, the old ``l`` and ``acc`` are rescaled by exp(m_old - m_new). The result is
    exact: the same numbers as the full softmax, up to rounding.
    causal=True lets query i see keys 0..i (top-left aligned, as torch's ``is_causal``). Then
    the key blocks that lie wholly in the future of a query block (first key > the block's last
    query) are skipped, about half of them, and only the blocks that straddle the diagonal are
    masked. ``skip_future=False`` visits (and masks) them anyway: the same result for about twice
    the work, which notebook 08 counts. Without causal=True it changes nothing.
    """
    checked = attention_inputs(q, k, v)[:3]
    # attention_inputs returns plain arrays; an ndarray subclass of the right dtype (the counting
    # arrays of count_matmul_flops) is used as given, so that its matrix products can be counted
    q, k, v = (x if isinstance(x, np.ndarray) and x.dtype == c.dtype else c for x, c in zip((q, k, v), checked))
    block = positive_int("block_size", block_size)
    dtype = np.result_type(q, k, v)
    q, k, v = (a.astype(dtype, copy=False) for a in (q, k, v))
    n_q, n_k, d_v = q.shape[-2], k.shape[-2], v.shape[-1]
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    scale = dtype.type(1.0 / np.sqrt(q.shape[-1]))
    k_t = np.swapaxes(k, -1, -2)  # a view: no copy
    out = np.empty(batch + (n_q, d_v), dtype=dtype)
    for qs in range(0, n_q, block):
        qe = min(qs + block, n_q)
        q_blk = q[..., qs:qe, :] * scale
        m = np.full(batch + (qe - qs, 1), -np.inf, dtype=dtype)  # running row maximum
        l = np.zeros(batch + (qe - qs, 1), dtype=dtype)  # running sum of exp(score - m)
        acc = np.zeros(batch + (qe - qs, d_v), dtype=dtype)  # running sum of exp(score - m) v
        # keys >= qe lie in the future of every query of this block: their blocks are skipped
        k_end = min(n_k, qe) if causal and skip_future else n_k
        for ks in range(0, k_end, block):
            ke = min(ks + block, k_end)
            s = q_blk @ k_t[..., ks:ke]  # (..., bq, bk): the only block of scores alive
            if causal and ke - 1 > qs:  # some key of this block lies in the future of some query
                future = np.arange(ks, ke)[None, :] > np.arange(qs, qe)[:, None]
                s[..., future] = -np.inf
            # m_new is finite: key 0, in the first block visited, is visible to every query
            m_new = np.maximum(m, s.max(axis=-1, keepdims=True))
            np.subtract(s, m_new, out=s)
            np.exp(s, out=s)
            alpha = np.exp(m - m_new)  # how much the old running sums shrink
            l *= alpha
            l += s.sum(axis=-1, keepdims=True)
            acc *= alpha
            acc += s @ v[..., ks:ke, :]
            m = m_new
        np.divide(acc, l, out=out[..., qs:qe, :])
    return out


# ------------------------------------------------------------------ counting matrix-product FLOPs

_COUNTED_FUNCTIONS = {np.dot, np.inner, np.tensordot, np.einsum}


class _CountingArray(np.ndarray):
    """An ndarray that adds the FLOPs of every matrix product it takes part in to a shared tally.

    Every array computed from it (slices, views, ufunc results) is a _CountingArray with the same
    tally, so a function that only slices and computes its inputs is counted all the way through.
    """

    tally: dict[str, int] | None

    def __array_finalize__(self, obj: Any) -> None:
        self.tally = getattr(obj, "tally", None)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, out: Any = None, **kwargs: Any) -> Any:
        tally = _tally_of(inputs + (out or ()))
        plain = tuple(_plain(x) for x in inputs)
        if out is not None:
            kwargs["out"] = tuple(_plain(o) for o in out)
        result = getattr(ufunc, method)(*plain, **kwargs)
        if ufunc is np.matmul and method == "__call__" and tally is not None and tally["depth"] == 0:
            # (..., m, k) @ (..., k, n): one multiply and one add per term of each output entry
            tally["flops"] += 2 * int(np.size(result)) * int(np.shape(plain[0])[-1])
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result, tally)

    def __array_function__(self, func: Callable, types: Any, args: tuple, kwargs: dict) -> Any:
        tally = self.tally
        if func not in _COUNTED_FUNCTIONS or tally is None:
            return super().__array_function__(func, types, args, kwargs)
        tally["depth"] += 1  # np.tensordot calls np.dot, np.einsum may too: count the outer call only
        try:
            result = super().__array_function__(func, types, args, kwargs)
        finally:
            tally["depth"] -= 1
        if tally["depth"] == 0:
            tally["flops"] += 2 * _products(func, args, result)
        return _wrap(result, tally)


def _tally_of(arrays: tuple) -> dict[str, int] | None:
    """Return the tally of the first counting array among ``arrays``, or None."""
    return next((x.tally for x in arrays if isinstance(x, _CountingArray)), None)


def _plain(x: Any) -> Any:
    """Return x viewed as a plain ndarray if it is a counting array, else x itself."""
    return x.view(np.ndarray) if isinstance(x, _CountingArray) else x


def _wrap(result: Any, tally: dict[str, int] | None) -> Any:
    """Return ufunc or function results as counting arrays sharing ``tally`` (scalars stay scalars)."""
    if isinstance(result, tuple):
        return tuple(_wrap(r, tally) for r in result)
    if type(result) is np.ndarray or isinstance(result, _CountingArray):
        wrapped = result.view(_CountingArray)
        wrapped.tally = tally
        return wrapped
    return result


def _products(func: Callable, args: tuple, result: Any) -> int:
    """Return the multiply-adds of one np.dot / np.inner / np.tensordot / np.einsum call."""
    if func is np.einsum:
        if not args or not isinstance(args[0], str):
            return 0  # einsum's interleaved form: not counted
        terms = args[0].replace(" ", "").split("->")[0].split(",")
        sizes: dict[str, int] = {}
        ellipsis: tuple[int, ...] = ()
        for term, operand in zip(terms, args[1:]):
            shape = np.shape(operand)
            if "..." in term:
                head, tail = term.split("...")
                ellipsis = np.broadcast_shapes(ellipsis, shape[len(head):len(shape) - len(tail)])
                term, shape = head + tail, shape[:len(head)] + shape[len(shape) - len(tail):]
            sizes.update(zip(term, shape))
        return math.prod(sizes.values()) * math.prod(ellipsis)
    a, b = np.shape(args[0]), np.shape(args[1])
    if func is np.tensordot:  # (free_a, c) x (c, free_b): free_a * free_b * c = sqrt(|a| |b| |out|)
        return round(math.sqrt(math.prod(a) * math.prod(b) * int(np.size(result))))
    if not a or not b:
        return int(np.size(result))  # a product with a scalar
    return int(np.size(result)) * a[-1]  # np.dot and np.inner contract the last axis of a


def count_matmul_flops(fn: Callable[..., Any], q: np.ndarray, k: np.ndarray, v: np.ndarray, **kwargs: Any) -> int:
    """Return the FLOPs of the matrix products that ``fn(q, k, v, **kwargs)`` runs (2 per multiply-add).

    q, k, v: float arrays, passed to ``fn`` as counting copies (an ndarray subclass). Every
    ``@`` / ``np.matmul``, ``np.dot``, ``np.inner``, ``np.tensordot`` and ``np.einsum`` on them,
    or on arrays computed from them, is counted: a product of (..., m, k) by (..., k, n) arrays
    costs 2 m k n FLOPs per batch entry. The count does not depend on the machine. Returns 0 when
    ``fn`` hides its products from the counter: ``np.asarray(q)`` turns a counting array back
    into a plain one, and torch tensors are not counted.
    """
    tally = {"flops": 0, "depth": 0}
    counting = []
    for name, x in (("q", q), ("k", k), ("v", v)):
        array = np.array(x)  # a copy: fn may do what it likes with it
        if array.dtype.kind != "f":
            raise ValueError(f"{name} must be a float array, got dtype {array.dtype}")
        counting.append(_wrap(array, tally))
    fn(*counting, **kwargs)
    return tally["flops"]
