"""The dashboard in a real headless Chromium: values, period switching, notices, no network."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from orchestration.outputs.dashboard.sections import CORE_CARDS, POLAR_CARDS, SWITCHER
from tests.orchestration.outputs.conftest import (
    ARTIFACTS,
    ScenarioOutputs,
    assert_shows,
    mart_period_values,
)

pytestmark = pytest.mark.browser
CARD_METRICS = [metric for metric, _ in CORE_CARDS + POLAR_CARDS]


@contextmanager
def opened(browser: Any, page_path: Path, width: int = 1280) -> Iterator[tuple[Any, list[str]]]:
    """The page in a fresh browser context, with every request the page makes recorded."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(page_path.as_uri())
    page.wait_for_load_state("load")
    try:
        yield page, requests
    finally:
        context.close()
    assert errors == [], errors


def card_text(page: Any, kind: str, metric: str) -> str:
    return page.get_by_test_id(f"{kind}-{metric}").inner_text()


def test_cards_show_the_marts_values_for_every_period(
    browser: Any, scenario_outputs: dict[str, ScenarioOutputs]
) -> None:
    outputs = scenario_outputs["default"]
    with opened(browser, outputs.dashboard) as (page, requests):
        today = mart_period_values(outputs.warehouse, "today", connection=outputs.connection)
        yesterday = mart_period_values(
            outputs.warehouse, "yesterday", connection=outputs.connection
        )
        for metric in CARD_METRICS:
            assert_shows(metric, card_text(page, "today", metric), today[metric]["value"])
            assert_shows(metric, card_text(page, "yesterday", metric), yesterday[metric]["value"])
        shown_by_period = {}
        for key, (period, _label) in SWITCHER.items():
            button = page.get_by_test_id(f"period-{key}")
            button.click()
            assert button.get_attribute("aria-pressed") == "true"
            pressed = page.locator("button[data-period][aria-pressed='true']")
            assert pressed.count() == 1
            expected = mart_period_values(outputs.warehouse, period, connection=outputs.connection)
            for metric in CARD_METRICS:
                assert_shows(metric, card_text(page, "value", metric), expected[metric]["value"])
                previous = expected[metric]["previous_value"]
                if previous is not None:
                    assert_shows(metric, card_text(page, "previous", metric), previous)
            shown_by_period[key] = card_text(page, "value", "revenue")
            page.screenshot(path=str(ARTIFACTS / f"dashboard-default-{key}.png"), full_page=True)
        assert len(set(shown_by_period.values())) > 1, "switching periods changed nothing"
        assert requests == [outputs.dashboard.as_uri()]


def test_mixed_currencies_show_the_amber_banner_and_the_organization_table(
    browser: Any, scenario_outputs: dict[str, ScenarioOutputs]
) -> None:
    with opened(browser, scenario_outputs["default"].dashboard) as (page, requests):
        banner = page.get_by_test_id("currency-banner")
        assert banner.is_visible()
        text = banner.inner_text()
        assert "organizations use different currencies (eur, usd)" in text
        assert page.get_by_test_id("organization-table").is_visible()
        assert requests == [scenario_outputs["default"].dashboard.as_uri()]


def test_single_organization_has_no_banner_and_no_organization_table(
    browser: Any, scenario_outputs: dict[str, ScenarioOutputs]
) -> None:
    with opened(browser, scenario_outputs["single"].dashboard) as (page, requests):
        assert page.get_by_test_id("currency-banner").count() == 0
        assert page.get_by_test_id("organization-table").count() == 0
        assert page.get_by_test_id("card-revenue").is_visible()
        assert "$" in card_text(page, "value", "revenue")
        page.screenshot(path=str(ARTIFACTS / "dashboard-single.png"), full_page=True)
        assert requests == [scenario_outputs["single"].dashboard.as_uri()]


def test_connection_without_organization_shows_what_to_do(
    browser: Any, scenario_outputs: dict[str, ScenarioOutputs]
) -> None:
    with opened(browser, scenario_outputs["empty"].dashboard) as (page, requests):
        notice = page.get_by_test_id("no-organization")
        assert notice.is_visible()
        assert "polar.sh" in notice.inner_text()
        assert "polar-metrics refresh" in notice.inner_text()
        assert page.get_by_test_id("card-revenue").count() == 0
        page.screenshot(path=str(ARTIFACTS / "dashboard-empty.png"), full_page=True)
        assert requests == [scenario_outputs["empty"].dashboard.as_uri()]


