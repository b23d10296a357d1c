"""Editors' changes to a draft edition (``publisher/delivery/contents.py``), on SQLite and PostgreSQL:
pin, exclude, put back, reorder, subject; each a guarded update refused once a row is queued, or over
a newer edit; the compiled edition, the preview and the sent email follow every edit."""

from __future__ import annotations

import email
import email.policy
import mailbox
from datetime import UTC, datetime, timedelta

import pytest

from publisher.app import App
from publisher.article import Article
from publisher.delivery.contents import check_subject
from publisher.edition.selection import EditionSpec, load_edition
from publisher.errors import ConflictError, EditionStateError, InvalidInputError, NotFoundError
from publisher.subscribers.model import validate


def _seed(app: App) -> int:
    """Three World stories of the last hours and one old Sports story; one reader; a draft edition."""
    now = datetime.now(UTC)
    for n in range(3):
        story = Article(slug=f"world-{n}", title=f"World story {n}", section="World", summary="sum",
                        quick_looks=("bullet",))  # fmt: skip
        app.articles.save_many([story], published_at=now - timedelta(hours=3 - n))
    old = Article(slug="old-sports", title="Old sports story", section="Sports", summary="s",
                  quick_looks=("b",))  # fmt: skip
    app.articles.save_many([old], published_at=now - timedelta(days=5))
    app.subscribers.upsert_many([validate("reader@example.com", "Reader", "UTC")])
    spec = EditionSpec.from_settings(app.settings)
    edition = load_edition(app.articles, spec, now.date(), cutoff=now)
    return app.edition_store.create(edition)


def _slugs(app: App, edition_id: int) -> list[str]:
    return [a.slug for a in app.delivery.compiled(edition_id).get().edition.articles]


def test_exclude_reorder_pin_and_put_back(any_db_app: App) -> None:
    app = any_db_app
    edition_id = _seed(app)
    contents = app.edition_contents
    assert _slugs(app, edition_id) == ["world-2", "world-1", "world-0"]  # newest first
    assert contents.of(edition_id).editable

    contents.exclude(edition_id, "world-1")
    assert _slugs(app, edition_id) == ["world-2", "world-0"]  # the compiled copy followed
    assert [a.slug for a in contents.of(edition_id).excluded] == ["world-1"]

    contents.move(edition_id, "world-0", -1)
    assert _slugs(app, edition_id) == ["world-0", "world-2"]
    contents.move(edition_id, "world-0", -1)  # already first: stays
    assert _slugs(app, edition_id) == ["world-0", "world-2"]

    record = contents.pin(edition_id, "old-sports")  # any live story, whatever its date
    assert _slugs(app, edition_id) == ["old-sports", "world-0", "world-2"]
    assert record.section_keys == ("sports", "world")  # its readers come in at the next fill

    contents.include(edition_id, "world-1")
    assert _slugs(app, edition_id) == ["old-sports", "world-0", "world-2", "world-1"]
    assert contents.of(edition_id).excluded == ()
    assert record.revision == 4 and app.edition_store.get(edition_id).revision == 5  # type: ignore[union-attr]


def test_subject_line_reaches_the_compiled_edition_and_can_be_reset(any_db_app: App) -> None:
    app = any_db_app
    edition_id = _seed(app)
    template_subject = app.delivery.compiled(edition_id).get().subject
    app.edition_contents.set_subject(edition_id, "  Storm   warning: what to know  ")
    assert app.delivery.compiled(edition_id).get().subject == "Storm warning: what to know"
    app.edition_contents.set_subject(edition_id, "")
    assert app.delivery.compiled(edition_id).get().subject == template_subject


def test_bad_edits_name_their_field(app: App) -> None:
    edition_id = _seed(app)
    with pytest.raises(InvalidInputError) as too_long:
        app.edition_contents.set_subject(edition_id, "x" * 201)
    assert too_long.value.field == "subject"
    assert check_subject("\t a \n b ") == "a b"
    with pytest.raises(NotFoundError) as unknown:
        app.edition_contents.pin(edition_id, "no-such-story")
    assert unknown.value.field == "slug"
    with pytest.raises(NotFoundError) as absent:
        app.edition_contents.exclude(edition_id, "old-sports")  # not in the edition
    assert absent.value.field == "slug"
    app.retract("world-0")
    with pytest.raises(InvalidInputError) as retracted:
        app.edition_contents.pin(edition_id, "world-0")
    assert retracted.value.field == "slug"
    with pytest.raises(NotFoundError):
        app.edition_contents.exclude(999, "world-0")


def test_an_edit_over_a_newer_one_is_refused(any_db_app: App) -> None:
    app = any_db_app
    edition_id = _seed(app)
    seen = app.edition_store.get(edition_id).revision  # type: ignore[union-attr]
    app.edition_contents.exclude(edition_id, "world-0", seen=seen)  # someone else, first
    with pytest.raises(ConflictError) as stale:
        app.edition_contents.move(edition_id, "world-1", 1, seen=seen)
    assert "changed by someone else" in str(stale.value)
    assert _slugs(app, edition_id) == ["world-2", "world-1"]


def test_contents_freeze_once_a_row_is_queued(any_db_app: App) -> None:
    app = any_db_app
    edition_id = _seed(app)
    app.lifecycle.fill(edition_id, ["world"])  # pending rows do not freeze it
    app.edition_contents.exclude(edition_id, "world-0")
    app.lifecycle.queue_pending(edition_id)  # the sweep queued the first zone; still 'draft'
    assert app.edition_store.get(edition_id).status == "draft"  # type: ignore[union-attr]
    with pytest.raises(EditionStateError) as queued:
        app.edition_contents.exclude(edition_id, "world-1")
    assert str(queued.value) == f"edition {edition_id} has started sending: its contents are frozen"
    assert not app.edition_contents.of(edition_id).editable


def test_contents_freeze_when_sending_and_the_sent_email_lacks_the_excluded_story(any_db_app: App) -> None:
    app = any_db_app
    edition_id = _seed(app)
    app.delivery.compiled(edition_id).get()  # a compiled copy from before the edit, in this process
    app.edition_contents.exclude(edition_id, "world-1")
    app.delivery.start(edition_id)  # in-process: sent into the Maildir outbox
    with pytest.raises(EditionStateError) as sending:
        app.edition_contents.include(edition_id, "world-1")
    assert sending.value.state in ("sending", "sent")
    [message] = [email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
                 for m in mailbox.Maildir(app.settings.outbox_dir, create=True)]  # fmt: skip
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    for part in (html, text):
        assert "World story 2" in part and "World story 0" in part
        assert "World story 1" not in part
