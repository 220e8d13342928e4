"""Messages of the vehicle pages (车辆): key -> (zh-CN, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "nav.vehicles": ("车辆", "Vehicles"),
    "vehicles.title": ("执法车辆", "Patrol vehicles"),
    "vehicles.add": ("登记车辆", "Register a vehicle"),
    "vehicles.add_do": ("登记", "Register"),
    "vehicles.count": ("共 {n} 辆", "{n} vehicles"),
    "vehicles.empty": ("尚未登记车辆", "No vehicles registered"),
    "vehicles.not_found": ("没有找到该车辆，或不在您的管辖范围内", "No such vehicle in your reach"),
    "vehicles.id": ("车辆编号", "Vehicle id"),
    "vehicles.plate": ("车牌号", "Plate"),
    "vehicles.tracker": ("车载定位终端", "Tracker"),
    "vehicles.fit": ("安装", "Fit"),
    "vehicles.registered": ("已登记车辆 {id}", "Registered vehicle {id}"),
    "vehicles.fitted": ("{id} 的定位终端：{tracker}", "{id} now has tracker {tracker}"),
    "staff.f.vehicle_id": ("车辆编号", "Vehicle id"),
    "staff.f.plate": ("车牌号（如 粤B·D12345）", "Plate (e.g. 粤B·D12345)"),
    "staff.f.tracker_id": ("定位终端", "Tracker"),
    "staff.f.model": ("型号", "Model"),
}
