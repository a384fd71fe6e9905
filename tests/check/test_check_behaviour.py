"""How every check treats the learner: right answers in any style pass, nothing hangs, verdicts always show.

1. A right answer passes whatever its style: computed in float32 (returned as float32 or cast back
   to float64), with einsum, with torch inside, or as a plain loop.
2. A function that never returns fails within the check's time budget, naming the case.
3. A function finished for some inputs only (NotImplementedError for the rest) is told which
   cases ran and which raised, not "not attempted".
4. Hints say what happened: no NaN hint without a NaN; the memory probe names an up-front n x n
   mask; a notebook variable read instead of an argument is named; a swapped prediction is
   called swapped.
5. In Jupyter the verdict shows exactly once, wherever the call stands in its cell.
"""
from __future__ import annotations

import math
import time

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import attnlib as A
from attnlib import check
from attnlib.check import EXERCISES, Check
from attnlib.check.harness import Case, call_learner, Failed, time_limit, TookTooLong

CHECKS = [name for name, ex in EXERCISES.items() if isinstance(ex, Check)]
FLOAT_CHECKS = [name for name in CHECKS if EXERCISES[name].output in ("array", "pair")]


def assert_passed(result) -> None:
    assert result.status == "passed", str(result)


def assert_failed(result, *words: str) -> None:
    assert result.status == "failed", str(result)
    assert "could not finish" not in result.message, result.message
    for word in words:
        assert word in result.message, f"{word!r} not in: {result.message}"


# ====================================================================== 1. styles that must pass


def _to32(value):
    return value.astype(np.float32) if isinstance(value, np.ndarray) and value.dtype.kind == "f" else value


def _float32_inside(reference, cast_back: bool):
    """Return the reference computed in float32; its result cast back to the inputs' dtype if ``cast_back``."""

    def answer(*args, **kwargs):
        dtype = next((a.dtype for a in args if isinstance(a, np.ndarray) and a.dtype.kind == "f"), None)
        out = reference(*(_to32(a) for a in args), **{k: _to32(v) for k, v in kwargs.items()})
        if cast_back and dtype is not None:
            out = tuple(o.astype(dtype) for o in out) if isinstance(out, tuple) else out.astype(dtype)
        return out

    return answer


@pytest.mark.parametrize("name", FLOAT_CHECKS)
def test_a_right_answer_computed_in_float32_passes(name):
    ex = EXERCISES[name]
    if ex.keep_dtype:  # the contract keeps the input dtype: float32 inside, the input's dtype out
        assert_passed(ex(_float32_inside(ex.reference, cast_back=True)))
        return
    assert_passed(ex(_float32_inside(ex.reference, cast_back=False)))
    assert_passed(ex(_float32_inside(ex.reference, cast_back=True)))


def sdpa_einsum(q, k, v, mask=None):
    s = np.einsum("...qd,...kd->...qk", q, k) / math.sqrt(q.shape[-1])
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    m = s.max(-1, keepdims=True)
    e = np.exp(s - np.where(np.isfinite(m), m, 0))
    total = e.sum(-1, keepdims=True)
    w = np.divide(e, total, out=np.zeros_like(e), where=total > 0)
    return np.einsum("...qk,...kd->...qd", w, v), w


def sdpa_torch_float32(q, k, v, mask=None):
    tq, tk, tv = (torch.tensor(a, dtype=torch.float32) for a in (q, k, v))
    s = tq @ tk.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        s = s.masked_fill(~torch.as_tensor(np.broadcast_to(mask, s.shape)), float("-inf"))
    w = torch.nan_to_num(torch.softmax(s, dim=-1), nan=0.0)
    return (w @ tv).numpy(), w.numpy()


