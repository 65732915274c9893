"""A transient failure of Polar's token endpoint must not fail a whole refresh.

The access token expires mid-schedule; the refresh exchange then meets one 503 (or one 429 with
Retry-After 1). The exchange was never processed, so retrying it is safe; the refresh should
end complete, the connection stay `active`, and Polar never see a replayed refresh token. When
the endpoint keeps failing, the round fails with a clear error and the stored tokens stay usable.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.polar.errors import OAuthError
from tests.soak.harness import TOKEN, SoakPolar, refresh_round, soak_polar, token_snapshot


@pytest.fixture(scope="module")
def polar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoakPolar]:
    """A small `many` emulator with the connection."""
    with soak_polar(tmp_path_factory.mktemp("token-faults"), 3) as running:
        yield running


@pytest.mark.parametrize(
    "fault",
    [
        {"count": 1, "status": 503, "path_prefix": TOKEN},
        {"count": 1, "status": 429, "retry_after": 1, "path_prefix": TOKEN},
    ],
    ids=["503", "429"],
)
def test_a_transient_token_endpoint_failure_is_retried_and_the_refresh_completes(
    polar: SoakPolar, tmp_path: Path, fault: dict[str, object]
) -> None:
    generation = token_snapshot(polar.settings).generation
    polar.control("POST", "expire-access-tokens")
    polar.control("POST", "faults", {"fail_next": fault})
    try:
        result = refresh_round(polar.settings, tmp_path / "warehouse.duckdb", window_days=7)
    finally:
        polar.control("DELETE", "faults")
    assert result.outcome.status == "success"
    assert result.tokens.status == "active" and result.tokens.tokens_decrypt
    assert result.tokens.generation > generation
    assert polar.stats()["invalid_grant"] == 0


def test_a_token_endpoint_that_keeps_failing_fails_the_round_but_keeps_the_connection(
    polar: SoakPolar, tmp_path: Path
) -> None:
    generation = token_snapshot(polar.settings).generation
    calls_before = polar.stats()["requests"].get(f"POST {TOKEN}", 0)
    polar.control("POST", "expire-access-tokens")
    # The exchange and its one retry both meet a 503: the round fails, saying what happened.
    polar.control(
        "POST", "faults", {"fail_next": {"count": 2, "status": 503, "path_prefix": TOKEN}}
    )
    try:
        with pytest.raises(OAuthError, match="503") as failed:
            refresh_round(polar.settings, tmp_path / "first.duckdb", window_days=7)
    finally:
        polar.control("DELETE", "faults")
    assert "polar_rt_" not in str(failed.value) and "polar_at_" not in str(failed.value)
    assert "retry later" in str(failed.value)
    assert polar.stats()["requests"][f"POST {TOKEN}"] - calls_before == 2
    after_failure = token_snapshot(polar.settings)
    assert after_failure.status == "active" and after_failure.generation == generation
    # The next refresh, with the endpoint healthy again, rotates normally and completes.
    result = refresh_round(polar.settings, tmp_path / "second.duckdb", window_days=7)
    assert result.outcome.status == "success"
    assert result.tokens.status == "active" and result.tokens.tokens_decrypt
    assert result.tokens.generation > generation
    assert polar.stats()["invalid_grant"] == 0
