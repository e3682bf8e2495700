"""Complaint lifecycle, SLA signals, visibility, survey answers and gap maths: no I/O."""
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from services.feedback import default_instrument, model
from shared.errors import Conflict, Invalid

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)


# -- lifecycle ----------------------------------------------------------------------------------
@pytest.mark.parametrize("status, action, expected", [
    ("new", "acknowledge", "acknowledged"),
    ("acknowledged", "investigate", "investigating"),
    ("investigating", "wait", "waiting_on_reader"),
    ("waiting_on_reader", "investigate", "investigating"),
    ("investigating", "resolve", "resolved"),
    ("waiting_on_reader", "resolve", "resolved"),
    ("acknowledged", "resolve", "resolved"),
    ("resolved", "close", "closed"),
    ("resolved", "reopen", "investigating"),
    ("closed", "reopen", "investigating"),
])
def test_allowed_transitions(status, action, expected):
    assert model.next_status(status, action) == expected


def test_every_other_transition_is_a_conflict():
    allowed = {(s, a) for a, (froms, _) in model.TRANSITIONS.items() for s in froms}
    for status in model.STATUSES:
        for action in model.TRANSITIONS:
            if (status, action) in allowed:
                continue
            with pytest.raises(Conflict) as error:
                model.next_status(status, action)
            assert error.value.code == "invalid_transition"
            assert error.value.details["status"] == status


def test_a_refused_transition_says_in_words_what_is_possible_without_codes():
    with pytest.raises(Conflict) as error:
        model.next_status("new", "close")
    assert error.value.message == "A complaint that is new cannot be closed (only one that is resolved)."
    assert error.value.message_zh == "投诉当前状态为“新投诉”，不能关闭（仅限状态：已处理）"
    with pytest.raises(Conflict) as error:
        model.next_status("waiting_on_reader", "wait")
    assert "waiting on the reader" in error.value.message and "waiting_on_reader" not in error.value.message
    assert error.value.message.endswith("(only one that is under investigation).")
    for status in model.STATUSES:
        for action in model.TRANSITIONS:
            try:
                model.next_status(status, action)
            except Conflict as refused:
                assert not any(ch.isascii() and ch.isalpha() for ch in refused.message_zh), refused.message_zh
    with pytest.raises(Conflict) as error:
        model.check_assign("closed")
    assert error.value.message_zh == "投诉当前状态为“已关闭”，不能指派处理人（仅限未办结的投诉）"


def test_reopen_only_within_14_days_of_resolution():
    model.check_reopen("resolved", NOW - timedelta(days=13, hours=23), NOW)
    model.check_reopen("closed", NOW - timedelta(days=1), NOW)
    with pytest.raises(Conflict) as error:
        model.check_reopen("closed", NOW - timedelta(days=14, seconds=1), NOW)
    assert error.value.code == "reopen_window_passed"
    with pytest.raises(Conflict):
        model.check_reopen("investigating", NOW, NOW)


def test_rating_once_and_only_after_resolution():
    model.check_rating("resolved", False)
    model.check_rating("closed", False)
    with pytest.raises(Conflict):
        model.check_rating("investigating", False)
    with pytest.raises(Conflict):
        model.check_rating("resolved", True)


def test_assign_only_while_open():
    model.check_assign("new")
    with pytest.raises(Conflict):
        model.check_assign("resolved")


# -- visibility ---------------------------------------------------------------------------------
COMPLAINT = {"branch_id": "b1", "staff_id": "s1", "status": "investigating"}


@pytest.mark.parametrize("role, staff_id, branch_id, status, expected", [
    ("network_admin", None, None, "investigating", "full"),
    ("supervisor", None, "b1", "investigating", "full"),
    ("branch_manager", None, "b2", "investigating", None),
    ("auditor", None, None, "investigating", "no_contact"),
    ("staff", "s1", "b1", "investigating", None),
    ("staff", "s1", "b1", "resolved", "no_contact"),
    ("staff", "s2", "b1", "resolved", None),
    ("reader", None, None, "resolved", None),
    (None, None, None, "resolved", None),
])
def test_visibility(role, staff_id, branch_id, status, expected):
    assert model.visibility(role, staff_id, branch_id, {**COMPLAINT, "status": status}) == expected


# -- SLA ----------------------------------------------------------------------------------------
def _complaint(status="new", **overrides):
    target = model.DEFAULT_SLA["urgent"]
    times = model.sla_times(target, NOW, NOW, None)
    row = {"status": status, "acknowledge_due_at": times.acknowledge_due_at,
           "acknowledge_at_risk_at": times.acknowledge_at_risk_at, "resolve_due_at": times.resolve_due_at,
           "resolve_at_risk_at": times.resolve_at_risk_at, "acknowledge_at_risk_sent_at": None,
           "acknowledge_breached_at": None, "resolve_at_risk_sent_at": None, "resolve_breached_at": None}
    row.update(overrides)
    return row


