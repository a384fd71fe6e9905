"""Count the floating-point operations of the matrix products a function runs, the same on every machine.

``count_matmul_flops(fn, q, k, v)`` calls ``fn`` on counting copies of its inputs (an ndarray
subclass) and adds up 2 FLOPs per multiply-add of every matrix product computed from them.
Notebook 08 and the tiled-attention check use it to see whether a causal tiled attention skips
the key tiles that lie wholly in the future: a count, not a timing, so it does not vary.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

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
