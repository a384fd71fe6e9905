"""Measuring attention as n grows: time and peak-memory sweeps, and their log-log slopes (notebook 07).

A sweep runs one attention function on random float32 (n, d) inputs for a list of sequence
lengths n and returns one number per n: the fastest of a few calls (``time_sweep``, or
``time_side_by_side`` for several functions called in turn) or the bytes of the inputs plus
the peak the call allocates (``memory_sweep``). ``loglog_fit`` fits ``value ~ c * n^slope``
to a sweep: a slope of 2 means that doubling n quadruples the cost, a slope of 1 that it
doubles it.

Memory is measured with ``tracemalloc`` (through ``attnlib.measure.bench.peak_call_bytes``): numpy
reports its array allocations to it, torch's allocator does not, so only numpy
implementations can be compared on memory. Times are wall-clock (``time.perf_counter``),
on whatever threads the libraries use: ``one_torch_thread`` pins torch to one thread
for a while; numpy's BLAS threads are fixed when numpy is first imported (see attnlib.measure.bench).
"""
from __future__ import annotations

import contextlib
import time
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np

from ..reference.validate import positive_int
from .bench import peak_call_bytes, random_qkv

AttentionFn = Callable[[object, object, object], object]


def _lengths(ns: Sequence[int]) -> list[int]:
    """Return ns as a list of positive ints in increasing order, or raise ValueError."""
    lengths = [positive_int("n", n) for n in ns]
    if not lengths:
        raise ValueError("ns is empty: give at least one sequence length")
    if any(b <= a for a, b in zip(lengths, lengths[1:])):
        raise ValueError(f"ns must increase, got {lengths}")
    return lengths


def _inputs(n: int, d: int, seed: int, torch_inputs: bool) -> tuple[object, object, object]:
    """Return random float32 (n, d) q, k, v as numpy arrays, or as torch tensors sharing their memory."""
    q, k, v = random_qkv(n, d, np.float32, seed)
    if torch_inputs:
        import torch

        return tuple(torch.from_numpy(a) for a in (q, k, v))  # type: ignore[return-value]
    return q, k, v


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run the body with torch on one thread (``torch.set_num_threads(1)``), then restore the count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def time_sweep(
    fn: AttentionFn,
    ns: Sequence[int],
    d: int = 64,
    *,
    torch_inputs: bool = False,
    repeats: int = 3,
    max_seconds: float = 2.0,
    seed: int = 0,
    statistic: str = "min",
) -> np.ndarray:
    """Return the seconds of one ``fn(q, k, v)`` for each n in ``ns``: shape (len(ns),), NaN where skipped.

    q, k, v: random float32 (n, d) arrays (torch tensors if ``torch_inputs``). Each n gets
    ``repeats`` timed calls (``time.perf_counter``); the first n also gets one untimed warm-up
    call. ``statistic`` says which of the calls counts: ``"min"`` (the default), the fastest,
    is the least disturbed by whatever else the machine does (other programs only ever add
    time), as ``timeit`` advises; ``"median"`` the middle one. Once a time passes
    ``max_seconds``, the larger n are skipped (left NaN): with a quadratic cost each doubling of
    n takes about four times longer, so this keeps a sweep within a time budget on a slow machine.
    """
    return time_side_by_side({"fn": fn}, ns, d, torch_inputs=torch_inputs, repeats=repeats,
                             max_seconds=max_seconds, seed=seed, statistic=statistic)["fn"]


