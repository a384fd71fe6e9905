"""Measuring which input tokens an output depends on, to compare with attention maps (notebook 10).

An attention weight says how much a query *looked at* a key in one layer. These functions
measure how much an output *depends on* each input token, three ways:

- ``weighted_value_norms``: w_ij |v_j|, the size of what each key actually adds to query i's
  output in one layer (a weight on a value of norm 0 adds nothing);
- ``occlusion``: how much a scalar output changes when one token's input row (or some of its
  features) is replaced, e.g. by zeros: an ablation, one forward pass per token;
- ``gradient_times_input``: sum over features of x_jf * d output / d x_jf (torch autograd): a
  first-order estimate of the same, one backward pass for all tokens.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..reference.validate import float_array


def weighted_value_norms(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return w_ij * |v_j|, what each key adds to each query's output, in size: (..., n_q, n_k).

    weights: (..., n_q, n_k) attention weights; values: (..., n_k, d_v) the values they mix.
    """
    weights = float_array("weights", weights, 2)
    values = float_array("values", values, 2)
    if weights.shape[-1] != values.shape[-2]:
        raise ValueError(f"need one value per key: weights {weights.shape} (..., n_q, n_k), values {values.shape} (..., n_k, d_v)")
    return weights * np.linalg.norm(values, axis=-1)[..., None, :]


def occlusion(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    features: Sequence[int] | None = None,
    replacement: float | np.ndarray = 0.0,
) -> np.ndarray:
    """Return f(x) - f(x with token j's features replaced), for every token j: (n,).

    f: maps an input (n, d) to one number; x: (n, d) one row per token; features: the columns
    to replace (all of them by default); replacement: the number (or (len(features),) row) put
    in their place. A large positive entry means the output needed what token j carried.
    """
    x = float_array("x", x, 2)
    if x.ndim != 2:
        raise ValueError(f"x must be (n, d), one row per token, got shape {x.shape}")
    columns = np.arange(x.shape[1]) if features is None else np.asarray(features)
    full = float(f(x))
    out = np.empty(x.shape[0])
    for j in range(x.shape[0]):
        ablated = x.copy()
        ablated[j, columns] = replacement
        out[j] = full - float(f(ablated))
    return out


def gradient_times_input(f: Callable, x: np.ndarray, features: Sequence[int] | None = None) -> np.ndarray:
    """Return sum_f x_jf * d f / d x_jf for every token j, by torch autograd: (n,).

    f: maps a float64 torch tensor (n, d) to a scalar tensor, differentiably; x: (n, d);
    features: the columns to sum over (all by default).
    """
    import torch  # only this function needs torch

    x = float_array("x", x, 2)
    if x.ndim != 2:
        raise ValueError(f"x must be (n, d), one row per token, got shape {x.shape}")
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out = f(xt)
    if out.numel() != 1:
        raise ValueError(f"f must return one number, got a tensor of shape {tuple(out.shape)}")
    (grad,) = torch.autograd.grad(out.reshape(()), xt)
    terms = (grad * xt).detach().numpy()
    columns = np.arange(x.shape[1]) if features is None else np.asarray(features)
    return terms[:, columns].sum(axis=1)
