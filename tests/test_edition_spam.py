"""SpamAssassin (Debian ``spamassassin``, default rules, offline, Bayes off) scores the edition <= 0."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime

import pytest

from publisher.edition import EditionSpec, Recipient, compile_edition, select_articles
from publisher.mail.message import render_message
from publisher.settings import Settings
from tests.conftest import REQUIRE_SERVICES
from tests.edition_data import DAY, example_articles, full_edition_articles

SPAMASSASSIN = shutil.which("spamassassin")
pytestmark = pytest.mark.skipif(
    SPAMASSASSIN is None and not REQUIRE_SERVICES,
    reason="needs SpamAssassin: apt-get install -y spamassassin",
)
READER = Recipient(
    email="maria.santos@example.com",
    name="Maria Santos",
    unsubscribe_url="https://news.example.com/unsubscribe/eyJzIjoxMjN9.c2lnbmF0dXJl",
    preferences_url="https://news.example.com/preferences/eyJzIjoxMjN9.c2lnbmF0dXJl",
)


def spam_report(raw: bytes) -> tuple[float, str]:
    assert SPAMASSASSIN, "spamassassin is not installed"
    with tempfile.TemporaryDirectory() as home:
        result = subprocess.run(
            [SPAMASSASSIN, "-L", "-t", "--cf=use_bayes 0", "--cf=bayes_auto_learn 0"],
            input=raw,
            capture_output=True,
            env={"HOME": home, "PATH": "/usr/bin:/bin"},
            timeout=120,
            check=True,
        )
    out = result.stdout.decode("utf-8", "replace")
    status = re.search(r"^X-Spam-Status: \w+, score=(-?\d+\.\d+)", out, re.M)
    assert status, out[:2000]
    return float(status.group(1)), out[out.find("Content analysis details") :]


@pytest.mark.parametrize("articles", ["examples", "full"])
def test_spamassassin_score_at_most_zero(articles: str) -> None:
    settings = Settings(
        site_url="https://news.example.com", mail_from="Newslooks <editions@news.example.com>"
    )
    chosen = example_articles() if articles == "examples" else full_edition_articles()
    edition = select_articles(chosen, EditionSpec.from_settings(settings), DAY)
    compiled = compile_edition(edition, settings)
    raw = render_message(compiled, READER, settings, message_id="spam-test-1",
                         date=datetime(2026, 11, 25, 7, 0, 5, tzinfo=UTC))  # fmt: skip
    score, report = spam_report(raw)
    assert score <= 0.0, report
