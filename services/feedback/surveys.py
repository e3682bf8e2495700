"""Survey use cases: instruments, campaigns, invitations, anonymous answers, results, closing.

Results are GROUP BY queries over ``survey_answers`` (one row per answered item); groups with
fewer than ``model.MIN_GROUP_SIZE`` answers are suppressed inside the same queries (their figures
come back NULL), so no small group's figures ever leave the database.
"""
from __future__ import annotations

import csv
import io
import json
import secrets
import uuid
from datetime import datetime

from sqlalchemy import case, func, literal, null, select, union_all, update

from services.feedback import model, store
from shared import directory_view, outbox
from shared.auth import Principal
from shared.db import Database, page_of
from shared.ids import time_ordered_id
from shared.errors import Conflict, Invalid, not_found
from shared.timeutil import utcnow
from shared.suppression import complementary_suppression

a = store.survey_answers.c
GROUPINGS = ("all", "branch", "user_group")
_TOKEN_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


# -- instruments --------------------------------------------------------------------------------
def _instrument_view(row) -> dict:
    return {**{k: row[k] for k in ("id", "code", "version", "title_zh", "title_en", "created_at")},
            "items": json.loads(row["items"])}


def create_instrument(db: Database, data: dict) -> dict:
    """A new instrument, or a new version of one with the same code (versions are immutable)."""
    model.check_instrument(data["items"])
    now = utcnow()
    with db.transaction() as conn:
        latest = store.instrument_by_code(conn, data["code"])
        row = {"id": str(uuid.uuid4()), "code": data["code"], "version": (latest["version"] + 1) if latest else 1,
               "title_zh": data["title_zh"], "title_en": data["title_en"],
               "items": json.dumps(data["items"], ensure_ascii=False), "created_at": now}
        conn.execute(store.instruments.insert().values(**row))
    return _instrument_view(row)


def get_instrument(db: Database, instrument_id: str) -> dict:
    with db.read() as conn:
        row = store.get(conn, store.instruments, instrument_id)
        if row is None:
            raise not_found("instrument", "问卷", instrument_id)
        return _instrument_view(row)


def list_instruments(db: Database, page: int, page_size: int):
    i = store.instruments.c
    with db.read() as conn:
        rows, total = page_of(conn, select(store.instruments), [i.code, i.version.desc()], page, page_size)
    return [_instrument_view(r) for r in rows], total


# -- campaigns ----------------------------------------------------------------------------------
def _survey_view(row, now: datetime | None = None) -> dict:
    view = {k: row[k] for k in ("id", "instrument_id", "title_zh", "title_en", "opens_at", "closes_at",
                                "open_link", "closed_at", "created_at")}
    view["branch_ids"] = json.loads(row["branch_ids"])
    view["state"] = model.survey_state(row["opens_at"], row["closes_at"], row["closed_at"], now or utcnow())
    return view


def create_survey(db: Database, actor: Principal, data: dict) -> dict:
    """A campaign: an instrument, some branches, open and close times, open link or invitations."""
    if data["closes_at"] <= data["opens_at"]:
        raise Invalid("the survey must close after it opens", "问卷结束时间必须晚于开始时间", field="closes_at")
    branch_ids = list(dict.fromkeys(data["branch_ids"]))
    for index, branch_id in enumerate(branch_ids):
        if not actor.may_see_branch(branch_id):
            actor.require_branch(branch_id)
    now = utcnow()
    with db.transaction() as conn:
        for index, branch_id in enumerate(branch_ids):
            directory_view.require_branch(conn, branch_id, field=f"branch_ids.{index}")
        if data.get("instrument_id"):
            instrument = store.get(conn, store.instruments, data["instrument_id"])
        else:
            instrument = store.instrument_by_code(conn, data.get("instrument_code") or "lsq-core")
        if instrument is None:
            raise Invalid("unknown instrument", "问卷不存在", field="instrument_id", code="unknown_instrument")
        row = {"id": str(uuid.uuid4()), "instrument_id": instrument["id"],
               "title_zh": data.get("title_zh") or instrument["title_zh"],
               "title_en": data.get("title_en") or instrument["title_en"],
               "branch_ids": json.dumps(branch_ids), "opens_at": data["opens_at"], "closes_at": data["closes_at"],
               "open_link": data["open_link"], "closed_at": None, "created_at": now,
               "created_by": actor.staff_id or actor.subject}
        conn.execute(store.surveys.insert().values(**row))
    return _survey_view(row, now)


