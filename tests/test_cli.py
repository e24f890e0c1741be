import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from helpdesk.auth.models import User
from helpdesk.cli import DEMO_DIR
from helpdesk.extensions import db
from helpdesk.models import Ticket, Unit

ROOT = Path(__file__).resolve().parent.parent


def test_data_import_directory_then_noop(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["data", "import", str(DEMO_DIR)])
    assert result.exit_code == 0, result.output
    assert "tickets.csv: 419 added, 0 updated, 0 unchanged" in result.output
    again = runner.invoke(args=["data", "import", str(DEMO_DIR)])
    assert again.exit_code == 0
    assert "units.csv: 0 added, 0 updated, 251 unchanged" in again.output
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 419


def test_data_import_bad_file_exits_1_and_writes_nothing(app, tmp_path):
    bad = tmp_path / "units.csv"
    bad.write_text(
        "code,level,kind,name,parent_code\n"
        "D1,district,quận,Lê Chân,\n"
        "X1,province,tỉnh,Hải Phòng,\n"
        "C2,commune,xã,An Hưng,X9\n"
        "D1,district,huyện,An Dương,\n",
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(args=["data", "import", str(bad)])
    assert result.exit_code == 1
    for line in ("units.csv:3: level:", "units.csv:4: parent_code:", "units.csv:5: code:"):
        assert line in result.output
    assert "nothing was written" in result.output
    assert db.session.scalar(select(func.count()).select_from(Unit)) == 0


def test_data_import_missing_path(app):
    result = app.test_cli_runner().invoke(args=["data", "import", "/no/such/dir"])
    assert result.exit_code == 1


def test_users_create_with_password_stdin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "lan.pt",
            "--role",
            "supervisor",
            "--full-name",
            "Phạm Thị Lan",
            "--password-stdin",
        ],
        input="Mat-khau-Lan-2023\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "lan.pt"))
    assert user.role == "supervisor" and user.full_name == "Phạm Thị Lan"
    assert user.check_password("Mat-khau-Lan-2023")
    weak = runner.invoke(
        args=["users", "create", "x.y", "--role", "operator", "--password-stdin"], input="short\n"
    )
    assert weak.exit_code == 1 and "ít nhất" in weak.output
    dup = runner.invoke(
        args=["users", "create", "lan.pt", "--role", "operator", "--password-stdin"],
        input="Mat-khau-Lan-2023\n",
    )
    assert dup.exit_code == 1


def test_demo_loads_and_prints_passwords(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "hoa.nt" in result.output and "Hoa-Demo-2023" in result.output
    user = db.session.scalar(select(User).where(User.username == "hoa.nt"))
    assert user.check_password("Hoa-Demo-2023")


def test_real_command_line_on_a_fresh_database(tmp_path):
    """`flask --app app db upgrade` then `data import`, as FORMATS.md documents them."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    env.pop("SECRET_KEY", None)
    env.pop("HELPDESK_DEMO", None)
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    upgrade = subprocess.run(
        [*flask, "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert upgrade.returncode == 0, upgrade.stderr
    imported = subprocess.run(
        [*flask, "data", "import", str(DEMO_DIR)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    assert "units.csv: 251 added" in imported.stdout
