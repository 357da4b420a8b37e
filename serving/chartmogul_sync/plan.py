"""What a run must send, decided from the export tables and the state alone (no request):
for each object, create, update, delete and re-import, add transactions, cancel, or nothing;
refused records and parked objects are set aside here. A dry run prints this plan; a run
carries it out (sync.py).

An object is held by ChartMogul when its state has a `content_hash` (what was sent). It is
new when it has none, changed when the hash differs. An invoice whose header or lines
changed, or one of whose sent transactions changed or went, is deleted and imported again
(never doubled); one whose only change is new transactions gets them one POST each. An
invoice that left the export is deleted; a cancellation that left it is taken back (an
empty `cancellation_dates`). A subscription whose invoices are re-imported may come back
as a new ChartMogul subscription, so its cancellation is sent again.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from .exports import SyncInputs
from .payloads import (
    CANCELLATION,
    CUSTOMER,
    DATA_SOURCE,
    INVOICE,
    PLAN,
    TRANSACTION,
    Outgoing,
    build_cancellations,
    build_customers,
    build_invoices,
    build_plans,
    cancellation_body,
    content_hash,
    customer_create_body,
    customer_update_body,
    invoice_body,
    plan_create_body,
    plan_update_body,
    transaction_body,
)
from .report import SyncReport
from .settings import SyncSettings
from .state import PARKED, SENT, StateBook, StateRow


@dataclass
class Objects:
    """Everything the export tables say ChartMogul should hold, by external id."""

    plans: dict[str, Outgoing]
    customers: dict[str, Outgoing]
    invoices: dict[str, Outgoing]
    transactions: list[Outgoing]
    cancellations: dict[str, Outgoing]
    # the valid transactions of each invoice (sent with it, or one POST each later)
    transactions_of: dict[str, list[Outgoing]] = field(default_factory=dict)
    invoices_of_subscription: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, inputs: SyncInputs, settings: SyncSettings) -> Objects:
        invoices, transactions = build_invoices(
            inputs.rows("invoices"), inputs.rows("line_items"), inputs.rows("transactions")
        )
        objects = cls(
            plans={o.external_id: o for o in build_plans(inputs.rows("plans"))},
            customers={
                o.external_id: o
                for o in build_customers(
                    inputs.rows("customers"), require_email=settings.require_email
                )
            },
            invoices={o.external_id: o for o in invoices},
            transactions=transactions,
            cancellations={
                o.external_id: o for o in build_cancellations(inputs.rows("cancellations"))
            },
        )
        for transaction in transactions:
            if transaction.problem is None:
                objects.transactions_of.setdefault(transaction.owner or "", []).append(transaction)
        subscriptions: dict[str, set[str]] = defaultdict(set)
        for invoice in invoices:
            for line in invoice.content["line_items"]:
                if line.get("subscription_external_id"):
                    subscriptions[line["subscription_external_id"]].add(invoice.external_id)
        objects.invoices_of_subscription = dict(subscriptions)
        return objects

    def invoice_transactions(self, invoice_id: str) -> list[Outgoing]:
        return self.transactions_of.get(invoice_id, [])

    def attempt_hash(self, outgoing: Outgoing) -> str:
        """What a parked object must change to be tried again: an invoice with its
        transactions, anything else its content."""
        if outgoing.object_type != INVOICE:
            return outgoing.hash
        return content_hash(
            {
                "invoice": outgoing.hash,
                "transactions": sorted(
                    t.hash for t in self.invoice_transactions(outgoing.external_id)
                ),
            }
        )


@dataclass
class InvoiceWork:
    """One customer's invoice requests."""

    creates: list[Outgoing] = field(default_factory=list)
    reimports: list[tuple[Outgoing, str]] = field(default_factory=list)  # (invoice, uuid held)
    transactions: list[tuple[Outgoing, str, list[Outgoing]]] = field(default_factory=list)
    deletes: list[tuple[str, str]] = field(default_factory=list)  # (external id, uuid held)

    def requests(self, batch_size: int) -> int:
        imports = len(self.creates) + len(self.reimports)
        return (
            len(self.deletes)
            + len(self.reimports)
            + math.ceil(imports / batch_size)
            + sum(len(t) for _, _, t in self.transactions)
        )


