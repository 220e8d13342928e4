"""The committed contract documents are exactly what the models generate."""

from __future__ import annotations

import json
from pathlib import Path

from schemas.export import asyncapi, export
from schemas.messages import COMMAND_ARG_MODELS, message_models

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "contract"


def test_committed_contract_matches_the_models(tmp_path):
    written = export(tmp_path)
    fresh = {p.relative_to(tmp_path): p.read_text() for p in written}
    committed = {p.relative_to(COMMITTED): p.read_text() for p in COMMITTED.rglob("*.json")}
    assert set(fresh) == set(committed), "run: ehub schemas export"
    for rel, text in fresh.items():
        assert committed[rel] == text, f"{rel} is stale: run `ehub schemas export`"


def test_asyncapi_covers_every_model_and_resolves_its_refs():
    doc = asyncapi()
    assert doc["asyncapi"] == "2.6.0"
    text = json.dumps(doc)
    args_models = {m.__name__ for ms in COMMAND_ARG_MODELS.values() for m in ms}
    for name in message_models():
        if name in args_models:  # the typed `args` of a command: a schema, not a message
            assert name in doc["components"]["schemas"], name
        else:
            assert f"#/components/messages/{name}" in text, name
    # every $ref points at something that exists
    schemas = doc["components"]["schemas"]
    messages = doc["components"]["messages"]
    for ref in {r.split('"')[0] for r in text.split('"$ref": "')[1:]}:
        kind, name = ref.split("/")[-2:]
        assert name in (
            schemas
            if kind == "schemas"
            else messages
            if kind == "messages"
            else doc["components"]["parameters"]
        ), ref
    assert "ehub/v1/vehicle_tracker/{device_id}/location" in doc["channels"]
    assert "ehub/v1/bt_printer/{device_id}/location" not in doc["channels"]
