"""``lsq demo``: seed a realistic library network through the public APIs of a running system.

Everything goes through the services' HTTP APIs (and Kafka is only watched, to know when the
workers have caught up), exactly as a client of the system would:

* directory: 5 branches with 2 service points each, 60 staff (a manager, two supervisors and nine
  librarians per branch);
* feedback: a quarter's worth of reader activity: complaints of every category and severity (some
  substantiated, some taken by phone two hours earlier and never acknowledged, so that they breach
  their SLA within the demo), praise (some rejected as spam),
  desk ratings with waiting times, a network-wide survey campaign with a few hundred answers, reader
  forums with suggestions followed up;
* evaluation: a cycle over the demo branches, rated by self, peers and supervisors, closed and
  published, with excellent and unsatisfactory results;
* training: two sessions completed with certificates, external seminars approved (one rejected), a
  complaint-handling course required of the staff with substantiated complaints;
* incentive: fund budgets set; the awards, points and sanctions follow from the events; one
  sanction acknowledged, one appeal overturned, one upheld; a recorded violation.

Deterministic given ``--seed`` (``random.Random(seed)``): names, texts, ratings and outcomes are the
same on every run. Running it again adds a second, separate network (codes carry a run number).
"""
from __future__ import annotations

import json
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import requests

from shared.auth import issue_token
from shared.config import jwt_secret, service_port

SERVICES = ("directory", "feedback", "evaluation", "training", "incentive")
SHANGHAI = timezone(timedelta(hours=8))
#: What the incentive worker reads (its own command topics included): the demo waits until it caught up.
INCENTIVE_TOPICS = ["lsq.complaint", "lsq.praise", "lsq.evaluation", "lsq.training", "lsq.requirement",
                    "lsq.sanction", "lsq.award"]
WAIT = 60.0  # seconds any asynchronous step may take before the demo gives up

BRANCHES = [
    ("CENTRAL", "市图书馆中心馆", "City Library, Central", "人民路 88 号", "circulation", "reference"),
    ("EASTLAKE", "东湖分馆", "East Lake Branch", "东湖路 12 号", "circulation", "information"),
    ("WESTHILL", "西山分馆", "West Hill Branch", "西山大道 301 号", "circulation", "reference"),
    ("SOUTHKIDS", "南湖少儿分馆", "South Lake Children's Branch", "南湖街 5 号", "children", "circulation"),
    ("NORTHDIGI", "北城数字分馆", "North City Digital Branch", "北城科技园 2 栋", "digital", "circulation"),
]
DESK_NAMES = {"circulation": ("借还服务台", "Circulation desk"), "reference": ("参考咨询台", "Reference desk"),
              "information": ("总服务台", "Information desk"), "children": ("少儿借阅台", "Children's desk"),
              "digital": ("数字体验区服务台", "Digital services desk")}
FUND_BUDGETS = ("12000.00", "8000.00", "8000.00", "6000.00", "2500.00")  # the last one runs short
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢傅钟"
GIVEN = ["静", "敏", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平",
         "刚", "桂英", "晓梅", "建国", "海燕", "志强", "丹", "雪", "慧", "颖", "欣怡", "子涵", "浩然", "思远", "雨桐",
         "文博", "佳琪", "晨曦", "梓萱", "俊杰", "婉婷", "宇航", "嘉怡"]

COMPLAINT_TEXTS = {
    "attitude": [("馆员在借还书时态度冷淡，对我的提问很不耐烦。", "The librarian was cold and impatient with my questions."),
                 ("工作人员当众大声训斥我的孩子。", "A staff member scolded my child loudly in front of others."),
                 ("咨询时馆员一直在看手机，没有理会读者。", "The librarian kept looking at the phone and ignored readers.")],
    "waiting": [("周末借还台只开一个窗口，排队超过四十分钟。", "Only one counter open at the weekend; over 40 minutes in the queue."),
                ("预约的图书到馆三天仍未通知取书。", "A reserved book arrived three days ago and nobody told me."),
                ("自助借还机故障，等待工作人员处理很久。", "The self-service machine broke and it took long for staff to come.")],
    "competence": [("馆员不会使用馆藏检索系统，无法帮我查到书。", "The librarian could not use the catalogue to find my book."),
                   ("参考咨询给出的数据库信息是错误的。", "The reference desk gave wrong information about a database."),
                   ("办理读者证时信息录入错误，导致无法借书。", "My card was registered with wrong details so I could not borrow.")],
    "environment": [("阅览室空调温度过低，多次反映无人处理。", "The reading room is far too cold; reported several times."),
                    ("卫生间长期缺少洗手液和纸巾。", "The toilets are always out of soap and paper."),
                    ("自习区噪音很大，工作人员不制止。", "The study area is noisy and staff do nothing about it.")],
    "policy": [("逾期罚款规则不清楚，收费与公告不一致。", "The overdue fine rules are unclear; the charge differs from the notice."),
               ("少儿读者不能借阅成人区图书的规定不合理。", "Children not being allowed to borrow adult books is unreasonable."),
               ("开放时间调整没有提前通知读者。", "Opening hours changed without notice to readers.")],
    "other": [("官网预约座位系统经常无法登录。", "The seat booking website often fails to log in."),
              ("捐赠图书后没有收到任何回复。", "I donated books and never heard back."),
              ("停车场指示牌不清楚，找不到入口。", "The car park signs are unclear; I could not find the entrance.")],
}
RESPONSES = {
    "substantiated": ("经核实情况属实，已对相关馆员进行批评教育并整改，感谢您的监督。",
                      "We found your complaint justified; the staff member was spoken to and it was put right."),
    "partially_substantiated": ("经调查情况部分属实，我们已改进相关服务流程。",
                                "Part of your complaint was justified; we have improved the procedure."),
    "unsubstantiated": ("经调查未发现违规情况，已向您说明相关规定，欢迎继续提出意见。",
                        "We found no breach of the rules and have explained them; thank you for telling us."),
    "withdrawn": ("读者来电表示问题已解决，撤回投诉。", "The reader called to say the matter is settled and withdrew the complaint."),
}
PRAISE_TEXTS = [("帮我找到了绝版的地方志，非常专业！", "Found me an out-of-print local gazetteer, very professional!"),
                ("耐心教我老人家使用电子阅读器，谢谢！", "Patiently taught an old man to use an e-reader, thank you!"),
                ("少儿阅读活动组织得很好，孩子很喜欢。", "The children's reading event was great, my kid loved it."),
                ("服务热情周到，解答细致。", "Warm and attentive service, careful answers."),
                ("帮我预约了馆际互借，效率很高。", "Arranged an interlibrary loan for me very quickly.")]
