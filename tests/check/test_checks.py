"""The exercise checks in attnlib.check against right, unfinished and wrong learner code.

Contract, for every exercise in ``check.EXERCISES`` (the tests are parametrized over the
registry, so a new exercise is covered as soon as it is registered):

1. attnlib's reference passes;
2. a stub that still raises NotImplementedError is "not attempted", and the check returns;
3. each known mistake fails with its own hint in the message;
4. learner code that raises, returns None / the wrong shape / the wrong type / NaN, or edits
   its inputs in place fails with a message naming the problem, and never crashes the check;
5. hand-written learner code (right and wrong) gets the verdict a teacher would give;
6. passing a result instead of the function is explained;
7. CheckResult prints as one line and escapes HTML;
8. ``fallback`` returns the learner's function or the reference, saying which;
9. the predictions accept the right numbers and explain the wrong ones.
"""
from __future__ import annotations

import copy
import math
from typing import Any, Callable

import numpy as np
import pytest
import torch

import attnlib as A
from attnlib import check
from attnlib.check import EXERCISES, Check, CheckResult, Prediction, fallback

NAMES = list(EXERCISES)
CHECKS = [name for name, ex in EXERCISES.items() if isinstance(ex, Check)]
PREDICTIONS = [name for name, ex in EXERCISES.items() if isinstance(ex, Prediction)]
PAIRS = [name for name in CHECKS if EXERCISES[name].output == "pair"]


def kind(ex) -> str:
    """Return "array", "pair", "number" (Check outputs) or "prediction"."""
    return "prediction" if isinstance(ex, Prediction) else ex.output


def reference_of(ex) -> Callable[..., Any]:
    """Return a right answer function: attnlib's reference, or one returning the expected prediction."""
    return ex.reference if isinstance(ex, Check) else (lambda: ex.expected())


def mistakes_of(ex) -> list[tuple[Callable[..., Any], str]]:
    """Return (wrong function, hint) for every known mistake of an exercise."""
    if isinstance(ex, Check):
        return [(m.fn, m.hint) for m in ex.mistakes]
    return [((lambda w=w: w()), hint) for w, hint in ex.wrong]


def stub(*args, **kwargs):
    raise NotImplementedError()


def assert_failed(result: CheckResult, *words: str) -> None:
    """Assert that the check failed cleanly and that its message contains every word."""
    assert isinstance(result, CheckResult)
    assert result.status == "failed", str(result)
    assert not result.passed and not result
    assert "could not finish" not in result.message, result.message  # a crash inside the check
    for word in words:
        assert word in result.message, f"{word!r} not in: {result.message}"


def assert_passed(result: CheckResult) -> None:
    assert result.status == "passed", str(result)
    assert result.passed and bool(result)


# =========================================================================== 1-3: the registry


def test_registry_lists_every_exercise_once_with_its_metadata():
    assert len(NAMES) == len(set(NAMES)) >= 17
    for name, ex in EXERCISES.items():
        assert ex.name == name
        assert getattr(check, name) is ex
        assert isinstance(ex.notebook, str) and ex.notebook.isdigit()
        assert ex.summary
    notebooks = [ex.notebook for ex in EXERCISES.values()]
    assert notebooks == sorted(notebooks), "EXERCISES is in course order"


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes(name):
    ex = EXERCISES[name]
    result = ex(reference_of(ex))
    assert_passed(result)
    assert result.exercise == name


@pytest.mark.parametrize("name", NAMES)
def test_stub_is_not_attempted(name):
    result = EXERCISES[name](stub)  # must return, not raise
    assert result.status == "not attempted", str(result)
    assert not result.passed and not result
    assert "NotImplementedError" in result.message or "not attempted" in result.message


def _mistake_params():
    for name, ex in EXERCISES.items():
        for i, (_, hint) in enumerate(mistakes_of(ex)):
            yield pytest.param(name, i, id=f"{name}-{i}-{hint[:30]}")


def test_every_check_has_known_mistakes():
    # the diagnosis machinery is only exercised where mistakes exist
    for name, ex in EXERCISES.items():
        assert mistakes_of(ex), f"{name} has no known mistakes"


@pytest.mark.parametrize("name, index", list(_mistake_params()))
def test_each_known_mistake_gets_its_own_hint(name, index):
    ex = EXERCISES[name]
    wrong, hint = mistakes_of(ex)[index]
    result = ex(wrong)
    if name == "softmax" and "without keepdims" in hint:
        # dividing by sums taken without keepdims raises inside the learner's code on a
        # non-square input, before any value can be compared: the exception hint covers it
        assert_failed(result, "keepdims", "ValueError")
    else:
        assert_failed(result, hint)


# =========================================================================== 4: bad answers, generically


def _case_args(ex) -> list[dict[str, Any]]:
    return [case.args for case in ex.cases()] if isinstance(ex, Check) else []


def _first_array_arg(ex) -> str | None:
    """Return the name of the first ndarray argument of the first case that has one."""
    for args in _case_args(ex):
        for arg_name, value in args.items():
            if isinstance(value, np.ndarray):
                return arg_name
    return None


