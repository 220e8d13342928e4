"""The hub's one error tree. Services raise these; one handler maps them to HTTP problems.

HubError
├── Unauthorized        401  wrong username or password (never says which)
├── TooManyRequests     429  too many failed logins: wait ``retry_after_s`` (Retry-After)
├── PayloadTooLarge     413  a request body over the configured limit
├── NotFound            404  no such object, or not in the caller's reach (never says which)
├── Forbidden           403  the caller's role may not do this
├── Conflict            409  the state of things forbids it (already checked out, blacklisted)
├── InvalidTransition   409  a lifecycle step that does not exist (retired -> assigned)
├── Invalid             422  a value that passes the schema but not the rules
└── Unavailable         503  a service the hub needs (the MQTT broker) cannot be reached
"""

from __future__ import annotations


class HubError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def headers(self) -> dict[str, str]:
        """Response headers the problem needs (RFC 9110: Retry-After, WWW-Authenticate)."""
        return {}


class Unauthorized(HubError):
    status = 401
    title = "Unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class TooManyRequests(HubError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail, retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}  # RFC 9110 §10.2.3


class PayloadTooLarge(HubError):
    status = 413
    title = "Payload too large"


class NotFound(HubError):
    status = 404
    title = "Not found"


class Forbidden(HubError):
    status = 403
    title = "Forbidden"


class Conflict(HubError):
    status = 409
    title = "Conflict"


class InvalidTransition(Conflict):
    title = "Invalid transition"


class Invalid(HubError):
    status = 422
    title = "Invalid value"


class Unavailable(HubError):
    status = 503
    title = "Service unavailable"
