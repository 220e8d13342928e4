"""The states of an enforcement case and the edges between them (行政处罚法 2021, CASES.md §3).

Ordinary procedure (普通程序, Art. 54-65), every edge marked [A] waits for an approval chain
(``approvals.py``), every edge marked * needs >= 2 certified officers (Art. 42, Art. 55)::

    clue ──立案 [A] (Art. 54)──> filed ──调查终结报告 *──> reported ──告知书 * (Art. 44)──> notified
     │                          │ 询问/检查笔录 * (Art. 55)       │                        │
     │                          │ evidence *                     │                      │ delivered
     │                          │ 先行登记保存 [A] * (Art. 56)    │                        v
     │                          │ 查封扣押 [A] * (强制法 18, 24)   │                    statement
     │                          │ 责令改正 * (also as a clue)     │   陈述申辩 * + 复核 *, a waiver,
     │                          └─────────────────────────────── │   or the period ran out (Art. 45)
     │                                  不予处罚 [A] (Art. 57) ──┤                        │
     │                                                           v                        │
     │                                                        decided <──决定 [A]──────────┘
     │                                                           │       (Art. 57-60; 法制审核 58)
     ├──不予立案 [A]──> not_filed (final)                        送达 * (Art. 61)
     │                                                           v
     │        archived <──归档── closed <──结案 [A]── performed <──履行/执行 (Art. 67, 72)── served
     │        (final)              ^                                                      │
     │                             └───────────── 结案 [A]: nothing to perform ────────────┘
     └── any open state (clue .. statement) ──撤案 [A] with a reason──> withdrawn (final)

Simple procedure (简易程序 / 当场处罚, Art. 51-52)::

    on_spot_decided ──备案 (Art. 52)──> on_spot_filed ──履行──> performed ──结案 [A]──> closed
                                         └──结案 [A] (a warning)───────────> closed ──> archived

Corrections [A] (with a reason) are allowed in every state that is not final; they never change
the state and never edit what was recorded: they add a superseding entry (seed §15,
"杜绝随意更改案件"). Nothing leaves a final state.
"""

from __future__ import annotations

from enum import StrEnum


class CaseState(StrEnum):
    CLUE = "clue"  # 受理: a clue (案源) registered, 立案 not yet decided
    FILED = "filed"  # 立案 approved: investigation (调查取证)
    REPORTED = "reported"  # 调查终结报告 written; the case review (法制审核 if flagged)
    NOTIFIED = "notified"  # 行政处罚事先告知书 issued, not yet delivered
    STATEMENT = "statement"  # 告知 delivered: the 陈述申辩 (and hearing request) period runs
    DECIDED = "decided"  # 决定 approved, 决定书 issued
    SERVED = "served"  # 送达: the 送达回证 is back
    PERFORMED = "performed"  # 履行 (paid / complied) or 执行 (enforced)
    CLOSED = "closed"  # 结案 approved
    ARCHIVED = "archived"  # 归档 (final)
    NOT_FILED = "not_filed"  # 不予立案 approved (final)
    WITHDRAWN = "withdrawn"  # 撤案 approved (final)
    ON_SPOT_DECIDED = "on_spot_decided"  # 当场处罚: decided and handed over at the scene
    ON_SPOT_FILED = "on_spot_filed"  # 备案 with the agency (Art. 52)


S = CaseState

# Before a decision exists: 撤案 may end the case here (after a decision, the decision itself
# would have to be revoked, which is issue II's 撤销 — not a withdrawal).
OPEN: frozenset[CaseState] = frozenset({S.CLUE, S.FILED, S.REPORTED, S.NOTIFIED, S.STATEMENT})
# A decision is in force and being carried out.
IN_EFFECT: frozenset[CaseState] = frozenset(
    {S.DECIDED, S.SERVED, S.PERFORMED, S.ON_SPOT_DECIDED, S.ON_SPOT_FILED}
)
FINAL: frozenset[CaseState] = frozenset({S.ARCHIVED, S.NOT_FILED, S.WITHDRAWN})

# Every edge the machine can take (for documentation, the diagram above and the tests that
# check no transition leaves it). Corrections, approvals waiting and investigation acts stay in
# their state and are not listed.
EDGES: frozenset[tuple[CaseState, CaseState]] = frozenset(
    {
        (S.CLUE, S.FILED),
        (S.CLUE, S.NOT_FILED),
        (S.FILED, S.REPORTED),
        (S.REPORTED, S.NOTIFIED),
        (S.REPORTED, S.DECIDED),  # no penalty (Art. 57 (2)(3)): nothing to notify
        (S.NOTIFIED, S.STATEMENT),
        (S.STATEMENT, S.DECIDED),
        (S.DECIDED, S.SERVED),
        (S.SERVED, S.PERFORMED),
        (S.SERVED, S.CLOSED),  # nothing to perform (no penalty, or a warning only)
        (S.PERFORMED, S.CLOSED),
        (S.CLOSED, S.ARCHIVED),
        (S.ON_SPOT_DECIDED, S.ON_SPOT_FILED),
        (S.ON_SPOT_FILED, S.PERFORMED),
        (S.ON_SPOT_FILED, S.CLOSED),  # a warning: nothing to perform
    }
    | {(s, S.WITHDRAWN) for s in OPEN}
)
