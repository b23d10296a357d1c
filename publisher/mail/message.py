"""One reader's email as RFC 5322 bytes: the compiled edition with the placeholders filled.

    render_message(compiled, recipient, settings, *, message_id, date=None) -> bytes

is what delivery calls per recipient. The result is the complete message with CRLF line endings:
``multipart/alternative`` (text/plain, then text/html), UTF-8, quoted-printable, and the headers
From, To, Subject, Date, Message-ID, MIME-Version, List-Id, List-Unsubscribe (the reader's https
URL and a mailto), ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058) and, when
``PUBLISHER_FEEDBACK_ID`` is set, Feedback-ID. ``message_id`` is ``local@domain`` or just ``local``
(the From domain is added); angle brackets are added here.

Speed: everything that is the same for every reader (the headers of the edition, the encoded
text around each placeholder) is prepared once per compiled edition and cached on it; per reader
only the few personal values are encoded and the pieces joined. Quoted-printable chunks always end
on a line boundary (a hard or a soft line break), so encoded pieces concatenate into valid QP.

``render_parts`` gives the same message as a ``Rendered``: the header block, and the body as the
edition's constant pieces (one ``BodyLayout`` per compiled edition) with the reader's own pieces
between them, every piece whole lines. DKIM (``publisher.mail.dkim``) canonicalises and hashes the
constant pieces once per edition and per message only the reader's pieces after them. The MIME
boundary is derived from the compiled edition, so the same reader and edition give the same bytes
in every process (for the same Date).

Header safety: every value that reaches a header is one line (``one_line``) or refused:
addresses and URLs with spaces, angle brackets or line breaks raise ``RenderError``.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

from publisher.edition.compile import CompiledEdition
from publisher.edition.personalize import Recipient, html_values, text_values
from publisher.errors import RenderError
from publisher.settings import Settings
from publisher.text import one_line

CRLF = b"\r\n"
QP_LINE = 76
# No spaces, angle brackets, quotes or controls: safe inside <...> in a header.
_HEADER_TOKEN = re.compile(r"[^\s<>\"\x00-\x1f\x7f]+")


@dataclass(eq=False, slots=True)
class BodyLayout:
    """The body of every message of one compiled edition: ``constants[0] + personal[0] +
    constants[1] + ... + constants[-1]``, each piece whole lines (it ends with a line break).
    ``cache`` holds what a signer derives from the constants (once per edition)."""

    constants: tuple[bytes, ...]
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class Rendered:
    """One reader's message: ``head`` (every header line, CRLF-terminated, without the blank line
    that ends them) and the body as ``layout``'s constant pieces with ``personal`` between them."""

    head: bytes
    layout: BodyLayout
    personal: tuple[bytes, ...]

    def body(self) -> bytes:
        constants = self.layout.constants
        parts = [constants[0]]
        for personal, constant in zip(self.personal, constants[1:], strict=True):
            parts.append(personal)
            parts.append(constant)
        return b"".join(parts)

    def message(self) -> bytes:
        return self.head + CRLF + self.body()

    def stuffed(self) -> list[bytes]:
        """The message as SMTP's DATA carries it, in pieces: every line starting with '.' has it
        doubled (RFC 5321 4.5.2), and the ending line '.' follows. The constant pieces are
        stuffed once per edition (each is whole lines, so each can be stuffed on its own); header
        lines never start with '.'."""
        constants = self.layout.cache.get(_STUFFED)
        if constants is None:
            constants = self.layout.cache[_STUFFED] = [dot_stuffed(c) for c in self.layout.constants]
        pieces = [self.head, CRLF, constants[0]]
        for personal, constant in zip(self.personal, constants[1:], strict=True):
            pieces.append(dot_stuffed(personal))
            pieces.append(constant)
        pieces.append(b".\r\n")
        return pieces


_STUFFED = "dot-stuffed constants"


def dot_stuffed(lines: bytes) -> bytes:
    """Whole lines with a '.' doubled at the start of each (SMTP transparency, RFC 5321 4.5.2)."""
    return (b"." if lines.startswith(b".") else b"") + lines.replace(b"\n.", b"\n..")


