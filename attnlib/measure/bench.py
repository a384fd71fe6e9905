"""Benchmark of ``tiled_attention``: peak memory and speed, single-threaded, float32, d = 64.

Run it as ``python -m attnlib bench`` (``--help`` lists the options). It prints

(a) memory, at n = 16384 (``--mem-n``): the inputs plus the peak memory allocated during one
    call, as a multiple of the bytes of Q, K, V and O together (4 * n * d * 4 bytes). The
    requirement for ``tiled_attention`` is <= 1.1x; a naive numpy implementation that builds
    the n x n scores (``--skip-naive`` skips it) needs about 190x.
(b) time, at n = 4096 (``--time-n``): the median of ``--repeats`` calls (after a warm-up) of
    ``tiled_attention`` and of torch's ``F.scaled_dot_product_attention`` on the same data, and
    the ratio tiled / torch. The requirement is <= 1.5x.

and ends with one PASS/FAIL line per requirement; the exit status is 1 if one fails.

Everything runs on one thread: ``torch.set_num_threads(1)``, and numpy's BLAS is limited by
the environment variables OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS. They are
only read when numpy is first imported (``import attnlib`` already imports it), so when they are
not all "1" the command re-executes itself with them set.

Memory is measured with ``tracemalloc``: numpy reports its array allocations to it, so the peak
it sees is the peak of numpy arrays (and Python objects) alive during the call. torch's
allocator is not traced, which is why only numpy implementations are compared on memory.
The functions below (``peak_memory_ratio``, ``median_time``, ...) can be reused from a test or
a notebook; ``main`` changes torch's global thread count, but never re-executes the process.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
import tracemalloc
from typing import Callable, Sequence

import numpy as np

from ..reference.attention import softmax
from ..reference.tiled import tiled_attention

#: The environment variables that fix the number of BLAS / OpenMP threads numpy uses.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: Requirement (a): inputs + peak during a tiled_attention call, in units of bytes(Q, K, V, O).
MEMORY_LIMIT = 1.1
#: Requirement (b): median time of tiled_attention / median time of torch's SDPA.
TIME_LIMIT = 1.5
#: Default block size of tiled_attention in the benchmark. Measured (float32, d=64, one thread):
#: 64 / 128 / 256 give 1.00x / 1.01x / 1.04x memory and about 1.0x / 0.7x / 0.5x torch's time;
#: 512 and 1024 are no faster but break the 1.1x memory requirement (1.14x, 1.53x at n=16384).
DEFAULT_BLOCK_SIZE = 256

AttentionFn = Callable[[np.ndarray, np.ndarray, np.ndarray], object]


def single_threaded_env() -> bool:
    """Return True when OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS are all "1"."""
    return all(os.environ.get(name) == "1" for name in THREAD_ENV_VARS)


def reexec_single_threaded(argv: Sequence[str]) -> None:
    """Re-execute ``python -m attnlib.measure.bench *argv`` with the thread variables set to 1.

    Does nothing when they are already all "1" (so it cannot loop); otherwise it never returns.
    Only for the command line: it replaces the running process.
    """
    if single_threaded_env():
        return
    for name in THREAD_ENV_VARS:
        os.environ[name] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "attnlib.measure.bench", *argv])


def random_qkv(
    n: int, d: int, dtype: np.dtype | type = np.float32, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return three (n, d) standard-normal arrays q, k, v of the given dtype."""
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal((n, d)).astype(dtype) for _ in range(3))  # type: ignore[return-value]


def naive_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Return softmax(q k^T / sqrt(d)) v the textbook way, materialising the (n_q, n_k) scores.

    Stays in the dtype of the inputs (the scale is a Python float). Used as the memory baseline.
    """
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    weights = softmax(scores, axis=-1)
    return weights @ v


def tiled(block_size: int = DEFAULT_BLOCK_SIZE, causal: bool = False) -> AttentionFn:
    """Return ``tiled_attention`` with the given block size as a function of (q, k, v)."""

    def fn(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
        return tiled_attention(q, k, v, block_size=block_size, causal=causal)

    fn.__name__ = f"tiled_attention(block_size={block_size})"
    return fn


def peak_call_bytes(fn: AttentionFn, *args: object) -> int:
    """Return the peak memory (bytes) that ``fn(*args)`` allocates above what was live before.

    Measured with tracemalloc, which sees numpy's array allocations. The result of the call is
    still alive when the peak is read, so it is included. Works whether or not tracemalloc was
    already tracing (it is left as it was found).
    """
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = fn(*args)
        peak = tracemalloc.get_traced_memory()[1]
        del result
    finally:
        if started:
            tracemalloc.stop()
    return max(peak - before, 0)


def peak_memory_ratio(
    fn: AttentionFn, n: int, d: int = 64, dtype: np.dtype | type = np.float32, seed: int = 0
) -> float:
    """Return (bytes(q) + bytes(k) + bytes(v) + peak during fn(q, k, v)) / bytes(Q, K, V, O).

    q, k, v are random (n, d) arrays of ``dtype``; the denominator is 4 * n * d * itemsize, the
    bytes of Q, K, V and an (n, d) output O. An implementation that only allocates its output
    gives about 1.0; one that materialises an n x n float matrix adds n / (4 d) per matrix.
    """
    q, k, v = random_qkv(n, d, dtype, seed)
    qkvo = 4 * n * d * np.dtype(dtype).itemsize
    return (q.nbytes + k.nbytes + v.nbytes + peak_call_bytes(fn, q, k, v)) / qkvo


def median_time(fn: Callable[..., object], *args: object, repeats: int = 5, warmup: int = 1) -> float:
    """Return the median wall-clock time (seconds) of ``fn(*args)`` over ``repeats`` calls.

    ``warmup`` calls are made first and not timed.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}")
    for _ in range(warmup):
        fn(*args)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def torch_sdpa() -> Callable[[object, object, object], object]:
    """Return torch's F.scaled_dot_product_attention, run without autograd, as f(q, k, v)."""
    import torch
    import torch.nn.functional as F

    def fn(q: object, k: object, v: object) -> object:
        with torch.inference_mode():
            return F.scaled_dot_product_attention(q, k, v)

    return fn


