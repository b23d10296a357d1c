"""``/preferences/{token}``: the reader changes name, time zone and sections; a forged token is refused;
the sender links every message to the reader's own page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from publisher.app import App
from publisher.mail.memory import MemoryMailer
from publisher.subscribers.model import Status, validate
from publisher.unsubscribe import make_token
from publisher.web import create_app
from tests.delivery_helpers import seed, text_part


@pytest.fixture
def reader(app: App) -> tuple[TestClient, int, str]:
    app.subscribers.upsert_many([validate("ana@example.org", "Ana <b>", "Europe/London", "Sports")])
    subscriber = app.subscribers.find("ana@example.org")
    assert subscriber is not None
    return TestClient(create_app(app)), subscriber.id, make_token(app.settings.secret_key, subscriber.id)


def test_page_shows_the_current_choices_escaped(app: App, reader) -> None:  # type: ignore[no-untyped-def]
    client, _id, token = reader
    page = client.get(f"/preferences/{token}")
    assert page.status_code == 200
    assert 'value="Ana &lt;b&gt;"' in page.text
    assert 'value="Sports" checked' in page.text and 'value="World">' in page.text
    assert 'value="Europe/London"' in page.text
    assert page.headers["cache-control"] == "no-store"


def test_saving_changes_sections_zone_and_name(app: App, reader) -> None:  # type: ignore[no-untyped-def]
    client, subscriber_id, token = reader
    saved = client.post(
        f"/preferences/{token}",
        content="name=Ana+P&timezone=America%2FNew_York&section=World&section=US+News",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert saved.status_code == 200 and "You follow World, US News" in saved.text
    subscriber = app.subscribers.get(subscriber_id)
    assert subscriber is not None
    assert (subscriber.name, subscriber.timezone, subscriber.sections) == ("Ana P", "America/New_York",
                                                                         ("World", "US News"))  # fmt: skip
    everything = client.post(f"/preferences/{token}", content="name=Ana&timezone=UTC",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert "You follow every section" in everything.text


def test_bad_zone_is_a_422_naming_the_field_and_changes_nothing(app: App, reader) -> None:  # type: ignore[no-untyped-def]
    client, subscriber_id, token = reader
    bad = client.post(f"/preferences/{token}", content="timezone=Mars%2FBase",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert bad.status_code == 422 and "timezone: unknown time zone" in bad.text
    subscriber = app.subscribers.get(subscriber_id)
    assert subscriber is not None and subscriber.timezone == "Europe/London"


def test_forged_token_and_no_resubscribe(app: App, reader) -> None:  # type: ignore[no-untyped-def]
    client, subscriber_id, token = reader
    assert client.get(f"/preferences/{subscriber_id}.forgedforgedforgedforged").status_code == 400
    assert client.post(f"/preferences/{subscriber_id + 1}.{token.split('.')[1]}").status_code == 400
    app.subscribers.unsubscribe(subscriber_id)
    assert "You are not subscribed now" in client.get(f"/preferences/{token}").text
    client.post(f"/preferences/{token}", content="timezone=UTC",
                headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    subscriber = app.subscribers.get(subscriber_id)
    assert subscriber is not None and subscriber.status == Status.UNSUBSCRIBED


def test_every_message_links_the_readers_own_preferences_page(make_settings) -> None:  # type: ignore[no-untyped-def]
    app = App(make_settings())
    mailer = MemoryMailer()
    app.open_mailer = lambda: mailer  # type: ignore[method-assign]  # the in-memory Mailer the package ships
    edition_id = seed(app, 1)
    app.delivery.start(edition_id)
    [sent] = mailer.sent
    token = make_token(app.settings.secret_key, 1)
    assert f"https://news.example.com/preferences/{token}" in text_part(sent.message)
    app.close()