SPAM = ("加微信领取免费会员卡！！！", "Add me on WeChat for a free membership card!!!")
FORUM_TOPICS = [("读者座谈会：延长周末开放时间", "Reader forum: longer weekend opening"),
                ("读者座谈会：少儿阅读推广", "Reader forum: children's reading promotion"),
                ("读者座谈会：数字资源使用体验", "Reader forum: using digital resources")]
SUGGESTIONS = [("建议周末开放至晚上九点。", "Open until 9 pm at weekends."),
               ("增加自习座位和充电插座。", "More study seats and power sockets."),
               ("开设老年人智能手机使用课程。", "Smartphone classes for older readers."),
               ("少儿区增加绘本和亲子阅读活动。", "More picture books and parent-child reading sessions."),
               ("新书通报通过微信公众号推送。", "Announce new books through the WeChat account."),
               ("自助借还机增加到三台。", "Three self-service machines instead of one.")]
SEMINARS = [("seminar", "公共图书馆服务创新研讨会", "Public library service innovation seminar", "省图书馆学会"),
            ("academic_forum", "全民阅读推广学术论坛", "National reading promotion academic forum", "中国图书馆学会"),
            ("conference", "智慧图书馆建设年会", "Smart library annual conference", "华东图书馆联盟"),
            ("networking", "馆际交流沙龙", "Interlibrary exchange salon", "市公共图书馆联盟"),
            ("teaching", "为社区读者讲授信息素养课", "Teaching an information-literacy class to residents", "社区文化中心")]


READS_PER_ADDRESS = 8  # requests from one reader address, under every per-address limit


def _can_bind(address: str) -> bool:
    """Whether this machine can send from ``address`` (all of 127.0.0.0/8 on Linux)."""
    import socket
    try:
        with socket.socket() as probe:
            probe.bind((address, 0))
        return True
    except OSError:
        return False


class SourceAddressAdapter(requests.adapters.HTTPAdapter):
    """Connections that leave from a given local address."""

    def __init__(self, address: str, **kwargs):
        self.address = address
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


class DemoError(RuntimeError):
    """A step of the demo failed: the message says which call and what came back."""


# -- talking to the system -------------------------------------------------------------------------
class Client:
    """HTTP calls to the services on their configured ports, with tokens for the local secret."""

    def __init__(self):
        self.base = {s: f"http://127.0.0.1:{service_port(s)}" for s in SERVICES}
        self.secret = jwt_secret()
        self.http = requests.Session()
        self.http.mount("http://", requests.adapters.HTTPAdapter(pool_connections=10, pool_maxsize=20))
        self.calls = 0
        # Where the reader addresses start: not part of the seeded story, and another run in the
        # same minute must not find its readers' rate limits used up.
        self._ip = random.SystemRandom().randrange(60_000) * READS_PER_ADDRESS
        self.readers: dict[str, requests.Session] = {}
        self.loopback_range = _can_bind("127.77.0.1")

    def token(self, role: str, staff_id: str | None = None, branch_id: str | None = None) -> dict:
        return {"Authorization": "Bearer " + issue_token(self.secret, role, staff_id=staff_id, branch_id=branch_id,
                                                         subject=staff_id or "lsq-demo")}

    def reader(self) -> requests.Session:
        """A session for an anonymous reader. Readers come from many addresses, and the reader
        endpoints are rate-limited per address (10 to 20 a minute): on this machine's loopback
        network (127.0.0.0/8) each few requests leave from another address, as from another reader.
        Where only 127.0.0.1 exists (macOS) every reader shares it and a 429 is waited out."""
        self._ip += 1
        if not self.loopback_range:
            return self.http
        slot = self._ip // READS_PER_ADDRESS
        address = f"127.77.{slot // 250 % 250}.{slot % 250 + 1}"
        if address not in self.readers:
            session = requests.Session()
            session.mount("http://", SourceAddressAdapter(address))
            # a reader's phone does not keep a connection open (and an idle one may be closed under us)
            session.headers["Connection"] = "close"
            self.readers[address] = session
        return self.readers[address]

    def close(self) -> None:
        for session in self.readers.values():
            session.close()
        self.http.close()

    def call(self, method: str, service: str, path: str, *, headers=None, expect=(200, 201), retry_422=False,
             via: requests.Session | None = None, **kwargs):
        """One call; a 422 is retried for a while when the service may not know a new reference yet,
        a 429 (a reader's rate limit) until the limit lets it through."""
        deadline = time.monotonic() + WAIT
        while True:
            r = (via or self.http).request(method, self.base[service] + path, headers=headers, timeout=30, **kwargs)
            self.calls += 1
            if r.status_code in expect:
                return r.json() if r.content else None
            retry = (retry_422 and r.status_code == 422) or r.status_code == 429
            if not (retry and time.monotonic() < deadline):
                raise DemoError(f"{method} {service}{path} → {r.status_code}: {r.text[:400]}")
            time.sleep(0.3 if r.status_code == 422 else 2)

    def wait(self, what: str, probe, timeout: float = WAIT):
        """Poll ``probe`` until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            result = probe()
            if result:
                return result
            if time.monotonic() > deadline:
                raise DemoError(f"gave up waiting for {what} after {timeout:.0f} s")
            time.sleep(0.3)

    def status(self, service: str, path: str, headers: dict) -> int:
        return self.http.get(self.base[service] + path, headers=headers, timeout=10).status_code


def group_of(service: str) -> str:
    """The consumer group of a service's worker (``LSQ_CONSUMER_GROUP_PREFIX``, default ``lsq``)."""
    prefix = (os.environ.get(f"LSQ_{service.upper()}_CONSUMER_GROUP_PREFIX")
              or os.environ.get("CONSUMER_GROUP_PREFIX") or "lsq")  # as shared.config reads it
    return f"{prefix}.{service}"


