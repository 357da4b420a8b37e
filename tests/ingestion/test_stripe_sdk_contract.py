"""The Stripe SDK internals ingestion/stripe/sdk.py relies on, checked against the installed
stripe-python: an upgrade that renames or reshapes one fails here, naming it, instead of
deep inside a load. Requests go over HTTP to the Stripe stand-in."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import orjson
import pytest
import stripe

from ingestion.stripe import sdk
from sandbox.stripe.server import StripeStandIn

KEY = "sk_test_sdkcontract"
CUSTOMER = {"id": "cus_contract1", "object": "customer", "created": 1_700_000_000}


def _changed(name: str, what: str) -> str:
    return (
        f"stripe {stripe.VERSION}: {name} {what}; ingestion/stripe/sdk.py relies on it "
        "(adapt it to the new SDK, or keep stripe on the tested major version)"
    )


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    fixtures = tmp_path_factory.mktemp("stripe_contract")
    (fixtures / "customers.jsonl").write_bytes(orjson.dumps(CUSTOMER) + b"\n")
    with StripeStandIn(fixtures, rate_limit=None, api_key=KEY) as server:
        yield server


def _client(url: str, key: str = KEY) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": url}, max_network_retries=0)


def test_every_private_name_still_exists_with_the_shape_we_call():
    client = stripe.StripeClient(KEY)
    requestor = getattr(client, "_requestor", None)
    assert requestor is not None, _changed("StripeClient._requestor", "is gone")
    owner = type(requestor).__name__
    assert owner == "_APIRequestor", _changed("StripeClient._requestor", f"is a {owner} now")
    for name in sdk.PRIVATE_NAMES[1:]:
        attribute = name.split(".", 1)[1]
        assert callable(getattr(requestor, attribute, None)), _changed(name, "is gone")
    keywords = inspect.signature(requestor.request_raw).parameters
    missing = [k for k in sdk.REQUEST_RAW_KEYWORDS if k not in keywords]
    assert not missing, _changed("_APIRequestor.request_raw", f"lost the arguments {missing}")
    positional = list(inspect.signature(requestor._interpret_response).parameters)
    assert len(positional) == 4, _changed(
        "_APIRequestor._interpret_response", f"takes {positional} now, not 4 arguments"
    )


def test_a_2xx_body_comes_back_unparsed_from_the_signed_request(standin):
    body, status, headers = sdk.get_raw(_client(standin.url), "/v1/customers", {}, ["revwh"])
    assert status == 200, _changed("_APIRequestor.request_raw", f"answered {status}")
    assert isinstance(body, bytes | str), _changed(
        "_APIRequestor.request_raw", f"returns a {type(body).__name__} body"
    )
    assert [c["id"] for c in orjson.loads(body)["data"]] == [CUSTOMER["id"]]
    assert "request-id" in {k.lower() for k in headers}


@pytest.mark.parametrize(
    ("key", "path", "error"),
    [
        ("sk_test_wrongkey", "/v1/customers", stripe.AuthenticationError),
        (KEY, "/v1/customers/cus_missing", stripe.InvalidRequestError),
    ],
)
def test_an_error_response_raises_the_sdks_typed_error(standin, key, path, error):
    client = _client(standin.url, key)
    body, status, headers = sdk.get_raw(client, path, {}, ["revwh"])
    assert status >= 400
    with pytest.raises(stripe.StripeError) as raised:
        sdk.raise_error_response(client, body, status, headers)
    assert isinstance(raised.value, error), _changed(
        "_APIRequestor._interpret_response",
        f"raised {type(raised.value).__name__} for HTTP {status}, not {error.__name__}",
    )


PRODUCT = ("core", "ingestion", "quality", "serving", "alerts", "orchestration", "revwh")


def test_no_other_module_reaches_into_the_sdk():
    """The SDK's private names stay in ingestion/stripe/sdk.py."""
    attributes = {name.rsplit(".", 1)[1] for name in sdk.PRIVATE_NAMES}
    root = Path(sdk.__file__).parents[2]
    offenders = []
    for path in (p for package in PRODUCT for p in (root / package).rglob("*.py")):
        if path == Path(sdk.__file__):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Attribute) and node.attr in attributes) or (
                isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stripe._")
            ):
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not offenders, f"stripe SDK internals outside ingestion/stripe/sdk.py: {offenders}"
