"""The Starlette app: Stripe's read API (lists, retrieves, nested lists) over a fixture Store."""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import errors
from .behaviour import Behaviour
from .errors import StripeError
from .expand import expand
from .fixtures import RESOURCES, Cond, Store, Table
from .query import ListQuery, parse_common, parse_list
from .requestlog import RequestLog

DEFAULT_STRIPE_VERSION = "2026-10-28.endive"
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_log = logging.getLogger(__name__)

# Handlers return (JSON body, number of Stripe objects in it).
Result = tuple[bytes, int]


def list_body(url: str, has_more: bool, items: list[bytes]) -> bytes:
    # Spliced from stored bytes: list pages never re-serialize the objects.
    return b"".join(
        (
            b'{"object":"list","url":',
            orjson.dumps(url),
            b',"has_more":true,"data":[' if has_more else b',"has_more":false,"data":[',
            b",".join(items),
            b"]}",
        )
    )


def _expanded_list(store: Store, url: str, has_more: bool, objs: list, paths: list[str]) -> bytes:
    body = {"object": "list", "url": url, "has_more": has_more, "data": objs}
    return orjson.dumps(expand(store, body, paths) if paths else body)


def page_table(table: Table, query: ListQuery, conds: tuple[Cond, ...]) -> tuple[list[int], bool]:
    """Positions of one page, and has_more, without scanning the table."""
    view = table.view(conds)
    lo, hi = table.created_range(query.created_gte, query.created_lte)
    # Work on indexes into the view (or directly on positions when unfiltered).
    if view is None:
        first, stop = lo, hi
    else:
        first, stop = bisect.bisect_left(view, lo), bisect.bisect_left(view, hi)
    cursor = query.starting_after or query.ending_before
    if cursor is None:
        start, end = first, min(stop, first + query.limit)
        has_more = end < stop
    else:
        position = table.find(cursor)
        param = "starting_after" if query.starting_after else "ending_before"
        if position is None:
            raise errors.no_such(table.spec.noun, cursor, param=param, status=400)
        if query.starting_after:
            after = position + 1 if view is None else bisect.bisect_right(view, position)
            start = max(first, after)
            end = max(start, min(stop, start + query.limit))
            has_more = end < stop
        else:
            before = position if view is None else bisect.bisect_left(view, position)
            end = min(stop, before)
            start = min(end, max(first, end - query.limit))
            has_more = start > first
    if view is None:
        return list(range(start, end)), has_more
    return list(view[start:end]), has_more


def page_items(items: list[dict], query: ListQuery, noun: str) -> tuple[list[dict], bool]:
    """Page an in-order list of embedded items (invoice lines, subscription items)."""
    if query.created_gte is not None or query.created_lte is not None:
        raise errors.unknown_param("created")
    cursor = query.starting_after or query.ending_before
    if cursor is None:
        return items[: query.limit], len(items) > query.limit
    index = next((i for i, item in enumerate(items) if item.get("id") == cursor), None)
    param = "starting_after" if query.starting_after else "ending_before"
    if index is None:
        raise errors.no_such(noun, cursor, param=param, status=400)
    if query.starting_after:
        end = index + 1 + query.limit
        return items[index + 1 : end], end < len(items)
    start = max(0, index - query.limit)
    return items[start:index], start > 0


