"""Load Stripe into `raw_stripe` and say what happened."""

from __future__ import annotations

import time

from dlt.pipeline.exceptions import PipelineStepFailed

from ..report import LoadReport
from ..warehouse import pipeline
from .api import StripeApi, StripeConfigError, StripeLoadError
from .source import stripe_source


def load_stripe(
    api_key: str | None = None,
    api_base: str | None = None,
    target: str | None = None,
    full_refresh: bool = False,
    requests_per_second: float | None = None,
    progress: str | None = "log",
    max_retries: int = 6,
) -> LoadReport:
    """Backfill, or fetch what changed since the last run, and merge it into raw_stripe."""
    started = time.perf_counter()
    report = LoadReport("stripe")
    api = StripeApi(
        api_key, api_base, requests_per_second, max_retries=max_retries
    )  # names STRIPE_API_KEY if absent
    pipe = pipeline("stripe", target, progress=progress)
    source = stripe_source(
        api_key=api.client_key, full_refresh=full_refresh, notes=report.notes, api=api
    )
    try:
        # dlt's default file format: with jsonl, DuckDB unifies the JSON `data` of events
        # across the rows of a file and adds null keys, so a re-load would differ
        pipe.extract(source, refresh="drop_sources" if full_refresh else None)
    except PipelineStepFailed as exc:
        raise _root_cause(exc) from None
    report.requests = api.requests
    report.extract_seconds = time.perf_counter() - started
    pipe.normalize()
    counts = pipe.last_trace.last_normalize_info.row_counts
    pipe.load(raise_on_failed_jobs=True)
    report.rows.update({t: n for t, n in counts.items() if not t.startswith("_dlt")})
    report.seconds = time.perf_counter() - started
    return report


def _root_cause(exc: BaseException) -> BaseException:
    """dlt wraps what a resource raised twice over; users should read Stripe's error."""
    seen = exc
    while seen is not None:
        if isinstance(seen, StripeConfigError | StripeLoadError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc
