"""One complete sample of every document type: a street-vending case in Futian.

Sample data only: the people, numbers and accounts are made up; the provisions cited are the
real ones the starter catalog uses (深圳经济特区市容和环境卫生管理条例 2023 Art. 18 for 占道经营).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from schemas.documents import MODELS, DocType, DocumentBase
from schemas.documents.common import (
    Approval,
    DocRef,
    LegalRef,
    Officer,
    Party,
    PartyKind,
    Payment,
    PenaltyKind,
    PenaltyTerms,
    Receipt,
    ReceiptStatus,
    Remedies,
    Subject,
)
from schemas.documents.scene import QA, PreservedItem, ServiceMethod

VERIFY_BASE = "https://enforce.example.com"
T0 = datetime(2026, 11, 26, 6, 5, tzinfo=UTC)  # 14:05 in Shenzhen

SUBJECT = Subject(
    code="sz-ft-cgj",
    name="深圳市福田区城市管理和综合执法局",
    seal_name="深圳市福田区城市管理和综合执法局",
    team_name="华强北街道综合行政执法队",
)
PARTY = Party(
    kind=PartyKind.CITIZEN,
    name="张三",
    id_type="居民身份证",
    id_number="440304199001011234",
    address="深圳市福田区华强北路1016号",
    phone="13800000000",
)
OFFICERS = [
    Officer(name="李明", certificate_no="44030500365"),
    Officer(name="王芳", certificate_no="44030500366"),
]
MARKET_RULES = "深圳经济特区市容和环境卫生管理条例"
VIOLATED = [LegalRef(law=MARKET_RULES, article="第十八条第一款")]
BASIS = [LegalRef(law=MARKET_RULES, article="第十八条第二款")]
REMEDIES = Remedies(review_body="深圳市福田区人民政府", court="深圳市福田区人民法院")
PAYMENT = Payment(bank="中国工商银行深圳福田支行", account="4000021109200000000")
ACT = "在华强北路宝华大厦北侧人行道擅自摆摊设点、占道经营，占用面积约0.2平方米"
PLACE = "深圳市福田区华强北街道华强北路1016号宝华大厦北侧人行道"
CASE = "深福执立〔2026〕第000517号"


def _approvals(*roles: str) -> list[Approval]:
    names = {"承办人": "李明", "承办机构负责人": "陈刚", "法制审核": "周敏", "负责人": "刘强"}
    return [
        Approval(role=r, name=names[r], opinion="", approved=True, at=T0 + timedelta(hours=i))
        for i, r in enumerate(roles, start=1)
    ]


def sample(doc_type: DocType, **overrides: Any) -> DocumentBase:
    """A complete document of ``doc_type``; ``overrides`` replace fields."""
    common: dict[str, Any] = {"subject": SUBJECT, "issued_at": T0}
    fields: dict[str, Any]
    match doc_type:
        case DocType.ON_SPOT_DECISION:
            fields = {
                "number": "深福执当罚〔2026〕第000123号",
                "party": PARTY,
                "act": ACT,
                "act_at": T0 - timedelta(minutes=20),
                "place": PLACE,
                "violated": VIOLATED,
                "basis": BASIS,
                "penalty": PenaltyTerms(kinds=[PenaltyKind.FINE], fine=Decimal(200)),
                "statements": (
                    "执法人员已告知当事人违法事实、理由、依据及其陈述申辩权，当事人无异议。"
                ),
                "payment": PAYMENT,
                "remedies": REMEDIES,
                "officers": OFFICERS,
                "receipt": Receipt(status=ReceiptStatus.SIGNED, at=T0),
            }
        case DocType.RECTIFICATION_NOTICE:
            fields = {
                "number": "深福华城责改〔2026〕第0517号",
                "party": PARTY,
                "facts": f"经查，你（单位）于2026年11月26日{ACT}，影响市容和环境卫生。",
                "place": PLACE,
                "violated": VIOLATED,
                "basis": BASIS,
                "requirement": "立即停止上述行为，并于期限前自行清理占道物品、恢复原状。",
                "deadline": T0 + timedelta(days=1, hours=4),
                "consequence": "逾期不改正的，本机关将依法处理。",
                "officers": OFFICERS,
            }
        case DocType.INSPECTION_RECORD:
            fields = {
                "number": "深福执检〔2026〕第000301号",
                "case_number": CASE,
                "started_at": T0,
                "ended_at": T0 + timedelta(minutes=35),
                "place": PLACE,
                "party": PARTY,
                "present": "张三",
                "certificates_shown": True,
                "findings": (
                    "现场发现当事人摆放货架一个、商品若干，占用人行道约0.2平方米。已拍照取证。"
                ),
                "officers": OFFICERS,
                "recorder": "王芳",
                "witness": "赵六",
                "receipt": Receipt(status=ReceiptStatus.SIGNED, at=T0),
            }
        case DocType.INQUIRY_RECORD:
            fields = {
                "number": "深福执询〔2026〕第000302号",
                "case_number": CASE,
                "started_at": T0 + timedelta(hours=1),
                "ended_at": T0 + timedelta(hours=1, minutes=30),
                "place": "华强北街道综合行政执法队办公室",
                "interviewee": PARTY,
                "relation": "当事人",
                "officers": OFFICERS,
                "recorder": "王芳",
                "rights_told": True,
                "qa": [
                    QA(q="你是否在宝华大厦北侧人行道摆摊？", a="是的，今天中午开始摆的。"),
                    QA(q="你是否办理了相关许可？", a="没有。"),
                ],
                "confirmation": "以上笔录我看过，与我说的相符。",
                "receipt": Receipt(status=ReceiptStatus.SIGNED, at=T0 + timedelta(hours=2)),
            }
        case DocType.SERVICE_RECEIPT:
            fields = {
                "number": "深福执送〔2026〕第000411号",
                "case_number": CASE,
                "documents": [DocRef(title="行政处罚决定书", number="深福执罚〔2026〕第000123号")],
                "recipient": "张三",
                "place": "深圳市福田区华强北路1016号",
                "method": ServiceMethod.DIRECT,
                "served_at": T0 + timedelta(days=3),
                "officers": OFFICERS,
                "receipt": Receipt(status=ReceiptStatus.SIGNED, at=T0 + timedelta(days=3)),
            }
        case DocType.PRESERVATION_NOTICE:
            fields = {
                "number": "深福执保〔2026〕第000055号",
                "case_number": CASE,
                "party": PARTY,
                "facts": f"你（单位）{ACT}。",
                "basis": [LegalRef(law="中华人民共和国行政处罚法", article="第五十六条")],
                "approved_by": "刘强",
                "approved_at": T0,
                "items": [
                    PreservedItem(name="折叠货架", spec="1.2米", quantity="1", unit="个"),
                    PreservedItem(name="手机壳", quantity="36", unit="件", condition="全新"),
                ],
                "kept_at": "华强北街道综合行政执法队暂扣物品仓库",
                "officers": OFFICERS,
            }
        case DocType.FILING_APPROVAL:
            fields = {
                "number": CASE,
                "case_number": CASE,
                "source": "巡查发现",
                "received_at": T0,
                "party": PARTY,
                "facts": f"当事人{ACT}，经责令改正拒不改正。",
                "matter": "SZ-SR-018 占道经营",
                "violated": VIOLATED,
                "handlers": OFFICERS,
                "approvals": _approvals("承办人", "承办机构负责人", "负责人"),
            }
        case DocType.PRE_PENALTY_NOTICE:
            fields = {
                "number": "深福执告〔2026〕第000088号",
                "case_number": CASE,
                "party": PARTY,
                "facts": f"经查，你（单位）于2026年11月26日{ACT}，经责令改正拒不改正。",
                "evidence": ["现场检查笔录", "询问笔录", "现场照片3张"],
                "violated": VIOLATED,
                "basis": BASIS,
                "proposed": PenaltyTerms(kinds=[PenaltyKind.FINE], fine=Decimal(200)),
                "contact": "深圳市福田区华强北街道综合行政执法队，电话0755-00000000",
            }
        case DocType.PENALTY_DECISION:
            fields = {
                "number": "深福执罚〔2026〕第000123号",
                "case_number": CASE,
                "party": PARTY,
                "facts": f"经查，你（单位）于2026年11月26日{ACT}，经责令改正拒不改正。",
                "evidence": ["现场检查笔录", "询问笔录", "现场照片3张"],
                "statements": "当事人在规定期限内未提出陈述申辩。",
                "violated": VIOLATED,
                "basis": BASIS,
                "penalty": PenaltyTerms(kinds=[PenaltyKind.FINE], fine=Decimal(200)),
                "discretion": "按占用面积每平方米一千元计算。",
                "payment": PAYMENT,
                "remedies": REMEDIES,
                "decided_at": T0 + timedelta(days=10),
            }
        case DocType.CLOSING_APPROVAL:
            fields = {
                "number": "深福执结〔2026〕第000091号",
                "case_number": CASE,
                "party": PARTY,
                "summary": f"当事人{ACT}，经责令改正拒不改正。",
                "outcome": "罚款人民币200元（深福执罚〔2026〕第000123号）",
                "execution": "当事人已于2026年12月5日缴清罚款。",
                "reason": "处罚决定已执行完毕",
                "approvals": _approvals("承办人", "承办机构负责人", "负责人"),
            }
        case DocType.WITHDRAWAL_APPROVAL:
            fields = {
                "number": "深福执撤〔2026〕第000007号",
                "case_number": CASE,
                "party": PARTY,
                "filed_at": T0,
                "summary": "经调查，涉案摊位系经批准的临时便民摊点。",
                "reason": "违法事实不能成立，依法撤销立案。",
                "requested_by": "李明",
                "approvals": _approvals("承办人", "法制审核", "负责人"),
            }
    fields = {**common, **fields, **overrides}
    return MODELS[doc_type](**fields)
