"""ChartMogul's API through the official SDK, with the timeouts and retries the SDK lacks:
it mounts its retry adapter on https only and waits forever by default, so a slow or
failing ChartMogul would hang or break the daily run. Retries back off exponentially with
jitter (honouring Retry-After) on 429, 5xx, connection errors and timeouts, and then fail
loudly. The API key never appears in a message."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import chartmogul
import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from ..config import dlt_setting

API_KEY_ENV = "CHARTMOGUL_API_KEY"
API_BASE_ENV = "CHARTMOGUL_API_BASE"
DEFAULT_API_BASE = "https://api.chartmogul.com"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
CUSTOMERS_PER_PAGE = 200


class ChartMogulError(RuntimeError):
    """Anything that stops a reconciliation: configuration, availability, mismatch."""


class ChartMogulConfigError(ChartMogulError):
    pass


class ChartMogulUnavailable(ChartMogulError):
    pass


@dataclass(frozen=True)
class MrrPoint:
    date: date
    mrr_cents: int


@dataclass(frozen=True)
class MrrEntry:
    """One bucket of /v1/metrics/mrr: MRR at its end and the movements within it (cents)."""

    date: date
    mrr_cents: int
    new_business_cents: int | None = None
    expansion_cents: int | None = None
    contraction_cents: int | None = None
    churn_cents: int | None = None
    reactivation_cents: int | None = None


@dataclass(frozen=True)
class AccountInfo:
    account_id: str
    name: str
    currency: str
    time_zone: str


@dataclass(frozen=True)
class ChartMogulCustomer:
    uuid: str
    external_id: str
    name: str
    email: str
    mrr_cents: int
    currency: str


def _status(exc: BaseException) -> int | None:
    """The HTTP status behind an SDK error (chartmogul.APIError wraps requests' HTTPError)."""
    cause = exc if isinstance(exc, requests.HTTPError) else exc.__cause__
    response = getattr(cause, "response", None)
    return getattr(response, "status_code", None)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return True
    return _status(exc) in RETRY_STATUSES


def resolve_api_key(api_key: str | None = None) -> str | None:
    """The key given, else CHARTMOGUL_API_KEY, else dlt's secrets; None when none is set."""
    return api_key or os.environ.get(API_KEY_ENV) or dlt_setting("chartmogul_api_key") or None


def resolve_api_base(api_base: str | None = None) -> str:
    """The API base given, else CHARTMOGUL_API_BASE, else dlt's config, else ChartMogul's."""
    return (
        api_base
        or os.environ.get(API_BASE_ENV)
        or dlt_setting("chartmogul_api_base")
        or DEFAULT_API_BASE
    ).rstrip("/")


class ChartMogulClient:
    """ChartMogulClient()  # key from CHARTMOGUL_API_KEY, base from CHARTMOGUL_API_BASE"""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        api_base: str | None = None,
        timeout_seconds: float = 30,
        max_attempts: int = 5,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 8,
    ):
        key = resolve_api_key(api_key)
        if not key:
            raise ChartMogulConfigError(
                f"no ChartMogul API key: set {API_KEY_ENV} (or sources.chartmogul.api_key in "
                ".dlt/secrets.toml)"
            )
        self.api_base = resolve_api_base(api_base)
        # max_retries=0: the SDK's own https-only adapter must not retry under ours
        self.config = chartmogul.Config(key, request_timeout=timeout_seconds, max_retries=0)
        self.config.uri = self.api_base + "/v1"
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.attempts = 0  # requests sent, retries included (for logs and tests)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        cause = getattr(exc, "__cause__", None)
        retry_after = getattr(getattr(cause, "response", None), "headers", {}).get("Retry-After")
        if retry_after is not None:
            try:
                return min(float(retry_after), self.max_backoff_seconds)
            except ValueError:
                pass
        return wait_exponential_jitter(
            multiplier=self.backoff_seconds,
            jitter=self.backoff_seconds,
            max=self.max_backoff_seconds,
        )(state)

    def _call(self, what: str, request):
        """Run one SDK call (a function returning its promise) with our retries."""
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(self.max_attempts),
                wait=self._wait,
                retry=retry_if_exception(_retryable),
                reraise=True,
            ):
                with attempt:
                    self.attempts += 1
                    return request().get()
        except chartmogul.APIError as exc:
            status = _status(exc)
            if status in (401, 403):
                raise ChartMogulConfigError(
                    f"ChartMogul refused the API key ({API_KEY_ENV}) on {what}: HTTP {status}"
                ) from exc
            raise ChartMogulUnavailable(self._failure(what, f"HTTP {status}", exc)) from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
            raise ChartMogulUnavailable(self._failure(what, kind, exc)) from exc
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _failure(self, what: str, reason: str, exc: BaseException) -> str:
        retried = _retryable(exc)
        tries = f"after {self.max_attempts} attempts" if retried else "(not retried)"
        return f"ChartMogul {what} at {self.api_base} failed {tries}: {reason}"

    # ------------------------------------------------------------------ calls

    def account(self) -> chartmogul.Account:
        return self._call("GET /v1/account", lambda: chartmogul.Account.retrieve(self.config))

    def currency(self) -> str:
        return str(self.account().currency).upper()

    def account_info(self) -> AccountInfo:
        account = self.account()
        return AccountInfo(
            account_id=str(getattr(account, "id", "") or ""),
            name=str(getattr(account, "name", "") or ""),
            currency=str(account.currency).upper(),
            time_zone=str(getattr(account, "time_zone", "") or ""),
        )

    def mrr_series(self, start: date, end: date, interval: str = "day") -> list[MrrPoint]:
        return [MrrPoint(e.date, e.mrr_cents) for e in self.mrr_entries(start, end, interval)]

    def mrr_entries(self, start: date, end: date, interval: str = "day") -> list[MrrEntry]:
        """Every bucket of the MRR series from `start` to `end`, movements included."""

        def cents(entry, name: str) -> int | None:
            value = getattr(entry, name, None)
            return None if value is None else int(value)

        answer = self._call(
            f"GET /v1/metrics/mrr ({start}..{end}, {interval})",
            lambda: chartmogul.Metrics.mrr(
                self.config,
                start_date=start.isoformat(),
                end_date=end.isoformat(),
                interval=interval,
            ),
        )
        return [
            MrrEntry(
                date=entry.date,
                mrr_cents=int(entry.mrr),
                new_business_cents=cents(entry, "mrr_new_business"),
                expansion_cents=cents(entry, "mrr_expansion"),
                contraction_cents=cents(entry, "mrr_contraction"),
                churn_cents=cents(entry, "mrr_churn"),
                reactivation_cents=cents(entry, "mrr_reactivation"),
            )
            for entry in answer.entries
        ]

    def customers(self) -> Iterator[ChartMogulCustomer]:
        cursor = None
        while True:
            params = {"per_page": CUSTOMERS_PER_PAGE, **({"cursor": cursor} if cursor else {})}
            page = self._call(
                "GET /v1/customers",
                lambda params=params: chartmogul.Customer.all(self.config, **params),
            )
            for customer in page.entries:
                yield ChartMogulCustomer(
                    uuid=customer.uuid,
                    external_id=str(getattr(customer, "external_id", "") or ""),
                    name=str(getattr(customer, "name", "") or ""),
                    email=str(getattr(customer, "email", "") or ""),
                    mrr_cents=int(getattr(customer, "mrr", 0) or 0),
                    currency=str(getattr(customer, "currency", "") or "").upper(),
                )
            if not page.has_more or not page.cursor:
                return
            cursor = page.cursor
