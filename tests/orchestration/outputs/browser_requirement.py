"""Whether a missing browser part skips the browser tests or fails them.

On a developer machine without Playwright or Chromium the browser tests skip, saying what to
install. Under CI (`CI=true`, as CI services set it) they fail instead: there the page must be
proven in a real browser, and a silent skip would hide that it never was.
"""

import importlib
import os
from collections.abc import Mapping
from types import ModuleType
from typing import NoReturn

import pytest

PLAYWRIGHT_MODULE = "playwright.sync_api"


def in_ci(environ: Mapping[str, str] = os.environ) -> bool:
    """True when `CI` is set to a true value (`true`, `1`, `yes`), as CI services do."""
    return environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def browser_part_missing(reason: str, environ: Mapping[str, str] = os.environ) -> NoReturn:
    """Fail under CI, skip elsewhere; `reason` says what is missing and how to install it."""
    if in_ci(environ):
        pytest.fail(f"{reason} (CI=true: the browser tests may not be skipped)", pytrace=False)
    pytest.skip(reason)


def import_playwright(
    environ: Mapping[str, str] = os.environ, module: str = PLAYWRIGHT_MODULE
) -> ModuleType:
    """Playwright's sync API, or the skip/fail decision when it cannot be imported."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        browser_part_missing(f"Playwright cannot be imported ({error}): `uv sync`", environ)