def time_ratio(
    n: int,
    d: int = 64,
    block_size: int = DEFAULT_BLOCK_SIZE,
    repeats: int = 5,
    warmup: int = 1,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Return (tiled seconds, torch seconds, max |tiled - torch|) on the same float32 (n, d) data.

    Times are medians (see ``median_time``) on whatever threads torch and numpy are set to use;
    ``main`` sets one thread.
    """
    import torch

    q, k, v = random_qkv(n, d, np.float32, seed)
    tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
    tiled_fn, sdpa = tiled(block_size), torch_sdpa()
    t_tiled = median_time(tiled_fn, q, k, v, repeats=repeats, warmup=warmup)
    t_torch = median_time(sdpa, tq, tk, tv, repeats=repeats, warmup=warmup)
    err = float(np.max(np.abs(tiled_fn(q, k, v) - sdpa(tq, tk, tv).numpy())))
    return t_tiled, t_torch, err


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command-line options of ``python -m attnlib.measure.bench``."""
    p = argparse.ArgumentParser(
        prog="python -m attnlib bench",
        description="Peak memory and speed of attnlib.tiled_attention (float32, single-threaded).",
    )
    p.add_argument("--mem-n", type=int, default=16384, help="sequence length of the memory test (default 16384)")
    p.add_argument("--time-n", type=int, default=4096, help="sequence length of the timing test (default 4096)")
    p.add_argument("-d", "--head-dim", type=int, default=64, help="head dimension d (default 64)")
    p.add_argument(
        "--block-size", type=int, default=DEFAULT_BLOCK_SIZE,
        help=f"block size of tiled_attention (default {DEFAULT_BLOCK_SIZE})",
    )
    p.add_argument("--repeats", type=int, default=5, help="timed calls per implementation; the median is reported (default 5)")
    p.add_argument("--warmup", type=int, default=1, help="untimed calls before timing (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    p.add_argument("--skip-naive", action="store_true", help="skip the naive numpy memory baseline (~3 GiB at n=16384)")
    args = p.parse_args(argv)
    for name in ("mem_n", "time_n", "head_dim", "block_size", "repeats"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if args.warmup < 0:
        p.error(f"--warmup must be >= 0, got {args.warmup}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table and PASS/FAIL lines; return 0 if both requirements pass.

    Sets torch to one thread. numpy's BLAS threads cannot be changed after import: run it as
    ``python -m attnlib bench``, which re-executes itself with the thread variables set to 1.
    """
    import torch

    args = parse_args(argv)
    torch.set_num_threads(1)
    d, block = args.head_dim, args.block_size
    blas = "1" if single_threaded_env() else "NOT pinned (set " + "=1, ".join(THREAD_ENV_VARS) + "=1)"
    print(f"attnlib.measure.bench: float32, d={d}, torch threads={torch.get_num_threads()}, numpy BLAS threads: {blas}")
    print()

    mem_n = args.mem_n
    qkvo_mib = 4 * mem_n * d * 4 / 2**20
    print(f"(a) memory at n={mem_n}: inputs + peak during one call, in units of bytes(Q,K,V,O) = {qkvo_mib:.1f} MiB")
    print(f"    {'implementation':<28}{'MiB':>10}{'x QKVO':>10}")
    mem_tiled = peak_memory_ratio(tiled(block), mem_n, d, np.float32, args.seed)
    print(f"    {f'tiled (block {block})':<28}{mem_tiled * qkvo_mib:>10.1f}{mem_tiled:>10.2f}")
    if not args.skip_naive:
        mem_naive = peak_memory_ratio(naive_attention, mem_n, d, np.float32, args.seed)
        print(f"    {'naive numpy (n x n scores)':<28}{mem_naive * qkvo_mib:>10.1f}{mem_naive:>10.2f}")
    print()

    t_tiled, t_torch, err = time_ratio(args.time_n, d, block, args.repeats, args.warmup, args.seed)
    ratio = t_tiled / t_torch
    print(f"(b) time at n={args.time_n}: median of {args.repeats} calls after {args.warmup} warm-up")
    print(f"    {'implementation':<28}{'seconds':>10}")
    print(f"    {f'tiled (block {block})':<28}{t_tiled:>10.4f}")
    print(f"    {'torch F.sdpa':<28}{t_torch:>10.4f}")
    print(f"    {'ratio tiled / torch':<28}{ratio:>10.2f}")
    print(f"    max |tiled - torch| = {err:.2e}")
    print()

    ok_mem = mem_tiled <= MEMORY_LIMIT
    ok_time = ratio <= TIME_LIMIT
    print(f"{'PASS' if ok_mem else 'FAIL'} memory: tiled peak {mem_tiled:.2f}x QKVO <= {MEMORY_LIMIT}x at n={mem_n}")
    print(f"{'PASS' if ok_time else 'FAIL'} time: tiled / torch {ratio:.2f}x <= {TIME_LIMIT}x at n={args.time_n}")
    return 0 if ok_mem and ok_time else 1


if __name__ == "__main__":
    reexec_single_threaded(sys.argv[1:])
    sys.exit(main())
