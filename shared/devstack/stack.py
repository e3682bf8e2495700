"""``lsq up`` / ``down`` / ``status``: Kafka and every service (web + worker) as local processes.

Everything lives under ``var/``: ``var/kafka`` (the broker), ``var/data`` (SQLite files),
``var/logs`` (one log per process), ``var/run`` (pid files), ``var/metrics`` (Prometheus
multiprocess files of the gunicorn workers).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from shared.config import REPO_ROOT, SERVICE_PORTS, service_port, var_dir
from shared.devstack.kafka import LocalKafka, _read_pid, stop_pid

KAFKA_PORT = int(os.environ.get("LSQ_KAFKA_PORT", "9092"))


def discover_services() -> list[str]:
    """Services that exist in this checkout (a package with an app factory), in port order."""
    found = [p.name for p in (REPO_ROOT / "services").iterdir()
             if (p / "__init__.py").exists() and p.name in SERVICE_PORTS]
    return sorted(found, key=lambda name: (SERVICE_PORTS.get(name, 9999), name))


def has_worker(service: str) -> bool:
    """Whether the service runs a worker process besides its web process (the portal does not)."""
    return (REPO_ROOT / "services" / service / "worker.py").exists()


def has_database(service: str) -> bool:
    """Whether the service keeps a database of its own (migrations to apply before start)."""
    return (REPO_ROOT / "services" / service / "migrations").is_dir()


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of ours counts as gone
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


#: Threads per gunicorn worker of every web process (gthread); the filing benchmark uses the same.
WEB_THREADS = 4

class Stack:
    """The local system: paths, environment, and the processes it starts."""

    def __init__(self, var: Path | None = None, kafka_port: int = KAFKA_PORT, web_workers: int = 2,
                 kafka_controller_port: int | None = None):
        self.var = Path(var or var_dir())
        self.kafka_port = kafka_port
        # The fixed local stack uses the port after the broker's; a test passes a free one (the
        # port after a random free port may well be some client's ephemeral port).
        self.kafka_controller_port = kafka_controller_port or kafka_port + 1
        self.web_workers = web_workers
        for sub in ("logs", "run", "data", "metrics"):
            (self.var / sub).mkdir(parents=True, exist_ok=True)

    @property
    def bootstrap(self) -> str:
        return os.environ.get("KAFKA_BOOTSTRAP") or f"127.0.0.1:{self.kafka_port}"

    def env(self, service: str | None = None) -> dict:
        env = {**os.environ, "LSQ_VAR_DIR": str(self.var), "KAFKA_BOOTSTRAP": self.bootstrap,
               "PYTHONUNBUFFERED": "1"}
        if service:
            metrics_dir = self.var / "metrics" / service
            metrics_dir.mkdir(parents=True, exist_ok=True)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
            if service != "portal":
                # On loopback behind the portal, which passes each browser's address on: the
                # readers' per-client limits count readers, not the portal.
                env.setdefault("LSQ_PROXY_HOPS", "1")
        return env

    # -- Kafka ---------------------------------------------------------------------------------
    def kafka(self) -> LocalKafka:
        return LocalKafka(self.var / "kafka", port=self.kafka_port, controller_port=self.kafka_controller_port,
                          heap=os.environ.get("LSQ_KAFKA_HEAP", "768m"))

    def start_kafka(self) -> str:
        if os.environ.get("KAFKA_BOOTSTRAP"):
            return f"using KAFKA_BOOTSTRAP={self.bootstrap}"
        broker = self.kafka()
        if _alive(_read_pid(broker.pid_file)):
            return f"already running on {broker.bootstrap}"
        broker.start()
        return f"started on {broker.bootstrap}"

    # -- services ------------------------------------------------------------------------------
    def _pid_file(self, name: str) -> Path:
        return self.var / "run" / f"{name}.pid"

    def _spawn(self, name: str, command: list[str], env: dict) -> int:
        pid_file = self._pid_file(name)
        if _alive(_read_pid(pid_file)):
            return _read_pid(pid_file)
        log = open(self.var / "logs" / f"{name}.log", "ab")
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        pid_file.write_text(str(process.pid))
        return process.pid

    def start_service(self, service: str) -> None:
        port = service_port(service)
        env = self.env(service)
        for stale in Path(env["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
            if not _alive(_read_pid(self._pid_file(f"{service}-web"))):
                stale.unlink()
        # Migrate once before the web workers start, so they do not race for it.
        if has_database(service):
            subprocess.run([sys.executable, "-m", "shared.cli", "migrate", service], cwd=REPO_ROOT, env=env,
                           check=True)
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self._spawn(f"{service}-web", [gunicorn, "-c", "python:shared.gunicorn_conf",
                                       "--workers", str(self.web_workers), "--threads", str(WEB_THREADS),
                                       "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "20",
                                       "--access-logfile", "-", "--name", f"lsq-{service}",
                                       f"services.{service}:create_app()"], env)
        if has_worker(service):
            self._spawn(f"{service}-worker", [sys.executable, "-m", f"services.{service}.worker"], env)

    def start_mail_server(self) -> str:
        """The local SMTP server keeping every message in ``var/mail`` (unless ``LSQ_SMTP_HOST``
        points at a real one); stopped by ``down`` with the services."""
        if os.environ.get("LSQ_SMTP_HOST"):
            return f"using LSQ_SMTP_HOST={os.environ['LSQ_SMTP_HOST']}"
        port = os.environ.get("LSQ_SMTP_PORT", "8025")
        self._spawn("mail", [sys.executable, "-m", "services.notify.mailbox", "--port", port,
                             "--dir", str(self.var / "mail")], self.env())
        return f"smtp://127.0.0.1:{port}, messages in {self.var / 'mail'}"

    def wait_ready(self, service: str, timeout: float = 120) -> bool:
        url = f"http://127.0.0.1:{service_port(service)}/readyz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            if not _alive(_read_pid(self._pid_file(f"{service}-web"))):
                return False
            time.sleep(0.3)
        return False

    def up(self, services: list[str] | None = None, say=print) -> bool:
        """Start Kafka and the services; wait until each answers /readyz. True if all are ready."""
        say(f"kafka      {self.start_kafka()}")
        services = services or discover_services()
        if "notify" in services:
            say(f"mail       {self.start_mail_server()}")
        for service in services:
            self.start_service(service)
        ok = True
        for service in services:
            ready = self.wait_ready(service)
            ok &= ready
            port = service_port(service)
            where = f"http://127.0.0.1:{port}/" if service == "portal" else f"http://127.0.0.1:{port}/docs"
            logs = f"{service}-web.log" + (f", {service}-worker.log" if has_worker(service) else "")
            say(f"{service:<10} {'ready' if ready else 'NOT READY'}  {where}  (logs: {self.var}/logs/{logs})")
        return ok

    def down(self, say=print) -> None:
        """Stop every process ``up`` started (services first, Kafka last)."""
        for pid_file in sorted((self.var / "run").glob("*.pid")):
            pid = _read_pid(pid_file)
            if _alive(pid):
                stop_pid(pid, timeout=30)
                say(f"stopped {pid_file.stem} ({pid})")
            pid_file.unlink(missing_ok=True)
        broker = self.kafka()
        pid = _read_pid(broker.pid_file)
        if _alive(pid):
            broker.stop()
            say(f"stopped kafka ({pid})")

    def status(self) -> list[tuple[str, str]]:
        """(process, state) for Kafka and every service process."""
        rows = []
        broker = self.kafka()
        rows.append(("kafka", f"running ({_read_pid(broker.pid_file)}) on {broker.bootstrap}"
                     if _alive(_read_pid(broker.pid_file)) else "stopped"))
        for service in discover_services():
            for kind in ("web", "worker") if has_worker(service) else ("web",):
                pid = _read_pid(self._pid_file(f"{service}-{kind}"))
                state = f"running ({pid})" if _alive(pid) else "stopped"
                if kind == "web" and _alive(pid):
                    try:
                        r = requests.get(f"http://127.0.0.1:{service_port(service)}/readyz", timeout=2)
                        state += f", {r.json().get('status')}"
                    except requests.RequestException:
                        state += ", not answering"
                rows.append((f"{service}-{kind}", state))
        return rows
