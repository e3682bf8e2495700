"""Errors gunicorn answers itself (a URI or headers too long) come in the LSQ JSON error body too."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from shared.config import REPO_ROOT
from shared.devstack.kafka import stop_pid
from shared.devstack.ports import free_port, wait_for_port
from tests.helpers import TEST_SECRET

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def directory_web(tmp_path_factory):
    port = free_port()
    var = tmp_path_factory.mktemp("gunicorn")
    env = {**os.environ, "LSQ_VAR_DIR": str(var), "LSQ_JWT_SECRET": TEST_SECRET, "KAFKA_BOOTSTRAP": "127.0.0.1:1",
           "LSQ_DIRECTORY_DATABASE_URL": f"sqlite:///{var / 'directory.db'}"}
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    process = subprocess.Popen([gunicorn, "-c", "python:shared.gunicorn_conf", "--workers", "1", "--bind",
                                f"127.0.0.1:{port}", "services.directory:create_app()"], cwd=REPO_ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for_port(port, 60), "gunicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_pid(process.pid)


def test_an_over_long_uri_gets_a_json_414(directory_web):
    r = requests.get(f"{directory_web}/staff?q={'x' * 9000}", timeout=10)
    assert r.status_code == 414 and r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert body["code"] == "uri_too_long" and body["status"] == 414 and body["message_zh"] == "请求地址过长"


def test_headers_too_large_get_a_json_431(directory_web):
    r = requests.get(f"{directory_web}/healthz", headers={"X-Big": "y" * 9000}, timeout=10)
    assert r.status_code in (400, 431) and r.json()["message_zh"] in ("请求头过大", "请求格式错误")


def test_a_malformed_request_line_gets_a_json_400(directory_web):
    host, port = directory_web.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n")
        answer = sock.recv(4096).decode("utf-8", "replace")
    head, _, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 400") and "application/json" in head and '"status": 400' in body


def test_the_app_still_answers_normal_requests(directory_web):
    assert requests.get(f"{directory_web}/healthz", timeout=10).json()["status"] == "ok"
