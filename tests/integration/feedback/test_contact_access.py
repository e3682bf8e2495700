"""The reader's contact for another service: only with a service token and a purpose, each access
recorded; nothing for a complaint without contact or after erasure."""
import pytest
from sqlalchemy import select

from services.feedback import store
from shared.auth import issue_token
from tests.helpers import TEST_SECRET, auth
from tests.integration.feedback.conftest import ADMIN, B1, DESK_1, STAFF_1, SUPERVISOR_1

pytestmark = pytest.mark.integration

COMPLAINT = {"branch_id": B1, "service_point_id": DESK_1, "staff_id": STAFF_1, "category": "attitude",
             "severity": "normal", "channel": "web", "description": "态度冷淡",
             "contact": {"name": "李雷", "email": "li.lei@example.cn"}}
NOTIFY = {"Authorization": "Bearer " + issue_token(TEST_SECRET, "service", subject="notify", issued_at=946684800,
                                                     ttl_seconds=100 * 365 * 86400)}


def _accesses(db, complaint_id):
    with db.read() as conn:
        return [dict(r) for r in conn.execute(select(store.contact_access).where(
            store.contact_access.c.complaint_id == complaint_id).order_by(store.contact_access.c.id)).mappings()]


def test_service_reads_contact_with_purpose_and_it_is_recorded(client, db):
    cid = client.post("/complaints", json=COMPLAINT).json["id"]
    response = client.get(f"/complaints/{cid}/contact?purpose=notify: lsq.complaint.resolved.v1", headers=NOTIFY)
    assert response.status_code == 200, response.json
    assert response.json["email"] == "li.lei@example.cn" and response.json["name"] == "李雷"
    assert response.json["language"] is None
    [access] = _accesses(db, cid)
    assert access["accessed_by"] == "notify" and access["purpose"] == "notify: lsq.complaint.resolved.v1"
    assert access["found"] is True and access["accessed_at"] is not None


def test_purpose_is_required(client):
    cid = client.post("/complaints", json=COMPLAINT).json["id"]
    response = client.get(f"/complaints/{cid}/contact", headers=NOTIFY)
    assert response.status_code == 422 and "purpose" in response.json["errors"]


@pytest.mark.parametrize("headers", [SUPERVISOR_1, ADMIN, auth("auditor"), {}])
def test_only_the_service_role_may_read_it(client, db, headers):
    cid = client.post("/complaints", json=COMPLAINT).json["id"]
    response = client.get(f"/complaints/{cid}/contact?purpose=curious", headers=headers)
    assert response.status_code in (401, 403)
    assert _accesses(db, cid) == []


def test_no_contact_or_erased_contact_is_404_and_still_recorded(client, db):
    bare = client.post("/complaints", json={k: v for k, v in COMPLAINT.items() if k != "contact"}).json["id"]
    assert client.get(f"/complaints/{bare}/contact?purpose=notify", headers=NOTIFY).status_code == 404
    assert [a["found"] for a in _accesses(db, bare)] == [False]
    filed = client.post("/complaints", json=COMPLAINT).json
    assert client.delete(f"/complaints/track/{filed['tracking_code']}/contact").status_code == 200
    response = client.get(f"/complaints/{filed['id']}/contact?purpose=notify", headers=NOTIFY)
    assert response.status_code == 404 and "li.lei" not in response.get_data(as_text=True)
    assert client.get("/complaints/nope/contact?purpose=notify", headers=NOTIFY).status_code == 404
