"""The directory's public desk look-up (``GET /public/service-points/{id}``), on SQLite and PostgreSQL:
anonymous, read-only, names only, active staff of the desk's branch sorted by name, 404 in the one
error shape."""
import pytest

from shared.auth import endpoints_without_access
from tests.helpers import auth, make_app

pytestmark = pytest.mark.integration
ADMIN = auth("network_admin")


@pytest.fixture
def app(database_url):
    return make_app("directory", database_url)


@pytest.fixture
def client(app):
    return app.test_client()


def _post(client, path, body):
    r = client.post(path, json=body, headers=ADMIN)
    assert r.status_code == 201, r.json
    return r.json


def _person(client, branch_id, number, name, role="staff", email=None):
    return _post(client, "/staff", {"employee_number": number, "name": name, "role": role, "branch_id": branch_id,
                                    "hire_date": "2022-05-01", "email": email})


@pytest.fixture
def desk(client):
    """A branch with a desk and staff (active, on leave, left), and another branch with its own staff."""
    central = _post(client, "/branches", {"code": "CEN", "name_zh": "中心馆", "name_en": "Central Library"})
    east = _post(client, "/branches", {"code": "EAST", "name_zh": "东城分馆", "name_en": "East Branch"})
    point = _post(client, "/service-points", {"branch_id": central["id"], "name_zh": "总服务台",
                                              "name_en": "Main desk", "kind": "circulation"})
    people = {
        "zhang": _person(client, central["id"], "C001", "张伟", "branch_manager", email="zhang@example.org"),
        "wang": _person(client, central["id"], "C002", "王芳"),
        "li": _person(client, central["id"], "C003", "李娜", "supervisor"),
        "chen": _person(client, central["id"], "C004", "陈静"),
        "zhao": _person(client, central["id"], "C005", "赵磊"),
        "east": _person(client, east["id"], "E001", "刘洋"),
    }
    assert client.patch(f"/staff/{people['chen']['id']}", json={"status": "on_leave"}, headers=ADMIN).status_code == 200
    assert client.post(f"/staff/{people['zhao']['id']}/leave", json={"reason": "retired"},
                       headers=ADMIN).status_code == 200
    return {"central": central, "east": east, "point": point, "people": people}


def test_a_desk_with_its_branch_and_active_staff_by_name_without_a_token(client, desk):
    r = client.get(f"/public/service-points/{desk['point']['id']}")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["id"] == desk["point"]["id"]
    assert (body["name_zh"], body["name_en"], body["kind"]) == ("总服务台", "Main desk", "circulation")
    central = desk["central"]
    assert body["branch"] == {"id": central["id"], "code": "CEN", "name_zh": "中心馆", "name_en": "Central Library"}
    people = desk["people"]
    expected = sorted([(people[k]["name"], people[k]["id"], people[k]["role"]) for k in ("zhang", "wang", "li")])
    assert [(s["name"], s["staff_id"], s["role"]) for s in body["staff"]] == expected
    # on leave, left and the other branch's staff are not listed
    names = {s["name"] for s in body["staff"]}
    assert not names & {"陈静", "赵磊", "刘洋"}


def test_no_personal_data_beyond_the_names(client, desk):
    body = client.get(f"/public/service-points/{desk['point']['id']}").json
    assert set(body) == {"id", "name_zh", "name_en", "kind", "branch", "staff"}
    assert all(set(s) == {"staff_id", "name", "role"} for s in body["staff"])
    text = str(body)
    assert "zhang@example.org" not in text and "C001" not in text and "2022-05-01" not in text


def test_an_unknown_desk_is_404_in_the_one_error_shape(client, desk):
    r = client.get("/public/service-points/no-such-desk")
    assert r.status_code == 404
    assert r.json["code"] == "service_point_not_found" and r.json["message_zh"] and r.json["request_id"]
    assert client.get("/public/service-points/no-such-desk", headers=ADMIN).status_code == 404


def test_read_only_and_declared_anonymous(app, client, desk):
    path = f"/public/service-points/{desk['point']['id']}"
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)(path, json={}).status_code == 405
    assert endpoints_without_access(app) == []
    rule = next(r for r in app.url_map.iter_rules() if r.rule == "/public/service-points/<point_id>")
    assert app.view_functions[rule.endpoint]._lsq_access == {"roles": (), "anonymous": True}


def test_a_branch_without_active_staff_lists_none(client):
    branch = _post(client, "/branches", {"code": "NEW", "name_zh": "新馆", "name_en": "New Branch"})
    point = _post(client, "/service-points", {"branch_id": branch["id"], "name_zh": "咨询台",
                                              "name_en": "Enquiries", "kind": "information"})
    body = client.get(f"/public/service-points/{point['id']}").json
    assert body["staff"] == [] and body["branch"]["code"] == "NEW" and body["kind"] == "information"


def test_rate_limited_per_client(database_url):
    from services.directory import public_api
    public_api.public_service_point.limiter._buckets.clear()  # one limiter per process: start full
    app = make_app("directory", database_url, RATE_LIMITS_ENABLED=True)
    client = app.test_client()
    codes = [client.get("/public/service-points/x").status_code for _ in range(125)]
    assert codes[0] == 404 and codes[-1] == 429
    assert client.get("/public/service-points/x").json["code"] == "rate_limited"


def test_documented_in_openapi(client):
    spec = client.get("/openapi.json").json
    assert "/public/service-points/{point_id}" in spec["paths"]
