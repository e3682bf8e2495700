"""UtcDateTime's one-step SQLite binding stores exactly what the generic chain stores."""
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from shared.db import UtcDateTime
from shared.timeutil import UTC

DIALECT = sqlite.dialect()
ONE_STEP = UtcDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
SQLITE_DATETIME = sqlite.DATETIME().bind_processor(DIALECT)


def _generic(value):
    return SQLITE_DATETIME(UtcDateTime().process_bind_param(value, DIALECT))


def _outcome(process, value):
    try:
        return process(value)
    except Exception as error:  # noqa: BLE001 - the same refusal either way
        return type(error)


@settings(max_examples=2000, deadline=None)
@given(st.datetimes(timezones=st.sampled_from([UTC, timezone.utc, timezone(timedelta(hours=8)),
                                               timezone(timedelta(hours=-5, minutes=-30))]))
       | st.datetimes() | st.none())
def test_one_step_binding_matches_the_generic_chain(value):
    assert _outcome(ONE_STEP, value) == _outcome(_generic, value)


def test_stored_text_keeps_microseconds_even_when_zero():
    assert ONE_STEP(datetime(2026, 11, 29, 8, 30, tzinfo=UTC)) == "2026-11-29 08:30:00.000000"
    assert ONE_STEP(datetime(2026, 11, 29, 16, 30, 0, 5, tzinfo=timezone(timedelta(hours=8)))) == (
        "2026-11-29 08:30:00.000005")
