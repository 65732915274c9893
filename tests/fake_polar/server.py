"""Serving the fake entity endpoints over real HTTP on loopback (uvicorn in a thread), alone or in
front of the Polar emulator (which then answers OAuth, organizations and metrics).

When the emulator serves the entity endpoints itself, only these fixtures change: the tests talk
to a base URL and use the world's switches.
"""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.fake_polar.app import ENTITY_PATHS

STARTUP_SECONDS = 20.0


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 (a free port) until the block ends; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake Polar did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def in_front_of(entities: ASGIApp, emulator: ASGIApp) -> ASGIApp:
    """One app: the entity list paths go to `entities`, everything else to the emulator."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in ENTITY_PATHS:
            await entities(scope, receive, send)
        else:
            await emulator(scope, receive, send)

    return app
