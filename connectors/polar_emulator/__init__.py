"""A faithful, deterministic emulator of Polar's OAuth server and read API."""

from typing import TYPE_CHECKING, Any

from connectors.polar_emulator.config import EmulatorConfig

if TYPE_CHECKING:
    from connectors.polar_emulator.app import create_app

__all__ = ["EmulatorConfig", "create_app"]


def __getattr__(name: str) -> Any:
    # The app pulls in Starlette; importing it lazily keeps every CLI command fast.
    if name == "create_app":
        from connectors.polar_emulator.app import create_app

        return create_app
    raise AttributeError(name)
