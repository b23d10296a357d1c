"""All of publisher's tunables in one place, with working defaults.

Each setting is read from the environment variable ``PUBLISHER_<NAME>`` or, failing that, from the
key ``<name>`` of an optional ``publisher.toml`` (in the working directory, or the file named by
``PUBLISHER_CONFIG``). With nothing set, publisher runs on one machine: SQLite under ``var/``, no
broker (tasks run in-process), mail written to a Maildir outbox.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from publisher.errors import ConfigError

ENV_PREFIX = "PUBLISHER_"


def _setting(default: Any, doc: str, *, secret: bool = False) -> Any:
    return field(default=default, metadata={"doc": doc, "secret": secret})


@dataclass(frozen=True)
class Settings:
    database_url: str = _setting(
        "sqlite:///var/publisher.db", "SQLAlchemy URL; postgresql://... works as given"
    )
    redis_url: str = _setting("", "Celery broker; unset = no broker, tasks run in-process")
    site_url: str = _setting("http://localhost:8000", "public base URL of the site and feeds")
    secret_key: str = _setting(
        "insecure-development-key", "signs unsubscribe tokens; set it in production", secret=True
    )
    feeds_dir: str = _setting("feeds", "where feed files are written")
    smtp_url: str = _setting(
        "",
        "smtp://user:pass@host:port (smtps:// for SSL); unset = Maildir outbox under var/outbox",
        secret=True,
    )
    api_token: str = _setting("", "bearer token for the ops HTTP API", secret=True)
    feed_items: int = _setting(50, "items per feed, newest first")
    feed_max_age: int = _setting(300, "Cache-Control max-age of served feeds, seconds")
    websub_hub: str = _setting("", "WebSub hub URL announced in feeds and pinged on change")
    templates_dir: str = _setting("", "a folder overriding templates/email/")
    site_title: str = _setting("Newslooks", "the publication's name in feeds and email")
    language: str = _setting("en", "content language of feeds and email")
    var_dir: str = _setting("var", "local state of the embedded default (database, outbox)")
    # The Morning Edition email (publisher/edition, publisher/mail/message.py).
    edition_names: str = _setting(
        "morning=Morning Edition",
        "edition names and titles, comma-separated: name=Title, or name=Title@HH:MM for its own cut-off",
    )
    edition_cutoff: str = _setting("07:00", "an edition's cut-off time, HH:MM in edition_timezone")
    edition_timezone: str = _setting("UTC", "IANA time zone of edition dates and cut-offs")
    edition_window_hours: int = _setting(24, "hours before the cut-off from which an edition takes articles")
    edition_sections: str = _setting(
        "World,US News,Business,Technology,Science,Health,Sports",
        "section order in an edition, comma-separated; sections not named follow alphabetically",
    )
    edition_max_articles: int = _setting(12, "most articles in one edition")
    mail_from: str = _setting("Newslooks <editions@news.example.com>", "From header of editions")
    postal_address: str = _setting(
        "Newslooks, 100 Harbor Street, Springfield, USA", "postal address printed in every email footer"
    )
    list_id: str = _setting("", "List-Id domain part; unset = <edition name>.<From domain>")
    unsubscribe_mailto: str = _setting(
        "", "address of the List-Unsubscribe mailto; unset = unsubscribe@<From domain>"
    )
    feedback_id: str = _setting("", "sender id for the Feedback-ID header; unset = no Feedback-ID")
    # Delivery (publisher/delivery, publisher/mail): the ledger, SMTP, DKIM, rate limit.
    redis_prefix: str = _setting("", "prefix of every Redis key publisher uses (several installs, one Redis)")
    smtp_timeout: int = _setting(30, "seconds before a silent SMTP server counts as a dropped connection")
    smtp_retries: int = _setting(5, "retries of one message after a 4xx reply or a dropped connection")
    smtp_retry_delay: float = _setting(1.0, "first retry delay, seconds; doubles per retry, with jitter")
    delivery_batch_size: int = _setting(500, "ledger rows per send task")
    delivery_lease: int = _setting(60, "seconds after which a queued or sending row is taken up again")
    delivery_stuck_policy: str = _setting(
        "resend", "a row found in 'sending' past its lease: resend (at most one duplicate) or skip"
    )
    rate_limit: float = _setting(0.0, "messages per second across all workers (Redis token bucket); 0 = off")
    dkim_key_file: str = _setting("", "PEM private key to DKIM-sign with; unset = no DKIM", secret=True)
    dkim_selector: str = _setting("", "DKIM selector (s=)")
    dkim_domain: str = _setting("", "DKIM signing domain (d=)")

    # Scheduling (publisher/schedule): the sweep run by beat every minute, or by `publisher run`.
    schedule_lateness_hours: float = _setting(
        3.0, "rows not sent this long after their due time are skipped and reported"
    )
    schedule_freeze_minutes: int = _setting(
        10, "an edition's articles are frozen this long before its first time zone is due"
    )
    sweep_interval: int = _setting(60, "seconds between two sweeps of the scheduler")
    beat_lock_timeout: int = _setting(
        60, "seconds after which a standby beat takes over from one that stopped (celery-redbeat lock)"
    )

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, config_file: str | Path | None = None
    ) -> Settings:
        environ = os.environ if environ is None else environ
        path = Path(config_file or environ.get(f"{ENV_PREFIX}CONFIG") or "publisher.toml")
        file_values = _read_toml(path) if path.exists() else {}
        known = {f.name: f for f in fields(cls)}
        for key in file_values:
            if key not in known:
                raise ConfigError(f"{path}: unknown setting '{key}'")
        values: dict[str, Any] = {}
        for name, spec in known.items():
            env_name = ENV_PREFIX + name.upper()
            if env_name in environ:
                raw: Any = environ[env_name]
                where = env_name
            elif name in file_values:
                raw = file_values[name]
                where = f"{path}: {name}"
            else:
                continue
            values[name] = _coerce(raw, spec.default, where)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with a driver we ship: ``postgresql://`` → psycopg 3."""
        url = self.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def envelope_from(self) -> str:
        """The bare address of ``mail_from``: the SMTP envelope sender (MAIL FROM)."""
        return parseaddr(self.mail_from)[1]

    @property
    def uses_broker(self) -> bool:
        return bool(self.redis_url)

    @property
    def outbox_dir(self) -> Path:
        return Path(self.var_dir) / "outbox"

    def describe(self) -> list[tuple[str, str, str]]:
        """(environment variable, effective value with secrets masked, description)."""
        rows = []
        for spec in fields(self):
            value = getattr(self, spec.name)
            hide = spec.metadata.get("secret") or spec.name.endswith("_url")
            shown = _mask(spec.name, value) if hide else str(value)
            rows.append((ENV_PREFIX + spec.name.upper(), shown, spec.metadata["doc"]))
        return rows


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _coerce(raw: Any, default: Any, where: str) -> Any:
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in ("1", "true", "yes", "on"):
            return True
        if str(raw).lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{where}: expected true or false, got {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a whole number, got {raw!r}") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {raw!r}") from None
    return str(raw)


def _mask(name: str, value: Any) -> str:
    """Hide secrets; of a URL only the password is hidden, so ops can still see where it points."""
    if not value:
        return "(unset)"
    if name.endswith("_url"):
        parts = urlsplit(str(value))
        if parts.password:
            netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
            return urlunsplit(parts._replace(netloc=netloc))
        return str(value)
    return "***"
