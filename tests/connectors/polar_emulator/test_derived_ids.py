"""Derived ids: version-4 UUIDs that depend only on their parts, as the standard library makes
them (the emulator sets the version and variant bits by hand, for speed)."""

import hashlib
import uuid

from connectors.polar_emulator.business.derived_ids import derived_uuid4


def test_derived_ids_are_the_standard_librarys_uuid4_of_the_same_digest() -> None:
    parts = [(7, "order", key) for key in range(20_000)]
    parts += [(seed, "checkout", "subscription", row) for seed in (0, 2**62) for row in range(50)]
    for part in parts:
        digest = hashlib.sha256("/".join(str(p) for p in part).encode()).digest()
        expected = uuid.UUID(bytes=digest[:16], version=4)
        got = derived_uuid4(*part)
        assert got == str(expected), part
        assert uuid.UUID(got).version == 4 and uuid.UUID(got).variant == uuid.RFC_4122
    assert derived_uuid4(1, "a") != derived_uuid4(1, "b")
