"""What a policy version would have decided over a past period, beside what the versions in force
decided: computed by replaying the event history (``replay.py``) into two scratch SQLite databases
in a temporary directory, thrown away afterwards. Nothing is written to the service's database and
nothing is published (the scratch outboxes are never relayed).

Both columns are computed the same way, from the same events: ``current`` with the versions that
were in force (a replay gives the live ledger, entry for entry), ``proposed`` with the proposed
version in force over the whole period instead (versions in force before it keep deciding the
history that leads up to it, so a ladder or a fund enters the period as it really did).
"""
from __future__ import annotations

import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from services.incentive import replay, store
from shared.db import Database

ZERO = Decimal("0.00")


def simulate(source: Database, records: list, start: datetime, end: datetime,
             proposed: dict | None = None) -> dict:
    """Replay ``records`` published before ``end`` into a scratch database configured like
    ``source`` (policy versions, fund budgets); with ``proposed`` (a ``policies`` row), that version
    decides everything from ``start`` on. Returns the summary of decisions dated in [start, end)."""
    with tempfile.TemporaryDirectory(prefix="lsq-incentive-dryrun-") as folder:
        scratch = Database(f"sqlite:///{Path(folder) / 'dryrun.db'}", "incentive")
        try:
            scratch.migrate()
            replay.copy_configuration(source, scratch)
            if proposed is not None:
                _put_in_force(scratch, proposed, start)
            since = history_start(source, start).timestamp()
            replay.replay(scratch, [r for r in records if since <= replay._time_of(r) < end.timestamp()],
                          escalate_at=end)
            return summarise(scratch, start, end)
        finally:
            scratch.dispose()


def history_start(source: Database, start: datetime) -> datetime:
    """How far back the replay starts: the longest lapse of any version before ``start`` (a
    warning older than that counts on no ladder; fund periods are at most a year)."""
    from services.incentive import model
    with source.read() as conn:
        docs = conn.execute(select(store.policies.c.document)).scalars().all()
    months = max([12] + [int(store.loads(d)["ladder"]["lapse_months"]) for d in docs])
    return model.add_months(start, -months)


def _put_in_force(scratch: Database, proposed: dict, start: datetime) -> None:
    """In the scratch database: the proposed version in force from ``start``, and none of the
    versions that started after it (the proposal stands in for them over the period)."""
    t = store.policies
    with scratch.transaction() as conn:
        conn.execute(t.delete().where(t.c.version == proposed["version"]))
        conn.execute(t.update().where(t.c.activated_at >= start).values(withdrawn_at=start))
        conn.execute(t.insert().values(**{**proposed, "activated_at": start, "withdrawn_at": None}))


def summarise(db: Database, start: datetime, end: datetime) -> dict:
    """Per branch: awards granted (net of revocations) and pending, sanctions in force issued in
    the window by level, points, and the fund periods drawn on."""
    branches: dict[str, dict] = {}

    def branch(branch_id: str) -> dict:
        return branches.setdefault(branch_id, {
            "awards": {"count": 0, "amount": ZERO, "by_tier": {}}, "pending_awards": {"count": 0, "amount": ZERO},
            "sanctions": {}, "points": 0, "funds": {}})

    with db.read() as conn:
        entries = conn.execute(select(store.ledger).where(store.ledger.c.occurred_at >= start,
                                                          store.ledger.c.occurred_at < end)).mappings().all()
        for e in entries:
            out = branch(e["branch_id"])
            if e["points"] is not None:
                out["points"] += e["points"]
            if e["amount"] is not None and e["kind"] in ("award", "revocation"):
                amount = Decimal(e["amount"])
                tier = out["awards"]["by_tier"].setdefault(e["tier"] or "-", {"count": 0, "amount": ZERO})
                step = 1 if e["kind"] == "award" else -1
                for bucket in (out["awards"], tier):
                    bucket["count"] += step
                    bucket["amount"] += amount
                fund = out["funds"].setdefault(e["period"], ZERO)
                out["funds"][e["period"]] = fund + amount
        awards = conn.execute(select(store.awards).where(store.awards.c.status == "pending",
                                                         store.awards.c.requested_at >= start,
                                                         store.awards.c.requested_at < end)).mappings().all()
        for a in awards:
            out = branch(a["branch_id"])
            out["pending_awards"]["count"] += 1
            out["pending_awards"]["amount"] += Decimal(a["amount"])
        sanctions = conn.execute(select(store.sanctions).where(
            store.sanctions.c.issued_at >= start, store.sanctions.c.issued_at < end,
            store.sanctions.c.status.in_(("issued", "acknowledged", "appealed", "upheld")))).mappings().all()
        for s in sanctions:
            levels = branch(s["branch_id"])["sanctions"]
            levels[s["level"]] = levels.get(s["level"], 0) + 1
        budgets = {(r["branch_id"], r["period"]): Decimal(r["budget"])
                   for r in conn.execute(select(store.funds)).mappings()}
    for branch_id, out in branches.items():
        out["funds"] = [{"period": period, "budget": budgets.get((branch_id, period), ZERO), "granted": granted}
                        for period, granted in sorted(out["funds"].items())]
        out["awards"]["by_tier"] = [{"tier": t, **v} for t, v in sorted(out["awards"]["by_tier"].items())]
        out["sanctions"] = [{"level": lvl, "count": n} for lvl, n in sorted(out["sanctions"].items())]
    return branches
