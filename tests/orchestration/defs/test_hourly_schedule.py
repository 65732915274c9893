"""The hourly refresh of yesterday and today runs by default; one setting switches it off."""

import importlib
from collections.abc import Iterator

import dagster as dg
import pytest

from orchestration.defs.polar import schedules


@pytest.fixture
def reload_schedules(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Schedules are defined at import: reload the module under each setting, then restore it."""
    yield monkeypatch
    monkeypatch.undo()
    importlib.reload(schedules)


@pytest.mark.parametrize(
    ("setting", "status"),
    [
        (None, dg.DefaultScheduleStatus.RUNNING),
        ("on", dg.DefaultScheduleStatus.RUNNING),
        ("off", dg.DefaultScheduleStatus.STOPPED),
        ("OFF ", dg.DefaultScheduleStatus.STOPPED),
        ("false", dg.DefaultScheduleStatus.STOPPED),
    ],
)
def test_hourly_today_refresh_runs_unless_switched_off(
    reload_schedules: pytest.MonkeyPatch, setting: str | None, status: dg.DefaultScheduleStatus
) -> None:
    if setting is None:
        reload_schedules.delenv("POLAR_METRICS_HOURLY_REFRESH", raising=False)
    else:
        reload_schedules.setenv("POLAR_METRICS_HOURLY_REFRESH", setting)
    reloaded = importlib.reload(schedules)
    assert reloaded.polar_hourly_today.default_status == status
    assert reloaded.polar_hourly_today.job_name == "polar_raw_recent_job"
    assert reloaded.polar_daily_refresh.default_status == dg.DefaultScheduleStatus.RUNNING
