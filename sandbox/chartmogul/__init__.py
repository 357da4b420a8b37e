"""A local stand-in for ChartMogul's REST API that the real `chartmogul` SDK runs against
unchanged: data sources, customers, plans, invoice import, subscription cancellation and
the metrics API, with drift, faults and latency to order for tests."""

from .server import DEFAULT_PORT, ChartMogulStandIn, serve
from .store import Step, Store, StoreError
from .world import load_world

__all__ = [
    "DEFAULT_PORT",
    "ChartMogulStandIn",
    "Step",
    "Store",
    "StoreError",
    "load_world",
    "serve",
]