def sdpa_loop(q, k, v, mask=None):
    q, k, v = np.asarray(q, float), np.asarray(k, float), np.asarray(v, float)
    lead = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    n_q, n_k = q.shape[-2], k.shape[-2]
    full_mask = np.broadcast_to(True if mask is None else mask, lead + (n_q, n_k))
    q, k, v = (np.broadcast_to(a, lead + a.shape[-2:]) for a in (q, k, v))
    out, weights = np.zeros(lead + (n_q, v.shape[-1])), np.zeros(lead + (n_q, n_k))
    for idx in np.ndindex(*lead):
        for i in range(n_q):
            scores = [float(q[idx][i] @ k[idx][j]) / math.sqrt(q.shape[-1]) for j in range(n_k)]
            allowed = [j for j in range(n_k) if full_mask[idx][i, j]]
            if not allowed:
                continue
            top = max(scores[j] for j in allowed)
            e = {j: math.exp(scores[j] - top) for j in allowed}
            total = sum(e.values())
            for j in allowed:
                weights[idx][i, j] = e[j] / total
                out[idx][i] += weights[idx][i, j] * v[idx][j]
    return out, weights


def softmax_torch(x, axis=-1):
    return torch.softmax(torch.as_tensor(x, dtype=torch.float32), dim=axis).numpy()


def scaled_head_scores_float32(q, k, n_heads):
    q32, k32 = np.asarray(q, np.float32), np.asarray(k, np.float32)
    return A.scaled_head_scores(q32, k32, n_heads)


def gqa_torch(q, k, v, mask=None):
    tq, tk, tv = (torch.from_numpy(np.ascontiguousarray(a)) for a in (q, k, v))
    group = q.shape[-3] // k.shape[-3]
    tk, tv = tk.repeat_interleave(group, dim=-3), tv.repeat_interleave(group, dim=-3)
    s = tq @ tk.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        s = s.masked_fill(~torch.as_tensor(np.broadcast_to(mask, s.shape)), float("-inf"))
    w = torch.nan_to_num(torch.softmax(s, dim=-1), nan=0.0)
    return (w @ tv).numpy(), w.numpy()


def causal_mask_loop(n):
    return np.array([[j <= i for j in range(n)] for i in range(n)], dtype=bool).reshape(n, n)


def context_vector_einsum(encoder_states, scores):
    weights = A.softmax(scores, axis=-1)
    return np.einsum("...n,...nd->...d", weights, encoder_states), weights


def entropy_torch(weights):
    w = torch.as_tensor(weights, dtype=torch.float32)
    return torch.special.entr(w).sum(-1).numpy()


STYLES = [
    ("scaled_dot_product_attention", sdpa_einsum),
    ("scaled_dot_product_attention", sdpa_torch_float32),
    ("scaled_dot_product_attention", sdpa_loop),
    ("softmax", softmax_torch),
    ("scaled_head_scores", scaled_head_scores_float32),
    ("grouped_query_attention", gqa_torch),
    ("causal_mask", causal_mask_loop),
    ("context_vector", context_vector_einsum),
    ("attention_entropy", entropy_torch),
]


@pytest.mark.parametrize("name, answer", STYLES, ids=[f"{n}-{f.__name__}" for n, f in STYLES])
def test_right_answers_in_einsum_torch_and_loop_styles_pass(name, answer):
    assert_passed(EXERCISES[name](answer))


def test_hopfield_update_in_torch_float32_passes():
    ex = EXERCISES["hopfield_update"]

    def hopfield(patterns, query, beta):
        X = torch.as_tensor(patterns, dtype=torch.float32)
        xi = torch.as_tensor(query, dtype=torch.float32)
        single = xi.ndim == X.ndim - 1
        xi = xi[..., None, :] if single else xi
        w = torch.softmax(beta * (xi @ X.transpose(-1, -2)), dim=-1)
        out = w @ X
        return (out[..., 0, :] if single else out).numpy()

    assert_passed(ex(hopfield))


# ====================================================================== 2. nothing hangs


