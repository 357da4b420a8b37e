"""The schedules start stopped unless REVWH_SCHEDULES=running (the production compose file
sets it), and REVWH_<JOB>_CRON replaces a job's cron; a wrong value is named."""

import importlib

import pytest
from dagster import DefaultScheduleStatus


@pytest.fixture
def reload_schedules(monkeypatch):
    import orchestration.defs.schedules as schedules

    def reload(**env: str):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return importlib.reload(schedules)

    yield reload
    monkeypatch.undo()
    importlib.reload(schedules)


def test_schedules_start_stopped_unless_the_deployment_says_running(reload_schedules, monkeypatch):
    monkeypatch.delenv("REVWH_SCHEDULES", raising=False)
    stopped = reload_schedules()
    assert {s.default_status for s in stopped.schedules} == {DefaultScheduleStatus.STOPPED}
    running = reload_schedules(REVWH_SCHEDULES=" Running ")
    assert {s.default_status for s in running.schedules} == {DefaultScheduleStatus.RUNNING}
    assert len(running.schedules) == 3


def test_a_wrong_schedule_status_is_named(reload_schedules):
    with pytest.raises(
        ValueError, match=r"REVWH_SCHEDULES must be 'running' or 'stopped', not 'on'"
    ):
        reload_schedules(REVWH_SCHEDULES="on")


def test_a_jobs_cron_can_be_replaced(reload_schedules):
    schedules = reload_schedules(REVWH_HOURLY_CRON="*/5 * * * *")
    crons = {s.job_name: s.cron_schedule for s in schedules.schedules}
    assert crons == {
        "hourly_refresh": "*/5 * * * *",
        "daily_build": "30 5 * * *",
        "weekly_health": "0 6 * * 1",
    }
    with pytest.raises(ValueError, match=r"REVWH_DAILY_CRON.*invalid cron schedule 'every day'"):
        reload_schedules(REVWH_DAILY_CRON="every day")
