"""Entity syncs when things go wrong or differ: a crash mid-sync then a rerun, a failing
organization, a scope the connection lacks, schema drift, and each personal-data mode."""

import logging
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from connectors.polar.pii import PiiPolicy
from orchestration.extract.entities import EntityProgress
from tests.fake_polar.fixtures import TEST_PII, FakePolar, fake_polar, seeded_world
from tests.orchestration.extract.entity_helpers import (
    ENTITIES,
    listed_ids,
    rows,
    snapshot,
    stored_ids,
)


class Crash(BaseException):
    """Stands for the process dying right after a page was committed."""


@pytest.fixture
def fake() -> Iterator[FakePolar]:
    """Two organizations with 120 days of business."""
    with fake_polar(seeded_world(organizations=2, days=120)) as served:
        yield served


@pytest.mark.parametrize("entity", ["orders", "customers", "refunds", "subscriptions"])
def test_a_crash_mid_sync_then_a_rerun_resumes_with_no_duplicate_and_no_gap(
    tmp_path: Path, entity: str
) -> None:
    with fake_polar(seeded_world(organizations=1, days=400)) as served:
        crash_then_rerun(served, tmp_path, entity)


def crash_then_rerun(fake: FakePolar, tmp_path: Path, entity: str) -> None:
    """Die after the first committed page, rerun, compare with a fresh full sync."""
    path = tmp_path / "w.duckdb"

    def crash_after_one_page(progress: EntityProgress) -> None:
        raise Crash(progress.describe())

    with pytest.raises(Crash):
        fake.sync(path, [entity], on_progress=crash_after_one_page)
    kept = stored_ids(path, entity)
    assert 0 < len(kept) < len(listed_ids(fake.world, entity))
    fake.world.requests.clear()
    fake.sync(path, [entity])
    first_rerun = fake.requests(entity)[0]
    fake.sync(tmp_path / "fresh.duckdb", [entity])
    assert snapshot(path, entity) == snapshot(tmp_path / "fresh.duckdb", entity)
    assert stored_ids(path, entity) == listed_ids(fake.world, entity)
    resumed = {
        "orders": "created_after" in first_rerun,
        "subscriptions": "started_after" in first_rerun,
        "customers": first_rerun["page"] == ["2"],
        "refunds": first_rerun["page"] == ["2"],
    }
    assert resumed[entity], first_rerun  # it went on from the committed pages


def test_failing_organizations_keep_their_rows_and_the_next_sync_completes_them(
    fake: FakePolar, tmp_path: Path
) -> None:
    path = tmp_path / "w.duckdb"
    fake.world.fail_after = {"orders": 2}  # org 1: two pages, then an error; org 2: errors
    outcome = fake.sync(path, ["orders"], concurrency=1)["orders"]
    statuses = [(o.status, o.rows > 0) for o in outcome.organizations]
    assert statuses == [("failed", True), ("failed", False)]
    assert "injected failure" in (outcome.failed[0].error or "")
    state = rows(path, "select last_status, last_error from raw.polar_entity_sync")
    assert {s for s, _ in state} == {"failed"} and all("injected failure" in e for _, e in state)
    fake.world.fail_after = {}
    fake.sync(path, ["orders"])
    assert stored_ids(path, "orders") == listed_ids(fake.world, "orders")


def test_a_missing_scope_skips_that_entity_with_the_fix_and_syncs_the_others(
    fake: FakePolar, tmp_path: Path
) -> None:
    fake.world.denied_scopes = {"refunds:read"}
    outcomes = fake.sync(tmp_path / "w.duckdb", concurrency=1)
    refunds = outcomes["refunds"]
    assert refunds.missing_scope == "refunds:read"
    assert [o.status for o in refunds.organizations] == ["missing_scope", "missing_scope"]
    assert len(fake.requests("refunds")) == 1  # one refusal says it for every organization
    assert "polar-metrics connect" in (refunds.scope_error or "")
    for entity in ("products", "customers", "subscriptions", "orders"):
        assert stored_ids(tmp_path / "w.duckdb", entity) == listed_ids(fake.world, entity)


