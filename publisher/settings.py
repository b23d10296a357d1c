"""All of publisher's tunables in one place, with working defaults, checked once at start.

Each setting is read from the environment variable ``PUBLISHER_<NAME>`` or, failing that, from the
key ``<name>`` of an optional ``publisher.toml`` (in the working directory, or the file named by
``PUBLISHER_CONFIG``). With nothing set, publisher runs on one machine: SQLite under ``var/``, no
broker (tasks run in-process), mail written to a Maildir outbox.

``Settings`` is a frozen pydantic-settings model: a bad value never gets as far as the code that uses
it. Every bad setting is reported at once, one line each (``PUBLISHER_FEED_ITEMS: must be at least
1, got 0``), in a ``ConfigError`` that the CLI turns into exit status 2.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import time
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator, Field, ModelWrapValidatorHandler, model_validator
from pydantic import ValidationError as _ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings.sources.utils import parse_env_vars

from publisher.errors import ConfigError

ENV_PREFIX = "PUBLISHER_"
MIN_KEY_LENGTH = 32
KEY_HINT = (
    "leave it unset to have one generated, or set 32+ random characters "
    "(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
)
# Fragments of keys people copy from examples; a random key of 32+ characters never contains one.
_PLACEHOLDER_WORDS = (
    "changeme", "replaceme", "placeholder", "insecure", "example", "secret", "password", "yourkey",
    "xxxxxx", "todo", "fixme",
)  # fmt: skip
_HHMM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_EDITION_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})+")
_TOKEN = re.compile(r"[!-~]+")  # printable ASCII without spaces: fits in a header or a Redis key
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_DKIM_SELECTOR = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9_-]+)*")


# --- checks of one value: each returns the value (normalised) or raises ValueError(problem) ---


def _one_line(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("must be one line")
    return value


def _not_empty(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


def _url(*schemes: str, optional: bool = False, host: bool = True) -> Callable[[str], str]:
    """A URL check; the value is never echoed, because URLs carry passwords."""
    wanted = " or ".join(f"{s}://" for s in schemes) + (" (or unset)" if optional else "")

    def check(value: str) -> str:
        if not value and optional:
            return ""
        parts = urlsplit(value)
        if parts.scheme.lower().split("+")[0] not in schemes:
            got = f"{parts.scheme}://" if parts.scheme else "no scheme"
            raise ValueError(f"expected {wanted}, got {got}")
        if host and not parts.hostname:
            raise ValueError("the URL names no host")
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when it is read
        except ValueError:
            raise ValueError("the port is not a number from 0 to 65535") from None
        return value

    return check


def _smtp_url(value: str) -> str:
    if value.startswith("maildir:"):  # a Maildir of one's own choosing (publisher/mail/mailer.py)
        return value
    return _url("smtp", "smtps", optional=True)(value)


def _site_url(value: str) -> str:
    _url("http", "https")(value)
    parts = urlsplit(value)
    if parts.query or parts.fragment:
        raise ValueError("the base URL takes no ?query or #fragment")
    return value


def _address(value: str, *, bare: bool) -> str:
    """One valid address, with a display name (``Name <a@b.example>``) unless ``bare``."""
    if not value:
        return value
    _one_line(value)
    name, address = parseaddr(value)
    if not address or "@" not in address or (bare and name):
        form = (
            "an address such as 'unsubscribe@news.example.com'"
            if bare
            else ("an address such as 'Newslooks <editions@news.example.com>'")
        )
        raise ValueError(f"expected {form}, got {value!r}")
    if value != address and not value.endswith(f"<{address}>"):
        raise ValueError(f"write it as 'Name <address>', got {value!r}")
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"{address!r} is not a valid address: {exc}") from None
    return value


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"not an IANA time zone (such as Europe/Paris): {value!r}") from None
    return value


def parse_hhmm(value: str) -> time:
    match = _HHMM.fullmatch(value.strip())
    if not match:
        raise ValueError(f"expected a time as HH:MM, got {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def _hhmm(value: str) -> str:
    return parse_hhmm(value).strftime("%H:%M")


def parse_edition_names(value: str) -> dict[str, tuple[str, time | None]]:
    """``"morning=Morning Edition, evening=Evening Edition@19:00"`` → {name: (title, own cut-off)}."""
    names: dict[str, tuple[str, time | None]] = {}
    for entry in value.split(","):
        if not entry.strip():
            continue
        name, sep, rest = entry.partition("=")
        name = name.strip()
        title, at, hhmm = rest.partition("@")
        if not sep or not name or not title.strip():
            raise ValueError(f"expected name=Title or name=Title@HH:MM, got {entry.strip()!r}")
        if not _EDITION_NAME.fullmatch(name):
            raise ValueError(f"an edition name is lower-case letters, digits and '-', got {name!r}")
        if name in names:
            raise ValueError(f"edition {name!r} is named twice")
        names[name] = (title.strip(), parse_hhmm(hhmm) if at else None)
    if not names:
        raise ValueError("name at least one edition, e.g. morning=Morning Edition")
    return names


def _edition_names(value: str) -> str:
    parsed = parse_edition_names(value)
    return ",".join(
        f"{name}={title}" + (f"@{cutoff:%H:%M}" if cutoff else "") for name, (title, cutoff) in parsed.items()
    )


def _sections(value: str) -> str:
    names = [part.strip() for part in value.split(",")]
    if names == [""]:
        return ""
    if "" in names:
        raise ValueError(f"an empty section name in {value!r}")
    seen: set[str] = set()
    for name in names:
        if name.casefold() in seen:
            raise ValueError(f"section {name!r} is named twice")
        seen.add(name.casefold())
    return ",".join(names)


def _matches(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value and not pattern.fullmatch(value):
            raise ValueError(f"expected {what}, got {value!r}")
        return value

    return check


def _placeholder(value: str) -> bool:
    squashed = re.sub(r"[^a-z0-9]", "", value.lower())
    return any(word in squashed for word in _PLACEHOLDER_WORDS)


def _secret_key(value: str | None) -> str | None:
    """Unset means "generate one" (publisher/keys.py); a weak key is worse, so it is refused."""
    if not value:
        return None
    if _placeholder(value):
        raise ValueError(f"a placeholder, not a key: {KEY_HINT}")
    if len(value) < MIN_KEY_LENGTH:
        raise ValueError(f"too short ({len(value)} characters, at least {MIN_KEY_LENGTH}): {KEY_HINT}")
    if len(set(value)) < 10:
        raise ValueError(f"not random (too few different characters): {KEY_HINT}")
    return value


def _api_token(value: str) -> str:
    if value and _placeholder(value):
        raise ValueError("a placeholder, not a token: set a random value, or leave it unset to close the API")
    if value and not _TOKEN.fullmatch(value):
        raise ValueError("must be printable ASCII without spaces (it travels in an HTTP header)")
    return value


def _dkim_key_file(value: str) -> str:
    if not value:
        return value
    try:
        data = Path(value).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {value}: {exc.strerror or exc}") from None
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ValueError(f"{value} is not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{value} is not an RSA key")
    return value


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


Text = Annotated[str, AfterValidator(_one_line)]
Required = Annotated[str, AfterValidator(_one_line), AfterValidator(_not_empty)]
SecretKey = Annotated[str | None, BeforeValidator(_blank_is_none), AfterValidator(_secret_key)]
Mailbox = Annotated[str, AfterValidator(_not_empty), AfterValidator(lambda v: _address(v, bare=False))]
BareAddress = Annotated[str, AfterValidator(lambda v: _address(v, bare=True))]
Domain = Annotated[str, AfterValidator(_matches(_DOMAIN, "a domain such as news.example.com"))]
HeaderToken = Annotated[str, AfterValidator(_matches(_TOKEN, "printable ASCII without spaces"))]
DkimSelector = Annotated[str, AfterValidator(_matches(_DKIM_SELECTOR, "a DNS label such as news2026"))]


def _sendgrid_key(value: str) -> str:
    if not value:
        return ""
    import base64
    import binascii

    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        key = load_der_public_key(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error, TypeError):
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("expected the base64 DER EC P-256 public key SendGrid shows")
    return value


def _user_password(value: str) -> str:
    user, colon, password = value.partition(":")
    if value and not (colon and user and password and _TOKEN.fullmatch(value)):
        raise ValueError("expected user:password, printable ASCII without spaces")
    return value


_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}")


def _topic_arns(value: str) -> str:
    arns = [a.strip() for a in value.split(",") if a.strip()]
    bad = [a for a in arns if not _ARN.fullmatch(a)]
    if bad:
        raise ValueError(
            f"expected SNS topic ARNs such as arn:aws:sns:us-east-1:123456789012:bounces, got {bad[0]!r}"
        )
    return ",".join(arns)


def _setting(default: Any, doc: str, *, secret: bool = False, **limits: Any) -> Any:
    return Field(default, description=doc, json_schema_extra={"secret": True} if secret else None, **limits)


class Settings(BaseSettings):
    """Frozen and hashable (it keys caches); ``Settings(name=value, ...)`` takes exactly what it is
    given plus the defaults, ``Settings.load()`` reads the environment and ``publisher.toml``."""

    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", str_strip_whitespace=True, validate_default=True, env_prefix=ENV_PREFIX
    )

    database_url: Annotated[str, AfterValidator(_url("sqlite", "postgresql", "postgres", host=False))] = (
        _setting("sqlite:///var/publisher.db", "SQLAlchemy URL; postgresql://... works as given")
    )
    redis_url: Annotated[str, AfterValidator(_url("redis", "rediss", optional=True, host=False))] = _setting(
        "", "Celery broker; unset = no broker, tasks run in-process"
    )
    site_url: Annotated[str, AfterValidator(_site_url)] = _setting(
        "http://localhost:8000", "public base URL of the site and feeds"
    )
    secret_key: SecretKey = _setting(
        None,
        "signs reader links and Message-IDs, 32+ random characters; unset = one is generated and kept "
        "in the database",
        secret=True,
    )
    feeds_dir: Required = _setting("feeds", "where feed files are written")
    smtp_url: Annotated[str, AfterValidator(_smtp_url)] = _setting(
        "",
        "smtp://user:pass@host:port (smtps:// for SSL); unset = Maildir outbox under var/outbox",
        secret=True,
    )
    api_token: Annotated[str, AfterValidator(_api_token)] = _setting(
        "", "bearer token for the ops HTTP API", secret=True
    )
    console_idle_minutes: int = _setting(
        60, "minutes after which an unused console session ends", ge=5, le=7 * 24 * 60
    )
    max_body_bytes: int = _setting(
        1_048_576, "largest request body publisher serve reads, bytes (413 beyond)", ge=1024, le=268_435_456
    )
    feed_items: int = _setting(50, "items per feed, newest first", ge=1, le=1000)
    feed_max_age: int = _setting(300, "Cache-Control max-age of served feeds, seconds", ge=0, le=86_400)
    max_body_bytes: int = _setting(
        1_048_576, "largest request body publisher serve reads, bytes (413 beyond)", ge=1024, le=1_073_741_824
    )
    websub_hub: Annotated[str, AfterValidator(_url("http", "https", optional=True))] = _setting(
        "", "WebSub hub URL announced in feeds and pinged on change"
    )
    templates_dir: Text = _setting("", "a folder overriding templates/email/")
    site_title: Required = _setting("Newslooks", "the publication's name in feeds and email")
    language: Annotated[str, AfterValidator(_matches(_LANGUAGE, "a language tag such as en or pt-BR"))] = (
        _setting("en", "content language of feeds and email")
    )
    var_dir: Required = _setting("var", "local state of the embedded default (database, outbox)")
    # The Morning Edition email (publisher/edition, publisher/mail/message.py).
    edition_names: Annotated[str, AfterValidator(_edition_names)] = _setting(
        "morning=Morning Edition",
        "edition names and titles, comma-separated: name=Title, or name=Title@HH:MM for its own cut-off",
    )
    edition_cutoff: Annotated[str, AfterValidator(_hhmm)] = _setting(
        "07:00", "an edition's cut-off time, HH:MM in edition_timezone"
    )
    edition_timezone: Annotated[str, AfterValidator(_zone)] = _setting(
        "UTC", "IANA time zone of edition dates and cut-offs"
    )
    edition_window_hours: int = _setting(
        24, "hours before the cut-off from which an edition takes articles", ge=1, le=720
    )
    edition_sections: Annotated[str, AfterValidator(_sections)] = _setting(
        "World,US News,Business,Technology,Science,Health,Sports",
        "section order in an edition, comma-separated; sections not named follow alphabetically",
    )
    edition_max_articles: int = _setting(12, "most articles in one edition", ge=1, le=100)
    mail_from: Mailbox = _setting("Newslooks <editions@news.example.com>", "From header of editions")
    postal_address: Required = _setting(
        "Newslooks, 100 Harbor Street, Springfield, USA", "postal address printed in every email footer"
    )
    list_id: Domain = _setting("", "List-Id domain part; unset = <edition name>.<From domain>")
    unsubscribe_mailto: BareAddress = _setting(
        "", "address of the List-Unsubscribe mailto; unset = unsubscribe@<From domain>"
    )
    bounce_address: BareAddress = _setting(
        "", "envelope sender for bounces, tagged per message (VERP: bounces+<tag>@...); unset = VERP off"
    )
    feedback_id: HeaderToken = _setting("", "sender id for the Feedback-ID header; unset = no Feedback-ID")
    # Provider webhooks (publisher/web/webhooks.py): each is off (404) until its setting is set.
    mailgun_signing_key: HeaderToken = _setting(
        "", "Mailgun webhook signing key; unset = POST /webhooks/mailgun off", secret=True
    )
    sendgrid_public_key: Annotated[str, AfterValidator(_sendgrid_key)] = _setting(
        "", "SendGrid signed event webhook verification key (base64 DER); unset = /webhooks/sendgrid off"
    )
    postmark_webhook_auth: Annotated[str, AfterValidator(_user_password)] = _setting(
        "", "user:password Postmark sends as basic auth; unset = /webhooks/postmark off", secret=True
    )
    ses_topic_arns: Annotated[str, AfterValidator(_topic_arns)] = _setting(
        "", "SNS topic ARNs (comma-separated) whose SES notifications are taken; unset = /webhooks/ses off"
    )
    webhook_max_age: int = _setting(
        300,
        "seconds a signed webhook call stays valid (older ones and replays are refused)",
        ge=30,
        le=86_400,
    )
    # Delivery (publisher/delivery, publisher/mail): the ledger, SMTP, DKIM, rate limit.
    redis_prefix: HeaderToken = _setting(
        "", "prefix of every Redis key publisher uses (several installs, one Redis)"
    )
    smtp_timeout: int = _setting(
        30, "seconds before a silent SMTP server counts as a dropped connection", ge=1, le=600
    )
    smtp_retries: int = _setting(
        5, "retries of one message after a 4xx reply or a dropped connection", ge=0, le=20
    )
    smtp_retry_delay: float = _setting(
        1.0, "first retry delay, seconds; doubles per retry, with jitter", ge=0, le=3600, allow_inf_nan=False
    )
    delivery_batch_size: int = _setting(500, "ledger rows per send task", ge=1, le=100_000)
    delivery_lease: float = _setting(
        60, "seconds after which a queued or sending row is taken up again", gt=0, le=86_400,
        allow_inf_nan=False,
    )  # fmt: skip
    delivery_stuck_policy: Annotated[Literal["resend", "skip"], BeforeValidator(_lower)] = _setting(
        "resend", "a row found in 'sending' past its lease: resend (at most one duplicate) or skip"
    )
    rate_limit: float = _setting(
        0.0, "messages per second across all workers (Redis token bucket); 0 = off", ge=0, le=100_000,
        allow_inf_nan=False,
    )  # fmt: skip
    dkim_key_file: Annotated[str, AfterValidator(_dkim_key_file)] = _setting(
        "", "PEM private key to DKIM-sign with; unset = no DKIM", secret=True
    )
    dkim_selector: DkimSelector = _setting("", "DKIM selector (s=)")
    dkim_domain: Domain = _setting("", "DKIM signing domain (d=)")

    # Readers signing up (publisher/subscribers/signup.py, /subscribe and /confirm).
    confirm_ttl_hours: int = _setting(168, "hours a confirmation link stays valid", ge=1, le=8760)
    confirm_resend_hours: int = _setting(
        24, "at most one confirmation (or already-subscribed) email per address in this many hours",
        ge=1, le=720,
    )  # fmt: skip
    subscribe_rate_limit: int = _setting(
        10, "signup POSTs accepted per client IP per subscribe_rate_window (Redis when configured)",
        ge=1, le=100_000,
    )  # fmt: skip
    subscribe_rate_window: int = _setting(3600, "seconds of the per-IP signup rate window", ge=1, le=86_400)
    # Returned mail (publisher/inbound): publisher inbound serve and soft-bounce counting.
    soft_bounce_limit: int = _setting(
        3, "soft bounces within soft_bounce_days that make a reader bounced", ge=1, le=100
    )
    soft_bounce_days: int = _setting(14, "days over which soft bounces are counted", ge=1, le=365)
    bounce_pause_rate: float = _setting(
        0.05, "hard-bounce rate (of sent) past which an edition with at least 500 sends is halted",
        gt=0, le=1, allow_inf_nan=False,
    )  # fmt: skip
    inbound_max_bytes: int = _setting(
        10_485_760,
        "largest message publisher inbound serve accepts, bytes (552 beyond)",
        ge=1024,
        le=268_435_456,
    )
    inbound_tls_cert: Text = _setting(
        "", "PEM certificate for STARTTLS on inbound serve; unset = no STARTTLS"
    )
    inbound_tls_key: Text = _setting("", "PEM private key of inbound_tls_cert")

    # Scheduling (publisher/schedule): the sweep run by beat every minute, or by `publisher run`.
    schedule_lateness_hours: float = _setting(
        3.0, "rows not sent this long after their due time are skipped and reported", gt=0, le=168,
        allow_inf_nan=False,
    )  # fmt: skip
    schedule_freeze_minutes: int = _setting(
        10, "an edition's articles are frozen this long before its first time zone is due", ge=0, le=1440
    )
    sweep_interval: int = _setting(60, "seconds between two sweeps of the scheduler", ge=1, le=3600)
    beat_lock_timeout: int = _setting(
        60,
        "seconds after which a standby beat takes over from one that stopped (celery-redbeat lock)",
        ge=5,
        le=3600,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Settings(...) is exactly what it is given: tests and benchmarks must not pick up the
        # environment of whoever runs them. Settings.load() is the one reader of the environment.
        return (init_settings,)

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem(cls, data: Any, handler: ModelWrapValidatorHandler[Settings]) -> Settings:
        """Collect every bad setting, including those that are only bad together, into one error."""
        problems: list[tuple[str, str]] = []
        settings = None
        try:
            settings = handler(data)
        except _ValidationError as exc:
            problems = [_describe_error(error) for error in exc.errors()]
        if isinstance(data, Mapping):
            problems += _dkim_problems(data)
        if problems:
            raise settings_error(problems)
        assert settings is not None
        return settings

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, config_file: str | Path | None = None
    ) -> Settings:
        """The environment first, then the toml file; a ConfigError lists every bad setting."""
        environ = os.environ if environ is None else environ
        path = Path(config_file or environ.get(f"{ENV_PREFIX}CONFIG") or "publisher.toml")
        try:
            file_values = TomlConfigSettingsSource(cls, toml_file=path)() if path.is_file() else {}
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}", field=f"{ENV_PREFIX}CONFIG") from None
        except OSError as exc:
            raise ConfigError(f"{path}: {exc.strerror or exc}", field=f"{ENV_PREFIX}CONFIG") from None
        env_values = _EnvironSource(cls, environ)()
        # A bad value is reported where it was written: the variable, or the file and its key.
        in_file = {ENV_PREFIX + key.upper(): f"{path}: {key}" for key in file_values if key not in env_values}
        try:
            return cls.model_validate({**file_values, **env_values})
        except ConfigError as exc:
            problems = [(in_file.get(where, where), text) for where, text in exc.problems]
            raise ConfigError(problems=problems, field=exc.field) from None

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes``, checked like any other settings."""
        return type(self).model_validate({**self.model_dump(), **changes})

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

    @property
    def editions(self) -> dict[str, tuple[str, time | None]]:
        """``edition_names`` parsed: {name: (title, its own cut-off or None)}."""
        return parse_edition_names(self.edition_names)

    @property
    def edition_cutoff_time(self) -> time:
        return parse_hhmm(self.edition_cutoff)

    @property
    def edition_zone(self) -> ZoneInfo:
        return ZoneInfo(self.edition_timezone)

    @property
    def section_order(self) -> tuple[str, ...]:
        """``edition_sections`` as a tuple (empty: every section alphabetically)."""
        return tuple(self.edition_sections.split(",")) if self.edition_sections else ()

    def describe(self) -> list[tuple[str, str, str]]:
        """(environment variable, effective value with secrets masked, description)."""
        rows = []
        for name, spec in type(self).model_fields.items():
            value = getattr(self, name)
            secret = name in _secret_fields()
            if name == "secret_key" and value is None:
                shown = "(generated, kept in the database)"
            elif secret or name.endswith("_url"):
                shown = _mask(name, value)
            else:
                shown = str(value)
            rows.append((ENV_PREFIX + name.upper(), shown, spec.description or ""))
        return rows


