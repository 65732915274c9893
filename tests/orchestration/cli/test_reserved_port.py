"""The OAuth redirect port of a headless connect is held from the moment it is chosen, so
parallel test workers (each starting emulators and connections) never take it in between."""

import socket

import httpx
import pytest

from connectors.polar.errors import OAuthError
from connectors.polar.redirect_receiver import RedirectReceiver
from orchestration.cli.headless import reserved_loopback_port


def test_a_reserved_port_is_never_handed_out_by_the_kernel_nor_bound_by_others() -> None:
    with reserved_loopback_port() as port:
        handed_out = set()
        for _ in range(2000):  # the kernel's picks for other emulators and receivers
            with socket.socket() as other:
                other.bind(("127.0.0.1", 0))
                handed_out.add(other.getsockname()[1])
        assert port not in handed_out
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", port))  # a plain bind, as another program would


def test_the_redirect_receiver_listens_on_the_reserved_port_and_gets_the_callback() -> None:
    with reserved_loopback_port() as port, RedirectReceiver(port, "state") as receiver:
        assert receiver.redirect_uri == f"http://127.0.0.1:{port}/callback"
        httpx.get(receiver.redirect_uri, params={"code": "c", "state": "state"})
        assert receiver.wait_for_code(timeout=5) == "c"
        with pytest.raises(OAuthError, match="cannot listen"):
            RedirectReceiver(port, "another")  # the port is now the receiver's alone


def test_the_port_is_free_again_after_the_block() -> None:
    with reserved_loopback_port() as port:
        pass
    with socket.socket() as other:
        other.bind(("127.0.0.1", port))