def test_default_targets():
    assert model.DEFAULT_SLA["urgent"].acknowledge == timedelta(hours=2)
    assert model.DEFAULT_SLA["high"].resolve == timedelta(days=3)
    assert model.DEFAULT_SLA["normal"].acknowledge == timedelta(hours=24)
    assert model.DEFAULT_SLA["low"].resolve == timedelta(days=14)


def test_at_risk_at_80_percent_then_breach():
    row = _complaint()
    assert row["acknowledge_at_risk_at"] == NOW + timedelta(minutes=96)
    assert model.sla_signals(row, NOW + timedelta(minutes=95)) == []
    at_risk = model.sla_signals(row, NOW + timedelta(minutes=96))
    assert [(s.target, s.kind) for s in at_risk] == [("acknowledge", "at_risk")]
    breached = model.sla_signals(row, NOW + timedelta(hours=2))
    assert [(s.target, s.kind) for s in breached] == [("acknowledge", "breached")]


def test_signals_are_owed_once():
    row = _complaint(acknowledge_at_risk_sent_at=NOW, acknowledge_breached_at=NOW)
    assert model.sla_signals(row, NOW + timedelta(hours=3)) == []
    row = _complaint(status="investigating", resolve_breached_at=NOW)
    assert model.sla_signals(row, NOW + timedelta(days=5)) == []


def test_acknowledgement_target_stops_once_acknowledged_and_waiting_stops_resolution():
    row = _complaint(status="acknowledged")
    assert [s.target for s in model.sla_signals(row, NOW + timedelta(days=2))] == ["resolve"]
    row = _complaint(status="waiting_on_reader")
    assert model.sla_signals(row, NOW + timedelta(days=2)) == []


def test_business_hours_flag_decides_whether_the_calendar_counts():
    from services.feedback import sla
    hours = sla.OpeningHours.from_dict({"week": {"mon": [["09:00", "10:00"]]}})
    calendar_time = model.sla_times(model.SlaTarget(timedelta(hours=2), timedelta(hours=4)), NOW, NOW, hours)
    business = model.sla_times(model.SlaTarget(timedelta(hours=2), timedelta(hours=4), True), NOW, NOW, hours)
    assert calendar_time.acknowledge_due_at == NOW + timedelta(hours=2)
    assert business.acknowledge_due_at > NOW + timedelta(days=7)


# -- tracking codes -----------------------------------------------------------------------------
def test_tracking_codes_are_normalised_before_hashing():
    code = model.new_tracking_code()
    assert len(code) == 14
    assert model.hash_secret(code) == model.hash_secret(code.lower().replace("-", " "))
    assert model.hash_secret(code) != model.hash_secret(model.new_tracking_code())


# -- surveys ------------------------------------------------------------------------------------
ITEMS = [
    {"code": "UG", "type": "choice", "required": True, "user_group": True,
     "options": [{"value": "student"}, {"value": "public"}]},
    {"code": "A1", "type": "triad", "dimension": "affect", "required": False},
    {"code": "GS", "type": "likert", "dimension": "general", "required": True},
    {"code": "NPS", "type": "nps", "dimension": "general"},
    {"code": "WHY", "type": "multi_choice", "options": [{"value": "a"}, {"value": "b"}]},
    {"code": "C", "type": "text"},
]
GOOD = {"UG": "student", "A1": {"minimum": 4, "desired": 8, "perceived": 6}, "GS": 4, "NPS": 9,
        "WHY": ["a", "b"], "C": " fine "}


def test_valid_answers_become_rows():
    rows = model.validate_answers(ITEMS, GOOD)
    by_code = {}
    for row in rows:
        by_code.setdefault(row["item_code"], []).append(row)
    assert by_code["A1"][0]["perceived"] == 6 and by_code["A1"][0]["minimum"] == 4
    assert [r["choice"] for r in by_code["WHY"]] == ["a", "b"]
    assert by_code["C"][0]["text"] == "fine"
    assert model.user_group_of(ITEMS, GOOD) == "student"


def test_triad_not_applicable():
    rows = model.validate_answers(ITEMS, {**GOOD, "A1": {"na": True}})
    triad = next(r for r in rows if r["item_code"] == "A1")
    assert triad["na"] is True and triad["perceived"] is None


