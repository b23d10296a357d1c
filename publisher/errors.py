"""The one error tree of publisher.

    PublisherError                  anything publisher reports to a person
    ├── ConfigError                 a bad setting (names the variable)
    ├── NotFoundError               no such edition, schedule or article
    ├── IngestError                 an article that cannot be read (names file, line or field)
    ├── FeedError                   a feed that cannot be built
    ├── RenderError                 an email that cannot be rendered
    ├── ScheduleError               a bad schedule: time, days, zone, or a name taken or unknown
    └── DeliveryError               a message that could not be handed to the mail server
        ├── TransientDeliveryError  try again later (SMTP 4xx, dropped connection)
        └── PermanentDeliveryError  do not retry (SMTP 5xx)

Errors that reach a user carry where the problem is: ``IngestError`` has ``path``, ``line`` and
``field`` and formats them as ``path: line 3: no byline line found``.
"""

from __future__ import annotations


class PublisherError(Exception):
    """Base class: the message is meant for a person, never a traceback."""


class ConfigError(PublisherError):
    pass


class NotFoundError(PublisherError):
    pass


class IngestError(PublisherError):
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
        self.field = field
        super().__init__(self._format())

    def _format(self) -> str:
        parts = []
        if self.path:
            parts.append(self.path)
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(f"field '{self.field}'")
        parts.append(self.reason)
        return ": ".join(parts)

    def at(self, *, path: str | None = None, prefix_field: str | None = None) -> IngestError:
        """The same error, placed in a file (and inside a list item of it)."""
        field = self.field
        if prefix_field:
            field = f"{prefix_field}.{field}" if field else prefix_field
        return IngestError(self.reason, path=path or self.path, line=self.line, field=field)


class FeedError(PublisherError):
    pass


class RenderError(PublisherError):
    pass


class ScheduleError(PublisherError, ValueError):
    pass


class DeliveryError(PublisherError):
    """``code`` is the SMTP reply code (None for a dropped connection); ``bounce`` is True for a
    hard bounce of the recipient (550/551/553 on RCPT), which marks the subscriber bounced."""

    def __init__(self, reason: str, *, code: int | None = None, bounce: bool = False) -> None:
        super().__init__(reason)
        self.code = code
        self.bounce = bounce


class TransientDeliveryError(DeliveryError):
    pass


class PermanentDeliveryError(DeliveryError):
    pass
