"""Evaluation use cases: one transaction each, domain rules from ``model``, events through the outbox."""
from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, exists, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from services.evaluation import model, store
from services.evaluation.model import dec, q2
from shared import directory_view, outbox
from shared.events import get as get_event_type
from shared.auth import Principal
from shared.db import Database, page_of
from shared.ids import time_ordered_id
from shared.errors import Conflict, Forbidden, Invalid, not_found
from shared.timeutil import utcnow

SCORES_VISIBLE = ("closed", "published")


# -- settings and rubrics -------------------------------------------------------------------
def load_settings(conn) -> dict:
    """The settings in force (the defaults, in the network's time zone, until network_admin changes them)."""
    row = store.current_settings(conn)
    return json.loads(row["data"]) if row else model.default_settings()


def get_settings(db: Database) -> dict:
    """The settings in force with their version (0 = the defaults, never changed)."""
    with db.read() as conn:
        row = store.current_settings(conn)
        data = load_settings(conn)
        return {**data, "version": row["version"] if row else 0,
                "updated_at": row["updated_at"] if row else None}


def _once_more_on_conflict(use_case):
    """Run a use case; if a concurrent one won a unique key (first settings row, next rubric
    version, first rating of a rater), run it again: it then sees the winner's row."""
    try:
        return use_case()
    except IntegrityError:
        return use_case()


def update_settings(db: Database, actor: Principal, changes: dict) -> dict:
    """Change some settings (network_admin); they apply to cycles created afterwards."""
    return _once_more_on_conflict(lambda: _update_settings(db, actor, changes))


def _update_settings(db: Database, actor: Principal, changes: dict) -> dict:
    with db.transaction() as conn:
        row = store.current_settings(conn, for_update=True)
        merged = model.merge_settings(load_settings(conn), changes)
        now = utcnow()
        if row is None:
            conn.execute(store.settings.insert().values(id=1, version=1, data=store.dumps(merged), updated_at=now,
                                                        updated_by=_who(actor)))
            version = 1
        else:
            version = row["version"] + 1
            conn.execute(update(store.settings).where(store.settings.c.id == 1).values(
                version=version, data=store.dumps(merged), updated_at=now, updated_by=_who(actor)))
    return {**merged, "version": version, "updated_at": now}


def _rubric_out(row) -> dict:
    dims = json.loads(row["dimensions"])
    return {"id": row["id"], "version": row["version"], "scale_min": model.SCALE_MIN, "scale_max": model.SCALE_MAX,
            "dimensions": [{**d, "weight": float(d["weight"])} for d in dims], "created_at": row["created_at"]}


def create_rubric(db: Database, actor: Principal, dimensions: list[dict]) -> dict:
    """A new rubric version; cycles created afterwards use it unless they name another."""
    checked = model.check_dimensions(dimensions)

    def create():
        with db.transaction() as conn:
            row = {"id": str(uuid.uuid4()), "version": store.next_rubric_version(conn),
                   "dimensions": store.dumps(checked), "created_at": utcnow(), "created_by": _who(actor)}
            conn.execute(store.rubrics.insert().values(**row))
        return row
    return _rubric_out(_once_more_on_conflict(create))


def list_rubrics(db: Database) -> list[dict]:
    """Every rubric version, newest first."""
    with db.read() as conn:
        return [_rubric_out(r) for r in conn.execute(select(store.rubrics).order_by(store.rubrics.c.version.desc()))
                .mappings()]


def get_rubric(db: Database, rubric_id: str) -> dict:
    """One rubric version by id, or ``current`` for the latest."""
    with db.read() as conn:
        row = _rubric_row(conn, rubric_id)
        return _rubric_out(row)


def _rubric_row(conn, rubric_id: str, field: str | None = None):
    row = store.get(conn, store.rubrics, rubric_id)
    if row is None and rubric_id == "current":
        row = store.latest_rubric(conn)
    if row is None:
        if field:
            raise Invalid(f"unknown rubric {rubric_id}", f"评价量表 {rubric_id} 不存在", field=field)
        raise not_found("rubric", "评价量表", rubric_id)
    return row


def _rubric_of(conn, cycle) -> model.Rubric:
    row = store.get(conn, store.rubrics, cycle["rubric_id"])
    return model.rubric_from(row["version"], json.loads(row["dimensions"]))


# -- cycles ------------------------------------------------------------------------------------
def _cycle_out(row) -> dict:
    return {**dict(row), "branch_ids": json.loads(row["branch_ids"]), "settings": json.loads(row["settings"]),
            "status_zh": model.CYCLE_STATE_LABELS_ZH.get(row["status"])}


def _cycle_row(conn, cycle_id: str, for_update: bool = False, for_share: bool = False,
               actor: Principal | None = None):
    """The cycle, or 404, also when ``actor`` may not see it: another branch's cycle answers as
    one that does not exist, as every other-branch object does."""
    row = store.get(conn, store.cycles, cycle_id, for_update=for_update, for_share=for_share)
    if row is None or (actor is not None and not model.cycle_visible(
            actor.network_wide, actor.branch_id, row["scope"], json.loads(row["branch_ids"]))):
        raise not_found("cycle", "评价周期", cycle_id)
    return row


def _run_cycle_row(conn, actor: Principal, cycle_id: str):
    """The cycle, locked, for someone who may run it (404 if they cannot see it, 403 if they see
    it but the network office runs it)."""
    row = _cycle_row(conn, cycle_id, for_update=True, actor=actor)
    model.check_may_run(actor.role, actor.branch_id, row["owner_branch_id"])
    return row


def _set_cycle_branches(conn, cycle_id: str, branch_ids: list[str]) -> None:
    conn.execute(store.cycle_branches.delete().where(store.cycle_branches.c.cycle_id == cycle_id))
    if branch_ids:
        conn.execute(store.cycle_branches.insert(), [{"cycle_id": cycle_id, "branch_id": b} for b in branch_ids])


def _draft_values(conn, actor: Principal, data: dict, settings: dict, now: datetime) -> dict:
    """The checked columns of a draft cycle from its whole description (a new one, or a draft
    with an edit applied): period, scope, deadline, rubric and the settings frozen in it."""
    if data.get("rater_weights") is not None:
        if actor.role != "network_admin":
            raise Forbidden("the rater weights are the network's: only network_admin overrides them",
                            "评价来源权重由总馆统一设定，馆长不能修改", field="rater_weights")
        settings = model.merge_settings(settings, {"rater_weights": data["rater_weights"]})
    if data.get("peers_per_person") is not None:
        settings = model.merge_settings(settings, {"peers_per_person": data["peers_per_person"]})
    if data.get("period_start") or data.get("period_end"):
        if not (data.get("period_start") and data.get("period_end")):
            missing = "period_end" if data.get("period_start") else "period_start"
            raise Invalid("give both period_start and period_end, or neither", "请同时给出周期开始和结束日期",
                          field=missing)
        start, end = data["period_start"], data["period_end"]
    else:
        start, end = model.parse_period(data["period"])
    model.check_period(start, end)
    deadline = data.get("submission_deadline")
    if deadline is None:
        deadline = model.default_deadline(end, settings["timezone"])
        if deadline <= now:
            raise Invalid("the default deadline (14 days after the period) has passed: give a "
                          "submission_deadline still ahead", "默认提交截止时间（周期结束后 14 天）已过，请给出尚未到来的截止时间",
                          field="submission_deadline", code="deadline_in_past")
    model.check_deadline(start, deadline, settings["timezone"])
    model.check_deadline_ahead(deadline, now)
    scope, branch_ids, owner = model.cycle_scope(actor.role, actor.branch_id, data.get("scope"),
                                                 data.get("branch_ids"))
    if scope == "branches":
        if not branch_ids:
            raise Invalid("a branch cycle needs branch_ids", "分馆范围的周期需要指定分馆", field="branch_ids")
        for branch_id in branch_ids:
            directory_view.require_branch(conn, branch_id, field="branch_ids")
    elif branch_ids:
        raise Invalid("a network cycle covers every branch: leave branch_ids out", "全馆周期无需指定分馆",
                      field="branch_ids")
    rubric = _rubric_row(conn, data.get("rubric_id") or "current", field="rubric_id")
    return {"period": data["period"], "period_start": start, "period_end": end, "scope": scope,
            "branch_ids": json.dumps(branch_ids), "rubric_id": rubric["id"], "rubric_version": rubric["version"],
            "settings": store.dumps(settings), "submission_deadline": deadline, "owner_branch_id": owner}


