"""A fake Polar serving the five entity list endpoints over loopback, for the entity sync tests."""
