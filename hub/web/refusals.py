"""Refusals in the page's language. Services and rules explain a refusal in English (the API's
problem details keep it); the Chinese pages say the common ones in Chinese: permission
("role officer may not dispatch.manage"), attendance verdicts ("outside the shift's patrol
zone"), with times in Asia/Shanghai. Anything else is shown as written. Pure: no IO."""

from __future__ import annotations

import re
from collections.abc import Callable

from hub.web.alert_text import _local

ROLES = {
    "admin": "管理员",
    "equipment_manager": "装备管理员",
    "dispatcher": "调度员",
    "maintenance": "维修人员",
    "officer": "执法人员",
    "supervisor": "督察/队领导",
    "legal_reviewer": "法制审核员",
}
ACTIONS = {
    "inventory.read": "查看装备",
    "devices.manage": "管理装备",
    "devices.repair_status": "变更维修状态",
    "custody.manage": "领用归还",
    "inventory.audit": "装备盘点",
    "staff.read": "查看人员",
    "staff.manage": "管理人员",
    "blacklist.manage": "管理黑名单",
    "org.manage": "管理组织架构",
    "users.manage": "管理账号",
    "alerts.handle": "处理告警",
    "tickets.manage": "管理维修工单",
    "audit_log.read": "查看审计日志",
    "rosters.manage": "排班",
    "attendance.correct": "更正考勤",
    "tracks.read": "查看轨迹",
    "geofences.manage": "管理电子围栏",
    "work_log.write": "填写工作日志",
    "dispatch.manage": "指挥调度",
    "dispatch.own_orders": "查看本人派遣单",
}
KINDS = {"sign_in": "签到", "sign_out": "签退"}

ZH: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"role (\w+) may not ([\w.]+)"),
        lambda m: f"角色「{ROLES.get(m[1], m[1])}」无权{ACTIONS.get(m[2], m[2])}",
    ),
    (
        re.compile(r"too early: the (\w+) window opens at (\S+)"),
        lambda m: f"过早：{KINDS.get(m[1], m[1])}时间 {_local(m[2])} 才开始",
    ),
    (
        re.compile(r"too late: the (\w+) window closed at (\S+)"),
        lambda m: f"过晚：{KINDS.get(m[1], m[1])}时间已于 {_local(m[2])} 结束",
    ),
    (
        re.compile(r"no position: cannot check the patrol zone"),
        lambda m: "无定位，无法核对巡查区域",
    ),
    (re.compile(r"outside the shift's patrol zone"), lambda m: "不在班次的巡查区域内"),
    (re.compile(r"sign-out without an accepted sign-in"), lambda m: "未成功签到，不能签退"),
    (re.compile(r"no shift assigned around this time"), lambda m: "此时段没有排班"),
    (re.compile(r"device (\S+) is not checked out"), lambda m: f"装备 {m[1]} 未被领用"),
]


def refusal(detail: str | None, lang: str) -> str:
    """``detail`` as the page's language says it; unknown forms as written."""
    if not detail:
        return ""
    if lang != "zh-CN":
        return detail
    for pattern, say in ZH:
        m = pattern.fullmatch(detail)
        if m:
            return say(m)
    return detail
