"""The staff area ("my page", /me): a staff member's evaluations, training and standing, in both
languages, with the forms that go with them, against the real services.

The data is set up through the services' APIs (directory, training, evaluation, incentive); what
only arrives by events in production (the directory's staff events in the other services, reader
ratings, praise and a complaint's outcome, an evaluation's score in training and incentive) is
handed to that service's own handlers with ``ConsumerRunner.apply_batch``, reading the producing
service's outbox where there is one. A session "taking place" and a deadline passing are moved in
the service's own tables, as the services' tests do.
"""
from __future__ import annotations

import dataclasses
import html as html_lib
import re
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import update

from shared import events as event_registry
from shared import outbox
from shared.consumer import ConsumerRunner
from shared.timeutil import local_midnight, local_today, rfc3339, utcnow
from tests.helpers import auth
from tests.integration.portal.conftest import csrf_of, sign_in_as

pytestmark = pytest.mark.integration

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


# -- setting up a small world through the services -------------------------------------------------
def _handlers(service: str) -> dict:
    if service == "evaluation":
        from services.evaluation.handlers import HANDLERS
    elif service == "training":
        from services.training.handlers import HANDLERS
    else:
        from services.incentive.handlers import HANDLERS
    return HANDLERS


def _db(live, service: str):
    return live.apps[service].extensions["lsq"].db


def _loaded(event):
    return dataclasses.replace(event, data=event_registry.get(event.type).load(event.data), encoded=None)


def relay(live, source: str, targets=("evaluation", "training", "incentive"), seen: set | None = None) -> None:
    """Hand the events ``source`` wrote to its outbox to the consumers of ``targets``, as Kafka would
    (each target's inbox drops what it already applied)."""
    with _db(live, source).read() as conn:
        written = outbox.events_for(conn)
    for target in targets:
        handlers = _handlers(target)
        wanted = [_loaded(e) for e in written if e.type in handlers]
        if wanted:
            app = live.apps[target]
            with app.app_context():
                ConsumerRunner(_db(live, target), "127.0.0.1:1", f"lsq.{target}", handlers).apply_batch(wanted)


def feed(live, target: str, event_type: str, data: dict, at=None) -> None:
    """One event as another service would publish it, applied by ``target``'s own handlers."""
    from shared.events.envelope import Event
    kind = event_registry.get(event_type)
    plain = kind.validate({"caused_by": [], **data})
    event = Event(id=str(uuid.uuid4()), type=event_type, source=kind.source, subject=kind.subject_of(plain),
                  time=at or utcnow(), data=kind.load(plain), key=kind.key_of(plain), topic=kind.topic)
    app = live.apps[target]
    with app.app_context():
        ConsumerRunner(_db(live, target), "127.0.0.1:1", f"lsq.{target}", _handlers(target)).apply_batch([event])


def _as(person: dict) -> dict:
    return {"headers": auth(person["role"], person["id"], person["branch_id"])}


