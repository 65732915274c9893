"""How a metric value reads to people: money from cents with its symbol, counts, percentages.

The dashboard and `polar-metrics summary` both format through here, so they print the same text.
"""

import re
import unicodedata

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


def format_change(change_ratio: float | None, *, partial: bool = False) -> str:
    """`+12.5 %` / `-3.0 %` against the previous period; a dash when there is nothing to compare.

    `partial`: the period includes today, still running, so the change is marked as such.
    """
    if change_ratio is None:
        return MISSING
    return f"{change_ratio * 100:+.1f} %" + (" (partial day)" if partial else "")


def change_direction(change_ratio: float | None) -> str:
    """`up`, `down`, `flat` or `none`, for styling and screen-reader text."""
    if change_ratio is None:
        return "none"
    if change_ratio > 0:
        return "up"
    return "down" if change_ratio < 0 else "flat"


def change_tone(slug: str, change_ratio: float | None) -> str:
    """`good`, `bad` or `neutral` by whether a rise of this metric is good (the catalogue's
    `rise_is`: churn, cancellations and costs falling is good); `flat` or `none` otherwise."""
    direction = change_direction(change_ratio)
    if direction not in ("up", "down"):
        return direction
    definition = metrics_by_slug().get(slug)
    rise_is = definition.rise_is if definition else "neutral"
    if rise_is == "neutral":
        return "neutral"
    return "good" if (direction == "up") == (rise_is == "good") else "bad"


def metric_label(slug: str) -> str:
    """The display name of a metric slug (the catalogue's, or the slug itself when unknown)."""
    definition = metrics_by_slug().get(slug)
    return definition.display_name if definition else slug


def format_ratio_percent(ratio: float | None) -> str:
    """`92.5 %` from 0.925 (retention, conversion); a dash when there is no ratio."""
    return MISSING if ratio is None else f"{ratio * 100:.1f} %"


# Terminal control that text from Polar (organization names, slugs) must never carry to a
# terminal: ANSI/VT escape sequences (CSI, OSC such as hyperlinks or window titles, and the
# two-character ones), then any control character left, and the bidirectional overrides that
# make text display in another order than it reads.
_ESCAPE_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, screen clears
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks, clipboard
    r"|\x1b[ -/]*[0-~]?"  # any other escape
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def terminal_safe(text: object) -> str:
    """`text` with escape sequences, control characters and bidi overrides removed."""
    without_sequences = _ESCAPE_SEQUENCES.sub("", str(text))
    return "".join(
        char
        for char in without_sequences
        if unicodedata.category(char) != "Cc" and char not in _BIDI_CONTROLS
    )