class StripeStandInApp:
    """Routes plus the per-request guard (auth, rate limit, faults, latency, log)."""

    def __init__(self, store: Store, behaviour: Behaviour, log: RequestLog) -> None:
        self.store = store
        self.behaviour = behaviour
        self.log = log

    def routes(self) -> list[Route]:
        def route(path: str, handler: Callable[[Request], Result]) -> Route:
            async def endpoint(request: Request) -> Response:
                return await self.guarded(request, handler)

            return Route(path, endpoint, methods=_METHODS)

        return [
            route("/v1/subscription_items", self.list_subscription_items),
            route("/v1/subscription_items/{object_id}", self.retrieve_subscription_item),
            route("/v1/invoices/{object_id}/lines", self.list_sublist("invoices")),
            route("/v1/credit_notes/{object_id}/lines", self.list_sublist("credit_notes")),
            route("/v1/charges/{object_id}/refunds", self.list_charge_refunds),
            route("/v1/{resource}", self.list_resource),
            route("/v1/{resource}/{object_id}", self.retrieve),
            route("/{path:path}", self.unrecognized),
        ]

    # -- guard ----------------------------------------------------------------------

    def _check_auth(self, request: Request) -> None:
        header = request.headers.get("authorization", "").strip()
        scheme, _, credentials = header.partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer":
            key = credentials
        elif scheme.lower() == "basic":
            # Stripe also takes the key as the HTTP Basic user name (empty password).
            try:
                key = base64.b64decode(credentials).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                key = credentials
        else:
            key = header
        if not key:
            raise errors.missing_api_key()
        if not self.behaviour.key_allowed(key):
            raise errors.invalid_api_key(key)

    async def guarded(self, request: Request, handler: Callable[[Request], Result]) -> Response:
        request_id = "req_" + uuid.uuid4().hex[:14]
        headers: dict[str, str] = {}
        count = 0
        try:
            latency = self.behaviour.latency_ms
            if latency > 0:
                await asyncio.sleep(latency / 1000.0)
            self._check_auth(request)
            # Decided before any work, like an overloaded API would.
            if not self.behaviour.admit():
                raise errors.rate_limited()
            if self.behaviour.inject_fault():
                raise errors.api_error()
            if request.method not in ("GET", "HEAD"):
                raise errors.unrecognized_url(request.method, request.url.path)
            body, count = handler(request)
            status = 200
        except StripeError as exc:
            body, status, headers = orjson.dumps(exc.body), exc.status, dict(exc.headers)
        except Exception:
            _log.exception("stripe stand-in failed on %s", request.url.path)
            exc = errors.api_error()
            body, status = orjson.dumps(exc.body), 500
            headers = {"Stripe-Should-Retry": "false"}
        headers["Request-Id"] = request_id
        headers["Stripe-Version"] = request.headers.get("stripe-version", DEFAULT_STRIPE_VERSION)
        headers["Cache-Control"] = "no-cache, no-store"
        self.log.append(
            {
                "ts": time.time(),
                "method": request.method,
                "path": request.url.path,
                "query": _query_dict(request),
                "status": status,
                "count": count,
                "request_id": request_id,
            }
        )
        return Response(body, status_code=status, headers=headers, media_type="application/json")

    # -- handlers -------------------------------------------------------------------

    def _table(self, request: Request) -> Table:
        table = self.store.tables.get(request.path_params["resource"])
        if table is None:
            raise errors.unrecognized_url(request.method, request.url.path)
        return table

    def unrecognized(self, request: Request) -> Result:
        raise errors.unrecognized_url(request.method, request.url.path)

    def list_resource(self, request: Request) -> Result:
        table = self._table(request)
        name = table.spec.name
        query, conds = parse_list(name, request.query_params.multi_items())
        return self._list_table(table, query, conds, f"/v1/{name}")

    def _list_table(
        self, table: Table, query: ListQuery, conds: tuple[Cond, ...], url: str
    ) -> Result:
        positions, has_more = page_table(table, query, conds)
        raws = [table.raw(p) for p in positions]
        if query.expand:
            objs = [orjson.loads(raw) for raw in raws]
            return _expanded_list(self.store, url, has_more, objs, query.expand), len(raws)
        return list_body(url, has_more, raws), len(raws)

    def _object(self, table: Table, object_id: str, param: str = "id", status: int = 404) -> dict:
        position = table.find(object_id)
        if position is None:
            raise errors.no_such(table.spec.noun, object_id, param=param, status=status)
        return orjson.loads(table.raw(position))

    def _retrieve_params(self, request: Request) -> list[str]:
        query = parse_common(request.query_params.multi_items())
        if query.created_gte is not None or query.created_lte is not None:
            raise errors.unknown_param("created")
        for name in ("limit", "starting_after", "ending_before"):
            if name in request.query_params:
                raise errors.unknown_param(name)
        return query.expand

    def retrieve(self, request: Request) -> Result:
        table = self._table(request)
        object_id = request.path_params["object_id"]
        paths = self._retrieve_params(request)
        position = table.find(object_id)
        if position is None:
            raise errors.no_such(table.spec.noun, object_id)
        raw = table.raw(position)
        if paths:
            raw = orjson.dumps(expand(self.store, orjson.loads(raw), paths))
        return raw, 1

    def _all_items(self, table: Table, obj: dict) -> list[dict]:
        full = table.overflow.get(obj["id"])
        if full is not None:
            return orjson.loads(full)
        sub = obj.get(table.spec.sublist or "")
        return list(sub.get("data") or []) if isinstance(sub, dict) else []

    def _items_result(self, items: list[dict], query: ListQuery, noun: str, url: str) -> Result:
        page, has_more = page_items(items, query, noun)
        return _expanded_list(self.store, url, has_more, page, query.expand), len(page)

    def list_sublist(self, resource: str) -> Callable[[Request], Result]:
        table = self.store.tables[resource]
        noun = {"invoices": "line item", "credit_notes": "credit note line item"}[resource]

        def handler(request: Request) -> Result:
            object_id = request.path_params["object_id"]
            query = parse_common(request.query_params.multi_items())
            obj = self._object(table, object_id)
            url = f"/v1/{resource}/{object_id}/lines"
            return self._items_result(self._all_items(table, obj), query, noun, url)

        return handler

    def list_charge_refunds(self, request: Request) -> Result:
        table = self.store.tables["charges"]
        charge_id = request.path_params["object_id"]
        query = parse_common(request.query_params.multi_items())
        obj = self._object(table, charge_id, param="charge")
        url = f"/v1/charges/{charge_id}/refunds"
        if isinstance(obj.get("refunds"), dict):
            return self._items_result(self._all_items(table, obj), query, "refund", url)
        # Charges stopped embedding refunds (2022-11-15): list them from refunds.jsonl.
        conds = (Cond("charge", include=frozenset({charge_id})),)
        return self._list_table(self.store.tables["refunds"], query, conds, url)

    def list_subscription_items(self, request: Request) -> Result:
        query = parse_common(request.query_params.multi_items(), frozenset({"subscription"}))
        subscription_id = query.filters.get("subscription")
        if not subscription_id:
            raise StripeError(
                400,
                "Missing required param: subscription.",
                code="parameter_missing",
                param="subscription",
            )
        table = self.store.tables["subscriptions"]
        obj = self._object(table, subscription_id, param="subscription", status=400)
        items = self._all_items(table, obj)
        return self._items_result(items, query, "subscription item", "/v1/subscription_items")

    def retrieve_subscription_item(self, request: Request) -> Result:
        item_id = request.path_params["object_id"]
        paths = self._retrieve_params(request)
        table = self.store.tables["subscriptions"]
        parent = self.store.subscription_item_parent.get(item_id)
        position = table.find(parent) if parent else None
        if position is not None:
            obj = orjson.loads(table.raw(position))
            for item in self._all_items(table, obj):
                if item.get("id") == item_id:
                    return orjson.dumps(expand(self.store, item, paths)), 1
        raise errors.no_such("subscription item", item_id)


def _query_dict(request: Request) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in query:
            previous = query[key]
            query[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            query[key] = value
    return query


def create_app(
    store: Store, behaviour: Behaviour | None = None, log: RequestLog | None = None
) -> Starlette:
    """The ASGI app; `app.state.standin` exposes the store, behaviour and request log."""
    # `is None`: an empty RequestLog is falsy.
    standin = StripeStandInApp(
        store,
        Behaviour() if behaviour is None else behaviour,
        RequestLog() if log is None else log,
    )
    app = Starlette(routes=standin.routes())
    app.state.standin = standin
    return app


__all__ = ["RESOURCES", "StripeStandInApp", "create_app", "list_body"]
