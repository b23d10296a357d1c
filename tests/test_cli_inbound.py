"""``publisher inbound read`` end to end: a Maildir of returned mail, read twice."""

from __future__ import annotations

import json
import mailbox
from pathlib import Path

import sqlalchemy as sa

from publisher.app import App
from publisher.db.schema import deliveries, subscriber_events, subscribers
from publisher.inbound.verp import make_tag
from publisher.subscribers.model import NewSubscriber

CORPUS = Path(__file__).parent / "data" / "bounces"
READERS = ("alice@example.org", "frank@gmail.example", "carol@example.com", "dave@example.com",
           "ivan@example.com")  # fmt: skip


def _statuses(app: App) -> dict[str, str]:
    with app.db.connect() as conn:
        return dict(conn.execute(sa.select(subscribers.c.email, subscribers.c.status)).all())


def _events(app: App) -> list[tuple[str, str, str]]:
    with app.db.connect() as conn:
        query = sa.select(subscribers.c.email, subscriber_events.c.kind, subscriber_events.c.source).join(
            subscribers, subscribers.c.id == subscriber_events.c.subscriber_id
        ).where(subscriber_events.c.kind != "add")  # fmt: skip
        return sorted((r.email, r.kind, r.source) for r in conn.execute(query))


def test_read_a_maildir_twice(app: App, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app.subscriber_lifecycle.import_many([NewSubscriber(email) for email in READERS])
    with app.db.begin() as conn:
        carol = conn.execute(
            sa.select(subscribers.c.id).where(subscribers.c.email == READERS[2])
        ).scalar_one()
        row = conn.execute(deliveries.insert().values(edition_id=3, subscriber_id=carol, status="sent")
                           .returning(deliveries.c.id)).scalar_one()  # fmt: skip
    # The complaint names another address; only the VERP tag in the original's Return-Path says who.
    complaint = (CORPUS / "arf_complaint.eml").read_bytes().replace(b"To: carol@", b"To: someone.else@")
    complaint = complaint.replace(
        b"Return-Path: <bounces@news.example.com>\nFrom: Newslooks",
        f"Return-Path: <bounces+{make_tag(app.signing_key, row)}@news.example.com>\nFrom: Newslooks".encode(),
    )
    box = mailbox.Maildir(tmp_path / "box", create=True)
    names = ("postfix_hard", "gmail_soft", "mailto_unsubscribe", "auto_reply", "junk")
    for raw in [complaint, *((CORPUS / f"{name}.eml").read_bytes() for name in names)]:
        box.add(raw)

    first = json.loads(cli("inbound", "read", str(tmp_path / "box"), "--json"))
    assert all(set(item) == {"path", "kind", "email", "action"} for item in first)
    assert sorted((i["kind"], i["email"], i["action"]) for i in first) == [
        ("auto_reply", "ivan@example.com", "none (auto-reply)"),
        ("complaint", "carol@example.com", "complained"),
        ("hard_bounce", "alice@example.org", "bounced"),
        ("soft_bounce", "frank@gmail.example", "counted (1 of 3 in 14 days)"),
        ("unknown", "", "none (not a report we act on)"),
        ("unsubscribe", "dave@example.com", "unsubscribed"),
    ]
    assert _statuses(app) == {"alice@example.org": "bounced", "frank@gmail.example": "active",
                              "carol@example.com": "complained", "dave@example.com": "unsubscribed",
                              "ivan@example.com": "active"}  # fmt: skip
    events = _events(app)
    assert events == [
        ("alice@example.org", "bounce", "bounce"),
        ("carol@example.com", "complain", "complaint"),
        ("dave@example.com", "unsubscribe", "mailto"),
        ("frank@gmail.example", "soft-bounce", "bounce"),
        ("ivan@example.com", "auto-reply", "auto-reply"),  # recorded; nothing changes
    ]
    assert app.subscriber_lifecycle.is_suppressed("alice@example.org")
    assert app.subscriber_lifecycle.is_suppressed("carol@example.com")

    second = json.loads(cli("inbound", "read", str(tmp_path / "box"), "--json"))
    assert {i["email"]: i["action"] for i in second if i["email"]} == {
        "alice@example.org": "none (already bounced)",
        "frank@gmail.example": "none (already counted)",
        "carol@example.com": "none (already complained)",
        "dave@example.com": "none (already unsubscribed)",
        "ivan@example.com": "none (auto-reply)",
    }
    assert _events(app) == events
    assert _statuses(app)["alice@example.org"] == "bounced"


def test_read_eml_files_one_line_each(app: App, cli) -> None:  # type: ignore[no-untyped-def]
    app.subscriber_lifecycle.import_many([NewSubscriber("alice@example.org")])
    out = cli("inbound", "read", str(CORPUS / "postfix_hard.eml"), str(CORPUS / "truncated.eml"))
    lines = out.splitlines()
    assert lines[0].endswith("postfix_hard.eml: hard_bounce alice@example.org: bounced")
    assert lines[1].endswith("truncated.eml: unknown -: none (not a report we act on)")
    assert len(lines) == 2


def test_loops_of_reports_change_nothing_and_are_reported(app: App, cli) -> None:  # type: ignore[no-untyped-def]
    app.subscriber_lifecycle.import_many([NewSubscriber(e) for e in READERS])
    names = ("loop_dsn_of_dsn", "loop_bounce_of_notice", "loop_auto_reply_to_auto_reply")
    out = json.loads(cli("inbound", "read", *(str(CORPUS / f"{n}.eml") for n in names), "--json"))
    assert [(Path(i["path"]).stem, i["kind"], i["action"]) for i in out] == [
        ("loop_dsn_of_dsn", "unknown", "none (not a report we act on)"),
        ("loop_bounce_of_notice", "unknown", "none (not a report we act on)"),
        ("loop_auto_reply_to_auto_reply", "auto_reply", "none (auto-reply)"),
    ]
    assert set(_statuses(app).values()) == {"active"}
    # The auto-reply is recorded in the reader's history like any other; no state moves.
    assert [kind for _email, kind, _source in _events(app)] == ["auto-reply"]
    assert all((CORPUS / f"{n}.eml").exists() for n in names)  # read leaves messages where they are