def create_cycle(db: Database, actor: Principal, data: dict) -> dict:
    """A draft cycle: period, scope, deadline (still ahead); the rubric and settings in force are
    fixed in it. network_admin: any scope; a branch manager: their own branch, which they then run."""
    with db.transaction() as conn:
        now = utcnow()
        values = _draft_values(conn, actor, data, load_settings(conn), now)
        row = {"id": str(uuid.uuid4()), **values, "status": "draft", "participants": 0, "scored": 0,
               "scores_digest": None, "created_at": now, "created_by": _who(actor), "opened_at": None,
               "closed_at": None, "published_at": None, "closed_event_id": None}
        conn.execute(store.cycles.insert().values(**row))
        _set_cycle_branches(conn, row["id"], json.loads(values["branch_ids"]))
    return _cycle_out(row)


#: What an edit of a draft may change; an open cycle takes only a later ``submission_deadline``.
DRAFT_FIELDS = ("period", "period_start", "period_end", "scope", "branch_ids", "submission_deadline", "rubric_id",
                "rater_weights", "peers_per_person")


def update_cycle(db: Database, actor: Principal, cycle_id: str, changes: dict) -> dict:
    """Edit a draft (any of ``DRAFT_FIELDS``, checked as at creation), or extend an open cycle's
    deadline (later than the current one and still ahead) → ``lsq.cycle.extended.v1``."""
    with db.transaction() as conn:
        cycle = _run_cycle_row(conn, actor, cycle_id)
        now = utcnow()
        if cycle["status"] == "open":
            others = sorted(k for k in changes if k != "submission_deadline")
            if others:
                raise Conflict(f"the cycle is open: only its submission_deadline can change ({others[0]} cannot)",
                               "周期已开放，只能延长提交截止时间", field=others[0], code="cycle_state")
            if changes.get("submission_deadline") is None:
                raise Invalid("give the new submission_deadline", "请给出新的提交截止时间", field="submission_deadline")
            new = changes["submission_deadline"]
            model.check_deadline(cycle["period_start"], new, json.loads(cycle["settings"])["timezone"])
            model.check_extension(cycle["submission_deadline"], new, now)
            conn.execute(update(store.cycles).where(store.cycles.c.id == cycle_id).values(submission_deadline=new))
            outbox.add(conn, "lsq.cycle.extended.v1", {
                "cycle_id": cycle_id, "period": cycle["period"], "branch_ids": json.loads(cycle["branch_ids"]),
                "previous_deadline": cycle["submission_deadline"], "submission_deadline": new, "extended_at": now,
                "extended_by": _who(actor)}, occurred_at=now)
            return _cycle_out({**cycle, "submission_deadline": new})
        model.check_state(cycle["status"], "edit", "draft", "open")
        data = {"period": cycle["period"], "period_start": cycle["period_start"], "period_end": cycle["period_end"],
                "scope": cycle["scope"], "branch_ids": json.loads(cycle["branch_ids"]),
                "submission_deadline": cycle["submission_deadline"], "rubric_id": cycle["rubric_id"]}
        if "period" in changes and not ({"period_start", "period_end"} & set(changes)):
            # a new label alone: its own dates if it is a calendar period, else a renamed period
            try:
                model.parse_period(changes["period"])
                data.update(period_start=None, period_end=None)
            except Invalid:
                pass
        if changes.get("scope") == "network" and "branch_ids" not in changes:
            data["branch_ids"] = []
        data.update(changes)
        values = _draft_values(conn, actor, data, json.loads(cycle["settings"]), now)
        if cycle["owner_branch_id"] is not None and actor.role == "network_admin":
            values["owner_branch_id"] = cycle["owner_branch_id"]  # the office's edit leaves the branch its cycle
        conn.execute(update(store.cycles).where(store.cycles.c.id == cycle_id).values(**values))
        _set_cycle_branches(conn, cycle_id, json.loads(values["branch_ids"]))
        return _cycle_out({**cycle, **values})


def delete_cycle(db: Database, actor: Principal, cycle_id: str) -> None:
    """Delete a draft cycle (nothing was published about it; an opened cycle is kept: 409)."""
    with db.transaction() as conn:
        cycle = _run_cycle_row(conn, actor, cycle_id)
        model.check_state(cycle["status"], "delete", "draft")
        conn.execute(store.cycle_branches.delete().where(store.cycle_branches.c.cycle_id == cycle_id))
        conn.execute(store.cycles.delete().where(store.cycles.c.id == cycle_id))


def list_cycles(db: Database, actor: Principal, status: str | None, page: int, page_size: int):
    """A page of cycles (optionally of one status), latest period first, and the total. Branch
    roles see the network's cycles and their own branch's, never another branch's."""
    with db.read() as conn:
        c, cb = store.cycles, store.cycle_branches
        conditions = [c.c.status == status] if status else []
        if not actor.network_wide:
            conditions.append(or_(c.c.scope == "network", exists().where(
                cb.c.cycle_id == c.c.id, cb.c.branch_id == actor.branch_id)))
        rows, total = page_of(conn, select(c).where(*conditions), [c.c.period_start.desc(), c.c.created_at.desc()],
                              page, page_size)
        return [_cycle_out(r) for r in rows], total


def get_cycle(db: Database, actor: Principal, cycle_id: str) -> dict:
    """One cycle, or 404 (also for another branch's)."""
    with db.read() as conn:
        return _cycle_out(_cycle_row(conn, cycle_id, actor=actor))


