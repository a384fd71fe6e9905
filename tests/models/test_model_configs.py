"""Notebook 08's model shapes (attnlib.models.model_configs): the attention shapes of published models.

Their shapes, kinds and sources; their KV-cache bytes agree with attnlib.kv_cache_bytes and a
sliding window caps the cache; the configs are frozen and validated.
"""
from __future__ import annotations

import dataclasses

import pytest

import attnlib as A
from attnlib.models import model_configs


def test_llama2_70b_caches_320_kib_per_token_in_fp16():
    m = model_configs.LLAMA2_70B
    assert m.kv_cache_bytes() == 2 * 80 * 8 * 128 * 2 == 320 * 1024
    assert m.kv_cache_bytes(4096, batch=3, bytes_per_element=4) == 2 * 80 * 8 * 128 * 4096 * 3 * 4
    assert (m.attention_kind, m.group_size, m.d_model) == ("GQA", 8, 8192)


def test_model_shapes_and_kinds():
    expected = {
        "Llama 2 7B": (32, 32, 32, 128, "MHA"),
        "Llama 2 70B": (80, 64, 8, 128, "GQA"),
        "Llama 2 70B as MHA": (80, 64, 64, 128, "MHA"),
        "Llama 2 70B as MQA": (80, 64, 1, 128, "MQA"),
        "Mistral 7B": (32, 32, 8, 128, "GQA"),
    }
    got = {m.name: (m.n_layers, m.n_heads, m.n_kv_heads, m.head_dim, m.attention_kind) for m in model_configs.MODELS}
    assert got == expected
    assert model_configs.MISTRAL_7B.sliding_window == 4096
    for m in model_configs.MODELS:
        assert m.source.strip()
    assert "Touvron" in model_configs.LLAMA2_7B.source and "Jiang" in model_configs.MISTRAL_7B.source
    assert "hypothetical" in model_configs.LLAMA2_70B_MHA.source and "hypothetical" in model_configs.LLAMA2_70B_MQA.source


def test_configs_agree_with_kv_cache_bytes_and_the_window_caps_the_cache():
    for m in model_configs.MODELS:
        for seq_len in (1, 4096):
            assert m.kv_cache_bytes(seq_len) == A.kv_cache_bytes(m.n_layers, m.n_kv_heads, m.head_dim, seq_len)
    mistral = model_configs.MISTRAL_7B
    assert mistral.cached_tokens(100) == 100 and mistral.cached_tokens(32768) == 4096
    assert A.kv_cache_bytes(32, 8, 128, 32768) / mistral.kv_cache_bytes(32768) == 8
    assert model_configs.LLAMA2_7B.cached_tokens(32768) == 32768


def test_configs_are_frozen_and_validated():
    with pytest.raises(dataclasses.FrozenInstanceError):
        model_configs.LLAMA2_7B.n_kv_heads = 8  # type: ignore[misc]
    with pytest.raises(ValueError, match="multiple of n_kv_heads"):
        model_configs.LLAMA2_70B.with_kv_heads(3, "odd", "test")
    with pytest.raises(ValueError, match="n_layers"):
        dataclasses.replace(model_configs.LLAMA2_7B, n_layers=0)
    with pytest.raises(ValueError, match="source"):
        dataclasses.replace(model_configs.LLAMA2_7B, source=" ")
    with pytest.raises(ValueError, match="sliding_window"):
        dataclasses.replace(model_configs.MISTRAL_7B, sliding_window=-1)
