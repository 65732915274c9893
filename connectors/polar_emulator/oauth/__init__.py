"""The emulated OAuth server: registered clients, issued tokens, scopes, consent, ID tokens."""
