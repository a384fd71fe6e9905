"""One decoder step of attention: from scores over the encoder states to a context vector (notebook 02)."""
from __future__ import annotations

import numpy as np

from .validate import float_array
from .attention import softmax


def context_vector(encoder_states: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(context, weights)`` of one decoder step: weights = softmax(scores), context = sum_j weights_j h_j.

    encoder_states: (..., n, d), the encoder's states h_1 .. h_n (one row per input position);
    scores: (..., n), one score per encoder state, from any scorer (additive, dot product...).
    context: (..., d), the weighted sum of the states; weights: (..., n), positive, summing to 1
    over the n positions. Leading (batch) axes must broadcast.
    """
    H = float_array("encoder_states", encoder_states, 2)
    s = float_array("scores", scores, 1)
    if s.shape[-1] != H.shape[-2]:
        raise ValueError(
            f"scores {s.shape} hold {s.shape[-1]} scores per step but encoder_states {H.shape} "
            f"hold {H.shape[-2]} states: give one score per encoder state"
        )
    try:
        np.broadcast_shapes(s.shape[:-1], H.shape[:-2])
    except ValueError:
        raise ValueError(f"the batch axes of scores {s.shape} and encoder_states {H.shape} do not broadcast") from None
    weights = softmax(s, axis=-1)                        # (..., n): positive, sum to 1
    context = (weights[..., :, None] * H).sum(axis=-2)  # (..., d): sum_j weights_j h_j
    return context, weights