class _EnvironSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (tests pass a dict)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls, case_sensitive=False, env_prefix=ENV_PREFIX)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._environ, False, False, None)


def settings_error(problems: list[tuple[str, str]]) -> ConfigError:
    """One ConfigError for every (field name, problem), each named by its environment variable."""
    named = [(ENV_PREFIX + name.upper(), text) for name, text in problems]
    return ConfigError(problems=named, field=named[0][0])


def _describe_error(error: ErrorDetails) -> tuple[str, str]:
    """A pydantic error → (field, a problem a person can act on); secrets are never echoed."""
    field = str(error["loc"][0]) if error["loc"] else ""
    kind, ctx = error["type"], error.get("ctx") or {}
    secret = field in _secret_fields()
    got = "" if secret else f", got {error['input']!r}"
    texts = {
        "value_error": lambda: str(ctx.get("error", error["msg"])),
        "extra_forbidden": lambda: "unknown setting",
        "int_parsing": lambda: f"expected a whole number{got}",
        "int_from_float": lambda: f"expected a whole number{got}",
        "int_type": lambda: f"expected a whole number{got}",
        "float_parsing": lambda: f"expected a number{got}",
        "float_type": lambda: f"expected a number{got}",
        "finite_number": lambda: f"expected a finite number{got}",
        "greater_than_equal": lambda: f"must be at least {ctx.get('ge')}{got}",
        "greater_than": lambda: f"must be more than {ctx.get('gt')}{got}",
        "less_than_equal": lambda: f"must be at most {ctx.get('le')}{got}",
        "less_than": lambda: f"must be less than {ctx.get('lt')}{got}",
        "literal_error": lambda: f"expected {ctx.get('expected')}{got}",
        "string_type": lambda: f"expected text{got}",
    }
    text = texts[kind]() if kind in texts else error["msg"]
    return field, text


def _secret_fields() -> frozenset[str]:
    return frozenset(
        name
        for name, spec in Settings.model_fields.items()
        if isinstance(spec.json_schema_extra, dict) and spec.json_schema_extra.get("secret")
    )


def _dkim_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The DKIM key, selector and domain mean something only together."""
    trio = ("dkim_key_file", "dkim_selector", "dkim_domain")
    given = {name: bool(str(data.get(name) or "").strip()) for name in trio}
    if not any(given.values()) or all(given.values()):
        return []
    named = ", ".join(ENV_PREFIX + n.upper() for n in trio if given[n])
    return [(n, f"set all or none of the DKIM settings ({named} is set)") for n in trio if not given[n]]


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
