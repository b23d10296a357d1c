"""Per-recipient filling of a compiled edition: cheap string joins, no rendering.

A compiled part (HTML or text) is kept as a ``Filler``: the constant text split around the
placeholder tokens, so filling it for one reader is one ``str.join``. The tokens carry a random
nonce chosen per compile, so no article text can spell a placeholder.

Placeholders (``Placeholders`` gives the tokens to the templates as ``ph.<name>``):

    name             the reader's name ("reader" when unknown), HTML-escaped in the HTML part
    email            the reader's address
    unsubscribe_url  the reader's signed one-click unsubscribe URL (the delivery issue signs it)
    preferences_url  the reader's manage-preferences URL

``Recipient`` is the interface the delivery side fills in::

    Recipient(email, name, unsubscribe_url, preferences_url, unsubscribe_mailto="")
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from publisher.text import one_line

FIELDS = ("name", "email", "unsubscribe_url", "preferences_url")
ANONYMOUS_NAME = "reader"


@dataclass(frozen=True, slots=True)
class Recipient:
    email: str
    name: str
    unsubscribe_url: str
    preferences_url: str
    unsubscribe_mailto: str = ""  # empty: the List-Unsubscribe mailto comes from the settings


@dataclass(frozen=True, slots=True)
class Placeholders:
    """The tokens of one compile: ``ph.name`` etc. in templates, ``ph.pattern`` to split on."""

    nonce: str

    @classmethod
    def fresh(cls) -> Placeholders:
        return cls(secrets.token_hex(6))

    def __getattr__(self, field: str) -> str:
        if field not in FIELDS:
            raise AttributeError(field)
        return self.token(field)

    def token(self, field: str) -> str:
        # Letters, digits and underscores only: they pass Jinja, MJML, lxml (URL attributes
        # included) and text wrapping unchanged.
        return f"PUB{self.nonce}_{field}_END"

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(f"PUB{self.nonce}_({'|'.join(FIELDS)})_END")


@dataclass(frozen=True, slots=True)
class Filler:
    """A text with placeholders, pre-split: ``literals[0] + v[fields[0]] + literals[1] + ...``."""

    literals: tuple[str, ...]
    fields: tuple[str, ...]

    @classmethod
    def split(cls, text: str, placeholders: Placeholders) -> Filler:
        parts = placeholders.pattern.split(text)
        return cls(tuple(parts[0::2]), tuple(parts[1::2]))

    def fill(self, values: Mapping[str, str]) -> str:
        out = [self.literals[0]]
        for field, literal in zip(self.fields, self.literals[1:], strict=True):
            out.append(values[field])
            out.append(literal)
        return "".join(out)

    def map_literals(self, func: Callable[[str], str]) -> list[str]:
        return [func(literal) for literal in self.literals]


def text_values(recipient: Recipient) -> dict[str, str]:
    """Placeholder values for the plain-text part. ``one_line``: no line breaks from a name."""
    return {
        "name": one_line(recipient.name) or ANONYMOUS_NAME,
        "email": one_line(recipient.email),
        "unsubscribe_url": one_line(recipient.unsubscribe_url),
        "preferences_url": one_line(recipient.preferences_url),
    }


def html_values(recipient: Recipient) -> dict[str, str]:
    """Placeholder values for the HTML part: escaped for both text and attribute positions."""
    return {key: html.escape(value, quote=True) for key, value in text_values(recipient).items()}
