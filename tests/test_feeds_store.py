"""The feed store: atomic, skip-identical writes; Last-Modified (mtime) that only moves forward."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from publisher.errors import FeedError
from publisher.feeds.store import DirectoryFeedStore, MemoryFeedStore, etag

T1 = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


def test_writes_only_changed_bytes_and_mtime_only_moves_forward(tmp_path: Path) -> None:
    store = DirectoryFeedStore(tmp_path)
    assert store.write("sections/world.rss", b"one", T1) is True
    file = tmp_path / "sections" / "world.rss"
    assert file.stat().st_mtime == T1.timestamp()
    inode = file.stat().st_ino
    assert store.write("sections/world.rss", b"one", T1) is False
    assert file.stat().st_ino == inode
    # A retraction can make the newest item older; the file's Last-Modified must still advance.
    assert store.write("sections/world.rss", b"two", T0) is True
    assert file.stat().st_mtime == T1.timestamp() + 1
    assert file.read_bytes() == b"two"
    assert store.read("sections/world.rss") == b"two"
    assert store.read("sections/none.rss") is None
    assert sorted(p.name for p in file.parent.iterdir()) == ["world.rss"]  # no temp files left
    assert oct(file.stat().st_mode & 0o777) == "0o644"


def test_readers_never_see_half_a_feed(tmp_path: Path) -> None:
    store = DirectoryFeedStore(tmp_path)
    versions = [b"<a>" + bytes([65 + i]) * 400_000 + b"</a>" for i in range(2)]
    store.write("index.rss", versions[0], T1)
    seen: set[bytes] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.add((tmp_path / "index.rss").read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(60):
        store.write("index.rss", versions[(i + 1) % 2], T1)
    done.set()
    reader.join()
    assert seen <= set(versions)


@pytest.mark.parametrize("path", ["../x.rss", "/etc/passwd", "a/../../x", "", ".", "a//b.rss", "a\\b.rss"])
def test_paths_cannot_leave_the_feeds_folder(tmp_path: Path, path: str) -> None:
    with pytest.raises(FeedError):
        DirectoryFeedStore(tmp_path / "feeds").write(path, b"x", T1)
    with pytest.raises(FeedError):
        MemoryFeedStore().write(path, b"x", T1)


def test_memory_store_and_etag() -> None:
    store = MemoryFeedStore()
    assert store.write("index.json", b"{}", T1) is True
    assert store.write("index.json", b"{}", T1) is False
    assert store.write("index.json", b"[]", T0) is True
    assert store.files == {"index.json": (b"[]", int(T1.timestamp()) + 1)}
    assert store.writes == 2
    assert etag(b"abc") == '"ba7816bf8f01cfea414140de5dae2223"'


@pytest.mark.parametrize("kind", ["directory", "memory"])
def test_paths_lists_the_files_directly_in_a_folder(kind: str, tmp_path: Path) -> None:
    store = DirectoryFeedStore(tmp_path) if kind == "directory" else MemoryFeedStore()
    assert store.paths("sections") == []
    for path in ("index.rss", "sections/world.rss", "sections/health.json", "sections/deep/x.rss"):
        store.write(path, b"x", T1)
    assert store.paths("sections") == ["sections/health.json", "sections/world.rss"]
    with pytest.raises(FeedError):
        store.paths("../elsewhere")