def open_cycle(db: Database, actor: Principal, cycle_id: str) -> dict:
    """Fix the participants (active staff in scope) and their peers → ``lsq.cycle.opened.v1``."""
    with db.transaction() as conn:
        cycle = _run_cycle_row(conn, actor, cycle_id)
        status = model.check_transition(cycle["status"], "open")
        settings = json.loads(cycle["settings"])
        now = utcnow()
        if now > cycle["submission_deadline"]:
            raise Conflict("the submission deadline has already passed", "提交截止时间已过", code="deadline_passed")
        branch_ids = json.loads(cycle["branch_ids"])
        staff = [s for s in directory_view.active_staff(conn, branch_ids if cycle["scope"] == "branches" else None)
                 if s["status"] == "active" and s["role"] in model.EVALUATED_ROLES]
        if not staff:
            raise Conflict("no active staff in the cycle's scope", "周期范围内没有在岗员工", code="no_participants")
        if cycle["scope"] == "network":
            branch_ids = sorted({s["branch_id"] for s in staff})
        conn.execute(store.participants.insert(), [
            {"cycle_id": cycle_id, "staff_id": s["staff_id"], "branch_id": s["branch_id"], "role": s["role"]}
            for s in staff])
        assigned = model.assign_peers(cycle_id, [(s["staff_id"], s["branch_id"], s["role"]) for s in staff],
                                      settings["peers_per_person"])
        rows = [{"cycle_id": cycle_id, "staff_id": s, "peer_id": p} for s in sorted(assigned) for p in assigned[s]]
        if rows:
            conn.execute(store.peers.insert(), rows)
        values = {"status": status, "opened_at": now, "participants": len(staff), "branch_ids": json.dumps(branch_ids)}
        conn.execute(update(store.cycles).where(store.cycles.c.id == cycle_id).values(**values))
        _set_cycle_branches(conn, cycle_id, branch_ids)
        opened_id = outbox.add(conn, "lsq.cycle.opened.v1", {
            "cycle_id": cycle_id, "period": cycle["period"], "period_start": cycle["period_start"],
            "period_end": cycle["period_end"], "branch_ids": branch_ids, "participants": len(staff),
            "submission_deadline": cycle["submission_deadline"], "opened_at": now,
            "rubric_version": cycle["rubric_version"], "owner_branch_id": cycle["owner_branch_id"]})
        branch_of = {s["staff_id"]: s["branch_id"] for s in staff}
        _request_peer_ratings(conn, {**cycle, "id": cycle_id}, model.peer_requests(assigned), branch_of, now,
                              [_cause("lsq.cycle.opened.v1", opened_id)])
        return _cycle_out({**cycle, **values})


def _request_peer_ratings(conn, cycle, counts: dict[str, int], branch_of: dict[str, str], now: datetime,
                          causes: list[dict] | None = None) -> None:
    """``lsq.cycle.peer_ratings_requested.v1`` per rater: how many to rate (never whom)."""
    if counts:
        outbox.add_many(conn, "lsq.cycle.peer_ratings_requested.v1", [({
            "cycle_id": cycle["id"], "period": cycle["period"], "staff_id": rater, "branch_id": branch_of[rater],
            "peers_to_rate": n, "submission_deadline": cycle["submission_deadline"], "requested_at": now}, causes or [])
            for rater, n in counts.items()])


def list_participants(db: Database, actor: Principal, cycle_id: str, branch_id: str | None, page: int,
                      page_size: int):
    """Participants with their name and how many ratings they have had (never who gave them)."""
    with db.read() as conn:
        _cycle_row(conn, cycle_id, actor=actor)
        p, k = store.participants, directory_view.known_staff
        conditions = [p.c.cycle_id == cycle_id]
        branch = _branch_scope(actor, branch_id)
        if branch:
            conditions.append(p.c.branch_id == branch)
        total = conn.execute(select(func.count()).select_from(p).where(*conditions)).scalar_one()
        rows = list(conn.execute(select(p.c.staff_id, p.c.branch_id, p.c.role, k.c.name)
                                 .select_from(p.outerjoin(k, k.c.staff_id == p.c.staff_id)).where(*conditions)
                                 .order_by(p.c.branch_id, p.c.staff_id).limit(page_size)
                                 .offset((page - 1) * page_size)).mappings())
        ids = [r["staff_id"] for r in rows]
        counts = {}
        if ids:
            s = store.submissions
            for staff_id, rater_type, n in conn.execute(
                    select(s.c.staff_id, s.c.rater_type, func.count()).where(s.c.cycle_id == cycle_id,
                                                                             s.c.staff_id.in_(ids))
                    .group_by(s.c.staff_id, s.c.rater_type)):
                counts.setdefault(staff_id, {})[rater_type] = n
        items = [{**dict(r), "ratings_received": {t: counts.get(r["staff_id"], {}).get(t, 0)
                                                  for t in model.RATER_TYPES}} for r in rows]
        return items, total


def get_peers(db: Database, actor: Principal, cycle_id: str, staff_id: str) -> dict:
    """The peer raters of one participant: for the people who organise the cycle, never for the person."""
    with db.read() as conn:
        _cycle_row(conn, cycle_id, actor=actor)
        member = _participant(conn, cycle_id, staff_id)
        _check_may_organise(actor, member)
        peer_ids = store.peers_of(conn, cycle_id, staff_id)
        submitted = set(conn.execute(select(store.submissions.c.rater_id).where(
            store.submissions.c.cycle_id == cycle_id, store.submissions.c.staff_id == staff_id,
            store.submissions.c.rater_type == "peer")).scalars())
        return {"cycle_id": cycle_id, "staff_id": staff_id,
                "peers": [{"staff_id": p, "submitted": p in submitted} for p in peer_ids]}


def set_peers(db: Database, actor: Principal, cycle_id: str, staff_id: str, peer_ids: list[str]) -> dict:
    """Replace a participant's peer raters while the cycle is open (or still a draft is not possible:
    peers exist from opening). Ratings already given by a removed peer stop counting."""
    with db.transaction() as conn:
        cycle = _cycle_row(conn, cycle_id, for_update=True, actor=actor)
        if cycle["status"] != "open":
            raise Conflict("peers can be changed only while the cycle is open", "仅在周期开放期间可调整同事评价人",
                           code="cycle_not_open")
        member = _participant(conn, cycle_id, staff_id)
        _check_may_organise(actor, member)
        p = store.participants
        members = {r.staff_id: (r.branch_id, r.role) for r in conn.execute(
            select(p.c.staff_id, p.c.branch_id, p.c.role).where(p.c.cycle_id == cycle_id))}
        checked = model.check_peer_change(staff_id, peer_ids, members)
        before = set(store.peers_of(conn, cycle_id, staff_id))
        conn.execute(store.peers.delete().where(store.peers.c.cycle_id == cycle_id, store.peers.c.staff_id == staff_id))
        if checked:
            conn.execute(store.peers.insert(), [{"cycle_id": cycle_id, "staff_id": staff_id, "peer_id": p}
                                                for p in checked])
        # A rater newly asked is told, with everything they now have to rate in the cycle.
        added = sorted(set(checked) - before)
        _request_peer_ratings(conn, cycle, {r: len(store.rated_by(conn, cycle_id, r)) for r in added},
                              {r: members[r][0] for r in added}, utcnow())
    return get_peers(db, actor, cycle_id, staff_id)


def _check_may_organise(actor: Principal, member) -> None:
    if not actor.may_see_branch(member["branch_id"]):
        raise not_found("participant", "参评人员", member["staff_id"])  # another branch's: as if unknown
    if actor.staff_id is not None and actor.staff_id == member["staff_id"]:
        raise Forbidden("nobody may see or choose their own peer raters", "不能查看或指定本人的同事评价人")


