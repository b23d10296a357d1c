"""The reputation guard: an edition's hard bounces, soft bounces and complaints (reports that named
its ledger row), shown by ``edition status``, the API and ``/metrics``; a hard-bounce rate past
PUBLISHER_BOUNCE_PAUSE_RATE after 500 sends halts the edition; a day's complaint rate over 0.3 %
warns in ``edition list``."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from publisher.app import App
from publisher.db.schema import deliveries as d
from publisher.db.schema import subscriber_events as ev
from publisher.db.schema import subscribers as s
from publisher.inbound.verp import make_tag
from publisher.web import create_app
from tests.delivery_helpers import reader, seed

CORPUS = Path(__file__).parent / "data" / "bounces"


def _sent_edition(app: App, n: int) -> tuple[int, dict[str, int]]:
    """An edition sending, with ``n`` rows marked sent through the lifecycle; its rows by address."""
    edition_id = seed(app, n)
    record = app.edition_store.get(edition_id)
    assert record is not None
    app.lifecycle.start(edition_id)
    app.lifecycle.fill(edition_id, record.section_keys)
    ids = app.lifecycle.queue_pending(edition_id)
    app.lifecycle.mark_sent_many([(i, f"<m{i}@news.example.com>") for i in ids])
    with app.db.connect() as conn:
        rows = conn.execute(sa.select(s.c.email, d.c.id).join(d, d.c.subscriber_id == s.c.id)
                            .where(d.c.edition_id == edition_id)).all()  # fmt: skip
    return edition_id, {r.email: r.id for r in rows}


def _dsn(address: str, tag: str | None, status: str = "5.1.1", n: int = 0) -> bytes:
    to = f"bounces+{tag}@news.example.com" if tag else "bounces@news.example.com"
    return f"""Return-Path: <>
