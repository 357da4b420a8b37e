"""A local stand-in for ChartMogul's REST API that the real `chartmogul` SDK runs against
unchanged: data sources, customers, plans, invoice import (line items, transactions,
deletion), subscription cancellation and the metrics API, with MRR derived from what was
imported by ChartMogul's rules (store.py), and ChartMogul's limits, faults, latency, a
death after N requests and drift to order for tests."""

from .behaviour import Behaviour
from .server import DEFAULT_PORT, ChartMogulStandIn, build_store, serve
from .store import Step, Store, StoreError
from .world import load_fx_rates, load_world

__all__ = [
    "DEFAULT_PORT",
    "Behaviour",
    "ChartMogulStandIn",
    "Step",
    "Store",
    "StoreError",
    "build_store",
    "load_fx_rates",
    "load_world",
    "serve",
]
