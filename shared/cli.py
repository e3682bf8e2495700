"""The ``lsq`` command: run the system locally, issue tokens, inspect events, import rosters.

    lsq up | down | status          start / stop / show Kafka and every service
    lsq token --role ROLE [--staff ID] [--branch ID]
    lsq asyncapi                    print the AsyncAPI document of the event contract
    lsq events tail TOPIC           print events as they arrive
    lsq import-staff FILE.csv       bulk-load a staff roster through the directory API
    lsq migrate SERVICE             apply a service's database migrations
    lsq demo                        seed a realistic network through the public APIs
"""
from __future__ import annotations

import argparse
import json
import sys

from shared.config import SERVICE_PORTS


def cmd_up(args) -> int:
    from shared.devstack.stack import Stack
    ok = Stack().up(args.services.split(",") if args.services else None)
    print("\nLSQ is up. A token for trying the APIs:  lsq token --role network_admin" if ok else
          "\nSome services are not ready: see var/logs/", file=sys.stderr if not ok else sys.stdout)
    return 0 if ok else 1


def cmd_down(_args) -> int:
    from shared.devstack.stack import Stack
    Stack().down()
    return 0


def cmd_status(_args) -> int:
    from shared.devstack.stack import Stack
    for name, state in Stack().status():
        print(f"{name:<22} {state}")
    return 0


def cmd_token(args) -> int:
    from shared.auth import BRANCH_SCOPED_ROLES, issue_token
    from shared.config import jwt_secret
    # the services refuse such a token (401): say so here rather than print one that cannot work
    if args.role in BRANCH_SCOPED_ROLES and not args.branch:
        print(f"lsq token: a {args.role} token needs --branch ID / 主管或馆长的令牌需要 --branch", file=sys.stderr)
        return 2
    if args.role == "staff" and not args.staff:
        print("lsq token: a staff token needs --staff ID / 馆员令牌需要 --staff", file=sys.stderr)
        return 2
    print(issue_token(jwt_secret(), args.role, staff_id=args.staff, branch_id=args.branch,
                      ttl_seconds=int(args.hours * 3600)))
    return 0


def cmd_asyncapi(_args) -> int:
    from shared.events import asyncapi
    sys.stdout.write(asyncapi.render())
    return 0


def cmd_migrate(args) -> int:
    from shared.config import Settings
    from shared.db import Database
    Database(Settings.from_env(args.service).database_url, args.service).migrate()
    return 0


def cmd_events_tail(args) -> int:
    """Print each event of TOPIC as one JSON line: CloudEvents attributes and data."""
    import uuid

    from kafka import KafkaConsumer
    consumer = KafkaConsumer(args.topic, bootstrap_servers=args.bootstrap.split(","),
                             group_id=f"lsq-tail-{uuid.uuid4().hex[:8]}", enable_auto_commit=False,
                             auto_offset_reset="earliest" if args.from_beginning else "latest")
    seen = 0
    try:
        while args.max is None or seen < args.max:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    if args.max is not None and seen >= args.max:
                        break
                    headers = {k: v.decode("utf-8", "replace") for k, v in record.headers or []}
                    try:
                        data = json.loads(record.value)
                    except ValueError:
                        data = record.value.decode("utf-8", "replace")
                    print(json.dumps({"topic": record.topic, "partition": record.partition,
                                      "offset": record.offset, "key": record.key.decode() if record.key else None,
                                      **{k: v for k, v in headers.items()}, "data": data},
                                     ensure_ascii=False), flush=True)
                    seen += 1
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return 0


def cmd_dlt_list(args) -> int:
    """Per dead-letter topic: count, first and last, how many wait for a replay, errors grouped."""
    from shared import deadletters
    topics = deadletters.dlt_topics(args.bootstrap, args.topic)
    summaries = deadletters.summarise(deadletters.read(args.bootstrap, topics),
                                      deadletters.replayed_offsets(args.bootstrap, topics))
    if args.json:
        print(json.dumps([s.as_dict() for s in summaries.values()], ensure_ascii=False, indent=2))
        return 0
    if not summaries:
        print("no dead letters" + (f" for {args.topic}" if args.topic else ""))
    for summary in summaries.values():
        print(f"{summary.topic}: {summary.count} dead letters, {summary.waiting} not replayed, "
              f"first {summary.first:%Y-%m-%d %H:%M:%S}Z, last {summary.last:%Y-%m-%d %H:%M:%S}Z")
        for group, count in summary.groups.most_common():
            print(f"  from consumer group {group}: {count}")
        for error, count in summary.errors.most_common():
            print(f"  {count:>6} × {error}")
    return 0


def cmd_dlt_show(args) -> int:
    """Each dead letter of TOPIC (or the events named by --id) as one JSON line."""
    from shared import deadletters
    letters = deadletters.read(args.bootstrap, deadletters.dlt_topics(args.bootstrap, args.topic))
    if args.id:
        letters = [letter for letter in letters if letter.event_id in set(args.id)]
    for letter in letters[-args.limit:] if args.limit else letters:
        try:
            data = json.loads(letter.value)
        except ValueError:
            data = letter.value.decode("utf-8", "replace")
        print(json.dumps({"dlt": f"{letter.dlt_topic}:{letter.partition}:{letter.offset}",
                          "dead_lettered_at": letter.timestamp.isoformat(), "id": letter.event_id,
                          "type": letter.event_type, "group": letter.group, "error": letter.error,
                          "from": f"{letter.original_topic}:{letter.header('lsq_dlt_partition')}:"
                                  f"{letter.header('lsq_dlt_offset')}",
                          "data": data}, ensure_ascii=False), flush=True)
    return 0


