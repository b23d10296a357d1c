"""``/healthz``: the process is up and the database answers."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz(request: Request) -> JSONResponse:
    app = request.app.state.publisher
    try:
        with app.db.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        return JSONResponse({"status": "error", "database": str(exc)[:200]}, status_code=503)
    return JSONResponse({"status": "ok"})
