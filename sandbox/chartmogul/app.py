"""The Starlette app: the parts of ChartMogul's REST API the warehouse, its sync and their
tests use, answering with exactly the keys the `chartmogul` SDK expects (it rejects unknown
top-level keys on lists)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

import orjson
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .behaviour import Behaviour, retry_after_header
from .metrics import DriftedView, all_metrics, metric_range, mrr_metrics
from .requestlog import RequestLog
from .store import Customer, Invoice, Store, StoreError, Subscription, _iso, cents

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
# ChartMogul's documented answers to its limits
RATE_LIMITED = "Your request rate has exceeded our rate limit."
TOO_MANY_CONNECTIONS = "Too many parallel connections. Please don't exceed the limit."
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
    """Routes plus the per-request guard (death, limits, latency, injected faults, auth,
    log). `on_death` closes every connection and stops listening (the server's kill)."""

    def __init__(
        self,
        store: Store,
        behaviour: Behaviour,
        log: RequestLog,
        on_death: Callable[[], None] | None = None,
    ):
        self.store = store
        self.behaviour = behaviour
        self.log = log
        self.on_death = on_death

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
            route("/v1/customers/{uuid}", self.customer, ["GET", "PATCH"]),
            route("/v1/customers/{uuid}/subscriptions", self.customer_subscriptions, ["GET"]),
            route("/v1/plans", self.plans, ["GET", "POST"]),
            route("/v1/plans/{uuid}", self.plan, ["GET", "PATCH"]),
            route("/v1/import/customers/{uuid}/invoices", self.invoices, ["GET", "POST"]),
            route(
                "/v1/import/customers/{uuid}/subscriptions", self.imported_subscriptions, ["GET"]
            ),
            route("/v1/import/subscriptions/{uuid}", self.cancel_subscription, ["PATCH"]),
            route("/v1/import/invoices/{uuid}/transactions", self.transactions, ["POST"]),
            route("/v1/invoices", self.invoices_by_external_id, ["GET", "DELETE"]),
            route("/v1/invoices/{uuid}", self.invoice, ["GET", "DELETE"]),
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

    async def _die(self) -> None:
        # async, so that Starlette runs it on the server's loop (connections live there)
        if self.on_death is not None:
            self.on_death()

    async def _unanswered(self) -> Response:
        """A request to a dead stand-in: its connection is closed without an answer."""
        if self.on_death is None:  # nothing to kill (a bare app): say so instead
            return Response(b"", status_code=503)
        self.on_death()
        await asyncio.sleep(0.05)  # the closed connection is lost: what follows is dropped
        return Response(b"", status_code=503)

    async def guarded(self, request: Request, handler: Handler) -> Response:
        life = self.behaviour.life()
        if life == "dead":
            return await self._unanswered()
        started = time.perf_counter()
        headers: dict[str, str] = {}
        within_connections = self.behaviour.enter()
        try:
            latency = self.behaviour.latency_ms
            if latency > 0:
                await asyncio.sleep(latency / 1000)
            if not within_connections:
                status, body = _error(503, TOO_MANY_CONNECTIONS)
                headers["Retry-After"] = "1"
            elif (wait := self.behaviour.admit()) is not None:
                status, body = _error(429, RATE_LIMITED)
                headers["Retry-After"] = retry_after_header(wait)
            elif (fault := self.behaviour.next_fault()) is not None:
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
        finally:
            self.behaviour.leave()
        content = b"" if body is None else orjson.dumps(body)
        self.log.append(
            request.method,
            request.url.path,
            status,
            time=datetime.now(UTC).isoformat(timespec="milliseconds"),
            query=request.url.query,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            request_bytes=int(request.headers.get("content-length") or 0),
            response_bytes=len(content),
        )
        return Response(
            content,
            status_code=status,
            headers=headers,
            media_type=None if body is None else "application/json",
            background=BackgroundTask(self._die) if life == "last" else None,
        )

    # ------------------------------------------------------------------ shapes

    def _status(self, customer: Customer, view: DriftedView) -> tuple[str, int, date | None]:
        mrr = cents(view.customer_mrr(customer))
        first_paid = next((s.day for s in self.store.timeline(customer) if s.mrr > 0), None)
        if mrr > 0:
            return "Active", mrr, first_paid
        return ("Cancelled" if first_paid is not None else "New Lead"), mrr, first_paid

    def _customer_json(self, customer: Customer, view: DriftedView) -> dict:
        status, mrr, first_paid = self._status(customer, view)
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
            "state": customer.state,
            "zip": customer.zip,
            "address": {
                "address_zip": customer.zip,
                "city": customer.city,
                "country": customer.country,
                "state": customer.state,
            },
            "attributes": {
                "tags": list(customer.tags),
                "stripe": {},
                "clearbit": {},
                "custom": dict(customer.custom),
            },
        }

    def _subscription_json(self, subscription: Subscription, as_of: date) -> dict:
        plan = self.store.plans.get(subscription.plan_uuid)
        segments = subscription.segments()
        mrr = subscription.mrr_on(as_of)
        return {
            "id": abs(hash(subscription.uuid)) % 10**9,
            "uuid": subscription.uuid,
            "external_id": subscription.external_id,
            "subscription_set_external_id": subscription.subscription_set_external_id,
            "customer_uuid": subscription.customer_uuid,
            "data_source_uuid": subscription.data_source_uuid,
            "cancellation_dates": [_iso(d) for d in subscription.cancellation_dates],
            "plan": plan.name if plan else None,
            "plan_uuid": subscription.plan_uuid,
            "quantity": 1,
            "mrr": cents(mrr),
            "arr": cents(mrr * 12),
            "status": "active" if mrr > 0 else "inactive",
            "billing-cycle": plan.interval_unit if plan else None,
            "billing-cycle-count": plan.interval_count if plan else None,
            "start-date": _iso(segments[0][0]) if segments else None,
            "end-date": _iso(segments[-1][1]) if segments else None,
            "currency": self.store.currency,
            "currency-sign": "$" if self.store.currency == "USD" else self.store.currency,
        }

    def _view(self) -> DriftedView:
        return DriftedView(self.store, self.behaviour)

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
        view = self._view()
        if request.method == "POST":
            customer = self.store.create_customer(await _json_body(request))
            return 201, self._customer_json(customer, view)
        params = request.query_params
        source, external_id = params.get("data_source_uuid"), params.get("external_id")
        if source is not None and external_id is not None:
            found = self.store.customer_by_external_id(source, external_id)
            selected = [found] if found else []
        else:
            selected = [
                c
                for c in self.store.customers.values()
                if external_id in (None, c.external_id) and source in (None, c.data_source_uuid)
            ]
        if "status" in params:
            selected = [c for c in selected if self._status(c, view)[0] == params["status"]]
        page, has_more, cursor = _page(selected, request)
        entries = [self._customer_json(c, view) for c in page]
        return 200, {"entries": entries, "has_more": has_more, "cursor": cursor}

    async def search_customers(self, request: Request):
        email = request.query_params.get("email")
        if not email:
            raise StoreError(400, "email is required")
        view = self._view()
        found = [c for c in self.store.customers.values() if c.email.lower() == email.lower()]
        page, has_more, cursor = _page(found, request)
        entries = [self._customer_json(c, view) for c in page]
        return 200, {"entries": entries, "has_more": has_more, "cursor": cursor}

    async def customer(self, request: Request):
        uuid = request.path_params["uuid"]
        if request.method == "PATCH":
            customer = self.store.modify_customer(uuid, await _json_body(request))
        else:
            customer = self.store.customer(uuid)
        return 200, self._customer_json(customer, self._view())

    async def customer_subscriptions(self, request: Request):
        customer = self.store.customer(request.path_params["uuid"])
        subscriptions = self.store.customer_subscriptions(customer.uuid)
        page, has_more, cursor = _page(subscriptions, request)
        entries = [self._subscription_json(s, self.store.as_of) for s in page]
        return 200, {"entries": entries, "has_more": has_more, "cursor": cursor}

    async def imported_subscriptions(self, request: Request):
        customer = self.store.customer(request.path_params["uuid"])
        subscriptions = self.store.customer_subscriptions(customer.uuid)
        page, has_more, cursor = _page(subscriptions, request)
        return 200, {
            "customer_uuid": customer.uuid,
            "subscriptions": [s.to_json() for s in page],
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
        source, external_id = params.get("data_source_uuid"), params.get("external_id")
        if source is not None and external_id is not None:
            found = self.store.plan_by_external_id(source, external_id)
            selected = [found] if found else []
        else:
            selected = [
                p
                for p in self.store.plans.values()
                if source in (None, p.data_source_uuid) and external_id in (None, p.external_id)
            ]
        page, has_more, cursor = _page(selected, request)
        return 200, {"plans": [p.to_json() for p in page], "has_more": has_more, "cursor": cursor}

    async def plan(self, request: Request):
        if request.method == "PATCH":
            updated = self.store.update_plan(request.path_params["uuid"], await _json_body(request))
            return 200, updated.to_json()
        plan = self.store.plans.get(request.path_params["uuid"])
        if plan is None:
            raise StoreError(404, f"Plan {request.path_params['uuid']} not found")
        return 200, plan.to_json()

    async def invoices(self, request: Request):
        customer_uuid = request.path_params["uuid"]
        if request.method == "POST":
            body = await _json_body(request)
            imported = self.store.import_invoices(customer_uuid, body.get("invoices"))
            return 201, {
                "invoices": [invoice.to_json() for invoice in imported],
                "customer_uuid": customer_uuid,
            }
        customer = self.store.customer(customer_uuid)
        page, has_more, cursor = _page(list(self.store.invoices.get(customer.uuid, ())), request)
        return 200, {
            "invoices": [invoice.to_json() for invoice in page],
            "customer_uuid": customer.uuid,
            "has_more": has_more,
            "cursor": cursor,
        }

    def _invoices_matching(self, request: Request) -> list[Invoice]:
        params = request.query_params
        source, external_id = params.get("data_source_uuid"), params.get("external_id")
        if source is not None and external_id is not None:
            found = self.store.invoice_by_external_id(source, external_id)
            return [found] if found else []
        if "customer_uuid" in params:
            return list(self.store.invoices.get(params["customer_uuid"], ()))
        return [
            invoice
            for invoices in self.store.invoices.values()
            for invoice in invoices
            if source in (None, invoice.data_source_uuid)
            and external_id in (None, invoice.external_id)
        ]

    async def invoices_by_external_id(self, request: Request):
        """GET /invoices (filters data_source_uuid + external_id, customer_uuid) and DELETE
        /invoices?data_source_uuid=&external_id= (the SDK's external-id calls)."""
        if request.method == "DELETE":
            params = request.query_params
            if not (params.get("data_source_uuid") and params.get("external_id")):
                raise StoreError(400, "data_source_uuid and external_id are required")
            found = self._invoices_matching(request)
            if not found:
                raise StoreError(404, f"Invoice {params['external_id']} not found")
            self.store.delete_invoice(found[0].uuid)
            return 204, None
        page, has_more, cursor = _page(self._invoices_matching(request), request)
        return 200, {
            "invoices": [invoice.to_json() for invoice in page],
            "has_more": has_more,
            "cursor": cursor,
        }

    async def invoice(self, request: Request):
        uuid = request.path_params["uuid"]
        if request.method == "DELETE":
            self.store.delete_invoice(uuid)
            return 204, None
        return 200, self.store.invoice(uuid).to_json()

    async def transactions(self, request: Request):
        body = await _json_body(request)
        transaction = self.store.add_transaction(request.path_params["uuid"], body)
        return 201, transaction.to_json()

    async def metrics_mrr(self, request: Request):
        start, end, interval = metric_range(request.query_params)
        return 200, mrr_metrics(self._view(), start, end, interval)

    async def metrics_all(self, request: Request):
        start, end, interval = metric_range(request.query_params)
        return 200, all_metrics(self._view(), start, end, interval)


def create_app(
    store: Store,
    behaviour: Behaviour,
    log: RequestLog,
    on_death: Callable[[], None] | None = None,
) -> Starlette:
    return Starlette(routes=ChartMogulStandInApp(store, behaviour, log, on_death).routes())
