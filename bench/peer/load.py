"""Load django-helpdesk with the very tickets of our generated database; run with the peer's
own Python.

    bench/peer/.venv/bin/python bench/peer/load.py --tickets 100000 \
        --source sqlite:////abs/bench/out/helpdesk-100000.sqlite3 \
        --database-url sqlite:////abs/bench/out/peer-100000.sqlite3 --probes out.json

Migrates, creates a staff user (``bench``) and eleven more staff, one queue per unit of ours
(slug: the unit's code; tickets without a unit go to the queue ``khong-ro``), then copies our
tickets in id order (ids 1..N on both sides): opening time, queue, status, caller's name, phone,
dossier code, category and resolution time. django-helpdesk has no phone or dossier field: the
phone and the dossier code go into the description, the caller's name and the category into the
title, which is where its search looks. Statuses: ours open, in progress, waiting and forwarded
are its Open; resolved is Resolved; closed is Closed. Writes the queue id of each unit code,
the staff account and the count to ``--probes``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

PASSWORD = "Bench-Peer-2023"  # noqa: S105 - a throwaway account on a loopback-only benchmark
NO_UNIT = "khong-ro"
STATUS = {"open": 1, "in_progress": 1, "waiting": 1, "forwarded": 1, "resolved": 3, "closed": 4}
TICKETS_SQL = (
    "SELECT t.id, t.opened_at, u.code, c.label, t.status, t.requester_name, t.requester_phone, "
    "t.dossier_code, t.resolved_at FROM tickets t JOIN categories c ON c.id = t.category_id "
    "LEFT JOIN units u ON u.id = t.unit_id WHERE t.id <= {n} ORDER BY t.id"
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="our generated database (URL)")
    parser.add_argument("--tickets", type=int, required=True, help="our generated N")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--probes", required=True, help="JSON file for the benchmark's probes")
    parser.add_argument("--batch", type=int, default=20_000)
    return parser.parse_args(argv)


def _stamp(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value is not None else None


def source_rows(url: str, tickets: int):
    """Our units and our tickets, in id order (streamed)."""
    if url.startswith("sqlite:///"):
        import sqlite3

        conn = sqlite3.connect(url[len("sqlite:///") :])
        units = conn.execute("SELECT DISTINCT code, kind, name FROM units ORDER BY code").fetchall()
        return units, conn.execute(TICKETS_SQL.format(n=int(tickets)))
    import psycopg

    conn = psycopg.connect(url)
    units = conn.execute("SELECT DISTINCT code, kind, name FROM units ORDER BY code").fetchall()
    cursor = conn.cursor(name="peer_source")  # server-side: streamed, not fetched at once
    cursor.execute(TICKETS_SQL.format(n=int(tickets)))
    return units, cursor


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ["PEER_DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerdesk.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction

    from helpdesk.models import Queue, Ticket

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    if Ticket.objects.exists():
        print("the peer database already holds tickets", file=sys.stderr)
        return 1
    user_model = get_user_model()
    staff = []
    for i in range(12):
        username = "bench" if i == 0 else f"bench.op{i:02d}"
        user, _ = user_model.objects.get_or_create(
            username=username,
            defaults={"is_staff": True, "is_superuser": i == 0, "email": f"{username}@x.invalid"},
        )
        user.set_password(PASSWORD)
        user.save()
        staff.append(user)
    units, rows = source_rows(args.source, args.tickets)
    queues = {}
    for code, kind, name in [*units, (NO_UNIT, "", "Không rõ đơn vị")]:
        if code.lower() in queues:
            continue
        queue, _ = Queue.objects.get_or_create(
            slug=code.lower()[:50], defaults={"title": f"{kind} {name}".strip()[:100]}
        )
        queues[code.lower()] = queue
    created_field = Ticket._meta.get_field("created")
    modified_field = Ticket._meta.get_field("modified")
    # bulk_create honours auto_now(_add): keep the generated history instead of "now".
    created_field.auto_now_add = False
    modified_field.auto_now = False
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=OFF")
    written = 0
    batch = []
    for ticket_id, opened, code, label, status, name, phone, dossier, resolved in rows:
        opened, resolved = _stamp(opened), _stamp(resolved)
        batch.append(
            Ticket(
                id=ticket_id,
                title=f"{name} – {label}"[:200],
                queue=queues[(code or NO_UNIT).lower()],
                created=opened,
                modified=resolved or opened,
                submitter_email=None,
                assigned_to=staff[ticket_id % len(staff)],
                status=STATUS[status],
                description=f"Điện thoại: {phone}. "
                + (f"Mã hồ sơ: {dossier}. " if dossier else "")
                + label,
                resolution="Đã hướng dẫn." if resolved else None,
                priority=3,
                due_date=None,
            )
        )
        if len(batch) >= args.batch:
            with transaction.atomic():
                Ticket.objects.bulk_create(batch, batch_size=2000)
            written += len(batch)
            batch = []
    if batch:
        with transaction.atomic():
            Ticket.objects.bulk_create(batch, batch_size=2000)
        written += len(batch)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # ids were given: move the sequence past them
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('helpdesk_ticket', 'id'), "
                "(SELECT max(id) FROM helpdesk_ticket))"
            )
        cursor.execute("ANALYZE")
    probes = {
        "queues": {code: q.id for code, q in queues.items()},
        "username": "bench",
        "password": PASSWORD,
        "tickets": written,
    }
    Path(args.probes).write_text(json.dumps(probes, ensure_ascii=False, indent=1), "utf-8")
    print(f"peer ({connection.vendor}): {written} tickets in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
