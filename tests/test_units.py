import pytest

from helpdesk.extensions import db
from helpdesk.textutil import fold
from helpdesk.units.models import Unit
from helpdesk.units.services import AmbiguousUnit, is_referenced, match_unit_name, search_units


def test_fold_ignores_case_diacritics_and_tone_placement():
    assert fold("Thủy Nguyên") == fold("Thuỷ Nguyên") == "thuy nguyen"
    assert fold("Hòa Bình") == fold("Hoà Bình") == fold("HOA BINH") == "hoa binh"
    assert fold("Đồ Sơn") == "do son"


def test_search_le_chan_finds_the_district_first(demo_app):
    results = search_units("le chan")
    assert results[0].full_name == "quận Lê Chân"


def test_search_thuy_nguyen_finds_the_district(demo_app):
    results = search_units("thuy nguyen")
    assert results[0].full_name == "huyện Thủy Nguyên"
    assert results[0].level == "district"


def test_search_hoa_binh_finds_both_communes_with_their_districts(demo_app):
    results = search_units("hoa binh")
    displays = [u.display for u in results if u.name == "Hòa Bình"]
    assert sorted(displays) == ["xã Hòa Bình (huyện Thủy Nguyên)", "xã Hòa Bình (huyện Vĩnh Bảo)"]


def test_search_with_tone_placement_variant(demo_app):
    assert [u.full_name for u in search_units("Thuỷ Nguyên")][0] == "huyện Thủy Nguyên"


def test_search_by_code(demo_app):
    unit = db.session.scalar(db.select(Unit).where(Unit.name == "Lê Chân"))
    assert search_units(unit.code)[0].id == unit.id


def test_search_ignores_like_wildcards(demo_app):
    assert search_units("%") == []
    assert search_units("_") == []


def test_inactive_units_hidden_from_search_but_kept(demo_app):
    unit = search_units("le chan")[0]
    unit.active = False
    db.session.commit()
    assert unit not in search_units("le chan")
    assert unit in search_units("le chan", include_inactive=True)


def test_ambiguous_name_names_the_candidates(demo_app):
    with pytest.raises(AmbiguousUnit) as info:
        match_unit_name("xã Minh Tân")
    assert len(info.value.candidates) == 2
    assert "huyện Kiến Thụy" in str(info.value) and "huyện Thủy Nguyên" in str(info.value)
    assert match_unit_name("quận Lê Chân").name == "Lê Chân"


def test_unit_search_json(demo_client, auth):
    auth(demo_client, "operator")
    data = demo_client.get("/don-vi/tim?q=hoa%20binh").get_json()
    labels = [d["label"] for d in data]
    assert "xã Hòa Bình (huyện Thủy Nguyên)" in labels


def test_referenced_unit_cannot_be_deleted_only_deactivated(demo_client, auth):
    auth(demo_client, "admin")
    unit = search_units("le chan")[0]
    assert is_referenced(unit)
    response = demo_client.post(f"/don-vi/{unit.id}/xoa", follow_redirects=True)
    assert "Không thể xóa" in response.get_data(as_text=True)
    assert db.session.get(Unit, unit.id) is not None
    demo_client.post(f"/don-vi/{unit.id}/trang-thai")
    db.session.expire_all()
    assert db.session.get(Unit, unit.id).active is False


def test_unreferenced_unit_can_be_deleted(client, auth):
    auth(client, "admin")
    unit = Unit(code="X1", level="department", kind="Sở", name="Thử", search_key="so thu")
    db.session.add(unit)
    db.session.commit()
    client.post(f"/don-vi/{unit.id}/xoa")
    db.session.expire_all()
    assert db.session.get(Unit, unit.id) is None


def test_units_page_lists_tree(demo_client, auth):
    auth(demo_client, "operator")
    html = demo_client.get("/don-vi/").get_data(as_text=True)
    assert "quận Lê Chân" in html and "Sở Y tế" in html and "TT." not in html
