"""Staff sign-in accounts on SQLite and PostgreSQL: invitation → password → session → renewal → reset,
the slowdown and lock after failed sign-ins, staff who left, branch scoping and bad input."""
import hashlib
import threading
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from services.directory import api as directory_api
from services.directory import model, store
from services.directory.settings import AccountSettings
from shared.timeutil import parse_rfc3339, utcnow
from shared.web import db as current_db
from tests.helpers import TEST_SECRET, auth, make_app, shanghai

pytestmark = pytest.mark.integration
ADMIN = auth("network_admin")
PASSWORD = "correct horse battery"
# Clocks are set to instants in the past (year ends, a leap day): these tests write events, whose
# time-ordered ids stay monotonic within the process, and ids from a clock set ahead would run
# ahead of the real clock in the tests that follow.


@pytest.fixture
def app(database_url):
    return make_app("directory", database_url)


@pytest.fixture
def client(app):
    return app.test_client()


def _branch(client, code="CEN"):
    r = client.post("/branches", json={"code": code, "name_zh": "中心馆", "name_en": "Central"}, headers=ADMIN)
    assert r.status_code == 201, r.json
    return r.json["id"]


def _staff(client, branch_id, number="E001", role="staff"):
    r = client.post("/staff", json={"employee_number": number, "name": "王芳", "role": role,
                                    "branch_id": branch_id, "hire_date": "2024-03-01"}, headers=ADMIN)
    assert r.status_code == 201, r.json
    return r.json["id"]


def _invite(client, staff_id, headers=ADMIN):
    r = client.post(f"/staff/{staff_id}/invitations", headers=headers)
    assert r.status_code == 201, r.json
    return r.json["token"]


def _with_password(client, branch_id, number="E001", password=PASSWORD, role="staff"):
    staff_id = _staff(client, branch_id, number, role)
    r = client.post("/accounts/activate", json={"token": _invite(client, staff_id), "password": password})
    assert r.status_code == 200, r.json
    return staff_id


def _login(client, number="E001", password=PASSWORD):
    return client.post("/auth/login", json={"employee_number": number, "password": password})


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _without_request_id(body):
    return {k: v for k, v in body.items() if k != "request_id"}


