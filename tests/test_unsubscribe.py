"""Unsubscribe tokens and the RFC 8058 one-click endpoint."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from publisher.subscribers.model import Status, validate
from publisher.unsubscribe import make_token, read_token, unsubscribe_url
from publisher.web import create_app


def test_tokens_round_trip_and_forgeries_fail() -> None:
    token = make_token("k1", 42)
    assert token.startswith("42.") and len(token) == len("42.") + 22
    assert read_token("k1", token) == 42
    assert read_token("k2", token) is None  # another key
    assert read_token("k1", "43" + token[2:]) is None  # someone else's id, same MAC
    assert read_token("k1", token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    for junk in ("", "42", "42.", ".abc", "-1." + token[3:], "042." + token[3:], "4 2.x", "42.é"):
        assert read_token("k1", junk) is None
    assert unsubscribe_url("https://n.example/", "k1", 42) == f"https://n.example/unsubscribe/{token}"


@pytest.fixture
def client_and_ids(app):  # type: ignore[no-untyped-def]
    app.subscribers.upsert_many([validate("ann@example.com"), validate("bob@example.com")])
    ann, bob = app.subscribers.find("ann@example.com"), app.subscribers.find("bob@example.com")
    with TestClient(create_app(app)) as client:
        yield client, app, ann.id, bob.id


def test_get_shows_one_button_and_changes_nothing(client_and_ids) -> None:
    client, app, ann, _ = client_and_ids
    token = make_token(app.settings.secret_key, ann)
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and page.text.count("<button") == 1
    assert f'action="/unsubscribe/{token}"' in page.text
    assert app.subscribers.get(ann).status is Status.ACTIVE


def test_one_click_post_unsubscribes_at_once_and_is_idempotent(client_and_ids) -> None:
    client, app, ann, bob = client_and_ids
    token = make_token(app.settings.secret_key, ann)
    body = "List-Unsubscribe=One-Click"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    first = client.post(f"/unsubscribe/{token}", content=body, headers=headers)
    assert first.status_code == 200 and "You are unsubscribed" in first.text
    when = app.subscribers.get(ann).unsubscribed_at
    assert app.subscribers.get(ann).status is Status.UNSUBSCRIBED and when is not None
    again = client.post(f"/unsubscribe/{token}", content=body, headers=headers)
    assert again.status_code == 200 and app.subscribers.get(ann).unsubscribed_at == when
    assert app.subscribers.get(bob).status is Status.ACTIVE


def test_forged_or_altered_tokens_get_400_and_touch_nobody(client_and_ids) -> None:
    client, app, ann, bob = client_and_ids
    good = make_token(app.settings.secret_key, ann)
    for token in (f"{bob}{good[len(str(ann)) :]}", make_token("another-key", bob), good[:-2], "x"):
        for method in ("get", "post"):
            response = getattr(client, method)(f"/unsubscribe/{token}")
            assert response.status_code == 400 and "not valid" in response.text
    assert {s.status for s in app.subscribers.list()} == {Status.ACTIVE}
