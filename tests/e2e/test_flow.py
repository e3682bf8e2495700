"""The end-to-end flow of issue 6, through the public HTTP APIs of real processes (and Kafka, only
to observe): a branch and its staff are created in the directory; the other services learn them
from the staff events; a reader's substantiated complaints climb the incentive ladder (verbal, then
written warning, each citing the complaint's resolved event); an excellent evaluation grants an
award drawn from the branch fund; an overdue training requirement gives a notice.

Every wait is a bounded poll (``eventually``): no fixed sleeps.
"""
from __future__ import annotations

import functools

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests import helpers
from tests.helpers import auth, header, read_topic

pytestmark = pytest.mark.e2e

ADMIN = auth("network_admin")
DEADLINE = 30.0  # seconds any asynchronous step may take
SHANGHAI = timezone(timedelta(hours=8))
EXCELLENT = {"service_attitude": 5, "professional_competence": 5, "efficiency": 5, "compliance": 5}


eventually = functools.partial(helpers.eventually, timeout=DEADLINE, interval=0.2)
call = helpers.call


def quarter(moment: datetime) -> str:
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


@pytest.fixture(scope="module")
def network(system):
    """A branch with a desk and three people, known to every service."""
    d = system.url("directory")
    tag = uuid.uuid4().hex[:6].upper()
    branch = call("POST", d + "/branches", json={"code": f"FLOW{tag}", "name_zh": "东湖分馆",
                                                 "name_en": "East Lake Branch"}, headers=ADMIN)
    desk = call("POST", d + "/service-points", json={"branch_id": branch["id"], "name_zh": "借还服务台",
                                                      "name_en": "Circulation desk", "kind": "circulation"},
                headers=ADMIN)
    people = {}
    for key, name, role in (("staff", "林晓梅", "staff"), ("supervisor", "王建国", "supervisor"),
                            ("manager", "陈静", "branch_manager")):
        people[key] = call("POST", d + "/staff", json={
            "employee_number": f"F{tag}-{key[:3].upper()}", "name": name, "role": role,
            "branch_id": branch["id"], "hire_date": "2023-03-01"}, headers=ADMIN)["id"]
    b = branch["id"]
    net = {"branch": b, "desk": desk["id"], **people,
           "supervisor_auth": auth("supervisor", people["supervisor"], b),
           "manager_auth": auth("branch_manager", people["manager"], b),
           "staff_auth": auth("staff", people["staff"], b)}

    # Each service learns of them from the directory's events; poll a read of each.
    for key in ("staff", "supervisor", "manager"):
        sid = people[key]
        eventually(lambda: requests.get(system.url("incentive", f"/staff/{sid}/standing"), headers=ADMIN,
                                        timeout=5).status_code == 200, f"incentive knows {key}")
        eventually(lambda: requests.get(system.url("training", f"/staff/{sid}/transcript"), headers=ADMIN,
                                        timeout=5).status_code == 200, f"training knows {key}")
        # a branch manager may read the results of staff of their branch only: 403 until the
        # evaluation service knows that the person belongs to it
        eventually(lambda: requests.get(system.url("evaluation", f"/staff/{sid}/evaluations"),
                                        headers=net["manager_auth"], timeout=5).status_code == 200,
                   f"evaluation knows {key}")
    eventually(lambda: requests.get(system.url("feedback", f"/branches/{b}/opening-hours"), headers=ADMIN,
                                    timeout=5).status_code == 200, "feedback knows the branch")
    return net


def file_complaint(system, net, description: str) -> str:
    """A reader files an anonymous complaint about the staff member at the desk (feedback may
    still be learning of the staff member: 422 naming staff_id until then)."""
    body = {"branch_id": net["branch"], "service_point_id": net["desk"], "staff_id": net["staff"],
            "category": "attitude", "severity": "normal", "channel": "desk", "description": description}

    def attempt():
        r = requests.post(system.url("feedback", "/complaints"), json=body, timeout=10)
        if r.status_code == 422:
            return None
        assert r.status_code == 201, r.text
        return r.json()

    filed = eventually(attempt, "feedback accepts a complaint naming the staff member")
    assert filed["tracking_code"] and filed["status"] == "new" and filed["has_contact"] is False
    return filed["id"]


