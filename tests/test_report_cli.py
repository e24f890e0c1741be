"""``flask report build`` and ``flask report issue`` (FORMATS.md)."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.reports.models import IssuedReport


@pytest.mark.parametrize(
    ("fmt", "suffix", "magic"),
    [("pdf", "pdf", b"%PDF-"), ("docx", "docx", b"PK"), ("html", "html", b"<!doctype html>")],
)
def test_build_writes_each_format(demo_app, tmp_path, fmt, suffix, magic):
    output = tmp_path / f"report.{suffix}"
    result = demo_app.test_cli_runner().invoke(
        args=[
            "report",
            "build",
            "--month",
            "2023-09",
            "--date",
            "2023-09-29",
            "--format",
            fmt,
            "--output",
            str(output),
        ]
    )
    assert result.exit_code == 0, result.output
    data = output.read_bytes()
    assert data.startswith(magic)
    if fmt == "html":
        text = data.decode("utf-8")
        assert "Hải Phòng, ngày 29 tháng 9 năm 2023" in text and "88.904" in text
        assert "<link" not in text and "<style>" in text  # standalone: styles inline


def test_build_format_from_the_extension_and_today_by_default(demo_app, tmp_path):
    from helpdesk.reports.text import long_date
    from helpdesk.timeutil import today_local

    output = tmp_path / "r.html"
    result = demo_app.test_cli_runner().invoke(
        args=["report", "build", "--month", "2023-09", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert long_date("Hải Phòng", today_local()) in output.read_text(encoding="utf-8")


def test_build_without_statistics_exits_1(demo_app, tmp_path):
    output = tmp_path / "none.pdf"
    result = demo_app.test_cli_runner().invoke(
        args=["report", "build", "--month", "2023-07", "--output", str(output)]
    )
    assert result.exit_code == 1
    assert "Tháng 7/2023 chưa có số liệu thống kê." in result.output
    assert not output.exists()


@pytest.mark.parametrize("args", [["--month", "2023-9"], ["--month", "2023-09", "--date", "29/9"]])
def test_build_rejects_bad_arguments(demo_app, tmp_path, args):
    result = demo_app.test_cli_runner().invoke(
        args=["report", "build", *args, "--output", str(tmp_path / "x.pdf")]
    )
    assert result.exit_code == 2
    assert "expected" in result.output


def test_issue_from_the_command_line(demo_app, tmp_path):
    output = tmp_path / "issued.pdf"
    runner = demo_app.test_cli_runner()
    result = runner.invoke(
        args=[
            "report",
            "issue",
            "--month",
            "2023-09",
            "--user",
            "thang.vd",
            "--output",
            str(output),
        ]
    )
    assert result.exit_code == 0, result.output
    issued = db.session.scalar(select(IssuedReport))
    assert output.read_bytes() == issued.pdf
    assert hashlib.sha256(issued.pdf).hexdigest() in result.output
    again = runner.invoke(args=["report", "issue", "--month", "2023-09"])
    assert again.exit_code == 1 and "đã được phát hành" in again.output


def test_the_command_in_its_own_process_draws_its_charts_aside(demo_app, tmp_path):
    """`flask report build` as a user runs it: a new process, which draws the charts in a
    forked process beside WeasyPrint's import and layout (render.draw_charts_aside) and ends
    without the interpreter's teardown (cli.end_command_process). Its PDF reads the same as one
    rendered in one process, charts included, and no process of it is left behind."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import pdfplumber

    from helpdesk.reports.render import render_pdf
    from helpdesk.reports.services import build_document, figures_of

    root = Path(__file__).resolve().parent.parent
    output = tmp_path / "report.pdf"
    env = {
        **os.environ,
        "DATABASE_URL": demo_app.config["SQLALCHEMY_DATABASE_URI"],
        "HELPDESK_DEMO": "1",
    }
    args = ["report", "build", "--month", "2023-09", "--date", "2023-09-29", "--output"]
    command = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", *args, str(output)],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the chart process would be in it
    )
    out, err = command.communicate(timeout=240)
    assert command.returncode == 0, err
    assert out.startswith(f"wrote {output} (pdf, "), out  # flushed before the quick exit
    import time

    for _ in range(50):  # the chart process ended with the command (give it a moment)
        try:
            os.killpg(command.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("a process of the command was left behind")
    here = tmp_path / "here.pdf"
    from datetime import date

    doc = build_document("2023-09", date(2023, 9, 29), figures_of("2023-09"))
    here.write_bytes(render_pdf(doc))

    def pages(path):
        with pdfplumber.open(path) as pdf:
            return [page.extract_text() for page in pdf.pages]

    aside = pages(output)
    assert aside == pages(here)
    # The charts' legend (matplotlib's SVG text; pdfplumber reads it without its spaces) is
    # in it: they were drawn aside and fetched.
    assert any("Hồsơtrựctuyến" in page for page in aside)
