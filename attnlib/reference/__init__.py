"""The references: the maths of attention in plain numpy, what the learner re-implements.

One small module per topic; each exercise's reference is also ``attnlib.<name>``. Nothing here
imports from the other rooms: every other part of attnlib builds on these.

- ``attention``: softmax, masked_softmax, scaled_dot_product_attention (notebook 01)
- ``context_vector``: one decoder step of Bahdanau attention, scores to a context vector (02)
- ``masks``: causal, padding and sliding-window masks, True = may attend (03, 08)
- ``positional``: sinusoidal positional encodings (03, 11)
- ``scaling``: why scores are divided by sqrt(d_k), measured on random vectors (04)
- ``additive``: additive (Bahdanau) attention (05)
- ``scoring``: dot, general and additive scores side by side, with their costs by formula (05)
- ``heads``: split_heads, merge_heads, multi_head_attention (06)
- ``cost``: FLOPs, score memory and KV-cache bytes by formula (07, 08)
- ``gqa``: grouped-query attention (08)
- ``tiled``: tiled attention with an online softmax, FlashAttention's idea (08)
- ``entropy``: the entropy of attention weights (10)
- ``hopfield``: Hopfield networks, classical and modern; one modern update is attention (10)
- ``rope``: rotary position embeddings (11)
- ``blocks``: layer_norm and the attention sublayer of a pre-LayerNorm block (11)
- ``validate``: input checks shared by all of them, with errors that name the shapes at fault
"""