def resolve_substantiated(system, net, complaint_id: str) -> None:
    """The supervisor acknowledges, investigates and resolves it as substantiated."""
    base = system.url("feedback", f"/complaints/{complaint_id}")
    sup = net["supervisor_auth"]
    assert call("POST", base + "/acknowledge", json={"handler_id": net["supervisor"]}, headers=sup)["status"] \
        == "acknowledged"
    assert call("POST", base + "/investigate", json={"note": "查看监控并约谈当事馆员"}, headers=sup)["status"] \
        == "investigating"
    resolved = call("POST", base + "/resolve", json={
        "outcome": "substantiated",
        "response": "经核实投诉属实，已对当事馆员进行批评教育。/ Substantiated; the staff member has been spoken to."},
        headers=sup)
    assert resolved["status"] == "resolved" and resolved["outcome"] == "substantiated"


def resolved_event(system, complaint_id: str):
    """The complaint's ``resolved`` CloudEvent, read from the lsq.complaint topic."""
    [record] = read_topic(system.bootstrap, "lsq.complaint",
                          lambda rec: header(rec, "ce_type") == "lsq.complaint.resolved.v1"
                          and json.loads(rec.value)["complaint_id"] == complaint_id, timeout=DEADLINE)
    return {"source": header(record, "ce_source"), "id": header(record, "ce_id")}


def sanction_caused_by(system, net, cause: dict) -> dict:
    """The sanction and its ledger entry caused by ``cause``, once the incentive worker decided."""
    def probe():
        entries = call("GET", system.url("incentive", "/ledger"), headers=ADMIN,
                       params={"staff_id": net["staff"], "kind": "sanction", "cause_id": cause["id"]})["items"]
        return entries[0] if entries else None

    entry = eventually(probe, f"a ledger entry citing {cause}")
    assert cause in entry["causes"], entry
    sanctions = call("GET", system.url("incentive", "/sanctions"), headers=ADMIN,
                     params={"staff_id": net["staff"], "page_size": 100})["items"]
    [sanction] = [s for s in sanctions if cause in s["causes"]]
    return {"entry": entry, "sanction": sanction}


def test_substantiated_complaints_climb_the_ladder_citing_their_events(system, network):
    net = network
    first = file_complaint(system, net, "借书时馆员态度生硬，不耐烦地打断我的询问。/ The librarian was curt and cut me off.")
    resolve_substantiated(system, net, first)
    cause = resolved_event(system, first)
    assert cause["source"] == "/lsq/feedback"

    started = time.monotonic()
    found = sanction_caused_by(system, net, cause)
    assert time.monotonic() - started < DEADLINE
    entry, sanction = found["entry"], found["sanction"]
    assert entry["level"] == "verbal_warning" and entry["subject"] == f"complaint:{first}"
    assert entry["policy_version"] >= 1 and entry["reason_zh"] and entry["reason_en"]
    assert sanction["level"] == "verbal_warning" and sanction["status"] == "issued"
    standing = call("GET", system.url("incentive", f"/staff/{net['staff']}/standing"), headers=net["staff_auth"])
    assert (standing["ladder_step"], standing["current_level"]) == (1, "verbal_warning")

    # The staff member sees the resolved complaint about them (without the reader's details).
    mine = call("GET", system.url("feedback", "/complaints"), headers=net["staff_auth"])["items"]
    assert first in {c["id"] for c in mine}

    second = file_complaint(system, net, "再次在服务台被冷淡对待，询问预约书籍无人理会。/ Ignored again at the desk.")
    resolve_substantiated(system, net, second)
    cause2 = resolved_event(system, second)
    found2 = sanction_caused_by(system, net, cause2)
    assert found2["entry"]["level"] == "written_warning"
    assert found2["sanction"]["level"] == "written_warning"
    standing = call("GET", system.url("incentive", f"/staff/{net['staff']}/standing"), headers=ADMIN)
    assert (standing["ladder_step"], standing["current_level"]) == (2, "written_warning")
    assert {s["level"] for s in standing["active_sanctions"]} == {"verbal_warning", "written_warning"}


