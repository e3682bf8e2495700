"""A worker process: relays what the web process committed, and stops cleanly on SIGTERM."""
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from shared import outbox
from shared.db import Database
from tests.helpers import header, read_topic

pytestmark = pytest.mark.integration


def test_worker_relays_and_shuts_down_gracefully_on_sigterm(tmp_path, kafka_bootstrap):
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    env = {**os.environ, "LSQ_DIRECTORY_DATABASE_URL": url, "KAFKA_BOOTSTRAP": kafka_bootstrap,
           "LSQ_VAR_DIR": str(tmp_path), "LSQ_DIRECTORY_PORT": "0", "LSQ_DIRECTORY_RELAY_DOORBELL_PORT": "0"}
    worker = subprocess.Popen([sys.executable, "-m", "services.directory.worker"], env=env,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = worker.stderr.readline()
            if "worker started" in line or not line:
                break
        db = Database(url, "directory")
        staff_id = str(uuid.uuid4())
        with db.transaction() as conn:
            event_id = outbox.add(conn, "lsq.staff.joined.v1", {
                "staff_id": staff_id, "employee_number": "W1", "name": "孙丽", "role": "staff",
                "branch_id": "b1", "hire_date": "2025-01-01"})
        assert read_topic(kafka_bootstrap, "lsq.staff", lambda r: header(r, "ce_id") == event_id, timeout=30)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        assert "worker stopped" in worker.stderr.read()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
