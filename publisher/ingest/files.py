"""Find article files under the given paths and parse each by its format."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from publisher.article import Article, check_source_id
from publisher.errors import IngestError
from publisher.ingest.frontmatter import parse_markdown
from publisher.ingest.jsonfile import parse_json
from publisher.ingest.newslooks import parse_newslooks

MARKDOWN_SUFFIXES = {".md", ".markdown"}
JSON_SUFFIXES = {".json"}
TEXT_SUFFIXES = {".txt", ".text"}
ARTICLE_SUFFIXES = MARKDOWN_SUFFIXES | JSON_SUFFIXES | TEXT_SUFFIXES
# Far above any article (a JSON file of thousands of them fits); refused before it is read at all.
MAX_FILE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Parsed:
    """One article read from a file, or the reason it could not be."""

    path: str
    article: Article | None
    error: IngestError | None = None
    index: int | None = None  # the position in a JSON list

    @property
    def where(self) -> str:
        return self.path if self.index is None else f"{self.path}[{self.index}]"


def find_article_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, IngestError | None]]:
    """Files named directly are read whatever their suffix; folders are walked for known suffixes."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in ARTICLE_SUFFIXES and not _hidden(child, path):
                    yield child, None
        elif path.is_file():
            yield path, None
        else:
            yield path, IngestError("no such file or folder", path=str(path))


def parse_text(
    text: str, suffix: str, *, name: str | None = None
) -> Iterator[tuple[int | None, Article | IngestError]]:
    """Parse decoded text by format: (index in a JSON list or None, article or its error).

    ``name`` is the file's name (no folders): the source id of a one-article file (text or
    Markdown) that has no ``id`` of its own. JSON items without an ``id`` are known by their slug.
    """
    suffix = suffix.lower()
    if suffix in JSON_SUFFIXES:
        yield from parse_json(text)
        return
    article = parse_markdown(text) if suffix in MARKDOWN_SUFFIXES else parse_newslooks(text)
    if article.source_id is None and name:
        article = replace(article, source_id=check_source_id(name, "file name"))
    yield None, article


def parse_file(path: Path) -> list[Parsed]:
    name = str(path)
    try:
        text = _read_text(path)
        items = list(parse_text(text, path.suffix, name=path.name))
    except IngestError as exc:
        return [Parsed(name, None, exc.at(path=name))]
    except (ValueError, OverflowError, RecursionError, MemoryError) as exc:
        # The parsers turn every bad input they know of into an IngestError (the property tests
        # hunt for the rest); should one slip through, it stays this file's error, not a traceback.
        error = IngestError(f"cannot be read as an article ({type(exc).__name__})", path=name)
        return [Parsed(name, None, error)]
    return [
        Parsed(name, None, item.at(path=name if index is None else f"{name}[{index}]"), index)
        if isinstance(item, IngestError)
        else Parsed(name, item, None, index)
        for index, item in items
    ]


def parse_paths(paths: Iterable[str | Path]) -> Iterator[Parsed]:
    for path, missing in find_article_files(paths):
        if missing is not None:
            yield Parsed(str(path), None, missing)
        else:
            yield from parse_file(path)


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)  # never more, whatever stat said a moment ago
    except OSError as exc:
        raise IngestError(f"cannot read: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise IngestError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB: not read")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise IngestError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", line=line) from None


def _hidden(child: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in child.relative_to(root).parts)
