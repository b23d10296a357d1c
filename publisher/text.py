"""Pure helpers for untrusted article text: cleaning, slugs, one-line header values."""

from __future__ import annotations

import re
import unicodedata

# C0 controls except tab and newline, DEL is allowed by XML but C1 controls are discouraged; we remove
# what XML 1.0 forbids plus CR (newlines are normalised to LF first), U+FFFE/U+FFFF and lone surrogates.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_NEWLINES = re.compile(r"\r\n?")
# Any control character (CR and the forbidden ones): only text holding one needs clean_text before
# the whitespace is collapsed; most text holds none, and one_line runs a hundred thousand times a build.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff]")


def clean_text(value: str) -> str:
    """Remove the characters XML 1.0 and mail headers forbid; normalise newlines to LF.

    Lone surrogates (from JSON escapes like ``"\\ud800"``) are removed too, so the result always
    encodes as UTF-8.
    """
    return _FORBIDDEN.sub("", _NEWLINES.sub("\n", value))


def one_line(value: str) -> str:
    """Clean text and collapse every run of whitespace (newlines included) to one space.

    Titles, summaries and anything that may reach a mail header go through this, so no CR or LF
    from an article can ever reach a header.
    """
    if _CONTROLS.search(value) is None:
        return " ".join(value.split())
    return " ".join(clean_text(value).split())


def slugify(value: str, max_length: int = 80) -> str:
    """``"NATO’s Rutte Opposes EU Breakaway From U.S."`` → ``"natos-rutte-opposes-eu-breakaway-from-us"``."""
    value = unicodedata.normalize("NFKD", value)
    value = value.encode("ascii", "ignore").decode("ascii").lower()
    value = re.sub(r"['’]", "", value)
    value = re.sub(r"(?<=[a-z])\.(?=[a-z])", "", value)  # "u.s." -> "us."
    value = re.sub(r"[^a-z0-9]+", "-", value).strip("-")
    if len(value) > max_length:
        value = value[:max_length].rsplit("-", 1)[0] or value[:max_length]
    return value


def collapse_spaces(value: str) -> str:
    return _SPACES.sub(" ", value).strip()
