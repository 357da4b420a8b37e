"""Stripe's API through the official SDK, within the account's request budget.

Requests go through the `StripeClient`'s requestor (`.sdk`, the one module that uses the
SDK's internals): the SDK builds, signs and retries them (429 with `Stripe-Should-Retry`,
5xx and connection errors, exponential backoff) and raises its typed errors; we skip
turning every object into a typed StripeObject, which costs more than the request.
A shared pacer keeps all threads just under the configured requests/s, and lists are paged
by many threads over ranges of `created` (see `backfill_pages`).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from queue import Empty, Full, Queue

import orjson
import stripe

from ..config import dlt_setting
from ..pacing import RequestBudget
from . import sdk

KEY_VARIABLE = "STRIPE_API_KEY"
BASE_VARIABLE = "STRIPE_API_BASE"
# A range of `created` expected to hold more pages than this is cut into parts of about
# this many, paged by other threads; at most MAX_SPLIT parts at a time.
SLICE_PAGES = 30
MAX_SPLIT = 64
SANDBOX_RATE = 25  # requests/s Stripe allows in test mode
LIVE_RATE = 100


class StripeConfigError(RuntimeError):
    """A missing or rejected API key: names the variable to set."""


class StripeLoadError(RuntimeError):
    """A request that still failed after retries: names the endpoint and Stripe's error."""


def resolve_api_key(api_key: str | None) -> str:
    key = api_key or os.environ.get(KEY_VARIABLE) or dlt_setting("stripe_api_key")
    if not key:
        raise StripeConfigError(
            f"No Stripe API key: set {KEY_VARIABLE} (or sources.stripe.api_key in "
            ".dlt/secrets.toml) to a secret key (sk_live_... or sk_test_...)."
        )
    return key


def default_rate(api_key: str) -> int:
    return LIVE_RATE if api_key.startswith(("sk_live_", "rk_live_")) else SANDBOX_RATE