def _main_output(ex) -> np.ndarray:
    """Return the reference's (main) array on the first case: the answer, or `out` of a pair."""
    case = ex.cases()[0]
    answer = ex.reference(**case.args, **case.kwargs)
    return answer[0] if kind(ex) == "pair" else answer


def _on_main(ex, transform):
    """Return a candidate that calls the reference and corrupts its (main) array with transform."""
    ref = reference_of(ex)

    def candidate(*args, **kwargs):
        answer = ref(*args, **kwargs)
        if kind(ex) == "pair":
            out, weights = answer
            return transform(out), weights
        return transform(answer)

    return candidate


def _returning(ex, transform):
    """Return a candidate that returns transform(reference answer)."""
    ref = reference_of(ex)
    return lambda *args, **kwargs: transform(ref(*args, **kwargs))


def _bad_raises_value_error(ex):
    def candidate(*args, **kwargs):
        raise ValueError("something went wrong here")

    return candidate, ["ValueError", "something went wrong here"]


def _bad_divides_by_zero(ex):
    def candidate(*args, **kwargs):
        return 1 / 0

    # the message points at the learner's line
    return candidate, ["ZeroDivisionError", "return 1 / 0"]


def _bad_wrong_call(ex):
    ref = reference_of(ex)

    def candidate(*args, **kwargs):
        return ref(*args, None, None, None, None, None, **kwargs)  # too many arguments

    return candidate, ["TypeError"]


def _bad_none(ex):
    def candidate(*args, **kwargs):
        reference_of(ex)(*args, **kwargs)  # computed, but never returned

    return candidate, ["None"]


def _bad_shape(ex):
    k = kind(ex)
    if k in ("array", "pair"):
        return _on_main(ex, lambda a: a[..., 0]), ["shape"]
    if k == "number":
        return _returning(ex, lambda v: np.array([v, v])), ["expected a number"]
    return _returning(ex, lambda v: np.append(np.atleast_1d(v), 0.0).tolist()), ["number(s)"]


def _bad_list(ex):
    k = kind(ex)
    if k in ("array", "pair"):
        return _on_main(ex, lambda a: a.tolist()), ["list", "not a numpy array"]
    if k == "number":
        return _returning(ex, lambda v: [v]), ["list", "expected a number"]
    return "a list of numbers is a valid prediction"


def _bad_string(ex):
    k = kind(ex)
    if k in ("array", "pair"):
        return _on_main(ex, str), ["str"]
    if k == "number":
        # the right number, as text: float("327680") works, but a string is not a number
        return _returning(ex, str), ["str", "expected a number"]
    return _returning(ex, lambda v: str(v.tolist() if isinstance(v, np.ndarray) else v)), ["text"]


def _bad_torch(ex):
    if kind(ex) in ("array", "pair"):
        return _on_main(ex, lambda a: torch.from_numpy(np.array(a))), ["torch", "numpy"]
    return "a 0-d torch tensor holds one number, which float() reads: accepted where a number is expected"


def _inject_nan(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=a.dtype)
    a.flat[0] = np.nan
    return a


def _bad_nan(ex):
    k = kind(ex)
    if k in ("array", "pair"):
        if _main_output(ex).dtype == bool:
            return "a bool mask cannot hold NaN"
        return _on_main(ex, _inject_nan), ["NaN"]
    if k == "number":
        return _returning(ex, lambda v: float("nan")), ["nan", "expected a finite number"]
    return _returning(ex, lambda v: [float("nan")] * np.size(v)), ["nan", "not finite"]


def _bad_dtype(ex):
    k = kind(ex)
    if k not in ("array", "pair"):
        return "numbers have no dtype to get wrong"
    if _main_output(ex).dtype == bool:
        # np.tril(np.ones((n, n))): the right pattern, as 0.0 / 1.0
        return _on_main(ex, lambda a: a.astype(float)), ["bool", "float64"]
    # accumulating into np.zeros(..., dtype=int)
    return _on_main(ex, lambda a: (a * 100).astype(np.int64)), ["dtype int64", "floating-point"]


def _mutate(value: Any) -> None:
    if value.dtype == bool:
        np.logical_not(value, out=value)
    else:
        value += 1


def _bad_in_place(ex):
    if kind(ex) == "prediction":
        return "a prediction takes no inputs"
    name = _first_array_arg(ex)
    if name is None:
        return f"every input of {ex.name} is a Python scalar: there is nothing to modify in place"
    ref = ex.reference

    def candidate(*args, **kwargs):
        answer = ref(*copy.deepcopy(args), **copy.deepcopy(kwargs))  # the right answer...
        first = next(a for a in args if isinstance(a, np.ndarray))
        _mutate(first)  # ...but the learner's code edited its input
        return answer

    return candidate, ["in place", f"`{name}`"]


BAD_ANSWERS = {
    "raises ValueError": _bad_raises_value_error,
    "raises ZeroDivisionError": _bad_divides_by_zero,
    "wrong call (TypeError)": _bad_wrong_call,
    "returns None": _bad_none,
    "wrong shape": _bad_shape,
    "list": _bad_list,
    "string": _bad_string,
    "torch tensor": _bad_torch,
    "NaN": _bad_nan,
    "wrong dtype": _bad_dtype,
    "in place": _bad_in_place,
}