def cmd_dlt_replay(args) -> int:
    """Put dead letters back on their original topic once the cause is fixed."""
    from shared import deadletters
    if not deadletters.dlt_topics(args.bootstrap, args.topic):
        print(f"no dead-letter topic {deadletters.dlt_topic_of(args.topic)}", file=sys.stderr)
        return 1
    replayed = deadletters.replay(args.bootstrap, args.topic, args.id or None)
    if args.id and len({letter.event_id for letter in replayed}) < len(set(args.id)):
        missing = set(args.id) - {letter.event_id for letter in replayed}
        print(f"not found in {deadletters.dlt_topic_of(args.topic)}: {', '.join(sorted(missing))}", file=sys.stderr)
    print(f"replayed {len(replayed)} event{'' if len(replayed) == 1 else 's'} onto {replayed[0].original_topic if replayed else args.topic}")
    return 0 if replayed or not args.id else 1


def cmd_import_staff(args) -> int:
    from shared.devstack.roster import import_roster
    return import_roster(args.file, args.url, args.token)


def cmd_demo(args) -> int:
    try:
        from shared.devstack import demo
    except ImportError:
        print("the demo is not available in this build", file=sys.stderr)
        return 1
    return demo.main(args)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="lsq", description="Library Service Quality / 图书馆服务质量管理")
    sub = root.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start Kafka and every service in the background")
    up.add_argument("--services", help="comma-separated subset (default: all)")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop everything `up` started").set_defaults(func=cmd_down)
    sub.add_parser("status", help="what runs").set_defaults(func=cmd_status)

    token = sub.add_parser("token", help="print a bearer token for the local secret")
    token.add_argument("--role", required=True,
                       choices=["reader", "staff", "supervisor", "branch_manager", "network_admin", "auditor", "service"])
    token.add_argument("--staff", help="staff id (for staff and supervisors)")
    token.add_argument("--branch", help="branch id (for branch-scoped roles)")
    token.add_argument("--hours", type=float, default=12, help="validity (default 12)")
    token.set_defaults(func=cmd_token)

    sub.add_parser("asyncapi", help="print the AsyncAPI 3.0 document").set_defaults(func=cmd_asyncapi)

    migrate = sub.add_parser("migrate", help="apply a service's migrations")
    migrate.add_argument("service", choices=sorted(SERVICE_PORTS))
    migrate.set_defaults(func=cmd_migrate)

    events = sub.add_parser("events", help="look at events on Kafka")
    events_sub = events.add_subparsers(dest="events_command", required=True)
    tail = events_sub.add_parser("tail", help="print events of a topic as they arrive")
    tail.add_argument("topic")
    tail.add_argument("--from-beginning", action="store_true")
    tail.add_argument("--bootstrap", default=None)
    tail.add_argument("--max", type=int, default=None, help="stop after this many events")
    tail.set_defaults(func=cmd_events_tail)

    dlt = sub.add_parser("dlt", help="dead letters: events a consumer could not apply")
    dlt_sub = dlt.add_subparsers(dest="dlt_command", required=True)
    dlt_list = dlt_sub.add_parser("list", help="count, first and last, errors grouped, per dead-letter topic")
    dlt_list.add_argument("topic", nargs="?", help="a topic (lsq.staff) or its dead-letter topic (lsq.staff.dlt)")
    dlt_list.add_argument("--json", action="store_true")
    dlt_list.add_argument("--bootstrap", default=None)
    dlt_list.set_defaults(func=cmd_dlt_list)
    dlt_show = dlt_sub.add_parser("show", help="print the dead letters of a topic, one JSON line each")
    dlt_show.add_argument("topic")
    dlt_show.add_argument("--id", action="append", help="only this event id (repeatable)")
    dlt_show.add_argument("--limit", type=int, default=None, help="only the last N")
    dlt_show.add_argument("--bootstrap", default=None)
    dlt_show.set_defaults(func=cmd_dlt_show)
    dlt_replay = dlt_sub.add_parser("replay", help="put dead letters back on their original topic")
    dlt_replay.add_argument("topic")
    dlt_replay.add_argument("--id", action="append", help="only this event id (repeatable); default: all not replayed")
    dlt_replay.add_argument("--bootstrap", default=None)
    dlt_replay.set_defaults(func=cmd_dlt_replay)

    imp = sub.add_parser("import-staff", help="bulk-load a CSV roster through the directory API")
    imp.add_argument("file")
    imp.add_argument("--url", default=f"http://127.0.0.1:{SERVICE_PORTS['directory']}")
    imp.add_argument("--token", help="bearer token (default: a network_admin token for the local secret)")
    imp.set_defaults(func=cmd_import_staff)

    demo = sub.add_parser("demo", help="seed a realistic network through the public APIs")
    demo.add_argument("--seed", type=int, default=2024)
    demo.add_argument("--bootstrap", dest="kafka", default=None,
                      help="Kafka, watched to know when the workers caught up (default: as lsq up)")
    demo.add_argument("--summary-json", default=None, help="also write the summary figures to this file")
    demo.set_defaults(func=cmd_demo)
    from services.notify.cli import register as register_notify  # lsq notify test
    register_notify(sub)
    from services.reports.cli import register as register_reports  # lsq reports rebuild
    register_reports(sub)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "bootstrap", "unset") is None:
        import os
        args.bootstrap = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
