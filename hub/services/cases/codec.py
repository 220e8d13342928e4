"""The snapshot codec: a domain ``Case`` as JSON (``cases.snapshot``) and back, exactly.

The events are the record; the snapshot is a cache the service loads instead of replaying
them. The domain types are frozen dataclasses, enums, ``Decimal``, dates, tuples and frozensets
(and a pending approval holds the command that asked for it), so the codec is tagged: every
value that JSON cannot say by itself carries its type, and a dataclass or enum is named by its
class, looked up in a registry of the case domain's own types — nothing else is ever built::

    Decimal("1000.50")  -> {"$dec": "1000.50"}        date -> {"$date": "2026-12-01"}
    frozenset({...})    -> {"$set": [...]} (sorted)   tuple -> {"$tuple": [...]}
    CaseState.FILED     -> {"$enum": "CaseState", "v": "filed"}
    Record(...)         -> {"$dc": "Record", "f": {"ref": ..., ...}}

``decode(encode(case)) == case`` (tests/hub/cases/test_case_codec.py holds it for cases taken
through every command).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from enum import Enum
from types import ModuleType
from typing import Any

from hub.domain.cases import approvals, case, catalog, commands, effects, law, states
from hub.domain.cases.case import Case

FORMAT = 1


def _registry(*modules: ModuleType) -> dict[str, type]:
    out: dict[str, type] = {}
    for module in modules:
        for name, obj in vars(module).items():
            if not isinstance(obj, type) or obj.__module__ != module.__name__:
                continue
            if dataclasses.is_dataclass(obj) or issubclass(obj, Enum):
                if name in out and out[name] is not obj:  # pragma: no cover - a naming bug
                    raise RuntimeError(f"two case types are called {name}")
                out[name] = obj
    return out


TYPES = _registry(case, commands, approvals, law, catalog, effects, states)


def _key(v: Any) -> str:
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def encode_value(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | str):
        if isinstance(v, Enum):
            return {"$enum": type(v).__name__, "v": v.value}
        return v
    if isinstance(v, Enum):
        return {"$enum": type(v).__name__, "v": v.value}
    if isinstance(v, Decimal):
        return {"$dec": str(v)}
    if isinstance(v, dt.datetime):
        return {"$dt": v.isoformat()}
    if isinstance(v, dt.date):
        return {"$date": v.isoformat()}
    if isinstance(v, frozenset | set):
        return {"$set": sorted((encode_value(x) for x in v), key=_key)}
    if isinstance(v, tuple):
        return {"$tuple": [encode_value(x) for x in v]}
    if isinstance(v, list):
        return [encode_value(x) for x in v]
    if isinstance(v, dict):
        return {"$dict": [[encode_value(k), encode_value(x)] for k, x in v.items()]}
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        name = type(v).__name__
        if TYPES.get(name) is not type(v):
            raise TypeError(f"{name} is not a case domain type: it cannot be in a snapshot")
        fields = {f.name: encode_value(getattr(v, f.name)) for f in dataclasses.fields(v)}
        return {"$dc": name, "f": fields}
    raise TypeError(f"cannot encode {type(v).__name__} in a case snapshot")


def decode_value(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, list):
        return [decode_value(x) for x in v]
    if not isinstance(v, dict) or len(v) not in (1, 2):
        raise ValueError(f"not a snapshot value: {v!r:.80}")
    if "$enum" in v:
        return _type(v["$enum"])(v["v"])
    if "$dc" in v:
        cls = _type(v["$dc"])
        return cls(**{k: decode_value(x) for k, x in v["f"].items()})
    (tag, body), *_ = v.items()
    if tag == "$dec":
        return Decimal(body)
    if tag == "$dt":
        return dt.datetime.fromisoformat(body)
    if tag == "$date":
        return dt.date.fromisoformat(body)
    if tag == "$set":
        return frozenset(decode_value(x) for x in body)
    if tag == "$tuple":
        return tuple(decode_value(x) for x in body)
    if tag == "$dict":
        return {decode_value(k): decode_value(x) for k, x in body}
    raise ValueError(f"unknown snapshot tag {tag!r}")


def _type(name: str) -> Any:
    cls = TYPES.get(name)
    if cls is None:
        raise ValueError(f"{name!r} is not a case domain type")
    return cls


def encode(c: Case) -> dict[str, Any]:
    """The snapshot of ``c`` as stored in ``cases.snapshot``."""
    return {"format": FORMAT, "case": encode_value(c)}


def decode(doc: dict[str, Any]) -> Case:
    if doc.get("format") != FORMAT:
        raise ValueError(f"case snapshot format {doc.get('format')!r}, this hub reads {FORMAT}")
    out = decode_value(doc["case"])
    if not isinstance(out, Case):
        raise ValueError("a case snapshot must hold a Case")
    return out