@pytest.mark.parametrize("bad", list(BAD_ANSWERS))
@pytest.mark.parametrize("name", NAMES)
def test_bad_answer_fails_with_a_message_naming_the_problem(name, bad):
    ex = EXERCISES[name]
    built = BAD_ANSWERS[bad](ex)
    if isinstance(built, str):
        pytest.skip(built)
    candidate, words = built
    assert_failed(ex(candidate), *words)


@pytest.mark.parametrize("name", PAIRS)
def test_pair_returning_only_out_is_explained(name):
    ex = EXERCISES[name]
    assert_failed(ex(lambda *a, **k: ex.reference(*a, **k)[0]), "tuple (out, weights)")


@pytest.mark.parametrize("name", PAIRS)
def test_pair_with_an_extra_value_is_explained(name):
    ex = EXERCISES[name]
    assert_failed(ex(lambda *a, **k: ex.reference(*a, **k) + (None,)), "tuple (out, weights)", "a tuple of 3 values")


@pytest.mark.parametrize("name", PAIRS)
def test_pair_in_the_wrong_order_is_explained(name):
    ex = EXERCISES[name]
    assert_failed(ex(lambda *a, **k: ex.reference(*a, **k)[::-1]), "order (out, weights)")


@pytest.mark.parametrize("name", PAIRS)
def test_pair_as_a_list_is_accepted(name):
    # `return [out, weights]` is as good as a tuple
    ex = EXERCISES[name]
    assert_passed(ex(lambda *a, **k: list(ex.reference(*a, **k))))


@pytest.mark.parametrize("name", PAIRS)
def test_pair_with_wrong_weights_says_which_value_is_wrong(name):
    ex = EXERCISES[name]

    def candidate(*args, **kwargs):
        out, weights = ex.reference(*args, **kwargs)
        return out, weights * 2  # rows sum to 2

    assert_failed(ex(candidate), "weights (the second value you return)", "sum to 1")


# =========================================================================== 5: hand-written learner code

# ---------------------------------------------------------------- softmax


def softmax_loop(x, axis=-1):
    """A learner's loop version: one row at a time."""
    x = np.moveaxis(np.asarray(x, dtype=float), axis, -1)
    out = np.empty_like(x)
    for idx in np.ndindex(*x.shape[:-1]):
        row = x[idx]
        e = np.exp(row - row.max())
        out[idx] = e / e.sum()
    return np.moveaxis(out, -1, axis)


