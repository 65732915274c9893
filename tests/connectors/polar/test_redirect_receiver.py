"""The loopback redirect receiver: one valid callback, wrong or replayed state refused."""

import httpx
import pytest

from connectors.polar.errors import OAuthError
from connectors.polar.redirect_receiver import RedirectReceiver


def test_wrong_state_is_refused_then_the_right_one_is_accepted_once() -> None:
    with RedirectReceiver(0, "expected-state") as receiver:
        url = receiver.redirect_uri
        wrong = httpx.get(url, params={"code": "polar_ac_forged", "state": "other"})
        right = httpx.get(url, params={"code": "polar_ac_good", "state": "expected-state"})
        replay = httpx.get(url, params={"code": "polar_ac_again", "state": "expected-state"})
        code = receiver.wait_for_code(timeout=5)
    assert wrong.status_code == 400 and "Wrong state" in wrong.text
    assert right.status_code == 200 and "Connected — you can close this tab" in right.text
    assert replay.status_code == 400 and "Already used" in replay.text
    assert code == "polar_ac_good"


def test_access_denied_shows_an_error_page_and_fails_the_connect() -> None:
    with RedirectReceiver(0, "s") as receiver:
        page = httpx.get(receiver.redirect_uri, params={"error": "access_denied", "state": "s"})
        with pytest.raises(OAuthError, match="access was denied"):
            receiver.wait_for_code(timeout=5)
    assert page.status_code == 400 and "access_denied" in page.text


def test_no_callback_within_the_timeout_is_a_clear_error() -> None:
    with RedirectReceiver(0, "s") as receiver, pytest.raises(OAuthError, match="no answer"):
        receiver.wait_for_code(timeout=0.05)


def test_busy_port_is_reported_with_the_fix() -> None:
    with RedirectReceiver(0, "s") as first:
        port = int(first.redirect_uri.split(":")[2].split("/")[0])
        with pytest.raises(OAuthError, match="--port"):
            RedirectReceiver(port, "s")
