"""Notebook 02's context vector (attnlib.reference.context_vector): one decoder step of Bahdanau attention, against torch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from attnlib import context_vector


@pytest.mark.parametrize("batch", [(), (3,), (2, 2)])
def test_context_vector_matches_torch(batch):
    rng = np.random.default_rng(0)
    H, s = rng.normal(size=batch + (5, 4)), rng.normal(size=batch + (5,)) * 3
    context, weights = context_vector(H, s)
    w = torch.softmax(torch.from_numpy(s), dim=-1)
    np.testing.assert_allclose(weights, w.numpy(), atol=1e-12)
    np.testing.assert_allclose(context, torch.einsum("...n,...nd->...d", w, torch.from_numpy(H)).numpy(), atol=1e-12)
    assert context.shape == batch + (4,) and weights.shape == batch + (5,)


def test_context_vector_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(5, 4\)"):
        context_vector(np.zeros((5, 4)), np.zeros(6))
    with pytest.raises(ValueError, match="broadcast"):
        context_vector(np.zeros((2, 5, 4)), np.zeros((3, 5)))