def _quarter(day) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def build_world(live) -> dict:
    """A branch with five people (王芳 is "me"), another branch with 赵强, and for 王芳: two published
    evaluation results, an open cycle with a self-evaluation and peers to rate, an open cycle past
    its deadline, training done, booked, waiting and owed, external activities in every state,
    sanctions, a notice, points and an award."""
    code = "S" + uuid.uuid4().hex[:6].upper()
    branch = live.call("directory", "POST", "/branches", json={"code": code, "name_zh": "东城分馆",
                                                             "name_en": "Dongcheng Branch"})
    other_branch = live.call("directory", "POST", "/branches", json={"code": code + "X", "name_zh": "西城分馆",
                                                                   "name_en": "Xicheng Branch"})
    people = {}
    for number, (key, name, role, where) in enumerate((("me", "王芳", "staff", branch), ("chen", "陈晨", "staff", branch),
                                   ("liu", "刘洋", "staff", branch), ("sun", "孙丽", "staff", branch),
                                   ("supervisor", "李主管", "supervisor", branch),
                                   ("manager", "张馆长", "branch_manager", branch),
                                   ("other", "赵强", "staff", other_branch),
                                   ("other_supervisor", "周主管", "supervisor", other_branch)), 1):
        people[key] = live.call("directory", "POST", "/staff", json={
            "employee_number": f"{code}-{number:02d}", "name": name, "role": role, "branch_id": where["id"],
            "hire_date": "2021-03-01"})
    relay(live, "directory")
    me, today, now = people["me"], local_today(), utcnow()
    world = {"branch": branch, "other_branch": other_branch, "people": people}

    # -- evaluation: two published results, an open cycle, an open cycle whose deadline passed ----
    def cycle(period: str, **extra) -> dict:
        return live.call("evaluation", "POST", "/cycles", json={"period": period, "scope": "branches",
                                                                "branch_ids": [branch["id"]], **extra})

    def rate(cycle_id: str, rater: dict, staff: dict, rater_type: str, scores: tuple) -> None:
        codes = ("service_attitude", "professional_competence", "efficiency", "compliance")
        live.call("evaluation", "POST", f"/cycles/{cycle_id}/evaluations", **_as(rater), json={
            "staff_id": staff["id"], "rater_type": rater_type, "scores": dict(zip(codes, scores))})

    month = f"{today.year}-{today.month:02d}"
    current = cycle(month)
    live.call("evaluation", "POST", f"/cycles/{current['id']}/open")
    for stars in (5, 5, 4, 5, 4):
        feed(live, "evaluation", "lsq.rating.submitted.v1", {
            "rating_id": str(uuid.uuid4()), "branch_id": branch["id"], "service_point_id": "sp-1",
            "staff_id": me["id"], "stars": stars, "submitted_at": rfc3339(now - timedelta(seconds=30))})
    rate(current["id"], people["supervisor"], me, "supervisor", (5, 4, 4, 5))
    peers = live.call("evaluation", "GET", f"/cycles/{current['id']}/participants/{me['id']}/peers",
                      **_as(people["manager"]))["peers"]
    by_id = {p["id"]: p for p in people.values()}
    for peer in peers[:3]:
        rate(current["id"], by_id[peer["staff_id"]], me, "peer", (4, 4, 5, 4))
    earlier = cycle(f"{today.year}-H{1 if today.month <= 6 else 2}")
    live.call("evaluation", "POST", f"/cycles/{earlier['id']}/open")
    rate(earlier["id"], people["supervisor"], me, "supervisor", (4, 3, 4, 4))
    rate(earlier["id"], me, me, "self", (4, 4, 4, 4))
    for published in (earlier, current):
        live.call("evaluation", "POST", f"/cycles/{published['id']}/close")
        live.call("evaluation", "POST", f"/cycles/{published['id']}/publish")
    open_cycle = cycle(_quarter(today))
    live.call("evaluation", "POST", f"/cycles/{open_cycle['id']}/open")
    late = cycle(str(today.year), submission_deadline=rfc3339(now + timedelta(days=1)))
    live.call("evaluation", "POST", f"/cycles/{late['id']}/open")
    from services.evaluation import store as evaluation_store
    with _db(live, "evaluation").transaction() as conn:
        conn.execute(update(evaluation_store.cycles).where(evaluation_store.cycles.c.id == late["id"])
                     .values(submission_deadline=now - timedelta(hours=2)))
    results = live.call("evaluation", "GET", f"/staff/{me['id']}/evaluations", **_as(me))
    world["evaluation"] = {"current": current, "earlier": earlier, "open": open_cycle, "late": late,
                           "results": {r["cycle_id"]: r for r in results}}

    # -- training ------------------------------------------------------------------------------
    courses = {c["code"]: c for c in live.call("training", "GET", "/courses", params={"page_size": 100})["items"]}

    def session(course: str, days: int, capacity: int = 20, **extra) -> dict:
        starts = local_midnight(today + timedelta(days=days)) + timedelta(hours=9, minutes=30)
        where = ({"link": "https://meeting.example.org/lsq"} if courses[course]["delivery"] == "online"
                 else {"place": "东城分馆三楼报告厅"})
        return live.call("training", "POST", "/sessions", json={
            "course_id": courses[course]["id"], "starts_at": rfc3339(starts),
            "ends_at": rfc3339(starts + timedelta(hours=courses[course]["hours"])), "capacity": capacity,
            "branch_id": branch["id"], "trainer_staff_id": people["supervisor"]["id"], **where, **extra})

    drill = session("EM-SAFE", 1)
    live.call("training", "POST", f"/sessions/{drill['id']}/enrolments", json={}, **_as(me))
    from services.training import store as training_store
    with _db(live, "training").transaction() as conn:
        conn.execute(update(training_store.sessions).where(training_store.sessions.c.id == drill["id"])
                     .values(starts_at=now - timedelta(days=3, hours=5), ends_at=now - timedelta(days=3, hours=1)))
    live.call("training", "POST", f"/sessions/{drill['id']}/attendance", **_as(people["supervisor"]),
              json={"records": [{"staff_id": me["id"], "attended": True}]})
    full = session("RS-101", 7, capacity=1)
    live.call("training", "POST", f"/sessions/{full['id']}/enrolments", json={}, **_as(people["chen"]))
    live.call("training", "POST", f"/sessions/{full['id']}/enrolments", json={}, **_as(me))
    booked = session("IR-201", 10)
    live.call("training", "POST", f"/sessions/{booked['id']}/enrolments", json={}, **_as(me))
    free = session("CX-201", 14, capacity=12)
    live.call("training", "POST", f"/courses/{courses['CC-201']['id']}/assignments", json={
        "staff_ids": [me["id"]], "due_on": (today - timedelta(days=12)).isoformat(), "existing_obligation": True,
        "reason": "carried over from the 2025 paper records", "reason_zh": "沿用 2025 年纸质台账的培训要求"})

    def activity(kind: str, title: str, hours: float, days_ago: int, **extra) -> dict:
        return live.call("training", "POST", "/external-activities", **_as(me), json={
            "kind": kind, "title": title, "organiser": "中国图书馆学会", "hours": hours,
            "activity_date": (today - timedelta(days=days_ago)).isoformat(), **extra})

    approved = activity("seminar", "公共图书馆服务创新研讨会", 6, 30, competency_area="reader_service")
    live.call("training", "POST", f"/external-activities/{approved['id']}/approve", json={},
              **_as(people["supervisor"]))
    rejected = activity("networking", "馆际交流茶话会", 2, 20)
    live.call("training", "POST", f"/external-activities/{rejected['id']}/reject",
              json={"note": "缺少参会证明"}, **_as(people["supervisor"]))
    activity("teaching", "新馆员入职培训授课", 3, 5, evidence_note="课程表与签到表")
    # the network's roster entered at the start of the year owes the year's hours (the sweep's own
    # use case, as at New Year), with a minimum in reader service
    live.call("training", "PUT", "/policy", json={"area_minima": {"default": {"reader_service": 8.0}}})
    from services.training import service as training_service
    with live.apps["training"].app_context(), _db(live, "training").transaction() as conn:
        training_service.ensure_annual_requirements(conn, today.year, registered_on=date(today.year, 1, 1))
    world["training"] = {"courses": courses, "drill": drill, "full": full, "booked": booked, "free": free}

    # -- incentive: scores and training reach it by events; sanctions, a notice, praise ---------
    live.call("incentive", "PUT", f"/funds/{branch['id']}/periods/{_quarter(today)}", json={"budget": "50000.00"})
    relay(live, "evaluation", targets=("training", "incentive"))
    relay(live, "training", targets=("incentive",))
    live.call("incentive", "POST", "/violations", **_as(people["supervisor"]), json={
        "staff_id": me["id"], "category": "attitude", "description": "对读者语气生硬（12月1日）"})
    live.call("incentive", "POST", "/violations", **_as(people["supervisor"]), json={
        "staff_id": me["id"], "category": "attitude", "description": "未按规定佩戴工牌"})
    feed(live, "incentive", "lsq.complaint.resolved.v1", {
        "complaint_id": str(uuid.uuid4()), "branch_id": branch["id"], "staff_id": me["id"], "category": "waiting",
        "severity": "normal", "outcome": "partially_substantiated", "filed_at": rfc3339(now - timedelta(days=3)),
        "resolved_at": rfc3339(now - timedelta(days=1)), "handler_id": None})
    for seconds in (50, 40, 30):
        feed(live, "incentive", "lsq.praise.received.v1", {
            "praise_id": str(uuid.uuid4()), "branch_id": branch["id"], "staff_id": me["id"],
            "received_at": rfc3339(now - timedelta(seconds=seconds))})
    live.call("incentive", "POST", "/violations", **_as(people["other_supervisor"]), json={
        "staff_id": people["other"]["id"], "category": "attitude", "description": "迟到"})
    world["sanctions"] = {
        "mine": live.call("incentive", "GET", "/sanctions", params={"staff_id": me["id"]}, **_as(me))["items"],
        "other": live.call("incentive", "GET", "/sanctions", params={"staff_id": people["other"]["id"]},
                           **_as(people["other"]))["items"]}
    return world


