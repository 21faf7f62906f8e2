"""Where the data lives: the data dir a command works on, and plain words when it cannot.

`./analytics-data` is relative to where a command runs, so a command run from the
wrong directory would silently start an empty data dir. Commands that only read or
remove refuse a missing one (`check(..., create=False)`); commands that create
something may create it, and say where.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from analytics.errors import StorageError

# Either file marks a data dir (release 0.1 had only analytics.db).
FILES = ("accounts.db", "analytics.db")
CHOOSE = "choose the data dir with --data-dir PATH or ANALYTICS_DATA_DIR"


class DataDirError(Exception):
    """A data dir that is missing, not a directory, or not usable; the message says which and what to do."""


def absolute(data_dir: str | Path) -> Path:
    """The data dir as an absolute path, the way every message names it."""
    return Path(data_dir).expanduser().absolute()


def check(data_dir: str | Path, *, create: bool) -> bool:
    """Check the data dir before any database opens it; True when it does not exist yet.

    Without `create`, a missing data dir raises DataDirError naming the path looked at
    and how to choose another.
    """
    path = absolute(data_dir)
    if path.exists() and not path.is_dir():
        raise DataDirError(f"data dir {str(path)!r} is a file, not a directory; {CHOOSE}")
    if any((path / name).exists() for name in FILES):
        return False
    if not create:
        raise DataDirError(
            f"no data dir at {path} (no accounts.db there); {CHOOSE}."
            " `analytics migrate` or `analytics serve` creates a new one"
        )
    return True


def unusable(data_dir: str | Path, exc: BaseException) -> str:
    """A plain-words message for a data dir or database that could not be used (an OSError or StorageError)."""
    path = absolute(data_dir)
    if isinstance(exc, OSError) and not path.exists():  # it could not be created
        return f"cannot create data dir {str(path)!r}: {exc.strerror or exc}; {CHOOSE}"
    denied = isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
    if denied or (path.is_dir() and not writable(path)):
        # SQLite itself only says "unable to open database file" or "attempt to write a readonly database".
        return (
            f"data dir {str(path)!r} is read-only for this user: analytics writes its databases"
            f" (and their -wal and -shm files) there, even to read them; give this user write access, or {CHOOSE}"
        )
    if isinstance(exc, StorageError):
        return f"database {str(exc.path)!r} is not usable: {exc}"
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"data dir {str(path)!r} is not usable: {reason}"


def writable(path: Path) -> bool:
    """Whether this process may create files in `path` and write its databases."""
    return os.access(path, os.W_OK | os.X_OK) and all(
        os.access(path / name, os.W_OK) for name in FILES if (path / name).exists()
    )
