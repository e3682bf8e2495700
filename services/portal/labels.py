"""What a person reads for each code the APIs send: every enumeration in both languages.

The English is the msgid; the Chinese comes from the catalogue (``translations/common``). Pages
use ``label("complaint_status", "waiting_on_reader")`` (in templates: ``label(...)``) and never
show a code.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

LABELS: dict[str, dict] = {
    "complaint_status": {
        "new": _l("New"), "acknowledged": _l("Acknowledged"), "investigating": _l("Investigating"),
        "waiting_on_reader": _l("Waiting on the reader"), "resolved": _l("Resolved"), "closed": _l("Closed"),
    },
    "severity": {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"), "urgent": _l("Urgent")},
    "category": {
        "attitude": _l("Service attitude"), "waiting": _l("Waiting and efficiency"),
        "competence": _l("Professional competence"), "environment": _l("Environment and facilities"),
        "policy": _l("Rules and policy"), "other": _l("Other"),
    },
    "channel": {"desk": _l("At the desk"), "phone": _l("By phone"), "web": _l("Online"), "email": _l("By e-mail"),
                "wechat": _l("WeChat"), "forum": _l("Reader forum")},
    "outcome": {
        "substantiated": _l("Substantiated"), "partially_substantiated": _l("Partially substantiated"),
        "unsubstantiated": _l("Unsubstantiated"), "withdrawn": _l("Withdrawn"),
    },
    "role": {
        "reader": _l("Reader"), "staff": _l("Staff member"), "supervisor": _l("Supervisor"),
        "branch_manager": _l("Branch manager"), "network_admin": _l("Network administrator"),
        "auditor": _l("Auditor"), "service": _l("System service"),
    },
    "staff_status": {"active": _l("Active"), "on_leave": _l("On leave"), "left": _l("Left")},
    "service_point_kind": {
        "circulation": _l("Circulation desk"), "reference": _l("Reference desk"), "children": _l("Children's desk"),
        "digital": _l("Digital services"), "information": _l("Information desk"), "other": _l("Other desk"),
    },
    "grade": {"excellent": _l("Excellent"), "good": _l("Good"), "satisfactory": _l("Satisfactory"),
              "unsatisfactory": _l("Unsatisfactory")},
    "rater_type": {"reader": _l("Readers"), "supervisor": _l("Supervisor"), "peer": _l("Peers"), "self": _l("Self")},
    "cycle_state": {"draft": _l("Draft"), "open": _l("In progress"), "closed": _l("Closed"), "published": _l("Published")},
    "sanction_level": {
        "notice": _l("Notice"), "verbal_warning": _l("Verbal warning"), "written_warning": _l("Written warning"),
        "improvement_plan": _l("Improvement plan"), "referral": _l("Referral"),
    },
    "external_kind": {
        "seminar": _l("Seminar"), "academic_forum": _l("Academic forum"), "conference": _l("Conference"),
        "networking": _l("Networking"), "teaching": _l("Teaching"),
    },
    "approval_status": {"submitted": _l("Waiting for approval"), "approved": _l("Approved"),
                        "rejected": _l("Rejected"), "pending": _l("Waiting for approval")},
    "enrolment_status": {
        "enrolled": _l("Enrolled"), "waitlisted": _l("On the waiting list"), "cancelled": _l("Cancelled"),
        "completed": _l("Completed"), "failed": _l("Not passed"), "absent": _l("Absent"),
    },
    "requirement_status": {"open": _l("Still to do"), "completed": _l("Completed"), "cancelled": _l("Cancelled"),
                           "waived": _l("Waived")},
    "requirement_kind": {
        "onboarding": _l("Onboarding"), "regulation": _l("Regulation course"), "recurrent": _l("Renewal"),
        "remedial": _l("Remedial training"), "assigned": _l("Assigned"), "annual_hours": _l("Annual hours"),
        "area_hours": _l("Hours in an area"),
    },
    "professional_title": {"junior": _l("Junior title"), "intermediate": _l("Intermediate title"),
                           "associate_senior": _l("Associate senior title"), "senior": _l("Senior title")},
    "sla_source": {"branch": _l("The branch's own"), "network": _l("The network's")},
    "policy_version_status": {"active": _l("In force"), "scheduled": _l("Starts later"),
                              "superseded": _l("Replaced"), "withdrawn": _l("Withdrawn")},
    "delivery": {"in_person": _l("In person"), "online": _l("Online")},
    "praise_reject_reason": {"spam": _l("Spam"), "abuse": _l("Abusive"), "duplicate": _l("Duplicate"),
                             "other": _l("Other reason")},
}


def label(kind: str, code) -> str:
    """The reader's word for ``code`` of ``kind``; a code nobody has named yet is shown as given."""
    if code is None or code == "":
        return ""
    found = LABELS.get(kind, {}).get(str(code))
    return str(found) if found is not None else str(code)


def choices(kind: str) -> list[tuple[str, str]]:
    """(code, label) pairs for a select box, in the order above."""
    return [(code, str(text)) for code, text in LABELS[kind].items()]
