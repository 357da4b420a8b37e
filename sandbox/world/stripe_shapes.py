"""Stripe objects in the shapes of API version 2026-10-28 (what stripe-python 16 pins).

Each builder returns a plain dict with every field of Stripe's published example object for
that resource, so that readers meet the same fields (and the same nulls) as in production.
Under this API version invoices reach their subscription through `parent`, lines their price
through `pricing.price_details`, and proration flags live in `parent.*_details`.
"""

from __future__ import annotations

from .catalog import COUPONS, Coupon, TaxRate

API_VERSION = "2026-10-28.endive"

_ADDRESS_KEYS = ("city", "country", "line1", "line2", "postal_code", "state")


def address(country: str | None = None, state: str | None = None) -> dict:
    out = dict.fromkeys(_ADDRESS_KEYS)
    out["country"] = country
    out["state"] = state
    return out


def list_object(url: str, data: list) -> dict:
    return {"object": "list", "data": data, "has_more": False, "url": url}


def product(
    product_id: str,
    name: str,
    created: int,
    description: str,
    default_price=None,
    active: bool = True,
    metadata: dict | None = None,
) -> dict:
    return {
        "id": product_id,
        "object": "product",
        "active": active,
        "created": created,
        "default_price": default_price,
        "description": description,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": metadata or {},
        "name": name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "updated": created,
        "url": None,
    }


