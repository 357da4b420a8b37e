"""The one place that reaches past stripe-python's public interface.

Why: the public `StripeClient.raw_request` parses every response body with `json` into
OrderedDicts, which costs more than the request itself on a backfill; we want the SDK's
request machinery (signing, retries on 429 with `Stripe-Should-Retry`, 5xx and connection
errors, exponential backoff, typed errors) and our own parse of a 2xx body (orjson).

What this uses of the SDK's internals (stripe-python 16.x), and nothing else does:
- `StripeClient._requestor`: the client's `_APIRequestor`;
- `_APIRequestor.request_raw(method, url, params=, options=, base_address=, api_mode=,
  usage=)`: the signed, retried request, returning `(body, status, headers)`;
- `_APIRequestor._interpret_response(body, status, headers, api_mode)`: raises the SDK's
  typed error (AuthenticationError, InvalidRequestError, ...) for an error response.

tests/ingestion/test_stripe_sdk_contract.py exercises each of them against the installed
SDK and names what changed when an upgrade breaks one; stripe is pinned below 17 for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

import stripe

# What the contract test checks, as "owner.name" (kept in step with the functions below).
PRIVATE_NAMES = (
    "StripeClient._requestor",
    "_APIRequestor.request_raw",
    "_APIRequestor._interpret_response",
)
# the keyword arguments of `request_raw` we pass
REQUEST_RAW_KEYWORDS = ("params", "options", "base_address", "api_mode", "usage")


def get_raw(
    client: stripe.StripeClient, path: str, params: Mapping[str, object], usage: list[str]
) -> tuple[bytes | str, int, Mapping[str, str]]:
    """GET a v1 path through the SDK's requestor (signed, retried); the body unparsed."""
    body, status, headers = client._requestor.request_raw(
        "get",
        path,
        params=params,
        options={},
        base_address="api",
        api_mode="V1",
        usage=usage,
    )
    return body, status, headers  # type: ignore[return-value]


def raise_error_response(
    client: stripe.StripeClient, body: bytes | str, status: int, headers: Mapping[str, str]
) -> NoReturn:
    """Raise the SDK's typed error for a non-2xx response."""
    client._requestor._interpret_response(body, status, headers, "V1")
    raise stripe.APIError(f"unexpected HTTP {status}", http_status=status)
