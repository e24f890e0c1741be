"""Bad input over every form: never a 500, and a refused form writes nothing.

The admin forms and the sign-in form get field-by-field strategies (random Unicode, control
characters, huge numbers, formulas); every other POST form found by crawling the app as each
role gets random values in each of its fields. Query strings of the search and filter pages too.
"""

from __future__ import annotations

import re
from collections import deque
from html import unescape
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.auth.models import User
from helpdesk.extensions import db

from .conftest import login

SLOW_OK = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

nasty = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60),
    st.text(alphabet=st.sampled_from("\x00\x01\x08\x0b\x1b\x7f\u200b\u202e\ufeffĐ ="), max_size=9),
    st.sampled_from(
        ['=HYPERLINK("http://evil.example","x")', "+1", "@SUM(A1)", "<script>alert(1)</script>",
         "' OR 1=1 --", "../../etc/passwd", "%00", "x" * 5000]
    ),
)  # fmt: skip
number = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.sampled_from(["", "1e400", "NaN", "3.5", "٣", "0x10", " 7 ", "-0"]),
)
value = st.one_of(nasty, number)


def contents(skip_columns: dict[str, set[str]] | None = None) -> dict[str, list]:
    skip_columns = skip_columns or {}
    with db.engine.connect() as conn:
        result = {}
        for table in db.metadata.sorted_tables:
            cols = [c for c in table.columns if c.name not in skip_columns.get(table.name, ())]
            result[table.name] = sorted(repr(tuple(r)) for r in conn.execute(sa.select(*cols)))
        return result


@pytest.fixture
def admin_client(app, make_user):
    make_user("operator", username="nhan.vien")
    admin = make_user("admin", username="quan.tri")
    client = app.test_client()
    assert login(client, admin.username).status_code == 302
    return client


def _target_id() -> int:
    return db.session.scalar(sa.select(User.id).where(User.username == "nhan.vien"))


FORMS = {
    "user_create": (
        lambda: "/quan-tri/nguoi-dung",
        {"username": value, "full_name": value, "role": value, "password": value},
    ),
    "user_edit": (
        lambda: f"/quan-tri/nguoi-dung/{_target_id()}",
        {"full_name": value, "role": st.one_of(st.sampled_from(["operator", "admin"]), value)},
    ),
    "user_reset": (
        lambda: f"/quan-tri/nguoi-dung/{_target_id()}/mat-khau",
        {"reset-password": value},
    ),
    "category": (
        lambda: "/quan-tri/nhom-yeu-cau/moi",
        {
            "code": st.one_of(st.from_regex(r"\A[a-z0-9_]{2,10}\Z"), value),
            "audience": st.one_of(st.sampled_from(["citizen", "agency"]), value),
            "label": value,
            "report_phrase": value,
            "due_days": number,
            "position": number,
            "active": st.sampled_from(["y", "", "no", "\x00"]),
        },
    ),
    "organisation": (
        lambda: "/quan-tri/to-chuc",
        {
            key: value
            for key in (
                "parent_agency",
                "agency",
                "agency_name",
                "document_symbol",
                "place",
                "recipient",
                "system_name",
                "signer_title",
                "signer_name",
                "distribution",
            )
        },  # fmt: skip
    ),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_admin_forms_never_fail_and_refusals_write_nothing(admin_client, form):
    url_of, fields = FORMS[form]

    @SLOW_OK
    @given(data=st.fixed_dictionaries(fields))
    def check(data):
        before = contents()
        response = admin_client.post(url_of(), data=data)
        assert response.status_code < 500, response.get_data(as_text=True)[-800:]
        if response.status_code != 302:
            assert contents() == before, "a refused form changed the database"
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)

    check()


# A failed sign-in counts the failure; nothing else may change.
SIGN_IN_COUNTERS = {"users": {"failed_logins", "locked_until"}, "audit_log": {"id", "at"}}


def test_sign_in_form_never_fails(app, make_user):
    make_user("operator", username="nhan.vien")
    client = app.test_client()

    @settings(SLOW_OK, max_examples=30)  # each attempt spends an argon2 verification
    @given(username=value, password=value, remember=st.sampled_from(["y", "", "\x00"]))
    def check(username, password, remember):
        before = contents(SIGN_IN_COUNTERS)
        response = client.post(
            "/dang-nhap", data={"username": username, "password": password, "remember": remember}
        )
        assert response.status_code in (200, 400, 429), response.status_code
        assert contents(SIGN_IN_COUNTERS) == before

    check()