def kafka_bootstrap(args) -> str:
    """The broker ``lsq up`` uses: ``KAFKA_BOOTSTRAP``, else its own on ``LSQ_KAFKA_PORT`` (9092)."""
    return (getattr(args, "kafka", None) or getattr(args, "bootstrap", None) or os.environ.get("KAFKA_BOOTSTRAP")
            or f"127.0.0.1:{os.environ.get('LSQ_KAFKA_PORT', '9092')}")


class Lag:
    """Watches Kafka (read only) to know when a service's worker has consumed what was produced."""

    def __init__(self, bootstrap: str):
        from kafka import KafkaAdminClient, KafkaConsumer
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), client_id="lsq-demo")
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=None,
                                      enable_auto_commit=False)

    def ends(self, topics: list[str]) -> dict:
        from kafka import TopicPartition
        parts = [TopicPartition(t, p) for t in topics for p in (self.consumer.partitions_for_topic(t) or ())]
        return self.consumer.end_offsets(parts) if parts else {}

    def total(self, topic: str) -> int:
        return sum(self.ends([topic]).values())

    def caught_up(self, group: str, topics: list[str]) -> bool:
        ends = self.ends(topics)
        done = self.admin.list_group_offsets({group: None}).get(group, {})
        return all((done.get(tp).offset if done.get(tp) else 0) >= end for tp, end in ends.items() if end)

    def close(self):
        self.consumer.close()
        self.admin.close()


# -- the seed --------------------------------------------------------------------------------------
def names(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct, realistic Chinese names."""
    out, seen = [], set()
    while len(out) < count:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def parallel(jobs, workers: int = 6) -> list:
    """Run the prepared calls (closures) on a few threads; results in order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: job(), jobs))


def seed(args, out=print) -> dict:
    """Seed the network; returns the summary (counts read back from the APIs)."""
    api = Client()
    try:
        lag = Lag(kafka_bootstrap(args))
    except Exception as exc:  # noqa: BLE001 - kafka-python raises several kinds when no broker answers
        api.close()
        raise DemoError(f"Kafka at {kafka_bootstrap(args)} does not answer ({exc})") from None
    try:
        return _seed(args, out, api, lag)
    finally:
        lag.close()
        api.close()