# -- fixtures and helpers ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(live):
    return build_world(live)


def _sign_in(client, world, who: str = "me"):
    person = world["people"][who]
    branch = world["branch"] if person["branch_id"] == world["branch"]["id"] else world["other_branch"]
    sign_in_as(client, person["role"], staff_id=person["id"], branch_id=person["branch_id"], name=person["name"],
               branch_name_zh=branch["name_zh"], branch_name_en=branch["name_en"])
    return person


def visible(page_html: str) -> str:
    """The text a person reads in the page's main part (no tags, attributes or hidden values)."""
    main = page_html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", main, flags=re.S)
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", main.split(">", 1)[1])))


def _form_of(page_html: str, action: str) -> str:
    """The HTML of the form posting to ``action``."""
    found = re.search(r'<form[^>]*action="' + re.escape(action) + r'(#[^"]*)?"[^>]*>.*?</form>', page_html, re.S)
    assert found, f"no form posting to {action}"
    return found.group(0)


def _token(client, path: str = "/me/training") -> str:
    return csrf_of(client.get(path).get_data(as_text=True))


def _sanction(world, level: str) -> dict:
    return next(s for s in world["sanctions"]["mine"] if s["level"] == level)


PAGES = ("/me", "/me/evaluations", "/me/training", "/me/standing")


