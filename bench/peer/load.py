"""Load django-helpdesk with N tickets shaped like ours; run with the peer's own Python.

    bench/peer/.venv/bin/python bench/peer/load.py --tickets 100000 \
        --database-url sqlite:////abs/bench/out/peer-100000.sqlite3 --probes out.json

Migrates, creates a staff user (``bench``) and eleven more staff, one queue per unit of our demo
organisation, then bulk_creates the tickets over the same five years with the same mix of
statuses, names, phone numbers and dossier codes as bench/generate.py. django-helpdesk has no
phone or dossier field: the phone and the dossier code go into the description, the caller's
name and the category into the title, which is where its search looks. Writes the values the
benchmark searches for (a phone, a dossier code, a ticket id, a queue) to ``--probes``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO = HERE.parent.parent / "helpdesk" / "demo"
sys.path.insert(0, str(HERE))

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Lý"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Thu", "Quang", "Ngọc", "Hồng", "Thanh", "Hữu"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hoa", "Hùng", "Lan", "Linh", "Long"]
GIVEN += ["Mai", "Nam", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Yến"]
PHONE_PREFIXES = ["090", "091", "093", "096", "097", "098", "035", "036", "037", "077", "083"]
PASSWORD = "Bench-Peer-2023"  # noqa: S105 - a throwaway account on a loopback-only benchmark


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--probes", required=True, help="JSON file for the benchmark's probes")
    parser.add_argument("--seed", type=int, default=20230901)
    parser.add_argument("--batch", type=int, default=20_000)
    return parser.parse_args(argv)


def month_starts(count: int) -> list[date]:
    today = date.today().replace(day=1)
    months = []
    y, m = today.year, today.month
    for _ in range(count):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        months.append(date(y, m, 1))
    return months[::-1]


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
    with open(DEMO / "units.csv", encoding="utf-8") as fh:
        units = list(csv.DictReader(fh))
    with open(DEMO / "categories.csv", encoding="utf-8") as fh:
        categories = list(csv.DictReader(fh))
    queues = []
    for unit in units:
        queue, _ = Queue.objects.get_or_create(
            slug=unit["code"].lower()[:50],
            defaults={"title": f"{unit['kind']} {unit['name']}"[:100]},
        )
        queues.append((queue, unit["level"]))
    weights = {"department": 6.0, "district": 2.5, "commune": 1.0}
    queue_weights = [weights[level] for _, level in queues]

    # Timestamps as the app stores them: opening during office hours, oldest first.
    rng = random.Random(args.seed)
    months = month_starts(args.months)
    month_weights = [1 + 0.6 * i / max(len(months) - 1, 1) for i in range(len(months))]
    per_month = [int(args.tickets * w / sum(month_weights)) for w in month_weights]
    per_month[-1] += args.tickets - sum(per_month)
    created_field = Ticket._meta.get_field("created")
    modified_field = Ticket._meta.get_field("modified")
    # bulk_create honours auto_now(_add): keep the generated history instead of "now".
    created_field.auto_now_add = False
    modified_field.auto_now = False
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=OFF")
    probes: dict = {}
    written = 0
    tz = UTC
    for index, (first, count) in enumerate(zip(months, per_month, strict=True)):
        recent = len(months) - 1 - index
        days = [first + timedelta(d) for d in range(31)]
        days = [d for d in days if d.month == first.month]
        stamps = sorted(
            datetime.combine(rng.choice(days), datetime.min.time(), tzinfo=tz)
            + timedelta(minutes=int(450 + rng.random() * 570))
            for _ in range(count)
        )
        batch = []
        for opened in stamps:
            cat = categories[int(rng.random() * len(categories))]
            queue = rng.choices(queues, queue_weights)[0][0]
            r = rng.random()
            if recent == 0:
                status = 1 if r < 0.12 else 2 if r < 0.18 else 3 if r < 0.5 else 4
            elif recent <= 2:
                status = 1 if r < 0.01 else 2 if r < 0.03 else 3 if r < 0.3 else 4
            else:
                status = 2 if r < 0.003 else 3 if r < 0.2 else 4
            name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            phone = rng.choice(PHONE_PREFIXES) + f"{int(rng.random() * 1e7):07d}"
            dossier = ""
            if cat["code"] in ("dossier_status", "late_dossier", "dossier_not_received"):
                dossier = (
                    f"000.{int(rng.random() * 100):02d}.{int(rng.random() * 100):02d}.H26-"
                    f"{opened:%y%m%d}-{int(rng.random() * 10000):04d}"
                )
            resolved = None
            if status >= 3:
                resolved = opened + timedelta(minutes=int(min(rng.lognormvariate(3.6, 1.3), 86400)))
            batch.append(
                Ticket(
                    title=f"{name} – {cat['label']}"[:200],
                    queue=queue,
                    created=opened,
                    modified=resolved or opened,
                    submitter_email=None,
                    assigned_to=staff[int(rng.random() * len(staff))],
                    status=status,
                    description=f"Điện thoại: {phone}. "
                    + (f"Mã hồ sơ: {dossier}. " if dossier else "")
                    + cat["label"],
                    resolution="Đã hướng dẫn." if resolved else None,
                    priority=3,
                    due_date=opened + timedelta(days=3),
                )
            )
            if written + len(batch) == args.tickets // 2:
                probes["phone"] = phone
            if dossier and "dossier" not in probes and written + len(batch) > args.tickets // 3:
                probes["dossier"] = dossier
            if len(batch) >= args.batch:
                with transaction.atomic():
                    Ticket.objects.bulk_create(batch, batch_size=2000)
                written += len(batch)
                batch = []
        if batch:
            with transaction.atomic():
                Ticket.objects.bulk_create(batch, batch_size=2000)
            written += len(batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    middle = Ticket.objects.order_by("id").values_list("id", flat=True)[written // 2]
    month = months[-3]
    biggest = max(queues, key=lambda q: weights[q[1]])[0]
    probes.update(
        {
            "ticket_id": middle,
            "queue_id": biggest.id,
            "month_from": month.isoformat(),
            "month_to": (month.replace(day=28) + timedelta(days=4)).replace(day=1).isoformat(),
            "username": "bench",
            "password": PASSWORD,
            "tickets": written,
        }
    )
    Path(args.probes).write_text(json.dumps(probes, ensure_ascii=False, indent=1), "utf-8")
    print(f"peer ({connection.vendor}): {written} tickets in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
