"""Money, counts, ratios and changes read the same in the dashboard and the CLI."""

from datetime import UTC, datetime

import pytest

from connectors.polar.catalogue import metric_catalogue
from orchestration.outputs.formatting import (
    change_tone,
    format_change,
    format_metric,
    format_money,
    terminal_safe,
)
from orchestration.outputs.periods import today_so_far


@pytest.mark.parametrize(
    ("cents", "currency", "text"),
    [
        (123456, "usd", "$1,234.56"),
        (123456, "eur", "€1,234.56"),
        (-500, "usd", "-$5.00"),
        (0, "gbp", "£0.00"),
        (1234, "jpy", "¥1,234"),
        (123456, "chf", "1,234.56 CHF"),
        (123456, "eur,usd", "1,234.56 EUR+USD"),
        (None, "usd", "—"),
    ],
)
def test_money_is_formatted_from_cents_with_the_currency_symbol(
    cents: int | None, currency: str, text: str
) -> None:
    assert format_money(cents, currency) == text


def test_metric_format_follows_the_catalogue_type() -> None:
    assert format_metric("revenue", 250000.0, "usd") == "$2,500.00"
    assert format_metric("orders", 1234.0, "usd") == "1,234"
    assert format_metric("checkouts_conversion", 0.2534, "usd") == "25.3 %"
    assert format_metric("costs", 12.3456, "usd") == "$0.1235"
    assert format_metric("average_seats_per_customer", 2.5, None) == "2.50"


def test_change_is_signed_percent_or_a_dash_without_a_previous_period() -> None:
    assert format_change(0.125) == "+12.5 %"
    assert format_change(-0.03) == "-3.0 %"
    assert format_change(None) == "—"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Acme Analytics", "Acme Analytics"),
        ("Évry Café 東京", "Évry Café 東京"),
        ("Red\x1b[31m\x1b[1;2H\x1b[2JOrg", "RedOrg"),
        ("Title\x1b]0;pwned\x07 Org", "Title Org"),
        ("Link\x1b]8;;https://x.example\x1b\\here\x1b]8;;\x1b\\", "Linkhere"),
        ("8bit\x9b2JCSI", "8bitCSI"),
        ("Bell\x07 NUL\x00 CR\r LF\n Tab\t", "Bell NUL CR LF Tab"),
        ("\u202eevil\u2066", "evil"),
    ],
)
def test_terminal_safe_removes_escape_sequences_and_control_characters(
    text: str, shown: str
) -> None:
    assert terminal_safe(text) == shown


@pytest.mark.parametrize(
    ("slug", "ratio", "tone"),
    [
        ("revenue", 0.2, "good"),
        ("revenue", -0.2, "bad"),
        ("churned_subscriptions", -0.5, "good"),  # fewer churned subscriptions: good news
        ("churned_subscriptions", 0.5, "bad"),
        ("canceled_subscriptions_too_expensive", -0.1, "good"),
        ("costs", 0.1, "bad"),
        ("seats_pending", 0.1, "neutral"),
        ("revenue", 0.0, "flat"),
        ("revenue", None, "none"),
    ],
)
def test_change_colour_follows_whether_a_rise_of_the_metric_is_good(
    slug: str, ratio: float | None, tone: str
) -> None:
    assert change_tone(slug, ratio) == tone


def test_every_catalogue_metric_says_whether_its_rise_is_good() -> None:
    assert {metric.rise_is for metric in metric_catalogue()} <= {"good", "bad", "neutral"}


def test_a_change_that_includes_today_is_marked_partial() -> None:
    assert format_change(-0.176, partial=True) == "-17.6 % (partial day)"
    assert format_change(-0.176) == "-17.6 %"


def test_today_so_far_is_told_in_the_reporting_timezone() -> None:
    as_of = datetime(2026, 11, 28, 13, 5, tzinfo=UTC)
    assert today_so_far(as_of, "Europe/Berlin") == "today so far, as of 14:05"
    assert today_so_far(as_of, "UTC") == "today so far, as of 13:05"
    assert today_so_far(None, "UTC") == "today so far"
