"""Report use cases: load the rollups of a period and scope, compute the figures, apply access.

Branch-scoped roles (supervisor, branch manager) see their branch and the network's totals and
medians, never another branch's figures by name; staff see their own profile only; network
administrators and auditors see everything.
"""
from __future__ import annotations

from sqlalchemy import func, select

from services.reports import model, store
from services.reports.model import Period
from shared import directory_view
from shared.auth import Principal
from shared.db import Database
from shared.directory_view import known_branches, known_service_points, known_staff
from shared.errors import Forbidden, not_found
from shared.timeutil import local_today, utcnow


# -- access ----------------------------------------------------------------------------------------
def _scope(conn, actor: Principal, branch_id: str | None) -> dict | None:
    """The branch asked for (checked), or None for the network; staff may not read branch reports."""
    if actor.role == "staff":
        raise Forbidden("staff see their own profile only", "馆员只能查看本人的统计档案")
    if branch_id is None:
        return None
    if not actor.may_see_branch(branch_id):
        raise Forbidden(f"you may not see the figures of branch {branch_id}", "无权查看其他分馆的统计数据",
                        field="branch_id")
    return dict(directory_view.require_branch(conn, branch_id))


def _visible(actor: Principal, branch_id: str) -> bool:
    return actor.network_wide or branch_id == actor.branch_id


# -- loading ---------------------------------------------------------------------------------------
def load(conn, start, end, branch_ids=None, staff_id=None) -> dict:
    """Every rollup row a report needs between two days: branches × days rows, plus one row per
    complaint filed, overdue requirement and evaluation result."""
    rollup = lambda name: store.rollup_rows(conn, name, start, end, branch_ids, staff_id)  # noqa: E731
    return {"complaints": store.complaints(conn, start, end, branch_ids, staff_id),
            "desk": rollup("desk_daily"), "praise": rollup("praise_daily"), "training": rollup("training_daily"),
            "overdue": [] if staff_id else store.overdue(conn, start, end, branch_ids),
            "evaluations": store.evaluations(conn, start, end, branch_ids, staff_id),
            "awards": [] if staff_id else store.rollup_rows(conn, "award_daily", start, end, branch_ids),
            "sanctions": [] if staff_id else store.rollup_rows(conn, "sanction_daily", start, end, branch_ids),
            "appeals": [] if staff_id else store.rollup_rows(conn, "appeal_daily", start, end, branch_ids),
            "surveys": [] if staff_id else store.rollup_rows(conn, "survey_daily", start, end, branch_ids)}


def branches(conn) -> dict[str, dict]:
    """Every known branch by id (names for people), in code order."""
    rows = conn.execute(select(known_branches).order_by(known_branches.c.code)).mappings()
    return {r["branch_id"]: dict(r) for r in rows}


def staff_counts(conn) -> dict[str, int]:
    """Active staff per branch now (the base of hours per person and compliance)."""
    s = known_staff.c
    rows = conn.execute(select(s.branch_id, func.count()).where(s.status != "left").group_by(s.branch_id))
    return {branch: count for branch, count in rows}


def _period_view(period: Period) -> dict:
    return {"label": period.label, "kind": period.kind, "start": period.start, "end": period.end}


def _branch_view(branch: dict | None) -> dict:
    if branch is None:
        return {"branch_id": None, "code": None, "name_zh": "全馆网络", "name_en": "Whole network"}
    return {k: branch[k] for k in ("branch_id", "code", "name_zh", "name_en")}


def _figures_list(current: dict, previous: dict) -> list[dict]:
    return [{"key": f.key, "label_zh": f.zh, "label_en": f.en, "unit": f.unit, "better": f.better,
             "value": current[f.key], "previous": previous[f.key],
             "change": model.change(f.key, current[f.key], previous[f.key])} for f in model.FIGURES]


def _headline(conn, period: Period, branch_id: str | None, counts: dict) -> dict:
    return _headlines(conn, [period], branch_id, counts)[0]


KINDS = {"desk": "desk_daily", "waits": "desk_wait_daily", "praise": "praise_daily", "training": "training_daily",
         "awards": "award_daily", "sanctions": "sanction_daily", "appeals": "appeal_daily", "surveys": "survey_daily"}


