"""A ledger entry's reason shows the score rounded half up, as a reader expects."""
from datetime import datetime, timezone
from decimal import Decimal

from services.incentive.handlers import _reason
from services.incentive.model import Rule
from shared.events.envelope import Event


def test_a_score_of_40_25_reads_40_3_points():
    event = Event(id="e1", type="lsq.evaluation.scored.v1", source="/lsq/evaluation", subject="s1",
                  time=datetime(2026, 12, 3, tzinfo=timezone.utc),
                  data={"period": "2026-Q4", "grade": "unsatisfactory", "score": Decimal("40.25")})
    english, chinese = _reason(event, Rule(id="R7", on="lsq.evaluation.scored.v1", when={}))
    assert "（40.3 分）" in chinese and "不合格" in chinese
    assert "(score 40.3)" in english
