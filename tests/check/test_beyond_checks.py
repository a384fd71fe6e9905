"""Notebook 10's checks (attnlib.check.nb10_beyond): attention_entropy and hopfield_update.

The checks get hand-written learner answers, right and wrong, on top of the registry-wide tests
of tests/check/test_checks.py; hopfield_update's probed check leaves stubs and crashes to the usual flow.
"""
from __future__ import annotations

import math

import numpy as np
import torch

import attnlib
from attnlib.reference.attention import softmax
from attnlib.check import nb10_beyond as beyond_checks, hopfield_update as check_hopfield, attention_entropy as check_entropy


def assert_passed(result):
    assert result.status == "passed", str(result)


def assert_failed(result, *words):
    assert result.status == "failed", str(result)
    assert "could not finish" not in result.message, result.message
    for word in words:
        assert word in result.message, f"{word!r} not in: {result.message}"


def test_entropy_learner_versions_that_are_right():
    def with_where(weights):
        logs = np.log(weights, where=weights > 0, out=np.zeros_like(weights))
        return -(weights * logs).sum(axis=-1)

    def with_eps(weights):
        return -(weights * np.log(weights + 1e-12)).sum(axis=-1)

    def with_nan_to_num(weights):
        with np.errstate(all="ignore"):
            return -np.nan_to_num(weights * np.log(weights)).sum(axis=-1)

    def with_torch(weights):
        return torch.special.entr(torch.from_numpy(np.asarray(weights))).sum(-1).numpy()

    for fn in (with_where, with_eps, with_nan_to_num, with_torch):
        assert_passed(check_entropy(fn))


def test_entropy_learner_versions_that_are_wrong():
    assert_failed(check_entropy(lambda w: -(w * np.log(w)).sum(axis=-1)), "NaN", "0 * np.log(0)")
    assert_failed(check_entropy(lambda w: -(w * np.log2(w + 1e-12)).sum(axis=-1)), "log base 2")
    assert_failed(check_entropy(lambda w: (w * np.log(w + 1e-12)).sum(axis=-1)), "negative")
    assert_failed(check_entropy(lambda w: -(w * np.log(w + 1e-12)).sum(axis=0)), "axis=0")
    assert_failed(check_entropy(lambda w: -(w * np.log(w + 1e-12)).sum()), "every axis")
    # a large epsilon changes the values: told where, not misnamed
    assert_failed(check_entropy(lambda w: -(w * np.log(w + 1e-2)).sum(axis=-1)), "differs from the expected values")


def test_hopfield_learner_versions_that_are_right():
    def with_einsum(patterns, query, beta):
        weights = softmax(beta * np.einsum("...nd,...d->...n", patterns, query), axis=-1)
        return np.einsum("...n,...nd->...d", weights, patterns)

    def through_attention(patterns, query, beta):
        d = query.shape[-1]
        out, _ = attnlib.scaled_dot_product_attention(beta * math.sqrt(d) * query[..., None, :], patterns, patterns)
        return out[..., 0, :]

    for fn in (with_einsum, through_attention):
        assert_passed(check_hopfield(fn))


def test_hopfield_learner_versions_that_are_wrong():
    def with_dot_T(patterns, query, beta):  # .T reverses every axis: breaks on batches of pattern sets
        return softmax(beta * query @ patterns.T) @ patterns

    assert_failed(check_hopfield(with_dot_T), "raised", "swapaxes")

    def paper_convention(patterns, query, beta):  # X as (d, N), written for rows
        return patterns @ softmax(beta * patterns.T @ query)

    assert_failed(check_hopfield(paper_convention), "as columns", "N = d")

    def temperature(patterns, query, beta):
        weights = softmax((patterns @ query[..., None])[..., 0] / beta)
        return (weights[..., None, :] @ patterns)[..., 0, :]

    assert_failed(check_hopfield(temperature), "inverse")

    def weights_only(patterns, query, beta):
        return softmax(beta * (patterns @ query[..., None])[..., 0])

    assert_failed(check_hopfield(weights_only), "returned the weights")


def test_probed_check_leaves_stubs_and_crashes_to_the_usual_flow():
    def stub(patterns, query, beta):
        raise NotImplementedError()

    assert check_hopfield(stub).status == "not attempted"

    def crashes(patterns, query, beta):
        raise KeyError("oops")

    assert_failed(check_hopfield(crashes), "KeyError")
    assert isinstance(check_hopfield, beyond_checks.ProbedCheck)
    assert check_hopfield.probe_mistakes and all(m in check_hopfield.mistakes for m in check_hopfield.probe_mistakes)
