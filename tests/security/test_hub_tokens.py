"""Attacks on the hub's access tokens (issue 12 part 7): every token the hub did not issue
exactly as it issues them is refused with a 401 problem, on the real hub and database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from hub.security import AUDIENCE, ISSUER
from tests.factories.hub import bearer
from tests.security._hub import SECRET, hub_client

__all__ = ["hub_client"]
pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def claims(**changes: Any) -> dict[str, Any]:
    """What the hub itself writes for a-officer, with ``changes`` (None removes a claim)."""
    base: dict[str, Any] = {
        "sub": "a-officer",
        "iat": datetime.now(UTC),
        "exp": datetime.now(UTC) + timedelta(hours=1),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "gen": 0,
    }
    base |= changes
    return {k: v for k, v in base.items() if v is not None}


def me(client: TestClient, token: str) -> Any:
    return client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


def assert_refused(r: Any) -> None:
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"] == "Bearer"
    assert "log in again" in r.json()["detail"]


@pytest.fixture()
def client(hub_client: Callable[..., TestClient]) -> TestClient:
    return hub_client()


def test_a_token_signed_as_the_hub_signs_it_is_accepted(client: TestClient) -> None:
    # The control: the forging helper makes tokens the hub takes, so each refusal below is
    # about the one claim changed.
    r = me(client, jwt.encode(claims(), SECRET, algorithm="HS256"))
    assert r.status_code == 200, r.text
    assert r.json()["username"] == "a-officer"
    # And the hub's own tokens carry every claim it requires.
    token = bearer(client, "a-officer")["Authorization"].removeprefix("Bearer ")
    decoded = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE)
    assert {"sub", "iat", "exp", "iss", "aud", "gen"} <= decoded.keys()
    assert decoded["iss"] == ISSUER


def test_jwt_without_exp_is_401(client: TestClient) -> None:
    assert_refused(me(client, jwt.encode(claims(exp=None), SECRET, algorithm="HS256")))


def test_jwt_expired_is_401(client: TestClient) -> None:
    token = jwt.encode(
        claims(iat=NOW - timedelta(hours=9), exp=NOW - timedelta(seconds=5)),
        SECRET,
        algorithm="HS256",
    )
    assert_refused(me(client, token))


def test_jwt_without_iat_is_401(client: TestClient) -> None:
    assert_refused(me(client, jwt.encode(claims(iat=None), SECRET, algorithm="HS256")))


def test_jwt_issued_in_the_future_is_401(client: TestClient) -> None:
    token = jwt.encode(claims(iat=NOW + timedelta(hours=2)), SECRET, algorithm="HS256")
    assert_refused(me(client, token))


def test_jwt_with_another_issuer_is_401(client: TestClient) -> None:
    assert_refused(me(client, jwt.encode(claims(iss="evil-hub"), SECRET, algorithm="HS256")))


def test_jwt_without_issuer_is_401(client: TestClient) -> None:
    assert_refused(me(client, jwt.encode(claims(iss=None), SECRET, algorithm="HS256")))


def test_jwt_for_another_audience_is_401(client: TestClient) -> None:
    token = jwt.encode(claims(aud="grafana"), SECRET, algorithm="HS256")
    assert_refused(me(client, token))


def test_jwt_without_audience_is_401(client: TestClient) -> None:
    assert_refused(me(client, jwt.encode(claims(aud=None), SECRET, algorithm="HS256")))


def test_jwt_with_alg_none_is_401(client: TestClient) -> None:
    token = jwt.encode(claims(), None, algorithm="none")
    assert token.endswith(".")  # an unsigned token, as an attacker would send it
    assert_refused(me(client, token))


def test_jwt_signed_with_another_key_is_401(client: TestClient) -> None:
    assert_refused(me(client, jwt.encode(claims(), "x" * 40, algorithm="HS256")))


def test_jwt_signed_with_hs512_under_the_hubs_key_is_401(client: TestClient) -> None:
    # Only HS256 is accepted: no algorithm is chosen by the token itself.
    assert_refused(me(client, jwt.encode(claims(), SECRET, algorithm="HS512")))


def test_jwt_for_an_account_that_does_not_exist_is_401(client: TestClient) -> None:
    assert_refused(me(client, jwt.encode(claims(sub="ghost"), SECRET, algorithm="HS256")))


def test_jwt_with_a_token_generation_the_account_does_not_have_is_401(client: TestClient) -> None:
    # Deactivating raises the generation; a token of another generation (or none) is dead.
    assert_refused(me(client, jwt.encode(claims(gen=-1), SECRET, algorithm="HS256")))
    assert_refused(me(client, jwt.encode(claims(gen=None), SECRET, algorithm="HS256")))


def test_tampered_jwt_payload_is_401(client: TestClient) -> None:
    token = bearer(client, "a-officer")["Authorization"].removeprefix("Bearer ")
    head, _body, sig = token.split(".")
    forged = jwt.encode(claims(sub="city-admin"), "whatever", algorithm="HS256").split(".")[1]
    assert_refused(me(client, f"{head}.{forged}.{sig}"))
