"""Directory rules without I/O."""
from datetime import date

import pytest

from services.directory import model
from services.directory.model import Staff
from shared.errors import Conflict, Forbidden, Invalid


def _staff(**changes) -> Staff:
    base = dict(id="s1", employee_number="E1", name="王芳", role="staff", branch_id="b1",
                hire_date=date(2024, 3, 1))
    return Staff(**{**base, **changes})


def test_network_admin_manages_everything():
    model.check_may_manage("network_admin", None, "any-branch", "network_admin")


def test_branch_manager_manages_only_own_branch_and_non_network_roles():
    model.check_may_manage("branch_manager", "b1", "b1", "supervisor")
    with pytest.raises(Forbidden):
        model.check_may_manage("branch_manager", "b1", "b2", "staff")
    with pytest.raises(Forbidden):
        model.check_may_manage("branch_manager", "b1", "b1", "network_admin")


@pytest.mark.parametrize("role", ["staff", "supervisor", "auditor", "reader"])
def test_other_roles_cannot_change_the_directory(role):
    with pytest.raises(Forbidden):
        model.check_may_manage(role, "b1", "b1")


def test_transfer_rules():
    model.check_transfer(_staff(), "b2", date(2025, 1, 1))
    with pytest.raises(Invalid) as same:
        model.check_transfer(_staff(), "b1", date(2025, 1, 1))
    assert same.value.field == "to_branch_id"
    with pytest.raises(Invalid) as early:
        model.check_transfer(_staff(), "b2", date(2024, 1, 1))
    assert early.value.field == "effective_date"
    with pytest.raises(Conflict):
        model.check_transfer(_staff(status="left"), "b2", date(2025, 1, 1))


def test_leave_rules():
    model.check_leave(_staff(), date(2026, 1, 1))
    with pytest.raises(Conflict):
        model.check_leave(_staff(status="left"), date(2026, 1, 1))
    with pytest.raises(Invalid) as early:
        model.check_leave(_staff(), date(2020, 1, 1))
    assert early.value.field == "left_on"


def test_update_returns_only_real_changes_and_refuses_branch_and_leaving():
    assert model.check_update(_staff(), {"name": "王芳", "role": "supervisor"}) == {"role": "supervisor"}
    with pytest.raises(Invalid) as branch:
        model.check_update(_staff(), {"branch_id": "b2"})
    assert branch.value.field == "branch_id"
    with pytest.raises(Invalid) as status:
        model.check_update(_staff(), {"status": "left"})
    assert status.value.field == "status"
