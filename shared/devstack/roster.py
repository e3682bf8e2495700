"""``lsq import-staff FILE.csv``: load a staff roster through the directory API.

Columns: ``employee_number,name,role,branch,hire_date[,email]`` where ``branch`` is a branch code
or id. Each bad row is reported with its line number and the reason; good rows are loaded anyway.
"""
from __future__ import annotations

import csv
import sys

import requests
from tqdm import tqdm

REQUIRED = ("employee_number", "name", "branch", "hire_date")


def _default_token() -> str:
    from shared.auth import issue_token
    from shared.config import jwt_secret
    return issue_token(jwt_secret(), "network_admin", subject="lsq-import-staff")


def _branches(session: requests.Session, url: str) -> dict[str, str]:
    """Branch code (upper case) and id → id."""
    found, page = {}, 1
    while True:
        body = session.get(f"{url}/branches", params={"page": page, "page_size": 500}, timeout=10).json()
        for branch in body["items"]:
            found[branch["code"].upper()] = branch["id"]
            found[branch["id"]] = branch["id"]
        if page * body["page_size"] >= body["total"]:
            return found
        page += 1


def _reason(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    fields = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in (body.get("errors") or {}).items())
    return f"HTTP {response.status_code} {body.get('message', '')}" + (f" ({fields})" if fields else "")


def import_roster(path: str, url: str, token: str | None = None, out=sys.stderr) -> int:
    """Import the roster; returns 0 if every row loaded, 1 if some were bad, 2 if nothing could start."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token or _default_token()}"
    try:
        branches = _branches(session, url)
    except requests.RequestException as exc:
        print(f"cannot reach the directory at {url}: {exc}", file=out)
        return 2
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            print(f"{path}: missing columns: {', '.join(missing)}", file=out)
            return 2
        rows = [(reader.line_num, row) for row in reader]
    loaded, bad = 0, []
    for line, row in tqdm(rows, desc="importing staff / 导入员工", unit="row", file=out):
        empty = [c for c in REQUIRED if not (row.get(c) or "").strip()]
        if empty:
            bad.append((line, f"empty {', '.join(empty)}"))
            continue
        branch_id = branches.get(row["branch"].strip().upper()) or branches.get(row["branch"].strip())
        if branch_id is None:
            bad.append((line, f"unknown branch {row['branch']!r}"))
            continue
        body = {"employee_number": row["employee_number"].strip(), "name": row["name"].strip(),
                "role": (row.get("role") or "staff").strip() or "staff", "branch_id": branch_id,
                "hire_date": row["hire_date"].strip()}
        if (row.get("email") or "").strip():
            body["email"] = row["email"].strip()
        try:
            response = session.post(f"{url}/staff", json=body, timeout=10)
        except requests.RequestException as exc:
            bad.append((line, f"request failed: {exc}"))
            continue
        if response.status_code == 201:
            loaded += 1
        else:
            bad.append((line, _reason(response)))
    for line, reason in bad:
        print(f"line {line}: {reason}", file=out)
    print(f"loaded {loaded} of {len(rows)} rows; {len(bad)} bad / 成功 {loaded} 行，失败 {len(bad)} 行", file=out)
    return 1 if bad else 0
