"""Checks for notebook 09 (the cheat sheet)."""
from __future__ import annotations
