"""A local stand-in for Stripe's read API, served from simulator fixture folders."""

from .app import create_app
from .behaviour import Behaviour
from .fixtures import Store
from .loader import load_fixtures
from .requestlog import RequestLog
from .server import StripeStandIn, serve

__all__ = [
    "Behaviour",
    "RequestLog",
    "Store",
    "StripeStandIn",
    "create_app",
    "load_fixtures",
    "serve",
]
