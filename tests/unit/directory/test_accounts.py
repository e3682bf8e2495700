"""Sign-in account rules without I/O: passwords, invitation tokens, the slowdown and lock schedule."""
import hashlib
import re
from datetime import date, timedelta

import pytest

from services.directory import model
from services.directory.model import Invitation, SignInFailures, Staff
from services.directory.settings import AccountSettings
from shared.errors import Conflict, Forbidden, Invalid, Unauthorized
from shared.timeutil import as_utc, utcnow
from tests.helpers import shanghai

#: New Year's Eve in Shanghai, a minute before midnight (still 31 December 15:59 in UTC).
EVE = as_utc(shanghai(2026, 12, 31, 23, 59))


def _staff(**changes) -> Staff:
    base = dict(id="s1", employee_number="E1", name="王芳", role="staff", branch_id="b1",
                hire_date=date(2024, 3, 1))
    return Staff(**{**base, **changes})


def _no_latin(text: str) -> bool:
    return re.search(r"[A-Za-z]", text) is None


# -- password rules ------------------------------------------------------------------------------
@pytest.mark.parametrize("password", ["a" * 10, "correct horse battery", "1234567890x", "密码密码密码密码密码密码",
                                      "x" * 128])
def test_good_passwords_pass(password):
    model.check_password_rules(password, "E00123")


@pytest.mark.parametrize("password, code", [
    ("a" * 9, "password_too_short"),
    ("", "password_too_short"),
    ("x" * 129, "password_too_long"),
    ("1234567890", "password_only_digits"),
    ("00000000000000", "password_only_digits"),
    ("E0012345678", "password_is_employee_number"),
    ("e0012345678", "password_is_employee_number"),  # not by changing the case either
])
def test_bad_passwords_name_the_field_in_both_languages(password, code):
    with pytest.raises(Invalid) as refused:
        model.check_password_rules(password, "E0012345678")
    error = refused.value
    assert (error.status, error.field, error.code) == (422, "password", code)
    assert error.message and error.message_zh != error.message and _no_latin(error.message_zh)


def test_passwords_are_stored_as_salted_argon2id_hashes():
    first, second = model.hash_password("correct horse battery"), model.hash_password("correct horse battery")
    assert first.startswith("$argon2id$") and first != second  # salted
    assert "correct horse battery" not in first
    assert model.password_matches(first, "correct horse battery")
    assert not model.password_matches(first, "correct horse batterY")
    assert not model.password_matches("not a hash", "correct horse battery")
    assert not model.password_needs_rehash(first)


def test_a_dummy_check_takes_the_time_of_a_real_one(monkeypatch):
    checked = []
    real = model.password_matches
    monkeypatch.setattr(model, "password_matches", lambda h, p: checked.append(h) or real(h, p))
    model.check_dummy_password("anything")
    [dummy] = checked
    assert dummy.startswith("$argon2id$")  # the same algorithm and cost as real hashes


