"""``flask --app app report ...``."""

from flask.cli import AppGroup

report_cli = AppGroup("report", help="Build and issue monthly reports.")