def softmax_learner_style(x, axis=-1):
    """Right, the way the notebook teaches it."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def test_softmax_alternative_right_implementations_pass():
    assert_passed(check.softmax(softmax_loop))
    assert_passed(check.softmax(softmax_learner_style))
    # via torch, converted back to numpy: still a numpy answer
    assert_passed(check.softmax(lambda x, axis=-1: torch.softmax(torch.from_numpy(x), dim=axis).numpy()))


def test_softmax_without_max_subtraction_is_told_to_subtract_the_maximum():
    def softmax(x, axis=-1):
        return np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True)

    assert_failed(check.softmax(softmax), "subtract the maximum")


def test_softmax_hardcoded_last_axis_without_max_reports_the_axis_first():
    # two bugs at once: the check names the first case that fails (axis=0), and the
    # overflow is named once the axis is fixed (previous test)
    def softmax(x, axis=-1):
        return np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)

    assert_failed(check.softmax(softmax), "axis")


def test_softmax_over_axis_0_is_told_about_the_axis():
    def softmax(x, axis=-1):
        e = np.exp(x - x.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)

    assert_failed(check.softmax(softmax), "another axis than `axis`")


def test_softmax_with_one_global_maximum_is_told_to_use_each_rows_maximum():
    def softmax(x, axis=-1):
        x = x - np.max(x)
        return np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True)

    assert_failed(check.softmax(softmax), "each row's own maximum")


def test_softmax_editing_x_in_place_is_reported_even_though_the_values_are_right():
    def softmax(x, axis=-1):
        x -= x.max(axis=axis, keepdims=True)
        e = np.exp(x)
        return e / e.sum(axis=axis, keepdims=True)

    assert_failed(check.softmax(softmax), "in place", "`x`", "x = x - m")


def test_softmax_with_a_differently_named_axis_parameter_is_a_type_error():
    def softmax(z, dim=-1):
        return softmax_learner_style(z, dim)

    assert_failed(check.softmax(softmax), "TypeError", "axis")


# ---------------------------------------------------------------- scaled dot-product attention


def _learner_sdpa(scale_by_sqrt: bool):
    def attention(q, k, v, mask=None):
        scores = q @ np.swapaxes(k, -1, -2)
        if scale_by_sqrt:
            scores = scores / np.sqrt(q.shape[-1])
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        m = scores.max(axis=-1, keepdims=True)
        e = np.exp(scores - np.where(np.isinf(m), 0, m))
        total = e.sum(axis=-1, keepdims=True)
        weights = np.divide(e, total, out=np.zeros_like(e), where=total > 0)
        return weights @ v, weights

    return attention


def sdpa_einsum(q, k, v, mask=None):
    """Right, different code: einsum, and NaN rows of blocked queries zeroed afterwards."""
    scores = np.einsum("...qd,...kd->...qk", q, k) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = np.nan_to_num(e / e.sum(axis=-1, keepdims=True))
    return np.einsum("...qk,...kd->...qd", weights, v), weights


def test_sdpa_alternative_right_implementations_pass():
    assert_passed(check.scaled_dot_product_attention(_learner_sdpa(scale_by_sqrt=True)))
    assert_passed(check.scaled_dot_product_attention(sdpa_einsum))


def test_sdpa_without_sqrt_is_told_to_scale():
    assert_failed(check.scaled_dot_product_attention(_learner_sdpa(scale_by_sqrt=False)), "sqrt(d_k)", "not scaled")


def test_sdpa_with_k_T_is_told_to_swap_the_last_two_axes():
    def attention(q, k, v, mask=None):
        scores = q @ k.T / np.sqrt(q.shape[-1])  # fine in 2-D, wrong on a batch
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        weights = softmax_learner_style(scores)
        return weights @ v, weights

    assert_failed(check.scaled_dot_product_attention(attention), "ValueError", "np.swapaxes(k, -1, -2)", "k.T")


def test_sdpa_with_minus_1e9_gives_uniform_blocked_rows():
    def attention(q, k, v, mask=None):
        scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
        if mask is not None:
            scores = np.where(mask, scores, -1e9)
        weights = softmax_learner_style(scores)
        return weights @ v, weights

    assert_failed(check.scaled_dot_product_attention(attention), "uniform weights")


# ---------------------------------------------------------------- masks


@pytest.mark.parametrize(
    "learner",
    [
        lambda n: np.triu(np.ones((n, n)), 1) == 0,
        lambda n: np.arange(n)[:, None] >= np.arange(n)[None, :],
        lambda n: np.array([[j <= i for j in range(n)] for i in range(n)]),
        lambda n: ~np.triu(np.ones((n, n), dtype=bool), k=1),
    ],
    ids=["triu==0", "arange comparison", "loops", "~triu"],
)
def test_causal_mask_alternative_right_implementations_pass(learner):
    assert_passed(check.causal_mask(learner))


def test_causal_mask_with_the_diagonal_blocked():
    assert_failed(check.causal_mask(lambda n: np.tril(np.ones((n, n), dtype=bool), -1)), "diagonal is blocked")


def test_causal_mask_as_floats_is_told_to_use_bool():
    assert_failed(check.causal_mask(lambda n: np.tril(np.ones((n, n)))), "bool", "float64")


def test_causal_mask_in_the_blocked_convention_is_told_true_means_may_attend():
    # nn.MultiheadAttention's convention: True = blocked
    assert_failed(check.causal_mask(lambda n: np.triu(np.ones((n, n), dtype=bool), 1)), "True means *may attend*")


def test_padding_mask_loop_passes_and_sorting_lengths_in_place_fails():
    def padding_mask(lengths, n):
        mask = np.zeros((len(lengths), n), dtype=bool)
        for b, length in enumerate(lengths):
            mask[b, :length] = True
        return mask

    assert_passed(check.padding_mask(padding_mask))

    def sorting(lengths, n):
        lengths.sort()  # the learner wanted the longest one... and edited the caller's array
        return padding_mask(lengths, n)

    assert_failed(check.padding_mask(sorting), "in place", "`lengths`")


def test_padding_mask_off_by_one():
    assert_failed(
        check.padding_mask(lambda lengths, n: np.arange(n) <= np.asarray(lengths)[:, None]), "off by one", "j < L"
    )


def test_padding_attention_mask_blocking_rows_too_is_explained():
    def mask(lengths, n):
        keys = np.arange(n) < np.asarray(lengths)[:, None]
        return keys[:, None, :] & keys[:, :, None]

    assert_failed(check.padding_attention_mask(mask), "also blocked the rows")
    good = lambda lengths, n: np.repeat((np.arange(n) < np.asarray(lengths)[:, None])[:, None, :], n, axis=1)
    assert_passed(check.padding_attention_mask(good))


def test_sliding_window_mask_alternative_passes_and_off_by_one_fails():
    def band(n, window):
        ones = np.ones((n, n), dtype=bool)
        return np.tril(ones) & np.triu(ones, -(window - 1))

    assert_passed(check.sliding_window_mask(band))

    def too_wide(n, window):
        ones = np.ones((n, n), dtype=bool)
        return np.tril(ones) & np.triu(ones, -window)

    assert_failed(check.sliding_window_mask(too_wide), "off by one", "i - j <= window")


# ---------------------------------------------------------------- additive attention


def _learner_additive(with_tanh: bool, softmax=A.softmax):
    def attention(q, k, v, W_q, W_k, w, mask=None):
        hidden = np.expand_dims(q @ W_q, -2) + np.expand_dims(k @ W_k, -3)
        scores = (np.tanh(hidden) if with_tanh else hidden) @ w
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        weights = softmax(scores)
        return weights @ v, weights

    return attention


def test_additive_attention_learner_versions():
    assert_passed(check.additive_attention(_learner_additive(with_tanh=True)))
    assert_failed(check.additive_attention(_learner_additive(with_tanh=False)), "tanh is missing")


def test_additive_attention_with_a_plain_softmax_is_told_about_the_blocked_row():
    """Notebook 01's plain softmax gives NaN on a row with no allowed key; the prompt asks for zeros."""
    assert_failed(check.additive_attention(_learner_additive(with_tanh=True, softmax=softmax_learner_style)),
                  "allows no key gave NaN")


