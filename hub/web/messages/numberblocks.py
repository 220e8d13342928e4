"""Messages of a terminal's number blocks (当场处罚决定书编号): key -> (zh-CN, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "nb.title": ("当场处罚决定书编号段", "On-the-spot decision number blocks"),
    "nb.help": (
        "编号段预先分配给本终端，离线也可使用；每个编号最终须已打印、作废（注明原因）或退回。",
        "Blocks are allocated to this terminal in advance so it works offline; every number"
        " ends printed, voided with a reason, or returned.",
    ),
    "nb.none": ("尚未分配编号段", "No block allocated yet"),
    "nb.block": ("编号段", "Block"),
    "nb.range": ("编号", "Numbers"),
    "nb.delivery": ("下发", "Delivery"),
    "nb.allocated_by": ("分配人", "Allocated by"),
    "nb.open": ("未使用编号", "Unused numbers"),
    "nb.no_open": ("没有未使用的编号", "No unused number"),
    "nb.flagged": ("待处理的上报", "Reports to resolve"),
    "nb.state.allocated": ("未使用", "unused"),
    "nb.state.printed": ("已打印", "printed"),
    "nb.state.voided": ("已作废", "voided"),
    "nb.state.returned": ("已退回", "returned"),
    "nb.allocate": ("分配编号段", "Allocate a block"),
    "nb.subject": ("执法主体代码", "Legal subject code"),
    "nb.size": ("数量", "How many"),
    "nb.review_body": ("行政复议机关", "Administrative review body"),
    "nb.court": ("人民法院", "Court"),
    "nb.bank": ("罚款缴纳银行", "Bank for fines"),
    "nb.void": ("作废编号", "Void a number"),
    "nb.number": ("编号", "Number"),
    "nb.return_all": ("退回全部未使用编号", "Return every unused number"),
    "nb.confirm_return": (
        "退回后这些编号不再使用，确定？",
        "Returned numbers are never used again. Sure?",
    ),
    "nb.allocated_ok": (
        "已分配 {first}–{last} 号并下发终端",
        "Numbers {first}–{last} allocated and sent",
    ),
    "nb.voided_ok": ("{number} 已作废", "{number} voided"),
    "nb.returned_ok": ("已退回 {n} 个编号", "{n} numbers returned"),
}
