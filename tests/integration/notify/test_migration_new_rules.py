"""A notify database seeded before the issue-16 events gets their default rules from notify_0002,
once, without touching the rules it has; a fresh one gets every default from the seeding."""
import pytest
from sqlalchemy import delete, select

from services.notify import model, service, store
from shared.db import Database, upgrade

pytestmark = pytest.mark.integration
NEW = {"lsq.cycle.peer_ratings_requested.v1", "lsq.cycle.deadline_approaching.v1",
       "lsq.training.enrolment_promoted.v1", "lsq.training.external_submitted.v1",
       "lsq.complaint.waiting_on_reader.v1"}


def _rules(db):
    with db.read() as conn:
        return [dict(r) for r in conn.execute(select(store.rules)).mappings()]


def test_a_database_seeded_before_gets_the_new_rules_once(database_url):
    db = Database(database_url, "notify")
    try:
        upgrade(db.engine, "notify", "notify_0001")
        assert service.seed_default_rules(db) == len(model.DEFAULT_RULES)
        with db.transaction() as conn:  # as the first release seeded it: without the new events' rules
            conn.execute(delete(store.rules).where(store.rules.c.event_type.in_(NEW)))
            conn.execute(store.rules.update().where(store.rules.c.event_type == "lsq.sanction.issued.v1")
                         .values(subject_zh="已改过的标题"))
        upgrade(db.engine, "notify", "head")
        rules = _rules(db)
        assert {r["event_type"] for r in rules} >= NEW
        assert len(rules) == len(model.DEFAULT_RULES)
        assert [r["subject_zh"] for r in rules if r["event_type"] == "lsq.sanction.issued.v1"] == ["已改过的标题"]
        assert all(r["updated_at"] is not None and r["updated_at"].tzinfo for r in rules)
    finally:
        db.dispose()
