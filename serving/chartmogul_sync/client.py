"""ChartMogul's import API for the sync, through the official SDK: the reads and writes the
sync makes, each within a shared request budget and retried by our own rules (the SDK
retries nothing over http and waits forever by default).

Built on `ingestion.chartmogul.client.ChartMogulClient` (the key, the base, the SDK config,
Retry-After): every request is retried at most `max_retries` times with exponential backoff
and jitter on 429, 5xx, timeouts and connection errors. What is left after that is sorted:

- `ChartMogulRejected`: ChartMogul refused this object (400, 404, 422): the object fails,
  the run goes on; `already_exists` tells a duplicate external id (adopt, never double);
- `ChartMogulUnavailable`: still 429 or 5xx after the retries: the object fails this run;
  `unavailable_after` of those in a row count as ChartMogul gone;
- `ChartMogulGone`: connection refused or timed out after the retries: the run stops.

The SDK opens a new `requests.Session` for every call (no connection is reused, so 20
threads would open thousands of connections); `pooled_session` hands it one shared session
with a pool the size of the concurrency instead, for the calls made inside it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any

import chartmogul
import chartmogul.resource
import orjson
import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from ingestion.chartmogul.client import (
    API_KEY_ENV,
    ChartMogulClient,
    ChartMogulConfigError,
    ChartMogulError,
    ChartMogulUnavailable,
    _retryable,
    _status,
)
from ingestion.pacing import RequestBudget

from .settings import SyncSettings
from .state import one_line

# The import API's subscription list (`CustomerSubscription.list_imported`), whose uuids
# the cancellation PATCH takes, made by the SDK's own factory without the deprecation
# warning its wrapper adds (a warning per customer, for a call that is right here)
_list_imported = chartmogul.CustomerSubscription._method(
    "all", "get", "/import/customers{/uuid}/subscriptions"
).__get__(None, chartmogul.CustomerSubscription)

PER_PAGE = 200


class ChartMogulRejected(ChartMogulError):
    """ChartMogul answered 4xx for this object: it will not take it as it is."""

    def __init__(self, message: str, status: int | None, body: str):
        super().__init__(message)
        self.status = status
        self.body = body

    @property
    def already_exists(self) -> bool:
        text = self.body.lower()
        return self.status == 422 and ("already exist" in text or "already been taken" in text)

    @property
    def not_found(self) -> bool:
        return self.status == 404


class ChartMogulGone(ChartMogulError):
    """Connections refused or timing out after every retry: stop the run."""


class SyncStopped(ChartMogulError):
    """The run is stopping (ChartMogul gone): no further request leaves."""


# ---------------------------------------------------------------- one session for the SDK

_POOLED: ContextVar[requests.Session | None] = ContextVar("chartmogul_pooled_session")


def _install_session_hook() -> None:
    """Make the SDK take the pooled session when one is set (once per process)."""
    original = chartmogul.resource.requests_retry_session
    if getattr(original, "pooled_hook", False):
        return

    def pooled_or_new(retries=20, backoff_factor=2, session=None):
        pooled = _POOLED.get(None)
        if pooled is not None and session is None:
            return pooled  # the SDK's own adapter is not mounted: our retries rule
        return original(retries, backoff_factor, session)

    pooled_or_new.pooled_hook = True  # type: ignore[attr-defined]
    chartmogul.resource.requests_retry_session = pooled_or_new


def pooled_http_session(size: int) -> requests.Session:
    """A session whose pool keeps `size` connections per host, retrying nothing itself."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(size, 1), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@contextmanager
def pooled_session(session: requests.Session) -> Iterator[None]:
    _install_session_hook()
    token = _POOLED.set(session)
    try:
        yield
    finally:
        _POOLED.reset(token)


# ---------------------------------------------------------------- the client


def _body(exc: BaseException) -> str:
    cause = exc if isinstance(exc, requests.HTTPError) else exc.__cause__
    response = getattr(cause, "response", None)
    try:
        return response.text if response is not None else ""
    except Exception:  # pragma: no cover - an unreadable body says nothing more
        return ""


def _rejection_message(what: str, status: int | None, body: str) -> str:
    """`POST /v1/customers: HTTP 422: <ChartMogul's message and per-item errors>`."""
    detail = body
    try:
        parsed = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        parts = [str(parsed.get("message") or parsed.get("error") or "")]
        errors = parsed.get("errors")
        if errors:
            parts.append(orjson.dumps(errors).decode())
        detail = " ".join(p for p in parts if p)
    return one_line(f"{what}: HTTP {status}: {detail}" if detail else f"{what}: HTTP {status}")


