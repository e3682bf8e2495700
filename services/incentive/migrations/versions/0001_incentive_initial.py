"""Incentive: policies, funds, the ledger, awards, sanctions, ladder facts, points; messaging and
directory read-model tables; the default policy as version 1.

Revision ID: incentive_0001
Revises:
Create Date: 2026-11-28
"""
import json
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from shared.directory_view import create_directory_view_tables
from shared.migrations.messaging import create_messaging_tables, drop_messaging_tables

revision = "incentive_0001"
down_revision = None
branch_labels = ("incentive",)
depends_on = None

#: Version 1 is in force from this fixed moment, so every database (and every replay) agrees on it.
V1_ACTIVATED_AT = datetime(2000, 1, 1, tzinfo=timezone.utc)


def upgrade() -> None:
    create_messaging_tables(op)
    create_directory_view_tables(op)
    op.create_table('awards',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('branch_id', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=False),
    sa.Column('tier', sa.String(length=30), nullable=False),
    sa.Column('requested_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('waiting_for', sa.String(length=30), nullable=True),
    sa.Column('subject', sa.String(length=160), nullable=False),
    sa.Column('rule_id', sa.String(length=60), nullable=True),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('causes', sa.Text(), nullable=False),
    sa.Column('reason_en', sa.String(length=500), nullable=False),
    sa.Column('reason_zh', sa.String(length=500), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decision_note', sa.String(length=2000), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_awards_branch_status', 'awards', ['branch_id', 'status'], unique=False)
    op.create_index(op.f('ix_awards_staff_id'), 'awards', ['staff_id'], unique=False)
    op.create_index(op.f('ix_awards_subject'), 'awards', ['subject'], unique=False)
    op.create_table('completions',
    sa.Column('completion_id', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('course_id', sa.String(length=64), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('event_id', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('completion_id')
    )
    op.create_index(op.f('ix_completions_staff_id'), 'completions', ['staff_id'], unique=False)
    op.create_table('funds',
    sa.Column('branch_id', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=False),
    sa.Column('budget', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('reserved', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('granted', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('branch_id', 'period')
    )
    op.create_table('ladder_facts',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('branch_id', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('bump', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=True),
    sa.Column('grp', sa.String(length=60), nullable=True),
    sa.Column('free_notices', sa.Integer(), nullable=False),
    sa.Column('lapse_months', sa.Integer(), nullable=False),
    sa.Column('excluded', sa.Boolean(), nullable=False),
    sa.Column('subject', sa.String(length=160), nullable=False),
    sa.Column('rule_id', sa.String(length=60), nullable=False),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('appeal_days', sa.Integer(), nullable=False),
    sa.Column('causes', sa.Text(), nullable=False),
    sa.Column('reason_en', sa.String(length=500), nullable=False),
    sa.Column('reason_zh', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_index(op.f('ix_ladder_facts_staff_id'), 'ladder_facts', ['staff_id'], unique=False)
    op.create_index(op.f('ix_ladder_facts_subject'), 'ladder_facts', ['subject'], unique=False)
    op.create_table('ledger',
    sa.Column('position', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('branch_id', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('points', sa.Integer(), nullable=True),
    sa.Column('level', sa.String(length=20), nullable=True),
    sa.Column('tier', sa.String(length=30), nullable=True),
    sa.Column('refers_to', sa.String(length=36), nullable=True),
    sa.Column('subject', sa.String(length=160), nullable=False),
    sa.Column('rule_id', sa.String(length=60), nullable=True),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('causes', sa.Text(), nullable=False),
    sa.Column('reason_en', sa.String(length=500), nullable=False),
    sa.Column('reason_zh', sa.String(length=500), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('position'),
    sa.UniqueConstraint('id')
    )
    op.create_index('ix_ledger_branch', 'ledger', ['branch_id', 'occurred_at'], unique=False)
    op.create_index('ix_ledger_staff', 'ledger', ['staff_id', 'occurred_at'], unique=False)
    op.create_index('ix_ledger_subject', 'ledger', ['subject'], unique=False)
    op.create_table('ledger_causes',
    sa.Column('entry_id', sa.String(length=36), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('event_id', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('entry_id', 'source', 'event_id')
    )
    op.create_index('ix_ledger_causes_event', 'ledger_causes', ['event_id'], unique=False)
    op.create_table('points_awarded',
    sa.Column('subject', sa.String(length=160), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('entry_id', sa.String(length=36), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=True),
    sa.Column('rule_id', sa.String(length=60), nullable=True),
    sa.PrimaryKeyConstraint('subject')
    )
    op.create_table('points_tally',
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('rule_id', sa.String(length=60), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('staff_id', 'month', 'rule_id')
    )
    op.create_table('policies',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('version')
    )
    op.create_table('requirement_watch',
    sa.Column('subject', sa.String(length=160), nullable=False),
    sa.Column('requirement_id', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('branch_id', sa.String(length=64), nullable=False),
    sa.Column('course_id', sa.String(length=64), nullable=True),
    sa.Column('overdue_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('escalate_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('escalate_to', sa.String(length=20), nullable=False),
    sa.Column('rule_id', sa.String(length=60), nullable=False),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('causes', sa.Text(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('cleared_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('subject')
    )
    op.create_index('ix_requirement_watch_due', 'requirement_watch', ['status', 'escalate_at'], unique=False)
    op.create_index(op.f('ix_requirement_watch_staff_id'), 'requirement_watch', ['staff_id'], unique=False)
    op.create_table('revisions',
    sa.Column('subject', sa.String(length=160), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('subject')
    )
    op.create_table('sanctions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('branch_id', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('fact_key', sa.String(length=200), nullable=False),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('causes', sa.Text(), nullable=False),
    sa.Column('reason_en', sa.String(length=500), nullable=False),
    sa.Column('reason_zh', sa.String(length=500), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('appeal_deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('replaces', sa.String(length=36), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('appeal_reason', sa.String(length=2000), nullable=True),
    sa.Column('appealed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision', sa.String(length=12), nullable=True),
    sa.Column('decision_note', sa.String(length=2000), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sanctions_branch_status', 'sanctions', ['branch_id', 'status'], unique=False)
    op.create_index(op.f('ix_sanctions_fact_key'), 'sanctions', ['fact_key'], unique=False)
    op.create_index(op.f('ix_sanctions_staff_id'), 'sanctions', ['staff_id'], unique=False)
    op.create_table('settlements',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=False),
    sa.Column('settled_by', sa.String(length=100), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('awards', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('period')
    )
    op.create_table('violations',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('branch_id', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fact_key', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_violations_branch_id'), 'violations', ['branch_id'], unique=False)
    op.create_index(op.f('ix_violations_staff_id'), 'violations', ['staff_id'], unique=False)
    # The default policy is frozen here as it was when this migration was written: later edits of
    # model.DEFAULT_POLICY must not change what version 1 means in existing databases.
    policies = sa.table("policies", sa.column("version", sa.Integer), sa.column("document", sa.Text),
                        sa.column("activated_at", sa.DateTime(timezone=True)),
                        sa.column("created_at", sa.DateTime(timezone=True)), sa.column("created_by", sa.String),
                        sa.column("note", sa.String))
    at = V1_ACTIVATED_AT
    if op.get_bind().dialect.name == "sqlite":
        at = at.replace(tzinfo=None)
    op.bulk_insert(policies, [{"version": 1, "document": json.dumps(DEFAULT_POLICY_V1, ensure_ascii=False, sort_keys=True),
                               "activated_at": at, "created_at": at, "created_by": "migration",
                               "note": "default policy implementing the 2024 regulation"}])


def downgrade() -> None:
    for table in ("settlements", "violations", "completions", "requirement_watch", "revisions",
                  "points_awarded", "points_tally", "sanctions", "ladder_facts", "awards",
                  "ledger_causes", "ledger", "funds", "policies",
                  "known_service_points", "known_branches", "known_staff"):
        op.drop_table(table)
    drop_messaging_tables(op)


DEFAULT_POLICY_V1 = {
    "currency": "CNY",
    "fund": {
        "period": "quarter",
        "shortfall": "wait",
        "approval_threshold": "2000.00"
    },
    "ladder": {
        "lapse_months": 12,
        "appeal_days": 14
    },
    "points_credit": {
        "rate": "10.00",
        "tier": "points_credit"
    },
    "rules": [
        {
            "id": "evaluation-excellent",
            "on": "lsq.evaluation.scored.v1",
            "when": {
                "grade": [
                    "excellent"
                ]
            },
            "award": {
                "tier": "A",
                "amount": "2000.00"
            }
        },
        {
            "id": "evaluation-good",
            "on": "lsq.evaluation.scored.v1",
            "when": {
                "grade": [
                    "good"
                ]
            },
            "award": {
                "tier": "B",
                "amount": "800.00"
            }
        },
        {
            "id": "evaluation-unsatisfactory",
            "on": "lsq.evaluation.scored.v1",
            "when": {
                "grade": [
                    "unsatisfactory"
                ]
            },
            "sanction": {
                "level": "improvement_plan"
            }
        },
        {
            "id": "reader-praise",
            "on": "lsq.praise.received.v1",
            "when": {},
            "points": {
                "points": 5,
                "monthly_cap": 30
            }
        },
        {
            "id": "complaint-substantiated",
            "on": "lsq.complaint.resolved.v1",
            "when": {
                "outcome": [
                    "substantiated"
                ]
            },
            "sanction": {
                "level": "next_step",
                "one_step_higher_when": {
                    "severity": [
                        "high",
                        "urgent"
                    ]
                }
            }
        },
        {
            "id": "complaint-partially-substantiated",
            "on": "lsq.complaint.resolved.v1",
            "when": {
                "outcome": [
                    "partially_substantiated"
                ]
            },
            "sanction": {
                "level": "notice"
            }
        },
        {
            "id": "complaint-sla-breached",
            "on": "lsq.complaint.sla_breached.v1",
            "when": {},
            "sanction": {
                "level": "notice",
                "target": "handler_id",
                "repeat_climbs_after": 1
            }
        },
        {
            "id": "training-overdue",
            "on": "lsq.requirement.overdue.v1",
            "when": {},
            "sanction": {
                "level": "notice",
                "escalate_after_days": 30,
                "escalate_to": "written_warning"
            }
        },
        {
            "id": "training-hours",
            "on": "lsq.training.completed.v1",
            "when": {},
            "points": {
                "points": 2,
                "per": "credit_hours",
                "monthly_cap": 20
            }
        },
        {
            "id": "recorded-violation",
            "on": "lsq.sanction.violation_recorded.v1",
            "when": {},
            "sanction": {
                "level": "next_step"
            }
        }
    ]
}
