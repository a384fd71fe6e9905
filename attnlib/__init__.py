"""attnlib: reference implementations, checks, plots and widgets for the attention course.

The references are plain numpy, one small module per topic:

- ``attention``: softmax, scaled_dot_product_attention
- ``context``: context_vector (one decoder step of Bahdanau attention)
- ``masks``: causal_mask, padding_mask, padding_attention_mask, sliding_window_mask
- ``additive``: additive_attention
- ``heads``: split_heads, merge_heads, multi_head_attention
- ``gqa``: grouped_query_attention
- ``cost``: attention_flops, attention_score_bytes, kv_cache_bytes
- ``tiled``: tiled_attention
- ``scaling``: scaled_head_scores, and the measurements of notebook 04
- ``entropy``: attention_entropy (notebook 10)
- ``hopfield``: hopfield_update, and the classical and modern Hopfield networks of notebook 10
- ``rope``: apply_rope, rotary position embeddings (notebook 11)
- ``blocks``: layer_norm, attention_sublayer, one sublayer of a pre-LayerNorm decoder block (notebook 11)

Notebook helpers that are not exercise references live in their own modules: ``plots``
(heat maps, bars), ``graphs`` (attention as a directed graph of tokens), ``widgets``
(ipywidgets sliders), ``positional`` (sinusoidal encodings), ``scoring`` (dot, general and
additive scores and their costs, notebook 05), ``head_patterns`` (hand-set heads, notebook 06),
``measure`` (time and memory sweeps over n, log-log slopes, notebook 07), ``seq2seq`` (the tiny GRU
encoder-decoders of notebook 02), ``bench`` (tiled_attention's benchmark), ``kv_cache`` (a toy
decoder with a KV cache) and ``model_configs`` (published models' attention shapes, notebook 08),
``cheatsheet`` (the one-page cheat sheet, notebook 09), ``hard_attention``, ``attribution`` and
``beyond_widgets`` (notebook 10), ``transformer`` (the one-page decoder-only transformer in torch) and
``induction`` (its task, training, head scores and ablation; the shipped trained weights, notebook 11). ``progress`` runs a learner's notebooks and reports every
exercise; ``doctor`` checks the set-up (``python -m attnlib progress`` / ``doctor``).

``attnlib.check`` holds one check per exercise (``check.softmax(my_softmax)``), and
``python -m attnlib build`` makes notebooks/ from solutions/.
"""
try:
    from .reference.additive import additive_attention
    from .reference.blocks import attention_sublayer
    from .reference.rope import apply_rope
    from .reference.attention import scaled_dot_product_attention, softmax
    from .reference.context import context_vector
    from .reference.entropy import attention_entropy
    from .reference.hopfield import hopfield_update
    from .reference.cost import attention_flops, attention_score_bytes, kv_cache_bytes
    from .reference.gqa import grouped_query_attention
    from .reference.heads import merge_heads, multi_head_attention, split_heads
    from .reference.masks import causal_mask, padding_attention_mask, padding_mask, sliding_window_mask
    from .reference.scaling import scaled_head_scores
    from .reference.tiled import tiled_attention
except ImportError as _missing:  # a broken set-up: keep `python -m attnlib doctor` working to explain it
    _IMPORT_ERROR = _missing

    def __getattr__(name: str):
        if name not in __all__:  # submodules (``from . import doctor``) still import normally
            raise AttributeError(name)
        raise ImportError(
            f"attnlib could not load ({_IMPORT_ERROR}): run `python -m attnlib doctor` to see what is missing"
        ) from _IMPORT_ERROR

__version__ = "0.1.0"

__all__ = [
    "additive_attention",
    "apply_rope",
    "attention_sublayer",
    "attention_entropy",
    "attention_flops",
    "attention_score_bytes",
    "causal_mask",
    "context_vector",
    "grouped_query_attention",
    "hopfield_update",
    "kv_cache_bytes",
    "merge_heads",
    "multi_head_attention",
    "padding_attention_mask",
    "padding_mask",
    "scaled_dot_product_attention",
    "scaled_head_scores",
    "sliding_window_mask",
    "softmax",
    "split_heads",
    "tiled_attention",
]
