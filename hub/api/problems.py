"""Errors as RFC 9457 problem details (``application/problem+json``)."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.domain.errors import HubError

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://enforcement-hub.invalid/problems/"


def problem(status: int, title: str, detail: str, request: Request, **extra: Any) -> JSONResponse:
    slug = title.lower().replace(" ", "-")
    body = {
        "type": TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def install(app: FastAPI) -> None:
    @app.exception_handler(HubError)
    async def _hub(request: Request, exc: HubError) -> JSONResponse:
        response = problem(exc.status, exc.title, exc.detail, request, **exc.extra)
        response.headers.update(exc.headers())
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(422, "Invalid request", detail, request, errors=errors)

    @app.exception_handler(psycopg.errors.DataError)
    async def _data(request: Request, exc: psycopg.errors.DataError) -> JSONResponse:
        # Values the schema let through but PostgreSQL cannot hold (a NUL character, a date
        # out of range): the client's to fix, said in the database's own words.
        detail = exc.diag.message_primary or "a value cannot be stored"
        return problem(422, "Invalid value", detail, request)

    @app.exception_handler(psycopg.errors.IntegrityError)
    async def _integrity(request: Request, exc: psycopg.errors.IntegrityError) -> JSONResponse:
        detail = exc.diag.message_detail or exc.diag.message_primary or "conflicts with data"
        return problem(409, "Conflict", detail, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {
            401: "Unauthorized",
            404: "Not found",
            405: "Method not allowed",
            413: "Payload too large",
        }.get(exc.status_code, "Error")
        response = problem(exc.status_code, title, str(exc.detail), request)
        if exc.headers:
            response.headers.update(exc.headers)
        return response