def _participant(conn, cycle_id: str, staff_id: str, field: str | None = None):
    row = store.participant(conn, cycle_id, staff_id)
    if row is None:
        if field:
            raise Invalid(f"{staff_id} is not a participant of this cycle", f"{staff_id} 不是本周期的参评人员",
                          field=field, code="not_a_participant")
        raise not_found("participant", "参评人员", staff_id)
    return row


# -- ratings -----------------------------------------------------------------------------------
def submit_evaluation(db: Database, actor: Principal, cycle_id: str, data: dict) -> tuple[dict, bool]:
    """Give or change a self, peer or supervisor rating until the deadline. Returns (it, created)."""
    return _once_more_on_conflict(lambda: _submit(db, actor, cycle_id, data))


def _submit(db: Database, actor: Principal, cycle_id: str, data: dict) -> tuple[dict, bool]:
    rater_id = actor.staff_id or (actor.subject if actor.role == "network_admin" else None)
    if rater_id is not None and len(rater_id) > 64:
        raise Forbidden("the token's staff id is longer than 64 characters", "令牌中的员工编号超过 64 个字符")
    with db.transaction() as conn:
        # a share lock: closing (FOR UPDATE) waits for ratings in flight and they see it closed after
        cycle = _cycle_row(conn, cycle_id, for_share=True, actor=actor)
        now = utcnow()
        model.check_submission_window(cycle["status"], cycle["submission_deadline"], now)
        member = _participant(conn, cycle_id, data["staff_id"], field="staff_id")
        rubric = _rubric_of(conn, cycle)
        model.check_rater(data["rater_type"], rater_id=rater_id, rater_role=actor.role, rater_branch=actor.branch_id,
                          staff_id=member["staff_id"], staff_branch=member["branch_id"],
                          assigned_peers=store.peers_of(conn, cycle_id, member["staff_id"])
                          if data["rater_type"] in ("peer", "supervisor") else [])
        scores = model.check_ratings(rubric, data["scores"])
        comments = data.get("comments") or {}
        unknown = sorted(set(comments) - set(rubric.codes))
        if unknown:
            raise Invalid(f"{unknown[0]} is not a dimension of the rubric", f"{unknown[0]} 不是评价量表的维度",
                          field=f"comments.{unknown[0]}")
        comment_doc = {"dimensions": comments, "overall": data.get("comment")}
        s = store.submissions
        key = (s.c.cycle_id == cycle_id, s.c.staff_id == member["staff_id"], s.c.rater_type == data["rater_type"],
               s.c.rater_id == rater_id)
        existing = conn.execute(select(s).where(*key)).mappings().first()
        if existing:
            conn.execute(update(s).where(s.c.id == existing["id"]).values(
                scores=store.dumps(scores), comments=store.dumps(comment_doc), updated_at=now))
            row = {**existing, "scores": scores, "comments": comment_doc, "updated_at": now}
        else:
            row = {"id": time_ordered_id(), "cycle_id": cycle_id, "staff_id": member["staff_id"],
                   "rater_type": data["rater_type"], "rater_id": rater_id, "scores": store.dumps(scores),
                   "comments": store.dumps(comment_doc), "submitted_at": now, "updated_at": now}
            conn.execute(s.insert().values(**row))
            row = {**row, "scores": scores, "comments": comment_doc}
    return _submission_out(row), existing is None


def _submission_out(row) -> dict:
    scores = row["scores"] if isinstance(row["scores"], dict) else json.loads(row["scores"])
    comments = row["comments"] if isinstance(row["comments"], dict) else json.loads(row["comments"])
    return {"id": row["id"], "cycle_id": row["cycle_id"], "staff_id": row["staff_id"],
            "rater_type": row["rater_type"], "scores": scores, "comments": comments.get("dimensions") or {},
            "comment": comments.get("overall"), "submitted_at": row["submitted_at"], "updated_at": row["updated_at"]}


def my_submissions(db: Database, actor: Principal, cycle_id: str) -> list[dict]:
    """The ratings the caller gave in a cycle (everyone sees only their own)."""
    rater_id = actor.staff_id or (actor.subject if actor.role == "network_admin" else None)
    with db.read() as conn:
        _cycle_row(conn, cycle_id, actor=actor)
        s = store.submissions
        rows = conn.execute(select(s).where(s.c.cycle_id == cycle_id, s.c.rater_id == rater_id)
                            .order_by(s.c.rater_type, s.c.staff_id)).mappings()
        return [_submission_out(r) for r in rows]


def cycle_ratings(db: Database, actor: Principal, cycle_id: str, staff_id: str | None, page: int,
                  page_size: int):
    """Every rating of a cycle, for audit: supervisors and self named, peers never (``rater_id`` null)."""
    with db.read() as conn:
        _cycle_row(conn, cycle_id, actor=actor)
        s = store.submissions
        conditions = [s.c.cycle_id == cycle_id] + ([s.c.staff_id == staff_id] if staff_id else [])
        # ordered by what is visible only, so the order cannot hint at a peer's identity
        rows, total = page_of(conn, select(s).where(*conditions), [s.c.staff_id, s.c.rater_type, s.c.id],
                              page, page_size)
        return [{**_submission_out(r), "rater_id": None if r["rater_type"] == "peer" else r["rater_id"]}
                for r in rows], total


def my_assignments(db: Database, actor: Principal, cycle_id: str) -> dict:
    """What the caller has to rate in a cycle: themselves, their peers, and (supervisors) their branch."""
    with db.read() as conn:
        cycle = _cycle_row(conn, cycle_id, actor=actor)
        me = actor.staff_id
        s, p, k = store.submissions, store.participants, directory_view.known_staff
        done = {(r.staff_id, r.rater_type) for r in conn.execute(
            select(s.c.staff_id, s.c.rater_type).where(s.c.cycle_id == cycle_id, s.c.rater_id == me))} if me else set()

        def entries(ids, rater_type):
            names = dict(conn.execute(select(k.c.staff_id, k.c.name).where(k.c.staff_id.in_(ids))).all()) if ids else {}
            return [{"staff_id": i, "name": names.get(i), "submitted": (i, rater_type) in done} for i in ids]

        is_participant = me is not None and store.participant(conn, cycle_id, me) is not None
        peers = store.rated_by(conn, cycle_id, me) if me else []
        supervised = []
        if actor.role in model.SUPERVISOR_ROLES and actor.branch_id:
            supervised = sorted(x for x in conn.execute(select(p.c.staff_id).where(
                p.c.cycle_id == cycle_id, p.c.branch_id == actor.branch_id)).scalars()
                if x != me and x not in peers)  # whom one rates as a peer one does not also supervise-rate
        return {"cycle_id": cycle_id, "status": cycle["status"], "submission_deadline": cycle["submission_deadline"],
                "self": {"required": is_participant, "submitted": (me, "self") in done},
                "peers": entries(peers, "peer"), "supervisor": entries(supervised, "supervisor")}


