"""A decoder-only transformer on one page, in PyTorch: the model notebook 11 trains and reads.

Read it top to bottom, like minGPT's model.py. Every idea is one the course built by hand:
token embeddings (a table lookup), RoPE (``attnlib.reference.rope``: the positions, rotated into queries
and keys), pre-LayerNorm blocks of causal multi-head attention with ``n_kv_heads`` key/value
heads (MHA when it equals ``n_heads``, GQA between, MQA at 1; notebook 08), an MLP, the residual
stream that every sublayer adds to, and the unembedding back to one score per token of the
vocabulary. Generation can reuse a KV cache (keys stored after their rotation).

Shapes: B batch, n new positions, t positions attended to (n, or cache + n), d = d_model,
h = n_heads, h_kv = n_kv_heads, d_h = d / h (the head width), V = vocab_size.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    """The model's sizes; n_kv_heads None means n_heads (multi-head attention)."""

    vocab_size: int = 32
    n_ctx: int = 24            # the longest sequence it is trained on
    d_model: int = 48
    n_heads: int = 4
    n_kv_heads: int | None = None
    n_layers: int = 2
    d_mlp: int = 192           # 4 d_model, as in the original Transformer
    rope_base: float = 10000.0
    rope: bool = True          # False: no positions at all (to compare with attnlib's numpy references)

    def __post_init__(self) -> None:
        self.n_kv_heads = self.n_kv_heads or self.n_heads
        if self.d_model % self.n_heads or self.n_heads % self.n_kv_heads or (self.d_model // self.n_heads) % 2:
            raise ValueError(f"need d_model % n_heads == 0, n_heads % n_kv_heads == 0 and an even head width, "
                             f"got d_model={self.d_model}, n_heads={self.n_heads}, n_kv_heads={self.n_kv_heads}")


def rope(x: torch.Tensor, positions: torch.Tensor, base: float) -> torch.Tensor:
    """Return x (..., n, d_h) with pairs (2i, 2i+1) rotated by positions (n,) * base**(-2i/d_h): attnlib.apply_rope in torch."""
    d = x.shape[-1]
    theta = base ** (-torch.arange(0, d, 2, dtype=x.dtype) / d)             # (d_h/2,)
    angles = positions.to(x.dtype)[:, None] * theta                        # (n, d_h/2)
    cos, sin = angles.cos(), angles.sin()
    x1, x2 = x[..., 0::2], x[..., 1::2]                                    # (..., n, d_h/2) each
    return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)


class KVCache:
    """The keys (after RoPE) and values of every layer so far: one (B, h_kv, t, d_h) pair per layer."""

    def __init__(self, n_layers: int):
        self.keys: list[torch.Tensor | None] = [None] * n_layers
        self.values: list[torch.Tensor | None] = [None] * n_layers

    @property
    def length(self) -> int:
        """Return t, the number of positions cached."""
        return 0 if self.keys[0] is None else self.keys[0].shape[-2]

    def extend(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append k, v (B, h_kv, n, d_h) to a layer's cache; return all keys and values so far (B, h_kv, t, d_h)."""
        if self.keys[layer] is not None:
            k, v = torch.cat([self.keys[layer], k], dim=-2), torch.cat([self.values[layer], v], dim=-2)
        self.keys[layer], self.values[layer] = k, v
        return k, v


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: Config, layer: int):
        super().__init__()
        self.cfg, self.layer, self.d_head = cfg, layer, cfg.d_model // cfg.n_heads
        self.W_q = nn.Linear(cfg.d_model, cfg.n_heads * self.d_head, bias=False)
        self.W_k = nn.Linear(cfg.d_model, cfg.n_kv_heads * self.d_head, bias=False)
        self.W_v = nn.Linear(cfg.d_model, cfg.n_kv_heads * self.d_head, bias=False)
        self.W_o = nn.Linear(cfg.n_heads * self.d_head, cfg.d_model, bias=False)

    def forward(self, x, positions, cache: KVCache | None = None, head_mask: torch.Tensor | None = None):
        """Return (out (B, n, d), weights (B, h, n, t)) for x (B, n, d) at positions (n,)."""
        cfg, B, n = self.cfg, x.shape[0], x.shape[1]
        q = self.W_q(x).view(B, n, cfg.n_heads, self.d_head).transpose(1, 2)     # (B, h, n, d_h)
        k = self.W_k(x).view(B, n, cfg.n_kv_heads, self.d_head).transpose(1, 2)  # (B, h_kv, n, d_h)
        v = self.W_v(x).view(B, n, cfg.n_kv_heads, self.d_head).transpose(1, 2)  # (B, h_kv, n, d_h)
        if cfg.rope:
            q, k = rope(q, positions, cfg.rope_base), rope(k, positions, cfg.rope_base)  # keys rotated before caching
        if cache is not None:
            k, v = cache.extend(self.layer, k, v)                                # (B, h_kv, t, d_h): earlier positions first
        key_positions = torch.arange(k.shape[-2]) if cache is not None else positions  # (t,)
        group = cfg.n_heads // cfg.n_kv_heads
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)  # (B, h, t, d_h): head i reads i // group
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.d_head)               # (B, h, n, t)
        allowed = key_positions[None, :] <= positions[:, None]                  # (n, t): causal, True = may attend
        weights = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)  # (B, h, n, t)
        heads = weights @ v                                                     # (B, h, n, d_h)
        if head_mask is not None:
            heads = heads * head_mask[None, :, None, None]                      # 0 = this head ablated
        return self.W_o(heads.transpose(1, 2).reshape(B, n, cfg.d_model)), weights  # (B, n, d)


