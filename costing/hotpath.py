"""Helpers for the hot paths that build millions of small objects (snapshots, recorded samples)."""

from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while many acyclic objects are built: the full collections they
    would trigger walk the whole heap for nothing (2-3x the cost of parsing a large snapshot). Reference
    counting still frees everything; what runs inside must not make reference cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
