"""Checks for notebook 02 (the bottleneck that attention removed)."""
from __future__ import annotations
