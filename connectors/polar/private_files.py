"""Owner-only state: the state directory 0700, the files holding tokens or business data 0600.

Modes are set when a file is created AND tightened when it already existed (an older version
created the state directory 0755 and left the warehouse world-readable). A file owned by someone
else cannot be changed; that is reported, never fatal.
"""

import logging
import os
import stat
from pathlib import Path

logger = logging.getLogger(__name__)

PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600


def private_directory(path: Path) -> Path:
    """Create `path` (and missing parents) and make `path` itself owner-only."""
    path.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    _tighten(path, PRIVATE_DIRECTORY)
    return path


def private_files(*paths: Path) -> None:
    """Make each existing file owner-only (SQLite/DuckDB side files included by the caller)."""
    for path in paths:
        if path.exists():
            _tighten(path, PRIVATE_FILE)


def _tighten(path: Path, mode: int) -> None:
    try:
        if stat.S_IMODE(path.stat().st_mode) != mode:
            os.chmod(path, mode)
    except FileNotFoundError:
        pass  # removed since it was listed (SQLite drops its -shm file): nothing left to protect
    except OSError as error:
        logger.warning("could not make %s owner-only (%s)", path, error.strerror)