def grouped(conn, periods: list[Period], branch_ids=None, per_branch: bool = False) -> dict[tuple, dict]:
    """Bundles of rows summed in SQL per period (and per branch if ``per_branch``), keyed
    ``(branch_id, index)``, with ``(None, index)`` for the whole scope: a report reads branches ×
    periods rows, whatever the number of days or events (medians and p90 included)."""
    spans = [(p.start, p.end) for p in periods]
    rows = {kind: store.rollup_sums(conn, name, spans, branch_ids) for kind, name in KINDS.items()}
    rows["complaints"] = store.complaint_sums(conn, spans, branch_ids)
    rows["overdue"] = store.overdue_staff(conn, spans, branch_ids)
    rows["evaluations"] = store.evaluation_sums(conn, spans, branch_ids)
    medians = store.complaint_medians(conn, spans, branch_ids, by=())
    if per_branch:
        medians.update(store.complaint_medians(conn, spans, branch_ids))
    out: dict[tuple, dict] = {}

    def bundle(key):
        found = out.get(key)
        if found is None:
            found = out[key] = {kind: [] for kind in rows}
            found["medians"] = medians.get(key, {}) if key[0] is not None else medians.get((key[1],), {})
        return found
    for index in range(len(periods)):
        bundle((None, index))
    for kind, kind_rows in rows.items():
        for row in kind_rows:
            bundle((None, row["bucket"]))[kind].append(row)
            if per_branch:
                bundle((row["branch_id"], row["bucket"]))[kind].append(row)
    return out


def _headlines(conn, periods: list[Period], branch_id: str | None, counts: dict) -> list[dict]:
    """The figures of several periods for the network or one branch, from one grouped read."""
    bundles = grouped(conn, periods, None if branch_id is None else [branch_id])
    staff = counts.get(branch_id, 0) if branch_id else sum(counts.values())
    return [model.headline(bundles[(None, i)], staff, p.days) for i, p in enumerate(periods)]


# -- reports ---------------------------------------------------------------------------------------
def overview(db: Database, actor: Principal, period: Period, branch_id: str | None) -> dict:
    """Network (or one branch's) overview of a period, with the previous period beside it."""
    with db.read() as conn:
        branch = _scope(conn, actor, branch_id)
        counts = staff_counts(conn)
        now, before = _headlines(conn, [period, period.previous()], branch_id, counts)
    current, previous = model.flat(now), model.flat(before)
    return {"period": _period_view(period), "previous_period": _period_view(period.previous()),
            "scope": _branch_view(branch), "figures": _figures_list(current, previous),
            "details": {"grades": now["grades"], "evaluated": now["evaluated"],
                        "sanctions_by_level": now["sanctions_by_level"], "sanctions_revoked": now["sanctions_revoked"],
                        "appeals": now["appeals"], "awards_pending": now["awards_pending"],
                        "training_hours_target_per_person": now["training_hours_target_per_person"],
                        "acknowledged_on_time": now["acknowledged_on_time"], "resolved_on_time": now["resolved_on_time"],
                        "survey_dimensions": now["survey_dimensions"]}}


