"""Whatever JSON arrives, the answer is a 2xx or a 4xx naming what is wrong, never a 500."""
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.helpers import auth, make_app

from .conftest import ADMIN, Network, cycle_body

pytestmark = pytest.mark.integration

scalars = st.none() | st.booleans() | st.integers(-10 ** 12, 10 ** 12) | st.floats() | st.text(max_size=30)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(st.text(max_size=25), inner, max_size=4), max_leaves=10)
FIELDS = ["period", "period_start", "period_end", "scope", "branch_ids", "submission_deadline", "rubric_id",
          "rater_weights", "peers_per_person", "staff_id", "rater_type", "scores", "comments", "comment",
          "peer_ids", "dimensions", "reason", "decision", "score", "dimension_scores", "reader", "grade_bands",
          "appeal_days", "timezone", "min_peer_answers"]
bodies = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6) | json_values


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    else:
        url = request.getfixturevalue("postgres_server").new_database()
    app = make_app("evaluation", url)
    network = Network(app)
    branch = network.branch("FUZZ")
    staff = network.staff(branch, 4)
    client = app.test_client()
    cycle = client.post("/cycles", headers=ADMIN, json=cycle_body()).json
    assert client.post(f"/cycles/{cycle['id']}/open", headers=ADMIN).status_code == 200
    yield client, cycle["id"], branch, staff
    app.extensions["lsq"].db.dispose()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, target=st.integers(0, 6))
def test_random_bodies_never_give_a_500(world, body, target):
    client, cycle_id, branch, staff = world
    me = auth("staff", staff_id=staff[0], branch_id=branch)
    calls = [("post", "/cycles", ADMIN), ("put", "/settings", ADMIN), ("post", "/rubrics", ADMIN),
             ("post", f"/cycles/{cycle_id}/evaluations", me),
             ("put", f"/cycles/{cycle_id}/participants/{staff[1]}/peers", ADMIN),
             ("post", "/evaluations/nope/appeal", me), ("post", "/appeals/nope/decision", ADMIN)]
    method, path, headers = calls[target]
    response = getattr(client, method)(path, headers=headers, json=body)
    assert response.status_code < 500, (path, body, response.get_json())
    if response.status_code == 422:
        assert response.json.get("errors") or response.json.get("message"), response.json