# ---------------------------------------------------------------- heads


def test_split_heads_reshape_straight_to_heads_is_explained():
    def split_heads(x, n_heads):
        *lead, n, d = x.shape
        return x.reshape(*lead, n_heads, n, d // n_heads)

    assert_failed(check.split_heads(split_heads), "reshaped straight", "swap the two middle axes")


def test_split_and_merge_heads_alternatives_pass():
    assert_passed(check.split_heads(lambda x, n_heads: np.stack(np.split(x, n_heads, axis=-1), axis=-3)))
    assert_passed(check.merge_heads(lambda x: np.concatenate([x[..., h, :, :] for h in range(x.shape[-3])], axis=-1)))


def test_merge_heads_without_moving_the_head_axis_is_explained():
    def merge_heads(x):
        *lead, h, n, d = x.shape
        return x.reshape(*lead, n, h * d)

    assert_failed(check.merge_heads(merge_heads), "without moving the head axis")


def _learner_mha(scale_width: str):
    def mha(x_q, x_kv, W_q, W_k, W_v, W_o, n_heads, mask=None):
        d_model = x_q.shape[-1]
        d_head = d_model // n_heads

        def split(t):
            return np.swapaxes(t.reshape(t.shape[:-1] + (n_heads, t.shape[-1] // n_heads)), -3, -2)

        q, k, v = split(x_q @ W_q), split(x_kv @ W_k), split(x_kv @ W_v)
        scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(d_head if scale_width == "d_head" else d_model)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        weights = softmax_learner_style(scores)
        heads = np.swapaxes(weights @ v, -3, -2)
        return heads.reshape(heads.shape[:-2] + (-1,)) @ W_o, weights

    return mha


def test_multi_head_attention_learner_versions():
    assert_passed(check.multi_head_attention(_learner_mha("d_head")))
    assert_failed(check.multi_head_attention(_learner_mha("d_model")), "sqrt(d_model)", "sqrt(d_head)")


# ---------------------------------------------------------------- grouped-query attention


def gqa_grouped(q, k, v, mask=None):
    """Right, without copying k and v: group the query heads and broadcast."""
    h_q, h_kv = q.shape[-3], k.shape[-3]
    g = h_q // h_kv
    qg = q.reshape(q.shape[:-3] + (h_kv, g) + q.shape[-2:])
    scores = qg @ np.swapaxes(k, -1, -2)[..., :, None, :, :] / np.sqrt(q.shape[-1])
    scores = scores.reshape(q.shape[:-1] + (k.shape[-2],))
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    weights = softmax_learner_style(scores)
    wg = weights.reshape(qg.shape[:-1] + (k.shape[-2],))
    out = (wg @ v[..., :, None, :, :]).reshape(q.shape[:-1] + (v.shape[-1],))
    return out, weights


def test_grouped_query_attention_learner_versions():
    assert_passed(check.grouped_query_attention(gqa_grouped))

    def gqa_tile(q, k, v, mask=None):
        group = q.shape[-3] // k.shape[-3]
        return A.scaled_dot_product_attention(q, np.tile(k, (group, 1, 1)), np.tile(v, (group, 1, 1)), mask)

    assert_failed(check.grouped_query_attention(gqa_tile), "repeat_interleave", "np.repeat")


# ---------------------------------------------------------------- costs


def test_cost_learner_versions():
    assert_passed(check.attention_flops(lambda n, d: 4 * n**2 * d))
    assert_passed(check.attention_flops(lambda n, d: 2.0 * (2 * n * n * d)))  # a float is fine
    assert_failed(check.attention_flops(lambda n, d: 2 * n**2 * d), "that is half")
    assert_passed(check.attention_score_bytes(lambda n, bytes_per_element: n**2 * bytes_per_element))
    assert_failed(check.attention_score_bytes(lambda n, bytes_per_element: n * n), "forgot bytes_per_element")


def test_kv_cache_bytes_learner_versions():
    def kv(n_layers, n_kv_heads, head_dim, seq_len, batch=1, bytes_per_element=2):
        return math.prod([2, n_layers, n_kv_heads, head_dim, seq_len, batch, bytes_per_element])

    assert_passed(check.kv_cache_bytes(kv))

    def kv_no_two(n_layers, n_kv_heads, head_dim, seq_len, batch=1, bytes_per_element=2):
        return n_layers * n_kv_heads * head_dim * seq_len * batch * bytes_per_element

    assert_failed(check.kv_cache_bytes(kv_no_two), "a factor 2")

    def kv_fp32(n_layers, n_kv_heads, head_dim, seq_len, batch=1, bytes_per_element=4):
        return 2 * n_layers * n_kv_heads * head_dim * seq_len * batch * bytes_per_element

    assert_failed(check.kv_cache_bytes(kv_fp32), "fp16")


# ---------------------------------------------------------------- tiled attention


def _learner_tiled(keep_dtype: bool):
    """A learner's online-softmax tiled attention; keep_dtype=False allocates the output in float64."""

    def tiled(q, k, v, block_size=128, causal=False):
        n_q, n_k = q.shape[-2], k.shape[-2]
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2])
        dtype = q.dtype if keep_dtype else float
        out = np.zeros(batch + (n_q, v.shape[-1]), dtype=dtype)
        for i0 in range(0, n_q, block_size):
            qi = q[..., i0:i0 + block_size, :] * (1 / math.sqrt(q.shape[-1]))
            m = np.full(batch + (qi.shape[-2],), -np.inf, dtype=q.dtype)
            l = np.zeros(batch + (qi.shape[-2],), dtype=q.dtype)
            acc = np.zeros(batch + (qi.shape[-2], v.shape[-1]), dtype=q.dtype)
            for j0 in range(0, n_k, block_size):
                s = qi @ np.swapaxes(k[..., j0:j0 + block_size, :], -1, -2)
                if causal:
                    rows = np.arange(i0, i0 + s.shape[-2])[:, None]
                    cols = np.arange(j0, j0 + s.shape[-1])[None, :]
                    s = np.where(cols <= rows, s, -np.inf)
                m_new = np.maximum(m, s.max(axis=-1))
                p = np.exp(s - m_new[..., None])
                correction = np.exp(m - m_new)
                l = l * correction + p.sum(axis=-1)
                acc = acc * correction[..., None] + p @ v[..., j0:j0 + block_size, :]
                m = m_new
            out[..., i0:i0 + block_size, :] = acc / l[..., None]
        return out

    return tiled


def test_tiled_attention_learner_online_softmax_passes_including_memory():
    result = check.tiled_attention(_learner_tiled(keep_dtype=True))
    assert_passed(result)
    assert "memory" in result.message


def test_tiled_attention_returning_float64_for_float32_is_told_about_dtype():
    assert_failed(check.tiled_attention(_learner_tiled(keep_dtype=False)), "dtype float64", "float32")


def test_tiled_attention_computing_the_full_score_matrix_fails_the_memory_probe():
    def tiled(q, k, v, block_size=128, causal=False):
        scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])  # all n x n scores at once
        if causal:
            scores = np.where(np.tril(np.ones(scores.shape[-2:], dtype=bool)), scores, -np.inf)
        return softmax_learner_style(scores) @ v

    # right values on every case...
    for case in check.tiled_attention.cases():
        got = tiled(*case.args.values(), **case.kwargs)
        np.testing.assert_allclose(got, A.tiled_attention(*case.args.values(), **case.kwargs), rtol=1e-4, atol=1e-5)
    # ...but it holds the whole score matrix
    assert_failed(check.tiled_attention(tiled), "KiB", "the full n x n matrix")