@dataclass
class CancellationWork:
    """A subscription's cancellation dates to set: `uuid` None when it must be looked up
    (in the customer's imported subscriptions); `uncancel` when they are to be cleared."""

    outgoing: Outgoing
    uuid: str | None
    action: str  # "create" | "update" | "uncancel"


@dataclass
class Work:
    plan_creates: list[Outgoing] = field(default_factory=list)
    plan_updates: list[tuple[Outgoing, str]] = field(default_factory=list)
    customer_creates: list[Outgoing] = field(default_factory=list)
    customer_updates: list[tuple[Outgoing, str]] = field(default_factory=list)
    invoices: dict[str, InvoiceWork] = field(default_factory=lambda: defaultdict(InvoiceWork))
    cancellations: dict[str, list[CancellationWork]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # the state's transactions of each invoice (forgotten when it is re-imported)
    sent_transactions_of: dict[str, list[str]] = field(default_factory=dict)
    planned: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def requests(self, settings: SyncSettings, data_source_known: bool) -> int:
        """About how many requests carrying the plan out takes (no retries counted)."""
        count = len(self.plan_creates) + len(self.plan_updates)
        count += len(self.customer_creates) + len(self.customer_updates)
        count += sum(w.requests(settings.batch_size) for w in self.invoices.values())
        for items in self.cancellations.values():
            count += len(items) + (1 if any(i.uuid is None for i in items) else 0)
        if count and not data_source_known:
            count += 2  # find it, create it
        return count

    @property
    def empty(self) -> bool:
        return not (
            self.plan_creates
            or self.plan_updates
            or self.customer_creates
            or self.customer_updates
            or self.invoices
            or self.cancellations
        )


def _held(row: StateRow | None) -> TypeGuard[StateRow]:
    """ChartMogul holds the object (what was sent is recorded)."""
    return row is not None and row.content_hash is not None


def plan_work(
    objects: Objects, book: StateBook, settings: SyncSettings, report: SyncReport
) -> Work:
    """Decide every object's action. Refused, parked and unchanged objects are counted in
    `report` (and refused ones recorded in `book`) here."""
    work = Work()

    def set_aside(outgoing: Outgoing) -> bool:
        """Refused or parked: counted, not sent."""
        row = book.get(outgoing.object_type, outgoing.external_id)
        attempt = objects.attempt_hash(outgoing)
        if outgoing.problem:
            book.refused(
                outgoing.object_type,
                outgoing.external_id,
                outgoing.problem,
                attempt,
                outgoing.owner,
            )
            report.add(outgoing.object_type, "refused")
            report.error(
                outgoing.object_type, outgoing.external_id, outgoing.problem, kind="refused"
            )
            work.planned[outgoing.object_type]["refused"] += 1
            return True
        if (
            row is not None
            and row.status == PARKED
            and row.attempted_hash == attempt
            and not settings.retry_parked
        ):
            report.add(outgoing.object_type, "parked")
            work.planned[outgoing.object_type]["parked"] += 1
            return True
        return False

    def unchanged(outgoing: Outgoing) -> None:
        report.add(outgoing.object_type, "unchanged")
        work.planned[outgoing.object_type]["unchanged"] += 1
        row = book.get(outgoing.object_type, outgoing.external_id)
        if row is not None and row.status != SENT:  # it failed before, but what is held is right
            book.sent(
                outgoing.object_type,
                outgoing.external_id,
                row.chartmogul_uuid,
                outgoing.hash,
                outgoing.owner,
            )

    # plans and customers: create or update
    for objects_of, creates, updates in (
        (objects.plans, work.plan_creates, work.plan_updates),
        (objects.customers, work.customer_creates, work.customer_updates),
    ):
        for outgoing in objects_of.values():
            if set_aside(outgoing):
                continue
            row = book.get(outgoing.object_type, outgoing.external_id)
            if not _held(row) or not row.chartmogul_uuid:
                creates.append(outgoing)
                work.planned[outgoing.object_type]["create"] += 1
            elif row.content_hash != outgoing.hash:
                updates.append((outgoing, row.chartmogul_uuid))
                work.planned[outgoing.object_type]["update"] += 1
            else:
                unchanged(outgoing)

    # transactions: refused ones are set aside on their own
    for transaction in objects.transactions:
        if transaction.problem:
            set_aside(transaction)
    sent_transactions: dict[str, list] = defaultdict(list)
    for row in book.rows(TRANSACTION):
        if _held(row) and row.owner_external_id:
            sent_transactions[row.owner_external_id].append(row)
    work.sent_transactions_of = {
        invoice: [r.external_id for r in rows] for invoice, rows in sent_transactions.items()
    }

    def coming(object_type: str, creates: list[Outgoing]) -> set[str]:
        """What ChartMogul holds or gets this run (an invoice needs its customer, plans)."""
        held = {r.external_id for r in book.rows(object_type) if _held(r) and r.chartmogul_uuid}
        return held | {o.external_id for o in creates}

    customers_coming = coming(CUSTOMER, work.customer_creates)
    plans_coming = coming(PLAN, work.plan_creates)

    def plan_invoice(outgoing: Outgoing, action: str, transactions: int) -> None:
        customer_ready = (outgoing.owner or "") in customers_coming
        if not customer_ready or not set(outgoing.needs) <= plans_coming:
            action = "blocked"  # tried, and recorded as waiting for its customer or plan
        work.planned[INVOICE][action] += 1
        if action != "blocked":
            work.planned[TRANSACTION]["create"] += transactions

    touched_subscriptions: set[str] = set()
    for outgoing in objects.invoices.values():
        customer = outgoing.owner or ""
        transactions = objects.invoice_transactions(outgoing.external_id)
        if set_aside(outgoing):
            continue  # its transactions wait for it
        row = book.get(INVOICE, outgoing.external_id)
        if not _held(row) or not row.chartmogul_uuid:
            work.invoices[customer].creates.append(outgoing)
            plan_invoice(outgoing, "create", len(transactions))
            continue
        held = {r.external_id: r for r in sent_transactions.get(outgoing.external_id, [])}
        ours = {t.external_id: t for t in transactions}
        changed = any(held[t].content_hash != ours[t].hash for t in ours if t in held)
        gone = set(held) - set(ours)
        if row.content_hash != outgoing.hash or changed or gone:
            work.invoices[customer].reimports.append((outgoing, row.chartmogul_uuid))
            plan_invoice(outgoing, "delete+reimport", 0)
            touched_subscriptions.update(_subscriptions(outgoing))
            continue
        new = [t for t in transactions if t.external_id not in held]
        if new:
            work.invoices[customer].transactions.append((outgoing, row.chartmogul_uuid, new))
            work.planned[INVOICE]["add-transactions"] += 1
            work.planned[TRANSACTION]["create"] += len(new)
            report.add(INVOICE, "unchanged")
        else:
            unchanged(outgoing)
        for transaction_id in set(ours) & set(held):
            unchanged(ours[transaction_id])

    # invoices that left the export: deleted from ChartMogul (a void)
    invoice_rows = [r for r in book.rows(INVOICE) if _held(r) and r.chartmogul_uuid]
    gone_invoices = [r for r in invoice_rows if r.external_id not in objects.invoices]
    if gone_invoices and not objects.invoices:
        # an empty export is a failed build, not every invoice voided: delete nothing
        report.error(INVOICE, "*", "the invoice export is empty: no invoice deleted", "kept")
    else:
        for row in gone_invoices:
            if row.status == PARKED and not settings.retry_parked:
                report.add(INVOICE, "parked")
                work.planned[INVOICE]["parked"] += 1
                continue
            work.invoices[row.owner_external_id or ""].deletes.append(
                (row.external_id, row.chartmogul_uuid or "")
            )
            work.planned[INVOICE]["delete"] += 1

    for outgoing in objects.cancellations.values():
        if set_aside(outgoing):
            continue
        row = book.get(CANCELLATION, outgoing.external_id)
        touched = outgoing.external_id in touched_subscriptions
        if not _held(row):
            known = row.chartmogul_uuid if row and not touched else None
            item = CancellationWork(outgoing, known, "create")
        elif row.content_hash != outgoing.hash or touched:
            item = CancellationWork(outgoing, None if touched else row.chartmogul_uuid, "update")
        else:
            unchanged(outgoing)
            continue
        work.cancellations[outgoing.owner or ""].append(item)
        work.planned[CANCELLATION]["cancel"] += 1
    for row in book.rows(CANCELLATION):
        if _held(row) and row.external_id not in objects.cancellations:
            content: dict[str, Any] = {
                "subscription_external_id": row.external_id,
                "customer_external_id": row.owner_external_id,
                "cancellation_dates": [],
            }
            taken_back = Outgoing(
                CANCELLATION, row.external_id, content, owner=row.owner_external_id
            )
            uuid = None if row.external_id in touched_subscriptions else row.chartmogul_uuid
            work.cancellations[row.owner_external_id or ""].append(
                CancellationWork(taken_back, uuid, "uncancel")
            )
            work.planned[CANCELLATION]["cancel"] += 1
    return work


def _subscriptions(invoice: Outgoing) -> set[str]:
    return {
        line["subscription_external_id"]
        for line in invoice.content["line_items"]
        if line.get("subscription_external_id")
    }


# ---------------------------------------------------------------- a dry run's samples


def sample_requests(
    work: Work, objects: Objects, book: StateBook, settings: SyncSettings, limit: int = 6
) -> list[tuple[str, dict]]:
    """A few of the requests the plan makes, as they would be sent; uuids ChartMogul has
    not given yet are shown as placeholders."""

    def uuid_of(object_type: str, external_id: str) -> str:
        row = book.get(object_type, external_id)
        return (row.chartmogul_uuid if row else None) or f"<uuid of {object_type} {external_id}>"

    data_source = uuid_of(DATA_SOURCE, settings.data_source_name)
    samples: list[tuple[str, dict]] = []
    if work.plan_creates:
        samples.append(
            ("POST /v1/plans", plan_create_body(work.plan_creates[0].content, data_source))
        )
    if work.plan_updates:
        outgoing, uuid = work.plan_updates[0]
        samples.append((f"PATCH /v1/plans/{uuid}", plan_update_body(outgoing.content)))
    if work.customer_creates:
        body = customer_create_body(work.customer_creates[0].content, data_source)
        samples.append(("POST /v1/customers", body))
    if work.customer_updates:
        outgoing, uuid = work.customer_updates[0]
        samples.append((f"PATCH /v1/customers/{uuid}", customer_update_body(outgoing.content)))
    for customer, invoices in work.invoices.items():
        pending = invoices.creates or [o for o, _ in invoices.reimports]
        if pending:
            plan_uuids = {p: uuid_of(PLAN, p) for o in pending for p in o.needs}
            bodies: list[Any] = [
                invoice_body(
                    o.content,
                    [t.content for t in objects.invoice_transactions(o.external_id)],
                    plan_uuids,
                )
                for o in pending[: settings.batch_size]
            ]
            samples.append(
                (
                    f"POST /v1/import/customers/{uuid_of(CUSTOMER, customer)}/invoices",
                    {"invoices": bodies},
                )
            )
            break
    for invoices in work.invoices.values():
        if invoices.transactions:
            _, uuid, transactions = invoices.transactions[0]
            samples.append(
                (
                    f"POST /v1/import/invoices/{uuid}/transactions",
                    transaction_body(transactions[0].content),
                )
            )
            break
    for items in work.cancellations.values():
        item = items[0]
        uuid = item.uuid or f"<uuid of subscription {item.outgoing.external_id}>"
        samples.append(
            (f"PATCH /v1/import/subscriptions/{uuid}", cancellation_body(item.outgoing.content))
        )
        break
    return samples[:limit]
