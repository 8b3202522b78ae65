"""Error responses: one body shape for every failure, and the handlers that produce it.

Body: ``{"error": {"type": str, "message": str, "problems": [{"row", "field", "reason"}]}}``
(the contract's ``type`` and ``message``; ``problems`` lists each fault where there are several,
``row`` being the 1-based position in a list such as ``events``). Statuses: 400 input the
guide rejects, 401 token, 404 unknown id, 413 body too large, 422 schema validation, 429 over
the client's rate limit (``ratelimit.py``), 503 no model loaded yet. A 500 means a bug in
toyguide, is logged with its traceback, and says no more.
"""

from __future__ import annotations

import http
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from toyguide.errors import DataValidationError, GuideRequestError, NotFoundError, ToyGuideError
from toyguide.service.holder import NotReadyError
from toyguide.service.redact import redact_paths, service_paths

__all__ = ["ApiError", "error_body", "install_error_handlers"]

log = logging.getLogger("toyguide.service")


class ApiError(Exception):
    """A failure the service itself decides on (token, readiness), with its status."""

    def __init__(
        self, status: int, kind: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.headers = status, kind, message, headers


def error_body(kind: str, message: str, problems: list[dict[str, Any]] | None = None) -> dict:
    return {"error": {"type": kind, "message": message, "problems": problems or []}}


def _problem(reason: str, row: int | None = None, field: str | None = None) -> dict[str, Any]:
    return {"row": row, "field": field, "reason": reason}


def _respond(
    status: int, kind: str, message: str, problems: list[dict] | None = None, headers=None
) -> JSONResponse:
    return JSONResponse(error_body(kind, message, problems), status_code=status, headers=headers)


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return _respond(exc.status, exc.kind, exc.message, headers=exc.headers)


async def _not_ready(request: Request, exc: NotReadyError) -> JSONResponse:
    # Open routes say why there is no model, not where it was (the admin reads /ready).
    message = redact_paths(str(exc), service_paths(request.app.state.services))
    return _respond(503, "NotReady", message, headers={"Retry-After": "5"})


async def _not_found(request: Request, exc: NotFoundError) -> JSONResponse:
    return _respond(404, type(exc).__name__, str(exc))


async def _data_invalid(request: Request, exc: DataValidationError) -> JSONResponse:
    problems = [_problem(p.reason, p.line, p.field) for p in exc.problems]
    return _respond(400, type(exc).__name__, exc.report(), problems)


async def _request_invalid(request: Request, exc: GuideRequestError) -> JSONResponse:
    return _respond(400, type(exc).__name__, str(exc), [_problem(p) for p in exc.problems])


async def _toyguide_error(request: Request, exc: ToyGuideError) -> JSONResponse:
    return _respond(400, type(exc).__name__, str(exc))


async def _schema_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [_validation_problem(e) for e in exc.errors()]
    shown = "; ".join(f"{p['field']}: {p['reason']}" for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return _respond(422, "RequestValidationError", f"invalid request: {shown}{more}", problems)


def _validation_problem(error: dict[str, Any]) -> dict[str, Any]:
    """``("body", "events", 2, "kind")`` → row 3, field ``body.events.kind``; an index right
    after ``body`` is a character position in unparsable JSON, not a row."""
    loc, names, row = list(error.get("loc", ())), [], None
    for before, part in zip([None, *loc], loc, strict=False):
        if not isinstance(part, int):
            names.append(str(part))
        elif row is None and before not in (None, "body"):
            row = part + 1
    reason = str(error.get("msg", "invalid"))
    detail = (error.get("ctx") or {}).get("error")
    if isinstance(detail, str) and detail not in reason:
        reason = f"{reason}: {detail}"
    return _problem(reason, row, ".".join(names) or None)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    try:
        kind = http.HTTPStatus(exc.status_code).phrase.replace(" ", "")
    except ValueError:
        kind = "HTTPError"
    return _respond(exc.status_code, kind, str(exc.detail), headers=exc.headers)


async def _bug(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _respond(500, "InternalError", "internal error in toyguide; see the server log")


def install_error_handlers(app: FastAPI) -> None:
    # Starlette picks the handler of the nearest class in the exception's MRO.
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(NotReadyError, _not_ready)  # type: ignore[arg-type]
    app.add_exception_handler(NotFoundError, _not_found)  # type: ignore[arg-type]
    app.add_exception_handler(DataValidationError, _data_invalid)  # type: ignore[arg-type]
    app.add_exception_handler(GuideRequestError, _request_invalid)  # type: ignore[arg-type]
    app.add_exception_handler(ToyGuideError, _toyguide_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _schema_invalid)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _bug)
