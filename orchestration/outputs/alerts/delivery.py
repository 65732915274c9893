"""Webhook delivery of triggered alerts, AT LEAST once per rule, scope and day.

A lost alert is worse than a repeated one, so a delivery is recorded only after the webhook
accepted it: a crash (kill -9, power cut) between the POST and the record posts the alert again
on the next refresh; it is never silently dropped. Apart from that crash window each alert goes
out once per rule, scope and day.

Deliveries are recorded in a small SQLite file in the state directory (not the warehouse, so
alerting never competes with the single DuckDB writer). The write lock is held while posting, so
two evaluations running at once cannot both deliver the same alert.
"""

import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from connectors.polar.tls import tls_context
from orchestration.outputs.alerts.evaluate import AlertResult

WEBHOOK_ENV = "POLAR_METRICS_ALERT_WEBHOOK"
DELIVERIES_FILE = "alerts.sqlite"
WEBHOOK_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryOutcome:
    """What happened to one triggered alert: sent, already sent earlier, or failed (and why)."""

    rule: str
    scope: str
    status: str  # sent | already_sent | failed | no_webhook
    detail: str = ""


def webhook_url_from_env() -> str | None:
    """The webhook URL from `POLAR_METRICS_ALERT_WEBHOOK`, if set."""
    return os.environ.get(WEBHOOK_ENV) or None


def describe_webhook(url: str) -> str:
    """The webhook without its path: Slack-style URLs carry a secret in the path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"


def deliver_alerts(
    results: list[AlertResult],
    state_dir: Path,
    webhook_url: str | None,
    post: Callable[[str, dict], None] | None = None,
) -> list[DeliveryOutcome]:
    """POST each triggered alert not yet recorded as delivered today (at least once).

    Failures are logged, never raised; a failed or unrecorded delivery is retried next time.
    """
    triggered = [result for result in results if result.triggered]
    if not webhook_url:
        return [DeliveryOutcome(r.rule.name, r.scope, "no_webhook") for r in triggered]
    send = post or _post_json
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    con = sqlite3.connect(state_dir / DELIVERIES_FILE, timeout=30, isolation_level=None)
    try:
        con.execute(
            "create table if not exists alert_deliveries(rule text, scope text, alert_date text,"
            " delivered_at text, primary key (rule, scope, alert_date))"
        )
        return [_deliver_one(con, result, webhook_url, send) for result in triggered]
    finally:
        con.close()


def _deliver_one(
    con: sqlite3.Connection, result: AlertResult, url: str, send: Callable[[str, dict], None]
) -> DeliveryOutcome:
    key = (result.rule.name, result.scope, str(result.alert_date))
    con.execute("begin immediate")
    try:
        seen = con.execute(
            "select 1 from alert_deliveries where rule = ? and scope = ? and alert_date = ?", key
        ).fetchone()
        if seen:
            con.execute("rollback")
            return DeliveryOutcome(*key[:2], "already_sent")
        send(url, {"text": slack_text(result)})
        # Recorded after the webhook accepted it (at least once): if the process dies right
        # here, the next refresh posts it again rather than never.
        con.execute(
            "insert into alert_deliveries values (?, ?, ?, ?)",
            (*key, datetime.now(UTC).isoformat()),
        )
        con.execute("commit")
        return DeliveryOutcome(*key[:2], "sent")
    except (httpx.HTTPError, AlertDeliveryError) as error:
        con.execute("rollback")
        detail = f"could not POST alert {result.rule.name!r} to {describe_webhook(url)}: {error}"
        logger.error("%s; it will be retried after the next refresh", detail)
        return DeliveryOutcome(*key[:2], "failed", detail)


class AlertDeliveryError(Exception):
    """The webhook answered with an error status."""


def slack_text(result: AlertResult) -> str:
    """The Slack message: severity, rule and the sentence with the numbers."""
    icon = ":rotating_light:" if result.rule.severity == "error" else ":warning:"
    severity = result.rule.severity.upper()
    return f"{icon} polar-metrics {severity} `{result.rule.name}` — {result.message}"


def _post_json(url: str, payload: dict) -> None:
    response = httpx.post(url, json=payload, timeout=WEBHOOK_TIMEOUT, verify=tls_context())
    if response.status_code >= 300:
        raise AlertDeliveryError(f"HTTP {response.status_code} {response.text[:200]!r}")
