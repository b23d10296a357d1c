"""The one error tree of publisher.

    PublisherError                  anything publisher reports to a person        exit 1
    ├── ConfigError                 a bad setting (names the variable)            exit 2
    ├── NotFoundError               no such edition, schedule, article, reader    exit 3
    ├── ConflictError               the verb does not apply to the thing as it is exit 4
    │   └── EditionStateError       e.g. sending a paused edition (names the fix)
    ├── InvalidInputError           a bad value given by a person (names field)   exit 1
    │   ├── IngestError             an article that cannot be read (file, line, field)
    │   └── ScheduleError           a bad schedule: time, days, zone, name
    ├── FeedError                   a feed that cannot be built
    ├── RenderError                 an email that cannot be rendered (our fault: halts an edition)
    └── DeliveryError               a message that could not be handed to the mail server
        ├── TransientDeliveryError  try again later (SMTP 4xx, dropped connection)   retryable
        └── PermanentDeliveryError  do not retry (SMTP 5xx)

Every error carries ``field`` (the setting, form field, article field or option it concerns, or
None) and ``retryable`` (whether trying the same thing again later may succeed), so callers decide
by type and attributes, never by matching message text. ``exit_code`` is what the CLI exits with.
``IngestError`` also has ``path`` and ``line`` and formats them as ``path: line 3: no byline line``.
"""

from __future__ import annotations

from collections.abc import Sequence


class PublisherError(Exception):
    """Base class: the message is meant for a person, never a traceback."""

    retryable: bool = False
    exit_code: int = 1

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ConfigError(PublisherError):
    """Bad settings. ``problems`` holds one (setting as a person wrote it, problem) pair per bad
    setting, e.g. ("PUBLISHER_FEED_ITEMS", "must be at least 1, got 0") or ("publisher.toml: feed_items",
    ...); the message is those pairs, one line each. ``field`` is the first setting named."""

    exit_code = 2

    def __init__(
        self,
        message: str = "",
        *,
        field: str | None = None,
        problems: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.problems = tuple(problems)
        if self.problems:
            message = message or "\n".join(f"{where}: {text}" for where, text in self.problems)
            field = field or self.problems[0][0]
        super().__init__(message, field=field)


class NotFoundError(PublisherError):
    exit_code = 3


class ConflictError(PublisherError):
    exit_code = 4


class EditionStateError(ConflictError):
    """A verb that does not apply to an edition in its state. The message names the edition, its
    state and what to do instead (``edition 12 is paused: publisher edition resume 12``)."""

    def __init__(self, message: str, *, edition_id: int, state: str, verb: str) -> None:
        super().__init__(message)
        self.edition_id = edition_id
        self.state = state
        self.verb = verb


class InvalidInputError(PublisherError):
    """A value given by a person (an option, a form or JSON field) that publisher cannot take."""


class IngestError(InvalidInputError):
    def __init__(
        self,
        reason: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = reason
        self.path = path
        self.line = line
        super().__init__(self._format(field), field=field)

    def _format(self, field: str | None) -> str:
        parts = []
        if self.path:
            parts.append(self.path)
        if self.line is not None:
            parts.append(f"line {self.line}")
        if field:
            parts.append(f"field '{field}'")
        parts.append(self.reason)
        return ": ".join(parts)

    def at(self, *, path: str | None = None, prefix_field: str | None = None) -> IngestError:
        """The same error, placed in a file (and inside a list item of it)."""
        field = self.field
        if prefix_field:
            field = f"{prefix_field}.{field}" if field else prefix_field
        return IngestError(self.reason, path=path or self.path, line=self.line, field=field)


class ScheduleError(InvalidInputError, ValueError):
    pass


class FeedError(PublisherError):
    pass


class RenderError(PublisherError):
    pass


class DeliveryError(PublisherError):
    """``code`` is the SMTP reply code (None for a dropped connection); ``bounce`` is True for a
    hard bounce of the recipient (550/551/553 on RCPT), which marks the subscriber bounced."""

    def __init__(self, reason: str, *, code: int | None = None, bounce: bool = False) -> None:
        super().__init__(reason)
        self.code = code
        self.bounce = bounce


class TransientDeliveryError(DeliveryError):
    retryable = True
    exit_code = 5


class PermanentDeliveryError(DeliveryError):
    pass