def test_a_function_that_never_returns_fails_within_its_budget(monkeypatch):
    monkeypatch.setattr(EXERCISES["softmax"], "budget", 0.5)

    def forever(x, axis=-1):
        while True:
            pass

    start = time.monotonic()
    result = check.softmax(forever)
    assert time.monotonic() - start < 5
    assert_failed(result, "took longer than 0.5 s", "three scores", "loop")


def test_an_except_exception_in_the_learners_code_cannot_swallow_the_time_out(monkeypatch):
    monkeypatch.setattr(EXERCISES["causal_mask"], "budget", 0.3)

    def stubborn(n):
        while True:
            try:
                time.sleep(0.01)
            except Exception:  # the learner's own catch-all
                pass

    assert_failed(check.causal_mask(stubborn), "took longer than 0.3 s")


def test_a_pure_python_tiled_attention_is_told_to_loop_over_blocks(monkeypatch):
    def per_element(q, k, v, block_size=128, causal=False):
        out = np.zeros(q.shape[:-1] + (v.shape[-1],), dtype=np.result_type(q, k, v))
        for idx in np.ndindex(*q.shape[:-2]):
            for i in range(q.shape[-2]):
                m, l, acc = -math.inf, 0.0, np.zeros(v.shape[-1])
                for j in range(k.shape[-2] if not causal else min(i + 1, k.shape[-2])):
                    s = sum(float(q[idx][i, t]) * float(k[idx][j, t]) for t in range(q.shape[-1])) / math.sqrt(q.shape[-1])
                    m_new = max(m, s)
                    a, p = math.exp(m - m_new), math.exp(s - m_new)
                    l, acc, m = l * a + p, acc * a + p * v[idx][j], m_new
                out[idx][i] = acc / l
        return out

    # the budget is a quarter of what this machine needs for the check's largest case, so the loop
    # over single scores runs out of time on a fast CPU as on a slow one
    slowest = 0.0
    for case in EXERCISES["tiled_attention"].cases():
        began = time.perf_counter()
        call_learner(per_element, case, budget=None)
        slowest = max(slowest, time.perf_counter() - began)
    monkeypatch.setattr(EXERCISES["tiled_attention"], "budget", slowest / 4)
    start = time.monotonic()
    result = check.tiled_attention(per_element)
    assert time.monotonic() - start < 30
    assert_failed(result, "took longer than", "loop over blocks")


def test_time_limit_leaves_fast_code_alone_and_restores_the_alarm():
    import signal

    before = signal.getsignal(signal.SIGALRM) if hasattr(signal, "SIGALRM") else None
    with time_limit(5):
        x = sum(range(1000))
    assert x == 499500
    with pytest.raises(TookTooLong):
        with time_limit(0.05):
            while True:
                pass
    if hasattr(signal, "SIGALRM"):
        assert signal.getsignal(signal.SIGALRM) == before
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# ====================================================================== 3. work finished in part


def test_a_function_finished_for_some_inputs_reports_which_ran_and_which_raised():
    def no_causal_yet(q, k, v, block_size=128, causal=False):
        if causal:
            raise NotImplementedError("causal later")
        return A.tiled_attention(q, k, v, block_size=block_size)

    result = check.tiled_attention(no_causal_yet)
    assert_failed(result, "NotImplementedError on 1 of", "causal, ragged", "all right")
    assert result.status != "not attempted"


def test_part_done_and_part_wrong_reports_both():
    def half(x, axis=-1):
        if x.ndim > 2:
            raise NotImplementedError()
        return np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True)  # no maximum subtracted

    result = check.softmax(half)
    assert_failed(result, "subtract the maximum", "NotImplementedError on 1 of", "3-D")


def test_a_stub_everywhere_is_still_not_attempted():
    def stub(x, axis=-1):
        raise NotImplementedError()

    assert check.softmax(stub).status == "not attempted"


# ====================================================================== 4. hints that say what happened