def test_tiled_attention_by_query_blocks_only_fails_the_memory_probe():
    """A softmax over whole rows of scores, one block of queries at a time: exact, but not tiled."""
    def tiled(q, k, v, block_size=128, causal=False):
        out = np.empty(q.shape[:-1] + (v.shape[-1],), dtype=np.result_type(q, k, v))
        for start in range(0, q.shape[-2], block_size):
            scores = q[..., start:start + block_size, :] @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
            if causal:
                rows = np.arange(start, start + scores.shape[-2])[:, None]
                scores = np.where(np.arange(k.shape[-2])[None, :] <= rows, scores, -np.inf)
            out[..., start:start + block_size, :] = softmax_learner_style(scores) @ v
        return out

    for case in check.tiled_attention.cases():
        got = tiled(*case.args.values(), **case.kwargs)
        np.testing.assert_allclose(got, A.tiled_attention(*case.args.values(), **case.kwargs), rtol=1e-4, atol=1e-5)
    assert_failed(check.tiled_attention(tiled), "a row of tiles", "Loop over key blocks too")


def test_tiled_attention_calling_the_reference_sdpa_also_fails_the_memory_probe():
    def tiled(q, k, v, block_size=128, causal=False):
        mask = np.tril(np.ones((q.shape[-2], k.shape[-2]), dtype=bool)) if causal else None
        return A.scaled_dot_product_attention(q, k, v, mask)[0]

    assert_failed(check.tiled_attention(tiled), "KiB", "the full n x n matrix")


