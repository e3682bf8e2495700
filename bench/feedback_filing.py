"""Complaint filing throughput through gunicorn, against a bare Flask endpoint in the same run.

    .venv/bin/python -m bench.feedback_filing [--seconds 4] [--rounds 3] [--workers 2] [--threads 4]
                                              [--clients 8] [--database-url postgresql+psycopg://...]

Both servers run on the same gunicorn setup, by default the one ``lsq up`` deploys (2 gthread workers
of 4 threads; ``--threads 1`` for sync workers), on 127.0.0.1. The baseline
endpoint only parses the JSON body and answers 201; the measured one is ``POST /complaints`` of the
feedback service: validation, reference checks against the directory read model, SLA times, the
complaint, contact and history rows and the outbox event, in one transaction (SQLite by default).
Each request carries its own X-Forwarded-For address so the per-client rate limit stays in the
path without refusing the load. Goal: ratio >= 0.5.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import gunicorn_process
from shared.devstack.ports import free_port
from shared.devstack.stack import WEB_THREADS

ROOT = Path(__file__).resolve().parent.parent
BODY = {"branch_id": "bench-branch", "service_point_id": "bench-desk", "staff_id": "bench-staff",
        "category": "waiting", "severity": "normal", "channel": "web",
        "description": "排队时间过长，只有一个窗口开放。The queue was long with one desk open.",
        "contact": {"name": "读者", "email": "reader@example.cn"}}


def baseline_app():
    """The baseline: a bare Flask app whose endpoint only parses the JSON body."""
    from flask import Flask, request

    app = Flask("baseline")

    @app.post("/complaints")
    def parse_only():
        request.get_json()
        return {"ok": True}, 201

    return app


def _seed(database_url: str) -> None:
    """Migrate the feedback database and put the referenced branch, desk and staff in its read model."""
    from shared.db import Database
    from shared.directory_view import known_branches, known_service_points, known_staff
    from shared.timeutil import utcnow

    db = Database(database_url, "feedback")
    db.migrate()
    with db.transaction() as conn:
        for table in (known_staff, known_service_points, known_branches):
            conn.execute(table.delete())
        conn.execute(known_branches.insert().values(branch_id="bench-branch", code="BENCH", name_zh="测试馆",
                                                    name_en="Bench"))
        conn.execute(known_service_points.insert().values(service_point_id="bench-desk", branch_id="bench-branch",
                                                          name_zh="服务台", name_en="Desk"))
        conn.execute(known_staff.insert().values(staff_id="bench-staff", role="staff", branch_id="bench-branch",
                                                 status="active", updated_at=utcnow()))
    db.dispose()


def _doorbell_listener(port: int) -> socket.socket:
    """Stand in for the outbox relay's doorbell socket, which production always has listening.

    Without a listener every datagram the web workers send draws an ICMP port-unreachable reply,
    which costs the sender far more than a delivered datagram; a thread drains it as the relay does.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))

    def drain():
        while True:
            try:
                sock.recv(64)
            except OSError:
                return

    threading.Thread(target=drain, daemon=True).start()
    return sock






def _client(args) -> tuple[int, int]:
    """One load process: sequential requests until the deadline; returns (ok, failed)."""
    port, deadline, client_id = args
    body = json.dumps(BODY).encode()
    ok = failed = 0
    n = 0
    while time.time() < deadline:
        n += 1
        headers = {"Content-Type": "application/json",
                   "X-Forwarded-For": f"10.{client_id}.{(n >> 8) & 255}.{n & 255}-{n}"}
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/complaints", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status == 201:
                ok += 1
            else:
                failed += 1
        except OSError:
            failed += 1
    return ok, failed


def measure(port: int, seconds: float, clients: int) -> tuple[float, int]:
    """Requests a second over ``seconds`` with ``clients`` concurrent load processes (after 1 s warm-up)."""
    # spawn, not fork: a forked child can inherit a lock held by one of the pool's own threads.
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        pool.map(_client, [(port, time.time() + 1.0, i) for i in range(clients)])  # warm-up
        started = time.time()
        results = pool.map(_client, [(port, started + seconds, i) for i in range(clients)])
        elapsed = time.time() - started
    ok = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    return ok / elapsed, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one measuring round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per server")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=WEB_THREADS,
                        help="threads per worker (gthread) for both servers, by default as `lsq up` runs "
                             "them; 1 = sync workers")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    # Stopped from outside (timeout, Ctrl-C): still stop the gunicorn servers in ``finally``.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    folder = Path(tempfile.mkdtemp(prefix="lsq-bench-feedback-"))
    database_url = args.database_url or f"sqlite:///{folder / 'feedback.db'}"
    _seed(database_url)
    doorbell = _doorbell_listener(free_port())
    env = {**os.environ, "LSQ_FEEDBACK_DATABASE_URL": database_url,
           "LSQ_JWT_SECRET": "bench-secret-not-for-production-use",
           "LSQ_FEEDBACK_RELAY_DOORBELL_PORT": str(doorbell.getsockname()[1]), "LSQ_LOG_LEVEL": "WARNING",
           "LSQ_PROXY_HOPS": "1",  # the load clients pose as many readers through X-Forwarded-For
           "PYTHONPATH": str(ROOT)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    servers = {}
    names = {"baseline": "baseline (bare Flask, parse JSON)", "feedback": "feedback POST /complaints"}
    try:
        for key, spec in (("baseline", "bench.feedback_filing:baseline_app()"),
                          ("feedback", "services.feedback:create_app()")):
            port = free_port()
            servers[key] = (port, gunicorn_process.start(spec, port, env, folder / f"{key}.log", args.workers,
                                                         args.threads))
        # Rounds alternate between the two servers (an idle sync worker costs nothing), so a change
        # in the load of this shared machine hits both alike; the median round is reported.
        rates = {key: [] for key in servers}
        failures = {key: 0 for key in servers}
        for _ in range(args.rounds):
            for key, (port, _) in servers.items():
                rate, failed = measure(port, args.seconds, args.clients)
                rates[key].append(rate)
                failures[key] += failed
        engine = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
        kind = "sync" if args.threads == 1 else f"gthread x{args.threads} threads"
        print(f"gunicorn {kind} x{args.workers} workers, {args.clients} load processes, {args.rounds} alternating rounds "
              f"of {args.seconds:.0f} s, {engine}")
        for key, values in rates.items():
            print(f"  {names[key]:36s} {statistics.median(values):8.0f} req/s median   "
                  f"(rounds: {', '.join(f'{v:.0f}' for v in values)}; {failures[key]} failed)")
        ratio = statistics.median(rates["feedback"]) / statistics.median(rates["baseline"])
        print(f"  ratio feedback / baseline: {ratio:.2f}   (goal >= 0.5)")
    finally:
        for _, process in servers.values():
            gunicorn_process.stop(process)
        doorbell.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
