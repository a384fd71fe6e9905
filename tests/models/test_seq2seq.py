"""Notebook 02's models (attnlib.models.seq2seq): the two tiny encoder-decoders.

The context vector, notebook 02's other library code, is tested in tests/reference/test_context_vector.py.
"""
from __future__ import annotations

import pytest
import torch

from attnlib.models.seq2seq import Seq2Seq, reversal_batch


def test_reversal_batch_reverses():
    src, tgt = reversal_batch(4, 6, 10, torch.Generator().manual_seed(0))
    assert src.shape == tgt.shape == (4, 6)
    assert torch.equal(tgt, src.flip(1)) and int(src.max()) < 10


def test_models_share_their_initial_weights_and_shapes():
    torch.manual_seed(0)
    fixed = Seq2Seq(attention=False)
    torch.manual_seed(0)
    attn = Seq2Seq(attention=True)
    shared = {k: v for k, v in fixed.state_dict().items()}
    for name, value in shared.items():
        assert torch.equal(value, attn.state_dict()[name]), f"{name} differs"
    assert set(attn.state_dict()) - set(shared) == {"W_s.weight", "W_h.weight", "W_h.bias", "v.weight"}
    src, tgt = reversal_batch(3, 7, 10, torch.Generator().manual_seed(1))
    logits, weights = attn(src, tgt)
    assert logits.shape == (3, 7, 10) and weights.shape == (3, 7, 7)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 7, dtype=weights.dtype))
    logits, weights = fixed(src)
    assert logits.shape == (3, 7, 10) and weights is None


def test_models_reject_bad_input():
    with pytest.raises(ValueError, match="src"):
        Seq2Seq()(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="positive sizes"):
        Seq2Seq(d_hidden=0)


def test_accuracy_by_position_with_and_without_teacher_forcing():
    from attnlib.models.seq2seq import accuracy_by_length, accuracy_by_position

    torch.manual_seed(0)
    model = Seq2Seq(attention=True).eval()
    greedy = accuracy_by_position(model, 6, n_sequences=50, seed=3)
    forced = accuracy_by_position(model, 6, n_sequences=50, seed=3, teacher_forcing=True)
    assert greedy.shape == forced.shape == (6,) and ((0 <= greedy) & (greedy <= 1)).all()
    assert greedy[0] == forced[0]  # the first step is fed the begin symbol either way
    with pytest.raises(ValueError, match="length"):
        accuracy_by_position(model, 0)
    by_length = accuracy_by_length(model, [6], n_per_length=50, seed=3)
    assert by_length["position"].shape == (1, 6)