def _learner_tiled_skipping(stop_at: str = "last query", mask_diagonal: bool = True):
    """A learner's causal tiled attention that skips key tiles; stop_at says where its key loop ends.

    "last query": right (stop after the tile's last query, qe); "first query": the diagonal tile
    is skipped too (stop at qs); "qe - 1": the last query of each tile loses its own key.
    """

    def tiled(q, k, v, block_size=128, causal=False):
        n_q, n_k = q.shape[-2], k.shape[-2]
        dtype = np.result_type(q, k, v)
        out = np.empty(np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (n_q, v.shape[-1]), dtype=dtype)
        for qs in range(0, n_q, block_size):
            qe = min(qs + block_size, n_q)
            qb = q[..., qs:qe, :] / math.sqrt(q.shape[-1])
            m = np.full(qb.shape[:-1] + (1,), -np.inf, dtype=dtype)
            l, acc = np.zeros_like(m), np.zeros(qb.shape[:-1] + (v.shape[-1],), dtype=dtype)
            k_end = min(n_k, {"last query": qe, "first query": qs, "qe - 1": qe - 1}[stop_at]) if causal else n_k
            for ks in range(0, k_end, block_size):
                ke = min(ks + block_size, k_end)
                s = qb @ np.swapaxes(k[..., ks:ke, :], -1, -2)
                if causal and mask_diagonal and ke - 1 > qs:
                    s = np.where(np.arange(ks, ke)[None, :] <= np.arange(qs, qe)[:, None], s, -np.inf)
                m_new = np.maximum(m, s.max(-1, keepdims=True))
                p, a = np.exp(s - m_new), np.exp(m - m_new)
                l, acc, m = l * a + p.sum(-1, keepdims=True), acc * a + p @ v[..., ks:ke, :], m_new
            out[..., qs:qe, :] = acc / l
        return out

    return tiled


def test_tiled_attention_skipping_the_future_tiles_passes_and_is_measured():
    result = check.tiled_attention(_learner_tiled_skipping())
    assert_passed(result)
    assert "memory" in result.message
    assert "skips the key tiles wholly in the future" in result.message
    assert "56% of the FLOPs" in result.message and "36 tiles" in result.message
    # attnlib's reference skips them too
    assert "skips the key tiles wholly in the future" in check.tiled_attention(A.tiled_attention).message


def test_tiled_attention_visiting_every_tile_passes_and_is_told_it_could_skip():
    result = check.tiled_attention(_learner_tiled(keep_dtype=True))
    assert_passed(result)
    assert "visits every key tile" in result.message and "100% of the FLOPs" in result.message
    assert "leave 36 of the 64 tiles" in result.message
    no_skip = check.tiled_attention(
        lambda q, k, v, block_size=128, causal=False: A.tiled_attention(q, k, v, block_size, causal, skip_future=False))
    assert_passed(no_skip)
    assert "visits every key tile" in no_skip.message


def test_tiled_attention_skipping_the_diagonal_tile_is_rejected():
    result = check.tiled_attention(_learner_tiled_skipping("first query"))
    assert_failed(result, "diagonal tile is skipped", "ks > qs + bq - 1", "causal, ragged")


def test_tiled_attention_skipping_the_own_key_is_rejected():
    assert_failed(check.tiled_attention(_learner_tiled_skipping("qe - 1")), "misses its own key", "not at qe - 1")


def test_tiled_attention_skipping_without_the_diagonal_mask_is_rejected():
    assert_failed(check.tiled_attention(_learner_tiled_skipping(mask_diagonal=False)), "diagonal tile still needs its mask")


def test_tiled_attention_whose_products_cannot_be_counted_still_passes_and_says_so():
    right = _learner_tiled_skipping()

    def plain_arrays(q, k, v, block_size=128, causal=False):
        return right(np.asarray(q), np.asarray(k), np.asarray(v), block_size, causal)

    result = check.tiled_attention(plain_arrays)
    assert_passed(result)
    assert "could not be counted" in result.message and "np.asarray" in result.message


# =========================================================================== 6: a result instead of the function


def test_passing_the_result_instead_of_the_function():
    result = check.softmax(A.softmax(np.ones(3)))
    assert_failed(result, "pass your function itself", "check.softmax(softmax)")


@pytest.mark.parametrize("name", NAMES)
def test_passing_a_value_instead_of_the_function_is_explained_for_every_exercise(name):
    ex = EXERCISES[name]
    if isinstance(ex, Check):
        case = ex.cases()[0]
        value = ex.reference(**case.args, **case.kwargs)  # check.x(x(...)): the answer, not the function
    else:
        value = ex.expected()
    assert_failed(ex(value), "pass your")


# =========================================================================== 7: CheckResult


def _results_of_every_kind():
    for name, ex in EXERCISES.items():
        yield ex(reference_of(ex))
        yield ex(stub)
        for wrong, _ in mistakes_of(ex):
            yield ex(wrong)


def test_str_is_one_line_with_the_exercise_and_status():
    seen = set()
    for result in _results_of_every_kind():
        text = str(result)
        assert "\n" not in text, text
        assert result.exercise in text and result.status in text
        assert repr(result) == text
        seen.add(result.status)
    assert seen == {"passed", "failed", "not attempted"}


def test_str_is_one_line_even_when_the_learners_exception_spans_lines():
    def softmax(x, axis=-1):
        raise ValueError("first line\nsecond line")

    result = check.softmax(softmax)
    assert "\n" in result.message  # the message keeps the exception's text...
    assert "\n" not in str(result) and "first line second line" in str(result)  # ...str() is one line


