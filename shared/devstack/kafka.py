"""A real Apache Kafka broker (KRaft mode) from the Maven Central jars, as a plain java process.

``deploy/kafka/pom.xml`` names the jars; ``ensure_jars`` copies them into ``deploy/kafka/target/libs``
once. ``LocalKafka`` runs one combined broker+controller; ``LocalKafkaCluster`` three of them with
replication factor 3 and ``min.insync.replicas=2`` for failure tests.
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from shared.config import REPO_ROOT
from shared.devstack.ports import free_port

log = logging.getLogger(__name__)

KAFKA_DIR = REPO_ROOT / "deploy" / "kafka"
LIBS = Path(os.environ.get("LSQ_KAFKA_LIBS", KAFKA_DIR / "target" / "libs"))

LOG4J2 = """status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = {level}
logger.apache.name = org.apache.kafka
logger.apache.level = {level}
"""


def ensure_jars() -> Path:
    """Fetch the broker's jars with Maven if they are not there yet; returns their folder."""
    if LIBS.is_dir() and any(LIBS.glob("kafka_2.13-*.jar")):
        return LIBS
    # Copied into a side folder first, then renamed: an interrupted fetch leaves no half set.
    partial = LIBS.with_name(LIBS.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    log.info("fetching the Kafka broker's jars with Maven into %s", LIBS)
    subprocess.run(["mvn", "-q", "-B", "-f", str(KAFKA_DIR / "pom.xml"), "dependency:copy-dependencies",
                    "-DincludeScope=runtime", f"-DoutputDirectory={partial}"], check=True)
    shutil.rmtree(LIBS, ignore_errors=True)
    partial.rename(LIBS)
    return LIBS


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    return str(Path(home) / "bin" / "java") if home else (shutil.which("java") or "java")


class LocalKafka:
    """One KRaft node (broker + controller) on 127.0.0.1."""

    def __init__(self, workdir: Path, port: int | None = None, controller_port: int | None = None,
                 node_id: int = 1, heap: str = "512m", extra: dict | None = None,
                 voters: str | None = None, cluster_id: str | None = None):
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.controller_port = controller_port or free_port()
        self.node_id = node_id
        self.heap = heap
        self.extra = extra or {}
        self.voters = voters  # "1@127.0.0.1:p1,2@..." for a cluster; None for --standalone
        self.cluster_id = cluster_id
        self.process: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.workdir / "kafka.pid"

    def properties(self) -> dict:
        props = {
            "process.roles": "broker,controller",
            "node.id": self.node_id,
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.workdir / "data"),
            "num.partitions": 6,
            "auto.create.topics.enable": "true",
            "offsets.topic.replication.factor": 1,
            "offsets.topic.num.partitions": 6,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "group.initial.rebalance.delay.ms": 0,
            # The log is kept, not aged out: read models (reports) are rebuilt by replaying it, and
            # a test clock set far from the broker's (pytest --clock-start) stamps records long
            # ago or ahead, which Kafka 4 refuses by default beyond an hour ahead.
            "log.retention.ms": -1,
            "log.message.timestamp.after.max.ms": 9223372036854775807,
            "log.message.timestamp.before.max.ms": 9223372036854775807,
            "log.segment.bytes": 64 * 1024 * 1024,
        }
        if self.voters:
            props["controller.quorum.voters"] = self.voters
        else:
            props["controller.quorum.bootstrap.servers"] = f"127.0.0.1:{self.controller_port}"
        props.update(self.extra)
        return props

    def configure(self) -> None:
        """Write server.properties and log4j2 config, and format storage if not yet formatted."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "server.properties").write_text(
            "".join(f"{k}={v}\n" for k, v in self.properties().items()))
        (self.workdir / "log4j2.properties").write_text(
            LOG4J2.format(log=self.workdir / "server.log", level=os.environ.get("LSQ_KAFKA_LOG_LEVEL", "INFO")))
        if (self.workdir / "data" / "meta.properties").exists():
            return
        classpath = f"{ensure_jars()}/*"
        cluster_id = self.cluster_id or subprocess.run(
            [_java(), "-cp", classpath, "kafka.tools.StorageTool", "random-uuid"],
            check=True, capture_output=True, text=True).stdout.strip()
        # "--cluster-id=ID" keeps an id that starts with "-" from being read as an option.
        command = [_java(), "-cp", classpath, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                   "-c", str(self.workdir / "server.properties")]
        if not self.voters:
            command.append("--standalone")
        formatted = subprocess.run(command, capture_output=True, text=True)
        if formatted.returncode:
            raise RuntimeError(f"kafka storage format failed ({formatted.returncode}): "
                               f"{formatted.stdout.strip()} {formatted.stderr.strip()}")

    def start(self, timeout: float = 90, wait: bool = True) -> "LocalKafka":
        """Start the broker and (unless ``wait`` is false) wait until a client gets metadata from it."""
        self.configure()
        command = [_java(), f"-Xmx{self.heap}", f"-Xms{self.heap}", "-XX:+UseG1GC",
                   "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
                   f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
                   f"-Dkafka.logs.dir={self.workdir}",
                   "-cp", f"{ensure_jars()}/*", "kafka.Kafka", str(self.workdir / "server.properties")]
        out = open(self.workdir / "stdout.log", "ab")
        self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid_file.write_text(str(self.process.pid))
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 90) -> None:
        from kafka import KafkaAdminClient
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"Kafka exited with {self.process.returncode}; see {self.workdir}/server.log")
            try:
                admin = KafkaAdminClient(bootstrap_servers=[self.bootstrap], request_timeout_ms=3000)
                admin.list_topics()
                admin.close()
                return
            except Exception as exc:  # noqa: BLE001 - not up yet
                last = exc
                time.sleep(0.5)
        raise TimeoutError(f"Kafka on {self.bootstrap} not ready after {timeout}s: {last}")

    def stop(self, timeout: float = 30) -> None:
        """Stop the broker: SIGTERM (clean shutdown), then SIGKILL if it hangs."""
        pid = self.process.pid if self.process else _read_pid(self.pid_file)
        if pid:
            stop_pid(pid, timeout)
        self.process = None
        self.pid_file.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL the broker (failure tests)."""
        if self.process:
            self.process.kill()
            self.process.wait()
            self.process = None


