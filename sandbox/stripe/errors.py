"""Stripe-shaped error responses."""

from __future__ import annotations

from typing import Any

SUPPORT = "https://support.stripe.com/"


class StripeError(Exception):
    """Raised by handlers; the app turns it into Stripe's `{"error": {...}}` body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        error: dict[str, Any] = {}
        if code is not None:
            error["code"] = code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        error["message"] = message
        if param is not None:
            error["param"] = param
        error["type"] = type
        self.body = {"error": error}


def invalid_param(message: str, param: str, code: str = "parameter_invalid") -> StripeError:
    return StripeError(400, message, code=code, param=param)


def unknown_param(param: str) -> StripeError:
    return StripeError(
        400, f"Received unknown parameter: {param}", code="parameter_unknown", param=param
    )


def no_such(noun: str, object_id: str, param: str = "id", status: int = 404) -> StripeError:
    return StripeError(
        status, f"No such {noun}: '{object_id}'", code="resource_missing", param=param
    )


def unrecognized_url(method: str, path: str) -> StripeError:
    return StripeError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        f"or we can help at {SUPPORT}.",
    )


def missing_api_key() -> StripeError:
    return StripeError(
        401,
        "You did not provide an API key. You need to provide your API key in the "
        "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
        "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
        f"or we can help at {SUPPORT}.",
    )


def mask_key(key: str) -> str:
    """Stripe shows only the key's prefix and its last four characters."""
    prefix, _, rest = key.rpartition("_")
    head = f"{prefix}_" if prefix else ""
    if len(rest) <= 4:
        return head + "*" * len(rest)
    return head + "*" * (len(rest) - 4) + rest[-4:]


def invalid_api_key(key: str) -> StripeError:
    return StripeError(401, f"Invalid API Key provided: {mask_key(key)}")


def rate_limited() -> StripeError:
    return StripeError(
        429,
        "Too many requests hit the API too quickly. We recommend an exponential backoff "
        "of your requests.",
        code="rate_limit",
        headers={"Stripe-Should-Retry": "true"},
    )


def api_error() -> StripeError:
    return StripeError(
        500,
        "An unknown error occurred",
        type="api_error",
        headers={"Stripe-Should-Retry": "true"},
    )
