"""Word search through the index (helpdesk/tickets/fulltext.py, migration 0004).

Whole-word semantics checked against a plain-Python reading of the fixture, on both paths the
SQLite search can take (through the FTS index, or in list order when a result is large); the
index follows inserts, edits, deletions and the retention's bulk UPDATE; bounded queries.
"""

import re
from datetime import datetime

import pytest
from sqlalchemy import delete, select, text

from helpdesk.extensions import db
from helpdesk.retention import apply_retention
from helpdesk.tickets import fulltext, queries
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.queries import TicketFilter, filtered_tickets, ticket_page

from .conftest import login

QUERIES = [
    "dinh quang long",
    "Đinh Quang Long",
    "hồ sơ",
    "kích hoạt",
    "Tra cứu trạng thái",
    "an",
    "ha",
    "thi",
    "nguyen thi",
    "trang",
]


def _ids(q: str) -> set[int]:
    return {t.id for t in db.session.scalars(filtered_tickets({"q": q})).unique()}


def _expected(q: str) -> set[int]:
    words = set(fulltext.words_of(q))
    tickets = db.session.scalars(select(Ticket)).unique()
    return {t.id for t in tickets if words <= set(re.findall(r"[0-9a-z]+", t.search_text))}


def _dialect() -> str:
    return db.engine.dialect.name


@pytest.mark.parametrize("q", QUERIES)
def test_words_match_whole_words_of_name_and_summary(demo_app, q):
    expected = _expected(q)
    assert _ids(q) == expected


def test_short_words_are_not_substrings(demo_app):
    # "an" is a word of "Nguyễn Văn An" but only letters of "Lan", "Thanh", "Quân"...
    found = db.session.scalars(filtered_tickets({"q": "an"})).unique()
    for ticket in found:
        assert "an" in re.findall(r"[0-9a-z]+", ticket.search_text)
    substring_only = [
        t
        for t in db.session.scalars(select(Ticket)).unique()
        if "an" in t.search_text and "an" not in re.findall(r"[0-9a-z]+", t.search_text)
    ]
    assert substring_only, "the fixture should hold names with 'an' inside a word"
    assert not {t.id for t in substring_only} & _ids("an")


def test_large_results_take_the_list_order_path_with_the_same_answer(demo_app, monkeypatch):
    # With a tiny cap, every common word is "large": SQLite reads it in list order with a GLOB
    # per row instead of through the index. The answer must not change.
    expected = {q: _expected(q) for q in QUERIES}
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    for q in QUERIES:
        assert _ids(q) == expected[q], q
    if _dialect() == "sqlite":
        search = fulltext.word_search(["ho", "so"], 3)
        assert search.matches == 4  # counted up to the cap + 1
        assert "GLOB" in str(search.condition)


def test_page_of_a_word_search_is_sorted_and_counted(demo_app):
    """Sorted newest first. Counted on SQLite (the FTS index counts cheaply); on PostgreSQL a
    result larger than its page is not counted (a count would read every match's postings) and
    pages on by has_next; a result that fits on its page is counted on both."""
    expected = _expected("hồ sơ")
    assert len(expected) > 20
    page = ticket_page(TicketFilter.from_args({"q": "hồ sơ"}), per_page=10)
    if _dialect() == "postgresql":
        assert page.total is None and page.pages is None and not page.capped
    else:
        assert page.total == len(expected) and page.pages == -(-len(expected) // 10)
    assert page.has_next
    newest = sorted(
        (db.session.get(Ticket, i) for i in expected), key=lambda t: (t.opened_at, t.id)
    )[::-1]
    assert [t.id for t in page.items] == [t.id for t in newest[:10]]
    second = ticket_page(TicketFilter.from_args({"q": "hồ sơ", "page": "2"}), per_page=10)
    assert [t.id for t in second.items] == [t.id for t in newest[10:20]]
    closed = [i for i in expected if db.session.get(Ticket, i).status == "closed"]
    with_status = ticket_page(
        TicketFilter.from_args({"q": "hồ sơ", "status": "closed"}), per_page=len(closed)
    )
    assert with_status.total == len(closed) and not with_status.has_next


def test_list_says_how_many_a_word_search_found(demo_client):
    assert login(demo_client, "thang.vd", "Thang-Demo-2023").status_code == 302
    body = demo_client.get("/yeu-cau/?q=h%E1%BB%93+s%C6%A1&per_page=10").get_data(as_text=True)
    many = len(_expected("hồ sơ"))
    if _dialect() == "postgresql":
        assert "1–10 trong nhiều yêu cầu" in body
    else:
        assert f"1–10 trong {many} yêu cầu" in body
    assert 'rel="next"' in body


def test_nothing_to_search_for_finds_nothing(demo_app):
    assert fulltext.words_of("%_ -- !!") == []
    assert _ids("%_ -- !!") == set()
    assert _ids("không có ai tên này") == set()


def test_index_follows_inserts_edits_and_deletions(demo_app):
    ticket = db.session.scalar(select(Ticket).order_by(Ticket.id).limit(1))
    ticket.requester_name = "Quách Thị Zượng"
    db.session.flush()
    assert _ids("zuong quach") == {ticket.id}
    ticket.requester_name = "Lò Văn Xèng"
    db.session.flush()
    assert _ids("zuong") == set()
    assert _ids("xeng") == {ticket.id}
    db.session.execute(delete(Ticket).where(Ticket.id == ticket.id))
    db.session.flush()
    assert _ids("xeng") == set()
    _assert_index_consistent()


def test_retention_bulk_update_leaves_the_index_consistent(demo_app):
    before = _ids("dinh quang long")
    assert before
    apply_retention(datetime(2030, 1, 1))
    db.session.flush()
    assert _ids("dinh quang long") == set()
    _assert_index_consistent()


def _assert_index_consistent() -> None:
    if _dialect() == "sqlite":
        # FTS5 compares its index with the content table and raises if they differ.
        db.session.execute(text("INSERT INTO tickets_fts(tickets_fts) VALUES ('integrity-check')"))


def test_word_search_list_runs_a_bounded_number_of_queries(demo_client, count_queries, monkeypatch):
    assert login(demo_client, "thang.vd", "Thang-Demo-2023").status_code == 302
    for cap in (10_000, 3):  # through the index, then in list order
        monkeypatch.setattr(queries, "COUNT_CAP", cap)
        db.session.expunge_all()
        with count_queries() as counter:
            response = demo_client.get("/yeu-cau/?q=h%E1%BB%93+s%C6%A1&per_page=10")
        assert response.status_code == 200
        assert counter.count <= 9, counter.statements


def test_list_page_of_a_month_is_the_month(demo_app):
    # The page reads the month as an opened_at range (the dashboard keeps the month column).
    params = {"month": "2023-09", "status": "closed"}
    expected = sorted(
        db.session.scalars(filtered_tickets(params)).unique(),
        key=lambda t: (t.opened_at, t.id),
        reverse=True,
    )
    assert expected and all(t.opened_at.strftime("%Y-%m") == "2023-09" for t in expected)
    page = ticket_page(TicketFilter.from_args(params), per_page=500)
    assert [t.id for t in page.items] == [t.id for t in expected]
    assert page.total == len(expected)
    with_words = ticket_page(TicketFilter.from_args({**params, "q": "hồ sơ"}), per_page=500)
    assert {t.id for t in with_words.items} == {t.id for t in expected} & _expected("hồ sơ")
