"""Messages of the HTML error page of page routes: key -> (zh-CN, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "error.403": ("您的角色无权进行此操作", "Your role may not do this"),
    "error.404": ("页面不存在，或不在您的管辖范围内", "No such page in your reach"),
    "error.500": ("服务器出错，请稍后再试", "The hub failed; try again shortly"),
    "error.other": ("无法完成请求", "The request could not be done"),
    "error.home": ("回到首页", "Home"),
    "error.back": ("返回上一页", "Back"),
}