def _survey(conn, survey_id: str, actor: Principal | None = None, for_update: bool = False) -> dict:
    row = store.get(conn, store.surveys, survey_id, for_update)
    if row is None:
        raise not_found("survey", "问卷调查", survey_id)
    if actor is not None and not actor.network_wide:
        if actor.branch_id not in json.loads(row["branch_ids"]):
            raise not_found("survey", "问卷调查", survey_id)
    return dict(row)


def get_survey(db: Database, actor: Principal, survey_id: str) -> dict:
    with db.read() as conn:
        return _survey_view(_survey(conn, survey_id, actor))


def list_surveys(db: Database, actor: Principal, page: int, page_size: int):
    s = store.surveys.c
    conditions = []
    if not actor.network_wide:
        # branch_ids is a JSON list of ids; the quoted id cannot match another id by accident.
        conditions.append(s.branch_ids.contains(json.dumps(actor.branch_id), autoescape=True))
    with db.read() as conn:
        rows, total = page_of(conn, select(store.surveys).where(*conditions), [s.opens_at.desc(), s.id], page, page_size)
    return [_survey_view(r) for r in rows], total


def survey_form(db: Database, survey_id: str) -> dict:
    """What a respondent needs to answer: the campaign and its questionnaire in both languages."""
    with db.read() as conn:
        survey = _survey(conn, survey_id)
        instrument = store.get(conn, store.instruments, survey["instrument_id"])
    view = _survey_view(survey)
    return {"id": view["id"], "title_zh": view["title_zh"], "title_en": view["title_en"],
            "branch_ids": view["branch_ids"], "state": view["state"], "open_link": view["open_link"],
            "closes_at": view["closes_at"], "instrument": _instrument_view(instrument)}


def new_invitation_token() -> str:
    """An 80-bit one-time token, e.g. ``Q4TX-9MZK-2HPA-7WRC``."""
    raw = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def create_invitations(db: Database, actor: Principal, survey_id: str, count: int, branch_id: str | None) -> dict:
    """One-time invitation tokens (only their hashes are kept: hand them out now)."""
    now = utcnow()
    with db.transaction() as conn:
        survey = _survey(conn, survey_id, actor)
        branches = json.loads(survey["branch_ids"])
        if branch_id is not None:
            actor.require_branch(branch_id)
            if branch_id not in branches:
                raise Invalid(f"branch {branch_id} is not in this survey", f"分馆 {branch_id} 不在本次调查范围内",
                              field="branch_id")
        tokens = [new_invitation_token() for _ in range(count)]
        conn.execute(store.survey_invitations.insert(), [
            {"token_hash": model.hash_secret(t), "survey_id": survey_id, "branch_id": branch_id,
             "created_at": now, "used_at": None} for t in tokens])
    return {"survey_id": survey_id, "branch_id": branch_id, "tokens": tokens}


