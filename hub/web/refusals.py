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
    # Staff certificates and org units (hub.services.personnel).
    (
        re.compile(r"an officer \(执法人员\) keeps their enforcement certificate number"),
        lambda m: "执法人员须持有执法证号，不能清空",
    ),
    (
        re.compile(
            r"an officer \(执法人员\) is registered with their enforcement certificate number"
        ),
        lambda m: "登记执法人员须填写执法证号",
    ),
    (
        re.compile(r"badge number (\S+) belongs to someone else"),
        lambda m: f"执法证号 {m[1]} 已属于他人",
    ),
    (re.compile(r"org unit id (\S+) is already taken"), lambda m: f"单位编号 {m[1]} 已被使用"),
    (
        re.compile(r"org unit (\S+) is a street team: nothing is organised below a team"),
        lambda m: f"{m[1]} 是街道执法队，其下不再设单位",
    ),
    (
        re.compile(r"org unit (\S+) not found"),
        lambda m: f"没有找到单位 {m[1]}，或不在您的管辖范围内",
    ),
    (re.compile(r"staff (\S+) not found"), lambda m: f"没有找到人员 {m[1]}，或不在您的管辖范围内"),
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
