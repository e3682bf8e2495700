"""Issue 16 end to end, through real processes (notify's web, worker and the stack's local SMTP
server writing ``var/mail/*.eml``): a reader who left an e-mail files a complaint; when it is
resolved the reader gets the message with the rating link; the substantiated complaint gives the
staff member a sanction, and notify tells them in their inbox and by e-mail.

Every wait is a bounded poll: no fixed sleeps.
"""
from __future__ import annotations

import functools
import uuid
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import requests

from tests import helpers
from tests.helpers import auth

pytestmark = pytest.mark.e2e

ADMIN = auth("network_admin")
DEADLINE = 45.0  # seconds: event → incentive → notify → SMTP, each polling its outbox
eventually = functools.partial(helpers.eventually, timeout=DEADLINE, interval=0.3)
call = helpers.call


def mails(system) -> list:
    """Every message the stack's local mail server kept, parsed."""
    folder = Path(system.var) / "mail"
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(folder.glob("*.eml"))]


def mail_to(system, address: str, subject_part: str):
    found = [m for m in mails(system) if address in str(m["To"]) and subject_part in str(m["Subject"])]
    return found or None


def text_of(message) -> str:
    return "\n".join(part.get_content() for part in message.walk() if part.get_content_type() == "text/plain")


@pytest.fixture(scope="module")
def people(system):
    if "notify" not in system.services:
        pytest.skip("the notify service is not part of this stack")
    d = system.url("directory")
    tag = uuid.uuid4().hex[:6].upper()
    branch = call("POST", d + "/branches", json={"code": f"NTF{tag}", "name_zh": "南湖分馆",
                                                 "name_en": "South Lake Branch"}, headers=ADMIN)
    desk = call("POST", d + "/service-points", json={"branch_id": branch["id"], "name_zh": "咨询台",
                                                      "name_en": "Information desk", "kind": "reference"},
                headers=ADMIN)
    staff_mail = f"zhou.{tag.lower()}@lib.example"
    staff = call("POST", d + "/staff", json={"employee_number": f"N{tag}-STA", "name": "周晓燕", "role": "staff",
                                             "branch_id": branch["id"], "hire_date": "2022-05-01",
                                             "email": staff_mail}, headers=ADMIN)["id"]
    supervisor = call("POST", d + "/staff", json={"employee_number": f"N{tag}-SUP", "name": "孙立新",
                                                  "role": "supervisor", "branch_id": branch["id"],
                                                  "hire_date": "2019-05-01"}, headers=ADMIN)["id"]
    b = branch["id"]
    for sid in (staff, supervisor):  # notify and incentive learn them from the directory's events
        eventually(lambda: requests.get(system.url("incentive", f"/staff/{sid}/standing"), headers=ADMIN,
                                        timeout=5).status_code == 200, "incentive knows the staff")
        eventually(lambda: requests.get(system.url("notify", f"/preferences/{sid}"), headers=ADMIN,
                                        timeout=5).status_code == 200, "notify knows the staff")
    return {"branch": b, "desk": desk["id"], "staff": staff, "staff_mail": staff_mail, "supervisor": supervisor,
            "staff_auth": auth("staff", staff, b), "supervisor_auth": auth("supervisor", supervisor, b)}


def test_the_reader_gets_the_rating_link_and_the_staff_member_the_sanction(system, people):
    p = people
    reader_mail = f"reader.{uuid.uuid4().hex[:8]}@example.org"
    body = {"branch_id": p["branch"], "service_point_id": p["desk"], "staff_id": p["staff"], "category": "attitude",
            "severity": "normal", "channel": "desk", "contact": {"email": reader_mail},
            "description": "咨询时馆员态度冷淡，没有回答我的问题。/ The librarian was cold and did not answer."}

    def file():
        r = requests.post(system.url("feedback", "/complaints"), json=body, timeout=10)
        if r.status_code == 422:  # feedback is still learning of the staff member
            return None
        assert r.status_code == 201, r.text
        return r.json()

    filed = eventually(file, "feedback accepts the complaint")
    assert filed["has_contact"] is True
    base = system.url("feedback", f"/complaints/{filed['id']}")
    sup = p["supervisor_auth"]
    call("POST", base + "/acknowledge", json={"handler_id": p["supervisor"]}, headers=sup)
    call("POST", base + "/investigate", json={"note": "调看监控，约谈当事馆员"}, headers=sup)
    call("POST", base + "/resolve", headers=sup, json={
        "outcome": "substantiated", "response": "经核实投诉属实，已对当事馆员进行批评教育。/ Substantiated."})

    # The reader: acknowledged, then resolved with the link to rate the resolution.
    [resolved] = eventually(lambda: mail_to(system, reader_mail, "办结"), "the reader's resolved message")
    text = text_of(resolved)
    assert "/track" in text and "Your complaint is resolved" in str(resolved["Subject"]) + text
    assert eventually(lambda: mail_to(system, reader_mail, "受理"), "the reader's acknowledged message")
    # The staff member: the sanction is in their inbox and in their mailbox.
    def sanction_in_inbox():
        items = call("GET", system.url("notify", "/inbox"), headers=p["staff_auth"])["items"]
        return [m for m in items if m["event_type"] == "lsq.sanction.issued.v1"] or None

    [message] = eventually(sanction_in_inbox, "the sanction in the staff member's inbox")
    assert message["subject_zh"] == "您收到一项处分通知" and message["read_at"] is None
    assert call("GET", system.url("notify", "/inbox/unread-count"), headers=p["staff_auth"])["unread"] >= 1
    [mailed] = eventually(lambda: mail_to(system, p["staff_mail"], "处分"), "the sanction by e-mail")
    assert "周晓燕" in text_of(mailed) or "A sanction was issued to you" in text_of(mailed)
    # Nothing was sent twice, and no reader address ever reached another mailbox.
    assert len(mail_to(system, p["staff_mail"], "处分")) == 1
    assert all(reader_mail not in str(m["To"]) for m in mails(system) if p["staff_mail"] in str(m["To"]))