# -- every page: names, both languages -------------------------------------------------------------
def test_every_page_shows_names_not_ids_in_chinese_and_in_english(browser_client, world):
    _sign_in(browser_client, world)
    expected = {
        "/me": (["王芳", "东城分馆", "馆员", "我的评价", "良好", "本月积分"], ["王芳", "Dongcheng Branch", "Staff member", "Good"]),
        "/me/evaluations": (["季度评价", "陈晨", "服务态度", "读者评价", "已截止"],
                            ["Q", "陈晨", "Service attitude", "Readers", "Closed"]),
        "/me/training": (["读者投诉处理与沟通", "应急处置与消防安全演练", "候补", "公共图书馆服务创新研讨会", "逾期"],
                         ["Handling reader complaints", "Emergency handling and fire-safety drill", "waiting list",
                          "公共图书馆服务创新研讨会", "overdue"]),
        "/me/standing": (["口头警告", "书面警告", "提醒通知", "¥800.00"],
                         ["Verbal warning", "Written warning", "Notice", "¥800.00"]),
    }
    for path in PAGES:
        for lang, index in (("zh_CN", 0), ("en", 1)):
            page = browser_client.get(f"{path}?lang={lang}")
            assert page.status_code == 200, (path, lang)
            page_html = page.get_data(as_text=True)
            text = visible(page_html)
            assert not UUID.search(text), (path, lang, UUID.search(text).group(0))
            for word in expected[path][index]:
                assert word in text, (path, lang, word)
            if lang == "zh_CN":
                # Chinese pages: no English sentence left untranslated in the area's own texts
                for english in ("My page", "My evaluations", "Hours", "Sanction ladder", "Evaluations I am asked",
                                "Report an external activity", "Not yet acknowledged"):
                    assert english not in text, (path, english)
                assert 'lang="zh-CN"' in page_html
            else:
                assert 'lang="en"' in page_html and "我的主页" not in text


def test_the_overview_sums_up_each_topic_and_links_to_its_page(browser_client, world, live):
    me = _sign_in(browser_client, world)
    points = live.call("incentive", "GET", f"/staff/{me['id']}/standing", **_as(me))["points"]["this_month"]
    page_html = browser_client.get("/me?lang=en").get_data(as_text=True)
    text = visible(page_html)
    assert "89.6" in text and "Latest result:" in text
    assert "Overdue: 1" in text and "Written warning" in text and f"Points this month: {points}" in text
    assert "Evaluations waiting for you to give" in text
    for path in PAGES[1:]:
        assert f'href="{path}"' in page_html
    # the menu has the staff area's pages
    nav = page_html.split('<nav aria-label="Main menu">', 1)[1].split("</nav>", 1)[0]
    assert "My page" in nav and "My evaluations" in nav and "My training" in nav and "Awards and sanctions" in nav


def test_evaluation_results_explain_the_sources_and_their_weights(browser_client, world):
    _sign_in(browser_client, world)
    text = visible(browser_client.get("/me/evaluations?lang=en").get_data(as_text=True))
    current = text.split("My results", 1)[1]
    # December: readers, supervisor and peers counted; no self-evaluation, its 10 % spread over the rest
    assert "89.56" in current and "Good" in current
    assert "44.4 %" in current and "33.3 %" in current and "22.2 %" in current
    assert "no self-evaluation was given" in current
    assert "spread over the sources used" in current
    # the half-year: two colleagues are too few for the peer source
    assert "0 colleagues answered, at least 3 needed" in current
    assert "Professional competence" in current and "4.27" in current
    zh = visible(browser_client.get("/me/evaluations?lang=zh_CN").get_data(as_text=True))
    assert "专业能力" in zh and "同事互评" in zh and "未提交自我评价" in zh and "缺失来源的权重按比例分配" in zh


