"""The outbound side of ChartMogul: the warehouse's export marts sent to a ChartMogul custom
data source, idempotent, retried, logged (schema `chartmogul_sync`). See sync.py."""

from .client import ChartMogulRejected
from .report import SyncReport, TypeCounts
from .settings import SyncSettings
from .sync import ChartMogulSyncError, ChartMogulSyncInputError, sync_chartmogul

__all__ = [
    "ChartMogulRejected",
    "ChartMogulSyncError",
    "ChartMogulSyncInputError",
    "SyncReport",
    "SyncSettings",
    "TypeCounts",
    "sync_chartmogul",
]
