"""``ehub admin`` against a real database: units, accounts, CSV import with a per-row report."""

from __future__ import annotations

import pytest

from ehub.cli import main
from hub.security import verify_password
from tests.helpers import query

pytestmark = pytest.mark.integration

GOOD = """device_id,device_type,serial,model,purchase_date,org_unit_id
cam-0001,body_camera,SN-0001,DSJ-V8,2025-03-01,team-x
prn-0001,bt_printer,SN-P001,QR-386A,,team-x
"""
BAD_ROWS = """cam-0002,toaster,SN-0002,DSJ-V8,2025-03-01,team-x
cam-0003,body_camera,SN-0003,DSJ-V8,2025-13-01,team-x
cam-0004,body_camera,SN-0001,DSJ-V8,,team-x
cam-0005,body_camera,SN-0005,DSJ-V8,,team-nowhere
"""


def admin(db_url: str, *args: str) -> int:
    return main(["admin", "--database", db_url, "--actor", "tester", *args])


def test_units_users_and_a_csv_import_that_names_every_bad_row(
    db_url, tmp_path, capsys, monkeypatch
):
    assert (
        admin(db_url, "create-unit", "--id", "shenzhen", "--level", "city", "--name", "深圳市") == 0
    )
    assert (
        admin(
            db_url,
            "create-unit",
            "--id",
            "team-x",
            "--parent",
            "shenzhen",
            "--level",
            "street",
            "--name",
            "华强北街道综合行政执法队",
            "--establishment",
            "42",
        )
        == 0
    )
    with pytest.raises(SystemExit, match="parent unit 'nowhere' does not exist"):
        admin(
            db_url,
            "create-unit",
            "--id",
            "t2",
            "--parent",
            "nowhere",
            "--level",
            "street",
            "--name",
            "x",
        )
    monkeypatch.setenv("EHUB_NEW_PASSWORD", "a long enough password")
    assert (
        admin(
            db_url,
            "create-user",
            "--username",
            "zhang.em",
            "--role",
            "equipment_manager",
            "--unit",
            "team-x",
        )
        == 0
    )
    (stored,) = query(db_url, "SELECT password_hash FROM users WHERE username = 'zhang.em'")
    assert verify_password(stored[0], "a long enough password")

    csv_file = tmp_path / "devices.csv"
    csv_file.write_text(GOOD + BAD_ROWS, encoding="utf-8")
    capsys.readouterr()
    assert admin(db_url, "import-devices", str(csv_file)) == 2
    report = capsys.readouterr().out
    assert "line 4 (cam-0002): device_type:" in report
    assert "line 5 (cam-0003): purchase_date:" in report
    assert "line 6 (cam-0004): serial: serial SN-0001 already belongs" in report
    assert "line 7 (cam-0005): org_unit_id: no org unit 'team-nowhere'" in report
    assert "nothing imported" in report
    assert query(db_url, "SELECT count(*) FROM devices")[0][0] == 0

    assert admin(db_url, "import-devices", str(csv_file), "--skip-invalid") == 1
    assert "imported 2 device(s)" in capsys.readouterr().out
    assert query(
        db_url, "SELECT device_id, status, purchase_date::text FROM devices ORDER BY 1"
    ) == [("cam-0001", "in_stock", "2025-03-01"), ("prn-0001", "in_stock", None)]
    actions = query(db_url, "SELECT actor, action, entity_id FROM audit_log ORDER BY id")
    assert actions == [
        ("cli:tester", "org_unit.create", "shenzhen"),
        ("cli:tester", "org_unit.create", "team-x"),
        ("cli:tester", "user.create", "zhang.em"),
        ("cli:tester", "device.import", "cam-0001"),
        ("cli:tester", "device.import", "prn-0001"),
    ]
