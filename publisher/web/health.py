"""``/healthz``: the process is up and the database answers.

Only "ok" or "unavailable" goes out: the database error names hosts, ports and users, so it is
logged here and never sent to whoever asks.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter()
log = logging.getLogger(__name__)


@router.get("/healthz", include_in_schema=False)
def healthz(request: Request) -> JSONResponse:
    app = request.app.state.publisher
    try:
        with app.db.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception:
        log.exception("healthz: the database does not answer")
        return JSONResponse({"status": "unavailable"}, status_code=503, headers={"Cache-Control": "no-store"})
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})