@pytest.mark.parametrize(
    "path, names",
    [
        ("/don-vi/", ("q",)),
        ("/don-vi/tim", ("q",)),
        ("/quan-tri/nhat-ky", ("action", "entity", "user", "from", "to", "page")),
    ],
)
def test_search_and_filter_parameters_never_fail(admin_client, path, names):
    @SLOW_OK
    @given(params=st.fixed_dictionaries({n: value for n in names}))
    def check(params):
        response = admin_client.get(path, query_string=params)
        assert response.status_code < 500, (params, response.status_code)

    check()


# -- every other form of the app, found by crawling it ------------------------------------------

FORM_RE = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
ATTR_RE = re.compile(r'([a-zA-Z_:-]+)="([^"]*)"')
FIELD_RE = re.compile(r"<(input|select|textarea)\b([^>]*)>", re.I)
SKIP_ACTIONS = ("/dang-xuat", "/dang-nhap")  # signing out or in is not a form to fuzz


def _forms(html: str, page: str) -> list[tuple[str, str, list[str]]]:
    """(method, action, field names) of every form of a page."""
    found = []
    for attrs, body in FORM_RE.findall(html):
        attr = dict(ATTR_RE.findall(attrs))
        method = attr.get("method", "get").lower()
        action = urljoin(page, unescape(attr.get("action") or page))
        names = []
        for _tag, field_attrs in FIELD_RE.findall(body):
            fa = dict(ATTR_RE.findall(field_attrs))
            if fa.get("name") and fa.get("name") != "csrf_token" and fa.get("type") != "file":
                names.append(fa["name"])
        found.append((method, urlsplit(action).path, sorted(set(names))))
    return found


def _endpoint(app, path: str, method: str) -> str:
    try:
        return app.url_map.bind("localhost").match(path, method=method.upper())[0]
    except Exception:  # a form pointing nowhere is fuzzed under its own path
        return path


def _crawl_forms(client, limit: int = 80) -> dict[tuple[str, str], list[str]]:
    """One form per (method, endpoint): the ticket pages' forms are the same for every ticket."""
    queue, seen, endpoints = deque(["/"]), {"/"}, {}
    for rule in client.application.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static":
            queue.append(rule.rule)
            seen.add(rule.rule)
    pages = 0
    while queue and pages < limit:
        url = queue.popleft()
        with client.get(url) as response:
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            html = response.get_data(as_text=True)
        pages += 1
        for method, action, names in _forms(html, url):
            if names and not action.endswith(SKIP_ACTIONS):
                endpoint = _endpoint(client.application, action, method)
                endpoints.setdefault((method, endpoint), (action, names))
        for link in re.findall(r'href="([^"#]+)"', html):
            target = urljoin(url, unescape(link))
            parts = urlsplit(target)
            if not parts.netloc and not parts.path.startswith("/static/") and target not in seen:
                seen.add(target)
                queue.append(target)
    return {(method, action): names for (method, _e), (action, names) in endpoints.items()}


def _fuzz_form(client, method: str, action: str, names: list[str]) -> None:
    @settings(SLOW_OK, max_examples=8)
    @given(data=st.fixed_dictionaries({n: value for n in names}))
    def check(data):
        if method == "post":
            response = client.post(action, data=data)
        else:
            response = client.get(action, query_string=data)
        assert response.status_code < 500, (method, action, data, response.status_code)

    check()


@pytest.mark.parametrize("role", ["operator", "admin"])  # admin sees every form; operator its own
def test_every_form_found_by_crawling_never_fails(demo_app, make_user, role):
    client = demo_app.test_client()
    user = make_user(role)
    assert login(client, user.username).status_code == 302
    forms = _crawl_forms(client)
    if role == "admin":
        assert ("post", "/quan-tri/to-chuc") in forms and ("get", "/quan-tri/nhat-ky") in forms
    for (method, action), names in sorted(forms.items()):
        _fuzz_form(client, method, action, names)
        # Still signed in: no form signed the user out on the way.
        assert client.get("/don-vi/").status_code == 200, action
