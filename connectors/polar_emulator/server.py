"""Serve the emulator over real HTTP with uvicorn: in a background thread or in the foreground."""

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette

from connectors.polar_emulator.app import create_app
from connectors.polar_emulator.config import EmulatorConfig
from connectors.polar_emulator.state import EmulatorState

STARTUP_TIMEOUT_SECONDS = 20.0


@dataclass
class RunningEmulator:
    """A served emulator: where it listens and the demo OAuth client to use."""

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    app: Starlette = field(repr=False)
    state: EmulatorState = field(repr=False)

    @property
    def redirect_uris(self) -> list[str]:
        """The demo client's registered redirect URIs."""
        return list(self.state.config.redirect_uris)


def _bound_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _uvicorn_server(app: Starlette, log_level: str) -> uvicorn.Server:
    config = uvicorn.Config(
        app, log_level=log_level, access_log=False, lifespan="off", timeout_graceful_shutdown=2
    )
    return uvicorn.Server(config)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.contextmanager
def run_emulator(
    config: EmulatorConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    world: object | None = None,
) -> Iterator[RunningEmulator]:
    """Serve the emulator with uvicorn in a thread until the block ends (port 0 = any free port)."""
    app = create_app(config or EmulatorConfig(), world=world)
    sock = _bound_socket(host, port)
    server = _uvicorn_server(app, log_level="warning")
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="polar-emulator", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Polar emulator did not start; see the log above")
            time.sleep(0.01)
        state: EmulatorState = app.state.emulator
        yield RunningEmulator(
            base_url=_url(host, sock.getsockname()[1]),
            client_id=state.demo_client_id,
            client_secret=state.demo_client_secret,
            app=app,
            state=state,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def serve_forever(
    config: EmulatorConfig,
    host: str = "127.0.0.1",
    port: int = 8765,
    on_ready: Callable[[RunningEmulator], None] | None = None,
) -> None:
    """Serve in the foreground until Ctrl+C; `on_ready(RunningEmulator)` runs once listening."""
    with run_emulator(config, host=host, port=port) as running:
        if on_ready is not None:
            on_ready(running)
        try:
            while True:
                time.sleep(0.5)
        except KeyboardInterrupt:
            return
