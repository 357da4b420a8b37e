"""The product's app database (SQLite in the sandbox, PostgreSQL in production) into `raw_app`."""

from .database import AppDatabaseError
from .gate import REJECTS_TABLE
from .load import load_app_db
from .source import TABLES, app_db_source

__all__ = ["REJECTS_TABLE", "TABLES", "AppDatabaseError", "app_db_source", "load_app_db"]
