"""Ledger reasons in Chinese name codes by their Chinese words and courses by their Chinese
titles, through the handlers on SQLite and PostgreSQL."""
import re
import uuid
from datetime import timedelta

import pytest

from tests.integration.incentive.support import T0, event, praise, praise_rejected
from tests.integration.incentive.test_handlers import B, _ledger, _staff

pytestmark = pytest.mark.integration


def test_a_rejected_praise_reads_its_reason_in_chinese(db, runner):
    staff = _staff(runner)
    received = praise(staff, B, T0)
    runner.apply_batch([received])
    runner.apply_batch([praise_rejected(received.data["praise_id"], staff, B, T0 + timedelta(hours=1))])
    revocation = _ledger(db, staff)[-1]
    assert revocation["kind"] == "revocation"
    assert "（垃圾信息）" in revocation["reason_zh"] and "spam" not in revocation["reason_zh"]
    assert "(spam)" in revocation["reason_en"]


def test_an_overdue_course_reads_with_its_chinese_title(db, runner):
    staff = _staff(runner)
    runner.apply_batch([event("lsq.requirement.overdue.v1", {
        "requirement_id": str(uuid.uuid4()), "staff_id": staff, "branch_id": B, "kind": "regulation",
        "course_id": "course-regs", "title": "Handling reader complaints", "title_zh": "读者投诉处理",
        "due_on": "2026-01-10", "period": "2026", "overdue_since": "2026-01-10"}, T0)])
    reasons = [e["reason_zh"] for e in _ledger(db, staff) if e["reason_zh"]]
    assert any("逾期：读者投诉处理" in r for r in reasons), reasons
    assert not any(re.search("Handling", r) for r in reasons)
