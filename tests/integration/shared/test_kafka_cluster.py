"""A three-broker cluster (replication 3, min.insync.replicas 2): losing one broker loses nothing."""
import threading
import uuid

import pytest

from shared import bus, outbox
from shared.db import Database
from shared.devstack.kafka import LocalKafkaCluster
from shared.relay import OutboxRelay
from tests.helpers import header, read_topic

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    nodes = LocalKafkaCluster(tmp_path_factory.mktemp("cluster")).start()
    yield nodes
    nodes.stop()


def _joined(db, n):
    ids = []
    with db.transaction() as conn:
        for _ in range(n):
            staff_id = str(uuid.uuid4())
            ids.append(outbox.add(conn, "lsq.staff.joined.v1", {
                "staff_id": staff_id, "employee_number": staff_id[:8], "name": "赵敏", "role": "staff",
                "branch_id": "b1", "hire_date": "2025-02-01"}))
    return ids


def test_relay_keeps_publishing_when_one_of_three_brokers_dies(cluster, sqlite_url):
    bus.ensure_topics(cluster.bootstrap, ["lsq.staff"], partitions=3, replication=3)
    db = Database(sqlite_url, "directory")
    db.migrate()
    relay = OutboxRelay(db, cluster.bootstrap, poll_seconds=0.1)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    try:
        before = _joined(db, 50)
        assert len(read_topic(cluster.bootstrap, "lsq.staff", lambda r: header(r, "ce_id") in before,
                              count=50, timeout=60)) == 50
        cluster.nodes[0].kill()  # SIGKILL: no clean shutdown
        after = _joined(db, 50)
        survivors = ",".join(n.bootstrap for n in cluster.nodes[1:])
        got = read_topic(survivors, "lsq.staff", lambda r: header(r, "ce_id") in after, count=50, timeout=90)
        assert sorted(header(r, "ce_id") for r in got) == sorted(after)
    finally:
        relay.stop.set()
        thread.join(15)
    with db.read() as conn:
        assert outbox.backlog(conn) == 0


def test_storage_format_takes_a_cluster_id_that_starts_with_a_dash(tmp_path):
    """About one random id in 64 starts with "-": formatting must not read it as an option."""
    from shared.devstack.kafka import LocalKafka, _random_cluster_id

    node = LocalKafka(tmp_path / "node", cluster_id="-J7FBPQQQYKaQoq2f1VSHA")
    node.configure()
    assert "cluster.id=-J7FBPQQQYKaQoq2f1VSHA" in (tmp_path / "node" / "data" / "meta.properties").read_text()
    assert not any(_random_cluster_id().startswith("-") for _ in range(2000))
