"""The dynamic-security commands of each provisioning step (pure, no broker)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.broker import commands
from hub.broker.sync import change_commands
from hub.repositories.broker import BrokerChange
from schemas.topics import TopicError


def test_a_new_device_is_created_with_its_own_role_fixed_client_id_and_disabled():
    cmds = commands.create_device("mobile_terminal", "term-0001")
    assert cmds[0] == {"command": "createRole", "rolename": "ehub-device-term-0001"}
    create = next(c for c in cmds if c["command"] == "createClient")
    assert create == {"command": "createClient", "username": "term-0001", "clientid": "term-0001"}
    assert "password" not in create  # no usable credentials until they are issued
    assert cmds[-1] == {"command": "disableClient", "username": "term-0001"}
    topics = {c["topic"] for c in cmds if c["command"] == "addRoleACL"}
    assert "ehub/v1/mobile_terminal/term-0001/cmd_result" in topics
    assert all("/term-0001/" in t for t in topics)


def test_issuing_sets_the_password_before_enabling():
    assert [c["command"] for c in commands.issue_password("cam-0001", "pw")] == [
        "setClientPassword",
        "enableClient",
    ]


def test_a_device_id_that_could_widen_an_acl_is_refused_before_any_command():
    for bad in ("+", "cam/#", "a"):
        with pytest.raises(TopicError):
            commands.disable_device(bad)


@pytest.mark.parametrize(
    ("op", "first"),
    [("create", "createRole"), ("disable", "disableClient"), ("enable", "enableClient"),
     ("delete", "deleteClient")],
)  # fmt: skip
def test_each_queued_change_maps_to_its_commands(op, first):
    ch = BrokerChange(1, "cam-0001", op, "body_camera", datetime.now(UTC), "u", 0, None)
    assert change_commands(ch)[0]["command"] == first


def test_an_unknown_queued_change_is_an_error_not_a_silent_no_op():
    ch = BrokerChange(1, "cam-0001", "explode", "body_camera", datetime.now(UTC), "u", 0, None)
    with pytest.raises(ValueError, match="unknown broker change"):
        change_commands(ch)