# -- forms: a peer evaluation, a self-evaluation, a cycle past its deadline -------------------------
def test_a_peer_evaluation_is_checked_kept_and_sent(browser_client, world, live):
    me = _sign_in(browser_client, world)
    cycle = world["evaluation"]["open"]
    chen = world["people"]["chen"]
    page_html = browser_client.get("/me/evaluations").get_data(as_text=True)
    form = next(f for f in re.findall(r'<form[^>]*action="/me/evaluations/rate[#"].*?</form>', page_html, re.S)
                if chen["id"] in f and cycle["id"] in f)
    # accessible radio groups: a fieldset named by the rubric's label, a label for every choice
    assert form.count("<fieldset") == 4 and "<legend>服务态度" in form
    assert len(re.findall(r'type="radio"', form)) == 20 and len(re.findall(r"<label for=", form)) >= 20
    token = csrf_of(page_html)
    half = {"csrf_token": token, "cycle_id": cycle["id"], "rater_type": "peer", "staff_id": chen["id"],
            "scores.service_attitude": "4", "scores.professional_competence": "5", "scores.efficiency": "9",
            "comment": "<script>alert(1)</script> 乐于助人"}
    r = browser_client.post("/me/evaluations/rate", data=half)
    answer = r.get_data(as_text=True)
    assert r.status_code == 422
    sent = next(f for f in re.findall(r'<form[^>]*action="/me/evaluations/rate[#"].*?</form>', answer, re.S)
                if chen["id"] in f and cycle["id"] in f)
    # efficiency (9) and compliance (missing) are named next to their groups; what was chosen stays
    assert re.findall(r'id="f-rate-[^"]*-scores-(\w+)-error"', sent) == ["efficiency", "compliance"]
    assert 'aria-describedby="f-rate-' in sent and "1 到 5" in re.search(r'id="[^"]*scores-efficiency-error">([^<]+)<', sent)[1]
    assert re.search(r'value="4" checked', sent) and re.search(r'value="5" checked', sent)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 乐于助人" in sent and "<script>alert" not in answer
    # the other forms on the page show nothing of it
    others = [f for f in re.findall(r'<form[^>]*action="/me/evaluations/rate[#"].*?</form>', answer, re.S) if f != sent]
    assert all("-error" not in f and "乐于助人" not in f for f in others)
    full = {**half, "scores.efficiency": "3", "scores.compliance": "4", "comment": "乐于助人"}
    r = browser_client.post("/me/evaluations/rate", data=full)
    assert r.status_code == 302 and r.headers["Location"].endswith("/me/evaluations#main")
    given = live.call("evaluation", "GET", f"/cycles/{cycle['id']}/evaluations", **_as(me))
    assert [(g["staff_id"], g["rater_type"], g["scores"]["efficiency"]) for g in given] == [(chen["id"], "peer", 3)]
    page_html = browser_client.get("/me/evaluations").get_data(as_text=True)
    assert "已保存您对同事的评价" in visible(page_html)
    again = next(f for f in re.findall(r'<form[^>]*action="/me/evaluations/rate[#"].*?</form>', page_html, re.S)
                 if chen["id"] in f and cycle["id"] in f)
    assert "修改我的评分" in again and re.search(r'value="3" checked', again) and "乐于助人" in again
    # a self-evaluation goes to me whatever staff id is posted
    r = browser_client.post("/me/evaluations/rate", data={
        "csrf_token": token, "cycle_id": cycle["id"], "rater_type": "self", "staff_id": chen["id"],
        **{f"scores.{c}": "4" for c in ("service_attitude", "professional_competence", "efficiency", "compliance")}})
    assert r.status_code == 302
    given = live.call("evaluation", "GET", f"/cycles/{cycle['id']}/evaluations", **_as(me))
    assert sorted((g["staff_id"], g["rater_type"]) for g in given) == sorted([(chen["id"], "peer"), (me["id"], "self")])


def test_after_the_deadline_the_page_says_so_and_the_service_refuses(browser_client, world):
    _sign_in(browser_client, world)
    late = world["evaluation"]["late"]
    page_html = browser_client.get("/me/evaluations").get_data(as_text=True)
    [block] = [b for b in re.findall(r'<div class="card cycle">.*?</ul>', page_html, re.S) if f"{late['period']}年度评价" in b]
    assert "截止时间为" in block and "不再接受评分" in block and "<form" not in block  # no form to fill any more
    r = browser_client.post("/me/evaluations/rate", data={
        "csrf_token": csrf_of(page_html), "cycle_id": late["id"], "rater_type": "self",
        **{f"scores.{c}": "4" for c in ("service_attitude", "professional_competence", "efficiency", "compliance")}})
    assert r.status_code == 409 and "评价提交截止时间已过" in visible(r.get_data(as_text=True))


def test_acknowledge_one_result_and_appeal_another_within_the_window(browser_client, world):
    _sign_in(browser_client, world)
    results = world["evaluation"]["results"]
    earlier, current = results[world["evaluation"]["earlier"]["id"]], results[world["evaluation"]["current"]["id"]]
    token = _token(browser_client, "/me/evaluations")
    assert browser_client.post(f"/me/evaluations/{earlier['id']}/acknowledge",
                               data={"csrf_token": token}).status_code == 302
    r = browser_client.post(f"/me/evaluations/{current['id']}/appeal", data={"csrf_token": token, "reason": ""})
    assert r.status_code == 422 and "请说明申诉理由" in visible(r.get_data(as_text=True))
    r = browser_client.post(f"/me/evaluations/{current['id']}/appeal", data={"csrf_token": token, "reason": "太短"})
    answer = r.get_data(as_text=True)
    assert r.status_code == 422 and "太短" in _form_of(answer, f"/me/evaluations/{current['id']}/appeal")
    assert re.search(r'id="f-appeal-[^"]*-reason-error">[^<]*(长度|字)', answer)
    r = browser_client.post(f"/me/evaluations/{current['id']}/appeal",
                            data={"csrf_token": token, "reason": "读者评分的统计期间有误，请复核。"})
    assert r.status_code == 302
    text = visible(browser_client.get("/me/evaluations").get_data(as_text=True))
    assert "读者评分的统计期间有误，请复核。" in text and "申诉中" in text and "您已于" in text
    # once appealed, it cannot be acknowledged: the service's rule, in words
    r = browser_client.post(f"/me/evaluations/{current['id']}/acknowledge", data={"csrf_token": token})
    assert r.status_code == 409 and "申诉处理中" in visible(r.get_data(as_text=True))


