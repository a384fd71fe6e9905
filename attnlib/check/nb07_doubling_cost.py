"""Checks for notebook 07 (what doubling n costs): FLOPs, score-matrix bytes, and two predictions."""
from __future__ import annotations

from ..reference import cost
from .harness import Case, Check, Mistake
from .predictions import Prediction

attention_flops = Check(
    name="attention_flops",
    notebook="07",
    summary="FLOPs of Q K^T and weights @ V for one head: 4 n^2 d",
    reference=cost.attention_flops,
    cases=lambda: [Case(f"n={n}, d={d}", {"n": n, "d": d}) for n, d in ((4, 8), (3, 5), (1024, 64), (8192, 128))],
    output="number",
    rtol=1e-12,
    atol=0.0,
    mistakes=[
        Mistake(
            "that is half: each of the two products (Q K^T and weights @ V) takes n*n*d multiply-adds, "
            "and a multiply-add counts as 2 FLOPs, so 2 * 2 * n^2 * d in all (did you count one product, or a multiply-add as 1?)",
            lambda n, d: 2 * n * n * d,
        ),
        Mistake("that counts multiply-adds, not FLOPs, for one product only: 2 products x 2 FLOPs x n^2 d", lambda n, d: n * n * d),
        Mistake("n and d are swapped: the score matrix is n x n, so the cost grows with n^2 (4 n^2 d)", lambda n, d: 4 * n * d * d),
        Mistake("the d is squared: each of the n^2 scores is one dot product of length d, so 4 n^2 d", lambda n, d: 4 * n * n * d * d),
    ],
)

attention_score_bytes = Check(
    name="attention_score_bytes",
    notebook="07",
    summary="bytes of one n x n score matrix: n^2 * bytes_per_element",
    reference=cost.attention_score_bytes,
    cases=lambda: [
        Case(f"n={n}, bytes_per_element={b}", {"n": n, "bytes_per_element": b})
        for n, b in ((4, 4), (1024, 2), (4096, 2), (3, 1))
    ],
    output="number",
    rtol=1e-12,
    atol=0.0,
    mistakes=[
        Mistake("you forgot bytes_per_element: n^2 is the number of entries, multiply by the bytes of each", lambda n, bytes_per_element: n * n),
        Mistake("a score matrix has n x n entries, not n: multiply n * n * bytes_per_element", lambda n, bytes_per_element: n * bytes_per_element),
        Mistake("one score matrix, not two: n^2 * bytes_per_element", lambda n, bytes_per_element: 2 * n * n * bytes_per_element),
        Mistake("that is in bits: bytes_per_element already counts bytes, so do not multiply by 8", lambda n, bytes_per_element: 8 * n * n * bytes_per_element),
        Mistake("use the bytes_per_element you are given (2 for fp16), not a fixed 4 bytes", lambda n, bytes_per_element: 4 * n * n),
    ],
)


# ------------------------------------------------------------------ predictions of notebook 07

#: the question of attention_doubling_ratio: one head of width 64 at 1024 tokens, then 2048
DOUBLING_N, DOUBLING_D = 1024, 64


def _attention_growth() -> list[float]:
    """Return [FLOPs(2n) / FLOPs(n), score bytes(2n) / score bytes(n)] at DOUBLING_N, DOUBLING_D."""
    n, d = DOUBLING_N, DOUBLING_D
    return [
        cost.attention_flops(2 * n, d) / cost.attention_flops(n, d),
        cost.attention_score_bytes(2 * n, 2) / cost.attention_score_bytes(n, 2),
    ]


attention_doubling_ratio = Prediction(
    name="attention_doubling_ratio",
    notebook="07",
    summary=f"predict by what factor attention's FLOPs and score memory grow when n doubles ({DOUBLING_N} -> {2 * DOUBLING_N}, d = {DOUBLING_D})",
    expected=_attention_growth,
    tolerance=0.05,
    explain="both grow with n^2, so doubling n multiplies them by 2^2 = 4 (d stays the same)",
    wrong=[
        (lambda: [2.0, 2.0], "that is linear growth. The score matrix is n x n: when n doubles, both its sides double, so its entries (and the work to compute them) grow 2 x 2"),
        (lambda: [4.0, 2.0], "the FLOPs are right; the score memory is n x n entries too, so it grows like the FLOPs"),
        (lambda: [2.0, 4.0], "the memory is right; the FLOPs count n^2 dot products of length d (and weights @ V has the same size), so they grow like n^2 too"),
        (lambda: [8.0, 4.0], "8 = 2^3 would be cubic growth: only n doubles, d stays the same, so n^2 d grows by 2^2"),
        (lambda: [8.0, 8.0], "8 = 2^3 would be cubic growth: only n doubles, so n^2 grows by 2^2"),
    ],
)

#: the question of layer_doubling_ratio: a layer of width 4096 at 4096 tokens, then 8192
LAYER_D_MODEL, LAYER_N = 4096, 4096


def _layer_growth(
    mlp_ratio: float = 4, parts: tuple[str, ...] = ("projections", "attention", "mlp"), n: int = LAYER_N
) -> float:
    """Return the FLOPs of ``parts`` of a layer of width LAYER_D_MODEL (cost.layer_flops) at 2 n over those at n."""
    before = cost.layer_flops(n, LAYER_D_MODEL, mlp_ratio)
    after = cost.layer_flops(2 * n, LAYER_D_MODEL, mlp_ratio)
    return sum(after[p] for p in parts) / sum(before[p] for p in parts)


layer_doubling_ratio = Prediction(
    name="layer_doubling_ratio",
    notebook="07",
    summary=f"predict by what factor a whole layer's FLOPs grow when n doubles (d_model = {LAYER_D_MODEL}, n = {LAYER_N} -> {2 * LAYER_N})",
    expected=_layer_growth,
    tolerance=0.02,
    explain=(
        "the projections and the MLP (24 n d_model^2) double, attention (4 n^2 d_model) quadruples; at n = d_model the "
        "linear parts are 6 times larger, so the layer grows by (2 x 6 + 4 x 1) / 7, well under 4"
    ),
    wrong=[
        (lambda: _layer_growth(parts=("attention",)), "that is the attention part alone: the projections and the MLP only double, and at n = d_model they hold most of the layer's FLOPs"),
        (lambda: _layer_growth(parts=("projections", "mlp")), "that is the growth of the projections and the MLP alone (or with one head's attention only): add attention, 4 n^2 d_model for all heads together, which quadruples"),
        (lambda: _layer_growth(parts=("projections", "attention")), "you left out the MLP, 2 * 2 * n * d_model * (4 d_model) FLOPs: the largest part of the layer at this n"),
        (lambda: _layer_growth(parts=("attention", "mlp")), "you left out the four projections (Q, K, V and the output), 4 * 2 * n * d_model^2 FLOPs"),
        (lambda: _layer_growth(mlp_ratio=1), "the MLP's hidden layer is 4 d_model wide: its two products cost 2 * 2 * n * d_model * (4 d_model) FLOPs"),
        (lambda: _layer_growth(n=round(cost.attention_crossover_n(LAYER_D_MODEL))), "3 is the factor where attention and the rest cost the same (n = 6 d_model); here n = d_model, so the linear parts weigh more"),
    ],
)
