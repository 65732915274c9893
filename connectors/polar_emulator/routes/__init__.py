"""HTTP handlers of the emulator: API, OAuth endpoints and the /__emulator__/ control paths."""
