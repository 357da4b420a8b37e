"""The Stripe resources we load, and how each one's objects are shaped for the warehouse."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceSpec:
    name: str  # table and dlt resource name
    object: str  # Stripe's `object` value, to map events to resources
    list_params: tuple[dict, ...] = ({},)  # several lists where Stripe's defaults hide data
    mutable: bool = True  # changes after creation (refreshed in full after an event gap)

    @property
    def path(self) -> str:
        return f"/v1/{self.name}"


RESOURCES: tuple[ResourceSpec, ...] = (
    ResourceSpec("customers", "customer"),
    ResourceSpec("products", "product"),
    # prices.list returns active prices only; archived ones still appear on old invoices
    ResourceSpec("prices", "price", ({"active": True}, {"active": False})),
    ResourceSpec("coupons", "coupon"),
    # subscriptions.list omits canceled subscriptions unless asked for all of them
    ResourceSpec("subscriptions", "subscription", ({"status": "all"},)),
    ResourceSpec("invoices", "invoice"),
    ResourceSpec("charges", "charge"),
    ResourceSpec("refunds", "refund", mutable=False),
    ResourceSpec("credit_notes", "credit_note"),
)
BY_OBJECT = {spec.object: spec for spec in RESOURCES}
# Nested lists embedded up to 10 items, and where Stripe pages the rest.
EMBEDDED_LISTS = {
    "invoices": ("lines", "/v1/invoices/{id}/lines"),
    "subscriptions": ("items", "/v1/subscription_items"),
    "credit_notes": ("lines", "/v1/credit_notes/{id}/lines"),
}
