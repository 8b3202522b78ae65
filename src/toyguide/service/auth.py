"""Bearer tokens for merchant and admin routes.

Merchant routes take the merchant or the admin token, admin routes the admin token only.
A route whose tokens are all unset answers 401 saying so (it is never open by default).
Tokens are compared in constant time.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from toyguide.service.errors import ApiError
from toyguide.service.settings import ADMIN_TOKEN_ENV, MERCHANT_TOKEN_ENV

__all__ = ["has_admin_token", "is_bearer", "require_admin", "require_merchant"]

bearer = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer <token>`: the merchant or admin token "
    "(admin routes: the admin token).",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def require_merchant(request: Request, credentials: Credentials) -> None:
    s = request.app.state.services.settings
    _check(credentials, [s.merchant_token, s.admin_token], "merchant",
           f"{MERCHANT_TOKEN_ENV} or {ADMIN_TOKEN_ENV}")  # fmt: skip


def require_admin(request: Request, credentials: Credentials) -> None:
    s = request.app.state.services.settings
    _check(credentials, [s.admin_token], "admin", ADMIN_TOKEN_ENV)


def has_admin_token(request: Request) -> bool:
    """Whether ``request`` carries the admin token; never refuses, for answers that only show
    the admin more (``/ready``'s paths)."""
    admin = request.app.state.services.settings.admin_token
    return is_bearer(request.headers.get("authorization", ""), admin)


def is_bearer(authorization: str, token: str | None) -> bool:
    """Whether an ``Authorization`` header value is ``Bearer <token>`` (constant time; never
    with no token configured)."""
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return secrets.compare_digest(given.strip().encode("utf-8", "surrogateescape"), token.encode())


def _check(
    credentials: HTTPAuthorizationCredentials | None,
    tokens: list[str | None],
    role: str,
    env: str,
) -> None:
    configured = [t.encode() for t in tokens if t]
    if not configured:
        message = f"no {role} token is configured on this server (set {env})"
        raise ApiError(401, "Unauthorized", message, _CHALLENGE)
    if credentials is None:
        raise ApiError(
            401, "Unauthorized", f"{role} route: send 'Authorization: Bearer <token>'", _CHALLENGE
        )
    given = credentials.credentials.encode("utf-8", "surrogateescape")
    if not any([secrets.compare_digest(given, token) for token in configured]):  # no shortcut
        raise ApiError(401, "Unauthorized", f"wrong token for this {role} route", _CHALLENGE)
