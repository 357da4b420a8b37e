"""Load Stripe into `raw_stripe` and say what happened."""

from __future__ import annotations

import time

from dlt.pipeline.exceptions import PipelineStepFailed

from ..pipelines import drop_staging_dataset, file_format_of, normalize_workers, pipeline
from ..report import LoadReport
from ..runtime import fewer_collections
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
    # The cursors live in the warehouse with the data they describe: a new machine or a lost
    # pipeline folder resumes from there instead of backfilling again.
    pipe.sync_destination()
    if pipe.has_pending_data:
        # a previous run extracted but did not finish loading: finish it before new data
        pipe.normalize(workers=normalize_workers(0))
        pipe.load(raise_on_failed_jobs=True)
        report.notes.append("loaded the packages a previous run left pending")
    source = stripe_source(
        api_key=api.client_key, full_refresh=full_refresh, notes=report.notes, api=api
    )
    extract_started = time.perf_counter()
    try:
        with fewer_collections():
            pipe.extract(
                source,
                refresh="drop_sources" if full_refresh else None,
                loader_file_format=file_format_of(pipe),
            )
    except PipelineStepFailed as exc:
        raise _root_cause(exc) from None
    report.requests = api.requests
    report.extract_seconds = time.perf_counter() - extract_started
    step_started = time.perf_counter()
    pipe.normalize(workers=normalize_workers(api.objects))
    counts = pipe.last_trace.last_normalize_info.row_counts
    report.normalize_seconds = time.perf_counter() - step_started
    step_started = time.perf_counter()
    pipe.load(raise_on_failed_jobs=True)
    drop_staging_dataset(pipe)
    report.load_seconds = time.perf_counter() - step_started
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
