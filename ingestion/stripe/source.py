"""The dlt source for Stripe: a backfill first, then what changed since the last run.

Incremental runs list objects created since each resource's cursor and re-fetch by id the
objects that events name since the last run; both are merged on `id`. Stripe keeps events
for 30 days only: when the last run's event cursor is older than the oldest event the API
still has, mutable objects are refreshed in full and the run says so.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime

import dlt
import orjson

from .. import contracts
from .api import StripeApi
from .resources import BY_OBJECT, EMBEDDED_LISTS, RESOURCES, ResourceSpec


class SyncPlan:
    """What this run fetches, decided from the saved state and the events since."""

    def __init__(self, api: StripeApi, state: dict, full_refresh: bool, notes: list[str]):
        self.api = api
        self.state = state
        self.notes = notes
        self.cursors: dict[str, int] = state.setdefault("cursors", {})
        events_cursor = state.get("events_cursor")
        self.mode = "backfill"
        if full_refresh:
            notes.append("full refresh requested: every resource is fetched in full")
        elif events_cursor is not None:
            # still in the window if the API has an event older than our cursor
            older = api.get("/v1/events", limit=1, created={"lt": events_cursor})
            if older["data"]:
                self.mode = "incremental"
            else:
                self.mode = "refresh"
                notes.append(
                    "the last successful run is older than Stripe's 30-day event window: "
                    "customers, subscriptions, invoices, prices, coupons, products, charges "
                    "and credit notes are refreshed in full"
                )
        self.touched: dict[str, set[str]] = defaultdict(set)
        # Events since the cursor name what changed: an incremental run needs them before it
        # fetches anything. A backfill fetches everything anyway: it only needs the newest
        # event now, as the next run's cursor (whatever changes later has a newer event),
        # and the events resource lists the rest alongside the other resources.
        self.events: list[dict] | None = None
        if self.mode == "backfill":
            newest = api.get("/v1/events", limit=1)["data"]
            if newest:
                state["events_cursor"] = max(newest[0]["created"], events_cursor or 0)
            return
        self.events = []
        for page in api.backfill_pages("/v1/events", created_gte=events_cursor):
            self.events.extend(page)
        for event in self.events:
            obj = event["data"]["object"]
            spec = BY_OBJECT.get(obj.get("object"))
            if spec is not None and obj.get("id"):
                self.touched[spec.name].add(obj["id"])
        if self.events:
            state["events_cursor"] = max([e["created"] for e in self.events] + [events_cursor or 0])

    def fetch_in_full(self, spec: ResourceSpec) -> bool:
        return (
            self.mode == "backfill"
            or spec.name not in self.cursors
            or (self.mode == "refresh" and spec.mutable)
        )


def _complete(api: StripeApi, spec: ResourceSpec, obj: dict) -> dict:
    """Replace an embedded list with all of its items, as a plain list for a child table."""
    embedded = EMBEDDED_LISTS.get(spec.name)
    if embedded and not isinstance(obj.get(embedded[0]), list):  # not completed yet
        field, url = embedded
        sublist = obj.get(field) or {"data": [], "has_more": False}
        items = list(sublist.get("data") or [])
        if sublist.get("has_more") and items:
            params = {"starting_after": items[-1]["id"]}
            if spec.name == "subscriptions":
                params["subscription"] = obj["id"]
            for page in api.pages(url.format(id=obj["id"]), params):
                items.extend(page)
        if spec.name == "credit_notes":
            for item in items:
                item["credit_note"] = obj["id"]
        obj[field] = items
    if spec.name == "charges":
        obj.pop("refunds", None)  # loaded as the refunds resource
    return obj


REJECTS_TABLE = "stripe_rejects"


def without_nulls(value):
    """`value` without the null members of its objects, at every depth (list items stay).

    A missing key loads exactly as a null one (the column is null in that row, and a
    field null everywhere gets no column either way), but dlt's normalize checks each null
    against the schema's hints one by one: Stripe objects are about half nulls, and those
    checks were a third of the time normalize took."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def _checked(name: str, objects: list[dict]) -> Iterator:
    """The objects that keep their data contract, as one batch (dlt handles a list per
    step far faster than an item per step), then each other one as a quarantine row."""
    contract = contracts.load("raw_stripe", name)
    good, rejected = [], []
    for obj in objects:
        reasons = contract.check_typed(obj)
        if not reasons:
            good.append(without_nulls(obj))
            continue
        # to the quarantine table, a variant of the resource declared in `_with_quarantine`:
        # without one, every page after the first rejected object would land there too
        rejected.append(
            dlt.mark.with_table_name(
                {
                    "id": f"{name}:{obj.get('id')}",
                    "resource": name,
                    "object_id": obj.get("id"),
                    "reasons": "; ".join(reasons),
                    "raw": orjson.dumps(obj).decode(),
                    "loaded_at": datetime.now(UTC),
                },
                REJECTS_TABLE,
            )
        )
    if good:
        yield good
    yield from rejected


