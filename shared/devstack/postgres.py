"""A throwaway PostgreSQL cluster from the local binaries (Debian's ``postgresql`` package).

PostgreSQL refuses to run as root, so as root the cluster is created and run as the ``postgres``
user through ``runuser``. Authentication is ``trust`` on loopback: it is for tests and ``make up``.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from shared.devstack.ports import free_port


def binaries() -> Path | None:
    """The newest ``/usr/lib/postgresql/<v>/bin`` with initdb, or the one on PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parent.parent.name))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class LocalPostgres:
    """``initdb`` + ``pg_ctl start`` in a temporary folder, on a free port on 127.0.0.1."""

    def __init__(self, workdir: Path | None = None, port: int | None = None):
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="lsq-pg-"))
        self.port = port or free_port()
        self.bin = binaries()
        if self.bin is None:
            raise RuntimeError("PostgreSQL binaries not found: apt-get install postgresql")
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = list(args)
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--"] + command
        return subprocess.run(command, check=check, capture_output=True, text=True)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> "LocalPostgres":
        data = self.workdir / "data"
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            subprocess.run(["chown", "-R", "postgres:postgres", str(self.workdir)], check=True)
            os.chmod(self.workdir, 0o755)
        if not (data / "PG_VERSION").exists():
            self._run(str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                      "--encoding=UTF8", "--locale=C.UTF-8")
        options = (f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
                   f"-c shared_buffers=128MB")
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.workdir / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")
        return self

    def create_database(self, name: str) -> str:
        """Create a database and return its SQLAlchemy URL."""
        import psycopg
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.workdir / "data"), "-m", "fast", "-w", "stop",
                  check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def create_database_at(admin_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``admin_url`` (any SQLAlchemy PostgreSQL URL)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def wait_until_accepting(url: str, timeout: float = 30) -> None:
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            return
        except Exception:  # noqa: BLE001 - not up yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
