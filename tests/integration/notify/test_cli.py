"""``lsq notify test --to``: a test e-mail on the real SMTP server and a test message to each robot;
a dead channel is reported and counted."""
import pytest

from services.notify.cli import register, run_test
from tests.integration.notify.conftest import ADMIN, BRANCH

pytestmark = pytest.mark.integration


def test_notify_test_sends_through_each_channel(client, notify, mail, receiver):
    for platform in ("wecom", "feishu"):
        assert client.post("/chat-groups", headers=ADMIN, json={
            "branch_id": BRANCH, "name": f"{platform} 群", "platform": platform,
            "url": f"{receiver.url}/{platform}"}).status_code == 201
    lines = []
    assert run_test("ops@lib.example", notify.settings, notify.db, say=lines.append) == 0
    [message] = mail.messages()
    assert message["To"] == "ops@lib.example"
    assert sorted(r["path"] for r in receiver.requests) == ["/feishu", "/wecom"]
    assert any(line.startswith("email    ok") for line in lines)
    mail.stop()
    receiver.reply = (500, {"errcode": -1})
    lines = []
    assert run_test("ops@lib.example", notify.settings, notify.db, say=lines.append) == 3
    assert sum("FAILED" in line for line in lines) == 3


def test_the_command_is_registered():
    import argparse
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["notify", "test", "--to", "a@b.example"])
    assert args.to == "a@b.example" and args.func.__name__ == "cmd_test"
