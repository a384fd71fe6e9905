"""The measurements: timing, memory, counted FLOPs, agreement bounds and attribution.

- ``sweeps``: time and peak-memory sweeps over n, timed side by side, and log-log slopes (05, 07, 08)
- ``bench``: tiled_attention's benchmark (``python -m attnlib bench``) and the one-call timers and
  memory probes the notebooks use (05, 08)
- ``flops``: count_matmul_flops, the FLOPs of a function's matrix products, the same on every machine (08)
- ``agreement``: how closely two results agree, printed as a bound, never as rounding digits (03, 05, 08, 11)
- ``attribution``: which input tokens an output depends on, to set beside attention maps (10)
"""
