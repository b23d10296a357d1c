"""``/metrics`` in Prometheus's text format (no token: scrapers rarely carry one; nothing secret)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from publisher.metrics import render_metrics

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    app = request.app.state.publisher
    body = await run_in_threadpool(render_metrics, app.settings, app.db, app.stats)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