class StripeApi:
    def __init__(
        self,
        api_key: str | None = None,
        api_base: str | None = None,
        requests_per_second: float | None = None,
        max_retries: int = 6,
        concurrency: int = 8,
    ):
        key = resolve_api_key(api_key)
        self.client_key = key
        base = api_base or os.environ.get(BASE_VARIABLE) or dlt_setting("stripe_api_base")
        self.client = stripe.StripeClient(
            key, base_addresses={"api": base} if base else None, max_network_retries=max_retries
        )
        rate = requests_per_second if requests_per_second is not None else default_rate(key)
        self.budget = RequestBudget(rate)
        self.concurrency = concurrency
        self._count = 0
        self._objects = 0
        self._lock = threading.Lock()

    @property
    def requests(self) -> int:
        return self._count

    @property
    def objects(self) -> int:
        """Objects received so far (list items, or one per retrieve)."""
        return self._objects

    def get(self, path: str, **params) -> dict:
        self.budget.acquire()
        with self._lock:
            self._count += 1
        try:
            # The SDK builds, signs and retries the request and raises its typed errors;
            # only a 2xx body is parsed here, with orjson (see .sdk for why and how)
            body, code, headers = sdk.get_raw(self.client, path, params, usage=["revwh"])
            if 200 <= code < 300:
                parsed = orjson.loads(body)
                received = len(parsed["data"]) if parsed.get("object") == "list" else 1
                with self._lock:
                    self._objects += received
                return parsed
            sdk.raise_error_response(self.client, body, code, headers)
        except stripe.AuthenticationError as exc:
            raise StripeConfigError(
                f"Stripe rejected the API key in {KEY_VARIABLE}: {exc.user_message or exc}"
            ) from None
        except stripe.StripeError as exc:
            raise StripeLoadError(
                f"GET {path} failed after retries: {type(exc).__name__}"
                f"{f' {exc.http_status}' if exc.http_status else ''}: "
                f"{exc.user_message or exc}"
            ) from None

    def pages(self, path: str, params: dict | None = None) -> Iterator[list[dict]]:
        """Every page of a list endpoint, 100 objects at a time, in Stripe's order."""
        params = {"limit": 100, **(params or {})}
        while True:
            body = self.get(path, **params)
            data = body["data"]
            if data:
                yield data
            if not body.get("has_more") or not data:
                return
            params["starting_after"] = data[-1]["id"]

    def backfill_pages(
        self,
        path: str,
        params: dict | None = None,
        created_gte: int | None = None,
        complete: Callable[[list[dict]], list[dict]] | None = None,
    ) -> Iterator[list[dict]]:
        """Every page of a list endpoint, fetched by several threads at once, in no
        particular order.

        Stripe lists are cursors, newest first, so one list cannot be paged in parallel;
        ranges of `created` can. Each range's first page tells how densely its newest
        objects lie; when that suggests more than SLICE_PAGES pages to go, the rest of the
        range is cut into parts expected to hold about SLICE_PAGES pages each, which other
        threads page (and cut again where history is denser). The whole list starts as one
        range. `complete` (e.g. fetching the rest of each object's embedded list) runs on
        every page in the thread that fetched it, so those requests overlap too."""
        finish = complete or (lambda page: page)
        params = {k: v for k, v in (params or {}).items() if k != "created"}
        yield from self.stream([self._range_pages(path, params, created_gte or 0, None, finish)])

    def _range_pages(self, path: str, params: dict, lower: int, upper: int | None, finish):
        """A stream call: the pages of objects created in [lower, upper) (no upper bound:
        everything from `lower` on)."""

        def call(spawn) -> Iterator[list[dict]]:
            created = {"gte": lower} if upper is None else {"gte": lower, "lt": upper}
            ranged = {**params, "created": created}
            body = self.get(path, limit=100, **ranged)
            data = body["data"]
            if data:
                yield finish(data)
            if not body.get("has_more") or not data:
                return
            oldest = data[-1]["created"]
            # seconds the first page covered, and the pages the rest would take at that rate
            covered = (data[0]["created"] + 1 if upper is None else upper) - oldest
            left = (oldest - lower) / max(covered, 1)
            if left > SLICE_PAGES and oldest - lower > 1:
                if lower <= 0:
                    # the account's first object is unknown: parts widen going back (older
                    # history is sparser), so few fall before the account existed
                    cuts, width = [oldest], max(covered, 1) * SLICE_PAGES
                    while cuts[-1] > lower and len(cuts) <= MAX_SPLIT:
                        cuts.append(max(lower, cuts[-1] - width))
                        width = int(width * 1.5)
                    if cuts[-1] > lower:
                        cuts.append(lower)
                    cuts.reverse()
                else:
                    parts = min(math.ceil(left / SLICE_PAGES), oldest - lower, MAX_SPLIT)
                    cuts = [lower + (oldest - lower) * i // parts for i in range(parts + 1)]
                for low, high in itertools.pairwise(cuts):
                    if high > low:
                        spawn(self._range_pages(path, params, low, high, finish))
                # here: only what is left of the page's oldest second (ties on `created`)
                ranged = {**params, "created": {"gte": oldest, "lte": oldest}}
            rest = {**ranged, "starting_after": data[-1]["id"]}
            yield from map(finish, self.pages(path, rest))

        return call

    def retrieve_many(self, path: str, ids: Iterable[str]) -> Iterator[dict]:
        """Each object by id, fetched concurrently, in no particular order."""

        def one(object_id: str):
            return lambda spawn: iter([[self.get(f"{path}/{object_id}")]])

        for page in self.stream([one(i) for i in ids]):
            yield from page

    def stream(self, calls: Iterable[Callable]) -> Iterator[list[dict]]:
        """Run each call on `concurrency` threads and yield the pages they produce as they
        arrive, in no particular order. A call is `call(spawn)` returning an iterator of
        pages; `spawn(other_call)` adds work (a range cut in parts).

        Memory stays bounded whatever the account's size: pages wait in a queue of
        2 x `concurrency`, and a thread that finds it full waits for the consumer. The
        first error stops every thread and is raised here."""
        queue: Queue = Queue(maxsize=2 * self.concurrency)
        stop = threading.Event()
        finished, spawned = object(), object()
        futures: list = []
        lock = threading.Lock()

        def put(item) -> bool:
            while not stop.is_set():
                try:
                    queue.put(item, timeout=0.1)
                    return True
                except Full:
                    continue
            return False

        def submit(call) -> None:
            with lock:
                if not stop.is_set():
                    futures.append(pool.submit(run, call))

        def spawn(call) -> None:
            # counted before the spawning call's own `finished`: the total never reaches
            # zero while work is still being added
            if put(spawned):
                submit(call)

        def run(call) -> None:
            try:
                for page in call(spawn):
                    if not put(page):
                        return
            except BaseException as exc:  # handed to the consumer, which raises it
                queue.put(_Failed(exc))
                stop.set()
            finally:
                queue.put(finished)

        with ThreadPoolExecutor(self.concurrency) as pool:
            initial = list(calls)
            remaining = len(initial)
            for call in initial:
                submit(call)
            try:
                while remaining:
                    item = queue.get()
                    if item is finished:
                        remaining -= 1
                    elif item is spawned:
                        remaining += 1
                    elif isinstance(item, _Failed):
                        raise item.error
                    else:
                        yield item
            finally:
                # on an error or an abandoned generator: release waiting threads, skip
                # calls not started, and drain so no `put` blocks the pool's shutdown
                stop.set()
                with lock:
                    started = list(futures)
                for future in started:
                    future.cancel()
                while any(not f.done() for f in started) or not queue.empty():
                    with contextlib.suppress(Empty):
                        queue.get(timeout=0.05)


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error
