"""One transaction per request (helpdesk.transaction).

The code holds no commit or rollback outside the few places that own a boundary (read from
its syntax tree), and the boundary does what it says on a real database: a success keeps the
request's work, an error status, a refusal answered with a redirect or an exception after a
flush keeps none of it, and a refusal that must be recorded is.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask import redirect
from sqlalchemy import func, select

from helpdesk.access import public
from helpdesk.auth.models import User
from helpdesk.extensions import db
from helpdesk.tickets.models import Category
from helpdesk.transaction import commit_on_error, rollback_request

PACKAGE = Path(__file__).resolve().parent.parent / "helpdesk"

# Who may commit or roll back the session, and why.
OWNERS = {
    "transaction.py": None,  # the request's boundary itself
    "cli.py": None,  # command-line commands are their own boundary
    "api/cli.py": None,
    "reports/cli.py": None,
    "mail/cli.py": None,
    "tickets/cli.py": None,
    "backup.py": None,  # `flask backup`/`restore`
    "retention.py": None,  # `flask purge`
    # The failure counter is committed at once, alone, before the slow password check, so
    # concurrent attempts cannot outrun the lockout (documented at the function).
    "auth/services.py": {"reserve_attempt"},
    # Error pages roll back what a failed request left (a 500, a value the database refused).
    "__init__.py": {"bad_value", "server_error"},
}


def _session_calls(tree: ast.AST):
    """(enclosing function, line, method) of each ``<...>.session.commit()``/``rollback()``."""
    found = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            name = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = child.name
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr in ("commit", "rollback")
                and "session" in ast.unparse(child.func.value)
            ):
                found.append((function, child.lineno, child.func.attr))
            visit(child, name)

    visit(tree, None)
    return found


def test_no_commit_or_rollback_outside_the_boundaries():
    stray = []
    owned = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        for function, line, method in _session_calls(ast.parse(path.read_text("utf-8"))):
            allowed = OWNERS.get(relative, ())
            if allowed is None or (allowed and function in allowed):
                owned += 1
                continue
            stray.append(f"helpdesk/{relative}:{line} {function}() calls session.{method}()")
    assert not stray, "commit/rollback outside a boundary:\n" + "\n".join(stray)
    assert owned >= 8  # the walk does see the owners' calls (the check can fail)


def test_the_walk_finds_a_commit_in_a_view():
    source = "def view():\n    db.session.add(x)\n    db.session.commit()\n"
    assert _session_calls(ast.parse(source)) == [("view", 3, "commit")]


@pytest.fixture
def probe_app(app_factory):
    """A fresh app with routes that change the database and then answer in various ways."""
    app = app_factory()

    def _add(code: str) -> None:
        db.session.add(
            Category(code=code, audience="citizen", label=code, report_phrase=code, position=99)
        )
        db.session.flush()  # the row is in the database's transaction from here

    @public
    def ok(code):
        _add(code)
        return "ok"

    @public
    def refused(code):
        _add(code)
        return "refused", 422

    @public
    def refused_redirect(code):
        _add(code)
        rollback_request()
        return redirect("/")

    @public
    def crashes(code):
        _add(code)
        raise RuntimeError("after the flush")

    @public
    def recorded_refusal(code):
        _add(code)
        commit_on_error()
        return "recorded", 403

    for view in (ok, refused, refused_redirect, crashes, recorded_refusal):
        app.add_url_rule(f"/_probe/{view.__name__}/<code>", view.__name__, view, methods=["POST"])
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def _stored(app, code: str) -> bool:
    with app.app_context():
        query = select(func.count()).select_from(Category).where(Category.code == code)
        return db.session.scalar(query) == 1


@pytest.mark.parametrize(
    ("view", "status", "kept"),
    [
        ("ok", 200, True),
        ("refused", 422, False),
        ("refused_redirect", 302, False),
        ("crashes", 500, False),
        ("recorded_refusal", 403, True),
    ],
)
def test_the_request_is_the_boundary(probe_app, view, status, kept):
    code = f"probe-{view}"
    answer = probe_app.test_client().post(f"/_probe/{view}/{code}")
    assert answer.status_code == status
    assert _stored(probe_app, code) is kept


def test_a_failed_sign_in_is_counted_though_the_answer_is_a_refusal(app, make_user):
    make_user("operator", username="sai.mk")
    client = app.test_client()
    answer = client.post("/dang-nhap", data={"username": "sai.mk", "password": "not it"})
    assert answer.status_code == 200  # the form again, with the message
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "sai.mk"))
        assert user.failed_logins == 1