def test_invitation_activation_sign_in_renewal_and_reset(app, client, time_machine):
    time_machine.move_to(shanghai(2025, 12, 31, 23, 50), tick=True)
    branch = _branch(client)
    staff_id = _staff(client, branch)
    manager = auth("branch_manager", staff_id="m1", branch_id=branch)

    r = client.post(f"/staff/{staff_id}/invitations", headers=manager)
    assert r.status_code == 201
    invitation = r.json
    token = invitation["token"]
    assert invitation["activation_path"] == f"/activate/{token}" and invitation["staff_id"] == staff_id
    expires = parse_rfc3339(invitation["expires_at"])
    assert timedelta(days=7) - timedelta(minutes=1) < expires - utcnow() <= timedelta(days=7)
    with app.app_context(), current_db().read() as conn:  # the token itself is nowhere in the database
        [row] = conn.execute(select(store.staff_invitations)).mappings().all()
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {str(value) for value in row.values()}
    r = client.get(f"/staff/{staff_id}/account", headers=manager)
    assert r.status_code == 200 and r.json["has_password"] is False
    assert parse_rfc3339(r.json["invitation_pending_until"]) == expires
    assert client.get(f"/staff/{staff_id}", headers=ADMIN).json["has_account"] is False

    r = client.post("/accounts/activate", json={"token": token, "password": PASSWORD})
    assert r.status_code == 200 and r.json["staff_id"] == staff_id and r.json["employee_number"] == "E001"
    r = client.post("/accounts/activate", json={"token": token, "password": PASSWORD})
    assert r.status_code == 410 and r.json["code"] == "invitation_used" and "token" in r.json["errors"]

    r = _login(client)
    assert r.status_code == 200, r.json
    session = r.json
    assert session["token_type"] == "Bearer"
    assert session["staff"] == {"staff_id": staff_id, "employee_number": "E001", "name": "王芳", "role": "staff",
                                "branch_id": branch, "branch_name_zh": "中心馆", "branch_name_en": "Central"}
    claims = jwt.decode(session["token"], TEST_SECRET, algorithms=["HS256"])
    assert claims == {"sub": staff_id, "role": "staff", "staff_id": staff_id, "branch_id": branch,
                      "iat": claims["iat"], "exp": claims["iat"] + 30 * 60}
    assert parse_rfc3339(session["expires_at"]).timestamp() == claims["exp"]
    # the token is the one the APIs accept
    r = client.get(f"/staff/{staff_id}", headers=_bearer(session["token"]))
    assert r.status_code == 200 and r.json["has_account"] is True
    assert client.get("/staff", headers=ADMIN).json["items"][0]["has_account"] is True
    mine = client.get(f"/staff/{staff_id}/account", headers=_bearer(session["token"])).json
    assert mine["has_password"] and mine["failed_attempts"] == 0 and mine["locked_until"] is None
    assert mine["last_login_at"] is not None and mine["invitation_pending_until"] is None

    time_machine.shift(timedelta(minutes=20))  # past midnight: 1 January in Shanghai
    r = client.post("/auth/refresh", headers=_bearer(session["token"]))
    assert r.status_code == 200
    renewed = r.json["token"]
    assert jwt.decode(renewed, TEST_SECRET, algorithms=["HS256"])["iat"] >= claims["iat"] + 20 * 60
    assert client.get(f"/staff/{staff_id}", headers=_bearer(renewed)).status_code == 200

    r = client.post(f"/staff/{staff_id}/password-reset", headers=manager)
    assert r.status_code == 201 and r.json["activation_path"] == f"/activate/{r.json['token']}"
    again = r.json["token"]
    for old in (session["token"], renewed):
        r = client.post("/auth/refresh", headers=_bearer(old))
        assert r.status_code == 401 and r.json["code"] == "session_revoked" and r.json["message_zh"]
    assert _login(client).status_code == 401  # the password is gone
    account = client.get(f"/staff/{staff_id}/account", headers=manager).json
    assert account["has_password"] is False and account["invitation_pending_until"] is not None

    time_machine.shift(timedelta(seconds=2))
    r = client.post("/accounts/activate", json={"token": again, "password": "another good password"})
    assert r.status_code == 200
    assert _login(client).status_code == 401
    r = _login(client, password="another good password")
    assert r.status_code == 200
    assert client.post("/auth/refresh", headers=_bearer(r.json["token"])).status_code == 200


def test_a_new_invitation_withdraws_the_older_one_and_a_password_needs_a_reset(client):
    branch = _branch(client)
    staff_id = _staff(client, branch)
    first, second = _invite(client, staff_id), _invite(client, staff_id)
    r = client.post("/accounts/activate", json={"token": first, "password": PASSWORD})
    assert r.status_code == 410 and r.json["code"] == "invitation_withdrawn" and "token" in r.json["errors"]
    assert client.post("/accounts/activate", json={"token": second, "password": PASSWORD}).status_code == 200
    r = client.post(f"/staff/{staff_id}/invitations", headers=ADMIN)
    assert r.status_code == 409 and r.json["code"] == "account_has_password"


def test_invitations_expire_after_the_configured_days(database_url, monkeypatch, time_machine):
    monkeypatch.setenv("LSQ_DIRECTORY_INVITATION_DAYS", "2")
    client = make_app("directory", database_url).test_client()
    time_machine.move_to(shanghai(2024, 2, 28, 12, 0), tick=False)
    staff_id = _staff(client, _branch(client))
    r = client.post(f"/staff/{staff_id}/invitations", headers=ADMIN)
    assert r.json["expires_at"].startswith("2024-03-01T04:00:00")  # 29 February is one of the two days
    time_machine.shift(timedelta(days=2))
    r = client.post("/accounts/activate", json={"token": r.json["token"], "password": PASSWORD})
    assert r.status_code == 410 and r.json["code"] == "invitation_expired" and "token" in r.json["errors"]
    assert r.json["message_zh"] == "该激活链接已过期"


