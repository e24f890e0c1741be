"""One transaction per request: the request is the boundary, as in Indico.

Views and services only change the session (and flush when they need ids or constraint
checks). When the view returns, the request's work is committed in one place, here, if the
answer is a success (below 400); any error answer, and any exception, rolls it back. So a
refused form, a stale version, a 403 or a 500 never leaves half a change behind, and a view
can never forget to commit.

Two ways out of the default, both explicit:

- ``rollback_request()`` throws away what the request changed so far and keeps it from being
  committed, for a view that answers a refusal with a redirect (a 302 would otherwise commit);
- ``commit_on_error()`` keeps the work even though the answer is an error, for a refusal that
  must itself be recorded (a failed sign-in counted, a token's use refused and logged).

Command-line commands are their own boundary and commit themselves.
"""

from __future__ import annotations

from flask import Flask, g

from .extensions import db

_ROLLBACK = "_transaction_rollback"
_KEEP = "_transaction_keep_on_error"


def rollback_request() -> None:
    """Undo the request's changes now and commit nothing at its end."""
    db.session.rollback()
    setattr(g, _ROLLBACK, True)


def commit_on_error() -> None:
    """Commit the request's work even if its answer is an error status."""
    setattr(g, _KEEP, True)


def begin_for_savepoint() -> None:
    """Make sure a real transaction is open before a SAVEPOINT (``begin_nested``).

    pysqlite opens a transaction only before a write; a SAVEPOINT issued first would open one
    of its own, which its RELEASE would commit, outside the request's transaction."""
    connection = db.session.connection()
    raw = connection.connection.dbapi_connection
    if type(raw).__module__.startswith("sqlite3") and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN")


def finish(status_code: int) -> None:
    """Commit or roll back the request's work, by its answer's status."""
    rollback = g.pop(_ROLLBACK, False)
    keep = g.pop(_KEEP, False)
    if rollback or (status_code >= 400 and not keep):
        db.session.rollback()
    else:
        db.session.commit()


def register_transaction(app: Flask) -> None:
    """Commit each successful request's work once, after the view, before the answer leaves."""

    @app.after_request
    def _commit_request(response):
        # An exception here (a constraint failing at commit) becomes the 500 page, whose
        # handler rolls back: the answer never claims a change that was not stored.
        finish(response.status_code)
        return response

    @app.teardown_request
    def _rollback_unfinished(exc):
        # An exception skipped after_request: nothing of this request may stay pending.
        if exc is not None:
            db.session.rollback()