def _seed(args, out, api: "Client", lag: "Lag") -> dict:
    rng = random.Random(args.seed)
    admin = api.token("network_admin")
    started = time.monotonic()
    now = datetime.now(timezone.utc)
    today = now.astimezone(SHANGHAI).date()
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"  # the network's quarter, not UTC's

    # -- directory ------------------------------------------------------------------------------
    existing = api.call("GET", "directory", "/branches", headers=admin, params={"page_size": 500})["items"]
    prefix = f"S{args.seed}"
    run = 1 + len({b["code"].split("-")[0] for b in existing if b["code"].startswith(prefix + "R")})
    tag = f"{prefix}R{run}"
    out(f"lsq demo: seed {args.seed}, run {run} (codes {tag}-…) / 演示数据：种子 {args.seed}，第 {run} 次")
    branches = []
    for i, (code, zh, en, address, desk1, desk2) in enumerate(BRANCHES):
        b = api.call("POST", "directory", "/branches", headers=admin, json={
            "code": f"{tag}-{code}", "name_zh": zh, "name_en": en, "address": address, "opened_on": "2015-09-01"})
        b["desks"] = [api.call("POST", "directory", "/service-points", headers=admin, json={
            "branch_id": b["id"], "name_zh": DESK_NAMES[k][0], "name_en": DESK_NAMES[k][1], "kind": k})["id"]
            for k in (desk1, desk2)]
        b["budget"] = FUND_BUDGETS[i]
        branches.append(b)
    people = names(rng, 60)
    staff = []
    for i, name in enumerate(people):
        b = branches[i // 12]
        slot = i % 12
        role = "branch_manager" if slot == 0 else "supervisor" if slot in (1, 2) else "staff"
        hired = datetime(rng.randint(2008, 2024), rng.randint(1, 12), rng.randint(1, 28)).date()
        s = api.call("POST", "directory", "/staff", headers=admin, json={
            "employee_number": f"{tag}-{i + 1:03d}", "name": name, "role": role, "branch_id": b["id"],
            "hire_date": hired.isoformat(), "email": f"lib{tag.lower()}{i + 1:03d}@library.example.cn"})
        s["branch"] = b
        # who they are in this story: a few stars, a few who struggle, most in between
        s["profile"] = "star" if slot in (3, 4) or (slot == 1 and i < 24) else "poor" if slot == 11 else "steady"
        staff.append(s)
    for b in branches:
        members = [s for s in staff if s["branch"] is b]
        b["manager"] = members[0]
        b["supervisors"] = members[1:3]
        b["members"] = members
        b["mgr_auth"] = api.token("branch_manager", members[0]["id"], b["id"])
        b["sup_auth"] = api.token("supervisor", members[1]["id"], b["id"])
    out(f"  directory: {len(branches)} branches, {sum(len(b['desks']) for b in branches)} service points, "
        f"{len(staff)} staff / 分馆、服务点、馆员已创建")
    office = api.call("POST", "directory", "/staff", headers=admin, json={
        "employee_number": f"{tag}-ADM", "name": "总馆办公室", "role": "network_admin", "branch_id": branches[0]["id"],
        "hire_date": "2015-09-01"})
    sign_ins = demo_accounts(api, admin, staff, office)
    out(f"  accounts: every staff member can sign in to the portal (password {DEMO_PASSWORD}) / 馆员账号已开通")

    # every service learns of them from the directory's events
    for s in staff:
        api.wait(f"incentive to know {s['name']}",
                 lambda: api.status("incentive", f"/staff/{s['id']}/standing", admin) == 200)
        api.wait(f"training to know {s['name']}",
                 lambda: api.status("training", f"/staff/{s['id']}/transcript", admin) == 200)
        api.wait(f"evaluation to know {s['name']}",
                 lambda: api.status("evaluation", f"/staff/{s['id']}/evaluations", s["branch"]["mgr_auth"]) == 200)
    for b in branches:
        api.wait(f"feedback to know {b['name_en']}",
                 lambda: api.status("feedback", f"/branches/{b['id']}/opening-hours", admin) == 200)
        api.call("PUT", "incentive", f"/funds/{b['id']}/periods/{quarter}", headers=admin, json={"budget": b["budget"]})

    # -- training sessions are scheduled first: they must start before attendance is taken --------
    courses = {c["code"]: c for c in api.call("GET", "training", "/courses", headers=admin,
                                              params={"page_size": 100})["items"]}
    starts = datetime.now(timezone.utc) + timedelta(seconds=8)
    sessions = [
        api.call("POST", "training", "/sessions", headers=admin, json={
            "course_id": courses["SQ-REG"]["id"], "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=4)).isoformat(), "capacity": 40,
            "link": "https://meeting.library.example.cn/sq-reg-2024",
            "trainer_staff_id": branches[0]["manager"]["id"]}),
        api.call("POST", "training", "/sessions", headers=branches[1]["mgr_auth"], json={
            "course_id": courses["RS-101"]["id"], "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=4)).isoformat(), "capacity": 25, "branch_id": branches[1]["id"],
            "place": "东湖分馆三楼培训室 / East Lake, 3rd floor training room"})]
    trainees = [[s for s in staff if s["branch"] in branches[:3] and s is not s["branch"]["manager"]][:30],
                [s for s in staff if s["branch"] is branches[1]][1:]]
    for session, group in zip(sessions, trainees):
        parallel([lambda s=s, session=session: api.call("POST", "training", f"/sessions/{session['id']}/enrolments",
                                                        headers=admin, json={"staff_id": s["id"]}) for s in group])

    # -- feedback: reader activity ------------------------------------------------------------------
    rating_start, praise_start = lag.total("lsq.rating"), lag.total("lsq.praise")
    ratings = []
    for s in staff:
        for _ in range(rng.randint(5, 8)):
            stars = {"star": rng.choice((5, 5, 5, 4)), "poor": rng.choice((1, 2, 2, 3)),
                     "steady": rng.choice((3, 4, 4, 5))}[s["profile"]]
            wait_minutes = rng.choice((0, 1, 2, 3, 5, 8, 12, 20, 35)) if stars >= 3 else rng.choice((15, 25, 40, 60))
            ratings.append({"service_point_id": rng.choice(s["branch"]["desks"]), "staff_id": s["id"],
                            "stars": stars, "wait_minutes": wait_minutes,
                            **({"comment": "等太久了 / waited too long"} if wait_minutes >= 40 else {})})
    parallel([lambda body=body, h=api.reader(): api.call("POST", "feedback", "/ratings", json=body, via=h)
              for body in ratings])

    praise_bodies = []
    for s in staff:
        count = {"star": rng.randint(3, 5), "poor": 0, "steady": rng.randint(0, 2)}[s["profile"]]
        for _ in range(count):
            zh, en = rng.choice(PRAISE_TEXTS)
            praise_bodies.append({"branch_id": s["branch"]["id"], "staff_id": s["id"], "message": f"{zh} / {en}"})
    spam_targets = rng.sample([s for s in staff if s["profile"] == "steady"], 6)
    praise_bodies += [{"branch_id": s["branch"]["id"], "staff_id": s["id"], "message": f"{SPAM[0]} / {SPAM[1]}"}
                      for s in spam_targets]
    praised = parallel([lambda body=body, h=api.reader(): api.call("POST", "feedback", "/praise", json=body, via=h)
                        for body in praise_bodies])
    rejected = 0
    for p in praised:
        if p["message"].startswith(SPAM[0]):
            b = next(b for b in branches if b["id"] == p["branch_id"])
            api.call("POST", "feedback", f"/praise/{p['id']}/reject", headers=b["sup_auth"],
                     json={"reason": "spam", "note": "广告信息 / advertising"})
            rejected += 1

    # complaints: every category × severity twice; most about the struggling staff
    complaints = []
    poor = [s for s in staff if s["profile"] == "poor"]
    steady = [s for s in staff if s["profile"] == "steady"]
    for category in COMPLAINT_TEXTS:
        for severity in ("low", "normal", "high", "urgent"):
            for copy in range(2):
                about = rng.choice(poor) if copy == 0 and severity in ("low", "normal") else rng.choice(steady)
                zh, en = rng.choice(COMPLAINT_TEXTS[category])
                complaints.append({"body": {
                    "branch_id": about["branch"]["id"], "service_point_id": rng.choice(about["branch"]["desks"]),
                    "staff_id": about["id"] if category in ("attitude", "waiting", "competence") else None,
                    "category": category, "severity": severity,
                    "channel": rng.choice(("desk", "phone", "web", "wechat", "email")), "description": f"{zh}\n{en}",
                    **({"contact": {"name": "张先生", "phone": "138 0000 0000"}} if rng.random() < 0.3 else {})},
                    "about": about})
    outcomes = []
    # Taken by phone just under two hours ago: the two-hour acknowledgement target passes a few
    # seconds after the demo has given each a handler (a breach found before that has nobody to
    # notify), so the breach and the handler's notice follow within one SLA sweep.
    received_by_phone = (datetime.now(timezone.utc) - timedelta(hours=2) + timedelta(seconds=20)).isoformat()
    for c in complaints:
        named, sev = c["body"]["staff_id"] is not None, c["body"]["severity"]
        if sev == "urgent" and c["body"]["category"] in ("environment", "other"):
            outcomes.append("open")  # recorded by the supervisor, assigned, never acknowledged
            c["body"].update(channel="phone", received_at=received_by_phone)
            c["headers"] = c["about"]["branch"]["sup_auth"]
        elif named and c["about"]["profile"] == "poor":
            outcomes.append("substantiated")
        else:
            outcomes.append(rng.choice(("unsubstantiated", "unsubstantiated", "partially_substantiated",
                                        "withdrawn", "investigating", "substantiated")))
    filed = parallel([lambda c=c, h=api.reader(): api.call("POST", "feedback", "/complaints", json=c["body"], via=h,
                                                           headers=c.get("headers"), retry_422=True)
                      for c in complaints])
    tracking = []
    for c, f, outcome in zip(complaints, filed, outcomes):
        if outcome == "open":  # assigned at once, never acknowledged: the breach notice goes to the handler
            b = c["about"]["branch"]
            api.call("POST", "feedback", f"/complaints/{f['id']}/assign", headers=b["sup_auth"],
                     json={"handler_id": b["supervisors"][0]["id"], "note": "电话投诉，待回电 / phoned in, to call back"})

    def handle(c, f, outcome):
        b = c["about"]["branch"]
        path = f"/complaints/{f['id']}"
        if outcome == "open":
            return
        api.call("POST", "feedback", path + "/acknowledge", headers=b["sup_auth"],
                 json={"handler_id": b["supervisors"][0]["id"]})
        api.call("POST", "feedback", path + "/investigate", headers=b["sup_auth"], json={"note": "调阅记录，约谈当事人"})
        if outcome == "investigating":
            return
        zh, en = RESPONSES[outcome]
        api.call("POST", "feedback", path + "/resolve", headers=b["sup_auth"],
                 json={"outcome": outcome, "response": f"{zh}\n{en}"})
        tracking.append(f["tracking_code"])

    for c, f, outcome in zip(complaints, filed, outcomes):
        handle(c, f, outcome)
    for code in tracking[::3]:
        api.call("POST", "feedback", f"/complaints/track/{code}/rating", via=api.reader(),
                 json={"rating": rng.randint(2, 5), "comment": "处理及时 / dealt with promptly"})

    # the survey campaign: open over the demo branches, a few hundred answers, then closed
    survey = api.call("POST", "feedback", "/surveys", headers=admin, json={
        "instrument_code": "lsq-core", "title_zh": f"{today.year} 年读者满意度调查",
        "title_en": f"Reader satisfaction survey {today.year}", "branch_ids": [b["id"] for b in branches],
        "opens_at": (now - timedelta(minutes=1)).isoformat(), "closes_at": (now + timedelta(days=30)).isoformat()})
    form = api.call("GET", "feedback", f"/surveys/{survey['id']}/form")
    answers = [survey_answer(rng, form["instrument"]["items"], rng.choice(branches)["id"]) for _ in range(320)]
    parallel([lambda body=body, h=api.reader(): api.call("POST", "feedback", f"/surveys/{survey['id']}/responses",
                                                         json=body, via=h) for body in answers])
    api.call("POST", "feedback", f"/surveys/{survey['id']}/close", headers=admin)

    forums = 0
    for b, (title_zh, title_en) in zip(branches[:3], FORUM_TOPICS):
        picks = rng.sample(SUGGESTIONS, 3)
        forum = api.call("POST", "feedback", "/forums", headers=b["sup_auth"], json={
            "branch_id": b["id"], "title": f"{title_zh} / {title_en}",
            "held_on": (today - timedelta(days=20)).isoformat(),
            "attendance": rng.randint(18, 45), "minutes": "读者代表与馆方就服务改进进行了交流。Readers and staff discussed improvements.",
            "suggestions": [{"text": f"{zh} / {en}", "owner_id": b["supervisors"][1]["id"],
                             "due_on": (today + timedelta(days=60)).isoformat()} for zh, en in picks]})
        first, second = forum["suggestions"][:2]
        for status in ("accepted", "in_progress", "done"):
            api.call("PATCH", "feedback", f"/forums/{forum['id']}/suggestions/{first['id']}", headers=b["sup_auth"],
                     json={"status": status, "note": "已落实 / done"})
        api.call("PATCH", "feedback", f"/forums/{forum['id']}/suggestions/{second['id']}", headers=b["sup_auth"],
                 json={"status": "declined", "note": "受场地限制暂不可行 / not possible in this building"})
        forums += 1
    out(f"  feedback: {len(ratings)} desk ratings, {len(praised)} praise ({rejected} rejected), "
        f"{len(complaints)} complaints, {len(answers)} survey answers, {forums} reader forums / 读者反馈已录入")

    # -- training: attendance once the sessions have started, external activities -----------------
    api.wait("the training sessions to start", lambda: datetime.now(timezone.utc) > starts + timedelta(seconds=1),
             timeout=30)
    reg_scores = {s["id"]: (rng.choice((72, 85, 90, 95, 100)) if s["profile"] != "poor" else 65) for s in trainees[0]}
    api.call("POST", "training", f"/sessions/{sessions[0]['id']}/attendance", headers=admin, json={"records": [
        {"staff_id": sid, "attended": True, "score": score} for sid, score in reg_scores.items()]})
    api.call("POST", "training", f"/sessions/{sessions[1]['id']}/attendance", headers=branches[1]["mgr_auth"],
             json={"records": [{"staff_id": s["id"], "attended": s["profile"] != "poor"} for s in trainees[1]]})
    external = []
    for s in rng.sample(staff, 14):
        kind, zh, en, organiser = rng.choice(SEMINARS)
        body = {"kind": kind, "title": f"{zh} / {en}", "organiser": organiser,
                "activity_date": (today - timedelta(days=rng.randint(3, 60))).isoformat(),
                "hours": float(rng.choice((3, 4, 6, 8))), "evidence_note": "参会证明已上传 / certificate of attendance"}
        external.append((s, api.call("POST", "training", "/external-activities",
                                     headers=api.token("staff", s["id"], s["branch"]["id"]), json=body)))
    approved = rejected_ext = 0
    for i, (s, activity) in enumerate(external):
        b = s["branch"]
        approver = b["mgr_auth"] if s is b["supervisors"][0] else b["sup_auth"]  # never one's own
        if i == 0:
            api.call("POST", "training", f"/external-activities/{activity['id']}/reject", headers=approver,
                     json={"note": "缺少参会证明 / no evidence of attendance"})
            rejected_ext += 1
        elif i < 11:
            api.call("POST", "training", f"/external-activities/{activity['id']}/approve", headers=approver,
                     json={"note": "同意 / approved"})
            approved += 1
    struggling = [s["id"] for s in poor]
    assigned = api.call("POST", "training", f"/courses/{courses['CC-201']['id']}/assignments", headers=admin, json={
        # Carried over from the paper records, already past due: the sweep reports them overdue.
        "staff_ids": struggling, "due_on": (today - timedelta(days=1)).isoformat(), "kind": "assigned",
        "existing_obligation": True,
        "reason": "substantiated complaints: complaint-handling training required",
        "reason_zh": "投诉经核实成立：须参加投诉处理培训"})
    out(f"  training: 2 sessions attended, {approved} external activities approved ({rejected_ext} rejected), "
        f"{assigned['assigned']} requirements overdue / 培训记录已录入")

    # -- evaluation: a cycle over the demo branches ------------------------------------------------
    # The reader component is frozen at closing: first let the evaluation worker read every rating,
    # praise and complaint produced above.
    api.wait("the feedback events on Kafka", lambda: lag.total("lsq.rating") >= rating_start + len(ratings)
             and lag.total("lsq.praise") >= praise_start + len(praised) + rejected)
    api.wait("the evaluation worker to read the feedback",
             lambda: lag.caught_up(group_of("evaluation"), ["lsq.rating", "lsq.praise", "lsq.complaint"]))
    month = datetime.now(SHANGHAI).strftime("%Y-%m")
    cycle = api.call("POST", "evaluation", "/cycles", headers=admin, json={
        "period": month, "scope": "branches", "branch_ids": [b["id"] for b in branches]})
    api.call("POST", "evaluation", f"/cycles/{cycle['id']}/open", headers=admin)
    dimensions = [d["code"] for d in api.call("GET", "evaluation", f"/rubrics/{cycle['rubric_id']}",
                                                headers=admin)["dimensions"]]

    def scores_for(person, rater_type: str, k: int = 0) -> dict:
        """The k-th rating of this kind a person receives. Drawn from its own generator: the
        peers are assigned afresh in every cycle, so who gives it must not change what is given."""
        draw = random.Random(f"{args.seed}:{person['employee_number'].split('-')[-1]}:{rater_type}:{k}")
        pick = {"star": (5, 5, 5, 5), "poor": (1, 2, 2, 1), "steady": (3, 4, 4, 5)}[person["profile"]]
        if rater_type == "self" and person["profile"] == "poor":
            pick = (3,)  # nobody thinks they are that bad
        return {d: draw.choice(pick) for d in dimensions}

    by_id = {s["id"]: s for s in staff}
    submissions, peer_raters = [], {}
    for rater in staff:
        b = rater["branch"]
        auth = api.token(rater["role"], rater["id"], b["id"])
        tasks = api.call("GET", "evaluation", f"/cycles/{cycle['id']}/assignments", headers=auth)
        submissions.append((auth, {"staff_id": rater["id"], "rater_type": "self", "scores": scores_for(rater, "self")}))
        for peer in tasks["peers"]:
            peer_raters.setdefault(peer["staff_id"], []).append((rater["employee_number"], auth))
    for staff_id, raters in sorted(peer_raters.items()):
        for k, (_, auth) in enumerate(sorted(raters, key=lambda r: r[0])):
            submissions.append((auth, {"staff_id": staff_id, "rater_type": "peer",
                                       "scores": scores_for(by_id[staff_id], "peer", k)}))
    for b in branches:
        for person in b["members"]:
            rater = b["manager"] if person in b["supervisors"] else b["supervisors"][0]
            auth = api.token(rater["role"], rater["id"], b["id"])
            submissions.append((auth, {"staff_id": person["id"], "rater_type": "supervisor",
                                       "scores": scores_for(person, "supervisor"),
                                       "comment": "年度表现评价 / appraisal of the period"}))
    parallel([lambda a=a, body=body: api.call("POST", "evaluation", f"/cycles/{cycle['id']}/evaluations",
                                              headers=a, json=body) for a, body in submissions])
    api.call("POST", "evaluation", f"/cycles/{cycle['id']}/close", headers=admin)
    api.call("POST", "evaluation", f"/cycles/{cycle['id']}/publish", headers=admin)
    results = api.call("GET", "evaluation", f"/cycles/{cycle['id']}/scores", headers=admin,
                       params={"page_size": 500})["items"]
    grades = {}
    for r in results:
        grades[r["grade"] or "unscored"] = grades.get(r["grade"] or "unscored", 0) + 1
    out(f"  evaluation: cycle {month} published, {len(submissions)} ratings, {_counts(grades, GRADE_ZH)} / 考评已公布")

    # -- incentive: let the worker decide, then people act on its decisions --------------------------
    api.wait("the incentive worker to read every event",
             lambda: lag.caught_up(group_of("incentive"), INCENTIVE_TOPICS))
    demo_ids = {b["id"] for b in branches}

    def sanctions(**params):
        items = []
        for b in branches:
            items += api.call("GET", "incentive", "/sanctions", headers=admin,
                              params={"branch_id": b["id"], "page_size": 500, **params})["items"]
        return items

    warnings = [s for s in sanctions() if s["level"] in ("verbal_warning", "written_warning")
                and s["status"] == "issued" and s["branch_id"] in demo_ids]
    if len(warnings) < 3:
        raise DemoError(f"expected warnings from the substantiated complaints, found {len(warnings)}")
    warnings.sort(key=lambda s: (s["issued_at"], s["id"]))
    ack, overturn, uphold = warnings[0], warnings[1], warnings[2]
    for s in (ack, overturn, uphold):
        s["auth"] = api.token("staff", s["staff_id"], s["branch_id"])
        s["mgr"] = next(b["mgr_auth"] for b in branches if b["id"] == s["branch_id"])
    api.call("POST", "incentive", f"/sanctions/{ack['id']}/acknowledge", headers=ack["auth"])
    api.call("POST", "incentive", f"/sanctions/{overturn['id']}/appeal", headers=overturn["auth"], json={
        "reason": "投诉发生时我不在岗（有排班表为证）。/ I was not on duty at the time (see the rota)."})
    api.call("POST", "incentive", f"/sanctions/{overturn['id']}/appeal/decision", headers=overturn["mgr"], json={
        "decision": "overturned", "note": "排班记录证实当事人不在岗，撤销处分。/ The rota shows they were off duty."})
    api.call("POST", "incentive", f"/sanctions/{uphold['id']}/appeal", headers=uphold["auth"], json={
        "reason": "读者描述与事实有出入。/ The reader's account is not accurate."})
    api.call("POST", "incentive", f"/sanctions/{uphold['id']}/appeal/decision", headers=uphold["mgr"], json={
        "decision": "upheld", "note": "监控录像与投诉一致，维持处分。/ The CCTV matches the complaint."})
    late = rng.choice([s for s in steady if s["role"] == "staff"])  # recorded by a supervisor, never oneself
    api.call("POST", "incentive", "/violations", headers=late["branch"]["sup_auth"], json={
        "staff_id": late["id"], "category": "punctuality",
        "description": "本月三次开馆迟到超过 15 分钟。/ Late for opening three times this month."})
    api.wait("the incentive worker to catch up", lambda: lag.caught_up(group_of("incentive"), INCENTIVE_TOPICS)
             and any(s["status"] == "overturned" for s in sanctions(status="overturned")))

    open_ids = [f["id"] for f, outcome in zip(filed, outcomes) if outcome == "open"]
    breached = api.wait("the feedback worker's SLA sweep to report the late complaints breached", lambda: all(
        api.call("GET", "feedback", f"/complaints/{cid}", headers=admin)["acknowledge_breached_at"]
        for cid in open_ids), timeout=WAIT + 30)  # one sweep interval (30 s by default) at most
    api.wait("the incentive service to give the handlers their SLA notices", lambda: all(
        api.call("GET", "incentive", "/ledger", headers=admin,
                 params={"subject": f"complaint:{cid}:sla:acknowledge"})["total"] for cid in open_ids))
    summary = summarise(api, admin, branches, staff, cycle, quarter, survey, {
        "ratings": len(ratings), "praise": len(praised), "praise_rejected": rejected, "complaints": len(complaints),
        "complaints_open_for_sla": outcomes.count("open"), "complaints_breached": len(open_ids) if breached else 0,
        "survey_answers": len(answers), "forums": forums,
        "external_approved": approved, "external_rejected": rejected_ext,
        "requirements_overdue": assigned["assigned"],
        "evaluation_ratings": len(submissions)})
    summary["run"], summary["tag"], summary["seconds"] = run, tag, round(time.monotonic() - started, 1)
    summary["sign_ins"] = sign_ins
    summary["api_calls"] = api.calls
    return summary


#: The demo's one password (meets the directory's rules): the demo network is for trying the portal.
DEMO_PASSWORD = "lsq-demo-2026"


def demo_accounts(api: "Client", admin: dict, staff: list, office: dict) -> dict:
    """Give every demo staff member (and the network office) a portal account, as a manager would:
    an invitation, then the password set on it. Returns one sign-in (employee number) per role."""
    people = staff + [office]

    def open_account(person):
        invitation = api.call("POST", "directory", f"/staff/{person['id']}/invitations", headers=admin)
        api.call("POST", "directory", "/accounts/activate", json={"token": invitation["token"],
                                                                  "password": DEMO_PASSWORD}, via=api.reader())
    parallel([lambda p=p: open_account(p) for p in people], workers=4)
    first = {}
    for person in people:
        first.setdefault(person["role"], person)
    return {role: {"employee_number": p["employee_number"], "name": p["name"]} for role, p in first.items()}


def survey_answer(rng: random.Random, items: list[dict], branch_id: str) -> dict:
    """One reader's answers to the questionnaire: plausible and a little generous, like real ones."""
    answers = {}
    for item in items:
        kind = item["type"]
        if not item.get("required") and rng.random() < 0.15:
            continue
        if kind == "triad":
            if rng.random() < 0.05:
                answers[item["code"]] = {"na": True}
                continue
            minimum = rng.randint(4, 7)
            desired = rng.randint(minimum, 9)
            answers[item["code"]] = {"minimum": minimum, "desired": desired,
                                     "perceived": max(1, min(9, rng.randint(minimum - 2, desired + 1)))}
        elif kind == "likert":
            answers[item["code"]] = rng.choice((3, 4, 4, 5, 5))
        elif kind == "nps":
            answers[item["code"]] = rng.choice((5, 7, 8, 9, 9, 10))
        elif kind == "choice":
            answers[item["code"]] = rng.choice(item["options"])["value"]
        elif kind == "multi_choice":
            answers[item["code"]] = [o["value"] for o in rng.sample(item["options"], min(2, len(item["options"])))]
        elif kind == "text" and rng.random() < 0.3:
            answers[item["code"]] = rng.choice(("希望增加新书 / more new books please", "环境很好 / lovely place",
                                                "工作人员很热情 / friendly staff"))
    return {"branch_id": branch_id, "answers": answers}


def summarise(api: Client, admin: dict, branches: list, staff: list, cycle: dict, quarter: str, survey: dict,
              sent: dict) -> dict:
    """The figures of this run, read back from the services' APIs."""
    ids = [b["id"] for b in branches]

    def total(service, path, **params):
        return sum(api.call("GET", service, path, headers=admin,
                            params={"branch_id": b, "page_size": 1, **params})["total"] for b in ids)

    complaints = {"filed": total("feedback", "/complaints"),
                  "substantiated": sum(1 for b in ids for c in api.call(
                      "GET", "feedback", "/complaints", headers=admin,
                      params={"branch_id": b, "page_size": 500})["items"] if c["outcome"] == "substantiated"),
                  "open": total("feedback", "/complaints", status="new")}
    results = api.call("GET", "evaluation", f"/cycles/{cycle['id']}/scores", headers=admin,
                       params={"page_size": 500})["items"]
    grades = {}
    for r in results:
        key = r["grade"] or "unscored"
        grades[key] = grades.get(key, 0) + 1
    awards = {status: total("incentive", "/awards", status=status) for status in ("granted", "pending")}
    granted_amount = sum(float(f["granted"]) for b in ids for f in api.call(
        "GET", "incentive", "/funds", headers=admin, params={"branch_id": b, "period": quarter})["items"])
    levels = {}
    for b in ids:
        for s in api.call("GET", "incentive", "/sanctions", headers=admin,
                          params={"branch_id": b, "page_size": 500})["items"]:
            levels[s["level"]] = levels.get(s["level"], 0) + 1
    points = sum(e["points"] or 0 for b in ids for e in api.call(
        "GET", "incentive", "/ledger", headers=admin,
        params={"branch_id": b, "kind": "points", "page_size": 500})["items"])
    certificates = sum(len(api.call("GET", "training", f"/staff/{s['id']}/transcript", headers=admin)["completed"])
                       for s in staff)
    return {
        "branches": len(branches), "service_points": sum(len(b["desks"]) for b in branches), "staff": len(staff),
        "sent": sent, "complaints": complaints,
        "survey": {"id": survey["id"], "responses": api.call("GET", "feedback", f"/surveys/{survey['id']}/results",
                                                             headers=admin)["responses"]},
        "evaluation": {"cycle_id": cycle["id"], "period": cycle["period"],
                       "status": api.call("GET", "evaluation", f"/cycles/{cycle['id']}", headers=admin)["status"],
                       "grades": grades},
        "training": {"completions": certificates},
        "incentive": {"awards": awards, "granted_amount": round(granted_amount, 2), "sanctions": levels,
                      "overturned": total("incentive", "/sanctions", status="overturned"),
                      "upheld": total("incentive", "/sanctions", status="upheld"), "points": points,
                      "fund_period": quarter},
        "branch_ids": ids, "example_staff_id": next(s["id"] for s in staff if s["profile"] == "poor"),
    }


GRADE_ZH = {"excellent": "优秀", "good": "良好", "satisfactory": "合格", "unsatisfactory": "不合格", "unscored": "无评分"}
LEVEL_ZH = {"notice": "提醒", "verbal_warning": "口头警告", "written_warning": "书面警告",
            "improvement_plan": "改进计划", "referral": "移交纪委"}


def _counts(counts: dict, words: dict) -> str:
    return " · ".join(f"{words.get(k, k)} {k} {counts[k]}" for k in words if k in counts) or "-"


def report(summary: dict, out=print) -> None:
    """The short bilingual summary and where to look."""
    c, e, i = summary["complaints"], summary["evaluation"], summary["incentive"]
    s = summary["sent"]
    port = {name: service_port(name) for name in SERVICES}
    out("")
    out(f"Seeded in {summary['seconds']} s ({summary['api_calls']} API calls) / 用时 {summary['seconds']} 秒")
    out(f"  分馆 branches {summary['branches']} · 服务点 service points {summary['service_points']} · "
        f"馆员 staff {summary['staff']}")
    out(f"  投诉 complaints {c['filed']} (成立 substantiated {c['substantiated']}, 未受理 still new {c['open']}) · "
        f"表扬 praise {s['praise']} (驳回 rejected {s['praise_rejected']}) · 服务台评价 desk ratings {s['ratings']}")
    out(f"  满意度调查 survey answers {summary['survey']['responses']} · 读者座谈会 reader forums {s['forums']}")
    out(f"  考评 evaluation {e['period']} {e['status']}: {_counts(e['grades'], GRADE_ZH)}")
    out(f"  培训 training completions {summary['training']['completions']} · 外部学习 external approved "
        f"{s['external_approved']} (rejected {s['external_rejected']}) · 逾期 requirements overdue "
        f"{s['requirements_overdue']}")
    out(f"  奖励 awards granted {i['awards']['granted']} ({i['granted_amount']:.2f} CNY, fund {i['fund_period']}), "
        f"pending {i['awards']['pending']} · 积分 points {i['points']}")
    out(f"  处分 sanctions: {_counts(i['sanctions'], LEVEL_ZH)} · 申诉撤销 overturned {i['overturned']}, "
        f"维持 upheld {i['upheld']}")
    out(f"  超时 SLA breaches {s['complaints_breached']}: urgent complaints taken by phone two hours earlier, "
        "recorded late and never acknowledged; the feedback worker reported them breached "
        "(lsq.complaint.sla_breached.v1), escalated them to the branch manager, and the incentive service gave "
        "each handler a notice (a second breach climbs the ladder). / 电话投诉补登后未受理，已判定超时并提醒处理人。")
    out("")
    out("Not instant / 需要时间:")
    out(f"  {s['requirements_overdue']} complaint-handling requirements carried over from paper records are past "
        "due: the training worker's sweep (every minute) reports them overdue, and the incentive service issues a notice.")
    out("  逾期的培训要求将在一分钟内被判定逾期，随后生成提醒通知。")
    out("")
    out("Where to look / 查看：")
    portal = f"http://localhost:{service_port('portal')}"
    out(f"  the portal / 门户: {portal}/  (sign in / 登录: {portal}/sign-in, password / 密码 {DEMO_PASSWORD})")
    for role, words in (("staff", "馆员 staff"), ("supervisor", "主管 supervisor"),
                        ("branch_manager", "馆长 branch manager"), ("network_admin", "总馆管理员 network admin")):
        if role in summary.get("sign_ins", {}):
            account = summary["sign_ins"][role]
            out(f"    {words:<28} {account['employee_number']:<14} {account['name']}")
    for name in SERVICES:
        out(f"  {name:<10} http://127.0.0.1:{port[name]}/docs")
    out(f"  TOKEN=$(.venv/bin/lsq token --role network_admin)")
    out(f"  curl -s -H \"Authorization: Bearer $TOKEN\" "
        f"http://127.0.0.1:{port['incentive']}/staff/{summary['example_staff_id']}/standing")
    out(f"  curl -s -H \"Authorization: Bearer $TOKEN\" "
        f"'http://127.0.0.1:{port['incentive']}/ledger?branch_id={summary['branch_ids'][0]}&kind=sanction'")
    out("  .venv/bin/lsq events tail lsq.sanction --from-beginning --max 20")


def main(args) -> int:
    """``lsq demo``: seed, print the summary; 0 on success, 1 with the reason when a step failed."""
    try:
        summary = seed(args)
    except (DemoError, requests.RequestException) as exc:
        print(f"lsq demo failed / 演示数据生成失败: {exc}", file=sys.stderr)
        if isinstance(exc, requests.ConnectionError) or "does not answer" in str(exc):
            print("Is the system up? (.venv/bin/lsq up; .venv/bin/lsq status)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lsq demo interrupted; what was created stays (the next run starts a new network)", file=sys.stderr)
        return 130
    report(summary)
    if getattr(args, "summary_json", None):
        with open(args.summary_json, "w", encoding="utf-8") as handle:
            json.dump(summary, handle, ensure_ascii=False, indent=2)
    return 0
