"""The snapshot codec: every case the ordinary and on-the-spot paths go through survives
encode -> JSON text -> decode unchanged (including pending approvals holding their request)."""

from __future__ import annotations

import json

import pytest

from hub.domain.cases.approvals import ApprovalAct
from hub.domain.cases.case import Case
from hub.domain.cases.commands import RequestSeizure, WaiveStatement
from hub.services.cases import codec
from tests.hub.cases.kit import HEAD, LEADER, TWO, A, Driver


def _round_trip(case: Case) -> Case:
    text = json.dumps(codec.encode(case), ensure_ascii=False)
    return codec.decode(json.loads(text))


def test_every_state_of_an_ordinary_case_round_trips() -> None:
    d = Driver.clue()
    seen = [d.case]
    d.file()
    seen.append(d.case)
    d.do(RequestSeizure("sz-1", A, TWO, "09" * 32))
    seen.append(d.case)  # a pending chain holds the RequestSeizure itself
    assert d.case.pending is not None
    d.approve(ApprovalAct.SEIZURE, LEADER, HEAD)
    seen.append(d.case)
    for step in (d.investigate, d.report, d.notify, d.deliver):
        step()
        seen.append(d.case)
    d.do(WaiveStatement(TWO, "12" * 32))
    seen.append(d.case)
    assert len({c.state for c in seen}) >= 5
    for case in seen:
        back = _round_trip(case)
        assert back == case
        assert codec.encode(back) == codec.encode(case)


def test_an_on_spot_case_round_trips() -> None:
    d = Driver.on_spot()
    assert _round_trip(d.case) == d.case


def test_foreign_types_are_refused_both_ways() -> None:
    with pytest.raises(TypeError):
        codec.encode_value(object())
    with pytest.raises(ValueError, match="not a case domain type"):
        codec.decode_value({"$dc": "Popen", "f": {}})
    with pytest.raises(ValueError, match="format"):
        codec.decode({"format": 99, "case": {}})
