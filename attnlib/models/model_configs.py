"""Attention shapes of a few real language models, with their sources (notebooks 08 and 09).

Each model is one frozen ``ModelConfig``: its layers, query heads, key/value heads, head width,
context length and (for Mistral 7B) its sliding window, and a ``source`` string saying where
the numbers come from. Two of them are not released models but Llama 2 70B's shape with
another number of key/value heads (``LLAMA2_70B_MHA``, ``LLAMA2_70B_MQA``), to compare the three
kinds of attention on one model; their ``source`` says so.

``MODELS`` lists them all in display order. ``ModelConfig.kv_cache_bytes`` gives the memory of
their KV cache through ``attnlib.reference.cost.kv_cache_bytes``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..reference.validate import positive_int
from ..reference.cost import kv_cache_bytes

@dataclass(frozen=True)
class ModelConfig:
    """The attention shape of one model: layers, query and key/value heads, head width, source.

    n_heads: query heads per layer; n_kv_heads: key/value heads per layer (n_heads for
    multi-head attention, 1 for multi-query attention, in between for grouped-query
    attention); head_dim: the width of one head; context_length: the longest sequence the
    model was trained for; sliding_window: how many positions (the current one included) each
    token attends to, or None for full causal attention.
    """

    name: str
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    context_length: int
    source: str
    sliding_window: int | None = None

    def __post_init__(self) -> None:
        for field in ("n_layers", "n_heads", "n_kv_heads", "head_dim", "context_length"):
            positive_int(field, getattr(self, field))
        if self.sliding_window is not None:
            positive_int("sliding_window", self.sliding_window)
        if self.n_heads % self.n_kv_heads:
            raise ValueError(
                f"{self.name}: n_heads={self.n_heads} must be a multiple of n_kv_heads={self.n_kv_heads}"
            )
        if not self.source.strip():
            raise ValueError(f"{self.name}: give the source of the numbers")

    @property
    def d_model(self) -> int:
        """Return the width of the query heads together, n_heads * head_dim."""
        return self.n_heads * self.head_dim

    @property
    def group_size(self) -> int:
        """Return how many query heads share one key/value head, n_heads // n_kv_heads."""
        return self.n_heads // self.n_kv_heads

    @property
    def attention_kind(self) -> str:
        """Return "MHA" (one key/value head per query head), "MQA" (one in all) or "GQA" (groups)."""
        if self.n_kv_heads == self.n_heads:
            return "MHA"
        return "MQA" if self.n_kv_heads == 1 else "GQA"

    def cached_tokens(self, seq_len: int) -> int:
        """Return how many tokens' keys and values the cache holds after ``seq_len`` tokens.

        All of them with full attention; at most ``sliding_window`` with a sliding window, whose
        cache can be a rolling buffer that overwrites the oldest entry (Jiang et al., 2023).
        """
        seq_len = positive_int("seq_len", seq_len)
        return seq_len if self.sliding_window is None else min(seq_len, self.sliding_window)

    def kv_cache_bytes(self, seq_len: int = 1, batch: int = 1, bytes_per_element: float = 2) -> float:
        """Return the bytes of the KV cache after ``seq_len`` tokens (default: per token, fp16).

        Uses ``attnlib.reference.cost.kv_cache_bytes`` on ``cached_tokens(seq_len)`` tokens, so a
        sliding-window model stops growing at its window.
        """
        return kv_cache_bytes(
            self.n_layers, self.n_kv_heads, self.head_dim, self.cached_tokens(seq_len), batch, bytes_per_element
        )

    def with_kv_heads(self, n_kv_heads: int, name: str, source: str) -> "ModelConfig":
        """Return a copy of this shape with another number of key/value heads (a what-if model)."""
        return dataclasses.replace(self, n_kv_heads=n_kv_heads, name=name, source=source)


LLAMA2_7B = ModelConfig(
    name="Llama 2 7B",
    n_layers=32,
    n_heads=32,
    n_kv_heads=32,
    head_dim=128,
    context_length=4096,
    source=(
        "Touvron et al. (2023), 'Llama 2: Open Foundation and Fine-Tuned Chat Models' (Table 1: 4k "
        "context, no GQA at 7B); layers and width as LLaMA 7B (Touvron et al., 2023, 'LLaMA: Open and "
        "Efficient Foundation Language Models', Table 2: 32 layers, 32 heads, d_model 4096)"
    ),
)

LLAMA2_70B = ModelConfig(
    name="Llama 2 70B",
    n_layers=80,
    n_heads=64,
    n_kv_heads=8,
    head_dim=128,
    context_length=4096,
    source=(
        "Touvron et al. (2023), 'Llama 2: Open Foundation and Fine-Tuned Chat Models' (Table 1: 4k "
        "context, GQA in the 34B and 70B models); 8 key/value heads as in the released checkpoint's "
        "configuration (meta-llama/Llama-2-70b-hf); layers and width as LLaMA 65B (Touvron et al., 2023, 'LLaMA', Table 2: 80 layers, 64 heads, d_model 8192)"
    ),
)

LLAMA2_70B_MHA = LLAMA2_70B.with_kv_heads(
    64, "Llama 2 70B as MHA", "hypothetical: Llama 2 70B's shape with one key/value head per query head (64)"
)

LLAMA2_70B_MQA = LLAMA2_70B.with_kv_heads(
    1, "Llama 2 70B as MQA", "hypothetical: Llama 2 70B's shape with a single key/value head"
)

MISTRAL_7B = ModelConfig(
    name="Mistral 7B",
    n_layers=32,
    n_heads=32,
    n_kv_heads=8,
    head_dim=128,
    context_length=8192,
    sliding_window=4096,
    source=(
        "Jiang et al. (2023), 'Mistral 7B', Table 1 (32 layers, 32 heads, 8 key/value heads, "
        "head_dim 128, window_size 4096, context_len 8192)"
    ),
)

#: every configuration, in display order: real models first, then the what-if variants of 70B
MODELS: tuple[ModelConfig, ...] = (LLAMA2_7B, MISTRAL_7B, LLAMA2_70B, LLAMA2_70B_MHA, LLAMA2_70B_MQA)

__all__ = ["LLAMA2_7B", "LLAMA2_70B", "LLAMA2_70B_MHA", "LLAMA2_70B_MQA", "MISTRAL_7B", "MODELS", "ModelConfig"]
