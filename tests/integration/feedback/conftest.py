"""Fixtures of the feedback service tests: the app on each database, a seeded directory read model."""
from __future__ import annotations

import pytest

from shared.directory_view import known_branches, known_service_points, known_staff
from shared.timeutil import utcnow
from tests.helpers import auth, make_app

B1, B2 = "branch-1", "branch-2"
STAFF_1, STAFF_2, MANAGER_1 = "staff-1", "staff-2", "manager-1"
DESK_1, DESK_2 = "desk-1", "desk-2"
SUPERVISOR_1 = auth("supervisor", staff_id="sup-1", branch_id=B1)
SUPERVISOR_2 = auth("supervisor", staff_id="sup-2", branch_id=B2)
ADMIN = auth("network_admin")


def seed_directory(db) -> None:
    """Two branches with a desk each, two staff members and the manager of branch 1."""
    now = utcnow()
    with db.transaction() as conn:
        for branch, name in ((B1, "中心馆"), (B2, "东城分馆")):
            conn.execute(known_branches.insert().values(branch_id=branch, code=branch.upper(), name_zh=name,
                                                        name_en=branch))
        for desk, branch in ((DESK_1, B1), (DESK_2, B2)):
            conn.execute(known_service_points.insert().values(service_point_id=desk, branch_id=branch,
                                                              name_zh="总服务台", name_en="Main desk"))
        for staff_id, branch, role in ((STAFF_1, B1, "staff"), (STAFF_2, B2, "staff"),
                                       (MANAGER_1, B1, "branch_manager")):
            conn.execute(known_staff.insert().values(staff_id=staff_id, name=staff_id, role=role, branch_id=branch,
                                                     status="active", updated_at=now))


@pytest.fixture
def app(database_url):
    app = make_app("feedback", database_url)
    seed_directory(app.extensions["lsq"].db)
    yield app
    app.extensions["lsq"].db.dispose()


@pytest.fixture
def db(app):
    return app.extensions["lsq"].db


@pytest.fixture
def client(app):
    return app.test_client()
