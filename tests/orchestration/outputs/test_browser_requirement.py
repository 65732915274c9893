"""The rule of the browser tests: skip on a developer machine, fail under CI=true."""

import pytest

from tests.orchestration.outputs.browser_requirement import import_playwright, in_ci

MISSING = "playwright_is_not_installed_here.sync_api"


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes"])
def test_a_missing_playwright_under_ci_fails_the_browser_tests(value: str) -> None:
    with pytest.raises(pytest.fail.Exception, match="Playwright cannot be imported.*CI=true"):
        import_playwright({"CI": value}, MISSING)


@pytest.mark.parametrize("environ", [{}, {"CI": ""}, {"CI": "false"}, {"CI": "0"}])
def test_a_missing_playwright_elsewhere_skips_them_saying_what_to_install(
    environ: dict[str, str],
) -> None:
    assert not in_ci(environ)
    with pytest.raises(pytest.skip.Exception, match="Playwright cannot be imported.*uv sync"):
        import_playwright(environ, MISSING)


def test_an_installed_playwright_is_returned_whatever_ci_says() -> None:
    assert hasattr(import_playwright({"CI": "true"}), "sync_playwright")
