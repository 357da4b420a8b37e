"""Resources, and the compact sorted tables that hold a fixture folder in memory.

Each object is kept as the JSON bytes that the stand-in serves, plus a few index columns
(id, created, filter fields). Objects are parsed again only when a response has to change
them (expand, sub-list paging), so list pages are spliced from bytes.
"""

from __future__ import annotations

import bisect
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

# Stripe embeds at most this many items of a nested list (invoice lines, subscription items).
EMBED_LIMIT = 10
EVENTS_WINDOW_SECONDS = 30 * 86400
# Upper bound on cached positions over all filtered views of one table (4 bytes each).
VIEW_CACHE_BUDGET = 16_000_000
VIEW_CACHE_MAX_ENTRIES = 4096


def ref_id(value: Any) -> Any:
    """The id of a reference that may be an id string or an expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value


def _get(key: str) -> Callable[[dict], Any]:
    return lambda obj: obj.get(key)


def _get_ref(key: str) -> Callable[[dict], Any]:
    return lambda obj: ref_id(obj.get(key))


def _invoice_subscription(obj: dict) -> Any:
    details = (obj.get("parent") or {}).get("subscription_details") or {}
    # Older API versions carried the subscription at the top level.
    return ref_id(details.get("subscription") or obj.get("subscription"))


def _subscription_prices(obj: dict) -> tuple:
    items = (obj.get("items") or {}).get("data") or []
    return tuple({ref_id(item.get("price")) for item in items if isinstance(item, dict)})


@dataclass(frozen=True)
class ResourceSpec:
    name: str  # path segment: /v1/<name>
    object: str  # the `object` value, also used in "No such <object>" messages
    # Filter columns: name -> extractor. A tuple value means "multi-valued".
    columns: dict[str, Callable[[dict], Any]] = field(default_factory=dict)
    sublist: str | None = None  # key of an embedded list that Stripe truncates
    sublist_url: str | None = None  # its `url`, formatted with the parent id

    @property
    def noun(self) -> str:
        return self.object.replace("_", " ")


RESOURCES: dict[str, ResourceSpec] = {
    spec.name: spec
    for spec in (
        ResourceSpec("customers", "customer", {"email": _get("email")}),
        ResourceSpec("products", "product", {"active": _get("active")}),
        ResourceSpec(
            "prices",
            "price",
            {
                "active": _get("active"),
                "product": _get_ref("product"),
                "type": _get("type"),
                "currency": _get("currency"),
            },
        ),
        ResourceSpec("coupons", "coupon"),
        ResourceSpec(
            "subscriptions",
            "subscription",
            {
                "customer": _get_ref("customer"),
                "status": _get("status"),
                "price": _subscription_prices,
            },
            sublist="items",
            sublist_url="/v1/subscription_items?subscription={id}",
        ),
        ResourceSpec(
            "invoices",
            "invoice",
            {
                "customer": _get_ref("customer"),
                "status": _get("status"),
                "subscription": _invoice_subscription,
            },
            sublist="lines",
            sublist_url="/v1/invoices/{id}/lines",
        ),
        ResourceSpec(
            "charges",
            "charge",
            {"customer": _get_ref("customer"), "payment_intent": _get_ref("payment_intent")},
            sublist="refunds",
            sublist_url="/v1/charges/{id}/refunds",
        ),
        ResourceSpec(
            "refunds",
            "refund",
            {
                "charge": _get_ref("charge"),
                "payment_intent": _get_ref("payment_intent"),
                "customer": _get_ref("customer"),
            },
        ),
        ResourceSpec(
            "credit_notes",
            "credit_note",
            {"customer": _get_ref("customer"), "invoice": _get_ref("invoice")},
            sublist="lines",
            sublist_url="/v1/credit_notes/{id}/lines",
        ),
        ResourceSpec("events", "event", {"type": _get("type")}),
    )
}


@dataclass(frozen=True)
class Cond:
    """One filter on a column: value in `include`, or not in `exclude`, or a prefix match.

    Multi-valued columns (tuples) match when any element matches.
    """

    column: str
    include: frozenset | None = None
    exclude: frozenset | None = None
    prefixes: tuple[str, ...] = ()

    def match_one(self, value: Any) -> bool:
        if self.exclude is not None:
            return value not in self.exclude
        if self.include is not None and value in self.include:
            return True
        return isinstance(value, str) and value.startswith(self.prefixes)

    def matches(self, value: Any) -> bool:
        if isinstance(value, tuple):
            return any(self.match_one(v) for v in value)
        return self.match_one(value)

    @property
    def exact(self) -> bool:
        return self.include is not None and self.exclude is None and not self.prefixes


class Table:
    """One resource, ordered newest first (created desc, then id desc).

    The served JSON of every object lives in one buffer (the fixture file as read), found by
    offset and length; objects that had to be rewritten at load time are in `patched`.
    """

    def __init__(self, spec: ResourceSpec) -> None:
        self.spec = spec
        self.buffer = b""
        self.offsets = array("Q")
        self.lengths = array("I")
        self.patched: dict[int, bytes] = {}  # position -> served JSON
        self.ids: list[str] = []
        self.pos: dict[str, int] = {}
        # -created, ascending, so that bisect finds created ranges.
        self.neg_created = array("q")
        self.columns: dict[str, list[Any]] = {name: [] for name in spec.columns}
        # Full item lists (JSON bytes) of objects whose embedded list had to be truncated.
        self.overflow: dict[str, bytes] = {}
        # Oldest `created` that is still visible (events: 30-day window).
        self.min_created: int | None = None
        self._postings: dict[str, dict[Any, array]] = {}
        self._views: OrderedDict[tuple[Cond, ...], Sequence[int]] = OrderedDict()
        self._view_cost = 0
        # Several servers (threads) may share one Store: the caches need a lock.
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self.ids)

    def raw(self, position: int) -> bytes:
        patched = self.patched.get(position)
        if patched is not None:
            return patched
        offset = self.offsets[position]
        return self.buffer[offset : offset + self.lengths[position]]

    def created_at(self, position: int) -> int:
        return -self.neg_created[position]

    def visible(self, position: int) -> bool:
        return self.min_created is None or self.created_at(position) >= self.min_created

    def find(self, object_id: str) -> int | None:
        position = self.pos.get(object_id)
        if position is None or not self.visible(position):
            return None
        return position

    def created_range(self, gte: int | None = None, lte: int | None = None) -> tuple[int, int]:
        """Half-open position range of objects with gte <= created <= lte."""
        if self.min_created is not None:
            gte = self.min_created if gte is None else max(gte, self.min_created)
        lo = 0 if lte is None else bisect.bisect_left(self.neg_created, -lte)
        hi = len(self) if gte is None else bisect.bisect_right(self.neg_created, -gte)
        return lo, max(lo, hi)

    # -- filtered views -------------------------------------------------------------

    def postings(self, column: str) -> dict[Any, array]:
        """value -> ascending positions; built once per column on first use."""
        index = self._postings.get(column)
        if index is None:
            lists: dict[Any, array] = {}
            for position, value in enumerate(self.columns[column]):
                for v in value if isinstance(value, tuple) else (value,):
                    bucket = lists.get(v)
                    if bucket is None:
                        bucket = lists[v] = array("I")
                    bucket.append(position)
            index = self._postings[column] = lists
        return index

    def _matching_values(self, cond: Cond, index: dict[Any, array]) -> list[Any]:
        if cond.exact:
            return [v for v in cond.include or () if v in index]
        # Few distinct values for the non-exact filters (status, type): match on keys.
        return [v for v in index if cond.match_one(v)]

    @staticmethod
    def _union(index: dict[Any, array], values: list[Any]) -> Sequence[int]:
        if not values:
            return array("I")
        if len(values) == 1:
            return index[values[0]]
        return array("I", sorted(set(chain.from_iterable(index[v] for v in values))))

    def view(self, conds: tuple[Cond, ...]) -> Sequence[int] | None:
        """Ascending positions matching all conds (None = every object). Cached (LRU)."""
        if not conds:
            return None
        with self._lock:
            return self._view(conds)

    def _view(self, conds: tuple[Cond, ...]) -> Sequence[int]:
        cached = self._views.get(conds)
        if cached is not None:
            self._views.move_to_end(conds)
            return cached
        # Start from the cond with the fewest candidates (sized from the postings, without
        # building the others: "status not canceled" is large, "customer = X" tiny).
        plans = []
        for cond in conds:
            index = self.postings(cond.column)
            values = self._matching_values(cond, index)
            plans.append((sum(len(index[v]) for v in values), cond, index, values))
        plans.sort(key=lambda plan: plan[0])
        result = self._union(plans[0][2], plans[0][3])
        if len(plans) > 1:
            checks = [(self.columns[cond.column], cond) for _, cond, _, _ in plans[1:]]
            result = array("I", (p for p in result if all(c.matches(col[p]) for col, c in checks)))
        self._views[conds] = result
        self._view_cost += len(result)
        while self._views and (
            self._view_cost > VIEW_CACHE_BUDGET or len(self._views) > VIEW_CACHE_MAX_ENTRIES
        ):
            _, evicted = self._views.popitem(last=False)
            self._view_cost -= len(evicted)
        return result


class Store:
    """All tables of one fixture folder."""

    def __init__(self, tables: dict[str, Table], as_of: int, source: Path | None = None) -> None:
        self.tables = tables
        self.as_of = as_of
        self.source = source
        # subscription item id -> subscription id, for GET /v1/subscription_items/<id>.
        self.subscription_item_parent: dict[str, str] = {}
        events = tables["events"]
        events.min_created = as_of - EVENTS_WINDOW_SECONDS

    def counts(self) -> dict[str, int]:
        return {name: len(table) for name, table in self.tables.items()}

    def resolve(self, object_id: str) -> bytes | None:
        """Served JSON of any stored object by id (used by expand)."""
        for table in self.tables.values():
            position = table.find(object_id)
            if position is not None:
                return table.raw(position)
        return None