# -- closing and publishing --------------------------------------------------------------------
def compute_cycle(conn, cycle) -> list[dict]:
    """The results of every participant of ``cycle`` from its frozen inputs, sorted by staff id.

    Pure apart from reading: closing stores what this returns; the same inputs give the same rows.
    """
    cycle_id = cycle["id"]
    settings = json.loads(cycle["settings"])
    rubric = _rubric_of(conn, cycle)
    members = {r.staff_id: r.branch_id for r in conn.execute(
        select(store.participants.c.staff_id, store.participants.c.branch_id)
        .where(store.participants.c.cycle_id == cycle_id))}
    start, end = model.period_bounds(cycle["period_start"], cycle["period_end"], settings["timezone"])
    reader: dict[str, dict] = {}
    for row in store.reader_aggregates(conn, cycle_id, start, end):
        entry = reader.setdefault(row.staff_id, {"rating_count": 0, "rating_sum": 0, "praise_count": 0,
                                                 "complaints": {}})
        if row.kind == "rating":
            entry["rating_count"] += row.n
            entry["rating_sum"] += int(row.stars)
        elif row.kind == "praise":
            entry["praise_count"] += row.n
        else:
            entry["complaints"][f"{row.outcome}:{row.severity}"] = row.n
    assigned = set(conn.execute(select(store.peers.c.staff_id, store.peers.c.peer_id)
                                .where(store.peers.c.cycle_id == cycle_id)).tuples())
    ratings: dict[str, dict[str, list]] = {}
    s = store.submissions
    for staff_id, rater_type, rater_id, scores in conn.execute(
            select(s.c.staff_id, s.c.rater_type, s.c.rater_id, s.c.scores).where(s.c.cycle_id == cycle_id)
            .order_by(s.c.staff_id, s.c.rater_type, s.c.rater_id)):
        if staff_id not in members or (rater_type == "peer" and (staff_id, rater_id) not in assigned):
            continue  # a peer removed after rating no longer counts
        ratings.setdefault(staff_id, {}).setdefault(rater_type, []).append(json.loads(scores))
    computed = {}
    for staff_id in sorted(members):
        inputs = model.ReaderInputs.from_dict(reader.get(staff_id, {}))
        computed[staff_id] = (inputs, model.compute(rubric, settings, inputs, ratings.get(staff_id, {})))
    ranks = model.rank_within_branches({sid: (members[sid], res.score) for sid, (_, res) in computed.items()})
    rows = []
    for staff_id, (inputs, res) in computed.items():
        rank = ranks.get(staff_id)
        rows.append({
            "staff_id": staff_id, "branch_id": members[staff_id],
            "score": None if res.score is None else str(res.score), "grade": res.grade,
            "dimension_scores": {k: str(v) for k, v in sorted(res.dimension_scores.items())},
            "components": res.components, "components_used": res.used, "components_missing": res.missing,
            "reader_inputs": inputs.as_dict(),
            "rank_in_branch": rank[0] if rank else None, "branch_participants": rank[1] if rank else None,
            "percentile_in_branch": str(rank[2]) if rank else None})
    return rows


def close_cycle(db: Database, actor: Principal, cycle_id: str) -> dict:
    """Take no more ratings; compute and store every participant's result → ``lsq.cycle.closed.v1``.

    The reader inputs are frozen in the results: feedback arriving later does not change them.
    """
    with db.transaction() as conn:
        cycle = _run_cycle_row(conn, actor, cycle_id)
        status = model.check_transition(cycle["status"], "close")
        rows = compute_cycle(conn, cycle)
        now = utcnow()
        conn.execute(store.results.insert(), [{
            **r, "id": time_ordered_id(), "cycle_id": cycle_id,
            "dimension_scores": store.dumps(r["dimension_scores"]), "components": store.dumps(r["components"]),
            "components_used": store.dumps(r["components_used"]),
            "components_missing": store.dumps(r["components_missing"]),
            "reader_inputs": store.dumps(r["reader_inputs"]), "revision": 0, "status": "computed",
            "computed_at": now, "published_at": None, "acknowledged_at": None} for r in rows])
        scored = sum(1 for r in rows if r["score"] is not None)
        values = {"status": status, "closed_at": now, "scored": scored, "scores_digest": model.digest(rows)}
        values["closed_event_id"] = outbox.add(conn, "lsq.cycle.closed.v1", {
            "cycle_id": cycle_id, "period": cycle["period"], "branch_ids": json.loads(cycle["branch_ids"]),
            "participants": cycle["participants"], "scored": scored, "closed_at": now,
            "scores_digest": values["scores_digest"]})
        conn.execute(update(store.cycles).where(store.cycles.c.id == cycle_id).values(**values))
        return _cycle_out({**cycle, **values})


def publish_cycle(db: Database, actor: Principal, cycle_id: str) -> dict:
    """Show results to the staff and emit ``lsq.evaluation.scored.v1`` per scored participant."""
    with db.transaction() as conn:
        cycle = _run_cycle_row(conn, actor, cycle_id)
        status = model.check_transition(cycle["status"], "publish")
        now = utcnow()
        r = store.results
        conn.execute(update(r).where(r.c.cycle_id == cycle_id).values(status="published", published_at=now))
        # every score cites the close that computed it, so an award traces back to its cycle
        causes = [_cause("lsq.cycle.closed.v1", cycle["closed_event_id"])] if cycle["closed_event_id"] else []
        rows = conn.execute(select(r).where(r.c.cycle_id == cycle_id, r.c.score.is_not(None))
                            .order_by(r.c.staff_id)).mappings().all()
        ids = outbox.add_many(conn, "lsq.evaluation.scored.v1", [(_scored_data(cycle, row, now), causes)
                                                                for row in rows], occurred_at=now)
        if ids:
            conn.execute(update(r).where(r.c.id == bindparam("result_id")).values(event_id=bindparam("scored_id")),
                         [{"result_id": row["id"], "scored_id": event_id} for row, event_id in zip(rows, ids)])
        count = len(ids)
        values = {"status": status, "published_at": now}
        conn.execute(update(store.cycles).where(store.cycles.c.id == cycle_id).values(**values))
        outbox.add(conn, "lsq.cycle.published.v1", {
            "cycle_id": cycle_id, "period": cycle["period"], "branch_ids": json.loads(cycle["branch_ids"]),
            "results": count, "published_at": now})
        return _cycle_out({**cycle, **values})


def _cause(event_type: str, event_id: str) -> dict:
    """A ``caused_by`` entry for an event this service wrote (CloudEvents source + id)."""
    return {"source": get_event_type(event_type).source, "id": event_id}


def _scored_data(cycle, row, published_at) -> dict:
    return {"evaluation_id": row["id"], "cycle_id": row["cycle_id"], "staff_id": row["staff_id"],
            "branch_id": row["branch_id"], "period": cycle["period"], "score": float(row["score"]),
            "grade": row["grade"],
            "dimension_scores": {k: float(v) for k, v in json.loads(row["dimension_scores"]).items()},
            "components_used": json.loads(row["components_used"]),
            "components_missing": json.loads(row["components_missing"]), "revision": row["revision"],
            "published_at": published_at, "rank_in_branch": row["rank_in_branch"],
            "branch_participants": row["branch_participants"],
            "percentile_in_branch": None if row["percentile_in_branch"] is None else float(row["percentile_in_branch"]),
            "rubric_version": cycle["rubric_version"]}


