"""Shared set-up for the unit tests: a non-interactive matplotlib backend."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")
