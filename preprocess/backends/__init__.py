"""Backends of the preprocessing stages, one per file; registered lazily in `stages.py`."""
