"""``/unsubscribe/{token}``: a page with one confirm button (GET) and the unsubscribe itself (POST).

RFC 8058 one-click: a mailbox provider POSTs ``List-Unsubscribe=One-Click`` to the URL from the
List-Unsubscribe header and the reader is unsubscribed at once; the page's button POSTs the same.
GET never changes anything (link scanners follow every link in a message). Both are idempotent.
A forged or altered token gets a 400 page and touches nobody.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from publisher.unsubscribe import read_token
from publisher.web.pages import invalid_link, message_page, render

router = APIRouter()


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
    app = request.app.state.publisher
    if read_token(app.signing_key, token) is None:
        return invalid_link(app.settings)
    return render(app.settings, "unsubscribe.html", heading="Unsubscribe",
                  action=f"/unsubscribe/{quote(token, safe='')}")  # fmt: skip


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(request: Request, token: str) -> HTMLResponse:
    app = request.app.state.publisher
    subscriber_id = read_token(app.signing_key, token)
    if subscriber_id is None:
        return invalid_link(app.settings)
    # Whatever the body says: a valid token POSTed is the reader's (or their provider's) request.
    app.subscribers.unsubscribe(subscriber_id)
    return message_page(app.settings, "Unsubscribed", "You are unsubscribed and will get no more editions.")