def test_phone_width_fits_without_horizontal_scrolling(
    browser: Any, scenario_outputs: dict[str, ScenarioOutputs]
) -> None:
    with opened(browser, scenario_outputs["default"].dashboard, width=375) as (page, _):
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        first, second = (
            page.get_by_test_id("card-monthly_recurring_revenue").bounding_box(),
            page.get_by_test_id("card-revenue").bounding_box(),
        )
        assert first["width"] <= 375 and second["y"] > first["y"]  # cards stack in one column
        page.get_by_test_id("period-7d").click()
        assert page.get_by_test_id("period-7d").get_attribute("aria-pressed") == "true"
        page.screenshot(path=str(ARTIFACTS / "dashboard-default-phone.png"), full_page=True)


def test_page_has_landmarks_and_labelled_controls(
    browser: Any, scenario_outputs: dict[str, ScenarioOutputs]
) -> None:
    with opened(browser, scenario_outputs["default"].dashboard) as (page, _):
        assert page.locator("html").get_attribute("lang") == "en"
        for role in ("banner", "main", "contentinfo", "navigation"):
            assert page.get_by_role(role).count() >= 1, role
        assert page.get_by_role("button", name="30 days").get_attribute("aria-pressed") == "true"
        assert page.get_by_role("img").count() == 4  # the four charts, each with a text summary
        for chart in page.get_by_role("img").all():
            assert "daily from" in chart.get_attribute("aria-label")


def test_revenue_drop_is_shown_as_an_alert_on_the_page(
    browser: Any, scenario_outputs: dict[str, ScenarioOutputs]
) -> None:
    with opened(browser, scenario_outputs["drop"].dashboard) as (page, requests):
        alert = page.get_by_test_id("alert-revenue_drop_vs_trailing_week")
        assert alert.is_visible()
        assert alert.get_attribute("role") == "alert"
        assert "Revenue for all organizations, yesterday" in alert.inner_text()
        page.screenshot(path=str(ARTIFACTS / "dashboard-drop-alert.png"), full_page=True)
        assert requests == [scenario_outputs["drop"].dashboard.as_uri()]


CONTRAST_SCRIPT = """
(selectors) => {
  function rgb(text) { return (text.match(/[\\d.]+/g) || []).map(Number); }
  function background(node) {
    for (; node; node = node.parentElement) {
      const color = rgb(getComputedStyle(node).backgroundColor);
      if (color.length === 3 || (color.length === 4 && color[3] > 0)) { return color; }
    }
    return [255, 255, 255];
  }
  function luminance(color) {
    const [r, g, b] = color.slice(0, 3).map((c) => {
      c = c / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  const ratios = {};
  for (const selector of selectors) {
    const node = document.querySelector(selector);
    if (!node) { continue; }
    const [a, b] = [luminance(rgb(getComputedStyle(node).color)), luminance(background(node))];
    ratios[selector] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  }
  return ratios;
}
"""


def test_text_contrast_meets_wcag_aa_and_keyboard_switches_periods(
    browser: Any, scenario_outputs: dict[str, ScenarioOutputs]
) -> None:
    selectors = [
        ".card .value",
        ".card h3",
        ".change.good",
        ".change.bad",
        ".card dt",
        "[data-testid=currency-banner] p",
        "button[aria-pressed=true]",
        "button[aria-pressed=false]",
        ".facts li",
        "footer p",
    ]
    with opened(browser, scenario_outputs["default"].dashboard) as (page, _):
        ratios = page.evaluate(CONTRAST_SCRIPT, selectors)
        assert set(ratios) >= set(selectors) - {".change.good", ".change.bad"}
        assert all(ratio >= 4.5 for ratio in ratios.values()), ratios
        page.get_by_test_id("period-90d").focus()
        page.keyboard.press("Enter")
        assert page.get_by_test_id("period-90d").get_attribute("aria-pressed") == "true"
        assert page.get_by_test_id("period-30d").get_attribute("aria-pressed") == "false"
