"""Checks for notebook 04 (why divide by sqrt(d_k))."""
from __future__ import annotations