def comparison(db: Database, actor: Principal, period: Period, sort: str | None, order: str) -> dict:
    """Every figure per branch beside the network median and total, with the change from the
    previous period; another branch's row is never shown to a branch-scoped role."""
    if actor.role == "staff":
        raise Forbidden("staff see their own profile only", "馆员只能查看本人的统计档案")
    previous_period = period.previous()
    with db.read() as conn:
        names = branches(conn)
        counts = staff_counts(conn)
        split = grouped(conn, [period, previous_period], per_branch=True)
    rows = []
    ids = sorted(set(names) | {b for b, _i in split if b is not None},
                 key=lambda b: (names.get(b, {}).get("code") or "~", b))
    empty = {kind: [] for kind in split[(None, 0)]}
    for branch_id in ids:
        staff = counts.get(branch_id, 0)
        current = model.flat(model.headline(split.get((branch_id, 0)) or empty, staff, period.days))
        previous = model.flat(model.headline(split.get((branch_id, 1)) or empty, staff, previous_period.days))
        rows.append({**_branch_view(names.get(branch_id) or {"branch_id": branch_id, "code": None,
                                                              "name_zh": branch_id, "name_en": branch_id}),
                     "values": current, "previous": previous,
                     "change": {k: model.change(k, current[k], previous[k])["delta"] for k in current}})
    medians = {f.key: model.rounded(model.network_median(r["values"][f.key] for r in rows)) for f in model.FIGURES}
    network = model.flat(model.headline(split[(None, 0)], sum(counts.values()), period.days))
    visible = [r for r in rows if _visible(actor, r["branch_id"])]
    if sort:
        present = [r for r in visible if r["values"][sort] is not None]
        present.sort(key=lambda r: r["values"][sort], reverse=order == "desc")
        visible = present + [r for r in visible if r["values"][sort] is None]
    return {"period": _period_view(period), "previous_period": _period_view(previous_period),
            "figures": [{"key": f.key, "label_zh": f.zh, "label_en": f.en, "unit": f.unit, "better": f.better}
                        for f in model.FIGURES],
            "network_median": medians, "network": network, "branches": visible, "sort": sort, "order": order}


def trends(db: Database, actor: Principal, months: list[Period], branch_id: str | None) -> dict:
    """Every figure month by month (up to 36 months): one read of the span, bucketed by month."""
    with db.read() as conn:
        branch = _scope(conn, actor, branch_id)
        counts = staff_counts(conn)
        figures = _headlines(conn, months, branch_id, counts)
    series = [{"month": m.label, "values": model.flat(f)} for m, f in zip(months, figures)]
    return {"from": months[0].label, "to": months[-1].label, "scope": _branch_view(branch),
            "figures": [{"key": f.key, "label_zh": f.zh, "label_en": f.en, "unit": f.unit} for f in model.FIGURES],
            "months": series}


def _sla_row(sums: list[dict]) -> dict:
    figures = model.complaint_figures_from_sums(sums)
    return {k: model.rounded(figures[k]) for k in ("complaints_filed", "acknowledged_on_time_rate",
                                                   "resolved_on_time_rate", "complaints_breached")}


def _most_overdue(entry: dict) -> tuple:
    """Sort key of a breached target: most hours over target first (unknown last)."""
    over = entry["hours_over_target"]
    return (over is None, -(over or 0), entry["complaint_id"], entry["target"])


def _earliest_due(entry: dict) -> tuple:
    """Sort key of a target at risk: the nearest (or already passed) due time first."""
    return (entry["due_at"] is None, entry["due_at"] or entry["filed_at"], entry["complaint_id"], entry["target"])