# -- answers ------------------------------------------------------------------------------------
def submit_response(db: Database, survey_id: str, data: dict) -> dict:
    """An anonymous answer → ``lsq.survey.response_submitted.v1`` (no personal data).

    Through the open link, or with a one-time invitation token (a second use is a 409).
    """
    now = utcnow()
    inv = store.survey_invitations.c
    with db.transaction() as conn:
        survey = _survey(conn, survey_id)
        model.check_accepting(model.survey_state(survey["opens_at"], survey["closes_at"], survey["closed_at"], now))
        branches = json.loads(survey["branch_ids"])
        branch_id = data.get("branch_id")
        invitation = None
        if data.get("token"):
            invitation = conn.execute(select(store.survey_invitations).where(
                inv.token_hash == model.hash_secret(data["token"]), inv.survey_id == survey_id)).mappings().first()
            if invitation is None:
                raise Invalid("unknown invitation token", "邀请码无效", field="token", code="unknown_token")
            if invitation["used_at"] is not None:
                raise Conflict("this invitation has already been used", "该邀请码已使用", field="token",
                               code="token_used")
            branch_id = invitation["branch_id"] or branch_id
        elif not survey["open_link"]:
            raise Invalid("this survey is answered by invitation only: a token is required",
                          "本调查仅限受邀读者作答，需要邀请码", field="token", code="token_required")
        if branch_id is None and len(branches) == 1:
            branch_id = branches[0]
        if branch_id is None:
            raise Invalid("say which branch the answers are about", "请选择评价的分馆", field="branch_id")
        if branch_id not in branches:
            raise Invalid(f"branch {branch_id} is not in this survey", f"分馆 {branch_id} 不在本次调查范围内",
                          field="branch_id")
        items = json.loads(store.get(conn, store.instruments, survey["instrument_id"])["items"])
        rows = model.validate_answers(items, data["answers"])
        user_group = model.user_group_of(items, data["answers"])
        if invitation is not None and not conn.execute(
                update(store.survey_invitations).where(inv.token_hash == invitation["token_hash"],
                                                       inv.used_at.is_(None)).values(used_at=now)).rowcount:
            raise Conflict("this invitation has already been used", "该邀请码已使用", field="token", code="token_used")
        response_id = time_ordered_id()
        conn.execute(store.survey_responses.insert().values(
            id=response_id, survey_id=survey_id, branch_id=branch_id, user_group=user_group, submitted_at=now))
        if rows:
            conn.execute(store.survey_answers.insert(), [
                {**r, "survey_id": survey_id, "response_id": response_id, "branch_id": branch_id,
                 "user_group": user_group} for r in rows])
        instrument = store.get(conn, store.instruments, survey["instrument_id"])
        outbox.add(conn, "lsq.survey.response_submitted.v1", {
            "survey_id": survey_id, "response_id": response_id, "branch_id": branch_id,
            "instrument_id": instrument["id"], "instrument_version": instrument["version"],
            "user_group": user_group, "submitted_at": now,
            "triads": [{"item_code": r["item_code"], "dimension": r["dimension"], "minimum": r["minimum"],
                        "desired": r["desired"], "perceived": r["perceived"]}
                       for r in rows if r["item_type"] == "triad" and not r["na"] and r["dimension"]]})
    return {"response_id": response_id, "survey_id": survey_id, "branch_id": branch_id, "submitted_at": now}


# -- results ------------------------------------------------------------------------------------
def _num(value, places: int = 2):
    return None if value is None else round(float(value), places)


def _rollups(cells, keys: list, measures) -> object:
    """One statement: the rows of ``cells`` summed per ``keys`` overall, by branch and by user group.

    ``cells`` is a CTE referenced three times, so the database computes it once (SQLite >= 3.35 and
    PostgreSQL >= 12 materialise a CTE used more than once): one scan of the answers per section.
    """
    parts = []
    for grouping in GROUPINGS:
        group = {"all": null(), "branch": cells.c.branch_id, "user_group": cells.c.user_group}[grouping]
        parts.append(select(literal(grouping).label("group_by"), group.label("grp"), *[cells.c[k] for k in keys],
                            *measures(cells.c))
                     .group_by(*[cells.c[k] for k in keys], *([] if grouping == "all" else [group])))
    return union_all(*parts)


def _triad_means(row) -> dict:
    """Mean minimum, desired and perceived (from SQL) and the LibQUAL+ gaps derived from them.

    Every triad answer has all three levels, so mean(perceived - minimum) = mean(perceived) -
    mean(minimum): the gaps come from ``model.gaps`` on the unrounded means.
    """
    if row is None or row.perceived is None:
        return {"minimum": None, "desired": None, "perceived": None, "adequacy_gap": None, "superiority_gap": None}
    minimum, desired, perceived = float(row.minimum), float(row.desired), float(row.perceived)
    gaps = model.gaps(minimum, desired, perceived)
    return {"minimum": _num(minimum), "desired": _num(desired), "perceived": _num(perceived),
            "adequacy_gap": _num(gaps["adequacy_gap"]), "superiority_gap": _num(gaps["superiority_gap"])}


