"""Notify: default rules for the events added after the first release (peer ratings asked, the
evaluation deadline near, an enrolment moved off the waiting list, an external activity waiting for
approval, a complaint waiting on the reader).

A database seeded before has rules already, so ``seed_default_rules`` (which seeds an empty table
only) would never add these: this revision adds them there, once, for each (event type, recipient
kind) that has no rule yet. A fresh database is left to the seeding, which writes every default.

Revision ID: notify_0002
Revises: notify_0001
Create Date: 2026-12-10
"""
import json
import uuid
import sqlalchemy as sa
from alembic import op

revision = "notify_0002"
down_revision = "notify_0001"
branch_labels = None
depends_on = None

#: Frozen here: later releases add their own revision for their own new event types.
NEW_EVENT_TYPES = ("lsq.cycle.peer_ratings_requested.v1", "lsq.cycle.deadline_approaching.v1",
                   "lsq.training.enrolment_promoted.v1", "lsq.training.external_submitted.v1",
                   "lsq.complaint.waiting_on_reader.v1")


def upgrade() -> None:
    from services.notify import store
    from shared.timeutil import utcnow
    from services.notify.model import DEFAULT_RULES  # the texts as this release ships them

    bind = op.get_bind()
    if bind.execute(sa.text("SELECT COUNT(*) FROM notify_rules")).scalar_one() == 0:
        return  # not seeded yet: the seeding writes these with the others
    existing = set(bind.execute(sa.text("SELECT event_type, recipient_kind FROM notify_rules")).tuples())
    now = utcnow()
    rows = [{"id": str(uuid.uuid4()), "event_type": r.event_type, "recipient_kind": r.recipient_kind,
             "channels": json.dumps(list(r.channels)), "subject_zh": r.subject_zh, "subject_en": r.subject_en,
             "body_zh": r.body_zh, "body_en": r.body_en, "enabled": True, "updated_at": now, "updated_by": None}
            for r in DEFAULT_RULES
            if r.event_type in NEW_EVENT_TYPES and (r.event_type, r.recipient_kind) not in existing]
    if rows:
        bind.execute(store.rules.insert(), rows)  # the table's own types: times stored as the service does


def downgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.text("DELETE FROM notify_rules WHERE event_type IN :types")
                 .bindparams(sa.bindparam("types", expanding=True)), {"types": list(NEW_EVENT_TYPES)})
