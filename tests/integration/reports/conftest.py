"""A generated small network's raw events (2026 Q2 and Q3), and the reports app fed with them."""
from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest

from services.reports.handlers import HANDLERS
from services.reports.runner import ReportsRunner
from shared.events import get as get_event_type
from shared.events.envelope import Event
from shared.timeutil import rfc3339
from tests.helpers import make_app, shanghai

SEVERITY_HOURS = {"urgent": (2, 24), "high": (8, 72), "normal": (24, 168), "low": (48, 336)}
DIMENSIONS = {"affect": ("AF1", "AF2"), "place": ("PL1",)}


def make_event(event_type: str, data: dict, when=None) -> Event:
    """An event as the consumer hands it to handlers; ``plain`` keeps the JSON for the broker."""
    kind = get_event_type(event_type)
    plain = kind.validate(data)
    event = Event(id=str(uuid.uuid4()), type=event_type, source=kind.source, subject=kind.subject_of(plain),
                  time=when or shanghai(2026, 6, 1), data=kind.load(plain), key=kind.key_of(plain), topic=kind.topic)
    event.plain = plain
    return event


class GeneratedNetwork:
    """Three branches with staff and a desk each; complaints, ratings, praise, surveys, training,
    evaluations, awards and sanctions over two quarters. ``raw`` keeps every event's plain data
    for the tests' own, independent computations."""

    def __init__(self, seed: int = 7):
        rng = random.Random(seed)
        tag = uuid.uuid4().hex[:6]
        self.events: list[Event] = []
        self.branches = {f"br-{c}-{tag}": c for c in ("CEN", "EAST", "WEST")}
        self.staff: dict[str, str] = {}
        self.desks: dict[str, str] = {}
        for index, (branch, code) in enumerate(self.branches.items()):
            self.add("lsq.branch.opened.v1", {"branch_id": branch, "code": f"{code}{tag}", "name_zh": f"{code}分馆{tag}",
                                              "name_en": f"{code} branch {tag}"})
            desk = f"desk-{code}-{tag}"
            self.desks[desk] = branch
            self.add("lsq.branch.service_point_opened.v1", {"branch_id": branch, "service_point_id": desk,
                                                            "name_zh": f"{code}总服务台", "name_en": f"{code} main desk",
                                                            "kind": "circulation"})
            for n in range(4):
                sid = f"st-{code}-{n}-{tag}"
                self.staff[sid] = branch
                self.add("lsq.staff.joined.v1", {"staff_id": sid, "employee_number": sid[:30], "name": f"{code}员工{n}",
                                                 "role": "staff", "branch_id": branch, "hire_date": "2020-01-01"})
        staff_of = {b: [s for s, sb in self.staff.items() if sb == b] for b in self.branches}
        desk_of = {b: d for d, b in self.desks.items()}
        for quarter_start in (shanghai(2026, 4, 1), shanghai(2026, 7, 1)):
            for branch in self.branches:
                for _ in range(rng.randint(6, 10)):
                    self._complaint(rng, branch, rng.choice(staff_of[branch]), desk_of[branch],
                                    quarter_start + timedelta(hours=rng.randint(0, 88 * 24)))
                for _ in range(rng.randint(15, 25)):
                    when = quarter_start + timedelta(minutes=rng.randint(0, 90 * 24 * 60 - 1))
                    self.add("lsq.rating.submitted.v1", {
                        "rating_id": str(uuid.uuid4()), "branch_id": branch, "service_point_id": desk_of[branch],
                        "staff_id": rng.choice(staff_of[branch] + [None]), "stars": rng.randint(1, 5),
                        "wait_minutes": rng.choice([None, rng.randint(0, 40)]), "submitted_at": rfc3339(when)}, when)
                for _ in range(rng.randint(3, 6)):
                    when = quarter_start + timedelta(hours=rng.randint(0, 89 * 24))
                    pid = str(uuid.uuid4())
                    received = self.add("lsq.praise.received.v1", {"praise_id": pid, "branch_id": branch,
                                                                   "staff_id": rng.choice(staff_of[branch]),
                                                                   "received_at": rfc3339(when)}, when)
                    if rng.random() < 0.25:
                        rejected = self.add("lsq.praise.rejected.v1", {
                            "praise_id": pid, "branch_id": branch, "staff_id": received.plain["staff_id"],
                            "reason": "spam", "rejected_at": rfc3339(when + timedelta(hours=1))}, when)
                        if rng.random() < 0.5:  # the rejection arrives first
                            self.events.remove(rejected)
                            self.events.insert(self.events.index(received), rejected)
                groups = ["student"] * rng.randint(5, 8) + ["faculty"] * rng.randint(1, 3) + [None] * rng.randint(0, 6)
                for group in groups:
                    when = quarter_start + timedelta(hours=rng.randint(0, 89 * 24))
                    triads = []
                    for dim, items in DIMENSIONS.items():
                        for item in items:
                            low = rng.randint(2, 6)
                            triads.append({"item_code": item, "dimension": dim, "minimum": low,
                                           "desired": rng.randint(low, 9), "perceived": rng.randint(1, 9)})
                    self.add("lsq.survey.response_submitted.v1", {
                        "survey_id": f"sv-{tag}", "response_id": str(uuid.uuid4()), "branch_id": branch,
                        "instrument_id": "core", "instrument_version": 1, "user_group": group,
                        "submitted_at": rfc3339(when), "triads": triads}, when)
                for staff_id in staff_of[branch]:
                    day = (quarter_start + timedelta(days=rng.randint(0, 88))).date()
                    hours = rng.choice([2.0, 4.0, 8.0])
                    self.add("lsq.training.completed.v1", {
                        "completion_id": str(uuid.uuid4()), "staff_id": staff_id, "branch_id": branch,
                        "source": "course", "kind": "course", "title": "服务规范", "hours": hours,
                        "credit_hours": hours, "completed_on": day.isoformat()})
                    if rng.random() < 0.6:
                        score = rng.uniform(55, 98)
                        grade = ("excellent" if score >= 90 else "good" if score >= 80
                                 else "satisfactory" if score >= 60 else "unsatisfactory")
                        published = quarter_start + timedelta(days=80)
                        self.add("lsq.evaluation.scored.v1", {
                            "evaluation_id": str(uuid.uuid4()), "cycle_id": f"cy-{quarter_start.month}-{tag}",
                            "staff_id": staff_id, "branch_id": branch, "period": f"2026-Q{(quarter_start.month + 2) // 3}",
                            "score": round(score, 2), "grade": grade, "dimension_scores": {}, "components_used": ["reader"],
                            "components_missing": [], "revision": 0, "published_at": rfc3339(published)}, published)
                level = rng.choice(["notice", "verbal_warning"])
                when = quarter_start + timedelta(days=30)
                self.add("lsq.sanction.issued.v1", {
                    "sanction_id": str(uuid.uuid4()), "staff_id": staff_of[branch][0], "branch_id": branch,
                    "level": level, "policy_version": 1, "reason_en": "complaint", "reason_zh": "投诉属实",
                    "issued_at": rfc3339(when), "expires_at": rfc3339(when + timedelta(days=365)),
                    "appeal_deadline": rfc3339(when + timedelta(days=14))}, when)
                self.add("lsq.award.granted.v1", {
                    "award_id": str(uuid.uuid4()), "staff_id": staff_of[branch][1], "branch_id": branch, "tier": "B",
                    "amount": "800.00", "period": "2026-Q3", "policy_version": 1, "reason_en": "good", "reason_zh": "良好",
                    "granted_at": rfc3339(when)}, when)

    def add(self, event_type: str, data: dict, when=None) -> Event:
        event = make_event(event_type, data, when)
        self.events.append(event)
        return event

    def _complaint(self, rng, branch, staff, desk, filed):
        severity = rng.choice(list(SEVERITY_HOURS))
        ack_h, res_h = SEVERITY_HOURS[severity]
        cid = str(uuid.uuid4())
        ref = {"complaint_id": cid, "branch_id": branch, "staff_id": staff, "service_point_id": desk}
        self.add("lsq.complaint.filed.v1", {**ref, "category": "attitude", "severity": severity, "channel": "web",
                                            "filed_at": rfc3339(filed),
                                            "acknowledge_due_at": rfc3339(filed + timedelta(hours=ack_h)),
                                            "resolve_due_at": rfc3339(filed + timedelta(hours=res_h))}, filed)
        ack_after = rng.uniform(0.1, 1.6) * ack_h
        if ack_after > ack_h:
            self.add("lsq.complaint.sla_breached.v1", {**ref, "target": "acknowledge", "severity": severity,
                                                       "due_at": rfc3339(filed + timedelta(hours=ack_h)),
                                                       "handler_id": staff,
                                                       "breached_at": rfc3339(filed + timedelta(hours=ack_h))})
        self.add("lsq.complaint.acknowledged.v1", {**ref, "acknowledged_at": rfc3339(filed + timedelta(hours=ack_after)),
                                                   "handler_id": staff})
        if rng.random() < 0.8:
            res_after = rng.uniform(0.2, 1.4) * res_h
            if res_after > res_h:
                self.add("lsq.complaint.sla_breached.v1", {**ref, "target": "resolve", "severity": severity,
                                                           "due_at": rfc3339(filed + timedelta(hours=res_h)),
                                                           "handler_id": staff,
                                                           "breached_at": rfc3339(filed + timedelta(hours=res_h))})
            self.add("lsq.complaint.resolved.v1", {**ref, "category": "attitude", "severity": severity,
                                                   "outcome": rng.choice(["substantiated", "unsubstantiated",
                                                                          "partially_substantiated"]),
                                                   "filed_at": rfc3339(filed),
                                                   "resolved_at": rfc3339(filed + timedelta(hours=res_after)),
                                                   "handler_id": staff})
            if rng.random() < 0.6:
                self.add("lsq.complaint.rated.v1", {**ref, "rating": rng.randint(1, 5),
                                                    "rated_at": rfc3339(filed + timedelta(hours=res_after + 1))})
        elif rng.random() < 0.5:
            self.add("lsq.complaint.sla_at_risk.v1", {**ref, "target": "resolve", "severity": severity,
                                                      "due_at": rfc3339(filed + timedelta(hours=res_h)),
                                                      "handler_id": staff})

    def of(self, event_type: str) -> list[dict]:
        return [e.plain for e in self.events if e.type == event_type]


@pytest.fixture(scope="module")
def network():
    return GeneratedNetwork()


def feed(app, events, batch: int = 200) -> None:
    runner = ReportsRunner(app.extensions["lsq"].db, "127.0.0.1:1", "lsq.reports", HANDLERS)
    for start in range(0, len(events), batch):
        runner.apply_batch(events[start:start + batch])


@pytest.fixture
def app(database_url, network):
    app = make_app("reports", database_url)
    feed(app, network.events)
    yield app
    app.extensions["lsq"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()
