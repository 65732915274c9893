"""ASGI middleware over the emulator state: Polar's HTTP conventions and injected faults."""