def test_session_length_is_configurable(database_url):
    client = make_app("directory", database_url,
                      ACCOUNT_SETTINGS=AccountSettings(invitation_days=7, session_minutes=5)).test_client()
    _with_password(client, _branch(client))
    claims = jwt.decode(_login(client).json["token"], TEST_SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 5 * 60


def test_wrong_passwords_slow_down_then_lock_and_a_success_resets(client, time_machine):
    time_machine.move_to(shanghai(2025, 12, 31, 23, 55), tick=False)
    staff_id = _with_password(client, _branch(client))
    session = _login(client).json["token"]

    # two failures, then a success: the count starts again
    assert [_login(client, password="wrong password").status_code for _ in range(2)] == [401, 401]
    assert _login(client).status_code == 200
    assert [_login(client, password="wrong password").status_code for _ in range(3)] == [401, 401, 401]
    # the third failure in a row: the next attempt waits 5 s, even with the right password
    r = _login(client)
    assert r.status_code == 429 and r.headers["Retry-After"] == "5"
    assert r.json["code"] == "sign_in_slowed_down" and r.json["details"]["retry_after_seconds"] == 5
    assert r.json["message"] and r.json["message_zh"] != r.json["message"]
    waits = []
    for _ in range(6):  # failures 4 to 9
        time_machine.shift(timedelta(seconds=int(r.headers["Retry-After"])))
        assert _login(client, password="wrong password").status_code == 401
        r = _login(client, password="wrong password")
        assert r.status_code == 429
        waits.append(int(r.headers["Retry-After"]))
    assert waits == [10, 20, 40, 80, 160, 300]
    time_machine.shift(timedelta(seconds=300))
    assert _login(client, password="wrong password").status_code == 401  # the tenth
    r = _login(client)
    assert r.status_code == 423 and r.json["code"] == "account_locked" and r.headers["Retry-After"] == "900"
    locked_until = r.json["details"]["locked_until"]
    account = client.get(f"/staff/{staff_id}/account", headers=ADMIN).json
    assert account["failed_attempts"] == 10
    assert parse_rfc3339(account["locked_until"]) == parse_rfc3339(locked_until)
    r = client.post("/auth/refresh", headers=_bearer(session))
    assert r.status_code == 401 and r.json["code"] == "account_locked"

    time_machine.shift(timedelta(minutes=15))
    assert _login(client).status_code == 200
    account = client.get(f"/staff/{staff_id}/account", headers=ADMIN).json
    assert account["failed_attempts"] == 0 and account["locked_until"] is None


def test_a_reset_unlocks(client, time_machine):
    time_machine.move_to(shanghai(2025, 6, 30, 9, 0), tick=False)
    staff_id = _with_password(client, _branch(client))
    for _ in range(10):
        _login(client, password="wrong password")
        time_machine.shift(timedelta(minutes=5))
    assert _login(client).status_code == 423
    token = client.post(f"/staff/{staff_id}/password-reset", headers=ADMIN).json["token"]
    account = client.get(f"/staff/{staff_id}/account", headers=ADMIN).json
    assert account["failed_attempts"] == 0 and account["locked_until"] is None
    assert client.post("/accounts/activate", json={"token": token, "password": PASSWORD}).status_code == 200
    assert _login(client).status_code == 200


def test_attempts_sent_together_cannot_pass_the_slowdown_together(app, client):
    _with_password(client, _branch(client))
    statuses, start = [], threading.Barrier(8)

    def attempt():
        mine = app.test_client()
        start.wait()
        statuses.append(_login(mine, password="wrong password").status_code)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # every attempt is counted before its password is checked: only three are checked at all
    assert sorted(statuses) == [401] * 3 + [429] * 5


def test_unknown_numbers_and_wrong_passwords_get_one_answer(client, monkeypatch):
    branch = _branch(client)
    _with_password(client, branch)
    invited = _staff(client, branch, number="E002")
    _invite(client, invited)  # invited, no password yet
    dummy_checks = []
    real = model.check_dummy_password
    monkeypatch.setattr(model, "check_dummy_password", lambda password: dummy_checks.append(1) or real(password))

    answers = [_login(client, "E001", "wrong password"), _login(client, "E404", "wrong password"),
               _login(client, "E002", "wrong password")]
    assert {r.status_code for r in answers} == {401}
    assert len({str(_without_request_id(r.json)) for r in answers}) == 1
    assert answers[0].json["code"] == "sign_in_failed" and answers[0].json["message_zh"] == "工号或密码错误"
    assert "errors" not in answers[0].json  # no field named: that would say which one was wrong
    assert len(dummy_checks) == 2  # the unknown number and the one without a password hashed too


def test_staff_who_left_cannot_sign_in_and_their_invitations_stop(client):
    branch = _branch(client)
    leaver = _with_password(client, branch)
    session = _login(client).json["token"]
    invited = _staff(client, branch, number="E002")
    invitation = _invite(client, invited)

    for staff_id in (leaver, invited):
        assert client.post(f"/staff/{staff_id}/leave", json={"reason": "resigned"}, headers=ADMIN).status_code == 200
    r = _login(client)
    assert r.status_code == 401 and r.json["code"] == "account_not_active"
    assert "not active" in r.json["message"] and r.json["message_zh"] == "该账号已停用：该员工已离职"
    r = client.post("/auth/refresh", headers=_bearer(session))
    assert r.status_code == 401 and r.json["code"] in ("account_not_active", "session_revoked")
    r = client.post("/accounts/activate", json={"token": invitation, "password": PASSWORD})
    assert r.status_code == 410 and "token" in r.json["errors"]
    account = client.get(f"/staff/{leaver}/account", headers=ADMIN).json
    assert account["has_password"] is False and account["invitation_pending_until"] is None
    for path in ("invitations", "password-reset"):
        r = client.post(f"/staff/{leaver}/{path}", headers=ADMIN)
        assert r.status_code == 409 and r.json["code"] == "staff_left"


def test_branch_scoping_and_roles(client):
    central, east = _branch(client), _branch(client, "EAST")
    member = _with_password(client, central)
    colleague = _staff(client, central, number="E002")
    network = _staff(client, central, number="E003", role="network_admin")
    other_manager = auth("branch_manager", staff_id="m2", branch_id=east)
    own_manager = auth("branch_manager", staff_id="m1", branch_id=central)

    # a manager of another branch: the answer for a staff member who does not exist
    for method, path in (("post", "invitations"), ("post", "password-reset"), ("get", "account")):
        hidden = getattr(client, method)(f"/staff/{member}/{path}", headers=other_manager)
        missing = getattr(client, method)(f"/staff/no-such-staff/{path}", headers=other_manager)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json["code"] == missing.json["code"] == "staff_member_not_found"
        assert hidden.json["message"] == missing.json["message"].replace("no-such-staff", member)

    assert client.get(f"/staff/{member}/account", headers=own_manager).status_code == 200
    mine = auth("staff", staff_id=member, branch_id=central)
    assert client.get(f"/staff/{member}/account", headers=mine).status_code == 200
    assert client.get(f"/staff/{colleague}/account", headers=mine).status_code == 403
    assert client.get(f"/staff/{member}/account",
                      headers=auth("supervisor", staff_id="s9", branch_id=central)).status_code == 403
    assert client.get(f"/staff/{member}/account", headers=auth("auditor")).status_code == 403
    assert client.post(f"/staff/{colleague}/invitations", headers=mine).status_code == 403
    assert client.post(f"/staff/{colleague}/invitations").status_code == 401
    # a branch manager cannot take over a network-wide account through its password
    r = client.post(f"/staff/{network}/invitations", headers=own_manager)
    assert r.status_code == 403 and r.json["message_zh"]
    assert client.post(f"/staff/{network}/invitations", headers=ADMIN).status_code == 201
    assert client.post(f"/staff/{colleague}/invitations", headers=own_manager).status_code == 201
    # only a staff member's session is renewed
    r = client.post("/auth/refresh", headers=ADMIN)
    assert r.status_code == 401 and r.json["code"] == "not_a_staff_session"
    for role in ("reader", "service"):
        r = client.post("/auth/refresh", headers=auth(role, staff_id=member, branch_id=central))
        assert r.status_code == 401 and r.json["code"] == "not_a_staff_session"
    assert client.post("/auth/refresh").status_code == 401
    r = client.post("/auth/refresh", headers=auth("staff", staff_id="nobody", branch_id=central))
    assert r.status_code == 401
    r = client.post("/auth/refresh", headers=auth("staff", staff_id=colleague, branch_id=central))
    assert r.status_code == 401 and r.json["code"] == "no_password"


def test_renewal_carries_the_current_role_and_branch(client):
    central, east = _branch(client), _branch(client, "EAST")
    staff_id = _with_password(client, central)
    session = _login(client).json["token"]
    client.post(f"/staff/{staff_id}/transfer", json={"to_branch_id": east}, headers=ADMIN)
    client.patch(f"/staff/{staff_id}", json={"role": "supervisor"}, headers=ADMIN)
    r = client.post("/auth/refresh", headers=_bearer(session))
    assert r.status_code == 200
    assert (r.json["staff"]["branch_id"], r.json["staff"]["role"]) == (east, "supervisor")
    claims = jwt.decode(r.json["token"], TEST_SECRET, algorithms=["HS256"])
    assert (claims["branch_id"], claims["role"]) == (east, "supervisor")


@pytest.mark.parametrize("password, code", [
    ("short", "password_too_short"), ("x" * 129, "password_too_long"), ("12345678901", "password_only_digits"),
    ("E00123-abc", "password_is_employee_number"), ("e00123-ABC", "password_is_employee_number"),
])
def test_passwords_against_the_rules_are_422_naming_password(client, password, code):
    staff_id = _staff(client, _branch(client), number="E00123-abc")
    token = _invite(client, staff_id)
    r = client.post("/accounts/activate", json={"token": token, "password": password})
    assert r.status_code == 422 and r.json["code"] == code
    assert r.json["errors"] == {"password": [r.json["message"]]}
    assert r.json["message_zh"] and r.json["message_zh"] != r.json["message"]
    # the invitation is still good
    assert client.post("/accounts/activate", json={"token": token, "password": PASSWORD}).status_code == 200


def test_bad_input_is_422_naming_the_fields(client):
    r = client.post("/accounts/activate", json={})
    assert r.status_code == 422 and set(r.json["errors"]) == {"token", "password"}
    r = client.post("/accounts/activate", json={"token": "made-up", "password": PASSWORD})
    assert r.status_code == 422 and r.json["code"] == "invitation_unknown" and "token" in r.json["errors"]
    r = client.post("/accounts/activate", json={"token": 42, "password": ["x"]})
    assert r.status_code == 422 and set(r.json["errors"]) == {"token", "password"}
    r = client.post("/auth/login", json={})
    assert r.status_code == 422 and set(r.json["errors"]) == {"employee_number", "password"}
    r = client.post("/auth/login", json={"employee_number": "E001", "password": PASSWORD, "remember": True})
    assert r.status_code == 422 and set(r.json["errors"]) == {"remember"}
    r = client.post("/auth/login", json={"employee_number": "x" * 33, "password": ""})
    assert r.status_code == 422 and set(r.json["errors"]) == {"employee_number", "password"}
    r = client.post("/auth/login", data="{broken", content_type="application/json")
    assert r.status_code == 400
    r = client.post("/auth/login", json={"employee_number": "E\u0000", "password": PASSWORD})
    assert r.status_code == 422 and r.json["code"] == "nul_character"
    assert client.post("/staff/nobody/invitations", headers=ADMIN).status_code == 404


def test_sign_in_is_rate_limited_per_client(database_url):
    app = make_app("directory", database_url, RATE_LIMITS_ENABLED=True)
    client = app.test_client()
    directory_api.login.limiter._buckets.clear()  # the limiter lives as long as the process
    try:
        answers = [client.post("/auth/login", json={}).status_code for _ in range(directory_api.SIGN_IN_LIMIT + 1)]
    finally:
        directory_api.login.limiter._buckets.clear()
    assert answers == [422] * directory_api.SIGN_IN_LIMIT + [429]


def _rsa_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def test_rs256_deployments_sign_with_the_private_key_or_answer_503(database_url, monkeypatch):
    private, public = _rsa_pair()
    for name in ("LSQ_JWT_PRIVATE_KEY", "LSQ_JWT_PRIVATE_KEY_FILE", "LSQ_DIRECTORY_JWT_PRIVATE_KEY",
                 "LSQ_DIRECTORY_JWT_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    app = make_app("directory", database_url, SETTINGS={
        "database_url": database_url, "kafka_bootstrap": "127.0.0.1:1", "jwt_secret": None,
        "jwt_public_key": public, "jwt_issuer": "https://lsq.example", "relay_doorbell_port": 0})
    client = app.test_client()
    admin = {"Authorization": "Bearer " + jwt.encode(
        {"sub": "admin", "role": "network_admin", "iss": "https://lsq.example", "exp": 4102444800},
        serialization.load_pem_private_key(private.encode(), None), algorithm="RS256")}
    r = client.post("/branches", json={"code": "CEN", "name_zh": "中心馆", "name_en": "Central"}, headers=admin)
    branch = r.json["id"]
    r = client.post("/staff", json={"employee_number": "E001", "name": "王芳", "branch_id": branch,
                                    "hire_date": "2024-03-01"}, headers=admin)
    staff_id = r.json["id"]
    token = client.post(f"/staff/{staff_id}/invitations", headers=admin).json["token"]
    assert client.post("/accounts/activate", json={"token": token, "password": PASSWORD}).status_code == 200

    r = _login(client)
    assert r.status_code == 503 and r.json["code"] == "token_signing_unavailable"
    assert "private key" in r.json["message"] and r.json["message_zh"] == "系统未配置令牌签名私钥，暂时无法登录"
    assert client.get(f"/staff/{staff_id}/account", headers=admin).json["failed_attempts"] == 0  # not counted

    monkeypatch.setenv("LSQ_JWT_PRIVATE_KEY", private)
    r = _login(client)
    assert r.status_code == 200
    assert jwt.get_unverified_header(r.json["token"])["alg"] == "RS256"
    assert jwt.decode(r.json["token"], public, algorithms=["RS256"], issuer="https://lsq.example")["staff_id"] == \
        staff_id
    assert client.get(f"/staff/{staff_id}", headers=_bearer(r.json["token"])).status_code == 200
    assert client.post("/auth/refresh", headers=_bearer(r.json["token"])).status_code == 200


def test_the_new_endpoints_are_documented(client):
    spec = client.get("/openapi.json").json
    for path in ("/staff/{staff_id}/invitations", "/staff/{staff_id}/password-reset", "/staff/{staff_id}/account",
                 "/accounts/activate", "/auth/login", "/auth/refresh"):
        assert path in spec["paths"], path
    login = spec["paths"]["/auth/login"]["post"]
    assert {"200", "401", "423", "429", "503"} <= set(login["responses"])
    assert {"Session", "SignInIn", "Account", "Invitation", "ActivationIn"} <= set(spec["components"]["schemas"])
