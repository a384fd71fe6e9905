"""The shape exercises of notebook 09 (attnlib.check.nb09_cheat_sheet): cross_attention_shape and gqa_output_shape.

The two shape predictions accept right answers in every form and name the usual mistakes; the
expected shapes are computed, and the notebook asks the questions the checks answer.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from attnlib.check import EXERCISES, nb09_cheat_sheet as cheatsheet_checks
from attnlib.check.nb09_cheat_sheet import ShapePrediction

ROOT = Path(__file__).resolve().parents[2]


def test_the_exercises_are_registered_for_notebook_09():
    mine = {name for name, ex in EXERCISES.items() if ex.notebook == "09"}
    assert mine == {"cross_attention_shape", "gqa_output_shape"}
    assert all(isinstance(EXERCISES[name], ShapePrediction) for name in mine)


def test_the_expected_shapes_are_computed():
    C, G = cheatsheet_checks.CROSS, cheatsheet_checks.GQA
    assert cheatsheet_checks.cross_weights_shape() == (C["b"], C["h"], C["n_q"], C["n_k"])
    assert cheatsheet_checks.gqa_out_shape() == (G["b"], G["h_q"], G["n"], G["d"])


@pytest.mark.parametrize("name", ["cross_attention_shape", "gqa_output_shape"])
def test_wrong_shapes_are_distinct_from_the_answer_and_each_other(name):
    ex = EXERCISES[name]
    shapes = [tuple(np.atleast_1d(ex.expected()))] + [tuple(np.atleast_1d(w())) for w, _ in ex.wrong]
    assert len(set(shapes)) == len(shapes)


def test_cross_attention_shape_accepts_every_way_of_writing_the_shape():
    check = EXERCISES["cross_attention_shape"]
    for answer in ([3, 6, 5, 9], (3, 6, 5, 9), np.array([3, 6, 5, 9]), torch.Size([3, 6, 5, 9]), np.zeros((3, 6, 5, 9)).shape):
        assert check(lambda answer=answer: answer).passed, answer


@pytest.mark.parametrize("answer, words", [
    ((3, 5, 9), ["heads axis", "(b, h, n_q, n_k)"]),
    ((6, 5, 9), ["batch axis"]),
    ((3, 6, 9, 5), ["swapped", "rows are queries"]),
    ((3, 5, 6, 9), ["split_heads moves the heads before the tokens"]),
    ((6, 3, 5, 9), ["batch axis stays first"]),
    ((3, 6, 5, 5), ["self-attention", "x_kv"]),
    ((3, 6, 5, 8), ["d_head"]),
    ((3, 6, 5, 48), ["d_model"]),
    ((3, 6, 5, 10), ["not quite", "axis 3"]),
    ((3, 6, 5, 9, 1), ["give 4 number(s), you gave 5", "one number per axis"]),
    ([3, 6, 5, "9"], ["text"]),
])
def test_cross_attention_shape_names_the_mistake(answer, words):
    result = EXERCISES["cross_attention_shape"](lambda: answer)
    assert result.status == "failed"
    for word in words:
        assert word in result.message, result.message


@pytest.mark.parametrize("answer, words", [
    ((2, 4, 10, 16), ["*query* head"]),
    ((2, 3, 10, 16), ["group size"]),
    ((2, 12, 10, 10), ["shape of the weights"]),
    ((2, 10, 16), ["heads axis is still there"]),
    ((2, 10, 192), ["merge_heads"]),
])
def test_gqa_output_shape_names_the_mistake(answer, words):
    result = EXERCISES["gqa_output_shape"](lambda: answer)
    assert result.status == "failed"
    for word in words:
        assert word in result.message, result.message


def test_shape_prediction_calls_the_learner_once():
    calls = []

    def answer():
        calls.append(1)
        return (3, 5, 9)

    EXERCISES["cross_attention_shape"](answer)
    assert len(calls) == 1


def test_shape_prediction_reports_a_learner_exception_and_a_stub():
    def broken():
        return (3, 6, 5, 9)[7]

    result = EXERCISES["gqa_output_shape"](broken)
    assert result.status == "failed" and "IndexError" in result.message

    def stub():
        raise NotImplementedError()

    assert EXERCISES["gqa_output_shape"](stub).status == "not attempted"


def test_the_notebook_asks_the_questions_the_checks_answer():
    import nbformat

    nb = nbformat.read(str(ROOT / "solutions" / "09_cheat_sheet.ipynb"), 4)
    text = "\n".join(c.source for c in nb.cells)
    C, G = cheatsheet_checks.CROSS, cheatsheet_checks.GQA
    for fragment in (f"`x_q` of shape `({C['b']}, {C['n_q']}, {C['d_model']})`", f"`x_kv` of shape `({C['b']}, {C['n_k']}, {C['d_model']})`",
                     f"n_heads={C['h']})", f"`q` of shape `({G['b']}, {G['h_q']}, {G['n']}, {G['d']})`",
                     f"shape `({G['b']}, {G['h_kv']}, {G['n']}, {G['d']})`"):
        assert fragment in text, fragment