# -- reading results ---------------------------------------------------------------------------
def _result_out(row, cycle=None) -> dict:
    """A result as the API shows it: aggregated components only, never a peer's identity."""
    components = json.loads(row["components"])
    return {
        "id": row["id"], "cycle_id": row["cycle_id"], "period": cycle["period"] if cycle else None,
        "staff_id": row["staff_id"], "branch_id": row["branch_id"],
        "score": None if row["score"] is None else float(row["score"]), "grade": row["grade"],
        "grade_zh": model.GRADE_LABELS_ZH.get(row["grade"]),
        "dimension_scores": {k: float(v) for k, v in json.loads(row["dimension_scores"]).items()},
        "components": {c: {**v, "value": None if v["value"] is None else float(v["value"]),
                           "weight": float(v["weight"]), "effective_weight": float(v["effective_weight"])}
                       for c, v in components.items()},
        "components_used": json.loads(row["components_used"]),
        "components_missing": json.loads(row["components_missing"]),
        "reader_inputs": json.loads(row["reader_inputs"]),
        "rank_in_branch": row["rank_in_branch"], "branch_participants": row["branch_participants"],
        "percentile_in_branch": None if row["percentile_in_branch"] is None else float(row["percentile_in_branch"]),
        "revision": row["revision"], "status": row["status"], "computed_at": row["computed_at"],
        "published_at": row["published_at"], "acknowledged_at": row["acknowledged_at"],
    }


def _branch_scope(actor: Principal, branch_id: str | None) -> str | None:
    """The branch a list is limited to: the caller's own for branch roles (403 for another)."""
    if actor.branch_filter() is not None:
        if branch_id is not None:
            actor.require_branch(branch_id)
        return actor.branch_filter()
    return branch_id


def _scored_cycle(conn, cycle_id: str, actor: Principal):
    cycle = _cycle_row(conn, cycle_id, actor=actor)
    if cycle["status"] not in SCORES_VISIBLE:
        raise Conflict(f"the cycle is {cycle['status']}: scores exist once it is closed", "周期关闭后才有评分结果",
                       code="not_scored_yet")
    return cycle


def cycle_scores(db: Database, actor: Principal, cycle_id: str, branch_id: str | None, page: int | None,
                 page_size: int | None):
    """A cycle's results, best first within each branch."""
    with db.read() as conn:
        cycle = _scored_cycle(conn, cycle_id, actor)
        r = store.results
        conditions = [r.c.cycle_id == cycle_id]
        branch = _branch_scope(actor, branch_id)
        if branch:
            conditions.append(r.c.branch_id == branch)
        total = conn.execute(select(func.count()).select_from(r).where(*conditions)).scalar_one()
        query = select(r).where(*conditions).order_by(r.c.branch_id, r.c.rank_in_branch.is_(None),
                                                      r.c.rank_in_branch, r.c.staff_id)
        if page is not None:
            query = query.limit(page_size).offset((page - 1) * page_size)
        return [_result_out(row, cycle) for row in conn.execute(query).mappings()], total


CSV_COLUMNS = ["staff_id", "name", "branch_id", "score", "grade", "grade_zh", "rank_in_branch",
               "branch_participants", "percentile_in_branch", "components_used", "components_missing", "revision",
               "status"]


def cycle_scores_csv(db: Database, actor: Principal, cycle_id: str, branch_id: str | None) -> str:
    """The results as CSV (UTF-8 with BOM so spreadsheet programs read the Chinese right)."""
    items, _ = cycle_scores(db, actor, cycle_id, branch_id, None, None)
    with db.read() as conn:
        rubric = _rubric_of(conn, _cycle_row(conn, cycle_id, actor=actor))
        names = dict(conn.execute(select(directory_view.known_staff.c.staff_id, directory_view.known_staff.c.name)).all())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    dims = rubric.codes
    writer.writerow(CSV_COLUMNS[:5] + CSV_COLUMNS[5:] + [f"dim_{c}" for c in dims] +
                    [f"component_{c}" for c in model.COMPONENTS])
    for item in items:
        row = {**item, "name": names.get(item["staff_id"]) or "",
               "components_used": " ".join(item["components_used"]),
               "components_missing": " ".join(item["components_missing"])}
        writer.writerow([_cell(row.get(c)) for c in CSV_COLUMNS] +
                        [_cell(item["dimension_scores"].get(c)) for c in dims] +
                        [_cell(item["components"][c]["value"]) for c in model.COMPONENTS])
    return "\ufeff" + buffer.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    # a cell starting like a formula is neutralised (CSV injection into spreadsheet programs)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def branch_summary(db: Database, actor: Principal, cycle_id: str, branch_id: str) -> dict:
    """A branch's grade distribution and dimension means next to the whole cycle's."""
    with db.read() as conn:
        cycle = _scored_cycle(conn, cycle_id, actor)
        if branch_id not in json.loads(cycle["branch_ids"]) or not actor.may_see_branch(branch_id):
            raise not_found("branch in cycle", "周期中的分馆", branch_id)
        rubric = _rubric_of(conn, cycle)
        r = store.results
        rows = list(conn.execute(select(r.c.branch_id, r.c.score, r.c.grade, r.c.dimension_scores)
                                 .where(r.c.cycle_id == cycle_id)).mappings())
    return {"cycle_id": cycle_id, "period": cycle["period"], "branch_id": branch_id,
            "branch": _summarise([x for x in rows if x["branch_id"] == branch_id], rubric),
            "network": _summarise(rows, rubric)}


def _summarise(rows: list, rubric: model.Rubric) -> dict:
    scored = [x for x in rows if x["score"] is not None]
    grades = {g: 0 for g in model.GRADES}
    for x in scored:
        grades[x["grade"]] += 1
    n = len(scored)

    def mean(values):
        return float(q2(sum(values, Decimal(0)) / len(values))) if values else None

    dims = [json.loads(x["dimension_scores"]) for x in scored]
    return {"participants": len(rows), "scored": n, "grades": grades,
            "grade_shares": {g: (float(q2(Decimal(100) * c / n)) if n else None) for g, c in grades.items()},
            "mean_score": mean([dec(x["score"]) for x in scored]),
            "dimension_means": {c: mean([dec(d[c]) for d in dims if c in d]) for c in rubric.codes}}


def staff_evaluations(db: Database, actor: Principal, staff_id: str) -> list[dict]:
    """A staff member's results over the cycles: the person sees published ones, managers all."""
    with db.read() as conn:
        r, c = store.results, store.cycles
        rows = list(conn.execute(select(r, c.c.period, c.c.period_start).select_from(r.join(c, c.c.id == r.c.cycle_id))
                                 .where(r.c.staff_id == staff_id)
                                 .order_by(c.c.period_start.desc(), r.c.computed_at.desc())).mappings())
        if actor.role in ("staff", "supervisor") or actor.staff_id == staff_id:
            if actor.staff_id != staff_id:
                raise Forbidden("staff see only their own evaluations", "员工只能查看本人的评价结果")
            rows = [x for x in rows if x["published_at"] is not None]
        else:
            known = directory_view.staff(conn, staff_id)
            branches = {x["branch_id"] for x in rows} | ({known["branch_id"]} if known else set())
            if not actor.network_wide and actor.branch_id not in branches:
                # another branch's staff member: the same answer as for one who does not exist
                raise not_found("staff member", "员工", staff_id)
            if not actor.network_wide:
                rows = [x for x in rows if x["branch_id"] == actor.branch_id]
        return [_result_out(x, x) for x in rows]


