"""Two languages, switchable per browser: Simplified Chinese (the default: the teams' own) and
English. A message missing from a catalogue shows its English text, never a bare key."""

from __future__ import annotations

from collections.abc import Callable, Mapping

LANGS = ("zh-CN", "en")
DEFAULT = "zh-CN"
COOKIE = "ehub_lang"

# key -> (zh-CN, en)
MESSAGES: dict[str, tuple[str, str]] = {
    "app.name": ("执法装备物联中心", "EnforceHub"),
    "nav.map": ("一张图", "Live map"),
    "nav.dispatch": ("指挥调度", "Dispatch"),
    "nav.devices": ("装备台账", "Inventory"),
    "nav.custody": ("领用归还", "Custody"),
    "nav.alerts": ("告警", "Alerts"),
    "nav.tickets": ("维修工单", "Repairs"),
    "nav.duty": ("排班考勤", "Rosters"),
    "nav.tracks": ("轨迹回放", "Track replay"),
    "nav.logout": ("退出登录", "Log out"),
    "nav.skip": ("跳到主要内容", "Skip to content"),
    "lang.switch": ("English", "中文"),
    "login.title": ("登录", "Log in"),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.failed": ("用户名或密码错误", "Wrong username or password"),
    "login.expired": ("登录已过期，请重新登录", "Your session has ended: please log in again"),
    "common.all": ("全部", "All"),
    "common.team": ("执法队", "Team"),
    "common.kind": ("类型", "Kind"),
    "common.status": ("状态", "Status"),
    "common.device": ("设备", "Device"),
    "common.officer": ("执法人员", "Officer"),
    "common.battery": ("电量", "Battery"),
    "common.last_seen": ("最后上线", "Last seen"),
    "common.time": ("时间", "Time"),
    "common.none": ("无", "None"),
    "common.filter": ("筛选", "Filter"),
    "common.from": ("开始", "From"),
    "common.to": ("结束", "To"),
    "common.details": ("详情", "Details"),
    "common.actions": ("操作", "Actions"),
    "common.save": ("保存", "Save"),
    "common.previous": ("上一页", "Previous"),
    "common.next": ("下一页", "Next"),
    "common.vehicle": ("车辆", "Vehicle"),
    "common.speed": ("速度", "Speed"),
    "common.export": ("导出", "Export"),
    "common.reason": ("原因", "Reason"),
    "common.live": ("实时", "Live"),
    "common.connecting": ("连接中…", "Connecting…"),
    "common.connected": ("已连接", "Connected"),
    "common.disconnected": ("连接中断，正在重连", "Disconnected, reconnecting"),
    "kind.body_camera": ("执法记录仪", "Body camera"),
    "kind.vehicle_tracker": ("车载定位终端", "Vehicle tracker"),
    "kind.mobile_terminal": ("移动执法终端", "Mobile terminal"),
    "kind.bt_printer": ("蓝牙打印机", "Bluetooth printer"),
    "kind.camera_dock": ("采集站", "Camera dock"),
    "presence.online": ("在线", "Online"),
    "presence.stale": ("信号弱", "Stale"),
    "presence.offline": ("离线", "Offline"),
    "presence.unknown": ("未知", "Unknown"),
    "map.title": ("一张图：人员、车辆与装备", "Live map: officers, vehicles and kit"),
    "map.legend": ("图例", "Legend"),
    "map.patrol": ("巡查中", "On patrol"),
    "map.dispatched": ("已派遣", "Dispatched"),
    "map.offline": ("离线", "Offline"),
    "map.sos": ("紧急求助", "SOS"),
    "map.idle": ("在库/未领用", "Not held"),
    "map.visible": ("显示", "Showing"),
    "map.no_position": ("无位置", "No position"),
    "map.holder": ("持有人", "Held by"),
    "map.no_tiles": ("底图不可用：仅显示位置", "Map tiles unavailable: positions only"),
    "alerts.title": ("告警收件箱", "Alerts inbox"),
    "alerts.kind": ("告警类型", "Alert"),
    "alerts.severity": ("级别", "Severity"),
    "alerts.opened": ("发生时间", "Opened"),
    "alerts.detail": ("说明", "Detail"),
    "alerts.ack": ("确认", "Acknowledge"),
    "alerts.resolve": ("处理完毕", "Resolve"),
    "alerts.resolution": ("处理说明", "What was done"),
    "alerts.acked_by": ("已由 {who} 确认", "Acknowledged by {who}"),
    "alerts.resolved_by": ("已由 {who} 处理", "Resolved by {who}"),
    "alerts.empty": ("没有待处理的告警", "No open alerts"),
    "alerts.new": ("新告警", "New alert"),
    "alert.offline_while_assigned": ("领用中离线", "Offline while checked out"),
    "alert.stale_fix": ("定位长时间未更新", "No fresh GNSS fix"),
    "alert.low_battery": ("电量低", "Low battery"),
    "alert.storage_high": ("存储将满", "Storage nearly full"),
    "alert.temperature": ("温度过高", "Too hot"),
    "alert.overdue_return": ("逾期未归还", "Not returned on time"),
    "alert.overdue_audit": ("逾期未盘点", "Audit overdue"),
    "alert.repeated_faults": ("反复故障", "Repeated faults"),
    "alert.left_zone": ("离开巡查区域", "Left the patrol zone"),
    "state.open": ("待处理", "Open"),
    "state.acked": ("已确认", "Acknowledged"),
    "state.resolved": ("已处理", "Resolved"),
    "severity.warning": ("警告", "Warning"),
    "severity.critical": ("严重", "Critical"),
}


def translator(lang: str) -> Callable[..., str]:
    i = 0 if lang == "zh-CN" else 1

    def t(key: str, **fmt: object) -> str:
        pair = MESSAGES.get(key)
        text = key if pair is None else pair[i]
        return text.format(**fmt) if fmt else text

    return t


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The browser's choice if it made one, else its first supported language, else Chinese."""
    if cookie in LANGS:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT


def catalogue(lang: str, prefixes: tuple[str, ...]) -> Mapping[str, str]:
    """The messages a page's script needs, in the page's language."""
    t = translator(lang)
    return {k: t(k) for k in MESSAGES if k.startswith(prefixes)}
