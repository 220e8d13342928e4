"""A simulated officer's on-the-spot decision (简易程序): what the demo and the tests make a
terminal do. ``make_on_spot_decision(terminal, now)`` fills in a 当场行政处罚决定书 for a
sample matter of the starter catalog (SZ-SR-001: dog mess not cleared, a 50 yuan fine), on the
terminal's next free number, and sends it to its paired printer; the runner's print spooler
prints it and the terminal reports it once printed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from device_drivers.mobile_terminal.agent import TerminalAgent
from device_drivers.mobile_terminal.onspot import OnSpotFacts, OnSpotMatter
from schemas.documents.common import (
    LegalRef,
    Officer,
    Party,
    PartyKind,
    PenaltyKind,
    PenaltyTerms,
    Receipt,
    ReceiptStatus,
)

RULES = "深圳经济特区市容和环境卫生管理条例"
PET_MESS = OnSpotMatter(
    code="SZ-SR-001",
    # As the starter catalog cites them (it does not give the article numbers either).
    violated=[LegalRef(law=RULES, article="(2023年修订) 环境卫生管理有关条款")],
    basis=[LegalRef(law=RULES, article="(2023年修订) 法律责任条款")],
)
SAMPLE_OFFICERS = [
    Officer(name="李明", certificate_no="44030500365"),
    Officer(name="王芳", certificate_no="44030500366"),
]


def make_on_spot_decision(
    terminal: TerminalAgent,
    now: datetime,
    *,
    officers: list[Officer] | None = None,
    fine: Decimal = Decimal(50),
    party_name: str = "张三",
    matter: OnSpotMatter = PET_MESS,
    place: str = "深圳市福田区华强北街道华强北路1016号人行道",
) -> str:
    """The officer's tap on ``terminal``: returns the number used (``OnSpotRefused`` if the
    terminal holds no free number, has no printer paired, or the decision is incomplete)."""
    return terminal.on_spot(
        matter=matter,
        party=Party(
            kind=PartyKind.CITIZEN,
            name=party_name,
            id_type="居民身份证",
            id_number="440304199001011234",
        ),
        facts=OnSpotFacts(
            act="携带犬只外出，未即时清除犬只在人行道上产生的粪便",
            act_at=now - timedelta(minutes=10),
            place=place,
            statements="执法人员已告知当事人违法事实、理由、依据及其陈述申辩权，当事人无异议。",
        ),
        penalty=PenaltyTerms(kinds=[PenaltyKind.FINE], fine=fine),
        officers=SAMPLE_OFFICERS if officers is None else officers,
        receipt=Receipt(status=ReceiptStatus.SIGNED, at=now),
        now=now,
    )