# -- training: enrol and cancel, an external activity -----------------------------------------------
def test_enrol_then_cancel_and_a_full_session_is_a_waiting_list(browser_client, world):
    _sign_in(browser_client, world)
    browser_client.get("/language/en")  # for the whole visit: the messages after a form too
    free = world["training"]["free"]
    page_html = browser_client.get("/me/training").get_data(as_text=True)
    mine = visible(page_html).split("My places", 1)[1].split("Sessions I can join", 1)[0]
    assert "Reader service standards and etiquette" in mine and "On the waiting list · number 1" in mine
    assert "Leave the waiting list" in mine and "Information retrieval" in mine and "Cancel my place" in mine
    assert f"/me/training/sessions/{free['id']}/enrol" in page_html
    r = browser_client.post(f"/me/training/sessions/{free['id']}/enrol", data={"csrf_token": csrf_of(page_html)})
    assert r.status_code == 302
    page_html = browser_client.get("/me/training").get_data(as_text=True)
    text = visible(page_html)
    assert "You are enrolled in the session." in text
    mine = text.split("My places", 1)[1].split("Sessions I can join", 1)[0]
    assert "Cultural exchange and multilingual reader service" in mine
    assert f"/me/training/sessions/{free['id']}/enrol" not in page_html
    cancel = re.search(r'action="(/me/training/enrolments/[^"#]+/cancel)[^"]*"[^>]*>(?:(?!</form>).)*</form>\s*</li>',
                       page_html.split("Cultural exchange and multilingual reader service", 1)[1], re.S)
    assert cancel
    r = browser_client.post(cancel.group(1), data={"csrf_token": csrf_of(page_html)})
    assert r.status_code == 302
    page_html = browser_client.get("/me/training").get_data(as_text=True)
    assert "Your place has been cancelled." in visible(page_html)
    assert f"/me/training/sessions/{free['id']}/enrol" in page_html  # open to join again
    # enrolling twice is the service's 409, shown next to the session
    booked = world["training"]["booked"]
    r = browser_client.post(f"/me/training/sessions/{booked['id']}/enrol", data={"csrf_token": csrf_of(page_html)})
    assert r.status_code == 409 and "Already enrolled in this session".lower() in visible(r.get_data(as_text=True)).lower()


@pytest.mark.parametrize("typed, field, message", [
    ({}, "title", "请填写标题"),
    ({"hours": "-3"}, "hours", "学时须大于 0"),
    ({"hours": "三小时"}, "hours", "请用数字填写学时"),
    ({"title": "研" * 301}, "title", "长度须在 1 到 300 之间"),
    ({"activity_date": "2099-01-01"}, "activity_date", "活动日期不能晚于今天"),
    ({"hours": "30"}, "hours", "超过每天 24 小时"),
    ({"title": "<script>alert('x')</script>", "organiser": "'; DROP TABLE external_activities; --",
      "hours": "0"}, "hours", "学时须大于 0"),
])
def test_an_external_activity_with_bad_input_shows_the_errors_and_keeps_what_was_typed(browser_client, world, typed,
                                                                                       field, message):
    _sign_in(browser_client, world)
    token = _token(browser_client)
    base = {"kind": "seminar", "title": "区域图书馆联盟年会", "organiser": "省图书馆学会",
            "activity_date": (local_today() - timedelta(days=3)).isoformat(), "hours": "4"} if typed else {}
    data = {**base, **typed, "csrf_token": token}
    r = browser_client.post("/me/training/activities", data=data)
    answer = r.get_data(as_text=True)
    assert r.status_code == 422, answer[:400]
    form = _form_of(answer, "/me/training/activities")
    error = re.search(rf'id="f-activity-{field}-error">([^<]*)<', form)
    assert error and message in error.group(1), (field, error and error.group(1))
    assert f'aria-describedby="f-activity-{field}-error"' in form or f'f-activity-{field}-error"' in form
    for name, value in typed.items():
        assert html_lib.escape(value, quote=True).replace("&#x27;", "&#39;") in form or \
            html_lib.escape(value, quote=False) in form, name
    assert "<script>alert" not in answer
    if not typed:  # empty: every required field is named
        for name in ("kind", "organiser", "activity_date", "hours"):
            assert f'id="f-activity-{name}-error"' in form