def sla_board(db: Database, actor: Principal, period: Period, branch_id: str | None, limit: int = 200) -> dict:
    """Complaint SLA achievement per severity and per branch, the breached and at-risk complaints
    (their counts, and at most ``limit`` of each, most overdue first), and the average time over
    target of the breached targets that have since been met."""
    now = utcnow()
    with db.read() as conn:
        branch = _scope(conn, actor, branch_id)
        names = branches(conn)
        points = {r["service_point_id"]: r for r in conn.execute(select(known_service_points)).mappings()}
        people = {r["staff_id"]: r["name"] for r in conn.execute(select(known_staff.c.staff_id, known_staff.c.name))
                  .mappings()}
        scope = None if branch_id is None else [branch_id]
        spans = [(period.start, period.end)]
        severities = store.complaint_sums(conn, spans, scope, by=("severity",))
        per_branch = {r["branch_id"]: r for r in store.complaint_sums(conn, spans, scope)}
        complaints = store.flagged_complaints(conn, period.start, period.end, scope)
    by_severity = [{"severity": s, **_sla_row([r for r in severities if r["severity"] == s])} for s in model.SEVERITIES]
    by_branch = []
    for bid in sorted(per_branch, key=lambda b: (names.get(b, {}).get("code") or "~", b)):
        if _visible(actor, bid):
            by_branch.append({**_branch_view(names.get(bid) or {"branch_id": bid, "code": None, "name_zh": bid,
                                                                "name_en": bid}),
                              **_sla_row([per_branch[bid]])})
    breached, at_risk, overs = [], [], []
    for c in complaints:
        for target, prefix, met in (("acknowledge", "ack", c["acknowledged_at"]), ("resolve", "resolve", c["resolved_at"])):
            due = c[f"{prefix}_breach_due_at"] or c[f"{prefix}_due_at"]
            if c[f"{prefix}_breached"] and met is not None and due is not None:
                overs.append((met - due).total_seconds() / 3600)
            if not _visible(actor, c["branch_id"]):
                continue
            entry = {"complaint_id": c["complaint_id"], "branch_id": c["branch_id"],
                     "branch_name_zh": names.get(c["branch_id"], {}).get("name_zh", c["branch_id"]),
                     "branch_name_en": names.get(c["branch_id"], {}).get("name_en", c["branch_id"]),
                     "service_point_zh": (points.get(c["service_point_id"]) or {}).get("name_zh"),
                     "service_point_en": (points.get(c["service_point_id"]) or {}).get("name_en"),
                     "staff_name": people.get(c["handler_id"] or c["staff_id"]),
                     "severity": c["severity"], "category": c["category"], "target": target, "filed_at": c["filed_at"],
                     "due_at": due, "met_at": met}
            if c[f"{prefix}_breached"]:
                over = ((met or now) - due).total_seconds() / 3600 if due else None
                breached.append({**entry, "hours_over_target": model.rounded(over, 2),
                                 "status": "met_late" if met else "open"})
            elif c[f"{prefix}_at_risk"] and met is None and c["resolved_at"] is None:
                at_risk.append({**entry, "hours_over_target": None, "status": "at_risk"})
    return {"period": _period_view(period), "scope": _branch_view(branch), "by_severity": by_severity,
            "by_branch": by_branch, "average_hours_over_target": model.rounded(model.mean(sum(overs), len(overs)), 2),
            "breached": sorted(breached, key=_most_overdue)[:limit],
            "at_risk": sorted(at_risk, key=_earliest_due)[:limit],
            "breached_count": len(breached), "at_risk_count": len(at_risk), "limit": limit}


def _survey_cells(rows: list[dict], by: str | None) -> list[dict]:
    """Cells per dimension and item (and per ``by``: branch_id or user_group), complementary
    suppression applied within each breakdown of the same dimension or item."""
    out = []
    for level in ("dimension", "item_code"):
        sums: dict[tuple, list] = {}
        for r in rows:
            key = (r["dimension"], r["item_code"] if level == "item_code" else None, r[by] if by else None)
            cell = sums.setdefault(key, [0, 0, 0, 0])
            for i, k in enumerate(("n", "s_min", "s_des", "s_per")):
                cell[i] += r[k]
        cells = [model.triad_cell({"level": "dimension" if level == "dimension" else "item", "dimension": d,
                                   "item_code": item, "group": g}, *v) for (d, item, g), v in sums.items()]
        if by:
            grouped: dict[tuple, list] = {}
            for cell in cells:
                grouped.setdefault((cell["dimension"], cell["item_code"]), []).append(cell)
            cells = [c for members in grouped.values() for c in model.suppress_breakdown(members, "group")]
        out += sorted(cells, key=lambda c: (c["dimension"], c["item_code"] or "", c["group"] or ""))
    return out


def surveys(db: Database, actor: Principal, period: Period, branch_id: str | None) -> dict:
    """LibQUAL+ results of the answers submitted in the period: per dimension and item, overall,
    per user group and per branch; groups under 5 answers hidden, and hidden by subtraction too."""
    with db.read() as conn:
        branch = _scope(conn, actor, branch_id)
        names = branches(conn)
        rows = store.rollup_rows(conn, "survey_daily", period.start, period.end,
                                 None if branch_id is None else [branch_id])
    overall = _survey_cells(rows, None)
    groups = _survey_cells(rows, "user_group")
    for cell in groups:
        cell["user_group"] = cell.pop("group") or None
    per_branch = []
    for cell in _survey_cells(rows, "branch_id"):
        bid = cell.pop("group")
        if _visible(actor, bid):
            per_branch.append({**cell, "branch_id": bid, "branch_name_zh": names.get(bid, {}).get("name_zh", bid),
                               "branch_name_en": names.get(bid, {}).get("name_en", bid)})
    return {"period": _period_view(period), "scope": _branch_view(branch), "min_group_size": model.MIN_GROUP_SIZE,
            "overall": overall, "by_user_group": groups, "by_branch": per_branch}


