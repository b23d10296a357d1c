"""``POST /webhooks/{mailgun,sendgrid,postmark,ses}``: bounces and complaints reported by an email
service, for newsrooms that relay through one.

Each route is off (404) until its setting is set. A call that is not provably from the provider
(unsigned, badly signed, stale, replayed, wrong credentials) gets 401 and changes nothing. Each
event is applied by the same processing as a bounce that comes back by mail (``Inbound``); the
answer is 200 with what was done, so the provider does not retry. The body is read whole, but never
more than the guard's limit (``guard.BodyLimit``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from publisher.inbound import webhooks as hooks
from publisher.inbound.process import Inbound

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks", include_in_schema=False)


class WebhookState:
    """Per web process: replayed signatures, SNS certificates (``fetch_certificate`` is the one
    place that needs the network; tests put their own function there)."""

    def __init__(self, max_age: int, fetch_certificate: Callable[[str], bytes] | None = None) -> None:
        self.guard = hooks.ReplayGuard(max_age)
        self.certificates = hooks.CertificateCache(fetch_certificate or hooks.fetch_certificate)


def _state(request: Request) -> WebhookState:
    state = getattr(request.app.state, "webhooks", None)
    if state is None:
        max_age = request.app.state.publisher.settings.webhook_max_age
        state = request.app.state.webhooks = WebhookState(max_age)
    return state


def _off() -> JSONResponse:
    return JSONResponse({"detail": "Not Found"}, status_code=404)


def _refused(exc: hooks.Unauthorized) -> JSONResponse:
    return JSONResponse({"detail": f"not accepted: {exc}"}, status_code=401)


async def _apply(request: Request, provider: str, events: list[hooks.Event]) -> JSONResponse:
    app = request.app.state.publisher
    settings = app.settings

    def run() -> list[dict[str, Any]]:
        inbound = Inbound(settings, app.db, app.subscriber_lifecycle, lambda: app.signing_key, app.reputation)
        done = []
        for event in events:
            outcome = inbound.process(hooks.as_report(event, settings.bounce_address, provider))
            done.append({"kind": str(outcome.kind), "email": outcome.email, "action": outcome.action})
        return done

    return JSONResponse({"events": await run_in_threadpool(run) if events else []})


@router.post("/mailgun")
async def mailgun(request: Request) -> JSONResponse:
    key = request.app.state.publisher.settings.mailgun_signing_key
    if not key:
        return _off()
    try:
        events = hooks.mailgun(await request.body(), key, _state(request).guard)
    except hooks.Unauthorized as exc:
        return _refused(exc)
    return await _apply(request, "mailgun", events)


@router.post("/sendgrid")
async def sendgrid(request: Request) -> JSONResponse:
    key = request.app.state.publisher.settings.sendgrid_public_key
    if not key:
        return _off()
    signature = request.headers.get(hooks.SENDGRID_SIGNATURE, "")
    timestamp = request.headers.get(hooks.SENDGRID_TIMESTAMP, "")
    try:
        events = hooks.sendgrid(await request.body(), signature, timestamp, key, _state(request).guard)
    except hooks.Unauthorized as exc:
        return _refused(exc)
    return await _apply(request, "sendgrid", events)


@router.post("/postmark")
async def postmark(request: Request) -> JSONResponse:
    credentials = request.app.state.publisher.settings.postmark_webhook_auth
    if not credentials:
        return _off()
    try:
        # Credentials before the body is read: nobody else makes the server parse JSON.
        hooks.postmark_auth(request.headers.get("authorization", ""), credentials)
        events = hooks.postmark(await request.body())
    except hooks.Unauthorized as exc:
        return JSONResponse({"detail": f"not accepted: {exc}"}, status_code=401,
                            headers={"WWW-Authenticate": 'Basic realm="webhooks"'})  # fmt: skip
    return await _apply(request, "postmark", events)


@router.post("/ses")
async def ses(request: Request) -> JSONResponse:
    settings = request.app.state.publisher.settings
    topics = tuple(t for t in settings.ses_topic_arns.split(",") if t)
    if not topics:
        return _off()
    state = _state(request)
    body = await request.body()
    try:
        message = await run_in_threadpool(hooks.sns, body, topics, state.certificates, state.guard)
    except hooks.Unauthorized as exc:
        return _refused(exc)
    if message.type != "Notification":
        # Confirming means fetching SubscribeURL: left to ops, who see it here and in the log.
        _record_subscription(Path(settings.var_dir), message)
        return JSONResponse({"events": [], "recorded": message.type})
    return await _apply(request, "ses", hooks.ses_events(message.message))


def _record_subscription(var_dir: Path, message: hooks.SnsMessage) -> None:
    log.warning("SNS %s for %s: confirm by visiting %s", message.type, message.topic_arn,
                message.subscribe_url)  # fmt: skip
    line = {"at": datetime.now(UTC).isoformat(), "type": message.type, "topic_arn": message.topic_arn,
            "subscribe_url": message.subscribe_url}  # fmt: skip
    var_dir.mkdir(parents=True, exist_ok=True)
    with (var_dir / "sns_subscriptions.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
