"""The hand-set heads of notebook 06 (attnlib.models.head_patterns).

Their widget is tested in tests/figures/test_widgets.py.
"""
from __future__ import annotations

import numpy as np
import pytest

import attnlib as A
from attnlib.models.head_patterns import HEAD_NAMES, hand_set_heads

SENTENCE = "the cat sat on the mat and the cat slept".split()


def run(toy, n_heads=None):
    return A.multi_head_attention(toy.x, toy.x, toy.W_q, toy.W_k, toy.W_v, toy.W_o, n_heads or toy.n_heads)


def test_shapes_and_one_hot_embeddings():
    toy = hand_set_heads(SENTENCE, "mat")
    n, v = len(SENTENCE), len(set(SENTENCE))
    assert toy.vocab == ("the", "cat", "sat", "on", "mat", "and", "slept")
    assert toy.n_heads == len(HEAD_NAMES) == 3 and toy.d_head == max(n, v) and toy.d_model == 3 * toy.d_head
    assert toy.x.shape == (n, toy.d_model)
    for W in (toy.W_q, toy.W_k, toy.W_v, toy.W_o):
        assert W.shape == (toy.d_model, toy.d_model)
    np.testing.assert_array_equal(toy.x.sum(axis=1), 2.0)  # one word feature, one position feature
    assert toy.head_columns(1) == slice(toy.d_head, 2 * toy.d_head)
    with pytest.raises(ValueError, match="head"):
        toy.head_columns(3)


@pytest.mark.parametrize("tokens, keyword", [(SENTENCE, "mat"), ("a b a c b a".split(), "c"), (["solo"], "solo"),
                                             ("x y z w v u t s r q p o n m".split(), "x")])
def test_each_head_does_its_job(tokens, keyword):
    toy = hand_set_heads(tokens, keyword, sharpness=8.0)
    _, w = run(toy)
    n = len(tokens)
    prev = np.eye(n, k=-1)
    prev[0, 0] = 1.0
    same = np.array([[a == b for b in tokens] for a in tokens], dtype=float)
    key = np.tile(np.array([t == keyword for t in tokens], dtype=float), (n, 1))
    for h, target in enumerate((prev, same, key)):
        target = target / target.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(w[h], target, atol=0.02)


def test_the_output_holds_each_heads_answer_in_its_own_slice():
    toy = hand_set_heads(SENTENCE, "mat", sharpness=8.0)
    out, _ = run(toy)
    v = len(toy.vocab)
    for p, token in enumerate(SENTENCE):
        assert toy.vocab[np.argmax(out[p, toy.head_columns(0)][:v])] == SENTENCE[max(p - 1, 0)]
        where = np.flatnonzero(out[p, toy.head_columns(1)][: len(SENTENCE)] > 0.1).tolist()
        assert where == [i for i, t in enumerate(SENTENCE) if t == token]
        assert toy.vocab[np.argmax(out[p, toy.head_columns(2)][:v])] == "mat"


def test_one_head_with_the_same_weights_blends_the_three_criteria():
    toy = hand_set_heads(SENTENCE, "mat")
    _, w3 = run(toy)
    _, w1 = run(toy, n_heads=1)
    rows = np.arange(1, len(SENTENCE))
    assert (w3[0][rows, rows - 1] > 0.95).all()
    assert np.median(w1[0][rows, rows - 1]) < 0.5


def test_sharpness_spreads_or_sharpens():
    soft, sharp = (run(hand_set_heads(SENTENCE, "mat", sharpness=s))[1] for s in (1.0, 6.0))
    assert soft.max(axis=-1).mean() < sharp.max(axis=-1).mean()


@pytest.mark.parametrize("tokens, keyword, fragment", [([], "a", "non-empty"), (["a", ""], "a", "non-empty"),
                                                       (["a", "b"], "c", "does not occur"), (["a"], "a", "sharpness")])
def test_bad_input_raises_value_error(tokens, keyword, fragment):
    with pytest.raises(ValueError, match=fragment):
        hand_set_heads(tokens, keyword, sharpness=0.0 if fragment == "sharpness" else 6.0)
