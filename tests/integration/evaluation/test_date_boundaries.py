"""Period boundaries through the API, with the clock set (never today): which feedback a cycle
counts, until when ratings are taken, until when a result can be appealed, in Asia/Shanghai."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from shared.timeutil import parse_rfc3339
from tests.helpers import auth

from .conftest import ADMIN

pytestmark = pytest.mark.integration

SHANGHAI = ZoneInfo("Asia/Shanghai")
SELF = {"service_attitude": 4, "professional_competence": 4, "efficiency": 4, "compliance": 4}


def sh(*args) -> datetime:
    """An instant given as Shanghai wall time."""
    return datetime(*args, tzinfo=SHANGHAI)


def new_cycle(client, period: str) -> dict:
    created = client.post("/cycles", headers=ADMIN, json={"period": period, "scope": "network"})
    assert created.status_code == 201, created.json
    return created.json


def rate_self(client, cycle_id, staff_id, branch_id):
    return client.post(f"/cycles/{cycle_id}/evaluations", headers=auth("staff", staff_id=staff_id, branch_id=branch_id),
                       json={"staff_id": staff_id, "rater_type": "self", "scores": SELF})


@pytest.mark.parametrize("before, after, last_evening, first_morning, clock", [
    ("2026-Q4", "2027-Q1", sh(2026, 12, 31, 23, 30), sh(2027, 1, 1, 0, 30), sh(2027, 1, 5, 10)),
    ("2026-12", "2027-01", sh(2026, 12, 31, 23, 30), sh(2027, 1, 1, 0, 30), sh(2027, 1, 5, 10)),
    ("2026", "2027", sh(2026, 12, 31, 23, 30), sh(2027, 1, 1, 0, 30), sh(2027, 1, 5, 10)),
    ("2028-02", "2028-03", sh(2028, 2, 29, 23, 30), sh(2028, 3, 1, 0, 30), sh(2028, 3, 5, 10)),
    ("2026-Q3", "2026-Q4", sh(2026, 9, 30, 23, 30), sh(2026, 10, 1, 0, 30), sh(2026, 10, 5, 10)),
    ("2026-H1", "2026-H2", sh(2026, 6, 30, 23, 30), sh(2026, 7, 1, 0, 30), sh(2026, 7, 5, 10)),
])
def test_desk_ratings_count_in_the_period_of_their_local_day(client, network, time_machine, before, after,
                                                             last_evening, first_morning, clock):
    """Five 5-star ratings at 23:30 on the last day, five 2-star ones at 00:30 on the next: both
    evenings are the same UTC day, yet each set counts only in its own local period."""
    time_machine.move_to(clock, tick=False)
    branch = network.branch("EDGE")
    [target] = network.staff(branch, 1)
    network.apply(*[network.rating(target, branch, 5, last_evening) for _ in range(5)],
                  *[network.rating(target, branch, 2, first_morning) for _ in range(5)],
                  network.praise(target, branch, last_evening))
    expected = {before: {"rating_count": 5, "rating_sum": 25, "praise_count": 1, "complaints": {}},
                after: {"rating_count": 5, "rating_sum": 10, "praise_count": 0, "complaints": {}}}
    for period, inputs in expected.items():
        cycle = new_cycle(client, period)
        assert client.post(f"/cycles/{cycle['id']}/open", headers=ADMIN).status_code == 200
        assert client.post(f"/cycles/{cycle['id']}/close", headers=ADMIN).status_code == 200
        [result] = client.get(f"/cycles/{cycle['id']}/scores", headers=auth("auditor")).json["items"]
        assert result["reader_inputs"] == inputs, period


def test_ratings_until_the_end_of_the_deadline_day_in_shanghai(client, network, time_machine):
    time_machine.move_to(sh(2027, 1, 5, 10), tick=False)
    branch = network.branch("DUE")
    staff = network.staff(branch, 3)
    cycle = new_cycle(client, "2026-Q4")
    # 14 days after 31 December, to the end of that day in Shanghai
    assert parse_rfc3339(cycle["submission_deadline"]) == sh(2027, 1, 14, 23, 59, 59, 999999)
    assert client.post(f"/cycles/{cycle['id']}/open", headers=ADMIN).status_code == 200

    time_machine.move_to(sh(2027, 1, 14, 23, 30), tick=False)
    assert rate_self(client, cycle["id"], staff[0], branch).status_code == 201
    time_machine.move_to(sh(2027, 1, 14, 23, 59, 59, 500000), tick=False)
    assert rate_self(client, cycle["id"], staff[1], branch).status_code == 201
    time_machine.move_to(sh(2027, 1, 15, 0, 30), tick=False)
    late = rate_self(client, cycle["id"], staff[2], branch)
    assert late.status_code == 409 and late.json["code"] == "deadline_passed"
    # nor can another cycle of that quarter be created now with the default deadline, which has
    # passed (it could never be opened): refused at creation, naming the field
    other = client.post("/cycles", headers=ADMIN, json={"period": "2026-Q4", "scope": "network"})
    assert other.status_code == 422 and other.json["code"] == "deadline_in_past"
    assert "submission_deadline" in other.json["errors"]
    # but the cycle that is open can be given more time: its raters rate again
    extended = client.patch(f"/cycles/{cycle['id']}", headers=ADMIN,
                            json={"submission_deadline": "2027-01-17T23:59:59+08:00"})
    assert extended.status_code == 200, extended.json
    assert rate_self(client, cycle["id"], staff[2], branch).status_code == 201


def test_a_deadline_written_in_utc_on_the_first_local_day_is_accepted(client, time_machine):
    time_machine.move_to(sh(2026, 9, 20, 10), tick=False)
    # 16:30 UTC on 30 September is 00:30 on 1 October in Shanghai: the period's first day
    ok = client.post("/cycles", headers=ADMIN, json={"period": "2026-Q4", "submission_deadline": "2026-09-30T16:30:00Z"})
    assert ok.status_code == 201, ok.json
    # 20:00 on 30 September in Shanghai, although it is 1 October in the client's +14:00
    early = client.post("/cycles", headers=ADMIN, json={"period": "2026-Q4",
                                                         "submission_deadline": "2026-10-01T02:00:00+14:00"})
    assert early.status_code == 422 and "submission_deadline" in early.json["errors"]


def test_appeals_until_14_days_after_publication_at_the_turn_of_the_year(client, network, time_machine):
    time_machine.move_to(sh(2026, 12, 31, 22, 0), tick=False)
    branch = network.branch("APPEAL")
    staff = network.staff(branch, 2)
    cycle = new_cycle(client, "2026-12")
    assert client.post(f"/cycles/{cycle['id']}/open", headers=ADMIN).status_code == 200
    for staff_id in staff:
        assert rate_self(client, cycle["id"], staff_id, branch).status_code == 201
    assert client.post(f"/cycles/{cycle['id']}/close", headers=ADMIN).status_code == 200
    time_machine.move_to(sh(2026, 12, 31, 23, 30), tick=False)
    published = client.post(f"/cycles/{cycle['id']}/publish", headers=ADMIN)
    assert parse_rfc3339(published.json["published_at"]) == sh(2026, 12, 31, 23, 30)

    def appeal(staff_id):
        mine = auth("staff", staff_id=staff_id, branch_id=branch)
        [result] = client.get(f"/staff/{staff_id}/evaluations", headers=mine).json
        return client.post(f"/evaluations/{result['id']}/appeal", headers=mine,
                           json={"reason": "the period's last evening was busy / 年末值班"})

    time_machine.move_to(sh(2027, 1, 14, 23, 30), tick=False)
    assert appeal(staff[0]).status_code == 201
    time_machine.move_to(sh(2027, 1, 14, 23, 30, 1), tick=False)
    closed = appeal(staff[1])
    assert closed.status_code == 409 and closed.json["code"] == "appeal_window_closed"
