"""A code location whose one sensor always fails, for the sensor-failure alert test."""

from dagster import DefaultSensorStatus, Definitions, sensor


@sensor(minimum_interval_seconds=1, default_status=DefaultSensorStatus.RUNNING)
def broken_sensor(context):
    raise RuntimeError("the event log cannot be read")


defs = Definitions(sensors=[broken_sensor])