From: MAILER-DAEMON@mx.news.example.com (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn{n}.{address}@mx.news.example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Could not deliver.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.news.example.com

Final-Recipient: rfc822; {address}
Action: {"failed" if status.startswith("5") else "delayed"}
Status: {status}

--B--
""".encode()


def _write(folder: Path, messages: list[bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n, raw in enumerate(messages):
        (folder / f"{n:04d}.eml").write_bytes(raw)
    return folder


def _hard(app: App, rows: dict[str, int], first: int, last: int) -> list[bytes]:
    return [_dsn(reader(i), make_tag(app.signing_key, rows[reader(i)]), n=i) for i in range(first, last)]


def _state(app: App, edition_id: int) -> tuple[str, str | None]:
    record = app.edition_store.get(edition_id)
    assert record is not None
    return str(record.status), record.error


def test_hard_bounces_past_the_rate_halt_the_edition(app: App, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    edition_id, rows = _sent_edition(app, 600)
    # 30 of 600 is 5 %: at the limit, not past it.
    cli("inbound", "read", str(_write(tmp_path / "a", _hard(app, rows, 0, 30))))
    assert _state(app, edition_id) == ("sending", None)
    status = json.loads(cli("edition", "status", str(edition_id), "--json"))
    assert status["reports"] == {"sent": 600, "hard_bounces": 30, "soft_bounces": 0, "complaints": 0,
                                 "hard_bounce_rate": 0.05, "soft_bounce_rate": 0.0,
                                 "complaint_rate": 0.0}  # fmt: skip
    # The same reports again count nothing twice; one more bounce passes the rate.
    cli("inbound", "read", str(tmp_path / "a"))
    assert _state(app, edition_id) == ("sending", None)
    cli("inbound", "read", str(_write(tmp_path / "b", _hard(app, rows, 30, 31))))
    state, error = _state(app, edition_id)
    assert state == "halted"
    assert error is not None and "hard-bounce rate 5.17% (31 of 600 sent)" in error
    assert "PUBLISHER_BOUNCE_PAUSE_RATE" in error
    text = cli("edition", "status", str(edition_id))
    assert "halted: hard-bounce rate 5.17%" in text
    assert "31 hard bounces (5.17%)" in text
    # Ops resume it.
    cli("edition", "resume", str(edition_id))
    assert _state(app, edition_id) == ("sent", None)  # every row was sent: resuming finishes it


def test_under_the_rate_or_under_500_sends_nothing_halts(app: App, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    edition_id, rows = _sent_edition(app, 400)
    # 40 of 400 is 10 %, but 400 sends say too little.
    cli("inbound", "read", str(_write(tmp_path / "a", _hard(app, rows, 0, 40))))
    assert _state(app, edition_id) == ("sending", None)
    assert app.reputation.of(edition_id).hard_bounces == 40


def test_a_higher_limit_is_not_passed(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from publisher.inbound.process import Inbound

    app = App(make_settings(bounce_pause_rate=0.1))
    try:
        edition_id, rows = _sent_edition(app, 600)
        key = app.signing_key
        inbound = Inbound(app.settings, app.db, app.subscriber_lifecycle, lambda: key, app.reputation)
        for raw in _hard(app, rows, 0, 60):  # 10 %: at the limit
            assert inbound.process(raw).action == "bounced"
        assert _state(app, edition_id) == ("sending", None)
        inbound.process(_hard(app, rows, 60, 61)[0])
        assert _state(app, edition_id)[0] == "halted"
    finally:
        app.close()


def test_address_only_reports_name_no_edition(app: App, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    edition_id, rows = _sent_edition(app, 10)
    out = json.loads(cli("inbound", "read", str(_write(tmp_path / "a", [_dsn(reader(1), None)])), "--json"))
    assert out[0]["action"] == "bounced"
    with app.db.connect() as conn:
        refs = conn.execute(sa.select(ev.c.edition_id, ev.c.delivery_id).where(ev.c.kind == "bounce")).all()
    assert [tuple(r) for r in refs] == [(None, None)]
    assert app.reputation.of(edition_id).hard_bounces == 0
    # A tagged one names the row and its edition.
    cli("inbound", "read", str(_write(tmp_path / "b", _hard(app, rows, 2, 3))))
    with app.db.connect() as conn:
        refs = conn.execute(sa.select(ev.c.edition_id, ev.c.delivery_id).where(ev.c.kind == "bounce")
                            .order_by(ev.c.id)).all()  # fmt: skip
    assert [tuple(r) for r in refs] == [(None, None), (edition_id, rows[reader(2)])]


def test_counts_in_the_api_and_metrics_and_the_complaint_warning(app: App, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    edition_id, rows = _sent_edition(app, 600)
    arf = (CORPUS / "arf_complaint.eml").read_bytes()
    assert b"Return-Path: <bounces@news.example.com>\nFrom: Newslooks" in arf

    def complaint(i: int) -> bytes:
        tag = make_tag(app.signing_key, rows[reader(i)])
        return arf.replace(
            b"Return-Path: <bounces@news.example.com>\nFrom: Newslooks",
            f"Return-Path: <bounces+{tag}@news.example.com>\nFrom: Newslooks".encode(),
        ).replace(b"Message-ID: <", f"Message-ID: <c{i}.".encode(), 1)

    soft = _dsn(reader(10), make_tag(app.signing_key, rows[reader(10)]), "4.2.2")
    messages = [*_hard(app, rows, 0, 3), soft, complaint(20)]
    cli("inbound", "read", str(_write(tmp_path / "a", messages)))
    listing = cli("edition", "list")
    assert "warning" not in listing  # 1 of 600 is 0.17 %
    cli("inbound", "read", str(_write(tmp_path / "b", [complaint(21)])))
    listing = cli("edition", "list")
    assert "warning: complaint rate 0.33%" in listing and "(2 of 600 sent)" in listing
    assert json.loads(cli("edition", "list", "--json"))["warnings"][0]["complaints"] == 2

    expected = {"sent": 600, "hard_bounces": 3, "soft_bounces": 1, "complaints": 2, "hard_bounce_rate": 0.005,
                "soft_bounce_rate": round(1 / 600, 6), "complaint_rate": round(2 / 600, 6)}  # fmt: skip
    assert json.loads(cli("edition", "status", str(edition_id), "--json"))["reports"] == expected
    with TestClient(create_app(app)) as client:
        text = client.get("/metrics").text
    api = App(app.settings.replace(api_token="tok"))
    try:
        with TestClient(create_app(api)) as client:
            client.headers["Authorization"] = "Bearer tok"
            assert client.get(f"/api/editions/{edition_id}").json()["reports"] == expected
    finally:
        api.close()
    samples = {(x.name, tuple(sorted(x.labels.items()))): x.value
               for family in text_string_to_metric_families(text) for x in family.samples}  # fmt: skip
    record = app.edition_store.get(edition_id)
    assert record is not None
    base = (("date", record.date.isoformat()), ("edition_id", str(edition_id)))
    name = (("name", record.name),)

    def labels(kind: str) -> tuple[tuple[str, str], ...]:
        return tuple(sorted((*base, *name, ("kind", kind))))

    assert samples[("publisher_edition_reports", labels("hard_bounce"))] == 3
    assert samples[("publisher_edition_reports", labels("soft_bounce"))] == 1
    assert samples[("publisher_edition_reports", labels("complaint"))] == 2
    assert samples[("publisher_edition_report_rate", labels("hard_bounce"))] == 0.005
    day = (("date", record.date.isoformat()),)
    assert abs(samples[("publisher_daily_complaint_rate", day)] - 2 / 600) < 1e-6
    assert samples[("publisher_complaint_rate_warning", day)] == 1