class LocalKafkaCluster:
    """Three KRaft nodes on loopback: replication factor 3, min.insync.replicas 2."""

    def __init__(self, workdir: Path, size: int = 3, heap: str = "384m"):
        ports = [(free_port(), free_port()) for _ in range(size)]
        voters = ",".join(f"{i + 1}@127.0.0.1:{c}" for i, (_, c) in enumerate(ports))
        cluster_id = _random_cluster_id()
        extra = {"default.replication.factor": size, "min.insync.replicas": 2,
                 "offsets.topic.replication.factor": size, "transaction.state.log.replication.factor": size,
                 "transaction.state.log.min.isr": 2}
        self.nodes = [LocalKafka(Path(workdir) / f"node{i + 1}", port=p, controller_port=c, node_id=i + 1,
                                 heap=heap, extra=extra, voters=voters, cluster_id=cluster_id)
                      for i, (p, c) in enumerate(ports)]

    @property
    def bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes)

    def start(self, timeout: float = 120) -> "LocalKafkaCluster":
        for node in self.nodes:
            node.configure()
        for node in self.nodes:
            node.start(wait=False)  # a node is ready only once the quorum has formed
        for node in self.nodes:
            node.wait_ready(timeout)
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _random_cluster_id() -> str:
    """A cluster id as Kafka's own ``Uuid.randomUuid`` makes one: never starting with "-"."""
    import base64
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def stop_pid(pid: int, timeout: float = 30) -> None:
    """SIGTERM a process we started, wait, SIGKILL if it does not end."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
