"""Every write to ``subscribers.status``, and to the suppression list: nobody else changes either.

Each status change is one ``UPDATE ... WHERE status IN (the states it leaves)`` (the rules of
``states.py``), and records its event (time, kind, source) in the same transaction, so a change
and its history can never disagree; two requests racing (a double click on "confirm", a bounce
during an unsubscribe) move a reader at most once.

The suppression list holds keyed hashes of addresses (``email_hash``, an HMAC under a key of the
``keys`` table), never the addresses: an erased reader leaves only that behind.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from publisher.db import Database
from publisher.db.schema import subscriber_events as ev
from publisher.db.schema import subscribers as t
from publisher.db.schema import suppressions as sup
from publisher.errors import ConflictError, NotFoundError
from publisher.subscribers.model import NewSubscriber, Status
from publisher.subscribers.states import MOVES, SILENT, SUPPRESSED, Move, Source

CHUNK = 5000
PENDING_DAYS = 30  # a signup not confirmed within this many days is deleted
SOFT_BOUNCE = "soft-bounce"  # an event only: counted towards bounced, never a state
AUTO_REPLY = "auto-reply"  # an event only: recorded for ops, never acted on


def now_utc() -> datetime:
    return datetime.now(UTC)


def _leaves(move: Move) -> Any:
    return t.c.status.in_(sorted(str(s) for s in MOVES[move].leaves))


def _to(move: Move) -> str:
    return str(MOVES[move].to)


def keyed_hash(key: Callable[[], str]) -> Callable[[str], str]:
    """HMAC-SHA256 of an address under ``key()`` (read on first use), as the suppression list keeps
    it. A key of its own, not the signing key: setting PUBLISHER_SECRET_KEY later must not make
    the list forget anyone."""
    cached: list[bytes] = []

    def email_hash(address: str) -> str:
        if not cached:
            cached.append(key().encode())
        mac = hmac.new(cached[0], b"publisher suppression v1:" + address.strip().lower().encode(), "sha256")
        return mac.hexdigest()

    return email_hash


@dataclass(frozen=True)
class About:
    """The ledger row (and its edition) a returned-mail report named, kept on its event."""

    edition_id: int
    delivery_id: int


def record(conn: Connection, subscriber_id: int, kind: str, source: str, detail: str = "",
           at: datetime | None = None, about: About | None = None) -> None:  # fmt: skip
    """One event in the reader's history, in the caller's transaction."""
    conn.execute(ev.insert().values(subscriber_id=subscriber_id, at=at or now_utc(), kind=kind,
                                    source=str(source), detail=detail[:1000],
                                    edition_id=about.edition_id if about else None,
                                    delivery_id=about.delivery_id if about else None))  # fmt: skip


class SignupOutcome(StrEnum):
    CONFIRM = "confirm"  # send the confirmation email
    ALREADY = "already"  # active already: send the "you are already subscribed" email
    LIMITED = "limited"  # a confirmation went out less than PUBLISHER_CONFIRM_RESEND_HOURS ago
    SILENT = "silent"  # suppressed (bounced, complained, erased, ops): nothing at all


@dataclass
class ImportOutcome:
    added: int = 0
    updated: int = 0
    kept: list[int] = field(default_factory=list)  # indexes of rows the reader's own choices kept
    suppressed: list[int] = field(default_factory=list)  # indexes of suppressed addresses


class SubscriberLifecycle:
    def __init__(self, db: Database, email_hash: Callable[[str], str]) -> None:
        self.db = db
        self.email_hash = email_hash  # address (lower case) → keyed hash on the suppression list

    # -- inserts --------------------------------------------------------------------------------

    def import_many(
        self, items: Sequence[NewSubscriber], *, source: Source = Source.IMPORT, detail: str = "",
        now: datetime | None = None,
    ) -> ImportOutcome:  # fmt: skip
        """Add new readers as active; update known ones' name, zone and sections, unless the reader
        set them on their preferences page (``kept``) or the address is suppressed (``suppressed``:
        never reactivated, never touched). Statuses of known readers never change here."""
        now = now or now_utc()
        out = ImportOutcome()
        insert = (sqlite.insert if self.db.is_sqlite else postgresql.insert)(t)
        add = insert.on_conflict_do_nothing(index_elements=[t.c.email_key]).returning(t.c.id)
        update = (
            t.update()
            .where(t.c.id == sa.bindparam("b_id"), t.c.preferences_at.is_(None))
            .values(email=sa.bindparam("b_email"), name=sa.bindparam("b_name"),
                    timezone=sa.bindparam("b_timezone"), sections=sa.bindparam("b_sections"),
                    section_keys=sa.bindparam("b_section_keys"))
        )  # fmt: skip
        with self.db.begin() as conn:
            for start in range(0, len(items), CHUNK):
                chunk = items[start : start + CHUNK]
                keys = [item.email_key for item in chunk]
                known = {r.email_key: r for r in conn.execute(
                    sa.select(t.c.id, t.c.email_key, t.c.status, t.c.preferences_at)
                    .where(t.c.email_key.in_(keys)))}  # fmt: skip
                listed = self._listed(conn, keys)
                new: list[dict[str, Any]] = []
                changed: list[dict[str, Any]] = []
                for index, item in enumerate(chunk, start):
                    row = known.get(item.email_key)
                    if item.email_key in listed or (row is not None and row.status in SUPPRESSED):
                        out.suppressed.append(index)
                    elif row is None:
                        new.append(_row(item, now, Status.ACTIVE))
                    elif row.preferences_at is not None:
                        out.kept.append(index)
                    else:
                        changed.append({"b_id": row.id, **{f"b_{k}": v for k, v in _profile(item).items()}})
                if new:
                    ids = list(conn.execute(add, new).scalars())
                    out.added += len(ids)
                    if ids:
                        conn.execute(ev.insert(), [
                            {"subscriber_id": i, "at": now, "kind": str(Move.ADD), "source": str(source),
                             "detail": detail[:1000]} for i in ids
                        ])  # fmt: skip
                    out.updated += len(new) - len(ids)  # added meanwhile by someone else
                if changed:
                    conn.execute(update, changed)
                    out.updated += len(changed)
        return out

    def signup(
        self, item: NewSubscriber, hour: str | None, *, resend_after: timedelta, source: Source = Source.FORM,
        now: datetime | None = None,
    ) -> tuple[SignupOutcome, int | None]:  # fmt: skip
        """A signup (the form, or ops without consent given): new → pending, unsubscribed → pending
        again; a pending reader's fields are updated. Whether and what to mail is the outcome; at
        most one mail per address per ``resend_after`` (``confirm_sent_at``)."""
        now = now or now_utc()
        fresh = sa.or_(t.c.confirm_sent_at.is_(None), t.c.confirm_sent_at < now - resend_after)
        with self.db.begin() as conn:
            if self._listed(conn, [item.email_key]):
                return SignupOutcome.SILENT, None
            row = conn.execute(sa.select(t.c.id, t.c.status).where(t.c.email_key == item.email_key)).first()
            if row is None:
                insert = (sqlite.insert if self.db.is_sqlite else postgresql.insert)(t)
                values = {**_row(item, now, Status.PENDING), "send_time": hour, "confirm_sent_at": now}
                new_id = conn.execute(
                    insert.values(values).on_conflict_do_nothing(index_elements=[t.c.email_key])
                    .returning(t.c.id)
                ).scalar()  # fmt: skip
                if new_id is None:  # the same address signed up at the same instant: that one mails
                    return SignupOutcome.LIMITED, None
                record(conn, new_id, str(Move.SIGNUP), source, at=now)
                return SignupOutcome.CONFIRM, new_id
            status = Status(row.status)
            if status in SILENT:
                return SignupOutcome.SILENT, row.id
            mine = t.update().where(t.c.id == row.id, fresh)
            if status == Status.ACTIVE:
                sent = conn.execute(mine.values(confirm_sent_at=now)).rowcount
                return (SignupOutcome.ALREADY if sent else SignupOutcome.LIMITED), row.id
            if status == Status.PENDING:
                sent = conn.execute(
                    mine.where(t.c.status == str(Status.PENDING)).values(
                        confirm_sent_at=now, send_time=hour, **_profile(item)
                    )
                ).rowcount
                return (SignupOutcome.CONFIRM if sent else SignupOutcome.LIMITED), row.id
            moved = conn.execute(
                mine.where(_leaves(Move.SIGNUP)).values(
                    status=_to(Move.SIGNUP), confirm_sent_at=now, send_time=hour, **_profile(item)
                )
            ).rowcount
            if not moved:
                return SignupOutcome.LIMITED, row.id
            record(conn, row.id, str(Move.SIGNUP), source, "signed up again", at=now)
            return SignupOutcome.CONFIRM, row.id

    # -- moves ----------------------------------------------------------------------------------

    def confirm(self, subscriber_id: int, *, source: Source = Source.CONFIRM_LINK, detail: str = "",
                now: datetime | None = None) -> bool:  # fmt: skip
        """pending → active; False if the reader was not pending (confirmed already, or gone)."""
        now = now or now_utc()
        move = Move.CONFIRM if source == Source.CONFIRM_LINK else Move.OPS_CONFIRM
        return self._move(subscriber_id, move, source, detail, now, confirmed_at=now)

    def unsubscribe(self, subscriber_id: int, *, source: Source = Source.ONE_CLICK, detail: str = "",
                    now: datetime | None = None, about: About | None = None) -> bool:  # fmt: skip
        """pending | active → unsubscribed. Idempotent: later calls change nothing. False if unknown."""
        now = now or now_utc()
        with self.db.begin() as conn:
            found = conn.execute(sa.select(t.c.id).where(t.c.id == subscriber_id)).first()
            self._move(subscriber_id, Move.UNSUBSCRIBE, source, detail, now, conn=conn, about=about,
                       unsubscribed_at=now)  # fmt: skip
        return found is not None

    def bounce(self, subscriber_id: int, reply: str, now: datetime | None = None,
               about: About | None = None) -> bool:  # fmt: skip
        """active → bounced, and the address on the suppression list. ``about``: the ledger row the
        report named, kept on the event (an edition's hard bounces are counted from it)."""
        now = now or now_utc()
        with self.db.begin() as conn:
            moved = self._move(subscriber_id, Move.BOUNCE, Source.BOUNCE, reply, now, conn=conn, about=about,
                               bounced_at=now, last_error=reply[:1000])  # fmt: skip
            if moved:
                self._suppress_id(conn, subscriber_id, "bounced", Source.BOUNCE, now)
        return moved

    def soft_bounce(self, subscriber_id: int, detail: str, *, limit: int, days: int,
                    now: datetime | None = None,
                    about: About | None = None) -> tuple[bool, int, bool]:  # fmt: skip
        """A soft bounce of an active reader: recorded as an event (kind ``soft-bounce``), and the
        ``limit``-th within ``days`` moves them active → bounced (suppressed) as a hard bounce would.
        The same report (same ``detail``, which carries its Message-ID) is recorded once. Returns
        (whether it was recorded now, soft bounces in the window, whether the reader became
        bounced); (False, 0, False) when the reader is not active."""
        now = now or now_utc()
        mine = sa.and_(ev.c.subscriber_id == subscriber_id, ev.c.kind == SOFT_BOUNCE)
        window = sa.select(sa.func.count()).where(mine, ev.c.at >= now - timedelta(days=days))
        with self.db.begin() as conn:
            status = conn.execute(sa.select(t.c.status).where(t.c.id == subscriber_id)).scalar()
            if status != str(Status.ACTIVE):
                return False, 0, False
            seen = conn.execute(sa.select(ev.c.id).where(mine, ev.c.detail == detail[:1000]).limit(1)).first()
            if seen is None:
                record(conn, subscriber_id, SOFT_BOUNCE, Source.BOUNCE, detail, at=now, about=about)
            count = int(conn.execute(window).scalar_one())
            if count < limit or seen is not None:
                return seen is None, count, False
            reason = f"{count} soft bounces in {days} days; last: {detail}"
            moved = self._move(subscriber_id, Move.BOUNCE, Source.BOUNCE, reason, now, conn=conn,
                               bounced_at=now, last_error=reason[:1000])  # fmt: skip
            if moved:
                self._suppress_id(conn, subscriber_id, "bounced", Source.BOUNCE, now)
        return True, count, moved

    def auto_reply(self, subscriber_id: int, detail: str, *, now: datetime | None = None,
                   about: About | None = None) -> bool:  # fmt: skip
        """An automatic answer (a vacation notice) from the reader: recorded as an event, once per
        report (``detail`` carries its Message-ID); nothing changes. True if recorded now."""
        mine = sa.and_(ev.c.subscriber_id == subscriber_id, ev.c.kind == AUTO_REPLY,
                       ev.c.detail == detail[:1000])  # fmt: skip
        with self.db.begin() as conn:
            if conn.execute(sa.select(ev.c.id).where(mine).limit(1)).first() is not None:
                return False
            record(conn, subscriber_id, AUTO_REPLY, Source.AUTO_REPLY, detail, at=now, about=about)
        return True

    def complain(self, subscriber_id: int, *, source: Source = Source.COMPLAINT, detail: str = "",
                 now: datetime | None = None, about: About | None = None) -> bool:  # fmt: skip
        """A spam complaint: → complained, and the address on the suppression list."""
        now = now or now_utc()
        with self.db.begin() as conn:
            moved = self._move(subscriber_id, Move.COMPLAIN, source, detail, now, conn=conn, about=about,
                               unsubscribed_at=now)  # fmt: skip
            if moved:
                self._suppress_id(conn, subscriber_id, "complained", source, now)
        return moved

    def suppress(self, email: str, reason: str, *, source: Source = Source.OPS,
                 now: datetime | None = None) -> int | None:  # fmt: skip
        """Put an address on the suppression list (a pending or active reader is unsubscribed, with
        the reason); returns the reader's id, or None when the address is not a reader."""
        now = now or now_utc()
        key = email.strip().lower()
        with self.db.begin() as conn:
            self._insert_suppression(conn, key, reason, source, now)
            row = conn.execute(sa.select(t.c.id).where(t.c.email_key == key)).first()
            if row is None:
                return None
            if not self._move(row.id, Move.SUPPRESS, source, reason, now, conn=conn, unsubscribed_at=now):
                record(conn, row.id, str(Move.SUPPRESS), source, reason, at=now)
            return int(row.id)

    def unsuppress(self, email: str, *, source: Source = Source.OPS, now: datetime | None = None) -> bool:
        """Take an address off the suppression list; a bounced or complained reader becomes
        unsubscribed (they may sign up and confirm again; nobody is mailed without that). False if
        the address was neither listed nor a bounced or complained reader."""
        now = now or now_utc()
        key = email.strip().lower()
        with self.db.begin() as conn:
            removed = conn.execute(sup.delete().where(sup.c.email_hash == self.email_hash(key))).rowcount
            row = conn.execute(sa.select(t.c.id).where(t.c.email_key == key)).first()
            moved = False
            if row is not None:
                moved = self._move(row.id, Move.UNSUPPRESS, source, "", now, conn=conn)
                if removed and not moved:
                    record(conn, row.id, str(Move.UNSUPPRESS), source, at=now)
        return bool(removed or moved)

    def forget(self, email: str, *, source: Source = Source.OPS, now: datetime | None = None) -> None:
        """Erase the reader (profile, events, ledger rows) and keep only the keyed hash of the
        address on the suppression list, so no import ever mails them again."""
        now = now or now_utc()
        key = email.strip().lower()
        with self.db.begin() as conn:
            row = conn.execute(sa.select(t.c.id).where(t.c.email_key == key)).first()
            if row is None:
                raise NotFoundError(f"no subscriber {email.strip()!r}", field="email")
            self._insert_suppression(conn, key, "erased", source, now, replace=True)
            # Ledger rows and events go with the reader: ON DELETE CASCADE.
            conn.execute(t.delete().where(t.c.id == row.id))

    def expire_pending(self, now: datetime | None = None, days: int = PENDING_DAYS) -> int:
        """Signups not confirmed within ``days`` are deleted; a former reader who signed up again
        and did not confirm goes back to unsubscribed (their history stays, and so does their
        suppression). Returns how many readers were touched."""
        now = now or now_utc()
        old = sa.func.coalesce(t.c.confirm_sent_at, t.c.created_at) < now - timedelta(days=days)
        pending = t.c.status == str(Status.PENDING)
        with self.db.begin() as conn:
            never_a_reader = sa.and_(t.c.confirmed_at.is_(None), t.c.unsubscribed_at.is_(None))
            deleted = conn.execute(t.delete().where(pending, old, never_a_reader)).rowcount
            back = conn.execute(
                t.update().where(_leaves(Move.UNSUBSCRIBE), pending, old).values(status=_to(Move.UNSUBSCRIBE))
                .returning(t.c.id)
            ).scalars().all()  # fmt: skip
            for subscriber_id in back:
                record(conn, subscriber_id, "expire", Source.SYSTEM, "not confirmed in time", at=now)
        return deleted + len(back)

    def is_suppressed(self, email: str) -> bool:
        with self.db.connect() as conn:
            return bool(self._listed(conn, [email.strip().lower()]))

    def require_not_suppressed(self, email: str) -> None:
        if self.is_suppressed(email):
            raise ConflictError(f"{email.strip()} is on the suppression list", field="email")

    # -- helpers --------------------------------------------------------------------------------

    def _move(self, subscriber_id: int, move: Move, source: Source, detail: str, now: datetime, *,
              conn: Connection | None = None, about: About | None = None, **values: Any) -> bool:  # fmt: skip
        stmt = t.update().where(t.c.id == subscriber_id, _leaves(move)).values(status=_to(move), **values)
        if conn is None:
            with self.db.begin() as tx:
                return self._move(subscriber_id, move, source, detail, now, conn=tx, about=about, **values)
        moved = bool(conn.execute(stmt).rowcount)
        if moved:
            record(conn, subscriber_id, str(move), source, detail, at=now, about=about)
        return moved

    def _listed(self, conn: Connection, keys: Iterable[str]) -> set[str]:
        """Which of these addresses (lower case) are on the suppression list."""
        by_hash = {self.email_hash(key): key for key in keys}
        if not by_hash:
            return set()
        found = conn.execute(sa.select(sup.c.email_hash).where(sup.c.email_hash.in_(list(by_hash)))).scalars()
        return {by_hash[h] for h in found}

    def _suppress_id(self, conn: Connection, subscriber_id: int, reason: str, source: Source,
                     now: datetime) -> None:  # fmt: skip
        key = conn.execute(sa.select(t.c.email_key).where(t.c.id == subscriber_id)).scalar_one()
        self._insert_suppression(conn, key, reason, source, now)

    def _insert_suppression(self, conn: Connection, key: str, reason: str, source: Source, now: datetime,
                            *, replace: bool = False) -> None:  # fmt: skip
        insert = (sqlite.insert if self.db.is_sqlite else postgresql.insert)(sup)
        stmt = insert.values(email_hash=self.email_hash(key), reason=reason[:1000], source=str(source),
                             created_at=now)  # fmt: skip
        if replace:
            changed = {"reason": stmt.excluded.reason, "source": stmt.excluded.source}
            stmt = stmt.on_conflict_do_update(index_elements=[sup.c.email_hash], set_=changed)
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=[sup.c.email_hash])
        conn.execute(stmt)


def _profile(item: NewSubscriber) -> dict[str, Any]:
    return {"email": item.email, "name": item.name, "timezone": item.timezone,
            "sections": ";".join(item.sections), "section_keys": item.section_keys}  # fmt: skip


def _row(item: NewSubscriber, now: datetime, status: Status) -> dict[str, Any]:
    return {**_profile(item), "email_key": item.email_key, "status": str(status), "created_at": now}
