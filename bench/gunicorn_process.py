"""A service under gunicorn for a benchmark: started on 127.0.0.1, waited for, and stopped."""
from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start(app_spec: str, port: int, env: dict, log: Path, workers: int = 2, threads: int = 1,
          timeout: int = 30) -> subprocess.Popen:
    """``app_spec`` (``services.x:create_app()``) under gunicorn (sync workers for one thread,
    gthread otherwise, as ``lsq up`` runs them), returned once its /healthz answers."""
    worker_class = ["--worker-class", "sync"] if threads == 1 else ["--worker-class", "gthread", "--threads",
                                                                     str(threads)]
    command = [sys.executable, "-m", "gunicorn", "-c", "python:shared.gunicorn_conf", "-w", str(workers),
               "-b", f"127.0.0.1:{port}", *worker_class, "--timeout", str(timeout), "--log-level", "warning",
               app_spec]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
            time.sleep(0.2)
    stop(process)
    raise RuntimeError("gunicorn did not start in 60 s")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the gunicorn we started (its whole process group), SIGKILL if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
