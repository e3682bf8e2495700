"""Database access: one engine per service, transactions that ring the outbox relay, migrations.

SQLite (the embedded default) and PostgreSQL are both first-class: every service's tests run on
both. Services use SQLAlchemy Core tables and plain queries (``store.py``), no ORM sessions.
"""
from __future__ import annotations

import contextlib
import fcntl
import operator
import os
import socket
import threading
import time
from pathlib import Path
from typing import Callable

import orjson
from sqlalchemy import DateTime, create_engine, event, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.types import TypeDecorator

from shared.config import REPO_ROOT
from shared.timeutil import UTC


class UtcDateTime(TypeDecorator):
    """A timestamp column that always hands back aware UTC datetimes (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        # Runs for every time bound on every write (nine per complaint filed): kept lean.
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        if dialect.name == "sqlite":
            return (value if value.tzinfo is UTC else value.astimezone(UTC)).replace(tzinfo=None)
        return value

    def bind_processor(self, dialect):
        """SQLite: straight to SQLAlchemy's stored text (``2026-11-29 08:30:00.000000``, UTC) in one
        step; the generic chain (this class, then the dialect's formatter) costs several times more
        on writes that bind thousands of times a batch. Other dialects take the generic chain."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value):
            if value is None:
                return None
            if value.tzinfo is not UTC:
                if value.tzinfo is None:
                    raise ValueError("naive datetime given for a UTC column")
                value = value.astimezone(UTC)
            return value.isoformat(" ", "microseconds")[:26]  # without the "+00:00"
        return process

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def create_db_engine(url: str, pool_size: int = 5) -> Engine:
    """An engine with the settings LSQ relies on (SQLite: WAL, busy timeout, foreign keys)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # Python's sqlite3 opens transactions lazily; BEGIN IMMEDIATE avoids writer deadlocks
            # between the web and worker processes sharing the file.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            # The automatic checkpoint is the backstop of WalCheckpointer (which web apps and
            # workers run): at 10,000 WAL pages (about 40 MB) rather than 1,000, so that when it
            # does fall to a commit, it does so ten times less often.
            cursor.execute("PRAGMA wal_autocheckpoint=10000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Writers take the write lock up front; readers (Database.read) must not, or every
            # query would queue behind the writers.
            # Straight to the driver: this runs for every transaction, and a statement through
            # SQLAlchemy's execution machinery costs several times the BEGIN itself.
            conn.connection.dbapi_connection.execute("BEGIN" if conn.info.get("lsq_read_only") else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=10)


class SqliteWriterQueue:
    """Lets SQLite writers (threads and processes) take turns on a lock file.

    SQLite admits one writer at a time; a writer that finds the database locked sleeps in steps of
    up to 100 ms before trying again, so concurrent writers lose most of their time asleep. Queuing
    on a file lock instead wakes the next writer as soon as the previous one commits. Re-entrant
    within a thread; the lock file is opened anew after a fork. PostgreSQL needs none of this.
    """

    def __init__(self, database_path: str):
        self.path = database_path + ".writers.lock"
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._handle = None
        self._pid = None

    @contextlib.contextmanager
    def turn(self):
        with self._thread_lock:
            if self._depth == 0:
                if self._pid != os.getpid():
                    self._handle, self._pid = open(self.path, "a"), os.getpid()
                fcntl.flock(self._handle, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._handle, fcntl.LOCK_UN)


class WalCheckpointer:
    """Copies SQLite's write-ahead log into the database file from a background thread.

    Left to SQLite, the commit that crosses ``wal_autocheckpoint`` pages does the copy and its two
    fsyncs while it holds the write lock, and every writer behind it waits: requests stall now and
    then. A PASSIVE checkpoint every ``interval`` seconds from this thread keeps the log well below
    that mark without blocking writers or readers (``sqlite3`` releases the GIL meanwhile); the
    automatic checkpoint stays as the backstop. Started by the web app and the worker of a service.
    """

    def __init__(self, database_path: str, interval: float = 0.25):
        self.path = database_path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = None

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="sqlite-wal-checkpoint", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        import sqlite3
        connection = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=False)
        try:
            while not self._stop.wait(self.interval):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    pass  # busy or not there yet: the next round (or the backstop) copies it
        finally:
            connection.close()


class GroupCommit:
    """Writes of several threads of one process committed in one SQLite transaction.

    Under concurrent requests SQLite's single write lock is what they queue for, and each holder
    spends most of its turn on the transaction around its few inserts (the lock file, BEGIN, the
    commit's write-ahead-log frames) and on getting the interpreter back after each of those
    calls. Here a thread that wants to write queues its work; the first in the queue takes the
    lock once for everything queued by then (a leader, as LevelDB's write groups have), and the
    others wait for its commit. If that transaction fails, each piece of work is run again in a
    transaction of its own, so one bad write fails alone: the work must therefore only write to
    the database (it may be run twice, the first time rolled back).
    """

    class _Slot:
        __slots__ = ("write", "done", "result", "error")

        def __init__(self, write):
            self.write = write
            self.done = False
            self.result = None
            self.error = None

    def __init__(self, database: "Database"):
        self.database = database
        self._queue: list = []
        self._turns = threading.Condition(threading.Lock())

    def run(self, write: Callable[[Connection], object]):
        """``write(conn)`` committed, alone or with what other threads queued; returns its result."""
        slot = self._Slot(write)
        with self._turns:
            self._queue.append(slot)
            while not slot.done and self._queue[0] is not slot:
                self._turns.wait()
            group = None if slot.done else list(self._queue)  # first in line: lead all queued
        if group is not None:
            try:
                self._commit(group)
            finally:
                with self._turns:
                    del self._queue[:len(group)]
                    for member in group:
                        member.done = True
                    self._turns.notify_all()
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _commit(self, group: list) -> None:
        for member in group:  # until known otherwise: an interrupted leader must not look like success
            member.error = RuntimeError("the shared commit this write waited for was interrupted")
        try:
            with self.database.transaction() as conn:
                for member in group:
                    member.result = member.write(conn)
            for member in group:
                member.error = None
            return
        except Exception as exc:  # noqa: BLE001 - retried alone below, or handed to its thread
            if len(group) == 1:
                group[0].error = exc
                return
        for member in group:  # the group failed: find out whose write it was
            member.result = None
            try:
                with self.database.transaction() as conn:
                    member.result = member.write(conn)
                member.error = None
            except Exception as exc:  # noqa: BLE001 - raised in the thread that asked
                member.error = exc


#: A process rings the relay's doorbell at most once in this many seconds; the relay looks again
#: this long after each ring, so commits in between are still published at once.
DOORBELL_GAP = 0.005


class Database:
    """A service's database: its engine, transactions, and the relay doorbell."""

    def __init__(self, url: str, service: str, doorbell_port: int | None = None):
        self.url = url
        self.service = service
        self.engine = create_db_engine(url)
        self.doorbell_port = doorbell_port
        self._doorbell = None
        self._rang_at = float("-inf")
        database = self.engine.url.database
        self._writers = (SqliteWriterQueue(database) if self.is_sqlite and database and database != ":memory:"
                         else None)
        self._checkpointer = WalCheckpointer(database) if self._writers else None
        self._group_commit = GroupCommit(self) if self._writers else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def transaction(self):
        """One unit of work. After a commit that wrote outbox rows, the relay is woken at once."""
        with self._writers.turn() if self._writers else contextlib.nullcontext():
            with self.engine.begin() as conn:
                try:
                    yield conn
                finally:  # a rolled-back transaction's count must not ring for the next one
                    wrote_events = conn.info.pop("outbox_added", 0)
        if wrote_events:
            self.ring_doorbell()

    def write_together(self, write: Callable[[Connection], object]):
        """Run ``write(conn)`` in a transaction and return its result; on SQLite the commit may be
        shared with other threads of this process writing at the same moment (``GroupCommit``).

        For short, hot writes whose checks were made beforehand (a complaint filed, a rating):
        ``write`` must only insert or update, as it may be run a second time after a rollback.
        PostgreSQL has no single write lock to share: there it is a transaction of its own.
        """
        if self._group_commit is None:
            with self.transaction() as conn:
                return write(conn)
        return self._group_commit.run(write)

    @contextlib.contextmanager
    def read(self):
        """A connection for queries only (on SQLite it does not take the write lock)."""
        with self.engine.connect() as conn:
            conn.info["lsq_read_only"] = True  # info belongs to the pooled DBAPI connection:
            try:                               # cleared again before it goes back to the pool
                yield conn
            finally:
                conn.info.pop("lsq_read_only", None)

    def ring_doorbell(self) -> None:
        """Tell the relay (another process) that new outbox rows are committed: one UDP datagram.

        Best effort: if nobody listens, the relay's polling still delivers within its interval.
        Rings closer together than ``DOORBELL_GAP`` are skipped: under load a datagram per commit
        costs the web worker more than the commit's inserts, and the relay's look ``DOORBELL_GAP``
        after the previous ring finds these commits anyway.
        """
        if not self.doorbell_port:
            return
        now = time.monotonic()
        if now - self._rang_at < DOORBELL_GAP:
            return
        self._rang_at = now
        try:
            if self._doorbell is None:
                self._doorbell = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self._doorbell.setblocking(False)
            self._doorbell.sendto(b"!", ("127.0.0.1", self.doorbell_port))
        except OSError:
            pass

    def checkpoint_in_background(self) -> None:
        """SQLite: copy the write-ahead log from a background thread of this process (see
        ``WalCheckpointer``); call it in each process that serves writes. PostgreSQL: nothing."""
        if self._checkpointer is not None:
            self._checkpointer.start()

    def ping(self) -> None:
        """Raise if the database cannot answer."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def migrate(self) -> None:
        """Apply the service's Alembic migrations (``services/<name>/migrations/versions``)."""
        upgrade(self.engine, self.service)

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()


def alembic_config(service: str):
    """Alembic configuration: the shared env in ``shared/migrations``, versions per service."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    versions = REPO_ROOT / "services" / service / "migrations" / "versions"
    config.set_main_option("version_locations", str(versions))
    config.set_main_option("version_table", f"alembic_version_{service}")
    config.attributes["service"] = service
    return config


def upgrade(engine: Engine, service: str, revision: str = "head") -> None:
    """Migrate ``engine``'s database to ``revision``. Safe to call from several processes."""
    from alembic import command

    config = alembic_config(service)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Two processes of one service starting together must not both migrate.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"migrate:{service}"})
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


#: Compiled driver-level INSERTs by (dialect, table, column keys); see ``insert_rows``.
_DRIVER_INSERTS: dict[tuple, tuple[str, str | None, Callable, tuple, tuple]] = {}


def insert_rows(conn: Connection, table, rows: list[dict]) -> None:
    """INSERT ``rows`` (dicts with the same keys) into ``table`` straight through the DBAPI driver.

    For the hottest writes only (a complaint filed, the incentive ledger): there SQLAlchemy's
    per-statement execution machinery costs more than the database's own work. The statement is
    built once per table and key set, values go through each column type's own bind processing
    (so ``UtcDateTime`` and friends behave exactly as with ``conn.execute``), and the rows run in
    ``conn``'s transaction with the driver's ``executemany``; on PostgreSQL, from ``COPY_FROM``
    rows on, as one ``COPY``: the server then takes them in one command instead of executing the
    INSERT once per row. Columns left out get their scalar Python default; a column with a
    callable default must be given.
    """
    if not rows:
        return
    dialect = conn.dialect
    keys = tuple(rows[0])
    plan = _DRIVER_INSERTS.get((dialect.name, table, keys))
    if plan is None:
        plan = _DRIVER_INSERTS[(dialect.name, table, keys)] = _driver_insert(dialect, table, keys)
    sql, copy_sql, getter, processors, constants = plan
    width = len(keys)
    if any(len(row) != width for row in rows):  # a missing key raises KeyError below
        raise ValueError(f"insert_rows into {table.name}: every row must have the keys {keys}")
    if not processors:
        values = [getter(row) + constants for row in rows]
    else:
        values = []
        for row in rows:
            value = [*getter(row), *constants]
            for index, process in processors:
                value[index] = process(value[index])
            values.append(value)
    cursor = conn.connection.driver_connection.cursor()
    try:
        if len(values) == 1:
            cursor.execute(sql, values[0])
        elif copy_sql is not None and len(values) >= COPY_FROM:
            with cursor.copy(copy_sql) as copy:
                for value in values:
                    copy.write_row(value)
        else:
            cursor.executemany(sql, values)
    finally:
        cursor.close()


#: From how many rows ``insert_rows`` uses COPY on PostgreSQL (below, a pipelined executemany).
COPY_FROM = 8


def driver_placeholder(dialect) -> str:
    """The positional parameter marker of the dialect's driver (``?`` for sqlite3, ``%s`` for
    psycopg), for SQL handed straight to the driver."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _driver_insert(dialect, table, keys: tuple) -> tuple[str, str | None, Callable, tuple, tuple]:
    """The INSERT's SQL text, the COPY's (PostgreSQL), the getter of a row's values (a tuple, in
    ``keys`` order), the bind processors by position (only the columns that have one) and the
    trailing default values."""
    columns = [table.c[key] for key in keys]
    defaults = []
    for column in table.columns:
        if column.key in keys or column.default is None:
            continue
        if not column.default.is_scalar:
            raise ValueError(f"insert_rows: {table.name}.{column.key} has a computed default; give it")
        defaults.append((column, column.default.arg))
    columns += [column for column, _ in defaults]
    placeholder = driver_placeholder(dialect)
    quote = dialect.identifier_preparer
    names = ", ".join(quote.format_column(column) for column in columns)
    sql = "INSERT INTO {} ({}) VALUES ({})".format(quote.format_table(table), names,
                                                   ", ".join([placeholder] * len(columns)))
    copy_sql = f"COPY {quote.format_table(table)} ({names}) FROM STDIN" if dialect.name == "postgresql" else None
    processors = tuple(column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns)
    constants = tuple(value if process is None else process(value)
                      for (_, value), process in zip(defaults, processors[len(keys):]))
    getter = operator.itemgetter(*keys)
    if len(keys) == 1:  # itemgetter of one key gives the value itself
        single = getter
        getter = lambda row: (single(row),)  # noqa: E731
    by_position = tuple((index, process) for index, process in enumerate(processors[:len(keys)]) if process)
    return sql, copy_sql, getter, by_position, constants


def rows_with_keys(conn: Connection, table, key: str, values, **equal) -> list:
    """The rows of ``table`` whose ``key`` column holds one of ``values`` (and whose columns named
    in ``equal`` hold those values), as mappings with the columns' own result types.

    For the state a batch loads by hundreds of keys at once: one statement, compiled once, with the
    keys as one array parameter, and one index probe per key. SQLite reads the array with
    ``json_each``; PostgreSQL with ``unnest`` and a LATERAL subquery, because given an IN list or
    ``= ANY`` of a few hundred values its planner prefers scanning the whole table and testing
    every row against the list (milliseconds a query, growing with the table).
    """
    values = list(values)
    if not values:
        return []
    statement = _KEYED_SELECTS.get((conn.dialect.name, table, key, tuple(equal)))
    if statement is None:
        statement = _KEYED_SELECTS[(conn.dialect.name, table, key, tuple(equal))] = \
            _keyed_select(conn.dialect, table, key, tuple(equal))
    keys = values if conn.dialect.name == "postgresql" else orjson.dumps(values).decode()
    return conn.execute(statement, {"lsq_keys": keys, **equal}).mappings().all()


_KEYED_SELECTS: dict[tuple, object] = {}


def _keyed_select(dialect, table, key: str, equal: tuple):
    quote = dialect.identifier_preparer
    name = quote.format_table(table)
    columns = ", ".join(f"t.{quote.format_column(column)}" for column in table.columns)
    also = "".join(f" AND {quote.format_column(table.c[col])} = :{col}" for col in equal)
    key_sql = quote.format_column(table.c[key])
    if dialect.name == "postgresql":
        array_type = table.c[key].type.compile(dialect=dialect)
        sql = (f"SELECT {columns} FROM unnest(CAST(:lsq_keys AS {array_type}[])) AS k(v) CROSS JOIN LATERAL "
               f"(SELECT * FROM {name} WHERE {key_sql} = k.v{also} OFFSET 0) AS t")
    else:
        sql = f"SELECT {columns} FROM {name} AS t WHERE {key_sql} IN (SELECT value FROM json_each(:lsq_keys)){also}"
    return text(sql).columns(*table.columns)


def page_of(conn: Connection, query, order: list, page: int, page_size: int) -> tuple[list[dict], int]:
    """One page of a filtered select (``page`` from 1) and the total number of rows it matches."""
    total = conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    rows = conn.execute(query.order_by(*order).limit(page_size).offset((page - 1) * page_size)).mappings().all()
    return [dict(r) for r in rows], total
