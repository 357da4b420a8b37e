"""The Stripe customer and what it is billed: line amounts (discount, tax, MRR), invoice
lines, invoices with their charges, refunds and credit notes, and one-off invoices.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from .. import stripe_shapes as shapes
from ..mrr import monthly, percent_discount, tax_amount
from ..timeutil import DAY
from .events import StripeEvents

if TYPE_CHECKING:
    from .stripe_subscriptions import SubState


class StripeInvoicing(StripeEvents):
    delinquent: bool  # set by `run`; a failed payment left unrecovered at the cutoff
    customer_created: int | None  # set by `run`; None until the account becomes a customer

    def _ensure_customer(self, ts: int) -> None:
        if self.customer_created is None:
            self.customer_created = ts
            self._event(ts, "customer.created", self.customer_id)

    def _finish_customer(self) -> None:
        if self.user_id:
            metadata = {"app_user_id": self.user_id, "app_account_id": self.account_id}
        else:
            metadata = {"crm_id": f"crm_{self.key}", "sales_owner": "enterprise-team"}
        invoices = len(self.out.stripe["invoices"])
        obj = shapes.customer(
            self.customer_id,
            self.customer_created,
            email=self.email,
            name=self.company,
            country=self.country,
            state=self.state,
            currency=self.currency,
            metadata=metadata,
            invoice_prefix=f"A{self.key}",
            next_invoice_sequence=invoices + 1,
            delinquent=self.delinquent,
            discount_obj=None,
        )
        self.objects[self.customer_id] = obj
        self.out.stripe["customers"].append(obj)

    def _customer_stub(self) -> dict:
        return {
            "id": self.customer_id,
            "email": self.email,
            "name": self.company,
            "address": shapes.address(self.country, self.state),
        }

    def _line_amounts(self, gross: int, percent_off: int | None, amount_off: int | None):
        """(discount, tax, tax included in the amount) of a line of `gross` minor units."""
        discount = 0
        if percent_off:
            discount = percent_discount(gross, percent_off)
        elif amount_off and gross > 0:
            discount = min(amount_off, gross)
        tax = inclusive_tax = 0
        if self.tax_rate and gross - discount != 0:
            tax = tax_amount(gross - discount, self.tax_rate.percentage_bp, self.tax_rate.inclusive)
            if self.tax_rate.inclusive:
                inclusive_tax = tax
        return discount, tax, inclusive_tax

    def _discount_at(self, s: SubState, at: int) -> tuple[int | None, int | None]:
        c = s.coupon
        if c is None or s.discount_start is None or at < s.discount_start:
            return None, None
        if c.duration == "once" and s.once_used:
            return None, None
        if s.discount_end is not None and at >= s.discount_end:
            return None, None
        return c.percent_off, c.amount_off

    def _item_mrr(self, s: SubState, at: int) -> Decimal:
        """The ledger value: one full period of the item as it stands at `at`."""
        gross = s.price["unit_amount"] * s.seats
        discount, _tax, inclusive_tax = self._line_amounts(gross, *self._discount_at(s, at))
        recurring = s.price["recurring"]
        return monthly(
            gross - discount - inclusive_tax, recurring["interval"], recurring["interval_count"]
        )

    def _make_line(
        self,
        invoice_id: str,
        n: int,
        s: SubState | None,
        price: dict,
        quantity: int | None,
        amount: int,
        start: int,
        end: int,
        description: str,
        proration: bool = False,
        item_id: str | None = None,
        discount: tuple[int | None, int | None] = (None, None),
        discountable: bool = True,
        invoice_item: str | None = None,
    ) -> dict:
        pct, off = discount if discountable else (None, None)
        disc, tax, inclusive_tax = self._line_amounts(abs(amount), pct, off)
        if amount < 0:  # a proration credit: its discount and tax are credited too
            disc, tax, inclusive_tax = -disc, -tax, -inclusive_tax
        discount_amounts, discounts = [], []
        if disc and s is not None and s.discount_id:
            discount_amounts = [{"amount": disc, "discount": s.discount_id}]
            discounts = [s.discount_id]
        taxes = []
        if self.tax_rate and amount - disc != 0:
            taxes = [shapes.line_tax(tax, amount - disc - inclusive_tax, self.tax_rate)]
        return shapes.invoice_line(
            f"il_{invoice_id[3:]}{n:02d}",
            invoice_id,
            amount=amount,
            currency=self.currency,
            description=description,
            period_start=start,
            period_end=end,
            quantity=quantity,
            price_obj=price,
            subscription_id=s.sub_id if s else None,
            subscription_item_id=item_id,
            proration=proration,
            invoice_item_id=invoice_item,
            discount_amounts=discount_amounts,
            discounts=discounts,
            taxes=taxes,
            discountable=discountable,
        )

    def _emit_invoice(
        self,
        invoice_id: str,
        created: int,
        lines: list[dict],
        billing_reason: str,
        s: SubState | None,
        period: tuple[int, int],
        fail_plan: str | None = None,
        recover_attempt: int = 1,
        refund_plan: tuple | None = None,
    ) -> dict:
        """Render an invoice with its charges (and a refund when planned); payment facts."""
        pi = f"pi_{invoice_id[3:]}"
        attempts: list[tuple[int, bool]] = []
        positive = sum(line["amount"] for line in lines) > 0
        if positive and fail_plan is None:
            attempts = [(created + 3600, True)]
        elif positive:
            for i, offset in enumerate((3600, 3 * DAY, 8 * DAY, 15 * DAY)):
                ok = fail_plan == "recover" and i == recover_attempt
                attempts.append((created + offset, ok))
                if ok:
                    break
        seen = [(t, ok) for t, ok in attempts if t < self.ctx.cutoff]
        paid_at = next((t for t, ok in seen if ok), None)
        if not positive:
            status, paid_at = "paid", created
        elif paid_at is not None:
            status = "paid"
        elif len(seen) == len(attempts):
            status = "uncollectible"
        else:
            status = "open"
        next_attempt = None
        if status == "open":
            next_attempt = next(t for t, _ in attempts if t >= self.ctx.cutoff)
        has_discount = (
            s is not None and s.discount_id and any(line["discount_amounts"] for line in lines)
        )
        inv = shapes.invoice(
            invoice_id,
            self._customer_stub(),
            created,
            number=f"A{self.key}-{invoice_id[10:].upper()}",
            currency=self.currency,
            lines=lines,
            billing_reason=billing_reason,
            subscription_id=s.sub_id if s else None,
            period_start=period[0],
            period_end=period[1],
            status=status,
            discounts=[s.discount_id] if has_discount else [],
            attempt_count=len(seen),
            paid_at=paid_at,
            next_payment_attempt=next_attempt,
            payment_intent=pi if attempts else None,
        )
        if status == "uncollectible":
            inv["status_transitions"]["marked_uncollectible_at"] = attempts[-1][0]
            inv["auto_advance"] = False
        self.out.stripe["invoices"].append(inv)
        self.objects[invoice_id] = inv
        self._event(created, "invoice.created", invoice_id)
        self._event(created, "invoice.finalized", invoice_id)
        # the customer's next_invoice_sequence moved on
        self._event(created, "customer.updated", self.customer_id)
        paid_charge = None
        for n, (t, ok) in enumerate(seen):
            ch = shapes.charge(
                f"ch_{invoice_id[3:]}{n}",
                self._customer_stub(),
                t,
                amount=inv["amount_due"],
                currency=self.currency,
                paid=ok,
                payment_intent=pi,
                description=f"Invoice {inv['number']}",
                failure_code=None if ok else "card_declined",
            )
            self.out.stripe["charges"].append(ch)
            self.objects[ch["id"]] = ch
            self._event(t, "charge.succeeded" if ok else "charge.failed", ch["id"])
            self._event(t, "invoice.paid" if ok else "invoice.payment_failed", invoice_id)
            if not ok or n > 0:  # delinquency of the customer flips
                self._event(t, "customer.updated", self.customer_id, {"delinquent": ok})
            if ok:
                paid_charge = ch
                self._stat("stripe_collected", t, self.currency, inv["amount_due"])
                self._stat("stripe_charges", t, self.currency, 1)
        if status == "uncollectible":
            self._event(attempts[-1][0], "invoice.marked_uncollectible", invoice_id)
            self._event(attempts[-1][0], "customer.updated", self.customer_id)
        if paid_charge and refund_plan:
            days, full, credit_note = refund_plan
            amount = paid_charge["amount"] if full else paid_charge["amount"] // 2
            self._refund(
                inv,
                paid_charge,
                paid_charge["created"] + days * DAY,
                amount,
                credit_note,
                "",
                "product_unsatisfactory",
                "Refund at customer request",
            )
        return {
            "invoice": inv,
            "status": status,
            "attempts": attempts,
            "paid_at": paid_at,
            "charge": paid_charge,
        }

    def _refund(
        self,
        inv: dict,
        ch: dict,
        at: int,
        amount: int,
        credit_note: bool,
        suffix: str,
        reason: str,
        memo: str,
    ) -> None:
        amount = min(amount, ch["amount"] - ch["amount_refunded"])
        if amount <= 0 or not self._before_cutoff(at):
            return
        ref = shapes.refund(f"re_{inv['id'][3:]}{suffix}", ch, at, amount, "requested_by_customer")
        self.out.stripe["refunds"].append(ref)
        self.objects[ref["id"]] = ref
        ch["amount_refunded"] += amount
        ch["refunded"] = ch["amount_refunded"] >= ch["amount"]
        ch["refunds"]["data"].append(ref)
        self._event(at, "charge.refunded", ch["id"])
        self._stat("stripe_refunded", at, self.currency, amount)
        if credit_note:
            cn = shapes.credit_note(
                f"cn_{inv['id'][3:]}{suffix}",
                inv,
                at,
                number=f"{inv['number']}-CN{suffix.upper() or 1}",
                amount=amount,
                line=inv["lines"]["data"][0],
                reason=reason,
                refund_obj=ref,
                memo=memo,
            )
            self.out.stripe["credit_notes"].append(cn)
            self.objects[cn["id"]] = cn
            inv["post_payment_credit_notes_amount"] += amount
            self._event(at, "credit_note.created", cn["id"])
            self._event(at, "invoice.updated", inv["id"])

    def _credit_pack_invoice(self, inv_id: str, at: int, qty: int) -> None:
        price = self.pb.one_time("prod_credits", self.currency)
        line = self._make_line(
            inv_id,
            1,
            None,
            price,
            qty,
            price["unit_amount"] * qty,
            at,
            at,
            f"{qty} × Credit pack",
            invoice_item=f"ii_{inv_id[3:]}",
            discountable=False,
        )
        self._emit_invoice(inv_id, at, [line], "manual", None, (at, at))

    def _services_invoice(self, at: int) -> None:
        """Sales-led onboarding: one invoice with many one-time lines (more than 10)."""
        price = self.pb.one_time("prod_services", self.currency)
        inv_id = f"in_{self.key}SRV"
        sessions = self._rng("services").randint(11, 24)
        lines = [
            self._make_line(
                inv_id,
                n,
                None,
                price,
                1,
                price["unit_amount"],
                at,
                at,
                f"Professional services: session {n}",
                invoice_item=f"ii_{inv_id[3:]}{n:02d}",
                discountable=False,
            )
            for n in range(1, sessions + 1)
        ]
        self._emit_invoice(inv_id, at, lines, "manual", None, (at, at))
