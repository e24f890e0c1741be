"""The list filter (the URL contract shared with the dashboard), search, sorting, paging.

Every filter is checked against a plain-Python reading of the fixture's 419 tickets.
"""

from datetime import date, datetime

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from helpdesk.auth.models import User
from helpdesk.extensions import db
from helpdesk.tickets.models import Category, Ticket
from helpdesk.tickets.queries import (
    TicketFilter,
    count_capped,
    filtered_tickets,
    sorted_tickets,
    ticket_page,
)
from helpdesk.units.models import Unit

TODAY = date(2023, 9, 20)


def _all() -> list[Ticket]:
    tickets = list(db.session.scalars(select(Ticket)).unique())
    assert len(tickets) == 419
    return tickets


def _ids(params) -> set[int]:
    return {t.id for t in db.session.scalars(filtered_tickets(params, today=TODAY)).unique()}


def _unit(name, level="district") -> Unit:
    return db.session.scalar(select(Unit).where(Unit.name == name, Unit.level == level))


def _user(username) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _check(params, predicate):
    expected = {t.id for t in _all() if predicate(t)}
    assert expected, "the fixture should hold matching tickets"
    assert _ids(params) == expected
    return expected


def test_no_filter_is_everything(demo_app):
    assert len(_ids({})) == 419


def test_month(demo_app):
    got = _check({"month": "2023-09"}, lambda t: t.opened_at.strftime("%Y-%m") == "2023-09")
    assert len(got) == 220


def test_from_to_inclusive(demo_app):
    _check(
        {"from": "2023-09-05", "to": "2023-09-06"},
        lambda t: date(2023, 9, 5) <= t.opened_at.date() <= date(2023, 9, 6),
    )


def test_status_repeatable(demo_app):
    args = MultiDict([("status", "open"), ("status", "forwarded")])
    _check(args, lambda t: t.status in ("open", "forwarded"))


def test_audience_and_category(demo_app):
    _check({"audience": "agency"}, lambda t: t.audience == "agency")
    _check({"category": "late_dossier"}, lambda t: t.category.code == "late_dossier")


def test_unit_exactly(demo_app):
    unit_id = next(t.unit_id for t in _all() if t.unit_id)
    _check({"unit": str(unit_id)}, lambda t: t.unit_id == unit_id)


def test_district_includes_its_communes(demo_app):
    district = _unit("Thủy Nguyên")
    got = _check(
        {"district": str(district.id)},
        lambda t: t.unit is not None and district.id in (t.unit.id, t.unit.parent_id),
    )
    assert any(db.session.get(Ticket, i).unit.level == "commune" for i in got)


@pytest.mark.parametrize("level", ["department", "district", "commune"])
def test_level(demo_app, level):
    _check({"level": level}, lambda t: t.unit is not None and t.unit.level == level)


def test_channel_operator_assignee(demo_app):
    _check({"channel": "zalo"}, lambda t: t.channel == "zalo")
    linh = _user("linh.dm")
    _check({"operator": str(linh.id)}, lambda t: t.operator_id == linh.id)
    _check({"assignee": str(linh.id)}, lambda t: t.assignee_id == linh.id)


def test_overdue(demo_app):
    _check(
        {"overdue": "1"},
        lambda t: t.due_date < TODAY and t.status in ("open", "in_progress", "forwarded"),
    )


def test_same_day(demo_app):
    _check(
        {"same_day": "1"},
        lambda t: t.resolved_at is not None and t.resolved_at.date() == t.opened_at.date(),
    )


def test_filters_combine(demo_app):
    district = _unit("Thủy Nguyên")
    args = MultiDict(
        [
            ("month", "2023-09"),
            ("status", "closed"),
            ("status", "resolved"),
            ("audience", "citizen"),
            ("district", str(district.id)),
        ]
    )
    _check(
        args,
        lambda t: (
            t.opened_month == "2023-09"
            and t.status in ("closed", "resolved")
            and t.audience == "citizen"
            and t.unit is not None
            and district.id in (t.unit.id, t.unit.parent_id)
        ),
    )


def test_invalid_values_are_dropped_and_explained(demo_app):
    flt = TicketFilter.from_args(
        MultiDict(
            [
                ("month", "2023-13"),
                ("status", "lost"),
                ("status", "open"),
                ("unit", "abc"),
                ("level", "city"),
                ("from", "31/12/2023"),
                ("sort", "password"),
                ("page", "-3"),
            ]
        )
    )
    assert flt.month is None and flt.statuses == ("open",) and flt.unit is None
    assert flt.level is None and flt.date_from is None and flt.sort == "-opened_at"
    assert flt.page == 1
    assert len(flt.problems) == 7
    assert _ids(flt) == {t.id for t in _all() if t.status == "open"}


