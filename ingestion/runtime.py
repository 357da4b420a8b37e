"""Process settings for the extract step."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def fewer_collections(young: int = 50_000) -> Iterator[None]:
    """Run the cyclic garbage collector rarely while extracting.

    Extraction allocates millions of short-lived dicts (parsed JSON) that reference
    counting frees; with the default threshold (700) the collector ran constantly and its
    full passes, each holding the GIL, stalled the fetching threads for up to two seconds:
    the Stripe backfill spent 40% of its CPU there and fell to half the request budget.
    Objects alive before the step are frozen out of collections; thresholds are restored
    afterwards."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(young, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
