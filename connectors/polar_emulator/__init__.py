"""A faithful, deterministic emulator of Polar's OAuth server and read API."""

from connectors.polar_emulator.app import create_app
from connectors.polar_emulator.config import EmulatorConfig

__all__ = ["EmulatorConfig", "create_app"]
