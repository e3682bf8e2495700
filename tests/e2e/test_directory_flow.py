"""The directory as a user meets it: a running system, a token, a staff member, a CloudEvent."""
import json
import subprocess
import sys

import pytest
import requests

from tests.helpers import auth, header, read_topic

pytestmark = pytest.mark.e2e
ADMIN = auth("network_admin")


def test_health_docs_and_metrics_answer(system):
    base = system.url("directory")
    assert requests.get(base + "/healthz", timeout=5).json()["status"] == "ok"
    assert requests.get(base + "/readyz", timeout=5).json()["checks"] == {"database": "ok", "kafka": "ok"}
    assert "paths" in requests.get(base + "/openapi.json", timeout=5).json()
    assert "lsq_http_request_duration_seconds" in requests.get(base + "/metrics", timeout=5).text


def test_creating_staff_puts_a_cloudevent_on_the_staff_topic(system):
    base = system.url("directory")
    branch = requests.post(base + "/branches", json={"code": "E2E", "name_zh": "测试分馆", "name_en": "E2E branch"},
                           headers=ADMIN, timeout=5).json()
    r = requests.post(base + "/staff", json={"employee_number": "E2E-001", "name": "陈静", "branch_id": branch["id"],
                                             "hire_date": "2025-09-01"}, headers=ADMIN, timeout=5)
    assert r.status_code == 201
    staff_id = r.json()["id"]
    [record] = read_topic(system.bootstrap, "lsq.staff", lambda rec: rec.key == staff_id.encode(), timeout=30)
    assert header(record, "ce_type") == "lsq.staff.joined.v1"
    assert header(record, "ce_source") == "/lsq/directory"
    assert json.loads(record.value)["employee_number"] == "E2E-001"


def test_import_staff_reports_bad_rows_and_loads_good_ones(system, tmp_path):
    base = system.url("directory")
    requests.post(base + "/branches", json={"code": "IMP", "name_zh": "导入分馆", "name_en": "Import"},
                  headers=ADMIN, timeout=5)
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "employee_number,name,role,branch,hire_date\n"
        "IMP-1,李娜,staff,IMP,2024-02-01\n"
        "IMP-2,周杰,supervisor,imp,2023-05-10\n"
        "IMP-1,重复,staff,IMP,2024-02-01\n"      # duplicate number → 409
        "IMP-3,王磊,staff,NOWHERE,2024-02-01\n"  # unknown branch
        "IMP-4,赵雪,staff,IMP,not-a-date\n"      # invalid date → 422
        "IMP-5,,staff,IMP,2024-02-01\n",          # empty name
        encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "shared.cli", "import-staff", str(roster), "--url", base],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    for line in ("line 4:", "line 5:", "line 6:", "line 7:"):
        assert line in result.stderr
    assert "line 2:" not in result.stderr and "line 3:" not in result.stderr
    assert "loaded 2 of 6 rows" in result.stderr
    listed = requests.get(base + "/staff", params={"page_size": 500}, headers=ADMIN, timeout=5).json()["items"]
    assert {"IMP-1", "IMP-2"} <= {s["employee_number"] for s in listed}