def _kept(n, expr):
    """Suppression in SQL: figures of a group with fewer than MIN_GROUP_SIZE answers come back NULL."""
    return case((n >= model.MIN_GROUP_SIZE, expr), else_=None)


def _item_rows(conn, survey_id: str) -> tuple[list[dict], list[dict]]:
    """Per item (and option, for choices) and group: n, means, gaps, NPS, option counts."""
    cells = (select(a.item_code, a.item_type, a.dimension, a.choice, a.branch_id, a.user_group,
                    (func.count(a.perceived) + func.count(a.value) + func.count(a.choice)).label("n"),
                    func.sum(case((a.na.is_(True), 1), else_=0)).label("na"),
                    func.sum(a.minimum).label("s_min"), func.sum(a.desired).label("s_des"),
                    func.sum(a.perceived).label("s_per"), func.sum(a.value).label("s_val"),
                    func.sum(case((a.value >= 9, 1), else_=0)).label("promoters"),
                    func.sum(case((a.value <= 6, 1), else_=0)).label("detractors"))
             .where(a.survey_id == survey_id, a.item_type != "text")
             .group_by(a.item_code, a.item_type, a.dimension, a.choice, a.branch_id, a.user_group)
             .cte("item_cells"))

    def measures(c):
        n = func.sum(c.n)
        per = 1.0 * func.sum(c.s_per)
        return [_kept(n, n).label("n"), _kept(n, 1.0 * func.sum(c.s_min) / n).label("minimum"),
                _kept(n, 1.0 * func.sum(c.s_des) / n).label("desired"), _kept(n, per / n).label("perceived"),
                _kept(n, func.sum(c.na)).label("na"), _kept(n, 1.0 * func.sum(c.s_val) / n).label("mean"),
                _kept(n, func.sum(c.promoters)).label("promoters"), _kept(n, func.sum(c.detractors)).label("detractors")]

    items, choices = [], []
    for row in conn.execute(_rollups(cells, ["item_code", "item_type", "dimension", "choice"], measures)):
        base = {"item_code": row.item_code, "group_by": row.group_by, "group": row.grp,
                "suppressed": row.n is None, "n": None if row.n is None else int(row.n)}
        if row.item_type in ("choice", "multi_choice"):
            choices.append({**base, "choice": row.choice})
            continue
        triad, value = row.item_type == "triad", row.item_type in ("likert", "nps")
        means = _triad_means(row) if triad else _triad_means(None)
        nps = (model.nps(int(row.promoters), int(row.detractors), int(row.n))
               if row.item_type == "nps" and row.n is not None else None)
        items.append({**base, "item_type": row.item_type, "dimension": row.dimension, **means,
                      "na": None if row.na is None else int(row.na),
                      "mean": _num(row.mean) if value else None, "nps": _num(nps, 1)})
    return items, choices


