"""The deterministic simulated business: world, scenarios, organizations and their histories."""
