"""How a metric value reads to people: money from cents with its symbol, counts, percentages.

The dashboard and `polar-metrics summary` both format through here, so they print the same text.
"""

from connectors.polar.catalogue import metrics_by_slug

# Polar reports every money metric in cents of its settlement currency (USD), converted from each
# organization's presentment currency by Polar (polar-api.md 3.4, issue #7944) — so amounts are
# shown in dollars whatever the organizations' presentment currencies are.
SETTLEMENT_CURRENCY = "usd"
CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "inr": "₹", "brl": "R$"}
# ISO 4217 currencies without minor unit: Polar still reports their "cents" as whole units.
ZERO_DECIMAL_CURRENCIES = frozenset({"jpy", "krw", "clp", "vnd", "isk", "huf", "twd", "ugx"})
MISSING = "—"


def format_money(cents: float | int | None, currency: str | None, *, sub_cent: bool = False) -> str:
    """`$1,234.56` from 123456 cents; ISO codes (`1,234.56 EUR+USD`) when unknown or mixed."""
    if cents is None:
        return MISSING
    code = (currency or "").strip().lower()
    decimals = 0 if code in ZERO_DECIMAL_CURRENCIES else 2
    if sub_cent and decimals:
        decimals = 4
    units = cents if code in ZERO_DECIMAL_CURRENCIES else cents / 100
    sign = "-" if units < 0 else ""
    number = f"{abs(units):,.{decimals}f}"
    symbol = CURRENCY_SYMBOLS.get(code)
    if symbol is None:
        codes = "+".join(part.strip().upper() for part in code.split(",") if part.strip())
        return f"{sign}{number} {codes}".rstrip()
    return f"{sign}{symbol}{number}"


def format_compact(slug: str, value: float) -> str:
    """A short axis label: `12.3k`, `1.2M`; money in whole currency units (no symbol)."""
    definition = metrics_by_slug().get(slug)
    if definition and definition.type.startswith("currency"):
        value = value / 100
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= threshold:
            return f"{value / threshold:.1f}{suffix}"
    return f"{value:.0f}" if float(value).is_integer() or abs(value) >= 10 else f"{value:.1f}"


def format_metric(slug: str, value: float | int | None, currency: str | None) -> str:
    """A metric's value as text, by its type in the metric catalogue."""
    if value is None:
        return MISSING
    definition = metrics_by_slug().get(slug)
    metric_type = definition.type if definition else "scalar"
    unit = definition.unit if definition else "count"
    if metric_type == "currency":
        return format_money(value, currency)
    if metric_type == "currency_sub_cent":
        return format_money(value, currency, sub_cent=True)
    if metric_type == "percentage":
        return f"{value * 100:.1f} %"
    if unit == "ratio" or (isinstance(value, float) and not value.is_integer()):
        return f"{value:,.2f}"
    return f"{int(value):,}"


def format_change(change_ratio: float | None) -> str:
    """`+12.5 %` / `-3.0 %` against the previous period; a dash when there is nothing to compare."""
    if change_ratio is None:
        return MISSING
    return f"{change_ratio * 100:+.1f} %"


def change_direction(change_ratio: float | None) -> str:
    """`up`, `down`, `flat` or `none`, for styling and screen-reader text."""
    if change_ratio is None:
        return "none"
    if change_ratio > 0:
        return "up"
    return "down" if change_ratio < 0 else "flat"


def metric_label(slug: str) -> str:
    """The display name of a metric slug (the catalogue's, or the slug itself when unknown)."""
    definition = metrics_by_slug().get(slug)
    return definition.display_name if definition else slug


def terminal_safe(text: str) -> str:
    """Text from Polar (organization names) without control characters: an escape sequence in
    a name must not recolour, move or retitle the user's terminal."""
    return "".join(char if char.isprintable() else "?" for char in text)