def test_a_wrong_causal_tiled_attention_without_nan_gets_no_nan_hint():
    def causal_diagonal_blocked(q, k, v, block_size=128, causal=False):
        if not causal:
            return A.tiled_attention(q, k, v, block_size=block_size)
        n = q.shape[-2]
        mask = np.tril(np.ones((n, k.shape[-2]), bool), -1)
        mask[0, 0] = True  # keep row 0 finite: no NaN anywhere
        return A.scaled_dot_product_attention(q, k, v, mask)[0].astype(np.result_type(q, k, v))

    result = check.tiled_attention(causal_diagonal_blocked)
    assert result.status == "failed" and "NaN" not in result.message, result.message


def test_a_nan_from_a_causal_tiled_attention_gets_the_nan_hint():
    def tile_max(q, k, v, block_size=128, causal=False):
        out = A.tiled_attention(q, k, v, block_size=block_size, causal=causal)
        if causal:
            out = out.copy()
            out[..., 1, :] = np.nan
        return out

    assert_failed(check.tiled_attention(tile_max), "NaN", "running maximum")


def test_an_up_front_causal_mask_is_named_by_the_memory_probe():
    def mask_up_front(q, k, v, block_size=128, causal=False):
        n_q, n_k = q.shape[-2], k.shape[-2]
        allowed = np.tril(np.ones((n_q, n_k), dtype=bool)) if causal else None   # n x n, before the loop
        out = np.empty(q.shape[:-1] + (v.shape[-1],), dtype=np.result_type(q, k, v))
        for qs in range(0, n_q, block_size):
            qb = q[..., qs:qs + block_size, :] / math.sqrt(q.shape[-1])
            m = np.full(qb.shape[:-1] + (1,), -np.inf)
            l, acc = np.zeros_like(m), np.zeros(qb.shape[:-1] + (v.shape[-1],))
            for ks in range(0, n_k, block_size):
                s = qb @ np.swapaxes(k[..., ks:ks + block_size, :], -1, -2)
                if causal:
                    s = np.where(allowed[qs:qs + block_size, ks:ks + block_size], s, -np.inf)
                m_new = np.maximum(m, s.max(-1, keepdims=True))
                a = np.exp(np.where(np.isfinite(m), m - m_new, -np.inf))
                p = np.exp(np.where(np.isfinite(m_new), s - m_new, -np.inf))
                l, acc, m = l * a + p.sum(-1, keepdims=True), acc * a + p @ v[..., ks:ks + block_size, :], m_new
            out[..., qs:qs + block_size, :] = acc / l
        return out

    result = check.tiled_attention(mask_up_front)
    assert_failed(result, "causal=True", "n x n mask", "inside the loop")
    assert "Loop over key blocks too" not in result.message


def test_a_tiled_attention_that_breaks_on_the_counting_arrays_gets_its_verdict_from_the_cases():
    """The work probe (are future tiles skipped?) only adds a note: when it cannot run, the cases decide."""
    def plain_only(q, k, v, block_size=128, causal=False):
        if type(q) is not np.ndarray:
            raise TypeError("plain arrays only")
        return A.tiled_attention(q, k, v, block_size=block_size, causal=causal)

    result = check.tiled_attention(plain_only)
    assert_passed(result)
    assert "FLOPs" not in result.message and "counted" not in result.message


def test_a_notebook_variable_read_instead_of_an_argument_is_named():
    namespace = {"np": np, "d_head": 64}
    exec(
        "def split_heads(x, n_heads):\n"
        "    *lead, n, d = x.shape\n"
        "    return np.swapaxes(x.reshape(*lead, n, n_heads, d_head), -3, -2)\n",
        namespace,
    )
    assert_failed(check.split_heads(namespace["split_heads"]), "`d_head` (= 64)", "from your notebook")

    namespace = {"np": np, "math": math, "d_k": 16}
    exec(
        "def scaled_head_scores(q, k, n_heads):\n"
        "    from attnlib import split_heads\n"
        "    qh, kh = split_heads(q, n_heads), split_heads(k, n_heads)\n"
        "    return qh @ np.swapaxes(kh, -1, -2) / math.sqrt(d_k)\n",
        namespace,
    )
    assert_failed(check.scaled_head_scores(namespace["scaled_head_scores"]), "`d_k` (= 16)")


