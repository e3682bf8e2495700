"""Incoming events → the reports read model (every lsq.* event a report uses).

Idempotent through the inbox (each event applied once); order-tolerant: a complaint's row is
created by whichever of its events comes first and each event sets only its own columns, praise
rejected before its receipt stays uncounted, a rescore older than the result kept is ignored.
Days are the network's calendar days of the fact (``shared.timeutil.local_date``).
"""
from __future__ import annotations

from decimal import Decimal

from services.reports import store
from services.reports.store import NONE
from shared.consumer import PoisonEvent
from shared.directory_view import DIRECTORY_HANDLERS, directory_change
from shared.events.envelope import Event
from shared.timeutil import local_date


def _complaint(conn, d: dict, **values) -> None:
    base = {"branch_id": d["branch_id"]}
    for key in ("staff_id", "service_point_id"):
        if d.get(key):
            base[key] = d[key]
    store.upsert(conn, store.complaint_facts, {"complaint_id": d["complaint_id"]}, {**base, **values})


def on_complaint_filed(conn, event: Event) -> None:
    d = event.data
    _complaint(conn, d, severity=d["severity"], category=d["category"], filed_at=d["filed_at"],
               filed_day=local_date(d["filed_at"]), ack_due_at=d["acknowledge_due_at"],
               resolve_due_at=d["resolve_due_at"])


def on_complaint_acknowledged(conn, event: Event) -> None:
    d = event.data
    values = {"acknowledged_at": d["acknowledged_at"]}
    if d.get("handler_id"):
        values["handler_id"] = d["handler_id"]
    _complaint(conn, d, **values)


def on_complaint_resolved(conn, event: Event) -> None:
    d = event.data
    row = store.get(conn, store.complaint_facts, complaint_id=d["complaint_id"])
    # A resolution older than a reopening seen already does not close the complaint again.
    if row is not None and row["reopened_at"] is not None and row["reopened_at"] > d["resolved_at"]:
        return
    values = {"severity": d["severity"], "category": d["category"], "outcome": d["outcome"],
              "resolved_at": d["resolved_at"], "filed_at": d["filed_at"], "filed_day": local_date(d["filed_at"])}
    if d.get("handler_id"):
        values["handler_id"] = d["handler_id"]
    _complaint(conn, d, **values)


def on_complaint_reopened(conn, event: Event) -> None:
    d = event.data
    row = store.get(conn, store.complaint_facts, complaint_id=d["complaint_id"])
    values = {"reopened_at": d["reopened_at"]}
    if row is None or row["resolved_at"] is None or row["resolved_at"] < d["reopened_at"]:
        values.update(resolved_at=None, outcome=None)
    _complaint(conn, d, **values)


def on_sla_at_risk(conn, event: Event) -> None:
    d = event.data
    _complaint(conn, d, **{f"{'ack' if d['target'] == 'acknowledge' else 'resolve'}_at_risk": True,
                           "severity": d["severity"]})


def on_sla_breached(conn, event: Event) -> None:
    d = event.data
    prefix = "ack" if d["target"] == "acknowledge" else "resolve"
    _complaint(conn, d, **{f"{prefix}_breached": True, f"{prefix}_breach_due_at": d["due_at"],
                           "severity": d["severity"]})


def on_complaint_rated(conn, event: Event) -> None:
    d = event.data
    if not 1 <= d["rating"] <= 5:
        raise PoisonEvent(f"rating must be 1-5, not {d['rating']}")
    _complaint(conn, d, rating=d["rating"])


def on_rating_submitted(conn, event: Event) -> None:
    d = event.data
    if not 1 <= d["stars"] <= 5:
        raise PoisonEvent(f"stars must be 1-5, not {d['stars']}")
    wait = d.get("wait_minutes")
    if wait is not None and wait < 0:
        wait = None
    store.add_wait(conn, {"day": local_date(d["submitted_at"]), "branch_id": d["branch_id"],
                          "service_point_id": d["service_point_id"], "staff_id": d.get("staff_id") or NONE},
                   d["stars"], wait)


