"""Parse Stripe's bracket-encoded query strings into list requests."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .errors import StripeError, invalid_param, unknown_param
from .fixtures import Cond

DEFAULT_LIMIT = 10
MAX_LIMIT = 100

SUBSCRIPTION_STATUSES = frozenset(
    {
        "active",
        "all",
        "canceled",
        "ended",
        "incomplete",
        "incomplete_expired",
        "past_due",
        "paused",
        "trialing",
        "unpaid",
    }
)
ENDED_SUBSCRIPTION = frozenset({"canceled", "incomplete_expired"})
INVOICE_STATUSES = frozenset({"draft", "open", "paid", "uncollectible", "void"})

# Filters each list endpoint accepts besides limit, cursors, created and expand.
STRING_FILTERS: dict[str, frozenset[str]] = {
    "customers": frozenset({"email"}),
    "products": frozenset(),
    "prices": frozenset({"product", "type", "currency"}),
    "coupons": frozenset(),
    "subscriptions": frozenset({"customer", "price"}),
    "invoices": frozenset({"customer", "subscription"}),
    "charges": frozenset({"customer", "payment_intent"}),
    "refunds": frozenset({"charge", "payment_intent", "customer"}),
    "credit_notes": frozenset({"customer", "invoice"}),
    "events": frozenset(),
}
SPECIAL_FILTERS: dict[str, frozenset[str]] = {
    "products": frozenset({"active"}),
    "prices": frozenset({"active"}),
    "subscriptions": frozenset({"status"}),
    "invoices": frozenset({"status"}),
    "events": frozenset({"type", "types"}),
}

_ARRAY_KEY = re.compile(r"^([a-z_]+)\[(\d*)\]$")
_CREATED_OPS = ("gt", "gte", "lt", "lte")


@dataclass
class ListQuery:
    limit: int = DEFAULT_LIMIT
    starting_after: str | None = None
    ending_before: str | None = None
    created_gte: int | None = None
    created_lte: int | None = None
    filters: dict[str, str] = field(default_factory=dict)
    arrays: dict[str, list[str]] = field(default_factory=dict)
    expand: list[str] = field(default_factory=list)


def _integer(value: str, param: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise invalid_param(
            f"Invalid integer: {value}", param, code="parameter_invalid_integer"
        ) from None


def _boolean(value: str, param: str) -> bool:
    if value in ("true", "false"):
        return value == "true"
    raise invalid_param(f"Invalid boolean: {value}", param)


def parse_common(
    items: Iterable[tuple[str, str]],
    allowed: frozenset[str] = frozenset(),
    arrays: frozenset[str] = frozenset(),
) -> ListQuery:
    """Paging, created range and expand, plus `allowed` filters and `arrays` (`types[0]=`)."""
    query = ListQuery()
    for key, value in items:
        array_match = _ARRAY_KEY.match(key)
        if key == "limit":
            limit = _integer(value, "limit")
            if not 1 <= limit <= MAX_LIMIT:
                bound = "greater than or equal to 1" if limit < 1 else "less than or equal to 100"
                raise invalid_param(
                    f"This value must be {bound}.", "limit", code="parameter_invalid_integer"
                )
            query.limit = limit
        elif key in ("starting_after", "ending_before"):
            setattr(query, key, value)
        elif key == "created":
            exact = _integer(value, "created")
            query.created_gte = _tighter(query.created_gte, exact, max)
            query.created_lte = _tighter(query.created_lte, exact, min)
        elif key.startswith("created[") and key[8:-1] in _CREATED_OPS and key.endswith("]"):
            op = key[8:-1]
            bound = _integer(value, key)
            # Normalize to inclusive bounds: created is an integer.
            if op in ("gt", "gte"):
                query.created_gte = _tighter(query.created_gte, bound + (op == "gt"), max)
            else:
                query.created_lte = _tighter(query.created_lte, bound - (op == "lt"), min)
        elif key == "expand" or (array_match and array_match.group(1) == "expand"):
            query.expand.append(value)
        elif array_match and array_match.group(1) in arrays:
            query.arrays.setdefault(array_match.group(1), []).append(value)
        elif key in allowed:
            query.filters[key] = value
        else:
            raise unknown_param(key)
    if query.starting_after is not None and query.ending_before is not None:
        raise StripeError(
            400,
            "You may only specify one of these parameters: ending_before, starting_after.",
            code="parameter_invalid",
            param="ending_before",
        )
    return query


def _tighter(current: int | None, new: int, pick) -> int:
    return new if current is None else pick(current, new)


def _event_type_cond(patterns: list[str]) -> Cond:
    exact = frozenset(p for p in patterns if not p.endswith("*"))
    prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))
    return Cond("type", include=exact, prefixes=prefixes)


def parse_list(resource: str, items: Iterable[tuple[str, str]]) -> tuple[ListQuery, tuple]:
    """Parse a list request; returns the query and the filter conds (a cache key)."""
    plain = STRING_FILTERS[resource]
    special = SPECIAL_FILTERS.get(resource, frozenset())
    arrays = frozenset({"types"}) if resource == "events" else frozenset()
    query = parse_common(items, plain | special, arrays)
    conds: list[Cond] = []
    for name, value in query.filters.items():
        if name in plain:
            conds.append(Cond(name, include=frozenset({value})))
    filters = query.filters

    if resource in ("products", "prices") and "active" in filters:
        conds.append(Cond("active", include=frozenset({_boolean(filters["active"], "active")})))
    elif resource == "prices":
        # Stripe lists active prices only unless `active` is given.
        conds.append(Cond("active", include=frozenset({True})))

    if resource == "subscriptions":
        status = filters.get("status")
        if status is not None and status not in SUBSCRIPTION_STATUSES:
            raise invalid_param(
                f"Invalid status: must be one of {', '.join(sorted(SUBSCRIPTION_STATUSES))}",
                "status",
            )
        if status is None:
            conds.append(Cond("status", exclude=ENDED_SUBSCRIPTION))
        elif status == "ended":
            conds.append(Cond("status", include=ENDED_SUBSCRIPTION))
        elif status != "all":
            conds.append(Cond("status", include=frozenset({status})))

    if resource == "invoices" and "status" in filters:
        status = filters["status"]
        if status not in INVOICE_STATUSES:
            raise invalid_param(
                f"Invalid status: must be one of {', '.join(sorted(INVOICE_STATUSES))}",
                "status",
            )
        conds.append(Cond("status", include=frozenset({status})))

    if resource == "events":
        if "type" in filters and "types" in query.arrays:
            raise invalid_param(
                "You may only specify one of these parameters: type, types.", "types"
            )
        if "types" in filters:  # `types=x` without brackets
            query.arrays["types"] = [filters["types"]]
        patterns = query.arrays.get("types") or ([filters["type"]] if "type" in filters else [])
        if patterns:
            conds.append(_event_type_cond(patterns))

    # A canonical order makes equal filters share one cached view.
    return query, tuple(sorted(conds, key=lambda c: c.column))
