"""The peer: django-helpdesk 2.x from PyPI, served by gunicorn (2 workers) and measured the same
way as our app, in the same run (see bench/bench_app.py, which imports this module).

``ensure_venv()`` builds ``bench/peer/.venv`` from requirements.txt (PyPI only);
``ensure_data()`` loads N tickets once per size into ``bench/out/peer-N.sqlite3`` (or a
PostgreSQL scratch database); ``measure_peer()`` serves it and times its equivalent operations.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
sys.path.insert(0, str(BENCH))

from httpbench import Client, Result, Server, free_port, hidden_value, measure  # noqa: E402

VENV = HERE / ".venv"
PYTHON = VENV / "bin" / "python"
REQUIREMENTS = HERE / "requirements.txt"


def ensure_venv(log=print) -> Path:
    """Create the peer's own virtualenv and install django-helpdesk into it (once)."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = VENV / ".requirements-sha256"
    if PYTHON.exists() and stamp.exists() and stamp.read_text() == digest:
        return PYTHON
    log(f"peer: creating {VENV} and installing {REQUIREMENTS.name} from PyPI")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)], check=True
    )
    stamp.write_text(digest)
    return PYTHON


def peer_version() -> str:
    out = subprocess.run(
        [str(PYTHON), "-c", "import importlib.metadata as m; print(m.version('django-helpdesk'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def ensure_data(
    tickets: int, database_url: str, probes_path: Path, fresh: bool, source: str, log=print
) -> dict:
    """Load the peer's database once per size with our generated tickets (``source``); return
    its queue ids by unit code and its staff account."""
    if probes_path.exists() and not fresh:
        probes = json.loads(probes_path.read_text("utf-8"))
        if probes.get("tickets") == tickets and probes.get("database_url") == database_url:
            return probes
    _drop(database_url)
    log(f"peer: loading our {tickets:,} tickets into {database_url}")
    subprocess.run(
        [
            str(PYTHON),
            str(HERE / "load.py"),
            "--tickets",
            str(tickets),
            "--source",
            source,
            "--database-url",
            database_url,
            "--probes",
            str(probes_path),
        ],
        check=True,
        cwd=HERE,
    )
    probes = json.loads(probes_path.read_text("utf-8"))
    probes["database_url"] = database_url
    probes_path.write_text(json.dumps(probes, ensure_ascii=False, indent=1), "utf-8")
    return probes


def forget_created(database_url: str, tickets: int) -> None:
    """Delete the tickets a run created (ids above N) and what hangs on them."""
    code = (
        "import django; django.setup(); from helpdesk.models import Ticket; "
        f"print(Ticket.objects.filter(id__gt={int(tickets)}).delete()[0])"
    )
    env = {"PEER_DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "peerdesk.settings"}
    subprocess.run([str(PYTHON), "-c", code], check=True, cwd=HERE, env={**os.environ, **env})


def _drop(database_url: str) -> None:
    if database_url.startswith("sqlite:///"):
        path = Path(database_url[len("sqlite:///") :])
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _b64(query: dict) -> str:
    full = {"filtering": {}, "sorting": "created", "sortreverse": False, "search_string": ""}
    full.update(query)
    return base64.b64encode(json.dumps(full).encode()).decode("ascii")


def sign_in(client: Client, username: str, password: str) -> None:
    page = client.get("/helpdesk/login/")
    token = hidden_value(page.text, "csrfmiddlewaretoken")
    done = client.post(
        "/helpdesk/login/",
        {"csrfmiddlewaretoken": token, "username": username, "password": password},
        headers={"Referer": f"http://127.0.0.1:{client.port}/helpdesk/login/"},
    )
    if done.status != 302 or "sessionid" not in client.cookies:
        raise RuntimeError(f"peer sign-in failed: HTTP {done.status}")


def measure_peer(
    probes: dict,
    database_url: str,
    runs: int,
    budget: float,
    out_dir: Path,
    log=print,
    floor=None,
    tickets: int = 0,
) -> tuple[dict[str, Result], dict]:
    """Serve django-helpdesk with gunicorn (2 workers) and time its equivalent operations.

    ``probes``: ours (the same phone, dossier, words, ticket id, unit and month), with the
    peer's queue id of our unit and its staff account. ``floor``: requested after each
    measured request (interleaved), as for our app."""
    forget_created(database_url, tickets)
    port = free_port()
    argv = [
        str(VENV / "bin" / "gunicorn"),
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "900",
        "--access-logfile",
        "-",
        "peerdesk.wsgi:application",
    ]
    env = {"PEER_DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "peerdesk.settings"}
    results: dict[str, Result] = {}
    with Server(
        argv, port, env=env, cwd=HERE, log=out_dir / "peer-gunicorn.log", ready_path="/trivial/"
    ) as server:
        client = Client(port)
        sign_in(client, probes["username"], probes["password"])

        def get(path: str):
            return lambda _i: client.get(path)

        def listing(query: dict):
            return get(f"/helpdesk/datatables_ticket_list/{_b64(query)}?draw=1&start=0&length=25")

        month = {"created__gte": probes["month_from"], "created__lte": probes["month_to"]}
        ops = {
            "floor": (get("/trivial/"), (200,)),
            "list_default": (listing({"filtering": {"status__in": [1, 2]}}), (200,)),
            "list_status_month": (
                listing({"filtering": {"status__in": [3], **month}, "sortreverse": True}),
                (200,),
            ),
            "list_unit": (
                listing({"filtering": {"queue__id__in": [probes["queue_id"]]}, "sortreverse": 1}),
                (200,),
            ),
            "search_phone": (listing({"search_string": probes["phone"]}), (200,)),
            "search_dossier": (listing({"search_string": probes["dossier"]}), (200,)),
            "search_words": (listing({"search_string": probes["words"]}), (200,)),
            "search_summary": (listing({"search_string": probes["summary_words"]}), (200,)),
            "detail": (get(f"/helpdesk/tickets/{probes['ticket_id']}/"), (200,)),
        }
        form_page = client.get("/helpdesk/tickets/submit/")
        token = hidden_value(form_page.text, "csrfmiddlewaretoken")

        def create(i: int):
            return client.post(
                "/helpdesk/tickets/submit/",
                {
                    "csrfmiddlewaretoken": token,
                    "queue": str(probes["queue_id"]),
                    "title": f"Nguyễn Văn Bench {i} – Tra cứu trạng thái hồ sơ",
                    "body": "Điện thoại: 0901234567. Hỏi trạng thái hồ sơ.",
                    "priority": "3",
                    "due_date": "",
                    "submitter_email": "",
                    "assigned_to": "",
                },
                headers={"Referer": f"http://127.0.0.1:{port}/helpdesk/tickets/submit/"},
            )

        ops["create"] = (create, (302,))
        ops["dashboard"] = (get("/helpdesk/dashboard/"), (200,))
        ops["report"] = (get("/helpdesk/reports/queuemonth/"), (200,))
        ops["report_index"] = (get("/helpdesk/reports/"), (200,))
        ops["report_days"] = (get("/helpdesk/reports/daysuntilticketclosedbymonth/"), (200,))
        for key, (call, expect) in ops.items():
            slow = key.startswith(("list", "search", "report", "dashboard"))
            results[key] = measure(
                key,
                call,
                runs=runs,
                warmup=1 if slow else 2,
                budget=budget,
                expect=expect,
                floor=floor if key != "floor" else None,
            )
            r = results[key]
            log(f"  peer {key}: median {r.median_ms:,.1f} ms, n={r.runs}")
        memory = server.worker_peak_rss_mb()
    forget_created(database_url, tickets)
    return results, {"memory_mb": memory, "version": peer_version()}
