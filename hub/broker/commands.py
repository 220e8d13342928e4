"""Dynamic-security commands for each provisioning step (pure: lists of dicts, no IO).

A device's broker client and its role are both named after the device: username = client id =
device id (so nobody else can take over its session: the plugin refuses a connection whose
client id differs from the one fixed on the client), role ``ehub-device-{id}``.
"""

from __future__ import annotations

from collections.abc import Mapping

from hub.broker.dynsec import Command
from schemas.broker import DEFAULT_ACL_ACCESS, Acl, device_role, device_role_name
from schemas.topics import DeviceType, check_device_id


def role_commands(name: str, acls: list[Acl]) -> list[Command]:
    return [
        {"command": "createRole", "rolename": name},
        *({"command": "addRoleACL", "rolename": name, **a.as_dict()} for a in acls),
    ]


def account_commands(roles: Mapping[str, list[Acl]], passwords: Mapping[str, str]) -> list[Command]:
    """One client per account, each with the role of the same name (``setup`` of a broker)."""
    out: list[Command] = [{"command": "setDefaultACLAccess", "acls": DEFAULT_ACL_ACCESS}]
    for name, acls in roles.items():
        out += role_commands(name, acls)
        if name in passwords:
            out += [
                {"command": "createClient", "username": name, "password": passwords[name]},
                {"command": "addClientRole", "username": name, "rolename": name},
            ]
    return out


def create_device(device_type: DeviceType | str, device_id: str) -> list[Command]:
    """The device's client with its own role, disabled until credentials are issued."""
    role = device_role_name(device_id)
    return [
        *role_commands(role, device_role(device_type, device_id)),
        {"command": "createClient", "username": device_id, "clientid": device_id},
        {"command": "addClientRole", "username": device_id, "rolename": role},
        {"command": "disableClient", "username": device_id},
    ]


def issue_password(device_id: str, password: str) -> list[Command]:
    """Set (or rotate) the password and enable: the plugin drops a connected client whose
    password changes, so the old credentials stop working at once."""
    check_device_id(device_id)
    return [
        {"command": "setClientPassword", "username": device_id, "password": password},
        {"command": "enableClient", "username": device_id},
    ]


def disable_device(device_id: str) -> list[Command]:
    """Refuse new connections and drop the current one (the plugin kicks a disabled client)."""
    return [{"command": "disableClient", "username": check_device_id(device_id)}]


def enable_device(device_id: str) -> list[Command]:
    return [{"command": "enableClient", "username": check_device_id(device_id)}]


def delete_device(device_id: str) -> list[Command]:
    return [
        {"command": "deleteClient", "username": check_device_id(device_id)},
        {"command": "deleteRole", "rolename": device_role_name(device_id)},
    ]
