"""Where built feeds go: a ``FeedStore`` writes a feed only when its bytes change, atomically.

``DirectoryFeedStore`` (``PUBLISHER_FEEDS_DIR``, served by ``publisher serve`` or any web server)
writes a temp file beside the target and renames it over, so a poller never reads half a feed. The
file's mtime is the feed's Last-Modified: the newest item's update time, and always later than the
previous version's, so If-Modified-Since stays right even when a retraction makes the feed older.
``MemoryFeedStore`` is the in-memory fake for tests and the demo.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Protocol

from publisher.errors import FeedError


class FeedStore(Protocol):
    def write(self, path: str, data: bytes, modified: datetime) -> bool:
        """Store ``data`` at ``path`` unless identical bytes are there; True if written."""
        ...

    def read(self, path: str) -> bytes | None: ...

    def paths(self, folder: str) -> list[str]:
        """The files directly in ``folder`` as sorted feed paths (``sections/world.rss``)."""
        ...

    def exists(self, path: str) -> bool: ...

    def stamp(self, path: str) -> object | None:
        """What tells this version of the file at ``path`` from any other (None: no file). A build
        that remembers the stamp of what it wrote knows the file is still that, whoever else
        writes (another worker process with its own service)."""
        ...

    def delete(self, path: str) -> bool:
        """Remove the file at ``path`` (an archive page or sitemap no longer wanted); True if it was there."""
        ...


def etag(data: bytes) -> str:
    """A strong ETag from the content alone: equal bytes, equal tags, on any machine."""
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def safe_relative(path: str) -> PurePosixPath:
    """``sections/world.rss`` as a path that cannot leave the feeds folder."""
    rel = PurePosixPath(path)
    # Only canonical relative paths: no "..", no "/x", no "./x" or "a//b" spellings, no backslashes.
    if str(rel) != path or rel.is_absolute() or ".." in rel.parts or path == "." or "\\" in path:
        raise FeedError(f"not a feed path: {path!r}")
    return rel


def next_mtime(modified: datetime, previous: float | None) -> int:
    seconds = int(modified.timestamp())
    return seconds if previous is None else max(seconds, int(previous) + 1)


class DirectoryFeedStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def file(self, path: str) -> Path:
        return self.root.joinpath(*safe_relative(path).parts)

    def read(self, path: str) -> bytes | None:
        try:
            return self.file(path).read_bytes()
        except FileNotFoundError:
            return None

    def paths(self, folder: str) -> list[str]:
        base = safe_relative(folder)
        try:
            entries = list(self.file(folder).iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(str(base / e.name) for e in entries if e.is_file())

    def exists(self, path: str) -> bool:
        return self.file(path).is_file()

    def stamp(self, path: str) -> object | None:
        # Every write is a new file renamed into place: a new inode, whatever its time and size.
        try:
            st = self.file(path).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def delete(self, path: str) -> bool:
        try:
            self.file(path).unlink()
        except FileNotFoundError:
            return False
        return True

    def write(self, path: str, data: bytes, modified: datetime) -> bool:
        target = self.file(path)
        try:
            previous = target.stat()
            if previous.st_size == len(data) and target.read_bytes() == data:
                return False
            previous_mtime: float | None = previous.st_mtime
        except FileNotFoundError:
            previous_mtime = None
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(temp, 0o644)  # mkstemp makes 0600; the web server may be another user
            mtime = next_mtime(modified, previous_mtime)
            os.utime(temp, (mtime, mtime))
            # No fsync: rename is what makes the switch atomic for readers; after a crash the
            # periodic refresh rewrites whatever was lost.
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return True


class MemoryFeedStore:
    """The in-memory FeedStore: ``files`` maps path → (bytes, mtime seconds)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, int]] = {}
        self.writes = 0
        self._versions: dict[str, int] = {}  # path -> the number of the write that made it

    def read(self, path: str) -> bytes | None:
        found = self.files.get(str(safe_relative(path)))
        return found[0] if found else None

    def paths(self, folder: str) -> list[str]:
        base = safe_relative(folder)
        return sorted(key for key in self.files if PurePosixPath(key).parent == base)

    def exists(self, path: str) -> bool:
        return str(safe_relative(path)) in self.files

    def stamp(self, path: str) -> object | None:
        return self._versions.get(str(safe_relative(path)))

    def delete(self, path: str) -> bool:
        self._versions.pop(str(safe_relative(path)), None)
        return self.files.pop(str(safe_relative(path)), None) is not None

    def write(self, path: str, data: bytes, modified: datetime) -> bool:
        key = str(safe_relative(path))
        previous = self.files.get(key)
        if previous is not None and previous[0] == data:
            return False
        self.files[key] = (data, next_mtime(modified, previous[1] if previous else None))
        self.writes += 1
        self._versions[key] = self.writes
        return True