def on_praise_received(conn, event: Event) -> None:
    d = event.data
    row = store.get(conn, store.praise_facts, praise_id=d["praise_id"])
    day = local_date(d["received_at"])
    staff = d.get("staff_id") or NONE
    if row is None:
        store.insert(conn, store.praise_facts, {"praise_id": d["praise_id"], "branch_id": d["branch_id"],
                                                "staff_id": staff, "day": day, "rejected": False})
        store.add_to(conn, store.praise_daily, {"day": day, "branch_id": d["branch_id"], "staff_id": staff},
                     {"praise": 1})
    elif row["day"] is None:  # rejected first: remember the day, count nothing
        store.upsert(conn, store.praise_facts, {"praise_id": d["praise_id"]}, {"day": day})


def on_praise_rejected(conn, event: Event) -> None:
    d = event.data
    row = store.get(conn, store.praise_facts, praise_id=d["praise_id"])
    if row is None:
        store.insert(conn, store.praise_facts, {"praise_id": d["praise_id"], "branch_id": d["branch_id"],
                                                "staff_id": d.get("staff_id") or NONE, "day": None, "rejected": True})
    elif not row["rejected"]:
        store.upsert(conn, store.praise_facts, {"praise_id": d["praise_id"]}, {"rejected": True})
        store.add_to(conn, store.praise_daily, {"day": row["day"], "branch_id": row["branch_id"],
                                                "staff_id": row["staff_id"]}, {"praise": -1})


def on_training_completed(conn, event: Event) -> None:
    d = event.data
    store.add_to(conn, store.training_daily, {"day": d["completed_on"], "branch_id": d["branch_id"],
                                              "staff_id": d["staff_id"]},
                 {"completions": 1, "hours": float(d["hours"]), "credit_hours": float(d["credit_hours"])})


def on_requirement_overdue(conn, event: Event) -> None:
    d = event.data
    store.upsert(conn, store.requirement_overdue, {"requirement_id": d["requirement_id"], "period": d["period"]},
                 {"staff_id": d["staff_id"], "branch_id": d["branch_id"], "day": d["overdue_since"]})


def on_evaluation_scored(conn, event: Event) -> None:
    d = event.data
    row = store.get(conn, store.evaluation_results, evaluation_id=d["evaluation_id"])
    if row is not None and row["revision"] >= d["revision"]:
        return  # a newer revision is kept already (events of one result may arrive out of order)
    day = local_date(d["published_at"])
    if row is not None:
        day = min(day, row["day"])
    store.upsert(conn, store.evaluation_results, {"evaluation_id": d["evaluation_id"]}, {
        "cycle_id": d["cycle_id"], "staff_id": d["staff_id"], "branch_id": d["branch_id"], "period": d["period"],
        "score": float(d["score"]), "grade": d["grade"], "revision": d["revision"], "day": day})


def on_evaluation_rescored(conn, event: Event) -> None:
    d = event.data
    on_evaluation_scored(conn, event)
    if d.get("appeal_id"):
        store.add_to(conn, store.appeal_daily, {"day": local_date(d["published_at"]), "branch_id": d["branch_id"],
                                                "kind": "evaluation"}, {"filed": 1, "overturned": 1})


def _money(value) -> float:
    return float(Decimal(str(value)))


def _ledger(conn, entry_id: str, d: dict, **values) -> None:
    store.upsert(conn, store.ledger_entries, {"entry_id": entry_id},
                 {"staff_id": d["staff_id"], "branch_id": d["branch_id"], **values})


def on_award_granted(conn, event: Event) -> None:
    d = event.data
    store.add_to(conn, store.award_daily, {"day": local_date(d["granted_at"]), "branch_id": d["branch_id"]},
                 {"granted": 1, "granted_amount": _money(d["amount"])})
    _ledger(conn, f"award:{d['award_id']}", d, kind="award", detail=d["tier"], amount=_money(d["amount"]),
            at=d["granted_at"], reason_zh=d["reason_zh"], reason_en=d["reason_en"], state="granted")


def on_award_pending(conn, event: Event) -> None:
    d = event.data
    store.add_to(conn, store.award_daily, {"day": local_date(d["requested_at"]), "branch_id": d["branch_id"]},
                 {"pending": 1})


def on_award_revoked(conn, event: Event) -> None:
    d = event.data
    store.add_to(conn, store.award_daily, {"day": local_date(d["revoked_at"]), "branch_id": d["branch_id"]},
                 {"revoked": 1, "revoked_amount": _money(d["amount"])})
    _ledger(conn, f"award:{d['award_id']}", d, kind="award", detail=d["tier"], amount=_money(d["amount"]),
            at=d["revoked_at"], reason_zh=d["reason_zh"], reason_en=d["reason_en"], state="revoked")


