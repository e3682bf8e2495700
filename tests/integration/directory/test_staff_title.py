"""A staff member's professional title (职称): optional, in the API and in the staff events."""
import pytest

from shared import outbox
from tests.helpers import auth, make_app

pytestmark = pytest.mark.integration
ADMIN = auth("network_admin")


@pytest.fixture
def client(database_url):
    app = make_app("directory", database_url)
    yield app.test_client()
    app.extensions["lsq"].db.dispose()


def _events(client, staff_id):
    with client.application.extensions["lsq"].db.read() as conn:
        return [(e.type, e.data) for e in outbox.events_for(conn, subject=staff_id)]


def test_the_title_is_optional_validated_changed_and_published(client):
    branch = client.post("/branches", headers=ADMIN, json={"code": "CEN", "name_zh": "中心馆", "name_en": "Central"})
    assert branch.status_code == 201, branch.json
    base = {"name": "李娜", "branch_id": branch.json["id"], "hire_date": "2020-03-01"}
    bad = client.post("/staff", headers=ADMIN, json={**base, "employee_number": "E1", "title": "professor"})
    assert bad.status_code == 422 and "title" in bad.json["errors"]
    untitled = client.post("/staff", headers=ADMIN, json={**base, "employee_number": "E2"})
    assert untitled.status_code == 201 and untitled.json["title"] is None and untitled.json["title_zh"] is None
    titled = client.post("/staff", headers=ADMIN, json={**base, "employee_number": "E3", "title": "intermediate"})
    assert titled.status_code == 201 and titled.json["title_zh"] == "中级"
    assert _events(client, titled.json["id"])[0][1]["title"] == "intermediate"
    promoted = client.patch(f"/staff/{titled.json['id']}", headers=ADMIN, json={"title": "associate_senior"})
    assert promoted.status_code == 200 and promoted.json["title_zh"] == "副高级"
    assert client.get(f"/staff/{titled.json['id']}", headers=ADMIN).json["title"] == "associate_senior"
    kind, data = _events(client, titled.json["id"])[-1]
    assert kind == "lsq.staff.updated.v1" and data["title"] == "associate_senior"
    renamed = client.patch(f"/staff/{titled.json['id']}", headers=ADMIN, json={"name": "李娜娜"})
    assert renamed.status_code == 200 and _events(client, titled.json["id"])[-1][1]["title"] == "associate_senior"
