"""Request bodies over a configured size are refused with 413 before they are read.

An ASGI middleware: a ``Content-Length`` over the limit is answered at once, without reading a
byte of the body; a body without one (``Transfer-Encoding: chunked``) is counted as it streams
in and refused as soon as it passes the limit, so nothing larger is ever buffered (issue 12: a
50 MiB JSON body was read whole and answered 422). Multipart uploads have their own, larger
limit, but only on the routes that take files (``UPLOAD_PATHS``): the limit follows the route,
never the ``Content-Type`` the client chose to send, or any request could claim to be an
upload. RFC 9110 §15.5.14 (413 Content Too Large).
"""

from __future__ import annotations

import json
from collections.abc import Collection

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api.problems import MEDIA_TYPE, TYPE_BASE


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` mid-body. An ``HTTPException``, so that FastAPI's body parsing
    passes it on (it turns other errors into 400) and the problem handler answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _detail(limit))


def _detail(limit: int) -> str:
    return (
        f"request body larger than {limit} bytes: send less"
        " (EHUB_HUB_MAX_BODY_BYTES / EHUB_HUB_MAX_UPLOAD_BYTES set the limits)"
    )


# Path prefixes of the routes that take files (multipart): the evidence upload (issue 10 §6:
# photos from terminals, files an officer adds to a case; hub/api/routes/uploads.py).
UPLOAD_PATHS: tuple[str, ...] = ("/api/v1/uploads",)


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        max_upload: int,
        upload_paths: Collection[str] = UPLOAD_PATHS,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.upload_paths = tuple(upload_paths)

    def _is_upload(self, scope: Scope, headers: Headers) -> bool:
        path: str = scope.get("path", "")
        return any(path.startswith(p) for p in self.upload_paths) and headers.get(
            "content-type", ""
        ).lower().startswith("multipart/form-data")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self.max_upload if self._is_upload(scope, headers) else self.max_body
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await _problem(send, scope, 400, "Bad request", "Content-Length is not a number")
                return
            if int(length) > limit:
                await _problem(send, scope, 413, "Payload too large", _detail(limit))
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


async def _problem(send: Send, scope: Scope, status: int, title: str, detail: str) -> None:
    body = json.dumps(
        {
            "type": TYPE_BASE + title.lower().replace(" ", "-"),
            "title": title,
            "status": status,
            "detail": detail,
            "instance": scope.get("path", ""),
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),  # the unread body is not ours to drain
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