def test_repr_html_shows_the_status_and_escapes_the_message():
    def softmax(x, axis=-1):
        raise ValueError("<script>alert('x')</script> & <b>")

    result = check.softmax(softmax)
    page = result._repr_html_()
    assert "failed" in page and "softmax" in page
    assert "<script>" not in page and "<b>" not in page.split("</b>", 1)[1]
    assert "&lt;script&gt;" in page and "&amp;" in page


@pytest.mark.parametrize("status", ["passed", "failed", "not attempted"])
def test_check_result_truthiness_and_html_for_every_status(status):
    result = CheckResult("softmax", status, "a < b")
    assert bool(result) is (status == "passed") and result.passed is (status == "passed")
    assert status in str(result) and status in result._repr_html_()
    assert "a &lt; b" in result._repr_html_()


# =========================================================================== 8: fallback


@pytest.mark.parametrize("name", CHECKS)
def test_fallback_returns_a_passing_candidate(name, capsys):
    ex = EXERCISES[name]

    def mine(*args, **kwargs):
        return ex.reference(*args, **kwargs)

    assert fallback(name, mine) is mine
    out = capsys.readouterr().out
    assert f"Using your {name}" in out


@pytest.mark.parametrize("name", CHECKS)
def test_fallback_returns_the_reference_for_a_stub(name, capsys):
    ex = EXERCISES[name]
    assert fallback(name, stub) is ex.reference
    out = capsys.readouterr().out
    assert "not attempted" in out and f"attnlib.{name}" in out


def test_fallback_returns_the_reference_for_a_wrong_candidate(capsys):
    assert fallback("softmax", lambda x, axis=-1: x / x.sum(axis=axis, keepdims=True)) is A.softmax
    out = capsys.readouterr().out
    assert "did not pass" in out and "attnlib.softmax" in out


@pytest.mark.parametrize("name", PREDICTIONS)
def test_fallback_refuses_a_prediction(name):
    with pytest.raises(ValueError, match="prediction"):
        fallback(name, lambda: 0.5)


# =========================================================================== 9: predictions


@pytest.mark.parametrize("name", PREDICTIONS)
def test_prediction_accepts_the_answer_rounded_to_two_decimals(name):
    ex = EXERCISES[name]
    expected = np.atleast_1d(ex.expected())
    rounded = np.round(expected, 2).tolist()
    assert_passed(ex(lambda: rounded))
    assert_passed(ex(lambda: tuple(rounded)))
    if expected.size == 1:
        assert_passed(ex(lambda: rounded[0]))  # one number, not a list of one


@pytest.mark.parametrize("name", PREDICTIONS)
def test_prediction_off_by_more_than_the_tolerance_fails(name):
    ex = EXERCISES[name]
    from attnlib.check.nb09_cheat_sheet import ShapePrediction

    near = (np.atleast_1d(ex.expected()) + 3 * ex.tolerance).tolist()
    known = [hint for wrong, hint in ex.wrong
             if np.shape(np.atleast_1d(wrong())) == np.shape(near) and np.all(np.abs(np.atleast_1d(wrong()) - near) <= ex.tolerance)]
    if known:  # the number happens to be a known wrong answer: its hint is the verdict
        assert_failed(ex(lambda: near), known[0])
    else:
        assert_failed(ex(lambda: near), "not quite" if isinstance(ex, ShapePrediction) else "close, but", str(ex.tolerance))
    expected = np.atleast_1d(ex.expected())
    far = expected + 40 * ex.tolerance + 1
    while np.all(np.abs(far / 100 - expected) <= ex.tolerance):  # not a percentage of the answer by chance
        far = far + 1
    far = far.tolist()
    assert_failed(ex(lambda: far), "not quite", str(ex.tolerance))
    assert "round to 2 decimals" not in ex(lambda: far).message  # far off is not a rounding problem


@pytest.mark.parametrize("name", PREDICTIONS)
def test_prediction_bad_answers(name):
    ex = EXERCISES[name]
    size = np.size(ex.expected())
    assert_failed(ex(lambda: None), "None")
    assert_failed(ex(lambda: "about a half"), "text")
    assert_failed(ex(lambda: [0.5] * (size + 1)), f"give {size} number(s), you gave {size + 1}")
    assert_failed(ex(lambda: [float("inf")] * size), "not finite")
    assert_failed(ex(0.5), "pass your answer function itself")


def test_hand_softmax_wrong_answers_get_their_hints():
    scores = np.array([2.0, 1.0, 0.1])
    assert_failed(check.hand_softmax(lambda: (scores / scores.sum()).round(2).tolist()), "exponentiate them first")
    assert_failed(check.hand_softmax(lambda: np.exp(scores).round(2).tolist()), "divide each by their sum")


def test_sharpened_softmax_unscaled_answer_gets_its_hint():
    before = float(A.softmax(np.array([2.0, 1.0, 0.1]))[0])
    assert_failed(check.sharpened_softmax(lambda: round(before, 2)), "before scaling")