@pytest.mark.parametrize("change, item", [
    ({"A1": {"minimum": 9, "desired": 5, "perceived": 6}}, "A1"),      # minimum above desired
    ({"A1": {"minimum": 0, "desired": 5, "perceived": 6}}, "A1"),      # out of 1-9
    ({"A1": {"minimum": 2, "desired": 5}}, "A1"),                      # part missing
    ({"A1": 5}, "A1"),
    ({"GS": 6}, "GS"),
    ({"GS": True}, "GS"),
    ({"GS": None}, "GS"),                                               # required
    ({"NPS": 11}, "NPS"),
    ({"UG": "alien"}, "UG"),
    ({"WHY": ["a", "a"]}, "WHY"),
    ({"WHY": [{"a": 1}]}, "WHY"),                                       # not hashable: still a 422
    ({"UG": ["student"]}, "UG"),
    ({"C": "x" * 2001}, "C"),
    ({"ZZ": 1}, "ZZ"),                                                  # unknown item
])
def test_bad_answers_name_the_item(change, item):
    with pytest.raises(Invalid) as error:
        model.validate_answers(ITEMS, {**GOOD, **change})
    assert error.value.field == f"answers.{item}"


@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 9))
def test_gaps(minimum, desired, perceived):
    result = model.gaps(minimum, desired, perceived)
    assert result["adequacy_gap"] == perceived - minimum
    assert result["superiority_gap"] == perceived - desired
    # Inside the zone of tolerance both gaps have opposite signs (or are zero).
    if minimum <= perceived <= desired:
        assert result["adequacy_gap"] >= 0 >= result["superiority_gap"]


def test_nps():
    assert model.nps(promoters=6, detractors=2, n=10) == 40.0
    assert model.nps(0, 0, 0) is None


def test_default_instrument_covers_the_three_dimensions():
    items = default_instrument.items()
    model.check_instrument(items)
    triads = [i for i in items if i["type"] == "triad"]
    assert {d: sum(1 for i in triads if i["dimension"] == d) for d in ("affect", "information_control", "place")} \
        == {"affect": 9, "information_control": 8, "place": 5}
    assert any(i["type"] == "nps" for i in items) and any(i["type"] == "likert" for i in items)
    assert all(i["text_zh"] and i["text_en"] for i in items)


@pytest.mark.parametrize("items, field", [
    ([], "items"),
    ([{"code": "A", "type": "triad", "dimension": None}], "items.0.dimension"),
    ([{"code": "A", "type": "likert", "dimension": "general"}, {"code": "A", "type": "text"}], "items.1.code"),
    ([{"code": "A", "type": "choice", "options": [{"value": "x"}]}], "items.0.options"),
    ([{"code": "A", "type": "text", "user_group": True}], "items.0.user_group"),
])
def test_bad_instruments(items, field):
    with pytest.raises(Invalid) as error:
        model.check_instrument(items)
    assert error.value.field == field


def test_survey_state_and_accepting():
    opens, closes = NOW, NOW + timedelta(days=7)
    assert model.survey_state(opens, closes, None, NOW - timedelta(seconds=1)) == "scheduled"
    assert model.survey_state(opens, closes, None, NOW) == "open"
    assert model.survey_state(opens, closes, None, closes) == "closed"
    assert model.survey_state(opens, closes, NOW, NOW) == "closed"
    with pytest.raises(Conflict):
        model.check_accepting("closed")


def test_suggestion_outcomes_move_forward_only():
    model.check_suggestion_move("raised", "accepted")
    model.check_suggestion_move("accepted", "done")
    with pytest.raises(Conflict):
        model.check_suggestion_move("done", "in_progress")
    with pytest.raises(Conflict):
        model.check_suggestion_move("declined", "accepted")


def test_tracking_codes_use_every_letter_of_the_phone_safe_alphabet_and_nothing_else():
    import re
    from collections import Counter

    codes = [model.new_tracking_code() for _ in range(2000)]
    assert all(re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", code) for code in codes)
    letters = Counter("".join(code.replace("-", "") for code in codes))
    assert set(letters) == set(model._CODE_ALPHABET)  # all 32 in use: 5 bits a letter, 60 bits a code
    assert max(letters.values()) < 2 * min(letters.values())  # roughly uniform
    assert len(set(codes)) == len(codes)


def test_received_at_starts_the_clocks_for_staff_within_thirty_days():
    from datetime import datetime, timedelta, timezone

    import pytest

    from shared.errors import Forbidden, Invalid

    now = datetime(2026, 11, 28, 10, tzinfo=timezone.utc)
    assert model.check_received_at(None, now, recorded_by_staff=False) == now
    assert model.check_received_at(None, now, recorded_by_staff=True) == now
    earlier = now - timedelta(days=3)
    assert model.check_received_at(earlier, now, recorded_by_staff=True) == earlier
    assert model.check_received_at(now - model.MAX_RECEIVED_AGO, now, recorded_by_staff=True)
    with pytest.raises(Forbidden):
        model.check_received_at(earlier, now, recorded_by_staff=False)
    for bad in (now + timedelta(seconds=1), now - model.MAX_RECEIVED_AGO - timedelta(seconds=1)):
        with pytest.raises(Invalid) as refused:
            model.check_received_at(bad, now, recorded_by_staff=True)
        assert refused.value.field == "received_at"
