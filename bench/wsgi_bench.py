"""The app as gunicorn serves it in production, plus one benchmark hook: every response carries
the number of SQL statements its request ran (``X-Bench-Queries``). Nothing else changes.

    gunicorn --chdir bench wsgi_bench:app
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event  # noqa: E402

from helpdesk import create_app  # noqa: E402
from helpdesk.extensions import db  # noqa: E402

app = create_app()
_count = [0]


def _on_execute(*_args) -> None:
    _count[0] += 1


with app.app_context():
    event.listen(db.engine, "before_cursor_execute", _on_execute)

_inner = app.wsgi_app


def _counted(environ, start_response):
    _count[0] = 0

    def counting_start_response(status, headers, exc_info=None):
        headers.append(("X-Bench-Queries", str(_count[0])))
        return start_response(status, headers, exc_info)

    return _inner(environ, counting_start_response)


app.wsgi_app = _counted