def price(
    price_id: str,
    product_id: str,
    currency: str,
    unit_amount: int,
    created: int,
    *,
    interval: str | None,
    interval_count: int = 1,
    usage_type: str = "licensed",
    active: bool = True,
    nickname: str | None = None,
    tax_behavior: str = "unspecified",
    lookup_key: str | None = None,
    metadata: dict | None = None,
) -> dict:
    recurring = None
    if interval:
        recurring = {
            "interval": interval,
            "interval_count": interval_count,
            "meter": None,
            "usage_type": usage_type,
            "trial_period_days": None,
        }
    return {
        "id": price_id,
        "object": "price",
        "active": active,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": metadata or {},
        "nickname": nickname,
        "product": product_id,
        "recurring": recurring,
        "tax_behavior": tax_behavior,
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if interval else "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def coupon(c: Coupon, created: int, times_redeemed: int = 0) -> dict:
    return {
        "id": c.coupon_id,
        "object": "coupon",
        "amount_off": c.amount_off,
        "created": created,
        "currency": c.currency,
        "duration": c.duration,
        "duration_in_months": c.duration_in_months,
        "livemode": False,
        "max_redemptions": None,
        "metadata": {},
        "name": c.name,
        "percent_off": float(c.percent_off) if c.percent_off is not None else None,
        "redeem_by": None,
        "times_redeemed": times_redeemed,
        "valid": True,
    }


def all_coupons(created: int) -> list[dict]:
    return [coupon(c, created) for c in COUPONS.values()]


def discount(
    discount_id: str,
    coupon_id: str,
    customer: str,
    subscription: str | None,
    start: int,
    end: int | None,
    invoice: str | None = None,
) -> dict:
    return {
        "id": discount_id,
        "object": "discount",
        "checkout_session": None,
        "customer": customer,
        "customer_account": None,
        "end": end,
        "invoice": invoice,
        "invoice_item": None,
        "promotion_code": None,
        "source": {"coupon": coupon_id, "type": "coupon"},
        "start": start,
        "subscription": subscription,
        "subscription_item": None,
    }


def tax_rate(t: TaxRate, created: int) -> dict:
    return {
        "id": t.tax_rate_id,
        "object": "tax_rate",
        "active": True,
        "country": t.country,
        "created": created,
        "description": f"{t.display_name} {t.country}",
        "display_name": t.display_name,
        "effective_percentage": t.percentage_bp / 100,
        "flat_amount": None,
        "inclusive": t.inclusive,
        "jurisdiction": t.state or t.country,
        "jurisdiction_level": "state" if t.state else "country",
        "livemode": False,
        "metadata": {},
        "percentage": t.percentage_bp / 100,
        "rate_type": "percentage",
        "state": t.state,
        "tax_type": "vat" if t.inclusive else "sales_tax",
    }


def customer(
    customer_id: str,
    created: int,
    *,
    email: str,
    name: str,
    country: str,
    state: str | None,
    currency: str | None,
    metadata: dict,
    invoice_prefix: str,
    next_invoice_sequence: int,
    delinquent: bool,
    discount_obj: dict | None,
) -> dict:
    return {
        "id": customer_id,
        "object": "customer",
        "address": address(country, state),
        "balance": 0,
        "created": created,
        "currency": currency,
        "default_source": None,
        "delinquent": delinquent,
        "description": None,
        "discount": discount_obj,
        "email": email,
        "invoice_prefix": invoice_prefix,
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": metadata,
        "name": name,
        "next_invoice_sequence": next_invoice_sequence,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def subscription_item(
    item_id: str,
    subscription_id: str,
    price_obj: dict,
    quantity: int | None,
    created: int,
    period_start: int,
    period_end: int,
    tax_rates: list[dict],
) -> dict:
    recurring = price_obj["recurring"] or {}
    plan = {
        "id": price_obj["id"],
        "object": "plan",
        "active": price_obj["active"],
        "amount": price_obj["unit_amount"],
        "amount_decimal": price_obj["unit_amount_decimal"],
        "billing_scheme": "per_unit",
        "created": price_obj["created"],
        "currency": price_obj["currency"],
        "interval": recurring.get("interval"),
        "interval_count": recurring.get("interval_count"),
        "livemode": False,
        "metadata": {},
        "meter": None,
        "nickname": price_obj["nickname"],
        "product": price_obj["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": recurring.get("usage_type"),
    }
    return {
        "id": item_id,
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": created,
        "current_period_end": period_end,
        "current_period_start": period_start,
        "discounts": [],
        "metadata": {},
        "plan": plan,
        "price": price_obj,
        "quantity": quantity,
        "subscription": subscription_id,
        "tax_rates": tax_rates,
    }


def subscription(
    sub_id: str,
    customer_id: str,
    created: int,
    *,
    currency: str,
    status: str,
    items: list[dict],
    start_date: int,
    billing_cycle_anchor: int,
    cancel_at: int | None,
    cancel_at_period_end: bool,
    canceled_at: int | None,
    ended_at: int | None,
    cancellation_reason: str | None,
    trial_start: int | None,
    trial_end: int | None,
    discounts: list[str],
    latest_invoice: str | None,
    default_tax_rates: list[dict],
    metadata: dict,
) -> dict:
    return {
        "id": sub_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": billing_cycle_anchor,
        "billing_cycle_anchor_config": None,
        "billing_mode": {
            "type": "flexible",
            "flexible": {"proration_discounts": "included"},
            "updated_at": created,
        },
        "billing_schedules": [],
        "billing_thresholds": None,
        "cancel_at": cancel_at,
        "cancel_at_period_end": cancel_at_period_end,
        "canceled_at": canceled_at,
        "cancellation_details": {"comment": None, "feedback": None, "reason": cancellation_reason},
        "collection_method": "charge_automatically",
        "created": created,
        "currency": currency,
        "customer": customer_id,
        "customer_account": None,
        "days_until_due": None,
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": default_tax_rates,
        "description": None,
        "discounts": discounts,
        "ended_at": ended_at,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": list_object(f"/v1/subscription_items?subscription={sub_id}", items),
        "latest_invoice": latest_invoice,
        "livemode": False,
        "managed_payments": None,
        "metadata": metadata,
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": start_date,
        "status": status,
        "test_clock": None,
        "transfer_data": None,
        "trial_end": trial_end,
        "trial_settings": {"end_behavior": {"missing_payment_method": "cancel"}},
        "trial_start": trial_start,
    }


def line_tax(amount: int, taxable_amount: int, rate: TaxRate) -> dict:
    return {
        "amount": amount,
        "tax_behavior": "inclusive" if rate.inclusive else "exclusive",
        "tax_rate_details": {"tax_rate": rate.tax_rate_id},
        "taxability_reason": "standard_rated",
        "taxable_amount": taxable_amount,
        "type": "tax_rate_details",
    }


def invoice_line(
    line_id: str,
    invoice_id: str,
    *,
    amount: int,
    currency: str,
    description: str,
    period_start: int,
    period_end: int,
    quantity: int | None,
    price_obj: dict,
    subscription_id: str | None,
    subscription_item_id: str | None,
    proration: bool,
    invoice_item_id: str | None,
    discount_amounts: list[dict],
    discounts: list[str],
    taxes: list[dict],
    discountable: bool = True,
    metadata: dict | None = None,
) -> dict:
    if subscription_item_id:
        parent = {
            "type": "subscription_item_details",
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": invoice_item_id,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": subscription_id,
                "subscription_item": subscription_item_id,
            },
        }
    else:
        parent = {
            "type": "invoice_item_details",
            "subscription_item_details": None,
            "invoice_item_details": {
                "invoice_item": invoice_item_id,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": subscription_id,
            },
        }
    return {
        "id": line_id,
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": description,
        "discount_amounts": discount_amounts,
        "discountable": discountable,
        "discounts": discounts,
        "invoice": invoice_id,
        "livemode": False,
        "metadata": metadata or {},
        "parent": parent,
        "period": {"end": period_end, "start": period_start},
        "pretax_credit_amounts": [],
        "pricing": {
            "type": "price_details",
            "price_details": {"price": price_obj["id"], "product": price_obj["product"]},
            "unit_amount_decimal": price_obj["unit_amount_decimal"],
        },
        "quantity": quantity,
        "quantity_decimal": None if quantity is None else str(quantity),
        "subscription": None,  # gone from lines in this API version: use parent
        "subtotal": amount,
        "taxes": taxes,
    }


def invoice(
    invoice_id: str,
    customer_obj: dict,
    created: int,
    *,
    number: str,
    currency: str,
    lines: list[dict],
    billing_reason: str,
    subscription_id: str | None,
    period_start: int,
    period_end: int,
    status: str,
    discounts: list[str],
    attempt_count: int,
    paid_at: int | None,
    next_payment_attempt: int | None,
    payment_intent: str | None,
    starting_balance: int = 0,
) -> dict:
    """An invoice whose totals are the sums of its lines (all lines in `lines.data`)."""
    subtotal = sum(line["amount"] for line in lines)
    discount_total = sum(d["amount"] for line in lines for d in line["discount_amounts"])
    inclusive_tax = sum(
        t["amount"] for line in lines for t in line["taxes"] if t["tax_behavior"] == "inclusive"
    )
    exclusive_tax = sum(
        t["amount"] for line in lines for t in line["taxes"] if t["tax_behavior"] == "exclusive"
    )
    total = subtotal - discount_total + exclusive_tax
    amount_due = max(total + starting_balance, 0)
    paid = status == "paid"
    by_discount: dict[str, int] = {}
    for line in lines:
        for d in line["discount_amounts"]:
            by_discount[d["discount"]] = by_discount.get(d["discount"], 0) + d["amount"]
    by_tax: dict[tuple, int] = {}
    for line in lines:
        for t in line["taxes"]:
            key = (t["tax_behavior"], t["tax_rate_details"]["tax_rate"])
            by_tax[key] = by_tax.get(key, 0) + t["amount"]
    finalized = None if status == "draft" else created
    address_obj = customer_obj["address"]
    sub_parent = None
    if subscription_id:
        sub_parent = {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": {}, "subscription": subscription_id},
        }
    return {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "Acme Analytics Inc.",
        "account_tax_ids": None,
        "amount_due": amount_due,
        "amount_overpaid": 0,
        "amount_paid": amount_due if paid else 0,
        "amount_remaining": 0 if paid or status in ("void", "uncollectible") else amount_due,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": attempt_count,
        "attempted": attempt_count > 0,
        "auto_advance": status in ("draft", "open"),
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": currency,
        "custom_fields": None,
        "customer": customer_obj["id"],
        "customer_account": None,
        "customer_address": address_obj,
        "customer_email": customer_obj["email"],
        "customer_name": customer_obj["name"],
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": discounts,
        "due_date": None,
        "effective_at": finalized,
        "ending_balance": 0 if finalized else None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": f"https://invoice.sandbox.local/{invoice_id}",
        "invoice_pdf": f"https://invoice.sandbox.local/{invoice_id}/pdf",
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": list_object(f"/v1/invoices/{invoice_id}/lines", lines),
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": next_payment_attempt,
        "number": number,
        "on_behalf_of": None,
        "parent": sub_parent,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "payments": list_object(
            f"/v1/invoice_payments?invoice={invoice_id}",
            [
                {
                    "object": "invoice_payment",
                    "amount_paid": amount_due if paid else None,
                    "amount_requested": amount_due,
                    "currency": currency,
                    "invoice": invoice_id,
                    "is_default": True,
                    "payment": {"type": "payment_intent", "payment_intent": payment_intent},
                    "status": "paid" if paid else "open",
                }
            ]
            if payment_intent
            else [],
        ),
        "period_end": period_end,
        "period_start": period_start,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": starting_balance,
        "statement_descriptor": None,
        "status": status,
        "status_transitions": {
            "finalized_at": finalized,
            "marked_uncollectible_at": None,
            "paid_at": paid_at,
            "voided_at": None,
        },
        "subscription": None,  # gone from invoices in this API version: use parent
        "subtotal": subtotal,
        "subtotal_excluding_tax": subtotal - inclusive_tax,
        "test_clock": None,
        "total": total,
        "total_discount_amounts": [{"amount": a, "discount": d} for d, a in by_discount.items()],
        "total_excluding_tax": total - inclusive_tax - exclusive_tax,
        "total_pretax_credit_amounts": [],
        "total_taxes": [
            {
                "amount": a,
                "tax_behavior": b,
                "tax_rate_details": {"tax_rate": r},
                "taxability_reason": "standard_rated",
                "taxable_amount": None,
                "type": "tax_rate_details",
            }
            for (b, r), a in by_tax.items()
        ],
        "webhooks_delivered_at": created,
    }


def charge(
    charge_id: str,
    customer_obj: dict,
    created: int,
    *,
    amount: int,
    currency: str,
    paid: bool,
    payment_intent: str,
    description: str,
    failure_code: str | None = None,
    card_brand: str = "visa",
    last4: str = "4242",
) -> dict:
    country = customer_obj["address"]["country"]
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if paid else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": f"txn_{charge_id[3:]}" if paid else None,
        "billing_details": {
            "address": address(country),
            "email": customer_obj["email"],
            "name": customer_obj["name"],
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": "ACME ANALYTICS",
        "captured": paid,
        "created": created,
        "currency": currency,
        "customer": customer_obj["id"],
        "description": description,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": failure_code,
        "failure_message": "Your card has insufficient funds." if failure_code else None,
        "fraud_details": {},
        "livemode": False,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network" if paid else "declined_by_network",
            "reason": None if paid else "insufficient_funds",
            "risk_level": "normal",
            "seller_message": "Payment complete." if paid else "The bank declined.",
            "type": "authorized" if paid else "issuer_declined",
        },
        "paid": paid,
        "payment_intent": payment_intent,
        "payment_method": f"pm_{customer_obj['id'][4:]}",
        "payment_method_details": {
            "card": {
                "brand": card_brand,
                "country": country,
                "exp_month": 12,
                "exp_year": 2030,
                "funding": "credit",
                "last4": last4,
                "network": card_brand,
            },
            "type": "card",
        },
        "receipt_email": customer_obj["email"],
        "receipt_number": None,
        "receipt_url": f"https://pay.sandbox.local/receipts/{charge_id}",
        "refunded": False,
        "refunds": list_object(f"/v1/charges/{charge_id}/refunds", []),
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded" if paid else "failed",
        "transfer_data": None,
        "transfer_group": None,
    }


def refund(
    refund_id: str,
    charge_obj: dict,
    created: int,
    amount: int,
    reason: str,
    metadata: dict | None = None,
) -> dict:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": f"txn_{refund_id[3:]}",
        "charge": charge_obj["id"],
        "created": created,
        "currency": charge_obj["currency"],
        "customer": charge_obj["customer"],
        "customer_account": None,
        "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "metadata": metadata or {},
        "payment_intent": charge_obj["payment_intent"],
        "payment_method": charge_obj["payment_method"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def credit_note(
    cn_id: str,
    invoice_obj: dict,
    created: int,
    *,
    number: str,
    amount: int,
    line: dict,
    reason: str,
    refund_obj: dict | None,
    memo: str,
) -> dict:
    """A post-payment credit note for part of one invoice line, refunded or not."""
    cn_line = {
        "id": f"cnli_{cn_id[3:]}",
        "object": "credit_note_line_item",
        "amount": amount,
        "description": line["description"],
        "discount_amount": 0,
        "discount_amounts": [],
        "invoice_line_item": line["id"],
        "livemode": False,
        "metadata": {},
        "pretax_credit_amounts": [],
        "quantity": 1,
        "tax_rates": [],
        "taxes": [],
        "type": "invoice_line_item",
        "unit_amount": None,
        "unit_amount_decimal": None,
    }
    refunds = []
    if refund_obj:
        refunds = [
            {
                "amount_refunded": refund_obj["amount"],
                "refund": refund_obj["id"],
                "payment_record_refund": None,
                "type": "refund",
            }
        ]
    return {
        "id": cn_id,
        "object": "credit_note",
        "amount": amount,
        "amount_shipping": 0,
        "created": created,
        "currency": invoice_obj["currency"],
        "customer": invoice_obj["customer"],
        "customer_account": None,
        "customer_balance_transaction": None if refund_obj else f"cbtxn_{cn_id[3:]}",
        "discount_amount": 0,
        "discount_amounts": [],
        "effective_at": created,
        "invoice": invoice_obj["id"],
        "lines": list_object(f"/v1/credit_notes/{cn_id}/lines", [cn_line]),
        "livemode": False,
        "memo": memo,
        "metadata": {},
        "number": number,
        "out_of_band_amount": None,
        "pdf": f"https://invoice.sandbox.local/credit_notes/{cn_id}/pdf",
        "post_payment_amount": amount,
        "pre_payment_amount": 0,
        "pretax_credit_amounts": [],
        "reason": reason,
        "refunds": refunds,
        "shipping_cost": None,
        "status": "issued",
        "subtotal": amount,
        "subtotal_excluding_tax": amount,
        "total": amount,
        "total_excluding_tax": amount,
        "total_taxes": [],
        "type": "post_payment",
        "voided_at": None,
    }


def event(
    event_id: str, created: int, event_type: str, obj: dict, previous_attributes: dict | None = None
) -> dict:
    data = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