# -- invitation tokens ---------------------------------------------------------------------------
def test_invitation_tokens_are_random_and_kept_only_as_a_hash():
    tokens = {model.new_invitation_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", t) for t in tokens)  # 32 random bytes, URL-safe
    token = tokens.pop()
    digest = model.hash_invitation_token(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest() == model.hash_invitation_token(token)
    assert re.fullmatch(r"[0-9a-f]{64}", digest) and token not in digest
    assert model.hash_invitation_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_invitations_expire_after_the_configured_days():
    assert model.invitation_expiry(EVE) == EVE + timedelta(days=7)
    leap = as_utc(shanghai(2028, 2, 25, 9, 0))
    assert model.invitation_expiry(leap, days=5) == as_utc(shanghai(2028, 3, 1, 9, 0))  # 29 February counts


def test_invitation_checks_name_the_token():
    fresh = Invitation(staff_id="s1", expires_at=EVE + timedelta(days=7))
    model.check_invitation(fresh, "active", EVE)
    model.check_invitation(fresh, "on_leave", EVE + timedelta(days=7) - timedelta(microseconds=1))
    cases = [
        (None, "active", EVE, Invalid, "invitation_unknown"),
        (Invitation("s1", EVE + timedelta(days=1), used_at=EVE), "active", EVE, model.Gone, "invitation_used"),
        (Invitation("s1", EVE + timedelta(days=1), revoked_at=EVE), "active", EVE, model.Gone,
         "invitation_withdrawn"),
        (fresh, "left", EVE, model.Gone, "invitation_withdrawn"),
        (fresh, "active", EVE + timedelta(days=7), model.Gone, "invitation_expired"),  # at the expiry instant
    ]
    for invitation, status, now, error, code in cases:
        with pytest.raises(error) as refused:
            model.check_invitation(invitation, status, now)
        assert (refused.value.field, refused.value.code) == ("token", code)
        assert refused.value.status in (410, 422) and _no_latin(refused.value.message_zh)


# -- who manages an account ----------------------------------------------------------------------
def test_account_management_is_for_the_branch_manager_and_the_network_admin():
    model.check_may_manage_account("network_admin", None, _staff(role="network_admin"))
    model.check_may_manage_account("branch_manager", "b1", _staff())
    model.check_may_manage_account("branch_manager", "b1", _staff(role="branch_manager"))
    for role, branch, staff in [("branch_manager", "b2", _staff()), ("supervisor", "b1", _staff()),
                                ("auditor", None, _staff()),
                                ("branch_manager", "b1", _staff(role="network_admin")),
                                ("branch_manager", "b1", _staff(role="auditor"))]:
        with pytest.raises(Forbidden):
            model.check_may_manage_account(role, branch, staff)


def test_invitations_are_for_staff_without_a_password_and_nobody_who_left():
    model.check_may_invite(_staff(), has_password=False)
    with pytest.raises(Conflict) as has_password:
        model.check_may_invite(_staff(), has_password=True)
    assert has_password.value.code == "account_has_password"
    with pytest.raises(Conflict):
        model.check_may_invite(_staff(status="left"), has_password=False)
    model.check_may_reset(_staff(status="on_leave"))
    with pytest.raises(Conflict):
        model.check_may_reset(_staff(status="left"))


# -- failed sign-ins: slowdown, then lock --------------------------------------------------------
@pytest.mark.parametrize("count, wait", [
    (0, None), (1, None), (2, None),
    (3, timedelta(seconds=5)), (4, timedelta(seconds=10)), (5, timedelta(seconds=20)),
    (6, timedelta(seconds=40)), (7, timedelta(seconds=80)), (8, timedelta(seconds=160)),
    (9, timedelta(minutes=5)),  # 320 s, capped at five minutes
    (10, timedelta(minutes=15)), (11, timedelta(minutes=15)), (50, timedelta(minutes=15)),
])
def test_the_wait_grows_from_the_third_failure_and_locks_from_the_tenth(count, wait):
    assert model.wait_after(count) == wait


def test_attempts_are_refused_until_the_wait_is_over():
    model.check_may_try(SignInFailures(), EVE)
    model.check_may_try(SignInFailures(2, EVE), EVE)  # two failures: no wait yet
    three = SignInFailures(3, EVE)
    with pytest.raises(model.SignInSlowedDown) as early:
        model.check_may_try(three, EVE + timedelta(seconds=1))
    assert (early.value.status, early.value.retry_after) == (429, 4)
    assert early.value.details == {"next_attempt_at": "2026-12-31T15:59:05.000Z", "retry_after_seconds": 4}
    assert "4" in early.value.message_zh and _no_latin(early.value.message_zh)
    with pytest.raises(model.SignInSlowedDown) as almost:
        model.check_may_try(three, EVE + timedelta(seconds=4.5))
    assert almost.value.retry_after == 1  # rounded up: never "try again in 0 seconds"
    model.check_may_try(three, EVE + timedelta(seconds=5))


def test_ten_failures_lock_the_account_for_fifteen_minutes_across_midnight():
    ten = SignInFailures(10, EVE)
    with pytest.raises(model.AccountLocked) as locked:
        model.check_may_try(ten, EVE)
    error = locked.value
    assert (error.status, error.code, error.retry_after) == (423, "account_locked", 900)
    assert error.details["locked_until"] == "2026-12-31T16:14:00.000Z"  # 00:14 on 1 January in Shanghai
    assert "15" in error.message_zh and _no_latin(error.message_zh)
    assert model.locked_until(ten, EVE + timedelta(minutes=14)) == EVE + timedelta(minutes=15)
    assert model.locked_until(ten, EVE + timedelta(minutes=15)) is None
    model.check_may_try(ten, EVE + timedelta(minutes=15))
    assert model.locked_until(SignInFailures(9, EVE), EVE) is None  # slowed down, not locked


def test_each_failure_is_counted_and_a_failure_after_the_lock_locks_again():
    failures, now = SignInFailures(), EVE
    for _ in range(10):
        model.check_may_try(failures, now)
        failures = model.after_failure(failures, now)
        now += model.wait_after(failures.count) or timedelta(0)
    assert failures.count == 10
    model.check_may_try(failures, now)  # the lock is over: one more try...
    failures = model.after_failure(failures, now)
    with pytest.raises(model.AccountLocked):  # ...and a wrong one locks for another 15 minutes
        model.check_may_try(failures, now + timedelta(minutes=14))


def test_the_schedule_follows_the_clock(time_machine):
    time_machine.move_to(shanghai(2028, 2, 29, 23, 59), tick=False)
    failures = model.after_failure(SignInFailures(2), utcnow())
    with pytest.raises(model.SignInSlowedDown):
        model.check_may_try(failures, utcnow())
    time_machine.shift(timedelta(seconds=5))
    model.check_may_try(failures, utcnow())


# -- renewing a session --------------------------------------------------------------------------
def test_a_session_is_renewed_only_while_the_account_is_good():
    issued = int(EVE.timestamp())
    model.check_may_refresh("active", True, SignInFailures(), None, issued, EVE)
    model.check_may_refresh("on_leave", True, SignInFailures(9, EVE), None, issued, EVE)
    model.check_may_refresh("active", True, SignInFailures(), EVE - timedelta(seconds=1), issued, EVE)
    cases = [
        (("left", True, SignInFailures(), None, issued, EVE), "account_not_active"),
        (("active", True, SignInFailures(), EVE + timedelta(milliseconds=1), issued, EVE), "session_revoked"),
        (("active", False, SignInFailures(), None, issued, EVE), "no_password"),
        (("active", True, SignInFailures(10, EVE), None, issued, EVE + timedelta(minutes=1)), "account_locked"),
    ]
    for arguments, code in cases:
        with pytest.raises(Unauthorized) as refused:
            model.check_may_refresh(*arguments)
        assert refused.value.code == code and _no_latin(refused.value.message_zh)


def test_sign_in_answers_do_not_say_which_part_was_wrong():
    first, second = model.sign_in_failed(), model.sign_in_failed()
    assert (first.status, first.code, first.message, first.message_zh) == (
        second.status, second.code, second.message, second.message_zh)
    assert first.field is None
    assert model.account_not_active().code == "account_not_active"


# -- configuration -------------------------------------------------------------------------------
def test_account_settings_come_from_the_environment(monkeypatch):
    monkeypatch.delenv("LSQ_DIRECTORY_INVITATION_DAYS", raising=False)
    monkeypatch.delenv("LSQ_DIRECTORY_SESSION_MINUTES", raising=False)
    assert AccountSettings.from_env() == AccountSettings(7, 30)
    monkeypatch.setenv("LSQ_DIRECTORY_INVITATION_DAYS", "3")
    monkeypatch.setenv("LSQ_DIRECTORY_SESSION_MINUTES", "45")
    assert AccountSettings.from_env() == AccountSettings(3, 45)
    for bad in ("0", "-1", "seven", "1.5"):
        monkeypatch.setenv("LSQ_DIRECTORY_SESSION_MINUTES", bad)
        with pytest.raises(ValueError, match="LSQ_DIRECTORY_SESSION_MINUTES"):
            AccountSettings.from_env()
