"""The Starlette app: the parts of ChartMogul's REST API the warehouse and its tests use,
answering with exactly the keys the `chartmogul` SDK expects (it rejects unknown top-level
keys on lists)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Awaitable, Callable
from datetime import date

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .behaviour import Behaviour
from .metrics import DriftedView, all_metrics, metric_range, mrr_metrics
from .requestlog import RequestLog
from .store import ZERO, Customer, Store, StoreError, Subscription, _iso, cents

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
_log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[tuple[int, object]]]


def _error(status: int, message: str, errors: dict | None = None) -> tuple[int, dict]:
    body: dict = {"code": status, "message": message}
    if errors:
        body["errors"] = errors
    return status, body


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind == "offset" and int(value) >= 0:
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise StoreError(400, f"cursor {cursor!r} is not valid")


def _page(items: list, request: Request) -> tuple[list, bool, str | None]:
    try:
        per_page = int(request.query_params.get("per_page", DEFAULT_PER_PAGE))
    except ValueError:
        raise StoreError(400, "per_page must be an integer") from None
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise StoreError(400, f"per_page must be between 1 and {MAX_PER_PAGE}")
    offset = _decode_cursor(request.query_params.get("cursor"))
    page = items[offset : offset + per_page]
    has_more = offset + per_page < len(items)
    return page, has_more, _encode_cursor(offset + per_page) if has_more else None


async def _json_body(request: Request) -> dict:
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        raise StoreError(400, "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise StoreError(400, "the request body must be a JSON object")
    return body


class ChartMogulStandInApp:
    """Routes plus the per-request guard (latency, injected faults, auth, log)."""

    def __init__(self, store: Store, behaviour: Behaviour, log: RequestLog):
        self.store = store
        self.behaviour = behaviour
        self.log = log

    def routes(self) -> list[Route]:
        def route(path: str, handler: Handler, methods: list[str]) -> Route:
            async def endpoint(request: Request) -> Response:
                return await self.guarded(request, handler)

            return Route(path, endpoint, methods=methods)

        return [
            route("/v1/ping", self.ping, ["GET"]),
            route("/v1/account", self.account, ["GET"]),
            route("/v1/data_sources", self.data_sources, ["GET", "POST"]),
            route("/v1/data_sources/{uuid}", self.data_source, ["GET"]),
            route("/v1/customers", self.customers, ["GET", "POST"]),
            route("/v1/customers/search", self.search_customers, ["GET"]),
            route("/v1/customers/{uuid}", self.customer, ["GET"]),
            route("/v1/customers/{uuid}/subscriptions", self.customer_subscriptions, ["GET"]),
            route("/v1/plans", self.plans, ["GET", "POST"]),
            route("/v1/plans/{uuid}", self.plan, ["GET"]),
            route("/v1/import/customers/{uuid}/invoices", self.invoices, ["GET", "POST"]),
            route(
                "/v1/import/customers/{uuid}/subscriptions", self.imported_subscriptions, ["GET"]
            ),
            route("/v1/import/subscriptions/{uuid}", self.cancel_subscription, ["PATCH"]),
            route("/v1/metrics/mrr", self.metrics_mrr, ["GET"]),
            route("/v1/metrics/all", self.metrics_all, ["GET"]),
            route("/{path:path}", self.not_found, ["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ]

    # ------------------------------------------------------------------ guard

    def _api_key(self, request: Request) -> str | None:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            return base64.b64decode(credentials.strip()).decode().partition(":")[0] or None
        except (binascii.Error, UnicodeDecodeError):
            return None

    async def guarded(self, request: Request, handler: Handler) -> Response:
        headers: dict[str, str] = {}
        latency = self.behaviour.latency_ms
        if latency > 0:
            await asyncio.sleep(latency / 1000)
        fault = self.behaviour.next_fault()
        try:
            if fault is not None:
                status, body = _error(fault.status, "injected by the stand-in")
                if fault.retry_after is not None:
                    headers["Retry-After"] = f"{fault.retry_after:g}"
            elif not self.behaviour.key_allowed(self._api_key(request)):
                status, body = _error(401, "No valid API key provided")
            else:
                status, body = await handler(request)
        except StoreError as exc:
            status, body = _error(exc.status, exc.message, exc.errors)
        except Exception:
            _log.exception("chartmogul stand-in failed on %s", request.url.path)
            status, body = _error(500, "internal error in the stand-in")
        self.log.append(request.method, request.url.path, status)
        return Response(
            orjson.dumps(body), status_code=status, headers=headers, media_type="application/json"
        )

    # ------------------------------------------------------------------ shapes

    def _customer_json(self, customer: Customer, view: DriftedView) -> dict:
        mrr = cents(view.customer_mrr(customer))
        steps = self.store.timeline(customer)
        first_paid = next((s.day for s in steps if s.mrr > 0), None)
        if mrr > 0:
            status = "Active"
        elif first_paid is not None:
            status = "Cancelled"
        else:
            status = "New Lead"
        return {
            "id": customer.id,
            "uuid": customer.uuid,
            "external_id": customer.external_id,
            "external_ids": [customer.external_id],
            "data_source_uuid": customer.data_source_uuid,
            "data_source_uuids": [customer.data_source_uuid],
            "name": customer.name,
            "company": customer.company,
            "email": customer.email,
            "status": status,
            "customer-since": _iso(first_paid) if first_paid else None,
            "lead_created_at": _iso(customer.lead_created_at) if customer.lead_created_at else None,
            "free_trial_started_at": _iso(customer.free_trial_started_at)
            if customer.free_trial_started_at
            else None,
            "mrr": mrr,
            "arr": mrr * 12,
            "currency": self.store.currency,
            "currency-sign": "$" if self.store.currency == "USD" else self.store.currency,
            "billing-system-type": "Import API",
            "billing-system-url": None,
            "chartmogul-url": f"https://app.chartmogul.com/#customers/{customer.id}",
            "city": customer.city,
            "country": customer.country,
            "state": None,
            "zip": None,
            "address": {
                "address_zip": None,
                "city": customer.city,
                "country": customer.country,
                "state": None,
            },
            "attributes": {"tags": [], "stripe": {}, "clearbit": {}, "custom": {}},
        }

    def _subscription_json(self, subscription: Subscription, as_of: date) -> dict:
        plan = self.store.plans.get(subscription.plan_uuid)
        periods = sorted(subscription.periods)
        mrr = sum((m for start, end, m in periods if start <= as_of < end), ZERO)
        cancelled = subscription.cancellation_dates
        active = bool(mrr) and not (cancelled and cancelled[0].date() <= as_of)
        return {
            "id": abs(hash(subscription.uuid)) % 10**9,
            "uuid": subscription.uuid,
            "external_id": subscription.external_id,
            "plan": plan.name if plan else None,
            "plan_uuid": subscription.plan_uuid,
            "quantity": 1,
            "mrr": cents(mrr) if active else 0,
            "arr": cents(mrr * 12) if active else 0,
            "status": "active" if active else "inactive",
            "billing-cycle": plan.interval_unit if plan else None,
            "billing-cycle-count": plan.interval_count if plan else None,
            "start-date": _iso(periods[0][0]) if periods else None,
            "end-date": _iso(cancelled[0]) if cancelled else None,
            "currency": self.store.currency,
            "currency-sign": "$" if self.store.currency == "USD" else self.store.currency,
        }

    # ------------------------------------------------------------------ handlers

    async def not_found(self, request: Request):
        return _error(404, "The requested resource could not be found.")

    async def ping(self, request: Request):
        return 200, {"data": "pong!"}

    async def account(self, request: Request):
        return 200, {
            "id": "acc_sandbox",
            "name": self.store.account_name,
            "currency": self.store.currency,
            "time_zone": "UTC",
            "week_start_on": "monday",
        }

    async def data_sources(self, request: Request):
        if request.method == "POST":
            body = await _json_body(request)
            return 201, self.store.create_data_source(str(body.get("name") or "")).to_json()
        name = request.query_params.get("name")
        sources = [
            ds.to_json()
            for ds in self.store.data_sources.values()
            if name is None or ds.name == name
        ]
        return 200, {"data_sources": sources}

    async def data_source(self, request: Request):
        return 200, self.store.data_source(request.path_params["uuid"]).to_json()

    async def customers(self, request: Request):
        if request.method == "POST":
            customer = self.store.create_customer(await _json_body(request))
            return 201, self._customer_json(customer, self._view())
        params = request.query_params
        view = self._view()
        selected = [
            c
            for c in self.store.customers.values()
            if params.get("external_id") in (None, c.external_id)
            and params.get("data_source_uuid") in (None, c.data_source_uuid)
        ]
        entries = [self._customer_json(c, view) for c in selected]
        if "status" in params:
            entries = [e for e in entries if e["status"] == params["status"]]
        page, has_more, cursor = _page(entries, request)
        return 200, {"entries": page, "has_more": has_more, "cursor": cursor}

    async def search_customers(self, request: Request):
        email = request.query_params.get("email")
        if not email:
            raise StoreError(400, "email is required")
        view = self._view()
        found = [
            self._customer_json(c, view)
            for c in self.store.customers.values()
            if c.email.lower() == email.lower()
        ]
        page, has_more, cursor = _page(found, request)
        return 200, {"entries": page, "has_more": has_more, "cursor": cursor}

    async def customer(self, request: Request):
        customer = self.store.customer(request.path_params["uuid"])
        return 200, self._customer_json(customer, self._view())

    async def customer_subscriptions(self, request: Request):
        customer = self.store.customer(request.path_params["uuid"])
        subscriptions = [
            self._subscription_json(s, self.store.as_of)
            for s in self.store.subscriptions.values()
            if s.customer_uuid == customer.uuid
        ]
        page, has_more, cursor = _page(subscriptions, request)
        return 200, {"entries": page, "has_more": has_more, "cursor": cursor}

    async def imported_subscriptions(self, request: Request):
        customer = self.store.customer(request.path_params["uuid"])
        subscriptions = [
            s.to_json()
            for s in self.store.subscriptions.values()
            if s.customer_uuid == customer.uuid
        ]
        page, has_more, cursor = _page(subscriptions, request)
        return 200, {
            "customer_uuid": customer.uuid,
            "subscriptions": page,
            "has_more": has_more,
            "cursor": cursor,
        }

    async def cancel_subscription(self, request: Request):
        body = await _json_body(request)
        return 200, self.store.cancel_subscription(request.path_params["uuid"], body).to_json()

    async def plans(self, request: Request):
        if request.method == "POST":
            return 201, self.store.create_plan(await _json_body(request)).to_json()
        params = request.query_params
        plans = [
            p.to_json()
            for p in self.store.plans.values()
            if params.get("data_source_uuid") in (None, p.data_source_uuid)
            and params.get("external_id") in (None, p.external_id)
        ]
        page, has_more, cursor = _page(plans, request)
        return 200, {"plans": page, "has_more": has_more, "cursor": cursor}

    async def plan(self, request: Request):
        plan = self.store.plans.get(request.path_params["uuid"])
        if plan is None:
            raise StoreError(404, f"Plan {request.path_params['uuid']} not found")
        return 200, plan.to_json()

    async def invoices(self, request: Request):
        customer_uuid = request.path_params["uuid"]
        if request.method == "POST":
            body = await _json_body(request)
            imported = self.store.import_invoices(customer_uuid, body.get("invoices"))
            return 201, {"invoices": imported, "customer_uuid": customer_uuid}
        customer = self.store.customer(customer_uuid)
        page, has_more, cursor = _page(list(self.store.invoices[customer.uuid]), request)
        return 200, {
            "invoices": page,
            "customer_uuid": customer.uuid,
            "has_more": has_more,
            "cursor": cursor,
        }

    def _view(self) -> DriftedView:
        return DriftedView(self.store, self.behaviour)

    async def metrics_mrr(self, request: Request):
        start, end, interval = metric_range(request.query_params)
        return 200, mrr_metrics(self._view(), start, end, interval)

    async def metrics_all(self, request: Request):
        start, end, interval = metric_range(request.query_params)
        return 200, all_metrics(self._view(), start, end, interval)


def create_app(store: Store, behaviour: Behaviour, log: RequestLog) -> Starlette:
    return Starlette(routes=ChartMogulStandInApp(store, behaviour, log).routes())