def test_filter_round_trips_through_the_url(demo_app):
    args = MultiDict(
        [
            ("month", "2023-09"),
            ("status", "open"),
            ("status", "in_progress"),
            ("overdue", "1"),
            ("q", "hồ sơ"),
            ("sort", "due_date"),
            ("page", "2"),
        ]
    )
    flt = TicketFilter.from_args(args)
    assert TicketFilter.from_args(flt.to_args()) == flt
    assert flt.to_args(page=1) == {
        "month": "2023-09",
        "status": ["open", "in_progress"],
        "overdue": "1",
        "q": "hồ sơ",
        "sort": "due_date",
    }
    assert flt.to_args()["page"] == 2


# -- search -------------------------------------------------------------------------------------


def _search(q) -> set[int]:
    return _ids({"q": q})


def _by_ref(ref) -> Ticket:
    return db.session.scalar(select(Ticket).where(Ticket.ref == ref))


def test_search_by_reference_exact_and_prefix(demo_app):
    ticket = _by_ref("HT-2308-0002")
    assert _search("HT-2308-0002") == {ticket.id}
    assert _search("ht-2308-0002") == {ticket.id}
    assert len(_search("HT-2308")) == 199


@pytest.mark.parametrize("q", ["0962820561", "0962 820 561", "+84 962 820 561", "0962.820.561"])
def test_search_by_phone_any_format(demo_app, q):
    assert _search(q) == {_by_ref("HT-2308-0002").id}


def test_search_by_phone_prefix(demo_app):
    _check({"q": "0962"}, lambda t: (t.requester_phone or "").startswith("0962"))


def test_search_by_dossier_code_exact_prefix_and_case(demo_app):
    ticket = _by_ref("HT-2308-0002")
    assert _search("000.50.36.H26-230801-0285") == {ticket.id}
    assert _search("000.50.36.h26-230801-0285") == {ticket.id}
    _check({"q": "000.50.36"}, lambda t: (t.dossier_code or "").startswith("000.50.36"))


def test_search_by_name_words_without_accents(demo_app):
    ticket = _by_ref("HT-2308-0002")
    assert ticket.id in _search("dinh quang long")
    assert ticket.id in _search("Đinh Quang Long")
    assert ticket.id in _search("LONG dinh")
    assert _search("long dinh quang") == _search("Đinh Quang Long")


def test_search_by_summary_words(demo_app):
    _check({"q": "kích hoạt"}, lambda t: "kích hoạt" in t.summary.lower())


def test_search_with_nothing_found_and_wildcards(demo_app):
    assert _search("không có ai tên này") == set()
    assert _search("%") == set()
    assert _search("_") == set()


# -- sort and pages -----------------------------------------------------------------------------


def test_sorts(demo_app):
    refs = [t.ref for t in db.session.scalars(sorted_tickets(filtered_tickets({}), "ref"))]
    assert refs == sorted(refs)
    newest = list(db.session.scalars(sorted_tickets(filtered_tickets({}), "-opened_at")))
    assert [t.opened_at for t in newest] == sorted((t.opened_at for t in newest), reverse=True)
    by_due = list(db.session.scalars(sorted_tickets(filtered_tickets({}), "due_date")))
    assert [t.due_date for t in by_due] == sorted(t.due_date for t in by_due)


def test_pages_follow_the_sort(demo_app):
    everything = [
        t.id for t in db.session.scalars(sorted_tickets(filtered_tickets({}), "-opened_at"))
    ]
    first = ticket_page(TicketFilter.from_args({}), per_page=50)
    third = ticket_page(TicketFilter.from_args({"page": "3"}), per_page=50)
    assert [t.id for t in first.items] == everything[:50]
    assert [t.id for t in third.items] == everything[100:150]
    assert first.total == third.total == 419 and first.pages == 9
    assert first.has_next and not first.has_prev and third.has_prev
    last = ticket_page(TicketFilter.from_args({"page": "9"}), per_page=50)
    assert len(last.items) == 19 and not last.has_next and (last.first, last.last) == (401, 419)


def test_small_result_needs_no_count_and_huge_counts_stop_at_the_cap(demo_app):
    page = ticket_page(TicketFilter.from_args({"q": "HT-2308-0002"}))
    assert page.total == 1 and not page.capped
    assert count_capped(filtered_tickets({}), cap=100) == 101


def test_paging_stops_at_the_cap_instead_of_offsetting_forever(demo_app, monkeypatch):
    import helpdesk.tickets.queries as queries

    monkeypatch.setattr(queries, "COUNT_CAP", 100)
    page = ticket_page(TicketFilter.from_args({"page": "7"}), per_page=50)
    assert page.page == 2 and len(page.items) == 50 and not page.has_next
    assert page.capped and page.total == 100 and page.pages is None


def test_category_filter_by_unknown_code_matches_nothing(demo_app):
    assert _ids({"category": "nope"}) == set()
    assert db.session.scalar(select(Category).where(Category.code == "nope")) is None


def test_date_filters_use_local_midnight(demo_app):
    last = max(t.opened_at for t in _all())
    got = _ids({"from": last.date().isoformat(), "to": last.date().isoformat()})
    assert {db.session.get(Ticket, i).opened_at.date() for i in got} == {last.date()}
    assert datetime.combine(last.date(), datetime.min.time()) <= last
