"""Portal pages under load through gunicorn, against the same API calls made directly, in the same run.

    .venv/bin/python -m bench.portal_pages [--requests 200] [--warmup 20] [--clients 4] [--rounds 10]
                                           [--web-workers 2] [--seed 7] [--time-cap 90] [--profile]

A whole system (Kafka and every service's web and worker processes, SQLite) is started in a temporary
``var/`` on free ports through the supervisor ``lsq up`` uses (``shared.devstack.stack.Stack``, by
default 2 gthread workers x 4 threads per web process), the demo network is seeded into it
(``lsq demo``: 5 branches, 60 staff, a quarter of complaints), and these pages are measured:

* ``/complaints``, the complaint queue (its open complaints), as the demo's branch manager, and
  ``/complaints?status=all`` (all of the branch's complaints: a fuller table, the same calls);
* ``/me`` and ``/me/standing``, a staff member's own pages, as the demo's staff member.

Each page is signed in through the portal (``POST /sign-in`` with the form's CSRF token) and fetched
by ``--clients`` concurrent clients (threads, one ``requests.Session`` each). The baseline is the
same API requests the page's view makes (read off ``services/portal/views/manage.py`` and
``views/staff.py`` and reproduced below, data-dependent look-ups included), made one after another
directly against the services with the same user's token (from the directory's ``POST /auth/login``)
and the same headers; one baseline sample is the sum of one iteration's call latencies. Before
measuring, one page load is checked against the services' own access logs: the calls it caused
must be exactly the ones replayed. Page and baseline alternate in ``--rounds`` rounds, so a change
in the load of this shared machine hits both alike.

Goals: page p95 <= 1.5 x the p95 of the per-iteration sum of its API calls (the sum of each call's
own p95, a looser reading, is printed too), and page p95 < 300 ms. The clients are threads of this
process, with the GIL: their own cost is in both sides, one request a page against several a
baseline iteration.
``--profile`` (automatic when a goal is not met) adds: each page and its calls with one client (no
queueing), and a cProfile of the portal's views run in this process against the same services.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import re
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from argparse import Namespace
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

from shared.config import SERVICE_PORTS
from shared.devstack.ports import free_port

SECRET = "bench-secret-not-for-production-use"
API_SERVICES = ("directory", "feedback", "evaluation", "training", "incentive")
#: The goals.
RATIO_GOAL = 1.5
P95_GOAL_MS = 300.0


# -- the calls a page makes ------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    service: str
    method: str
    path: str
    params: tuple = ()  # ((key, value), ...) in the order requests sends them
    status: int = 200  # what it answered when the plan was made (404 for an api_or_none miss)

    def label(self) -> str:
        query = urlencode(self.params)
        return f"{self.service} {self.method} {self.path}" + (f"?{query}" if query else "")

    def key(self) -> tuple:
        """What the access log shows of it: method, path, the query as a sorted multiset."""
        return self.method, self.path, tuple(sorted((k, str(v)) for k, v in self.params))


def _query(params: dict | None) -> tuple:
    """The query as the portal's client sends it (``api_client._clean``: blanks dropped, a list repeated)."""
    from services.portal.api_client import _clean
    out = []
    for key, value in (_clean(params) or {}).items():
        for one in value if isinstance(value, (list, tuple)) else [value]:
            out.append((key, one))
    return tuple(out)


