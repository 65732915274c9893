"""Renders DashboardData into one self-contained HTML page (inline CSS, JS, SVG; no requests).

Every string that comes from data (organization names, warning text) is HTML-escaped here or set
with `textContent` by the page's script, so a hostile organization name cannot inject markup.
"""

import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from connectors.polar.private_files import PRIVATE_DIRECTORY, private_files
from orchestration.outputs.dashboard.analytics_sections import analytics_section
from orchestration.outputs.dashboard.data import DashboardData
from orchestration.outputs.dashboard.sections import (
    DEFAULT_PERIOD,
    SWITCHER,
    cards_sections,
    charts,
    organization_table,
    switcher,
)
from orchestration.outputs.formatting import MISSING

TEMPLATE_PATH = Path(__file__).with_name("template.html")
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def render_dashboard(data: DashboardData, generated_at: datetime | None = None) -> str:
    """The dashboard page for `data` as one HTML string."""
    generated = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    has_orgs = bool(data.active_organizations)
    body = (
        switcher() + cards_sections(data) + charts(data) + analytics_section(data)
        if has_orgs
        else ""
    )
    if len(data.active_organizations) > 1:
        body += organization_table(data)
    replacements = {
        "title": html.escape(f"Polar revenue — {data.connection}"),
        "facts": _facts(data),
        "notices": _notices(data),
        "body": body,
        "generated_at": generated,
        "data_json": _script_json(_page_data(data)),
    }
    # One pass over the template: text from data that looks like a placeholder stays text.
    template = TEMPLATE_PATH.read_text(encoding="utf-8")
    return PLACEHOLDER.sub(lambda match: replacements[match.group(1)], template)


def write_dashboard(data: DashboardData, path: Path) -> Path:
    """Render and write the page atomically (a reader never sees half a file)."""
    path.parent.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(render_dashboard(data), encoding="utf-8")
    private_files(partial)  # revenue figures: owner-only before it takes the page's name
    partial.replace(path)
    return path


def _facts(data: DashboardData) -> str:
    names = ", ".join(org["name"] for org in data.active_organizations) or "none"
    status = "disconnected" if data.disconnected else data.connection_status or "unknown"
    refreshed = data.last_refresh.strftime("%Y-%m-%d %H:%M %Z") if data.last_refresh else "never"
    facts = (
        ("connection", "Connection", data.connection),
        ("organizations", "Organizations", names),
        ("last-refresh", "Last refresh", refreshed.strip()),
        ("status", "Status", status),
        ("environment", "Environment", data.environment or "unknown"),
    )
    return "".join(
        f'<li>{label}: <strong data-testid="fact-{key}">{html.escape(value)}</strong></li>'
        for key, label, value in facts
    )


def _notices(data: DashboardData) -> str:
    notices = []
    if data.needs_reauth:
        command = f"polar-metrics connect --connection {data.connection}"
        notices.append(
            _notice(
                "reconnect-notice",
                "error",
                "Reconnect to Polar",
                "Polar no longer accepts this connection's authorization, so the numbers below "
                f"stop at the last refresh. Run <code>{html.escape(command)}</code>, then refresh.",
            )
        )
    if data.disconnected:
        stopped = data.data_stopped_on or "its last refresh"
        command = f"polar-metrics disconnect --connection {data.connection} --purge --yes"
        notices.append(
            _notice(
                "disconnected-notice",
                "error",
                "Disconnected",
                f"This connection was disconnected from Polar; its data stopped on "
                f"{html.escape(str(stopped))} and is not refreshed any more. Reconnect with "
                f"<code>polar-metrics connect --connection {html.escape(data.connection)}</code>"
                f", or delete its data with <code>{html.escape(command)}</code>.",
            )
        )
    if not data.active_organizations:
        notices.append(
            _notice(
                "no-organization",
                "info",
                "No organization",
                "This Polar account has no active organization yet, so there is nothing to show. "
                "Create an organization on polar.sh (Dashboard &gt; New organization), then run "
                "<code>polar-metrics refresh</code>.",
            )
        )
    if data.currency_warning:
        notices.append(
            _notice(
                "currency-banner",
                "warning",
                "Different currencies",
                html.escape(data.currency_warning),
            )
        )
    notices.extend(_alert_notice(alert) for alert in data.alerts)
    return "\n".join(notices)


def _notice(testid: str, kind: str, title: str, body_html: str) -> str:
    role = "alert" if kind == "error" else "status"
    return (
        f'<section class="notice {kind}" role="{role}" data-testid="{testid}" '
        f'aria-labelledby="{testid}-title"><h2 id="{testid}-title">{title}</h2>'
        f"<p>{body_html}</p></section>"
    )


def _alert_notice(alert: dict[str, str]) -> str:
    kind = "error" if alert["severity"] == "error" else "warning"
    testid = f"alert-{alert['rule']}"
    title = f"Revenue alert ({alert['severity']}): {html.escape(alert['rule'])}"
    return _notice(html.escape(testid), kind, title, html.escape(alert["message"]))


def _page_data(data: DashboardData) -> dict:
    labels = dict(SWITCHER.values())
    texts = {}
    for period, (start, end) in data.periods.items():
        partial = f" · includes {data.today_label}" if end and end == data.today else ""
        texts[period] = f"{labels.get(period, period)}: {start} to {end}{partial}"
    return {
        "values": data.values,
        "period_labels": labels,
        "period_texts": texts,
        "selected_period": DEFAULT_PERIOD,
        "compare_text": "vs previous period",
        "missing": MISSING,
    }


def _script_json(payload: dict) -> str:
    """JSON safe inside a <script> element: no `</script>` or `<!--` can be formed by data."""
    text = json.dumps(payload, default=str, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
