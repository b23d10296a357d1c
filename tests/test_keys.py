"""The signing key: made once when PUBLISHER_SECRET_KEY is unset, kept in the database, the same in
every process on that database; a token signed under a known or guessable key opens nothing."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from publisher.app import App
from publisher.keys import SIGNING_KEY, KeyStore
from publisher.settings import MIN_KEY_LENGTH
from publisher.subscribers.model import validate
from publisher.unsubscribe import make_token, read_token
from publisher.web import create_app


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def keyless(request, make_settings):  # type: ignore[no-untyped-def]
    """Settings without a secret key, on an empty SQLite or PostgreSQL database."""
    if request.param == "sqlite":
        settings = make_settings(secret_key=None)
    else:
        settings = make_settings(secret_key=None, database_url=request.getfixturevalue("postgres_url"))
    first = App(settings)
    with first.db.begin() as conn:
        conn.exec_driver_sql("DELETE FROM keys")
    first.close()
    return settings


def test_two_processes_on_one_database_sign_alike(keyless) -> None:  # type: ignore[no-untyped-def]
    one, two = App(keyless), App(keyless)
    try:
        assert one.signing_key == two.signing_key
        assert len(one.signing_key) >= MIN_KEY_LENGTH
        assert read_token(two.signing_key, make_token(one.signing_key, 42)) == 42
    finally:
        one.close()
        two.close()
    again = App(keyless)  # a restart keeps it: links in sent mail stay valid
    assert again.signing_key == one.signing_key
    again.close()


def test_concurrent_first_uses_agree_on_one_key(keyless) -> None:  # type: ignore[no-untyped-def]
    apps = [App(keyless) for _ in range(6)]
    for application in apps:
        application.db  # noqa: B018 - migrate before the race, which is about the key alone
    start = threading.Barrier(len(apps))
    keys: list[str] = []

    def first_use(application: App) -> None:
        start.wait()
        keys.append(KeyStore(application.db).get_or_create(SIGNING_KEY))

    threads = [threading.Thread(target=first_use, args=(a,)) for a in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == len(apps) and len(set(keys)) == 1
    for application in apps:
        application.close()


def test_a_set_key_is_used_and_nothing_is_stored(make_settings) -> None:  # type: ignore[no-untyped-def]
    application = App(make_settings())
    assert application.signing_key == application.settings.secret_key
    assert KeyStore(application.db).get(SIGNING_KEY) is None
    application.close()


def test_guessed_tokens_open_no_reader_page(make_settings) -> None:  # type: ignore[no-untyped-def]
    application = App(make_settings(secret_key=None))
    application.subscribers.upsert_many([validate("ana@example.org", "Ana", "Europe/London", "Sports")])
    subscriber = application.subscribers.find("ana@example.org")
    assert subscriber is not None
    client = TestClient(create_app(application))
    # The fixed key publisher once shipped with, and the placeholder of .env.example.
    for guess in ("insecure-development-key", "change-me-to-a-long-random-string"):
        token = make_token(guess, subscriber.id)
        assert client.get(f"/preferences/{token}").status_code == 400
        assert client.post(f"/unsubscribe/{token}").status_code == 400
    genuine = make_token(application.signing_key, subscriber.id)
    assert client.get(f"/preferences/{genuine}").status_code == 200
    application.close()
