"""Ingestion: article files in, stored articles out.

``parse_*`` functions are pure (text in, Article out); ``ingest_paths`` is the thin edge that reads
files and saves through the ArticleStore.
"""

from publisher.ingest.files import Parsed, parse_file, parse_paths, parse_text
from publisher.ingest.service import IngestLine, ingest_paths

__all__ = ["IngestLine", "Parsed", "ingest_paths", "parse_file", "parse_paths", "parse_text"]
