"""Whatever a reader sends to the anonymous endpoints (or an admin to the settings), the answer is a
2xx or a clear 4xx, never 500."""
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from shared.timeutil import rfc3339, utcnow
from tests.helpers import make_app
from tests.integration.feedback.conftest import ADMIN, B1, DESK_1, STAFF_1, seed_directory

pytestmark = pytest.mark.integration

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 20), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=12), st.sampled_from([B1, DESK_1, STAFF_1, "attitude", "urgent", "web", "student",
                                                           "09:00", "2026-13-40", "na"]))
# Keys the schemas know, so that nested objects (triads, contact details) are reached too.
keys = st.one_of(st.text(max_size=8), st.sampled_from(["minimum", "desired", "perceived", "na", "name", "phone",
                                                       "email", "rating", "stars", "service_point_id", "answers"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(keys, inner, max_size=4)),
                           max_leaves=12)


def _bodies(keys):
    return st.one_of(json_values, st.dictionaries(st.sampled_from(keys), json_values, max_size=len(keys)))


triads = st.dictionaries(st.sampled_from(["minimum", "desired", "perceived", "na"]), scalars, max_size=4)
# Required items are mostly valid so that the checks of the later items are reached.
survey_answers = st.builds(lambda base, extra: {**base, **extra},
                           st.fixed_dictionaries({"UG": st.one_of(st.just("student"), scalars),
                                                  "GS3": st.one_of(st.just(4), scalars)}),
                           st.dictionaries(st.sampled_from(["AF1", "PL2", "GS1", "NPS", "VISIT", "COMMENT", "XX"]),
                                           st.one_of(triads, json_values), max_size=5))
hours = st.fixed_dictionaries({"week": st.dictionaries(st.sampled_from(["mon", "tue", "sun", "xyz"]),
                                                      st.lists(st.lists(scalars, max_size=3), max_size=3), max_size=3)},
                              optional={"timezone": scalars, "closed_dates": st.lists(scalars, max_size=3)})
COMPLAINT_KEYS = ["branch_id", "service_point_id", "staff_id", "category", "severity", "channel", "description",
                  "contact"]


def test_anonymous_endpoints_never_answer_500(sqlite_url):
    app = make_app("feedback", sqlite_url)
    seed_directory(app.extensions["lsq"].db)
    client = app.test_client()
    survey_id = client.post("/surveys", headers=ADMIN, json={
        "branch_ids": [B1], "opens_at": rfc3339(utcnow() - timedelta(hours=1)),
        "closes_at": rfc3339(utcnow() + timedelta(days=1))}).json["id"]
    code = client.post("/complaints", json={"branch_id": B1, "category": "other", "description": "x"}).json[
        "tracking_code"]

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    @given(complaint=_bodies(COMPLAINT_KEYS), answers=survey_answers, other=json_values,
           path=st.text(max_size=20), opening=st.one_of(hours, json_values))
    def check(complaint, answers, other, path, opening):
        responses = [
            client.post("/complaints", json=complaint),
            client.post(f"/surveys/{survey_id}/responses", json={"answers": answers, "branch_id": B1}),
            client.post(f"/surveys/{survey_id}/responses", json=other),
            client.post("/praise", json=other),
            client.post("/ratings", json=other),
            client.post(f"/complaints/track/{code}/rating", json=other),
            client.get(f"/complaints/track/{path.replace('/', '')}x"),
            # and what a network admin may send to the settings
            client.put(f"/branches/{B1}/opening-hours", json=opening, headers=ADMIN),
            client.put("/sla-policy", json=other, headers=ADMIN),
            client.post("/instruments", json=other, headers=ADMIN),
            client.post("/surveys", json=other, headers=ADMIN),
            client.post("/forums", json=other, headers=ADMIN),
        ]
        for response in responses:
            assert response.status_code < 500, (response.request.path, response.get_data(as_text=True))

    check()
    app.extensions["lsq"].db.dispose()
