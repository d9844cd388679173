"""Small state files that the pages' background jobs share between server workers.

A job (a cohort import, a whole-log verification) runs in a thread of the worker that
received the request, but its progress page may be polled through any other worker of
the host. So its state lives in files in a private directory beside the signing keys
(mode 700: the files name people), each written whole or not at all, so that a reader
in another process never sees half a file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def private_directory(directory: Path) -> Path:
    """Make the directory (mode 700) if it is not there yet; answers it."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def write_atomically(path: Path, data: bytes) -> None:
    """Write whole or not at all: into a temporary file (mode 600) beside it, then rename."""
    partial = path.with_name(path.name + f".{secrets.token_hex(4)}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
