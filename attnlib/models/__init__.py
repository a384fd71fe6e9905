"""The models: what the notebooks train or run as a whole system, built on ``attnlib.reference``.

- ``seq2seq``: two tiny GRU encoder-decoders, with and without attention, trained in notebook 02
- ``head_patterns``: hand-set multi-head weights whose heads specialise (06)
- ``kv_cache``: a toy decoder that decodes token by token through a KV cache (08)
- ``model_configs``: the attention shapes of published language models, with sources (08, 09)
- ``hard_attention``: hard attention trained by REINFORCE, with and without a baseline (10)
- ``transformer``: a one-page decoder-only transformer in PyTorch (11)
- ``induction``: the task notebook 11 trains that transformer on, the training, the head scores
  and ablations, and the shipped trained weights (``data/induction_gpt.pt``, reused by 06, 08, 10)
"""