class Direct:
    """The services' APIs called directly with a user's token, as the portal calls them."""

    def __init__(self, urls: dict, token: str):
        self.urls = urls
        self.headers = {"Accept": "application/json", "Authorization": f"Bearer {token}",
                        "X-Forwarded-For": "127.0.0.1"}  # what the portal sends for a browser on loopback
        self.local = threading.local()

    @property
    def http(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def send(self, call: Call) -> requests.Response:
        response = self.http.request(call.method, self.urls[call.service] + call.path, params=list(call.params),
                                     headers=self.headers, timeout=(3, 10))
        response.content  # noqa: B018 - read the whole body, as the portal does
        return response

    def plan_call(self, calls: list, service: str, path: str, params: dict | None = None, or_none=False):
        """Make one call of the plan, note it, return its JSON (None for an ``api_or_none`` miss)."""
        call = Call(service, "GET", path, _query(params))
        response = self.send(call)
        if or_none and response.status_code in (403, 404):
            calls.append(Call(call.service, call.method, call.path, call.params, response.status_code))
            return None
        if response.status_code != 200:
            raise RuntimeError(f"{call.label()} -> {response.status_code}: {response.text[:300]}")
        calls.append(call)
        return response.json()


def plan_queue(api: Direct, args: dict) -> tuple[list[Call], str]:
    """``manage.queue`` with the filters ``args`` (the page's query): the feedback list, then the
    ``Names`` look-ups of ``_row`` (each branch's desks, the branch, its staff roll, anyone not on it)."""
    from services.portal.views.manage import queue_params
    calls: list[Call] = []
    answer = api.plan_call(calls, "feedback", "/complaints", queue_params(args))
    rows = f"{len(answer.get('items') or [])} rows of {answer.get('total', 0)} complaints"
    staff: dict = {}
    branch_staff: set = set()
    desks: set = set()
    branches: set = set()

    def roll(branch_id):  # Names.branch_staff
        if branch_id in branch_staff:
            return
        people, page = [], 1
        while True:
            got = api.plan_call(calls, "directory", "/staff", {"branch_id": branch_id, "page": page,
                                                                "page_size": 500}, or_none=True) or {}
            people += got.get("items") or []
            if len(people) >= got.get("total", 0) or not got.get("items"):
                break
            page += 1
        branch_staff.add(branch_id)
        staff.update({p["id"]: p for p in people})

    def person(staff_id, branch_id):  # Names.person via Names.staff
        if not staff_id:
            return
        if staff_id not in staff and branch_id:
            roll(branch_id)
        if staff_id not in staff:
            staff[staff_id] = api.plan_call(calls, "directory", f"/staff/{staff_id}", or_none=True)

    for item in answer.get("items") or []:  # _row: desk, branch, handler, concerned
        branch_id = item["branch_id"]
        if item.get("service_point_id") and branch_id not in desks:
            api.plan_call(calls, "directory", "/service-points", {"branch_id": branch_id, "page_size": 500},
                          or_none=True)
            desks.add(branch_id)
        if branch_id and branch_id not in branches:
            api.plan_call(calls, "directory", f"/branches/{branch_id}", or_none=True)
            branches.add(branch_id)
        person(item.get("handler_id"), branch_id)
        person(item.get("staff_id"), branch_id)
    return calls, rows


def plan_overview(api: Direct, me: str) -> list[Call]:
    """``staff.overview``: person, branch, results, the open cycles and their assignments, transcript, standing."""
    calls: list[Call] = []
    person = api.plan_call(calls, "directory", f"/staff/{me}", or_none=True) or {}
    if person.get("branch_id"):
        api.plan_call(calls, "directory", f"/branches/{person['branch_id']}", or_none=True)
    if api.plan_call(calls, "evaluation", f"/staff/{me}/evaluations", or_none=True) is not None:
        cycles = api.plan_call(calls, "evaluation", "/cycles", {"status": "open", "page_size": 100})
        for cycle in cycles.get("items") or []:
            api.plan_call(calls, "evaluation", f"/cycles/{cycle['id']}/assignments", or_none=True)
    api.plan_call(calls, "training", f"/staff/{me}/transcript", or_none=True)
    api.plan_call(calls, "incentive", f"/staff/{me}/standing", or_none=True)
    return calls


def plan_standing(api: Direct, me: str) -> list[Call]:
    """``staff.standing``: the standing, every sanction, the policy (``_points_rules``)."""
    calls: list[Call] = []
    api.plan_call(calls, "incentive", f"/staff/{me}/standing")
    api.plan_call(calls, "incentive", "/sanctions", {"staff_id": me, "page_size": 200})
    api.plan_call(calls, "incentive", "/policy", or_none=True)
    return calls


# -- the system ------------------------------------------------------------------------------------
def _environment(var: Path) -> dict:
    """The environment the supervisor hands to every process (as tests/e2e/conftest.py sets it)."""
    env = {"LSQ_VAR_DIR": str(var), "LSQ_JWT_SECRET": SECRET, "LSQ_KAFKA_HEAP": "512m",
           # The portal is reached over plain http on loopback: its session cookie must come back.
           "LSQ_PORTAL_SECURE_COOKIES": "0"}
    for service in SERVICE_PORTS:
        env[f"LSQ_{service.upper()}_PORT"] = str(free_port())
    return env


def _tail_logs(var: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
                     for p in sorted((var / "logs").glob("*.log")))


class AccessLogs:
    """The requests the services' web processes logged (gunicorn's access log in var/logs)."""

    LINE = re.compile(r'"(GET|POST|PUT|PATCH|DELETE) (\S+) HTTP/[\d.]+" (\d{3})')

    def __init__(self, var: Path):
        self.var = var
        self.marks: dict = {}

    def mark(self) -> None:
        self.marks = {s: self._path(s).stat().st_size for s in API_SERVICES}

    def _path(self, service: str) -> Path:
        return self.var / "logs" / f"{service}-web.log"

    def since_mark(self) -> list[tuple]:
        seen = []
        for service in API_SERVICES:
            with self._path(service).open("rb") as handle:
                handle.seek(self.marks.get(service, 0))
                text = handle.read().decode(errors="replace")
            for method, target, status in self.LINE.findall(text):
                parts = urlsplit(target)
                if parts.path in ("/healthz", "/readyz", "/metrics"):
                    continue
                seen.append((service, (method, parts.path, tuple(sorted(parse_qsl(parts.query)))), int(status)))
        return seen


# -- signing in --------------------------------------------------------------------------------------
def portal_sign_in(portal: str, number: str, password: str) -> requests.Session:
    """A session signed in through the portal's form (the cookie holds the session)."""
    session = requests.Session()
    form = session.get(f"{portal}/sign-in", timeout=10)
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if form.status_code != 200 or not found:
        raise RuntimeError(f"no sign-in form: {form.status_code} {form.text[:300]}")
    answer = session.post(f"{portal}/sign-in", data={"csrf_token": found.group(1), "employee_number": number,
                                                     "password": password}, allow_redirects=False, timeout=10)
    if answer.status_code != 302:
        raise RuntimeError(f"portal sign-in of {number} failed: {answer.status_code} {answer.text[:300]}")
    return session


def api_sign_in(directory: str, number: str, password: str) -> tuple[str, dict]:
    """The same user's token from the directory (the portal keeps its copy in the session)."""
    answer = requests.post(f"{directory}/auth/login", json={"employee_number": number, "password": password},
                           headers={"X-Forwarded-For": "127.0.0.1"}, timeout=10)
    if answer.status_code != 200:
        raise RuntimeError(f"directory sign-in of {number} failed: {answer.status_code} {answer.text[:300]}")
    body = answer.json()
    return body["token"], body["staff"]


# -- measuring ---------------------------------------------------------------------------------------
@dataclass
class Page:
    name: str
    url: str  # path on the portal
    who: str  # role
    cookies: object
    calls: list
    note: str = ""  # what the plan saw (the queue's rows)
    expect: str = ""  # a text the page's HTML must hold
    first_alone: bool = False  # the other calls need the first one's answer (the queue's rows)
    page_ms: list = field(default_factory=list)
    sum_ms: list = field(default_factory=list)
    per_call_ms: list = field(default_factory=list)  # [[ms per call of the plan], ...] per iteration
    page_failed: int = 0
    api_failed: int = 0
    capped: bool = False


class PortalClient:
    """One ``requests.Session`` a thread, each carrying the signed-in page's cookie."""

    def __init__(self, base: str):
        self.base = base
        self.local = threading.local()

    def get(self, page: Page) -> tuple[float, bool]:
        sessions = self.local.__dict__.setdefault("sessions", {})
        if page.name not in sessions:
            session = requests.Session()
            session.cookies.update(page.cookies)
            sessions[page.name] = session
        started = time.perf_counter()
        response = sessions[page.name].get(self.base + page.url, allow_redirects=False, timeout=30)
        body = response.text
        elapsed = (time.perf_counter() - started) * 1000
        return elapsed, response.status_code == 200 and page.expect in body


def one_page(portal: PortalClient, page: Page) -> tuple[float, bool]:
    try:
        return portal.get(page)
    except requests.RequestException:
        return 0.0, False


def one_iteration(api: Direct, page: Page) -> tuple[list[float], bool]:
    """The page's API calls, one after another; (ms per call, all answered as when planned)."""
    times, ok = [], True
    for call in page.calls:
        started = time.perf_counter()
        try:
            response = api.send(call)
            ok &= response.status_code == call.status
        except requests.RequestException:
            ok = False
        times.append((time.perf_counter() - started) * 1000)
    return times, ok


def run_batch(pool: ThreadPoolExecutor, count: int, work, deadline: float) -> list:
    """``count`` runs of ``work`` on the pool's clients; those not started by ``deadline`` are skipped."""
    def task(_):
        return work() if time.monotonic() < deadline else None
    return [r for r in pool.map(task, range(count)) if r is not None]


def measure(pages: list[Page], apis: dict, portal: PortalClient, args) -> None:
    """Warm-up, then rounds alternating each page and its API calls; fills the pages' samples."""
    per_round = max(1, -(-args.requests // args.rounds))
    with ThreadPoolExecutor(args.clients) as pool:
        for page in pages:
            api = apis[page.who]
            far = time.monotonic() + args.time_cap
            run_batch(pool, args.warmup, lambda: one_page(portal, page), far)
            run_batch(pool, args.warmup, lambda: one_iteration(api, page), far)
            page_deadline = time.monotonic() + args.time_cap
            api_deadline = time.monotonic() + args.time_cap
            left = args.requests
            while left > 0:
                n = min(per_round, left)
                left -= n
                for elapsed, ok in run_batch(pool, n, lambda: one_page(portal, page), page_deadline):
                    if ok:
                        page.page_ms.append(elapsed)
                    else:
                        page.page_failed += 1
                for times, ok in run_batch(pool, n, lambda: one_iteration(api, page), api_deadline):
                    if ok:
                        page.sum_ms.append(sum(times))
                        page.per_call_ms.append(times)
                    else:
                        page.api_failed += 1
                if time.monotonic() > min(page_deadline, api_deadline):
                    page.capped = True
                    break


def percentiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        v = values[0] if values else float("nan")
        return v, v, v
    q = statistics.quantiles(values, n=100, method="inclusive")
    return q[49], q[94], q[98]


def report(pages: list[Page], args) -> bool:
    """The table, the ratios, the goals; True when every goal is met."""
    print(f"\n{args.clients} concurrent clients, {args.requests} requests per side after {args.warmup} warm-up, "
          f"{args.rounds} alternating rounds; gunicorn gthread x{args.web_workers} workers x 4 threads per web "
          "process; SQLite; latencies in ms")
    print(f"  {'what':58s} {'n':>4s} {'p50':>7s} {'p95':>7s} {'p99':>7s}  failed")
    all_met = True
    verdicts = []
    for page in pages:
        p = percentiles(page.page_ms)
        s = percentiles(page.sum_ms)
        print(f"  {page.url + ' through the portal (' + page.who + ')':58s} {len(page.page_ms):4d} "
              f"{p[0]:7.1f} {p[1]:7.1f} {p[2]:7.1f}  {page.page_failed}")
        print(f"  {f'  its {len(page.calls)} API calls directly, sum per iteration':58s} {len(page.sum_ms):4d} "
              f"{s[0]:7.1f} {s[1]:7.1f} {s[2]:7.1f}  {page.api_failed}")
        for i, call in enumerate(page.calls):
            c = percentiles([times[i] for times in page.per_call_ms])
            label = call.label()
            label = label if len(label) <= 54 else label[:51] + "..."
            print(f"  {'    ' + label:58s} {'':4s} {c[0]:7.1f} {c[1]:7.1f} {c[2]:7.1f}")
        ratio = p[1] / s[1] if s[1] else float("nan")
        per_call_p95 = sum(percentiles([times[i] for times in page.per_call_ms])[1] for i in range(len(page.calls)))
        ratio_met = ratio <= RATIO_GOAL
        p95_met = p[1] < P95_GOAL_MS
        all_met &= ratio_met and p95_met and not page.page_failed and not page.api_failed
        verdicts.append(f"  {page.url:22s} page p95 / API-sum p95 = {p[1]:.1f} / {s[1]:.1f} = {ratio:.2f} "
                        f"(goal <= {RATIO_GOAL}): {'met' if ratio_met else 'NOT MET'};   "
                        f"page p95 {p[1]:.0f} ms (goal < {P95_GOAL_MS:.0f}): {'met' if p95_met else 'NOT MET'}"
                        + ("   [time cap reached]" if page.capped else "")
                        + f"\n  {'':22s} (read as the sum of each call's own p95, {per_call_p95:.1f} ms: "
                          f"ratio {p[1] / per_call_p95:.2f})")
    print("\n".join(verdicts))
    return all_met


# -- profiling -----------------------------------------------------------------------------------------
def sequential(pages: list[Page], apis: dict, portal: PortalClient, count: int) -> None:
    """Each page and its calls with one client: the cost of a request without queueing behind others."""
    print(f"\none client, {count} requests each (no queueing): p50 / p95 ms; 'at once': the same calls made "
          "concurrently (the queue's after its first), as a view could make them")
    with ThreadPoolExecutor(8) as pool:
        for page in pages:
            api = apis[page.who]
            page_ms = [one_page(portal, page)[0] for _ in range(count)]
            sums = [sum(one_iteration(api, page)[0]) for _ in range(count)]
            together = []
            for _ in range(count):
                started = time.perf_counter()
                first, rest = (page.calls[:1], page.calls[1:]) if page.first_alone else ([], page.calls)
                for call in first:
                    api.send(call)
                list(pool.map(api.send, rest))
                together.append((time.perf_counter() - started) * 1000)
            p, s, t = percentiles(page_ms), percentiles(sums), percentiles(together)
            print(f"  {page.url:22s} page {p[0]:5.1f} / {p[1]:5.1f}   API sum {s[0]:5.1f} / {s[1]:5.1f}   "
                  f"at once {t[0]:5.1f} / {t[1]:5.1f}   the portal's own share at p50: {p[0] - s[0]:4.1f} ms")
    hop = requests.Session()
    hops = []
    for _ in range(count):
        started = time.perf_counter()
        hop.get(portal.base + "/healthz", timeout=10).content  # noqa: B018
        hops.append((time.perf_counter() - started) * 1000)
    p = percentiles(hops)
    print(f"  {'/healthz':22s} {p[0]:6.1f} / {p[1]:6.1f}: one request to the portal's gunicorn that calls nothing")


def profile_in_process(pages: list[Page], accounts: dict, count: int) -> None:
    """The portal's views in this process (Flask test client, one thread) against the running services:
    how a page's time splits between its API calls, the template and the rest, first timed (no
    profiler), then the portal's own work under cProfile (the waits on the services' sockets left out)."""
    import flask.templating
    from services.portal import create_app
    from services.portal.api_client import Services
    from shared.devstack import demo

    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
    spent = {"api": 0.0, "render": 0.0, "view": 0.0}

    def timed(key, function):
        def wrapper(*a, **kw):
            started = time.perf_counter()
            try:
                return function(*a, **kw)
            finally:
                spent[key] += time.perf_counter() - started
        return wrapper

    patched = [(Services, "call", Services.call), (flask.templating, "_render", flask.templating._render)]
    views = dict(app.view_functions)
    Services.call = timed("api", Services.call)
    flask.templating._render = timed("render", flask.templating._render)
    for endpoint in ("manage.queue", "staff.overview", "staff.standing"):
        app.view_functions[endpoint] = timed("view", views[endpoint])
    print(f"\nin-process split (Flask test client, one thread, {count} requests a page; ms a page)")
    try:
        profiles = []
        for page in pages:
            client = app.test_client()
            signed = client.post("/sign-in", data={"employee_number": accounts[page.who]["employee_number"],
                                                   "password": demo.DEMO_PASSWORD})
            assert signed.status_code == 302, signed.status_code
            client.get(page.url)  # warm: templates compiled, catalogues loaded
            for key in spent:
                spent[key] = 0.0
            started = time.perf_counter()
            for _ in range(count):
                assert client.get(page.url).status_code == 200
            total = (time.perf_counter() - started) / count * 1000
            api, render, view = (spent[k] / count * 1000 for k in ("api", "render", "view"))
            print(f"  {page.url:22s} {total:6.1f} in all: its {len(page.calls)} API calls {api:5.1f} (one by one), "
                  f"template {render:4.1f}, rest of the view {view - api - render:4.1f}, "
                  f"Flask/session/CSRF/Babel around it {total - view:4.1f}")
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(count):
                client.get(page.url)
            profiler.disable()
            profiles.append((page, profiler))
        for page, profiler in profiles:
            stats = pstats.Stats(profiler)
            rows = sorted(((tt, nc, f"{Path(file).name}:{line}({name})" if line else name)
                           for (file, line, name), (_cc, nc, tt, _ct, _callers) in stats.stats.items()
                           if "_socket" not in name and "select" not in name and "poll" not in name),
                          reverse=True)
            own = sum(r[0] for r in rows) / count * 1000
            print(f"  {page.url}: the portal's own work under cProfile {own:.1f} ms a page (inflated by the "
                  f"profiler); most self time:")
            for tt, nc, where in rows[:10]:
                print(f"      {tt / count * 1000:5.2f} ms  {nc / count:7.1f} calls  {where}")
    finally:
        for owner, name, original in patched:
            setattr(owner, name, original)
        app.view_functions.update(views)


# -- main --------------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="measured requests per page and per baseline")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (threads)")
    parser.add_argument("--rounds", type=int, default=10, help="alternating page / baseline rounds")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers per web process "
                                                                   "(4 threads each), as `lsq up` runs them")
    parser.add_argument("--seed", type=int, default=7, help="the demo's seed")
    parser.add_argument("--time-cap", type=float, default=90.0, help="seconds each side of a page may take")
    parser.add_argument("--profile", action="store_true", help="profile even when the goals are met")
    parser.add_argument("--keep", action="store_true", help="keep the temporary var folder (logs)")
    args = parser.parse_args()
    # Stopped from outside (timeout, Ctrl-C): still stop the system in ``finally``.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    from shared.devstack import demo
    from shared.devstack.stack import Stack, discover_services

    var = Path(tempfile.mkdtemp(prefix="lsq-bench-portal-"))
    saved = dict(os.environ)
    os.environ.update(_environment(var))
    for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP", "PROMETHEUS_MULTIPROC_DIR"):
        os.environ.pop(name, None)
    kafka_port = free_port()
    controller_port = free_port()
    while controller_port == kafka_port:
        controller_port = free_port()
    stack = Stack(var, kafka_port=kafka_port, web_workers=args.web_workers, kafka_controller_port=controller_port)
    services = discover_services()
    urls = {s: f"http://127.0.0.1:{os.environ[f'LSQ_{s.upper()}_PORT']}" for s in services}
    lines: list[str] = []
    code = 1
    try:
        started = time.monotonic()
        if not stack.up(services, say=lines.append):
            print("the system did not come up:\n" + "\n".join(lines) + "\n" + _tail_logs(var), file=sys.stderr)
            return 1
        print(f"system up in {time.monotonic() - started:.0f} s ({', '.join(services)}; var {var})")
        started = time.monotonic()
        summary_path = var / "demo-summary.json"
        seeded = io.StringIO()
        with contextlib.redirect_stdout(seeded):
            result = demo.main(Namespace(seed=args.seed, bootstrap=stack.bootstrap, summary_json=str(summary_path)))
        if result != 0:
            print("the demo did not seed:\n" + seeded.getvalue()[-3000:], file=sys.stderr)
            return 1
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        print(f"demo seeded in {time.monotonic() - started:.0f} s: {summary['branches']} branches, "
              f"{summary['staff']} staff, {summary['complaints']['filed']} complaints")

        accounts = summary["sign_ins"]
        cookies, apis, staff = {}, {}, {}
        for role in ("branch_manager", "staff"):
            number = accounts[role]["employee_number"]
            cookies[role] = portal_sign_in(urls["portal"], number, demo.DEMO_PASSWORD).cookies
            token, staff[role] = api_sign_in(urls["directory"], number, demo.DEMO_PASSWORD)
            apis[role] = Direct(urls, token)
        me = staff["staff"]["staff_id"]
        pages = [
            Page("queue", "/complaints", "branch_manager", cookies["branch_manager"],
                 *plan_queue(apis["branch_manager"], {}), expect='id="queue-table"', first_alone=True),
            # The default queue shows the open complaints only (few, once the demo's quarter is handled);
            # all of them make a fuller table of the same calls.
            Page("queue-all", "/complaints?status=all", "branch_manager", cookies["branch_manager"],
                 *plan_queue(apis["branch_manager"], {"status": "all"}), expect='id="queue-table"',
                 first_alone=True),
            Page("overview", "/me", "staff", cookies["staff"], plan_overview(apis["staff"], me), expect="<h1"),
            Page("standing", "/me/standing", "staff", cookies["staff"], plan_standing(apis["staff"], me),
                 expect="<h1"),
        ]
        portal = PortalClient(urls["portal"])

        # One load of each page, against what the services logged: the replayed calls must be those.
        logs = AccessLogs(var)
        print("\nthe API calls each page makes (checked against the services' access logs of one page load):")
        for page in pages:
            logs.mark()
            elapsed, ok = portal.get(page)
            if not ok:
                raise RuntimeError(f"{page.url} did not render for {page.who}")
            time.sleep(0.5)  # gunicorn writes its access log line after the response
            seen = sorted((service, key) for service, key, _status in logs.since_mark())
            planned = sorted((call.service, call.key()) for call in page.calls)
            verdict = "same calls" if seen == planned else f"DIFFERENT: the services logged {seen}"
            rows = f", {page.note}" if page.note else ""
            print(f"  {page.url} ({page.who}, {accounts[page.who]['name']}{rows}): {len(page.calls)} calls, {verdict}")
            for call in page.calls:
                print(f"      {call.label()}" + (f"  [{call.status}]" if call.status != 200 else ""))

        load = os.getloadavg()[0]
        measure(pages, apis, portal, args)
        met = report(pages, args)
        print(f"  load average (1 min) of the machine, shared: {load:.1f} before measuring, "
              f"{os.getloadavg()[0]:.1f} after")
        if args.profile or not met:
            sequential(pages, apis, portal, 30)
            profile_in_process(pages, accounts, 30)
        code = 0
    finally:
        stack.down(say=lambda _line: None)
        os.environ.clear()
        os.environ.update(saved)
        if args.keep:
            print(f"var kept: {var}")
        else:
            shutil.rmtree(var, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