def on_sanction_issued(conn, event: Event) -> None:
    d = event.data
    store.add_to(conn, store.sanction_daily, {"day": local_date(d["issued_at"]), "branch_id": d["branch_id"],
                                              "level": d["level"]}, {"issued": 1})
    _ledger(conn, f"sanction:{d['sanction_id']}", d, kind="sanction", detail=d["level"], amount=None,
            at=d["issued_at"], reason_zh=d["reason_zh"], reason_en=d["reason_en"], state="issued")


def on_sanction_revoked(conn, event: Event) -> None:
    d = event.data
    store.add_to(conn, store.sanction_daily, {"day": local_date(d["revoked_at"]), "branch_id": d["branch_id"],
                                              "level": d["level"]}, {"revoked": 1})
    row = store.get(conn, store.ledger_entries, entry_id=f"sanction:{d['sanction_id']}")
    if row is not None:
        store.upsert(conn, store.ledger_entries, {"entry_id": row["entry_id"]}, {"state": "revoked"})
    else:
        _ledger(conn, f"sanction:{d['sanction_id']}", d, kind="sanction", detail=d["level"], amount=None,
                at=d["revoked_at"], reason_zh=d["reason_zh"], reason_en=d["reason_en"], state="revoked")


def on_sanction_appealed(conn, event: Event) -> None:
    d = event.data
    store.add_to(conn, store.appeal_daily, {"day": local_date(d["appealed_at"]), "branch_id": d["branch_id"],
                                            "kind": "sanction"}, {"filed": 1})


def on_appeal_decided(conn, event: Event) -> None:
    d = event.data
    store.add_to(conn, store.appeal_daily, {"day": local_date(d["decided_at"]), "branch_id": d["branch_id"],
                                            "kind": "sanction"}, {d["decision"]: 1})


def on_survey_response(conn, event: Event) -> None:
    d = event.data
    day = local_date(d["submitted_at"])
    group = d.get("user_group") or NONE
    for triad in d.get("triads") or []:
        store.add_to(conn, store.survey_daily, {"day": day, "branch_id": d["branch_id"], "user_group": group,
                                                "dimension": triad["dimension"], "item_code": triad["item_code"]},
                     {"n": 1, "s_min": triad["minimum"], "s_des": triad["desired"], "s_per": triad["perceived"]})


# -- the directory (names), through the batch ------------------------------------------------------
def on_directory_event(conn, event: Event) -> None:
    """The row ``shared.directory_view`` writes for this event, written through ``store`` so that a
    batch keeps it in memory and stores it once (a large network's staff arrive by the thousand in
    a catch-up; one statement pair each was most of its time)."""
    change = directory_change(event)
    exists = store.get(conn, change.table, **change.key) is not None
    store.upsert(conn, change.table, change.key, change.update if exists else change.insert)


DIRECTORY = {event_type: on_directory_event for event_type in DIRECTORY_HANDLERS}

HANDLERS = {
    **DIRECTORY,
    "lsq.complaint.filed.v1": on_complaint_filed,
    "lsq.complaint.acknowledged.v1": on_complaint_acknowledged,
    "lsq.complaint.resolved.v1": on_complaint_resolved,
    "lsq.complaint.reopened.v1": on_complaint_reopened,
    "lsq.complaint.sla_at_risk.v1": on_sla_at_risk,
    "lsq.complaint.sla_breached.v1": on_sla_breached,
    "lsq.complaint.rated.v1": on_complaint_rated,
    "lsq.rating.submitted.v1": on_rating_submitted,
    "lsq.praise.received.v1": on_praise_received,
    "lsq.praise.rejected.v1": on_praise_rejected,
    "lsq.training.completed.v1": on_training_completed,
    "lsq.requirement.overdue.v1": on_requirement_overdue,
    "lsq.evaluation.scored.v1": on_evaluation_scored,
    "lsq.evaluation.rescored.v1": on_evaluation_rescored,
    "lsq.award.granted.v1": on_award_granted,
    "lsq.award.pending_approval.v1": on_award_pending,
    "lsq.award.revoked.v1": on_award_revoked,
    "lsq.sanction.issued.v1": on_sanction_issued,
    "lsq.sanction.revoked.v1": on_sanction_revoked,
    "lsq.sanction.appealed.v1": on_sanction_appealed,
    "lsq.sanction.appeal_decided.v1": on_appeal_decided,
    "lsq.survey.response_submitted.v1": on_survey_response,
}