def _connection_reason(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s"
    text = str(exc)
    if "refused" in text.lower():
        return "connection refused"
    if "reset" in text.lower() or "aborted" in text.lower():
        return "connection reset"
    return "connection failed"


class ChartMogulWriter(ChartMogulClient):
    """The calls the sync makes, thread-safe; counts requests per object type."""

    def __init__(self, settings: SyncSettings):
        super().__init__(
            settings.require_key(),
            api_base=settings.api_base,
            timeout_seconds=settings.timeout_seconds,
            max_attempts=settings.max_retries + 1,
            backoff_seconds=settings.backoff_seconds,
            max_backoff_seconds=settings.max_backoff_seconds,
        )
        self.settings = settings
        self.budget = RequestBudget(settings.requests_per_second or None)
        self.session = pooled_http_session(settings.concurrency)
        self._lock = threading.Lock()
        self.requests_by_type: Counter[str] = Counter()
        # requests that got a final answer: done, or refused for what they carried (not
        # 429, 5xx or no answer at all)
        self.completed = 0
        self.stopped = threading.Event()
        self.stop_reason: str | None = None
        self._unavailable_in_a_row = 0

    @property
    def requests(self) -> int:
        with self._lock:
            return sum(self.requests_by_type.values())

    def requests_per_type(self) -> dict[str, int]:
        with self._lock:
            return dict(self.requests_by_type)

    def close(self) -> None:
        self.session.close()

    def stop(self, reason: str) -> None:
        with self._lock:
            if self.stop_reason is None:
                self.stop_reason = reason
        self.stopped.set()

    # ------------------------------------------------------------------ one call

    def _wait_and_hold(self, state: RetryCallState) -> float:
        seconds = self._wait(state)
        exc = state.outcome.exception() if state.outcome else None
        if exc is not None and _status(exc) == 429:
            self.budget.hold(seconds)  # ChartMogul asked everyone to slow down
        return seconds

    def _attempt(self, object_type: str, request: Callable[[], Any]) -> Any:
        if self.stopped.is_set():
            raise SyncStopped(self.stop_reason or "the run is stopping")
        self.budget.acquire()
        with self._lock:
            self.requests_by_type[object_type] += 1
        try:
            with pooled_session(self.session):
                result = request().get()
        except chartmogul.APIError as exc:
            if not _retryable(exc):
                with self._lock:
                    self.completed += 1
            raise
        with self._lock:
            self.completed += 1
        return result

    def call(self, object_type: str, what: str, request: Callable[[], Any]) -> Any:
        """Run one SDK call (a function returning its promise) with our retries; `what`
        names it in errors ("POST /v1/customers"), never with the key."""
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(self.max_attempts),
                wait=self._wait_and_hold,
                retry=retry_if_exception(_retryable),
                reraise=True,
            ):
                with attempt:
                    result = self._attempt(object_type, request)
        except chartmogul.APIError as exc:
            status = _status(exc)
            if status in (401, 403):
                message = f"ChartMogul refused the API key ({API_KEY_ENV}) on {what}: HTTP {status}"
                self.stop(message)
                raise ChartMogulConfigError(message) from None
            body = _body(exc)
            if status in (429, 500, 502, 503, 504) or status is None:
                self._unavailable(f"HTTP {status}")
                raise ChartMogulUnavailable(
                    f"{_rejection_message(what, status, body)} (after {self.max_attempts} attempts)"
                ) from None
            self._succeeded()
            raise ChartMogulRejected(_rejection_message(what, status, body), status, body) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            reason = _connection_reason(exc, self.settings.timeout_seconds)
            self.stop(reason)
            raise ChartMogulGone(f"{what}: {reason}") from None
        self._succeeded()
        return result

    def _succeeded(self) -> None:
        with self._lock:
            self._unavailable_in_a_row = 0

    def _unavailable(self, reason: str) -> None:
        with self._lock:
            self._unavailable_in_a_row += 1
            gone = self._unavailable_in_a_row >= self.settings.unavailable_after
            count = self._unavailable_in_a_row
        if gone:
            self.stop(f"{reason} on {count} requests in a row after retries")

    # ------------------------------------------------------------------ data source

    def find_data_source(self, name: str) -> str | None:
        answer = self.call(
            "data_source",
            "GET /v1/data_sources",
            lambda: chartmogul.DataSource.all(self.config, name=name),
        )
        for source in answer.data_sources:
            if source.name == name:
                return source.uuid
        return None

    def create_data_source(self, name: str) -> str:
        return self.call(
            "data_source",
            "POST /v1/data_sources",
            lambda: chartmogul.DataSource.create(self.config, data={"name": name}),
        ).uuid

    # ------------------------------------------------------------------ plans

    def find_plan(self, data_source_uuid: str, external_id: str):
        """The plan ChartMogul holds for this external id in the data source, or None."""
        answer = self.call(
            "plan",
            "GET /v1/plans",
            lambda: chartmogul.Plan.all(
                self.config, data_source_uuid=data_source_uuid, external_id=external_id
            ),
        )
        found = [p for p in answer.plans if p.external_id == external_id]
        return found[0] if found else None

    def create_plan(self, body: dict) -> str:
        return self.call(
            "plan", "POST /v1/plans", lambda: chartmogul.Plan.create(self.config, data=body)
        ).uuid

    def update_plan(self, uuid: str, body: dict) -> None:
        self.call(
            "plan",
            f"PATCH /v1/plans/{uuid}",
            lambda: chartmogul.Plan.modify(self.config, uuid=uuid, data=body),
        )

    # ------------------------------------------------------------------ customers

    def find_customer(self, data_source_uuid: str, external_id: str):
        """The customer ChartMogul holds for this external id in the data source, or None."""
        answer = self.call(
            "customer",
            "GET /v1/customers",
            lambda: chartmogul.Customer.all(
                self.config, data_source_uuid=data_source_uuid, external_id=external_id
            ),
        )
        found = [c for c in answer.entries if c.external_id == external_id]
        return found[0] if found else None

    def create_customer(self, body: dict) -> str:
        return self.call(
            "customer",
            "POST /v1/customers",
            lambda: chartmogul.Customer.create(self.config, data=body),
        ).uuid

    def update_customer(self, uuid: str, body: dict) -> None:
        self.call(
            "customer",
            f"PATCH /v1/customers/{uuid}",
            lambda: chartmogul.Customer.modify(self.config, uuid=uuid, data=body),
        )

    # ------------------------------------------------------------------ invoices

    def import_invoices(self, customer_uuid: str, invoices: list[dict]) -> list:
        """Import a customer's invoices in one request (all or nothing): the Invoice objects
        ChartMogul made, with their uuids and their transactions' uuids."""
        answer = self.call(
            "invoice",
            f"POST /v1/import/customers/{customer_uuid}/invoices",
            lambda: chartmogul.Invoice.create(
                self.config, uuid=customer_uuid, data={"invoices": invoices}
            ),
        )
        return list(answer.invoices)

    def customer_invoices(self, customer_uuid: str) -> list:
        """Every invoice imported for the customer (to adopt one that already exists)."""
        invoices: list = []
        cursor = None
        while True:
            params: dict = {"per_page": PER_PAGE, **({"cursor": cursor} if cursor else {})}
            page = self.call(
                "invoice",
                f"GET /v1/import/customers/{customer_uuid}/invoices",
                partial(chartmogul.Invoice.all, self.config, uuid=customer_uuid, **params),
            )
            invoices.extend(page.invoices)
            if not page.has_more or not page.cursor:
                return invoices
            cursor = page.cursor

    def delete_invoice(self, uuid: str) -> None:
        """Delete an imported invoice; one already gone counts as deleted."""
        try:
            self.call(
                "invoice",
                f"DELETE /v1/invoices/{uuid}",
                lambda: chartmogul.Invoice.destroy(self.config, uuid=uuid),
            )
        except ChartMogulRejected as exc:
            if not exc.not_found or "invoice" not in exc.body.lower():
                raise

    def add_transaction(self, invoice_uuid: str, body: dict) -> str | None:
        answer = self.call(
            "transaction",
            f"POST /v1/import/invoices/{invoice_uuid}/transactions",
            lambda: chartmogul.Transaction.create(self.config, uuid=invoice_uuid, data=body),
        )
        return getattr(answer, "uuid", None)

    # ------------------------------------------------------------------ subscriptions

    def imported_subscriptions(self, customer_uuid: str) -> dict[str, str]:
        """The customer's imported subscriptions: external id -> uuid."""
        found: dict[str, str] = {}
        cursor = None
        while True:
            params: dict = {"per_page": PER_PAGE, **({"cursor": cursor} if cursor else {})}
            page = self.call(
                "cancellation",
                f"GET /v1/import/customers/{customer_uuid}/subscriptions",
                partial(_list_imported, self.config, uuid=customer_uuid, **params),
            )
            for subscription in page.subscriptions:
                if subscription.external_id:
                    found[subscription.external_id] = subscription.uuid
            if not page.has_more or not page.cursor:
                return found
            cursor = page.cursor

    def set_cancellation_dates(self, subscription_uuid: str, body: dict) -> None:
        self.call(
            "cancellation",
            f"PATCH /v1/import/subscriptions/{subscription_uuid}",
            lambda: chartmogul.CustomerSubscription.modify(
                self.config, uuid=subscription_uuid, data=body
            ),
        )