def get_evaluation(db: Database, actor: Principal, evaluation_id: str) -> dict:
    """One result with its appeals, if the caller may see it (404 otherwise for staff)."""
    with db.read() as conn:
        row = _visible_result(conn, actor, evaluation_id)
        cycle = store.get(conn, store.cycles, row["cycle_id"])
        out = _result_out(row, cycle)
        out["appeals"] = [_appeal_out(a) for a in conn.execute(
            select(store.appeals).where(store.appeals.c.evaluation_id == evaluation_id)
            .order_by(store.appeals.c.filed_at)).mappings()]
        return out


def _visible_result(conn, actor: Principal, evaluation_id: str, for_update: bool = False):
    row = store.get(conn, store.results, evaluation_id, for_update=for_update)
    if row is None:
        raise not_found("evaluation", "评价结果", evaluation_id)
    if actor.role in ("staff", "supervisor") or actor.staff_id == row["staff_id"]:
        if actor.staff_id != row["staff_id"] or row["published_at"] is None:
            # the same answer as for an unknown id: do not reveal that it exists
            raise not_found("evaluation", "评价结果", evaluation_id)
    elif not actor.may_see_branch(row["branch_id"]):
        raise not_found("evaluation", "评价结果", evaluation_id)
    return row


# -- acknowledgement and appeals ---------------------------------------------------------------
def _own_published(conn, actor: Principal, evaluation_id: str):
    row = _visible_result(conn, actor, evaluation_id, for_update=True)
    if actor.staff_id != row["staff_id"]:
        raise Forbidden("only the person evaluated may do this", "只有被评价人本人可以执行此操作")
    if row["published_at"] is None:
        raise Conflict("the result is not published yet", "评价结果尚未公布", code="not_published")
    return row


def acknowledge(db: Database, actor: Principal, evaluation_id: str) -> dict:
    """The person evaluated accepts their result."""
    with db.transaction() as conn:
        row = _own_published(conn, actor, evaluation_id)
        model.check_acknowledge(row["status"])
        now = utcnow()
        conn.execute(update(store.results).where(store.results.c.id == evaluation_id)
                     .values(status="acknowledged", acknowledged_at=now))
    return get_evaluation(db, actor, evaluation_id)


def _appeal_out(row) -> dict:
    out = {**dict(row), "status_zh": model.APPEAL_STATE_LABELS_ZH.get(row["status"])}
    for k in ("previous_score", "new_score"):
        out[k] = None if out[k] is None else float(out[k])
    return out


def file_appeal(db: Database, actor: Principal, evaluation_id: str, reason: str) -> dict:
    """Appeal a published result within the appeal window (default 14 days) with a reason."""
    with db.transaction() as conn:
        row = _own_published(conn, actor, evaluation_id)
        cycle = store.get(conn, store.cycles, row["cycle_id"])
        now = utcnow()
        if row["score"] is None:
            raise Conflict("there is no score to appeal: no rating counted for this result", "该结果没有评分，无法申诉",
                           code="not_scored")
        settings = json.loads(cycle["settings"])
        model.check_appeal(row["status"], row["published_at"], now, settings["appeal_days"], settings["timezone"])
        appeal = {"id": str(uuid.uuid4()), "evaluation_id": evaluation_id, "cycle_id": row["cycle_id"],
                  "staff_id": row["staff_id"], "branch_id": row["branch_id"], "reason": reason, "filed_at": now,
                  "status": "pending", "decided_at": None, "decided_by": None, "decision_reason": None,
                  "previous_score": row["score"], "previous_grade": row["grade"], "new_score": None,
                  "new_grade": None, "revision": None}
        conn.execute(store.appeals.insert().values(**appeal))
        conn.execute(update(store.results).where(store.results.c.id == evaluation_id).values(status="appealed"))
    return _appeal_out(appeal)


def list_appeals(db: Database, actor: Principal, status: str | None, page: int, page_size: int,
                 branch_id: str | None = None):
    """A page of appeals, oldest first (branch roles: their branch; ``branch_id``: one branch), and the total."""
    if branch_id is not None:
        actor.require_branch(branch_id)
    with db.read() as conn:
        a = store.appeals
        # the incentive service's words (open / decided) mean the same appeals here
        conditions = [a.c.status.in_(model.APPEAL_FILTERS[status])] if status else []
        if actor.branch_filter() is not None:
            conditions.append(a.c.branch_id == actor.branch_filter())
        if branch_id is not None:
            conditions.append(a.c.branch_id == branch_id)
        rows, total = page_of(conn, select(a).where(*conditions), [a.c.filed_at, a.c.id], page, page_size)
        return [_appeal_out(x) for x in rows], total


def decide_appeal(db: Database, actor: Principal, appeal_id: str, data: dict) -> dict:
    """Uphold the result, or revise it → ``lsq.evaluation.rescored.v1`` with the next revision."""
    with db.transaction() as conn:
        appeal = store.get(conn, store.appeals, appeal_id, for_update=True)
        if appeal is None or not actor.may_see_branch(appeal["branch_id"]):
            raise not_found("appeal", "申诉", appeal_id)
        if actor.staff_id is not None and actor.staff_id == appeal["staff_id"]:
            raise Forbidden("nobody decides their own appeal", "不能处理本人的申诉")
        if appeal["status"] != "pending":
            raise Conflict("this appeal has been decided", "该申诉已处理", code="appeal_decided")
        row = store.get(conn, store.results, appeal["evaluation_id"], for_update=True)
        cycle = store.get(conn, store.cycles, row["cycle_id"])
        settings = json.loads(cycle["settings"])
        now = utcnow()
        decision = {"upheld": "uphold", "revised": "revise"}.get(data["decision"], data["decision"])
        values = {"status": "upheld" if decision == "uphold" else "revised", "decided_at": now,
                  "decided_by": _who(actor), "decision_reason": data["reason"]}
        if decision == "revise":
            if data.get("score") is None:
                raise Invalid("a revision needs the new score", "修改结果需要给出新的分数", field="score")
            score = q2(dec(data["score"]))
            dims = json.loads(row["dimension_scores"])
            rubric = _rubric_of(conn, cycle)
            for code, value in (data.get("dimension_scores") or {}).items():
                if code not in rubric.codes:
                    raise Invalid(f"{code} is not a dimension of the rubric", f"{code} 不是评价量表的维度",
                                  field=f"dimension_scores.{code}")
                dims[code] = str(q2(dec(value)))
            grade = model.grade_of(score, settings["grade_bands"])
            revision = row["revision"] + 1
            conn.execute(update(store.results).where(store.results.c.id == row["id"]).values(
                score=str(score), grade=grade, dimension_scores=store.dumps(dict(sorted(dims.items()))),
                revision=revision, status="revised"))
            _rerank_branch(conn, row["cycle_id"], row["branch_id"])
            values.update(new_score=str(score), new_grade=grade, revision=revision)
            fresh = store.get(conn, store.results, row["id"])
            # the revision cites the result it replaces (scored at the close, or an earlier revision)
            previous = row["event_id"]
            event_id = outbox.add(conn, "lsq.evaluation.rescored.v1", {
                **_scored_data(cycle, fresh, row["published_at"]), "previous_score": float(row["score"]),
                "previous_grade": row["grade"], "appeal_id": appeal_id},
                caused_by=[_cause("lsq.evaluation.rescored.v1" if row["revision"] else "lsq.evaluation.scored.v1",
                                  previous)] if previous else [], occurred_at=now)
            conn.execute(update(store.results).where(store.results.c.id == row["id"]).values(event_id=event_id))
        else:
            conn.execute(update(store.results).where(store.results.c.id == row["id"]).values(status="upheld"))
        conn.execute(update(store.appeals).where(store.appeals.c.id == appeal_id).values(**values))
        return _appeal_out({**appeal, **values})