def time_side_by_side(
    fns: Mapping[str, AttentionFn],
    ns: Sequence[int],
    d: int = 64,
    *,
    torch_inputs: bool = False,
    repeats: int = 3,
    max_seconds: float = 2.0,
    seed: int = 0,
    statistic: str = "min",
) -> dict[str, np.ndarray]:
    """Return {name: seconds of one call for each n in ``ns``} for several functions timed in turn.

    Each array has shape (len(ns),), NaN where skipped. The calls alternate: for each n, each of
    the ``repeats`` rounds calls every function once, in order, on the same q, k, v. Whatever
    else loads the machine meanwhile slows all of them alike, so their *ratios* stay steady
    where separate sweeps, run one after the other, could each meet a different load. Inputs,
    the warm-up call (one per function, on the first n), ``statistic`` and ``max_seconds``
    (checked against the slowest function) are as in ``time_sweep``.
    """
    if not fns:
        raise ValueError("fns is empty: give at least one function to time")
    lengths = _lengths(ns)
    d = positive_int("d", d)
    repeats = positive_int("repeats", repeats)
    if not max_seconds > 0:
        raise ValueError(f"max_seconds must be positive, got {max_seconds}")
    if statistic not in ("min", "median"):
        raise ValueError(f"statistic must be 'min' or 'median', got {statistic!r}")
    pick = np.min if statistic == "min" else np.median
    seconds = {name: np.full(len(lengths), np.nan) for name in fns}
    for i, n in enumerate(lengths):
        q, k, v = _inputs(n, d, seed, torch_inputs)
        if i == 0:
            for fn in fns.values():
                fn(q, k, v)  # warm-up: first-call costs (imports, caches, allocator) are not attention's
        times: dict[str, list[float]] = {name: [] for name in fns}
        for _ in range(repeats):
            for name, fn in fns.items():
                start = time.perf_counter()
                fn(q, k, v)
                times[name].append(time.perf_counter() - start)
        for name in fns:
            seconds[name][i] = float(pick(times[name]))
        if max(seconds[name][i] for name in fns) > max_seconds:
            break
    return seconds


def memory_sweep(fn: AttentionFn, ns: Sequence[int], d: int = 64, seed: int = 0) -> np.ndarray:
    """Return, for each n in ``ns``, the bytes of q, k, v plus the peak that ``fn(q, k, v)`` allocates: (len(ns),).

    q, k, v: random float32 (n, d) numpy arrays. The peak is measured with tracemalloc
    (``attnlib.measure.bench.peak_call_bytes``) and includes the output; it only sees numpy's (and
    Python's) allocations, so ``fn`` must be a numpy implementation. One untimed warm-up call
    comes first. Nearly deterministic: the same code allocates the same arrays on every run; only
    a few hundred bytes of Python's own bookkeeping vary.
    """
    lengths = _lengths(ns)
    d = positive_int("d", d)
    out = np.empty(len(lengths))
    fn(*_inputs(lengths[0], d, seed, torch_inputs=False))  # warm-up: first-call allocations (caches, imports) are not fn's
    for i, n in enumerate(lengths):
        q, k, v = _inputs(n, d, seed, torch_inputs=False)
        out[i] = q.nbytes + k.nbytes + v.nbytes + peak_call_bytes(fn, q, k, v)
    return out


def loglog_fit(ns: Sequence[int], values: Sequence[float], last: int | None = None) -> tuple[float, float]:
    """Return (slope, c) of the least-squares fit values ~ c * n**slope, a straight line in log-log axes.

    ns: (m,) sequence lengths; values: (m,) positive numbers (seconds, bytes), NaN where not
    measured (those points are dropped). ``last``: fit only the last ``last`` measured points,
    the upper part of the range where the leading term dominates (small n is overhead-bound).
    """
    n_arr = np.asarray(ns, dtype=float)
    v_arr = np.asarray(values, dtype=float)
    if n_arr.ndim != 1 or n_arr.shape != v_arr.shape:
        raise ValueError(f"ns and values must be 1-D of the same length, got shapes {n_arr.shape} and {v_arr.shape}")
    keep = np.isfinite(v_arr)
    n_arr, v_arr = n_arr[keep], v_arr[keep]
    if last is not None:
        last = positive_int("last", last)
        n_arr, v_arr = n_arr[-last:], v_arr[-last:]
    if len(n_arr) < 2:
        raise ValueError(f"a slope needs at least 2 measured points, got {len(n_arr)} (values {list(values)})")
    if np.any(n_arr <= 0) or np.any(v_arr <= 0):
        raise ValueError("a log-log fit needs positive ns and values")
    slope, intercept = np.polyfit(np.log(n_arr), np.log(v_arr), 1)
    return float(slope), float(np.exp(intercept))


def doubling_ratios(ns: Sequence[int], values: Sequence[float]) -> np.ndarray:
    """Return values[i + 1] / values[i]: (m - 1,), what each doubling of n multiplied the cost by.

    ns must double from each entry to the next (256, 512, 1024, ...); NaN values give NaN ratios.
    """
    lengths = _lengths(ns)
    v_arr = np.asarray(values, dtype=float)
    if v_arr.shape != (len(lengths),):
        raise ValueError(f"values has shape {v_arr.shape}, expected ({len(lengths)},) like ns")
    if any(b != 2 * a for a, b in zip(lengths, lengths[1:])):
        raise ValueError(f"ns must double from each entry to the next, got {lengths}")
    return v_arr[1:] / v_arr[:-1]
