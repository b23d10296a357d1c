"""The Morning Edition: which articles (``selection``), the compiled email (``compile``), and the
per-reader filling (``personalize``). The MIME message is built in ``publisher.mail.message``."""

from publisher.edition.compile import CompiledEdition, CompiledEditions, compile_edition
from publisher.edition.personalize import Recipient
from publisher.edition.selection import Edition, EditionSpec, load_edition, select_articles

__all__ = [
    "CompiledEdition",
    "CompiledEditions",
    "Edition",
    "EditionSpec",
    "Recipient",
    "compile_edition",
    "load_edition",
    "select_articles",
]