def test_excellent_evaluation_grants_an_award_from_the_branch_fund(system, network):
    net = network
    period = quarter(datetime.now(timezone.utc))
    fund = call("PUT", system.url("incentive", f"/funds/{net['branch']}/periods/{period}"),
                json={"budget": "10000.00"}, headers=ADMIN)
    assert fund["available"] == "10000.00"

    ev = system.url("evaluation")
    month = datetime.now(SHANGHAI).strftime("%Y-%m")  # the evaluation's days are Shanghai days
    cycle = call("POST", ev + "/cycles", json={"period": month, "scope": "branches", "branch_ids": [net["branch"]]},
                 headers=ADMIN)
    opened = call("POST", ev + f"/cycles/{cycle['id']}/open", headers=ADMIN)
    assert opened["status"] == "open" and opened["participants"] == 3
    # The supervisor's and the staff member's own ratings: both excellent (no desk ratings, so the
    # reader component does not count; two peers are fewer than the three needed).
    call("POST", ev + f"/cycles/{cycle['id']}/evaluations", headers=net["supervisor_auth"], expect=201,
         json={"staff_id": net["staff"], "rater_type": "supervisor", "scores": EXCELLENT,
               "comment": "服务热情，业务熟练。/ Warm and skilled."})
    call("POST", ev + f"/cycles/{cycle['id']}/evaluations", headers=net["staff_auth"], expect=201,
         json={"staff_id": net["staff"], "rater_type": "self", "scores": EXCELLENT})
    assert call("POST", ev + f"/cycles/{cycle['id']}/close", headers=ADMIN)["status"] == "closed"
    published = call("POST", ev + f"/cycles/{cycle['id']}/publish", headers=ADMIN)
    assert published["status"] == "published"

    [result] = [r for r in call("GET", ev + f"/staff/{net['staff']}/evaluations", headers=net["staff_auth"])
                if r["cycle_id"] == cycle["id"]]
    assert result["grade"] == "excellent" and result["score"] == 100.0

    def award():
        items = call("GET", system.url("incentive", "/awards"), headers=ADMIN,
                     params={"staff_id": net["staff"], "status": "granted"})["items"]
        return items[0] if items else None

    granted = eventually(award, "the award of the excellent evaluation")
    assert granted["tier"] == "A" and granted["amount"] == "2000.00" and granted["period"] == period
    assert granted["causes"] and granted["causes"][0]["source"] == "/lsq/evaluation"
    statement = call("GET", system.url("incentive", f"/funds/{net['branch']}/statement"),
                     params={"period": period}, headers=net["manager_auth"])
    assert (statement["budget"], statement["granted"], statement["available"]) == ("10000.00", "2000.00", "8000.00")
    assert [e["id"] for e in statement["entries"] if e["kind"] == "award"] == [granted["id"]]


def test_overdue_training_requirement_gives_a_notice(system, network):
    """A requirement carried over from before LSQ, already past its deadline, is reported overdue by
    the training worker's sweep (every ``LSQ_TRAINING_SWEEP_SECONDS``, 2 s in this system), and the
    incentive service answers with a notice citing the overdue event."""
    net = network
    tr = system.url("training")
    courses = call("GET", tr + "/courses", params={"page_size": 100}, headers=ADMIN)["items"]
    [course] = [c for c in courses if c["code"] == "CC-201"]
    yesterday = (datetime.now(SHANGHAI) - timedelta(days=1)).date().isoformat()
    r = requests.post(tr + f"/courses/{course['id']}/assignments", headers=ADMIN, timeout=10, json={
        "staff_ids": [net["staff"]], "due_on": yesterday, "existing_obligation": True,
        "reason": "complaint handling refresher", "reason_zh": "投诉处理复训"})
    assert r.status_code == 201, r.text
    [requirement_id] = r.json()["requirement_ids"]

    def notice():
        items = call("GET", system.url("incentive", "/sanctions"), headers=ADMIN,
                     params={"staff_id": net["staff"], "level": "notice"})["items"]
        return [s for s in items if "training" in s["reason_en"]] or None

    [sanction] = eventually(notice, f"a notice for overdue requirement {requirement_id}", timeout=DEADLINE * 2)
    assert sanction["causes"][0]["source"] == "/lsq/training"