def test_a_reported_activity_is_listed_waiting_for_approval(browser_client, world):
    _sign_in(browser_client, world)
    r = browser_client.post("/me/training/activities", data={
        "csrf_token": _token(browser_client), "kind": "academic_forum", "title": "全国公共图书馆学术论坛",
        "organiser": "国家图书馆", "activity_date": (local_today() - timedelta(days=2)).isoformat(),
        "end_date": (local_today() - timedelta(days=1)).isoformat(), "hours": "10.5",
        "competency_area": "information_retrieval", "evidence_note": "参会证书编号 2026-118"})
    assert r.status_code == 302
    text = visible(browser_client.get("/me/training").get_data(as_text=True))
    assert "已提交，等待主管审批" in text
    submissions = text.split("我报告的活动", 1)[1]
    assert "全国公共图书馆学术论坛" in submissions and "学术论坛" in submissions and "10.5" in submissions
    assert "缺少参会证明" in submissions  # a rejection says why


# -- standing: acknowledge and appeal a sanction -------------------------------------------------------
def test_acknowledge_a_sanction_and_appeal_another(browser_client, world, live):
    me = _sign_in(browser_client, world)
    verbal, written, notice = (_sanction(world, level) for level in ("verbal_warning", "written_warning", "notice"))
    page_html = browser_client.get("/me/standing").get_data(as_text=True)
    assert f"/me/standing/sanctions/{notice['id']}/appeal" not in page_html  # a notice is not appealable
    token = csrf_of(page_html)
    r = browser_client.post(f"/me/standing/sanctions/{verbal['id']}/acknowledge", data={"csrf_token": token})
    assert r.status_code == 302
    assert live.call("incentive", "GET", f"/sanctions/{verbal['id']}", **_as(me))["status"] == "acknowledged"
    r = browser_client.post(f"/me/standing/sanctions/{written['id']}/appeal", data={"csrf_token": token, "reason": "  "})
    answer = r.get_data(as_text=True)
    assert r.status_code == 422 and "请说明申诉理由" in _form_of(answer, f"/me/standing/sanctions/{written['id']}/appeal")
    reason = "当天系统故障，工牌在更衣柜中，已向主管说明。"
    r = browser_client.post(f"/me/standing/sanctions/{written['id']}/appeal", data={"csrf_token": token, "reason": reason})
    assert r.status_code == 302
    sanction = live.call("incentive", "GET", f"/sanctions/{written['id']}", **_as(me))
    assert sanction["status"] == "appealed" and sanction["appeal_reason"] == reason
    text = visible(browser_client.get("/me/standing").get_data(as_text=True))
    assert "申诉已提交" in text and reason in text and "申诉中" in text and "已确认" in text
    # the service's rules: twice is refused, a notice cannot be appealed
    r = browser_client.post(f"/me/standing/sanctions/{written['id']}/appeal", data={"csrf_token": token, "reason": reason})
    assert r.status_code == 409
    r = browser_client.post(f"/me/standing/sanctions/{notice['id']}/appeal", data={"csrf_token": token, "reason": reason})
    assert r.status_code == 409 and "提醒通知不是处分，不能申诉" in visible(r.get_data(as_text=True))


# -- access ---------------------------------------------------------------------------------------------
def test_a_staff_member_sees_only_their_own_pages_and_cannot_act_on_anothers(browser_client, world, live):
    other = _sign_in(browser_client, world, "other")
    mine = world["people"]["me"]
    notice = _sanction(world, "notice")
    for path in PAGES:
        page_html = browser_client.get(f"{path}?staff_id={mine['id']}").get_data(as_text=True)
        text = visible(page_html)
        assert "王芳" not in text and "东城分馆" not in text and not UUID.search(text), path
    assert "赵强" in visible(browser_client.get("/me").get_data(as_text=True))
    assert browser_client.get(f"/me/{mine['id']}").status_code == 404
    token = _token(browser_client, "/me/standing")
    for action in ("acknowledge", "appeal"):
        r = browser_client.post(f"/me/standing/sanctions/{notice['id']}/{action}",
                                data={"csrf_token": token, "reason": "不是我的处分"})
        assert r.status_code in (403, 404) and "该内容不属于您" in visible(r.get_data(as_text=True))
    current = world["evaluation"]["results"][world["evaluation"]["current"]["id"]]
    r = browser_client.post(f"/me/evaluations/{current['id']}/acknowledge", data={"csrf_token": token})
    assert r.status_code in (403, 404)
    assert live.call("incentive", "GET", f"/sanctions/{notice['id']}", **_as(mine))["status"] == "issued"
    assert other["id"] != mine["id"]


