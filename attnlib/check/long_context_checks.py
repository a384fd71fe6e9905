"""Checks for notebook 08 beyond the catalogue (predictions on long-context models)."""
from __future__ import annotations
