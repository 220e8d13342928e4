"""Messages of a device's broker access (credentials, label, "pending on broker"):
key -> (zh-CN, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "broker.title": ("接入凭据（消息服务器）", "Broker access"),
    "broker.credentials": ("设备凭据", "Credentials"),
    "broker.issued": ("已于 {at} 由 {by} 签发", "Issued {at} by {by}"),
    "broker.rotations": ("已轮换 {n} 次", "rotated {n} times"),
    "broker.not_issued": ("尚未签发：设备无法接入", "Not issued: the device cannot connect"),
    "broker.sync": ("消息服务器同步", "Broker"),
    "broker.pending": (
        "等待消息服务器执行 {n} 项变更（pending on broker）",
        "{n} change(s) pending on broker",
    ),
    "broker.in_sync": ("已同步", "In sync"),
    "broker.issue": ("签发凭据", "Issue credentials"),
    "broker.rotate": (
        "轮换凭据（旧凭据立即失效）",
        "Rotate credentials (the old ones stop working)",
    ),
    "broker.confirm": (
        "签发新凭据后，旧凭据立即失效，设备连接将被断开。继续吗？",
        "New credentials make the old ones stop working and drop the device's connection. Go on?",
    ),
    "broker.label_title": ("设备首次配置标签：{id}", "First-setup label: {id}"),
    "broker.shown_once": (
        "密码只显示这一次，系统不保存。请立即打印或录入设备。",
        "The password is shown this once and is not kept. Print it or enter it now.",
    ),
    "broker.qr": ("设备配置二维码", "Setup QR code"),
    "broker.host": ("服务器", "Broker"),
    "broker.username": ("用户名", "Username"),
    "broker.client_id": ("客户端 ID", "Client id"),
    "broker.password": ("密码", "Password"),
    "broker.print": ("打印标签", "Print label"),
    "broker.jt808_phone": ("JT/T 808 终端手机号", "JT/T 808 terminal phone number"),
    "broker.jt808_registered": (
        "终端已注册（持有鉴权码）",
        "Terminal registered (has an auth code)",
    ),
    "broker.jt808_not_registered": ("终端尚未注册", "Terminal not registered yet"),
    "broker.jt808_save": ("保存", "Save"),
    "broker.jt808_saved": ("已保存", "Saved"),
}
