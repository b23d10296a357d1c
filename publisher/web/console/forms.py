"""The console's forms, read as they stream in and refused past ``MAX_FORM`` bytes (413): URL-encoded
fields only (no uploads), UTF-8, at most ``MAX_FIELDS`` of them (422 otherwise).

A request's form is read once and kept on ``request.state``: ``require`` reads it for the CSRF
token, and the route then reads the same fields with ``read_form``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from fastapi import HTTPException, Request

MAX_FORM = 65_536  # bytes: a page of fields, a list of test addresses
MAX_FIELDS = 500


@dataclass(frozen=True)
class Form:
    fields: dict[str, list[str]]

    def get(self, name: str, default: str = "") -> str:
        """The field's first value (a second copy of a field is ignored)."""
        values = self.fields.get(name)
        return values[0] if values else default

    def getlist(self, name: str) -> list[str]:
        return list(self.fields.get(name, ()))

    def __contains__(self, name: object) -> bool:
        return name in self.fields


async def read_form(request: Request) -> Form:
    cached = getattr(request.state, "console_form", None)
    if isinstance(cached, Form):
        return cached
    raw = await _read(request)
    form = _parse(raw)
    request.state.console_form = form
    return form


async def _read(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM:
        raise HTTPException(413, "That form was larger than this page accepts.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM:
            raise HTTPException(413, "That form was larger than this page accepts.")
        chunks.append(chunk)
    raw = b"".join(chunks)
    # Starlette keeps a body it read itself here; so does this, for a route that asks for it again.
    request._body = raw
    return raw


def _parse(raw: bytes) -> Form:
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise HTTPException(422, "The form must be UTF-8 text.") from None
    except ValueError:
        raise HTTPException(422, f"The form has more than {MAX_FIELDS} fields.") from None
    fields: dict[str, list[str]] = {}
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    return Form(fields)