def test_unknown_fields_are_kept_and_missing_ones_are_null_and_both_reported(
    fake: FakePolar, tmp_path: Path
) -> None:
    fake.world.extra_fields = {"orders": {"loyalty_points": 7}}
    fake.world.dropped_fields = {"orders": {"platform_fee_amount", "billing_reason"}}
    outcome = fake.sync(tmp_path / "w.duckdb", ["orders"])["orders"]
    assert outcome.drift == {
        "new": ["loyalty_points"],
        "missing": ["billing_reason", "platform_fee_amount"],
    }
    assert stored_ids(tmp_path / "w.duckdb", "orders") == listed_ids(fake.world, "orders")
    stored = rows(
        tmp_path / "w.duckdb",
        "select distinct billing_reason, platform_fee_amount, "
        "json_extract(item, '$.loyalty_points')::int from raw.polar_orders",
    )
    assert stored == [(None, None, 7)]
    drift = rows(tmp_path / "w.duckdb", "select distinct schema_drift from raw.polar_entity_sync")
    assert "loyalty_points" in drift[0][0]


def every_text_in(path: Path) -> str:
    """Every varchar and JSON value of every table in the warehouse, concatenated."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type in ('VARCHAR', 'JSON')"
        ).fetchall()
        parts = [
            str(con.execute(f"select string_agg(\"{c}\"::varchar, ' ') from {s}.{t}").fetchone()[0])
            for s, t, c in columns
        ]
    finally:
        con.close()
    return " ".join(parts)


@pytest.mark.parametrize("mode", ["hash", "drop"])
def test_no_clear_email_or_name_anywhere_in_the_warehouse_or_the_logs(
    fake: FakePolar, tmp_path: Path, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    policy = TEST_PII if mode == "hash" else PiiPolicy("drop")
    fake.world.dropped_fields = {"customers": {"external_id"}}  # a drift warning is logged
    fake.sync(tmp_path / "w.duckdb", pii=policy, on_progress=lambda p: logging.info(p.describe()))
    logged = caplog.text.lower()
    assert "external_id" in logged and not any(e.lower() in logged for e in fake.world.emails)
    text = every_text_in(tmp_path / "w.duckdb").lower()
    assert len(text) > 100_000
    leaked = [v for v in fake.world.emails | fake.world.names if v.lower() in text]
    assert leaked == []
    assert "fake street" not in text


def test_hashed_emails_still_join_orders_to_customers_and_count_distinct(
    fake: FakePolar, tmp_path: Path
) -> None:
    fake.sync(tmp_path / "w.duckdb")
    joined = rows(
        tmp_path / "w.duckdb",
        "select count(*), count(*) filter (json_extract_string(o.item, '$.customer.email') = "
        "c.email), count(distinct c.email) from raw.polar_orders o join raw.polar_customers c "
        "on c.id = o.customer_id",
    )[0]
    assert joined[0] == joined[1] > 0
    emails = {c["email"] for o in fake.world.organizations.values() for c in o.customers.values()}
    distinct = rows(tmp_path / "w.duckdb", "select count(distinct email) from raw.polar_customers")
    assert distinct == [(len(emails),)]


def test_keep_stores_emails_and_switching_to_hash_rewrites_every_stored_row(
    fake: FakePolar, tmp_path: Path
) -> None:
    path = tmp_path / "w.duckdb"
    fake.sync(path, pii=PiiPolicy("keep"))
    assert any(email in every_text_in(path) for email in fake.world.emails)
    org = next(iter(fake.world.organizations.values()))
    fake.world.delete_customer(org, next(iter(org.customers)))  # never listed again
    fake.sync(path, pii=TEST_PII)
    text = every_text_in(path)
    assert not any(email in text for email in fake.world.emails)
    for entity in ENTITIES:
        assert listed_ids(fake.world, entity) <= stored_ids(path, entity)
