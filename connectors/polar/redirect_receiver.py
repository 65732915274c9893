"""The loopback HTTP server that receives Polar's redirect after the user grants access.

It accepts exactly one callback carrying the expected single-use `state`; a wrong state gets an
error page and is ignored (it may be a forged request), a second use of the state is refused.
"""

import html
import logging
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from connectors.polar.errors import OAuthError

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/callback"
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif; margin: 3rem;"><h1>{title}</h1><p>{detail}</p></body></html>
"""


class RedirectReceiver:
    """Serves `http://127.0.0.1:<port>/callback` until one valid callback arrives."""

    def __init__(self, port: int, state: str, host: str = "127.0.0.1") -> None:
        self._state = state
        self._state_used = False
        self._lock = threading.Lock()
        self._results: queue.Queue[tuple[str | None, str | None]] = queue.Queue()
        try:
            self._server = ThreadingHTTPServer((host, port), self._handler_class())
        except OSError as error:
            raise OAuthError(
                f"cannot listen on {host}:{port} for Polar's redirect ({error.strerror}); "
                "free that port or choose another with --port (and register "
                f"http://127.0.0.1:<port>{CALLBACK_PATH} as a redirect URI of your OAuth app)."
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def redirect_uri(self) -> str:
        """The redirect URI to send to Polar (the actual bound port)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{CALLBACK_PATH}"

    def __enter__(self) -> "RedirectReceiver":
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for_code(self, timeout: float) -> str:
        """The authorization code of the first valid callback; OAuthError on denial or timeout."""
        try:
            code, error = self._results.get(timeout=timeout)
        except queue.Empty:
            raise OAuthError(
                f"no answer from the browser within {timeout:.0f} s; run `polar-metrics connect` "
                "again and approve access in the browser."
            ) from None
        if error == "access_denied":
            raise OAuthError("access was denied in the browser; nothing was stored.")
        if error or not code:
            raise OAuthError(f"Polar answered the authorization with error {error!r}.")
        return code

    def _accept(self, query: dict[str, list[str]]) -> tuple[int, str, str]:
        """Status, title and detail of the page answering one callback request."""
        state = (query.get("state") or [""])[0]
        with self._lock:
            if state != self._state:
                logger.warning("ignored a callback with a wrong state (possible forgery)")
                return 400, "Wrong state", "This link does not belong to the running connect."
            if self._state_used:
                return 400, "Already used", "This authorization was already received."
            self._state_used = True
        error = (query.get("error") or [None])[0]
        self._results.put(((query.get("code") or [None])[0], error))
        if error:
            return 400, "Not connected", f"Polar answered: {html.escape(error)}. Nothing stored."
        return 200, "Connected — you can close this tab", "Return to your terminal."

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class CallbackHandler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                parts = urlsplit(self.path)
                if parts.path != CALLBACK_PATH:
                    status, title, detail = 404, "Not found", "Nothing here."
                else:
                    status, title, detail = receiver._accept(parse_qs(parts.query))
                page = _PAGE.format(title=html.escape(title), detail=detail).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, format: str, *args: object) -> None:
                # The default logs the query string, which carries the authorization code.
                return

        return CallbackHandler
