"""Serving the warehouse to readers: a read-only published copy of the marts."""

from serving.publish import (
    PublishResult,
    connect_published,
    default_published_path,
    publish_marts,
)

__all__ = ["PublishResult", "connect_published", "default_published_path", "publish_marts"]