def staff_profile(db: Database, actor: Principal, staff_id: str, period: Period) -> dict:
    """One staff member: scores across cycles, and for the period complaints, praise, desk
    ratings, training hours; their ledger. For themselves, their branch's supervisors and manager,
    and the network roles."""
    with db.read() as conn:
        person = directory_view.staff(conn, staff_id)
        if person is None:
            raise not_found("staff member", "员工", staff_id)
        if actor.role == "staff" and actor.staff_id != staff_id:
            raise Forbidden("staff see their own profile only", "馆员只能查看本人的统计档案")
        if actor.role != "staff" and not actor.may_see_branch(person["branch_id"]):
            raise not_found("staff member", "员工", staff_id)  # another branch's staff: not even their name
        branch = directory_view.branch(conn, person["branch_id"])
        bundle = load(conn, period.start, period.end, staff_id=staff_id)
        cycles = store.evaluations(conn, None, None, staff_id=staff_id)
        entries = store.ledger(conn, staff_id)
    complaints = bundle["complaints"]
    desk = model.desk_figures(bundle["desk"])
    return {"staff": {"staff_id": staff_id, "name": person["name"], "role": person["role"],
                      "status": person["status"], **{f"branch_{k}": (branch or {}).get(k) for k in ("name_zh", "name_en")},
                      "branch_id": person["branch_id"]},
            "period": _period_view(period),
            "evaluations": [{"period": r["period"], "score": r["score"], "grade": r["grade"], "revision": r["revision"]}
                            for r in cycles],
            "complaints": {"filed": len(complaints),
                           "substantiated": sum(1 for c in complaints if c["outcome"] == "substantiated"),
                           "partially_substantiated": sum(1 for c in complaints
                                                          if c["outcome"] == "partially_substantiated")},
            "praise": sum(r["praise"] for r in bundle["praise"]),
            "desk": {"ratings": desk["desk_ratings"], "stars_mean": model.rounded(desk["desk_stars_mean"]),
                     "wait_mean_minutes": model.rounded(desk["wait_mean_minutes"])},
            "training": {"completions": sum(r["completions"] for r in bundle["training"]),
                         "hours": round(sum(r["hours"] for r in bundle["training"]), 2),
                         "credit_hours": round(sum(r["credit_hours"] for r in bundle["training"]), 2),
                         "target_hours": round(model.ANNUAL_TRAINING_HOURS * period.days / 365, 2)},
            "ledger": [{k: e[k] for k in ("kind", "detail", "amount", "at", "reason_zh", "reason_en", "state")}
                       for e in entries]}


def review(db: Database, actor: Principal, period: Period, branch_id: str | None) -> dict:
    """The effectiveness review: this period against the previous one and the same period a year
    before, each figure with its change and a sentence in both languages, worse areas first."""
    with db.read() as conn:
        branch = _scope(conn, actor, branch_id)
        counts = staff_counts(conn)
        current, previous, year_before = map(model.flat, _headlines(
            conn, [period, period.previous(), period.year_before()], branch_id, counts))
    lines = model.review_lines(current, previous, year_before, period.kind)
    worse = [line for line in lines if "worse" in (line["change_previous"]["assessment"],
                                                   line["change_year_before"]["assessment"])]
    better = [line for line in lines if line not in worse and "better" in (
        line["change_previous"]["assessment"], line["change_year_before"]["assessment"])]
    return {"period": _period_view(period), "previous_period": _period_view(period.previous()),
            "year_before_period": _period_view(period.year_before()), "scope": _branch_view(branch),
            "summary": {"worse": len(worse), "better": len(better), "generated_on": local_today()},
            "lines": lines}


def today():
    """Today in the network's calendar (the default period is its quarter)."""
    return local_today()