class Block(nn.Module):
    """Pre-LayerNorm: x + attention(LN(x)), then x + MLP(LN(x)); the residual stream x runs through."""

    def __init__(self, cfg: Config, layer: int):
        super().__init__()
        self.ln_1, self.attn = nn.LayerNorm(cfg.d_model), CausalSelfAttention(cfg, layer)
        self.ln_2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, cfg.d_mlp), nn.GELU(), nn.Linear(cfg.d_mlp, cfg.d_model))

    def forward(self, x, positions, cache=None, head_mask=None):
        a, weights = self.attn(self.ln_1(x), positions, cache, head_mask)       # (B, n, d), (B, h, n, t)
        x = x + a                                                               # attention writes into the stream
        return x + self.mlp(self.ln_2(x)), weights                              # and so does the MLP


class TinyGPT(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)                  # token -> vector (no positions: RoPE adds them)
        self.blocks = nn.ModuleList(Block(cfg, layer) for layer in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.unembed = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)       # vector -> one score per token

    def forward(self, tokens, cache: KVCache | None = None, ablate: set[tuple[int, int]] = frozenset()):
        """Return (logits (B, n, V), weights: one (B, h, n, t) per layer) for tokens (B, n).

        With a cache the tokens continue the cached sequence; ``ablate`` holds (layer, head)
        pairs whose output is zeroed (their attention still computed, never used).
        """
        B, n = tokens.shape
        start = cache.length if cache is not None else 0
        positions = torch.arange(start, start + n)                               # (n,)
        x = self.embed(tokens)                                                   # (B, n, d): the residual stream
        all_weights = []
        for layer, block in enumerate(self.blocks):
            mask = None
            if any(l == layer for l, _ in ablate):
                mask = torch.ones(self.cfg.n_heads, dtype=x.dtype)
                mask[[h for l, h in ablate if l == layer]] = 0
            x, weights = block(x, positions, cache, mask)
            all_weights.append(weights)
        return self.unembed(self.ln_f(x)), all_weights                          # (B, n, V)


@torch.no_grad()
def generate(model: TinyGPT, prompt: torch.Tensor, steps: int, use_cache: bool = True) -> torch.Tensor:
    """Return the greedy continuation (B, steps) of prompt (B, n0): prefill once, then one token at a time.

    With use_cache the prompt's keys and values are cached (prefill) and each new token runs
    through the model alone (decode); without it the whole sequence is run again at every step.
    """
    if steps < 1 or prompt.ndim != 2:
        raise ValueError(f"need steps >= 1 and a prompt of shape (B, n), got steps={steps}, prompt {tuple(prompt.shape)}")
    model.eval()
    cache = KVCache(model.cfg.n_layers) if use_cache else None
    tokens, new = prompt, []
    logits, _ = model(tokens, cache)                                             # prefill: every prompt position
    for _ in range(steps):
        nxt = logits[:, -1].argmax(-1, keepdim=True)                             # (B, 1): the likeliest next token
        new.append(nxt)
        tokens = torch.cat([tokens, nxt], dim=1)
        logits, _ = model(nxt, cache) if use_cache else model(tokens)            # decode: one position, or all again
    return torch.cat(new, dim=1)


def count_parameters(model: nn.Module) -> int:
    """Return the number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