def _dimension_rows(conn, survey_id: str) -> list[dict]:
    """Per dimension and group: respondents (n), mean minimum/desired/perceived, gaps, Likert mean.

    Dimension means weight every answer alike (the mean of all answers in the dimension); n counts
    the respondents who rated at least one item of it.
    """
    cells = (select(a.response_id, a.dimension, a.branch_id, a.user_group,
                    func.count(a.perceived).label("n_triad"), func.count(a.value).label("n_value"),
                    func.sum(a.minimum).label("s_min"), func.sum(a.desired).label("s_des"),
                    func.sum(a.perceived).label("s_per"), func.sum(a.value).label("s_val"))
             .where(a.survey_id == survey_id, a.item_type.in_(("triad", "likert")), a.dimension.is_not(None),
                    (a.perceived.is_not(None)) | (a.value.is_not(None)))
             .group_by(a.response_id, a.dimension, a.branch_id, a.user_group)
             .cte("dimension_cells"))

    def measures(c):
        n = func.count()
        triads, values = func.sum(c.n_triad), func.sum(c.n_value)
        per = 1.0 * func.sum(c.s_per)

        def per_triad(expr):
            return _kept(n, case((triads > 0, expr / triads), else_=None))

        return [_kept(n, n).label("n"), per_triad(1.0 * func.sum(c.s_min)).label("minimum"),
                per_triad(1.0 * func.sum(c.s_des)).label("desired"), per_triad(per).label("perceived"),
                _kept(n, case((values > 0, 1.0 * func.sum(c.s_val) / values), else_=None)).label("mean")]

    return [{"dimension": row.dimension, "group_by": row.group_by, "group": row.grp, "suppressed": row.n is None,
             "n": None if row.n is None else int(row.n), **_triad_means(row), "mean": _num(row.mean)}
            for row in conn.execute(_rollups(cells, ["dimension"], measures))]


def _response_rows(conn, survey_id: str) -> list[dict]:
    r = store.survey_responses.c
    result = []
    for grouping in GROUPINGS:
        group = {"all": null(), "branch": r.branch_id, "user_group": r.user_group}[grouping]
        n = func.count()
        query = (select(group.label("grp"), _kept(n, n).label("n")).where(r.survey_id == survey_id)
                 .group_by(*([] if grouping == "all" else [group])))
        result += [{"group_by": grouping, "group": row.grp, "suppressed": row.n is None, "n": row.n}
                   for row in conn.execute(query)]
    return result


def _sort_key(row: dict):
    return (GROUPINGS.index(row["group_by"]), row["group"] or "", row.get("item_code") or row.get("dimension") or "",
            row.get("choice") or "")


_FIGURES = ("n", "minimum", "desired", "perceived", "adequacy_gap", "superiority_gap", "mean", "nps", "na")


def _complementary(rows: list[dict], keys: tuple) -> list[dict]:
    """Complementary suppression: within each breakdown (by branch, by user group) of one figure
    (the same ``keys``), a lone hidden group could be derived by subtracting the shown groups from
    the overall figure; ``shared.suppression.complementary_suppression`` picks more groups to hide, and their
    figures are blanked here."""
    partitions: dict[tuple, list[dict]] = {}
    for row in rows:
        if row["group_by"] != "all":
            partitions.setdefault((row["group_by"], *(row.get(k) for k in keys)), []).append(row)
    for members in partitions.values():
        hide = complementary_suppression([(m["group"], m["n"], m["suppressed"]) for m in members])
        for member in members:
            if member["group"] in hide and not member["suppressed"]:
                member.update({"suppressed": True, **{k: None for k in _FIGURES if k in member}})
    return rows


def compute_results(conn, survey_id: str) -> dict:
    """Every figure of a survey's results (overall, by branch, by user group), small groups
    suppressed, and suppressed by subtraction too (complementary suppression)."""
    total = conn.execute(select(func.count()).select_from(store.survey_responses)
                         .where(store.survey_responses.c.survey_id == survey_id)).scalar_one()
    items, choices = _item_rows(conn, survey_id)
    return {"survey_id": survey_id, "responses": total if total >= model.MIN_GROUP_SIZE else None,
            "min_group_size": model.MIN_GROUP_SIZE,
            "groups": sorted(_complementary(_response_rows(conn, survey_id), ()), key=_sort_key),
            "dimensions": sorted(_complementary(_dimension_rows(conn, survey_id), ("dimension",)), key=_sort_key),
            "items": sorted(_complementary(items, ("item_code",)), key=_sort_key),
            "choices": sorted(_complementary(choices, ("item_code", "choice")), key=_sort_key)}