def test_a_constant_that_changes_nothing_is_not_blamed():
    namespace = {"np": np, "UNUSED_SIZE": 64}
    exec(
        "def softmax(x, axis=-1):\n"
        "    _ = UNUSED_SIZE if False else 0\n"
        "    return np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True)\n",
        namespace,
    )
    result = check.softmax(namespace["softmax"])
    assert result.status == "failed" and "UNUSED_SIZE" not in result.message, result.message


def test_a_swapped_prediction_is_called_swapped():
    expected = list(np.atleast_1d(check.heads_cost_ratios.expected()))
    assert expected[0] != expected[1]
    assert_failed(check.heads_cost_ratios(lambda: expected[::-1]), "wrong order")
    assert "round to 2 decimals" not in check.heads_cost_ratios(lambda: expected[::-1]).message


def test_global_data_is_only_data():
    from attnlib.check.harness import _is_data

    assert _is_data(3) and _is_data(2.5) and _is_data(np.zeros(3)) and _is_data([1, 2])
    assert not _is_data(True) and not _is_data(np.exp) and not _is_data(np) and not _is_data("text") and not _is_data([])


# ====================================================================== 5. the verdict shows once, wherever the call stands


@pytest.fixture(scope="module", params=[True, False], ids=["as-JupyterLab-runs-cells", "as-nbval-runs-cells"])
def kernel_outputs(request):
    """Return the outputs of each cell of a notebook that calls checks in different places.

    JupyterLab runs cells with store_history=True, nbval with store_history=False (IPython's
    execution count then never moves): both must show each verdict once.
    """
    from nbclient import NotebookClient

    cells = {
        "last": "from attnlib import check\nimport numpy as np\ndef mine(x, axis=-1):\n    return np.exp(x) / np.exp(x).sum(axis, keepdims=True)\ncheck.softmax(mine)",
        "semicolon": "check.softmax(mine);",
        "print-after": "check.softmax(mine)\nprint('after')",
        "loop": "for f in (mine, mine):\n    check.softmax(f)",
        "kept": "r = check.causal_mask(lambda n: np.tril(np.ones((n, n), bool)))",
        "shown-later": "r",
        "prediction": "check.hand_softmax(lambda: [0.66, 0.24, 0.10])\nx = 1",
        "fallback": "f = check.fallback('softmax', mine)",
    }
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source, id=cid) for cid, source in cells.items()]
    client = NotebookClient(nb, timeout=120, kernel_name="python3")
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index, store_history=request.param)
    return {cell.id: cell.outputs for cell in nb.cells}


def verdicts(outputs) -> list[str]:
    """Return the check lines among a cell's outputs."""
    return [o["data"]["text/plain"] for o in outputs if "data" in o and o["data"].get("text/plain", "")[:2] in ("✔ ", "✘ ", "○ ")]


@pytest.mark.parametrize("cell, expected", [
    ("last", 1), ("semicolon", 1), ("print-after", 1), ("loop", 2), ("kept", 1), ("shown-later", 1), ("prediction", 1), ("fallback", 0),
])
def test_the_verdict_shows_exactly_once_wherever_the_call_stands(kernel_outputs, cell, expected):
    outputs = kernel_outputs[cell]
    shown = verdicts(outputs)
    assert len(shown) == expected, outputs
    assert all("text/html" in o["data"] for o in outputs if "data" in o and o["data"]["text/plain"] in shown)
    if cell == "print-after":
        texts = [o.get("text", "") for o in outputs if o.get("output_type") == "stream"]
        assert texts == ["after\n"] and outputs[0].get("output_type") == "display_data"  # the verdict first, in order
    if cell == "fallback":
        assert any("did not pass its check" in o.get("text", "") for o in outputs)