def _rerank_branch(conn, cycle_id: str, branch_id: str) -> None:
    r = store.results
    rows = conn.execute(select(r.c.id, r.c.staff_id, r.c.score).where(r.c.cycle_id == cycle_id,
                                                                       r.c.branch_id == branch_id)).all()
    ranks = model.rank_within_branches({x.staff_id: (branch_id, None if x.score is None else dec(x.score))
                                        for x in rows})
    for x in rows:
        if x.staff_id in ranks:
            rank, n, pct = ranks[x.staff_id]
            conn.execute(update(r).where(r.c.id == x.id).values(rank_in_branch=rank, branch_participants=n,
                                                                percentile_in_branch=str(pct)))


def _who(actor: Principal) -> str | None:
    """Who did it, for the audit columns (64 characters at most)."""
    who = actor.staff_id or actor.subject
    return who[:64] if who else None


# -- feedback facts (the reader component's inputs) ------------------------------------------
def _insert(conn):
    """INSERT … ON CONFLICT for this connection's dialect (both engines have it): one round trip
    per event instead of an UPDATE followed by an INSERT."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(store.reader_facts)


def _upsert_fact(conn, kind: str, ref_id: str, values: dict, *, keep: tuple = (), where=None) -> None:
    """Insert the fact, or update its ``values`` (except ``keep``) if it exists (and ``where`` holds)."""
    statement = _insert(conn).values(kind=kind, ref_id=ref_id, **values)
    changes = {k: statement.excluded[k] for k in values if k not in keep}
    conn.execute(statement.on_conflict_do_update(index_elements=["kind", "ref_id"], set_=changes,
                                                 where=where(statement) if where else None))


def record_rating(conn, d: dict, now: datetime) -> None:
    """A desk rating of a named staff member (ratings of a desk alone do not concern a person)."""
    _upsert_fact(conn, "rating", d["rating_id"], {
        "staff_id": d.get("staff_id"), "branch_id": d["branch_id"], "occurred_at": d["submitted_at"],
        "stars": d["stars"], "rejected": False, "recorded_at": now})


def record_praise(conn, d: dict, now: datetime) -> None:
    """Praise received; a rejection that arrived first keeps it rejected."""
    _upsert_fact(conn, "praise", d["praise_id"], {
        "staff_id": d.get("staff_id"), "branch_id": d["branch_id"], "occurred_at": d["received_at"],
        "rejected": False, "recorded_at": now}, keep=("rejected",))


def reject_praise(conn, d: dict, now: datetime) -> None:
    """Praise rejected as spam or abuse never counts, even if the praise itself comes later."""
    _upsert_fact(conn, "praise", d["praise_id"], {
        "staff_id": d.get("staff_id"), "branch_id": d["branch_id"], "occurred_at": None, "rejected": True,
        "recorded_at": now}, keep=("staff_id", "branch_id", "occurred_at", "recorded_at"))


def record_complaint_resolved(conn, d: dict, now: datetime) -> None:
    """The latest resolution of a complaint (a reopened complaint resolved again replaces it);
    an older resolution delivered late changes nothing."""
    f = store.reader_facts
    _upsert_fact(conn, "complaint", d["complaint_id"], {
        "staff_id": d.get("staff_id"), "branch_id": d["branch_id"], "occurred_at": d["resolved_at"],
        "outcome": d["outcome"], "severity": d["severity"], "rejected": False, "recorded_at": now},
        keep=("rejected",),
        where=lambda st: (f.c.occurred_at.is_(None)) | (f.c.occurred_at <= st.excluded.occurred_at))


def record_complaint_reopened(conn, d: dict, now: datetime) -> None:
    """A reopened complaint stops counting until it is resolved again (after the reopening)."""
    f = store.reader_facts
    _upsert_fact(conn, "complaint", d["complaint_id"], {
        "staff_id": d.get("staff_id"), "branch_id": d["branch_id"], "occurred_at": None, "rejected": False,
        "reopened_at": d["reopened_at"], "recorded_at": now},
        keep=("staff_id", "branch_id", "occurred_at", "rejected", "recorded_at"),
        where=lambda st: (f.c.reopened_at.is_(None)) | (f.c.reopened_at < st.excluded.reopened_at))


# -- the deadline reminder -----------------------------------------------------------------------
def remind_deadlines(db: Database, now: datetime | None = None) -> dict:
    """A few days before an open cycle's deadline, tell each rater who has not finished what is
    missing: ``lsq.cycle.deadline_approaching.v1``, once per cycle and rater.

    The ``deadline_reminders`` primary key makes a second reminder impossible, even with several
    workers; on PostgreSQL an advisory lock lets one of them sweep at a time (the others skip)."""
    now = now or utcnow()
    with db.transaction() as conn:
        if conn.dialect.name == "postgresql" and not conn.execute(
                text("SELECT pg_try_advisory_xact_lock(hashtext('lsq-evaluation-reminders'))")).scalar():
            return {"skipped": True, "reminded": 0}
        c = store.cycles.c
        soon = now + timedelta(days=model.DEADLINE_REMINDER_DAYS)
        cycles = conn.execute(select(c.id, c.period, c.submission_deadline).where(
            c.status == "open", c.submission_deadline > now, c.submission_deadline <= soon)
            .order_by(c.submission_deadline, c.id)).all()
        reminded = 0
        for cycle in cycles:
            if not model.reminder_due(cycle.submission_deadline, now):
                continue
            p, s, r = store.participants.c, store.submissions.c, store.deadline_reminders.c
            members = {x.staff_id: (x.branch_id, x.role) for x in conn.execute(
                select(p.staff_id, p.branch_id, p.role).where(p.cycle_id == cycle.id))}
            pairs = set(conn.execute(select(store.peers.c.staff_id, store.peers.c.peer_id)
                                     .where(store.peers.c.cycle_id == cycle.id)).tuples())
            done = set(conn.execute(select(s.staff_id, s.rater_type, s.rater_id)
                                    .where(s.cycle_id == cycle.id)).tuples())
            already = set(conn.execute(select(r.staff_id).where(r.cycle_id == cycle.id)).scalars())
            missing = {k: v for k, v in model.unfinished_raters(members, pairs, done).items() if k not in already}
            if not missing:
                continue
            conn.execute(store.deadline_reminders.insert(), [
                {"cycle_id": cycle.id, "staff_id": k, "reminded_at": now} for k in missing])
            outbox.add_many(conn, "lsq.cycle.deadline_approaching.v1", [({
                "cycle_id": cycle.id, "period": cycle.period, "staff_id": k, "branch_id": v["branch_id"],
                "submission_deadline": cycle.submission_deadline, "self_pending": v["self_pending"],
                "peers_pending": v["peers_pending"], "supervisor_pending": v["supervisor_pending"],
                "reminded_at": now}, []) for k, v in missing.items()])
            reminded += len(missing)
    return {"skipped": False, "reminded": reminded}