def results(db: Database, actor: Principal, survey_id: str) -> dict:
    with db.read() as conn:
        survey = _survey(conn, survey_id, actor)
        instrument = store.get(conn, store.instruments, survey["instrument_id"])
        return {**compute_results(conn, survey_id),
                "instrument": {"id": instrument["id"], "code": instrument["code"], "version": instrument["version"]},
                "state": model.survey_state(survey["opens_at"], survey["closes_at"], survey["closed_at"], utcnow())}


CSV_COLUMNS = ("section", "group_by", "group", "dimension", "item_code", "choice", "suppressed", "n",
               "minimum", "desired", "perceived", "adequacy_gap", "superiority_gap", "mean", "nps", "na")


def results_csv(db: Database, actor: Principal, survey_id: str) -> str:
    """The results as CSV: one row per dimension, item and option figure (UTF-8 with BOM for Excel)."""
    data = results(db, actor, survey_id)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for section in ("groups", "dimensions", "items", "choices"):
        for row in data[section]:
            writer.writerow({**row, "section": section, "suppressed": "yes" if row["suppressed"] else "no"})
    return "\ufeff" + out.getvalue()


# -- closing ------------------------------------------------------------------------------------
def _summary(conn, survey_id: str) -> dict:
    """The survey.closed summary: dimensions and NPS overall and per branch (small groups suppressed)."""
    dims = [d for d in _complementary(_dimension_rows(conn, survey_id), ("dimension",))
            if d["group_by"] in ("all", "branch")]
    nps_rows = [i for i in _complementary(_item_rows(conn, survey_id)[0], ("item_code",)) if i["item_type"] == "nps" and i["group_by"] in ("all", "branch")]
    keep = ("group_by", "group", "suppressed", "n")
    return {
        "dimensions": [{**{k: d[k] for k in keep}, "dimension": d["dimension"],
                        **{k: d[k] for k in ("minimum", "desired", "perceived", "adequacy_gap",
                                             "superiority_gap", "mean")}} for d in sorted(dims, key=_sort_key)],
        "nps": [{**{k: i[k] for k in keep}, "item_code": i["item_code"], "nps": i["nps"]}
                for i in sorted(nps_rows, key=_sort_key)],
        "min_group_size": model.MIN_GROUP_SIZE,
    }


def _close(conn, survey: dict, closed_at: datetime) -> dict | None:
    """Close and announce; None if someone else closed it first (the announcement is theirs)."""
    s = store.surveys.c
    if not conn.execute(update(store.surveys).where(s.id == survey["id"], s.closed_at.is_(None))
                        .values(closed_at=closed_at)).rowcount:
        return None
    responses = conn.execute(select(func.count()).select_from(store.survey_responses)
                             .where(store.survey_responses.c.survey_id == survey["id"])).scalar_one()
    outbox.add(conn, "lsq.survey.closed.v1", {"survey_id": survey["id"], "closed_at": closed_at,
                                              "responses": responses, "summary": _summary(conn, survey["id"])})
    return {**survey, "closed_at": closed_at}


def close_survey(db: Database, actor: Principal, survey_id: str) -> dict:
    """Close a campaign now → ``lsq.survey.closed.v1`` with its summary."""
    now = utcnow()
    with db.transaction() as conn:
        survey = _survey(conn, survey_id, actor, for_update=True)
        for branch_id in json.loads(survey["branch_ids"]):
            actor.require_branch(branch_id)  # a branch manager closes only a survey of their branch alone
        closed = _close(conn, survey, now) if survey["closed_at"] is None else None
        if closed is None:
            raise Conflict("the survey is already closed", "问卷调查已结束", code="survey_closed")
        return _survey_view(closed, now)


def close_due_surveys(db: Database, now: datetime | None = None) -> int:
    """Worker job: announce the close of campaigns whose closing time has passed."""
    now = now or utcnow()
    s = store.surveys.c
    closed = 0
    with db.transaction() as conn:
        rows = conn.execute(select(store.surveys).where(s.closed_at.is_(None), s.closes_at <= now)
                            .limit(100)).mappings().all()
        for row in rows:
            if _close(conn, dict(row), row["closes_at"]) is not None:
                closed += 1
    return closed
