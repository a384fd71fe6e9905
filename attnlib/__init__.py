"""attnlib: reference implementations, models, pictures, measurements, checks and tooling of the attention course.

The package is in rooms, one folder per role (attnlib/README.md maps each notebook and each
exercise to its modules):

- ``reference/``: the maths in plain numpy, what the learner re-implements (attention, masks,
  heads, gqa, tiled, rope, blocks, ...); every exercise's reference is also ``attnlib.<name>``
- ``models/``: what the notebooks train or run as a system (seq2seq, kv_cache, transformer,
  induction, ...)
- ``figures/``: plots, graphs, widgets and the cheat sheet
- ``measure/``: time and memory sweeps, the benchmark, FLOP counts, agreement bounds, attribution
- ``check/``: one check per exercise (``from attnlib import check; check.softmax(my_softmax)``),
  one module per notebook (``check/nb01_queries_keys_values.py``)
- ``course/``: build, progress, doctor, grading: ``python -m attnlib build | progress | doctor | ...``

Each room imports only from the rooms below it: course -> check -> models, measure, figures -> reference.
"""
try:
    from .reference.additive import additive_attention
    from .reference.blocks import attention_sublayer
    from .reference.rope import apply_rope
    from .reference.attention import scaled_dot_product_attention, softmax
    from .reference.context_vector import context_vector
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
        if name not in __all__:  # the rooms (``from .course import doctor``) still import normally
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