@dataclass(frozen=True, slots=True)
class _Prepared:
    """The parts of every message of one compiled edition, encoded once."""

    domain: str
    head: bytes  # From
    middle: bytes  # Subject .. List-Id, after To
    tail: bytes  # List-Unsubscribe-Post, Feedback-ID, Content-Type (the last header)
    text_fields: tuple[str, ...]
    html_fields: tuple[str, ...]
    layout: BodyLayout  # part headers, the literals of both parts, boundaries
    default_mailto: str


def render_message(
    compiled: CompiledEdition,
    recipient: Recipient,
    settings: Settings,
    *,
    message_id: str,
    date: datetime | None = None,
) -> bytes:
    """The complete message for ``recipient`` (CRLF line endings), ready for SMTP."""
    return render_parts(compiled, recipient, settings, message_id=message_id, date=date).message()


def render_parts(
    compiled: CompiledEdition,
    recipient: Recipient,
    settings: Settings,
    *,
    message_id: str,
    date: datetime | None = None,
) -> Rendered:
    """``render_message`` in the pieces DKIM signing uses."""
    prepared = compiled.mime_cache.get(settings)
    if prepared is None:
        prepared = compiled.mime_cache[settings] = _prepare(compiled, settings)
    when = (date or datetime.now(UTC)).replace(microsecond=0)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    text_vals = text_values(recipient)
    html_vals = html_values(recipient)
    mailto = _mailto(recipient.unsubscribe_mailto or prepared.default_mailto)
    unsubscribe = _header_token(text_vals["unsubscribe_url"], "unsubscribe URL")
    head = b"".join((
        prepared.head,
        b"To: ",
        _address(recipient.email, recipient.name),
        prepared.middle,
        b"Date: ",
        format_datetime(when.astimezone(UTC)).encode("ascii"),
        b"\r\nMessage-ID: <",
        _message_id(message_id, prepared.domain),
        b">\r\nList-Unsubscribe: <",
        unsubscribe.encode("ascii"),
        b">, <",
        mailto.encode("ascii"),
        b">\r\n",
        prepared.tail,
    ))  # fmt: skip
    personal = [qp_chunk(text_vals[name].encode("utf-8")) for name in prepared.text_fields]
    personal += [qp_chunk(html_vals[name].encode("utf-8")) for name in prepared.html_fields]
    return Rendered(head, prepared.layout, tuple(personal))


def qp_chunk(data: bytes) -> bytes:
    """Quoted-printable of ``data`` with CRLF line ends, ending on a line boundary.

    Chunks that end mid-line get a soft line break, so chunks can be concatenated freely (the
    decoder joins soft-broken lines), and no line ever exceeds 76 characters.
    """
    if not data:
        return b""
    has_crlf = b"\n" in data
    if has_crlf:
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    encoded = binascii.b2a_qp(data)
    if not has_crlf:  # b2a_qp uses LF for soft breaks unless the data has CRLF
        encoded = encoded.replace(b"=\n", b"=\r\n")
    if encoded.endswith(CRLF):
        return encoded
    start = encoded.rfind(b"\n") + 1
    tail = encoded[start:]
    if len(tail) >= QP_LINE:  # no room for the "=": break before the last few characters
        cut = QP_LINE - 1
        if tail[cut - 1 : cut] == b"=":
            cut -= 1
        elif tail[cut - 2 : cut - 1] == b"=":
            cut -= 2
        encoded = encoded[:start] + tail[:cut] + b"=\r\n" + tail[cut:]
    return encoded + b"=\r\n"


