"""Money, counts, ratios and changes read the same in the dashboard and the CLI."""

import pytest

from orchestration.outputs.formatting import format_change, format_metric, format_money


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


def test_terminal_safe_strips_control_and_format_characters() -> None:
    from orchestration.outputs.formatting import terminal_safe

    assert terminal_safe("Acme\x1b[31m Labs\x07\u202e\n") == "Acme[31m Labs"
    assert terminal_safe("Nordlicht Software GmbH — ü") == "Nordlicht Software GmbH — ü"
