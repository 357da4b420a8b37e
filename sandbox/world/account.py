"""One account's life: sign-up, trial, subscriptions, billing, usage and support.

Every account is simulated on its own, from random streams seeded by (world seed, account,
role), so that accounts can be generated in parallel and a later as-of date only extends
history: everything up to the earlier date comes out the same. Ids are derived from roles
(primary subscription, reactivation, second subscription...) for the same reason.

The simulator keeps its own ledger of each subscription item's MRR (`self.mrr_ledger`) from
the subscription state it decides on; the ground truth is computed from that ledger, never
from the invoices it renders.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from decimal import Decimal

from . import stripe_shapes as shapes
from .catalog import (
    CHANNELS,
    COUPONS,
    EU_VAT,
    FEATURES,
    GATEWAY_PRICES,
    INTERVALS,
    KEY_ACTION,
    MARKETS,
    PLANS,
    TAX_RATES,
    TICKET_CATEGORIES,
    TRIAL_DAYS,
    US_STATE_TAX,
    US_STATES,
    Coupon,
)
from .mrr import monthly, percent_discount, tax_amount
from .timeutil import DAY, add_months, day_of, day_text, iso

FIRST_NAMES = (
    "Amira",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jon",
    "Karim",
    "Lena",
    "Mona",
    "Nils",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
)
LAST_NAMES = (
    "Adams",
    "Barakat",
    "Chen",
    "Dubois",
    "Eriksen",
    "Fahmy",
    "Garcia",
    "Hansen",
    "Ito",
    "Jansen",
    "Khan",
    "Lopez",
    "Meyer",
    "Nasser",
    "Olsen",
    "Patel",
)
COMPANY_WORDS = ("Blue", "North", "Pixel", "Quant", "River", "Stone", "Nova", "Delta", "Orbit")
COMPANY_KINDS = ("Labs", "Analytics", "Studio", "Systems", "Works", "Cloud", "Partners")


@dataclass
class WorldContext:
    seed: int
    start_ts: int
    cutoff: int  # exclusive: the first second after the as-of date
    usage_from_ts: int
    pricebook: object
    fx: object


@dataclass
class Output:
    stripe: dict[str, list[dict]] = field(
        default_factory=lambda: {
            k: []
            for k in (
                "customers",
                "subscriptions",
                "invoices",
                "charges",
                "refunds",
                "credit_notes",
                "events",
            )
        }
    )
    app: dict[str, list[tuple]] = field(
        default_factory=lambda: {
            k: []
            for k in (
                "accounts",
                "users",
                "transactions",
                "usage_daily",
                "activation_events",
                "support_tickets",
                "nps_responses",
            )
        }
    )
    # (ts, item key, MRR in original currency, rate day) per change of an item's MRR
    mrr_ledger: list[tuple[int, str, Decimal, object]] = field(default_factory=list)
    subscriptions_truth: list[dict] = field(default_factory=list)
    customer_truth: dict = field(default_factory=dict)
    stats: list[tuple] = field(default_factory=list)  # (kind, month, key, value)


def _stable_id(prefix: str, *parts) -> str:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=12).hexdigest()
    return f"{prefix}_{digest}"


def _weighted(rng: random.Random, options: dict, weight_key="weight"):
    keys = list(options)
    return rng.choices(keys, weights=[options[k][weight_key] for k in keys])[0]


@dataclass
class SubState:
    """What a Stripe subscription is on a given day."""

    sub_id: str
    role: str
    plan: str
    interval: str
    seats: int
    price: dict
    coupon: Coupon | None
    discount_id: str | None
    discount_start: int | None
    discount_end: int | None
    item_id: str
    metered_item_id: str | None
    created: int
    status: str = "active"
    trial_start: int | None = None
    trial_end: int | None = None
    canceled_at: int | None = None
    cancel_at: int | None = None
    cancel_at_period_end: bool = False
    ended_at: int | None = None
    cancellation_reason: str | None = None
    period_start: int = 0
    period_end: int = 0
    latest_invoice: str | None = None
    once_used: bool = False
    mrr: Decimal = Decimal(0)  # the item's MRR as last booked in the ledger
    events: list = field(default_factory=list)


class AccountSimulation:
    def __init__(self, ctx: WorldContext, index: int, signup_ts: int):
        self.ctx = ctx
        self.index = index
        self.key = f"{index:07d}"
        self.signup_ts = signup_ts
        self.rng = random.Random(f"account:{ctx.seed}:{index}")
        self.out = Output()
        self.pb = ctx.pricebook
        # (ts, plan, seats, status) whenever the account's app-side state changes
        self.timeline: list[tuple[int, str, int, str]] = []
        self._draw_profile()

    # ------------------------------------------------------------------ profile
    def _draw_profile(self) -> None:
        rng = self.rng
        market = rng.choices(MARKETS, weights=[m.weight for m in MARKETS])[0]
        self.country = market.country
        self.state = rng.choice(US_STATES) if market.country == "US" else None
        self.channel = _weighted(rng, CHANNELS)
        self.utm_source, self.utm_medium = rng.choice(CHANNELS[self.channel]["utm"])
        self.utm_campaign = (
            f"{self.channel}_{day_of(self.signup_ts).strftime('%Y_q')}"
            f"{(day_of(self.signup_ts).month - 1) // 3 + 1}"
        )
        if market.gateway != "stripe":
            self.gateway = market.gateway
        elif rng.random() < market.paypal_share:
            self.gateway = "paypal"
        else:
            self.gateway = "stripe"
        self.currency = market.currency
        self.sales_led = self.gateway == "stripe" and rng.random() < 0.03
        self.engagement = min(0.98, max(0.05, rng.betavariate(2.2, 1.8)))
        roll = rng.random()
        self.path = (
            "direct"
            if self.sales_led
            else ("free" if roll < 0.25 else "trial" if roll < 0.85 else "direct")
        )
        if self.sales_led:
            self.plan, self.interval = "scale", "year"
        else:
            self.plan = rng.choices(("starter", "growth", "scale"), weights=(50, 36, 14))[0]
            self.interval = rng.choices(("month", "quarter", "year"), weights=(70, 10, 20))[0]
        if self.gateway != "stripe" and self.interval == "quarter":
            self.interval = "month"
        low, high = PLANS[self.plan].seats
        self.seats = rng.randint(low, high)
        self.coupon = None
        if self.gateway == "stripe" and rng.random() < 0.16:
            self.coupon = COUPONS[
                rng.choices(list(COUPONS), weights=[c.weight for c in COUPONS.values()])[0]
            ]
            if self.coupon.currency and self.coupon.currency != self.currency:
                self.coupon = COUPONS["WELCOME20"]
        conversion = 0.36 * CHANNELS[self.channel]["conv"] * (0.5 + self.engagement)
        self.trial_converts = rng.random() < min(conversion, 0.9)
        self.free_stripe = rng.random() < 0.12
        self.free_upgrade_after = rng.randint(10, 300) if rng.random() < 0.2 else None
        self.second_sub_after = rng.randint(30, 500) if rng.random() < 0.08 else None
        self.first_name = rng.choice(FIRST_NAMES)
        self.last_name = rng.choice(LAST_NAMES)
        self.company = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)} {self.key}"
        self.email = f"{self.first_name.lower()}.{self.key}@example.com"
        self.tax_rate = None
        if self.country in EU_VAT:
            self.tax_rate = TAX_RATES[EU_VAT[self.country]]
        elif self.state in US_STATE_TAX:
            self.tax_rate = TAX_RATES[US_STATE_TAX[self.state]]
        self.user_id = None if self.sales_led else f"usr_{self.key}"
        self.account_id = None if self.sales_led else f"acc_{self.key}"
        self.customer_id = f"cus_{self.key}" if self.gateway == "stripe" else None
        self.first_key_action_days = rng.expovariate(1 / (2 + 10 * (1 - self.engagement)))
        self.team_on_single_plan = rng.random() < 0.12

    # ------------------------------------------------------------------ helpers
    def _before_cutoff(self, ts: int | None) -> bool:
        return ts is not None and ts < self.ctx.cutoff

    def _ledger(self, ts: int, item_key: str, amount: Decimal, s: SubState | None = None) -> None:
        if ts < self.ctx.cutoff:
            self.out.mrr_ledger.append((ts, item_key, amount, day_of(ts)))
            if s is not None:
                s.mrr = amount

    def _state(self, ts: int, plan: str, seats: int, status: str) -> None:
        if ts < self.ctx.cutoff:
            self.timeline.append((ts, plan, seats, status))

    def _stat(self, kind: str, ts: int, key: str, value) -> None:
        if ts < self.ctx.cutoff:
            self.out.stats.append((kind, day_of(ts).strftime("%Y-%m"), key, value))

    def _event(self, ts: int, event_type: str, obj_id: str, prev: dict | None = None) -> None:
        if ts < self.ctx.cutoff:
            self.events.append((ts, event_type, obj_id, prev))

    def _rng(self, *parts) -> random.Random:
        """A stream of its own for one role or period, so a later cutoff shifts nothing."""
        return random.Random(":".join(map(str, (self.ctx.seed, self.index, *parts))))

    # ------------------------------------------------------------------ run
    def run(self) -> Output:
        self.events: list[tuple] = []
        self.objects: dict[str, dict] = {}
        self.delinquent = False
        self.customer_created: int | None = None
        trial_start = trial_end = converted_at = None
        if self.path == "trial":
            trial_start = self.signup_ts + 300
            trial_end = trial_start + TRIAL_DAYS * DAY
            converted_at = trial_end if self.trial_converts else None
        if self.gateway == "stripe":
            if self.path == "trial":
                self._ensure_customer(trial_start)
                self._stripe_subscription(
                    "A", trial_start, self.plan, self.interval, self.seats, self.coupon, trial=True
                )
            elif self.path == "direct":
                converted_at = self.signup_ts + 600
                self._ensure_customer(converted_at)
                if self.sales_led:
                    self._services_invoice(converted_at)
                self._stripe_subscription(
                    "A",
                    converted_at,
                    self.plan,
                    self.interval,
                    self.seats,
                    self.coupon,
                    trial=False,
                    onboarding=self.plan == "scale",
                )
            else:
                converted_at = self._free_path()
            if self.second_sub_after and self.plan != "starter":
                self._maybe_second_subscription()
        else:
            if self.path == "trial":
                self._state(trial_start, self.plan, self.seats, "trialing")
                if self.trial_converts:
                    self._gateway_subscription("A", trial_end)
                else:
                    self._state(trial_end, self.plan, self.seats, "canceled")
            elif self.path == "direct":
                converted_at = self.signup_ts + 600
                self._gateway_subscription("A", converted_at)
            else:
                self._state(self.signup_ts, "free", 1, "free")
                if self.free_upgrade_after:
                    converted_at = self.signup_ts + self.free_upgrade_after * DAY
                    self._gateway_subscription("A", converted_at)
        self._stat("signup", self.signup_ts, self.channel, 1)
        if trial_start is not None:
            self._stat("trial", trial_start, self.channel, 1)
        if self.customer_id and self._before_cutoff(self.customer_created):
            self._finish_customer()
        if self.user_id:
            self._app_rows(trial_start, trial_end, converted_at)
        self._render_events()
        self.out.customer_truth = {
            "customer_id": self.user_id or self.customer_id,
            "account_id": self.account_id,
            "stripe_customer_id": self.customer_id
            if self._before_cutoff(self.customer_created)
            else None,
            "gateway": self.gateway,
            "acquisition_channel": self.channel,
            "country": self.country,
            "currency": self.currency,
            "signed_up_at": iso(self.signup_ts),
            "path": self.path,
            "trial_started_at": iso(trial_start) if self._before_cutoff(trial_start) else None,
            "trial_converted": (self.trial_converts if self._before_cutoff(trial_end) else None)
            if trial_start
            else None,
        }
        return self.out

    # ------------------------------------------------------------------ stripe customer
    def _ensure_customer(self, ts: int) -> None:
        if self.customer_created is None:
            self.customer_created = ts
            self._event(ts, "customer.created", self.customer_id)

    def _finish_customer(self) -> None:
        if self.user_id:
            metadata = {"app_user_id": self.user_id, "app_account_id": self.account_id}
        else:
            metadata = {"crm_id": f"crm_{self.key}", "sales_owner": "enterprise-team"}
        invoices = sum(1 for inv in self.out.stripe["invoices"])
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

    # ------------------------------------------------------------------ lines
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

    # ------------------------------------------------------------------ subscriptions
    @staticmethod
    def _period_end(anchor: int, interval: str, k: int) -> int:
        unit, count = INTERVALS[interval]
        return add_months(anchor, (12 if unit == "year" else 1) * count * k)

    def _draw_period(self, rng: random.Random, s: SubState, months: int, secondary: bool) -> dict:
        """Everything random about one billing period, drawn up front in a fixed order."""

        def per_period(p: float) -> float:
            return 1 - (1 - p) ** months

        churn_scale = {"starter": 1.3, "growth": 1.0, "scale": 0.55, "free": 0.2}
        per_seat = PLANS[s.plan].per_seat and not secondary
        odds = (
            (
                "cancel",
                per_period(
                    0.06 if secondary else 0.035 * churn_scale[s.plan] * (1.4 - self.engagement)
                ),
            ),
            ("upgrade", 0 if secondary else per_period(0.025 * self.engagement)),
            ("seats_up", per_period(0.05) if per_seat else 0),
            ("seats_down", per_period(0.025) if per_seat else 0),
            ("downgrade", 0 if secondary else per_period(0.012)),
            ("switch_annual", 0.015 if s.interval == "month" and not secondary else 0),
        )
        roll, change, acc = rng.random(), None, 0.0
        for name, p in odds:
            acc += p
            if roll < acc:
                change = name
                break
        fail = rng.random() < 0.05
        return {
            "fail_plan": rng.choices(("recover", "cancel", "unpaid"), weights=(60, 30, 10))[0]
            if fail
            else None,
            "recover_attempt": rng.randint(1, 3),
            "refund": (rng.randint(1, 10), rng.random() < 0.5, rng.random() < 0.4)
            if rng.random() < 0.025
            else None,
            "credit_pack": (rng.random(), rng.randint(1, 3))
            if rng.random() < 0.03 * months
            else None,
            "overage_units": int(rng.expovariate(1 / 40)) if rng.random() < 0.5 else 0,
            "change": change,
            "change_at": rng.random(),
            "immediate": rng.random() < 0.3,
            "cancel_refund": rng.random() < 0.5,
            "new_seats": rng.randint(1, 40),
        }

    def _stripe_subscription(
        self,
        role: str,
        start: int,
        plan: str,
        interval: str,
        seats: int,
        coupon: Coupon | None,
        trial: bool,
        onboarding: bool = False,
        secondary: bool = False,
        depth: int = 0,
    ) -> None:
        if not self._before_cutoff(start):
            return
        sub_id = f"sub_{self.key}{role}"
        price = self.pb.current(plan, interval, self.currency, start)
        metered = plan == "scale" and interval == "month" and not secondary
        s = SubState(
            sub_id=sub_id,
            role=role,
            plan=plan,
            interval=interval,
            seats=seats,
            price=price,
            coupon=coupon,
            discount_id=None,
            discount_start=None,
            discount_end=None,
            item_id=f"si_{self.key}{role}1",
            metered_item_id=f"si_{self.key}{role}2" if metered else None,
            created=start,
        )
        item_key = f"{sub_id}:{s.item_id}"
        self._event(start, "customer.subscription.created", sub_id)
        if coupon:
            s.discount_id = f"di_{self.key}{role}"
            s.discount_start = start + (TRIAL_DAYS * DAY if trial else 0)
            if coupon.duration == "repeating":
                s.discount_end = add_months(s.discount_start, coupon.duration_in_months)
        anchor = start
        if trial:
            s.status, s.trial_start, s.trial_end = "trialing", start, start + TRIAL_DAYS * DAY
            s.period_start, s.period_end = start, s.trial_end
            inv_id = f"in_{self.key}{role}000"
            line = self._make_line(
                inv_id,
                1,
                s,
                price,
                seats,
                0,
                start,
                s.trial_end,
                f"Trial period for {PLANS[plan].name}",
                item_id=s.item_id,
            )
            self._emit_invoice(inv_id, start, [line], "subscription_create", s, (start, start))
            s.latest_invoice = inv_id
            self._ledger(start, item_key, Decimal(0), s)
            self._state(start, plan, seats, "trialing")
            if not self._before_cutoff(s.trial_end):
                self._finish_subscription(s)
                return
            if not self.trial_converts:
                s.status, s.canceled_at, s.ended_at = "canceled", s.trial_end, s.trial_end
                s.cancellation_reason = "cancellation_requested"
                self._event(s.trial_end, "customer.subscription.deleted", sub_id)
                self._state(s.trial_end, plan, seats, "canceled")
                self._finish_subscription(s)
                return
            s.status = "active"
            anchor = s.trial_end
            self._event(anchor, "customer.subscription.updated", sub_id, {"status": "trialing"})
        pending: tuple[str, str, int] | None = None
        prev_period: tuple[int, int] | None = None
        billing_reason = "subscription_cycle" if trial else "subscription_create"
        period_start, k, n = anchor, 0, 0
        while period_start < self.ctx.cutoff:
            if pending:
                new_plan, new_interval, new_seats = pending
                if new_interval != s.interval:
                    anchor, k = period_start, 0
                s.plan, s.interval, s.seats = new_plan, new_interval, new_seats
                s.price = self.pb.current(new_plan, new_interval, self.currency, period_start)
                pending = None
            k += 1
            n += 1
            period_end = self._period_end(anchor, s.interval, k)
            s.period_start, s.period_end = period_start, period_end
            months = {"month": 1, "quarter": 3, "year": 12}[s.interval]
            draws = self._draw_period(self._rng("sub", role, n), s, months, secondary)
            inv_id = f"in_{self.key}{role}{n:03d}"
            discount = self._discount_at(s, period_start)
            gross = s.price["unit_amount"] * s.seats
            lines = [
                self._make_line(
                    inv_id,
                    1,
                    s,
                    s.price,
                    s.seats,
                    gross,
                    period_start,
                    period_end,
                    f"{s.seats} × {PLANS[s.plan].name} (at {s.price['unit_amount'] / 100:.2f} "
                    f"per {s.interval})",
                    item_id=s.item_id,
                    discount=discount,
                )
            ]
            if s.metered_item_id and prev_period and s.interval == "month":
                units = draws["overage_units"]
                overage = self.pb.overage(self.currency)
                lines.append(
                    self._make_line(
                        inv_id,
                        2,
                        s,
                        overage,
                        units,
                        units * overage["unit_amount"],
                        prev_period[0],
                        prev_period[1],
                        f"{units} × API overage (per 1,000 calls)",
                        item_id=s.metered_item_id,
                        discountable=False,
                    )
                )
            if onboarding and n == 1:
                fee = self.pb.one_time("prod_onboarding", self.currency)
                lines.append(
                    self._make_line(
                        inv_id,
                        len(lines) + 1,
                        s,
                        fee,
                        1,
                        fee["unit_amount"],
                        period_start,
                        period_start,
                        "Onboarding fee",
                        invoice_item=f"ii_{inv_id[3:]}",
                        discountable=False,
                    )
                )
            self._ledger(period_start, item_key, self._item_mrr(s, period_start), s)
            if discount != (None, None) and s.coupon.duration == "once":
                s.once_used = True
            self._state(period_start, s.plan, s.seats, "active")
            paid = self._emit_invoice(
                inv_id,
                period_start,
                lines,
                billing_reason,
                s,
                (period_start, period_end),
                draws["fail_plan"],
                draws["recover_attempt"],
                draws["refund"],
            )
            s.latest_invoice = inv_id
            billing_reason = "subscription_cycle"
            if n > 1:
                self._event(
                    period_start,
                    "customer.subscription.updated",
                    sub_id,
                    {"items": {"data": [{"current_period_start": prev_period[0]}]}},
                )
            prev_period = (period_start, period_end)
            if draws["fail_plan"] and self._dunning(s, paid, draws["fail_plan"], item_key):
                break
            if draws["credit_pack"]:
                frac, qty = draws["credit_pack"]
                at = period_start + DAY + int(frac * (period_end - period_start - 2 * DAY))
                if self._before_cutoff(at):
                    self._credit_pack_invoice(f"in_{self.key}{role}C{n:03d}", at, qty)
            change = draws["change"]
            span = period_end - period_start
            at = period_start + DAY + int(draws["change_at"] * (span - 2 * DAY))
            if change is None or not self._before_cutoff(at):
                period_start = period_end
                continue
            if change == "cancel":
                self._cancel(s, at, draws, paid, item_key)
                break
            if change in ("upgrade", "seats_up"):
                if change == "upgrade":
                    if s.plan == "scale":
                        period_start = period_end
                        continue
                    new_plan = "growth" if s.plan == "starter" else "scale"
                    low, high = PLANS[new_plan].seats
                    new_seats = max(s.seats, low + draws["new_seats"] % (high - low + 1))
                else:
                    new_plan, new_seats = (
                        s.plan,
                        s.seats + 1 + draws["new_seats"] % max(1, s.seats // 3),
                    )
                self._prorate(s, at, new_plan, new_seats, n, item_key)
            else:
                if change == "downgrade":
                    if s.plan == "starter":
                        period_start = period_end
                        continue
                    new_plan = "starter" if s.plan == "growth" else "growth"
                    new_seats = (
                        1
                        if not PLANS[new_plan].per_seat
                        else max(PLANS[new_plan].seats[0], s.seats // 2)
                    )
                    pending = (new_plan, s.interval, new_seats)
                elif change == "seats_down":
                    pending = (
                        s.plan,
                        s.interval,
                        max(PLANS[s.plan].seats[0], s.seats - 1 - draws["new_seats"] % 3),
                    )
                else:
                    pending = (s.plan, "year", s.seats)
                self._event(
                    at,
                    "customer.subscription.updated",
                    sub_id,
                    {"metadata": {"scheduled_change": None}},
                )
            period_start = period_end
        self._finish_subscription(s)
        if s.ended_at is not None and depth < 2:
            self._maybe_reactivate(s, depth)

    def _dunning(self, s: SubState, paid: dict, fail_plan: str, item_key: str) -> bool:
        """Failed renewal: past due, then recovered, canceled or unpaid. True if it ended."""
        attempts = paid["attempts"]
        self._set_status(s, attempts[0][0], "past_due")
        end_of_dunning = attempts[-1][0]
        if fail_plan == "recover":
            if paid["paid_at"] is not None:
                self._set_status(s, paid["paid_at"], "active")
            else:
                self.delinquent = True
            return False
        if not self._before_cutoff(end_of_dunning):
            self.delinquent = True
            return True  # still in dunning at the as-of date
        if fail_plan == "cancel":
            self._end(s, end_of_dunning, end_of_dunning, "payment_failed", item_key)
            return True
        # unpaid: kept (and its MRR with it) until canceled at the end of the period
        self._set_status(s, end_of_dunning, "unpaid")
        s.cancel_at = s.period_end
        if self._before_cutoff(s.period_end):
            self._end(s, s.period_end, s.period_end, "payment_failed", item_key)
        else:
            self.delinquent = True
        return True

    def _cancel(self, s: SubState, at: int, draws: dict, paid: dict, item_key: str) -> None:
        if draws["immediate"]:
            self._end(s, at, at, "cancellation_requested", item_key)
            if paid["charge"] and draws["cancel_refund"]:
                unused = (
                    paid["charge"]["amount"]
                    * (s.period_end - at)
                    // (s.period_end - s.period_start)
                )
                self._refund(
                    paid["invoice"],
                    paid["charge"],
                    at,
                    unused,
                    True,
                    "c",
                    "order_change",
                    "Unused time after cancellation",
                )
            return
        s.cancel_at_period_end, s.canceled_at, s.cancel_at = True, at, s.period_end
        s.cancellation_reason = "cancellation_requested"
        self._event(at, "customer.subscription.updated", s.sub_id, {"cancel_at_period_end": False})
        if self._before_cutoff(s.period_end):
            self._end(s, s.period_end, at, "cancellation_requested", item_key)

    def _set_status(self, s: SubState, ts: int, status: str) -> None:
        if self._before_cutoff(ts):
            previous, s.status = s.status, status
            self._event(ts, "customer.subscription.updated", s.sub_id, {"status": previous})
            self._state(ts, s.plan, s.seats, status)

    def _end(
        self, s: SubState, ended_at: int, canceled_at: int, reason: str, item_key: str
    ) -> None:
        s.status, s.ended_at, s.canceled_at = "canceled", ended_at, canceled_at
        s.cancellation_reason = reason
        self._ledger(ended_at, item_key, Decimal(0), s)
        self._event(ended_at, "customer.subscription.deleted", s.sub_id)
        if reason == "payment_failed":  # the customer is no longer delinquent
            self._event(ended_at, "customer.updated", self.customer_id, {"delinquent": True})
        self._state(ended_at, s.plan, s.seats, "canceled")

    def _prorate(
        self, s: SubState, at: int, new_plan: str, new_seats: int, n: int, item_key: str
    ) -> None:
        """Mid-cycle upgrade, invoiced at once with proration lines (always_invoice)."""
        span, remaining = s.period_end - s.period_start, s.period_end - at
        old_price, old_seats, old_plan = s.price, s.seats, s.plan
        new_price = self.pb.current(new_plan, s.interval, self.currency, at)
        inv_id = f"in_{self.key}{s.role}P{n:03d}"
        discount = self._discount_at(s, at)
        credit = -(old_price["unit_amount"] * old_seats * remaining // span)
        debit = new_price["unit_amount"] * new_seats * remaining // span
        lines = [
            self._make_line(
                inv_id,
                1,
                s,
                old_price,
                old_seats,
                credit,
                at,
                s.period_end,
                f"Unused time on {old_seats} × {PLANS[old_plan].name}",
                proration=True,
                item_id=s.item_id,
                discount=discount,
            ),
            self._make_line(
                inv_id,
                2,
                s,
                new_price,
                new_seats,
                debit,
                at,
                s.period_end,
                f"Remaining time on {new_seats} × {PLANS[new_plan].name}",
                proration=True,
                item_id=s.item_id,
                discount=discount,
            ),
        ]
        s.plan, s.seats, s.price = new_plan, new_seats, new_price
        self._ledger(at, item_key, self._item_mrr(s, at), s)
        self._emit_invoice(inv_id, at, lines, "subscription_update", s, (at, s.period_end))
        s.latest_invoice = inv_id
        self._event(
            at,
            "customer.subscription.updated",
            s.sub_id,
            {"items": {"data": [{"price": {"id": old_price["id"]}, "quantity": old_seats}]}},
        )
        self._state(at, new_plan, new_seats, s.status)

    def _finish_subscription(self, s: SubState) -> None:
        if s.discount_end is not None and (s.ended_at is None or s.discount_end < s.ended_at):
            self._event(
                s.discount_end,
                "customer.subscription.updated",
                s.sub_id,
                {"discounts": [s.discount_id]},
            )
        tax_rates = [shapes.tax_rate(self.tax_rate, self.ctx.start_ts)] if self.tax_rate else []
        items = [
            shapes.subscription_item(
                s.item_id,
                s.sub_id,
                s.price,
                s.seats,
                s.created,
                s.period_start,
                s.period_end,
                tax_rates,
            )
        ]
        if s.metered_item_id:
            items.append(
                shapes.subscription_item(
                    s.metered_item_id,
                    s.sub_id,
                    self.pb.overage(self.currency),
                    None,
                    s.created,
                    s.period_start,
                    s.period_end,
                    [],
                )
            )
        active_discount = (
            s.discount_id is not None
            and s.status != "canceled"
            and self._discount_at(s, self.ctx.cutoff - 1) != (None, None)
        )
        obj = shapes.subscription(
            s.sub_id,
            self.customer_id,
            s.created,
            currency=self.currency,
            status=s.status,
            items=items,
            start_date=s.created,
            billing_cycle_anchor=s.trial_end or s.created,
            cancel_at=s.cancel_at,
            cancel_at_period_end=s.cancel_at_period_end,
            canceled_at=s.canceled_at,
            ended_at=s.ended_at,
            cancellation_reason=s.cancellation_reason,
            trial_start=s.trial_start,
            trial_end=s.trial_end,
            discounts=[s.discount_id] if active_discount else [],
            latest_invoice=s.latest_invoice,
            default_tax_rates=[],
            metadata={"app_account_id": self.account_id} if self.account_id else {},
        )
        self.out.stripe["subscriptions"].append(obj)
        self.objects[s.sub_id] = obj
        live = s.status in ("active", "past_due", "unpaid")
        self.out.subscriptions_truth.append(
            {
                "subscription_id": s.sub_id,
                "customer_id": self.user_id or self.customer_id,
                "gateway": "stripe",
                "plan_id": s.plan,
                "billing_interval": s.interval,
                "quantity": s.seats,
                "currency": self.currency,
                "status": s.status,
                "started_at": iso(s.created),
                "trial_end": iso(s.trial_end),
                "canceled_at": iso(s.canceled_at),
                "ended_at": iso(s.ended_at),
                "cancellation_reason": s.cancellation_reason,
                "coupon_id": s.coupon.coupon_id if s.coupon else None,
                "current_mrr": str(s.mrr) if live else "0",
            }
        )

    def _maybe_reactivate(self, s: SubState, depth: int) -> None:
        rng = self._rng("reactivate", s.role)
        p = 0.18 if s.cancellation_reason == "cancellation_requested" else 0.1
        if s.trial_end is not None and s.ended_at == s.trial_end:
            p = 0.05  # a trial that never converted, coming back to buy
        comes_back = rng.random() < p
        gap, plan = rng.randint(20, 240), rng.choice(("starter", "growth", "scale"))
        interval = rng.choice(("month", "month", "year"))
        seats = 1 if not PLANS[plan].per_seat else rng.randint(*PLANS[plan].seats)
        if comes_back:
            self._stripe_subscription(
                f"R{depth + 1}",
                s.ended_at + gap * DAY,
                plan,
                interval,
                seats,
                None,
                trial=False,
                depth=depth + 1,
            )

    def _maybe_second_subscription(self) -> None:
        start = self.signup_ts + self.second_sub_after * DAY
        primary = self.objects.get(f"sub_{self.key}A")
        if primary is None or primary["created"] > start or primary["status"] == "trialing":
            return
        if primary["trial_end"] and primary["trial_end"] > start:
            return
        if primary["ended_at"] is not None and primary["ended_at"] <= start:
            return
        self._stripe_subscription(
            "S", start, "starter", "month", 1, None, trial=False, secondary=True
        )

    def _free_path(self) -> int | None:
        """Free plan; some keep a $0 Stripe subscription, some upgrade later. -> paid start."""
        self._state(self.signup_ts, "free", 1, "free")
        upgrade = (
            self.signup_ts + self.free_upgrade_after * DAY if self.free_upgrade_after else None
        )
        if self.free_stripe:
            start = self.signup_ts + 600
            self._ensure_customer(start)
            s = SubState(
                sub_id=f"sub_{self.key}F",
                role="F",
                plan="free",
                interval="month",
                seats=1,
                price=self.pb.current("free", "month", self.currency, start),
                coupon=None,
                discount_id=None,
                discount_start=None,
                discount_end=None,
                item_id=f"si_{self.key}F1",
                metered_item_id=None,
                created=start,
            )
            self._event(start, "customer.subscription.created", s.sub_id)
            k, period_start = 0, start
            while period_start < self.ctx.cutoff and (upgrade is None or period_start < upgrade):
                k += 1
                s.period_start, s.period_end = period_start, add_months(start, k)
                inv_id = f"in_{self.key}F{k:03d}"
                line = self._make_line(
                    inv_id,
                    1,
                    s,
                    s.price,
                    1,
                    0,
                    period_start,
                    s.period_end,
                    "1 × Free plan",
                    item_id=s.item_id,
                )
                self._emit_invoice(
                    inv_id,
                    period_start,
                    [line],
                    "subscription_create" if k == 1 else "subscription_cycle",
                    s,
                    (period_start, s.period_end),
                )
                s.latest_invoice = inv_id
                if k > 1:
                    self._event(
                        period_start,
                        "customer.subscription.updated",
                        s.sub_id,
                        {"latest_invoice": f"in_{self.key}F{k - 1:03d}"},
                    )
                self._ledger(period_start, f"{s.sub_id}:{s.item_id}", Decimal(0), s)
                period_start = s.period_end
            if upgrade is not None and self._before_cutoff(upgrade):
                s.status, s.canceled_at, s.ended_at = "canceled", upgrade, upgrade
                s.cancellation_reason = "cancellation_requested"
                self._event(upgrade, "customer.subscription.deleted", s.sub_id)
            self._finish_subscription(s)
        if upgrade is not None and self._before_cutoff(upgrade):
            self._ensure_customer(upgrade)
            self._stripe_subscription(
                "A", upgrade, self.plan, self.interval, self.seats, None, trial=False
            )
        return upgrade

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

    # ------------------------------------------------------------------ other gateways
    def _gateway_subscription(self, role: str, start: int) -> None:
        """PayPal or the Egyptian gateway: each paid period is a row of `transactions`."""
        if not self._before_cutoff(start):
            return
        plan, interval, seats = self.plan, self.interval, self.seats
        months = 12 if interval == "year" else 1
        gsub = f"gws_{self.key}{role}"
        item_key = f"{gsub}:1"
        period_start, k, mrr, ended_at = start, 0, Decimal(0), None
        while period_start < self.ctx.cutoff:
            k += 1
            rng = self._rng("gateway", role, k)
            failed_first, recovers = rng.random() < 0.04, rng.random() < 0.6
            refunded, pack = rng.random() < 0.02, rng.random() < 0.03 * months
            pack_day, roll = rng.randint(1, 25), rng.random()
            period_end = add_months(period_start, months)
            amount = GATEWAY_PRICES[(plan, interval, self.currency)] * seats
            txn = f"gwt_{self.key}{role}{k:03d}"
            if failed_first:
                self._transaction(
                    f"{txn}f",
                    period_start,
                    gsub,
                    plan,
                    interval,
                    seats,
                    amount,
                    period_start,
                    period_end,
                    "failed",
                )
                if not recovers:  # never paid: it lapses when the paid time ran out
                    ended_at = period_start
                    break
            mrr = monthly(amount, "month", months)
            self._ledger(period_start, item_key, mrr)
            self._state(period_start, plan, seats, "past_due" if failed_first else "active")
            paid_at = period_start + (DAY if failed_first else 120)
            if not self._before_cutoff(paid_at):
                if not failed_first:  # charged, the gateway has not confirmed it yet
                    self._transaction(
                        txn,
                        period_start,
                        gsub,
                        plan,
                        interval,
                        seats,
                        amount,
                        period_start,
                        period_end,
                        "pending",
                    )
                break  # still being retried or confirmed: MRR stays until it ends
            if failed_first:
                self._state(paid_at, plan, seats, "active")
            self._transaction(
                txn,
                paid_at,
                gsub,
                plan,
                interval,
                seats,
                amount,
                period_start,
                period_end,
                "refunded" if refunded else "succeeded",
            )
            self._stat(f"{self.gateway}_collected", paid_at, self.currency, amount)
            if pack and self._before_cutoff(period_start + pack_day * DAY):
                price = {"usd": 4_900, "eur": 4_500, "egp": 75_000}[self.currency]
                self._transaction(
                    f"{txn}c",
                    period_start + pack_day * DAY,
                    gsub,
                    None,
                    None,
                    1,
                    price,
                    None,
                    None,
                    "succeeded",
                    product_type="credit_pack",
                )
            if not self._before_cutoff(period_end):
                break
            churn = 1 - (1 - 0.04 * (1.4 - self.engagement)) ** months
            if roll < churn:
                ended_at = period_end
                break
            if roll < churn + 0.03 and plan != "scale":
                plan = "growth" if plan == "starter" else "scale"
                seats = max(seats, PLANS[plan].seats[0])
            elif roll < churn + 0.05 and PLANS[plan].per_seat:
                seats += 1
            period_start = period_end
        if ended_at is not None:
            self._ledger(ended_at, item_key, Decimal(0))
            self._state(ended_at, plan, seats, "canceled")
        self.out.subscriptions_truth.append(
            {
                "subscription_id": gsub,
                "customer_id": self.user_id,
                "gateway": self.gateway,
                "plan_id": plan,
                "billing_interval": interval,
                "quantity": seats,
                "currency": self.currency,
                "status": "canceled" if ended_at else "active",
                "started_at": iso(start),
                "trial_end": None,
                "canceled_at": iso(ended_at),
                "ended_at": iso(ended_at),
                "cancellation_reason": None,
                "coupon_id": None,
                "current_mrr": "0" if ended_at else str(mrr),
            }
        )

    def _transaction(
        self,
        txn_id,
        at,
        gsub,
        plan,
        interval,
        seats,
        amount,
        period_start,
        period_end,
        status,
        product_type="subscription",
    ) -> None:
        updated = at + 5 * DAY if status == "refunded" else at
        if not self._before_cutoff(updated):
            updated, status = at, "succeeded"  # the refund has not happened yet
        self.out.app["transactions"].append(
            (
                txn_id,
                self.account_id,
                self.user_id,
                self.gateway,
                f"{self.gateway.upper()}-{txn_id[4:]}",
                gsub,
                product_type,
                plan,
                interval,
                seats,
                amount,
                self.currency.upper(),
                day_of(period_start).isoformat() if period_start else None,
                day_of(period_end).isoformat() if period_end else None,
                status,
                amount if status == "refunded" else 0,
                iso(at),
                iso(updated),
            )
        )

    # ------------------------------------------------------------------ app database
    def _state_at(self, ts: int, timeline) -> tuple[str, int, str] | None:
        current = None
        for at, plan, seats, status in timeline:
            if at > ts:
                break
            current = (plan, seats, status)
        return current

    def _app_rows(self, trial_start, trial_end, converted_at) -> None:
        cutoff = self.ctx.cutoff
        timeline = sorted(self.timeline, key=lambda e: e[0])
        rng = self._rng("app")
        join_offsets = [rng.randint(3_600, 3 * DAY) for _ in range(50)]
        # member n joins shortly after the team first reaches n + 1 seats
        members: list[tuple[str, str, int]] = [(self.user_id, "owner", self.signup_ts)]
        reached = 1
        for at, plan, seats, _status in timeline:
            team = seats if PLANS[plan].per_seat else (2 if self.team_on_single_plan else 1)
            for n in range(reached, min(team, 50)):
                if at + join_offsets[n] < cutoff:
                    members.append((f"usr_{self.key}m{n:02d}", "member", at + join_offsets[n]))
            reached = max(reached, min(team, 50))
        members.sort()  # the owner, then members by seat number, whoever has joined yet
        first_key = self.signup_ts + int(self.first_key_action_days * DAY)
        events = [(f"ae_{self.key}s", self.user_id, "signed_up", self.signup_ts)]
        if rng.random() < 0.35 + 0.6 * self.engagement and first_key < cutoff:
            events.append((f"ae_{self.key}k", self.user_id, "first_key_action", first_key))
        if len(members) > 1:
            events.append(
                (f"ae_{self.key}i", self.user_id, "invited_teammate", members[1][2] - 600)
            )
        for event_id, user_id, name, at in events:
            self.out.app["activation_events"].append(
                (event_id, self.account_id, user_id, name, iso(at), iso(at))
            )
        last_login = self._usage(timeline, members)
        for user_id, role, joined in members:
            if role == "owner":
                name, email = f"{self.first_name} {self.last_name}", self.email
            else:
                name, email = f"Member {user_id[-2:]} of {self.company}", f"{user_id}@example.com"
            login = last_login.get(user_id)
            self.out.app["users"].append(
                (
                    user_id,
                    self.account_id,
                    email,
                    name,
                    role,
                    iso(joined),
                    iso(login),
                    iso(joined),
                    iso(max(joined, login or joined)),
                )
            )
        self._support(timeline)
        plan, seats, status = self._state_at(cutoff - 1, timeline) or ("free", 1, "free")
        if status == "canceled" and plan == "free":
            status = "free"
        updated = max([self.signup_ts] + [e[0] for e in timeline])
        self.out.app["accounts"].append(
            (
                self.account_id,
                self.company,
                self.user_id,
                self.customer_id if self._before_cutoff(self.customer_created) else None,
                self.gateway if (plan != "free" or self.customer_id) else None,
                plan,
                seats,
                self.channel,
                self.utm_source,
                self.utm_medium,
                self.utm_campaign,
                self.country,
                self.currency.upper(),
                iso(self.signup_ts),
                iso(trial_start) if self._before_cutoff(trial_start) else None,
                iso(trial_end) if self._before_cutoff(trial_start) else None,
                iso(converted_at) if self._before_cutoff(converted_at) else None,
                status,
                iso(self.signup_ts),
                iso(updated),
            )
        )

    def _usage(self, timeline, members) -> dict[str, int]:
        """Daily usage per user and feature, for the days the app still keeps.

        One random stream per account, drawn day by day from a fixed first day and only on
        days the account is alive, so that a later as-of date only appends rows."""
        last_login: dict[str, int] = {}
        rng = self._rng("usage")
        day_ts = max(self.ctx.usage_from_ts, self.signup_ts - self.signup_ts % DAY)
        weights = {
            "login": 1.0,
            "dashboard_view": 0.8,
            KEY_ACTION: 0.35,
            "api_call": 0.05,
            "integration_sync": 0.2,
        }
        rows = self.out.app["usage_daily"]
        mean_count = 3 + 20 * self.engagement
        position, state = 0, None
        while day_ts < self.ctx.cutoff:
            noon = day_ts + DAY // 2
            while position < len(timeline) and timeline[position][0] <= noon:
                state = timeline[position]
                position += 1
            if state is None or state[3] == "canceled":
                day_ts += DAY
                continue
            plan = state[1]
            day, updated = day_text(day_ts // DAY), iso(day_ts + DAY - 60)
            for user_id, _role, joined in members:
                rank = 0 if user_id == self.user_id else int(user_id[-2:])
                if rank >= 8:  # the app only tracks the first eight seats' usage here
                    continue
                p_active = self.engagement * (0.9 if rank == 0 else 0.55 / (1 + rank * 0.3))
                if plan == "free":
                    p_active *= 0.4
                if joined > noon or rng.random() >= p_active:
                    continue
                for feature in FEATURES:
                    weight = 0.3 if feature == "api_call" and plan == "scale" else weights[feature]
                    if feature != "login" and rng.random() >= weight * self.engagement:
                        continue
                    count = 1 + int(rng.expovariate(1 / mean_count))
                    if feature == "api_call":
                        count *= 40
                    rows.append((day, self.account_id, user_id, feature, count, updated))
                last_login[user_id] = day_ts + 9 * 3600 + int(rng.random() * 8 * 3600)
            day_ts += DAY
        return last_login

    def _support(self, timeline) -> None:
        cutoff = self.ctx.cutoff
        rng = self._rng("support")
        at, n = self.signup_ts, 0
        while n < 60:
            at += int(rng.expovariate(1 / (60 * DAY * (0.5 + self.engagement))))
            category = rng.choice(TICKET_CATEGORIES)
            first_response = at + rng.randint(600, 2 * DAY)
            resolved = first_response + rng.randint(3600, 5 * DAY)
            priority = rng.choices(("low", "normal", "high", "urgent"), weights=(30, 50, 15, 5))[0]
            satisfaction = rng.randint(2, 5) if rng.random() < 0.4 else None
            if at >= cutoff:
                break
            state = self._state_at(at, timeline)
            if state is None or state[2] == "canceled":
                continue
            n += 1
            if resolved >= cutoff:
                status, resolved_at, satisfaction = "open", None, None
                updated = first_response if first_response < cutoff else at
            else:
                status, resolved_at, updated = "solved", resolved, resolved
            self.out.app["support_tickets"].append(
                (
                    f"tkt_{self.key}{n:03d}",
                    self.account_id,
                    self.user_id,
                    category,
                    priority,
                    status,
                    iso(at),
                    iso(first_response) if first_response < cutoff else None,
                    iso(resolved_at),
                    satisfaction,
                    iso(at),
                    iso(updated),
                )
            )
            self._stat("tickets", at, "all", 1)
        rng = self._rng("nps")
        at, n = self.signup_ts + 30 * DAY, 0
        while at < cutoff:
            answers = rng.random() < 0.35
            score = max(0, min(10, round(rng.gauss(4 + 6 * self.engagement, 1.8))))
            comment = rng.choice(
                (
                    None,
                    None,
                    "Love the reports",
                    "Too expensive",
                    "Missing integrations",
                    "Great support",
                )
            )
            state = self._state_at(at, timeline)
            if answers and state is not None and state[2] != "canceled":
                n += 1
                self.out.app["nps_responses"].append(
                    (
                        f"nps_{self.key}{n:02d}",
                        self.account_id,
                        self.user_id,
                        score,
                        comment,
                        iso(at),
                        iso(at),
                    )
                )
            at += 182 * DAY

    # ------------------------------------------------------------------ events
    def _render_events(self) -> None:
        """Stripe keeps 30 days of events; each carries the object as it now stands."""
        since = self.ctx.cutoff - 30 * DAY
        seen = set()
        for ts, event_type, obj_id, prev in self.events:
            obj = self.objects.get(obj_id)
            if (ts, event_type, obj_id) in seen:
                continue  # the same change twice in one second is one event
            seen.add((ts, event_type, obj_id))
            if ts >= since and obj is not None:
                self.out.stripe["events"].append(
                    shapes.event(
                        _stable_id("evt", obj_id, event_type, ts), ts, event_type, obj, prev
                    )
                )
