"""Hours that follow professional titles (职称) and the Chinese labels of training's codes (no I/O)."""
import re

import pytest

from services.training import model
from shared.errors import Invalid
from shared.events.staff import PROFESSIONAL_TITLES
from shared.events.training import COMPETENCY_AREAS

LATIN = re.compile(r"[A-Za-z]")


def test_the_larger_of_the_roles_and_the_titles_hours_is_owed():
    policy = model.Policy.from_dict({"annual_hours": {"default": 40, "supervisor": 50},
                                     "title_annual_hours": {"senior": 60, "junior": 30}})
    assert policy.annual_hours_for("staff", "senior") == 60
    assert policy.annual_hours_for("supervisor", "junior") == 50
    assert policy.annual_hours_for("staff", "intermediate") == 40  # a title the policy does not name
    assert policy.annual_hours_for("staff", None) == 40
    assert policy.annual_hours_for("supervisor") == 50


def test_area_minima_take_the_larger_per_area():
    policy = model.Policy.from_dict({
        "area_minima": {"default": {"reader_service": 6, "digital_services": 4}},
        "title_area_minima": {"associate_senior": {"reader_service": 4, "information_retrieval": 8}}})
    assert policy.area_minima_for("staff", "associate_senior") == {
        "reader_service": 6, "digital_services": 4, "information_retrieval": 8}
    assert policy.area_minima_for("staff", None) == {"reader_service": 6, "digital_services": 4}


@pytest.mark.parametrize("data, field", [
    ({"title_annual_hours": {"professor": 60}}, "title_annual_hours"),
    ({"title_annual_hours": {"senior": 2000}}, "title_annual_hours"),
    ({"title_area_minima": {"senior": {"juggling": 3}}}, "title_area_minima"),
    ({"title_area_minima": {"nobody": {"reader_service": 3}}}, "title_area_minima"),
])
def test_title_entries_are_checked(data, field):
    with pytest.raises(Invalid) as bad:
        model.Policy.from_dict(data)
    assert bad.value.field == field


def test_the_policy_round_trips_with_titles():
    policy = model.Policy.from_dict({"title_annual_hours": {"senior": 60}})
    assert model.Policy.from_dict(policy.to_dict()) == policy


@pytest.mark.parametrize("kind, codes", [
    ("requirement_kind", model.REQUIREMENT_KINDS), ("requirement_status", model.REQUIREMENT_STATUSES),
    ("enrolment_status", model.ENROLMENT_STATUSES), ("external_kind", model.EXTERNAL_KINDS),
    ("external_status", model.EXTERNAL_STATUSES), ("competency_area", COMPETENCY_AREAS),
    ("role", model.STAFF_ROLES), ("title", PROFESSIONAL_TITLES), ("delivery", model.DELIVERY_MODES),
    ("dimension", model.REMEDIAL_DIMENSIONS)])
def test_every_code_has_a_chinese_label(kind, codes):
    assert set(model.LABELS_ZH[kind]) == set(codes)
    assert not [label for label in model.LABELS_ZH[kind].values() if LATIN.search(label)]


def test_policy_messages_name_fields_in_chinese():
    with pytest.raises(Invalid) as bad:
        model.Policy.from_dict({"remedial_due_days": 0})
    assert not LATIN.search(bad.value.message_zh)


def test_an_ad_hoc_assignment_has_a_kind_of_its_own():
    assert "assigned" in model.COURSE_REQUIREMENT_KINDS and "assigned" in model.REQUIREMENT_KINDS
