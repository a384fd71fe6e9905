"""Checks for notebook 10 (hard attention, Hopfield memories, reading attention maps)."""
from __future__ import annotations