def test_supervisors_and_managers_have_their_own_page(browser_client, world):
    _sign_in(browser_client, world, "supervisor")
    for path in PAGES:
        r = browser_client.get(path)
        assert r.status_code == 200 and "李主管" in r.get_data(as_text=True), path
    # supervisors act on their own sanctions like everyone (no "staff only" note any more)
    assert "目前仅普通馆员可在此确认或申诉处分" not in visible(browser_client.get("/me/standing").get_data(as_text=True))


def test_an_account_without_a_staff_record_gets_a_plain_page(browser_client):
    sign_in_as(browser_client, "network_admin", name="管理员")
    for path in PAGES:
        r = browser_client.get(path)
        assert r.status_code == 200 and "没有关联员工档案" in visible(r.get_data(as_text=True))


@pytest.mark.parametrize("path", PAGES)
def test_not_signed_in_is_sent_to_sign_in(browser_client, path):
    r = browser_client.get(path)
    location = r.headers.get("Location", "")
    assert r.status_code == 302 and location.startswith("/sign-in?next=")
    assert location.split("next=", 1)[1].replace("%2F", "/") == path


def test_not_signed_in_forms_are_sent_to_sign_in_too(browser_client, live):
    token_page = browser_client.get("/sign-in").get_data(as_text=True)
    r = browser_client.post("/me/training/activities", data={"csrf_token": csrf_of(token_page), "title": "x"})
    assert r.status_code == 302 and "/sign-in" in r.headers["Location"]


def test_readers_and_other_roles_do_not_get_the_staff_pages(browser_client):
    sign_in_as(browser_client, "auditor", name="审计员")
    assert browser_client.get("/me").status_code == 404
    assert "我的主页" not in browser_client.get("/about").get_data(as_text=True)


def test_a_form_without_or_with_a_forged_csrf_token_gets_400(browser_client, world):
    _sign_in(browser_client, world)
    free = world["training"]["free"]
    verbal = _sanction(world, "verbal_warning")
    for path, data in (("/me/training/activities", {"title": "x"}), (f"/me/training/sessions/{free['id']}/enrol", {}),
                       (f"/me/standing/sanctions/{verbal['id']}/appeal", {"reason": "理由充分"}),
                       ("/me/evaluations/rate", {"cycle_id": world["evaluation"]["open"]["id"]})):
        assert browser_client.post(path, data=data).status_code == 400, path
        r = browser_client.post(path, data={**data, "csrf_token": "forged"})
        assert r.status_code == 400 and "表单已过期" in r.get_data(as_text=True), path


def test_a_service_that_is_down_leaves_the_rest_of_the_overview(live, world):
    from services.portal import create_app as create_portal
    urls = {**live.urls, "incentive": "http://127.0.0.1:1"}
    client = create_portal({"TESTING": True, "SETTINGS": {"service_urls": urls, "secret_key": "d" * 32,
                                                          "secure_cookies": False}}).test_client()
    _sign_in(client, world)
    r = client.get("/me")
    text = visible(r.get_data(as_text=True))
    assert r.status_code == 200 and "王芳" in text and "暂时无法显示" in text and "良好" in text
    r = client.get("/me/standing")
    assert r.status_code == 503 and "奖惩" in r.get_data(as_text=True)


def test_training_hours_are_shown_against_the_requirement_and_by_area(browser_client, world, live):
    me = _sign_in(browser_client, world)
    # the year's hours: owed from the start of the year (or, in a year begun before the roster was
    # entered, from the registration), so the figure depends on the day the test runs
    required = live.call("training", "GET", f"/staff/{me['id']}/transcript", **_as(me))["hours"]["required"]
    text = visible(browser_client.get("/me/training?lang=en").get_data(as_text=True))
    hours = text.split("Continuing-education hours in", 1)[1].split("Required training", 1)[0]
    assert f"10.0 of {required:.1f} hours required" in hours and f"{required - 10:.1f} hours still to do" in hours
    assert "Reader service 6.0 8.0" in hours and "Emergency handling 4.0 —" in hours
    requirements = text.split("Required training", 2)[2].split("Sessions", 1)[0]
    owed = live.call("training", "GET", "/requirements", params={"staff_id": me["id"], "status": "open"}, **_as(me))["items"]
    assert f"{required:g} continuing-education hours in" in requirements
    if any(r["kind"] == "area_hours" for r in owed):  # made at New Year for a roster entered in January
        assert "8 hours of Reader service in" in requirements
    assert "reader_service" not in text and "12 days overdue" in requirements
    certificates = text.split("Certificates", 1)[1]
    assert re.search(r"LSQ-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", certificates) and "Valid" in certificates
    zh = visible(browser_client.get("/me").get_data(as_text=True))
    assert f"/ 本年要求 {required:.1f} 学时" in zh and f"还差 {required - 10:.1f} 学时" in zh