def _prepare(compiled: CompiledEdition, settings: Settings) -> _Prepared:
    edition = compiled.edition
    from_name, from_addr = parseaddr(one_line(settings.mail_from))
    if "@" not in from_addr or not _HEADER_TOKEN.fullmatch(from_addr):
        raise RenderError(f"PUBLISHER_MAIL_FROM: not an address: {settings.mail_from!r}")
    domain = from_addr.rsplit("@", 1)[1]
    list_id = one_line(settings.list_id) or f"{edition.name}.{domain}"
    if not _HEADER_TOKEN.fullmatch(list_id):
        raise RenderError(f"PUBLISHER_LIST_ID: not a list id: {settings.list_id!r}")
    list_name = _phrase(f"{settings.site_title} {edition.title}")
    # "=_" never occurs in quoted-printable, so no part can contain the boundary. Derived from
    # the compiled content rather than random: every worker makes the same bytes for a reader.
    fingerprint = hashlib.sha256(compiled.subject.encode("utf-8"))
    for part in (compiled.text.literals, compiled.html.literals):
        for literal in part:
            fingerprint.update(literal.encode("utf-8") + b"\x00")
        fingerprint.update(b"\x01")
    boundary = "=_publisher_" + fingerprint.hexdigest()[:24]

    head = f"From: {formataddr((one_line(from_name), from_addr), charset='utf-8')}\r\n"
    subject = Header(compiled.subject, "us-ascii" if compiled.subject.isascii() else "utf-8",
                     header_name="Subject").encode(linesep="\r\n")  # fmt: skip
    middle = f"\r\nSubject: {subject}\r\n"
    middle += f"MIME-Version: 1.0\r\nList-Id: {list_name} <{list_id}>\r\n"
    tail = "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    if settings.feedback_id:
        sender = _header_token(one_line(settings.feedback_id), "PUBLISHER_FEEDBACK_ID")
        tail += f"Feedback-ID: {edition.date:%Y%m%d}:{edition.name}:edition:{sender}\r\n"
    tail += f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
    start = f"--{boundary}\r\n" + _part_header("plain")
    between = f"\r\n--{boundary}\r\n" + _part_header("html")
    end = f"\r\n--{boundary}--\r\n"
    # The body as pieces, None where a reader's value goes; neighbouring constants become one.
    pieces: list[bytes | None] = [start.encode("ascii")]
    for literals, after in ((compiled.text.literals, between), (compiled.html.literals, end)):
        pieces.append(qp_chunk(literals[0].encode("utf-8")))
        for literal in literals[1:]:
            pieces += [None, qp_chunk(literal.encode("utf-8"))]
        pieces.append(after.encode("ascii"))
    constants, current = [], b""
    for piece in pieces:
        if piece is None:
            constants.append(current)
            current = b""
        else:
            current += piece
    constants.append(current)
    default_mailto = one_line(settings.unsubscribe_mailto) or f"unsubscribe@{domain}"
    return _Prepared(
        domain=domain,
        head=head.encode("ascii"),
        middle=middle.encode("ascii"),
        tail=tail.encode("ascii"),
        text_fields=compiled.text.fields,
        html_fields=compiled.html.fields,
        layout=BodyLayout(tuple(constants)),
        default_mailto=default_mailto,
    )


def _part_header(subtype: str) -> str:
    return (
        f"Content-Type: text/{subtype}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    )


def _phrase(text: str) -> str:
    """A display name for a header: as is when plain ASCII, else RFC 2047 encoded."""
    text = one_line(text)
    if text.isascii() and re.fullmatch(r"[A-Za-z0-9 !#$%&'*+\-/=?^_`{|}~]*", text):
        return text
    return Header(text, "utf-8").encode(linesep="\r\n")


def _address(email: str, name: str) -> bytes:
    addr = one_line(email)
    if "@" not in addr or not addr.isascii() or not _HEADER_TOKEN.fullmatch(addr):
        raise RenderError(f"not a deliverable address: {email!r}")
    name = one_line(name)
    if not name:
        return addr.encode("ascii")
    return formataddr((name, addr), charset="utf-8").encode("ascii")


def _message_id(value: str, domain: str) -> bytes:
    value = value.strip().removeprefix("<").removesuffix(">")
    if "@" not in value:
        value = f"{value}@{domain}"
    if not value.isascii() or not _HEADER_TOKEN.fullmatch(value) or value.count("@") != 1:
        raise RenderError(f"not a valid Message-ID: {value!r}")
    return value.encode("ascii")


def _mailto(value: str) -> str:
    value = one_line(value)
    if not value.startswith("mailto:"):
        value = f"mailto:{value}?subject=unsubscribe"
    return _header_token(value, "unsubscribe mailto")


def _header_token(value: str, what: str) -> str:
    if not value.isascii() or not _HEADER_TOKEN.fullmatch(value):
        raise RenderError(f"{what} cannot go into a header: {value!r}")
    return value