def _fetch(api: StripeApi, plan: SyncPlan, spec: ResourceSpec) -> Iterator[list[dict]]:
    cursor = plan.cursors.get(spec.name)
    counts = plan.state.setdefault("counts", {})
    changed = plan.touched.get(spec.name, set())
    known = counts.get(spec.name, 0)
    in_full = plan.fetch_in_full(spec)
    if not in_full and len(changed) > (known // 100 + 1) * len(spec.list_params):
        # re-listing everything takes fewer requests than re-fetching each changed object
        in_full = True
        plan.notes.append(
            f"{spec.name}: {len(changed)} changed objects, re-listed in full "
            f"(fewer requests than fetching each by id)"
        )
    since = None if in_full else cursor
    newest = cursor or 0
    new_since_cursor = 0
    seen: set[str] = set()
    for params in spec.list_params:
        pages = api.backfill_pages(
            spec.path,
            params,
            created_gte=since,
            complete=lambda page: [_complete(api, spec, obj) for obj in page],
        )
        for page in pages:
            for obj in page:
                seen.add(obj["id"])
                newest = max(newest, obj["created"])
                new_since_cursor += obj["created"] > (cursor or 0)
            yield from _checked(spec.name, page)
    if since is not None:
        batch = []
        for obj in api.retrieve_many(spec.path, sorted(changed - seen)):
            batch.append(_complete(api, spec, obj))
            if len(batch) == 100:
                yield from _checked(spec.name, batch)
                batch = []
        if batch:
            yield from _checked(spec.name, batch)
        counts[spec.name] = known + new_since_cursor
    else:
        counts[spec.name] = len(seen)
    plan.cursors[spec.name] = newest


def _with_quarantine(resource, contract: contracts.Contract):
    """The resource with the quarantine table as a variant of its own, then the contract's
    columns: every column the contract declares exists, typed, also while no object has a
    value for it (an account whose coupons are all percent-off has no coupon currency).

    A variant starts from a copy of the resource's hints: it is declared first, with the
    copied columns cleared, so the quarantine never gets the contract's (non-null) columns."""
    resource.apply_hints(table_name=REJECTS_TABLE, create_table_variant=True, columns={})
    resource.apply_hints(
        table_name=REJECTS_TABLE,
        create_table_variant=True,
        primary_key="id",
        write_disposition="merge",
        columns={"raw": {"data_type": "json"}},
    )
    resource.apply_hints(columns=contract.dlt_columns())
    return resource


class _LazySync:
    """The API client and the plan are made when extraction starts, not when the source is
    built, so that defining the source (e.g. in Dagster) needs no secret and no network."""

    def __init__(self, make_api, full_refresh: bool, notes: list[str]):
        self._make_api = make_api
        self._full_refresh = full_refresh
        self._notes = notes
        self._plan: SyncPlan | None = None
        self._lock = threading.Lock()

    def plan(self) -> SyncPlan:
        with self._lock:
            if self._plan is None:
                state = dlt.current.source_state().setdefault("sync", {})
                self._plan = SyncPlan(self._make_api(), state, self._full_refresh, self._notes)
            return self._plan


@dlt.source(name="stripe")
def stripe_source(
    api_key: str = dlt.secrets.value,
    api_base: str | None = None,
    requests_per_second: float | None = None,
    full_refresh: bool = False,
    notes: list[str] | None = None,
    api: StripeApi | None = None,
):
    """Every Stripe resource the warehouse needs, one table each, merged on `id`.
    Pass `api` to share a client (and read its request count afterwards)."""
    sync = _LazySync(
        lambda: api or StripeApi(api_key, api_base, requests_per_second),
        full_refresh,
        notes if notes is not None else [],
    )

    def make(spec: ResourceSpec):
        def fetch():
            plan = sync.plan()
            yield from _fetch(plan.api, plan, spec)

        resource = dlt.resource(
            fetch, name=spec.name, primary_key="id", write_disposition="merge", parallelized=True
        )
        return _with_quarantine(resource, contracts.load("raw_stripe", spec.name))

    def events():
        plan = sync.plan()
        if plan.events is not None:
            yield plan.events
            return
        yield from plan.api.backfill_pages("/v1/events")

    return [
        *(make(spec) for spec in RESOURCES),
        dlt.resource(
            events,
            name="events",
            primary_key="id",
            write_disposition="merge",
            columns={
                **contracts.load("raw_stripe", "events").dlt_columns(),
                "data": {"data_type": "json"},
            },
        ),
    ]
