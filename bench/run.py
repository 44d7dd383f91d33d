"""Benchmark runner (`make bench`): a fresh PostgreSQL database, each scenario timed, a table
printed and the figures written to bench/results/latest.json. Not part of `make test`.

Scenarios register themselves with @scenario; later features add theirs to bench/scenarios.py.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
# Pages are timed through Django's test client, which speaks plain HTTP to files not collected.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("STATIC_MANIFEST", "false")


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    from config.env import env_database

    config = env_database("DATABASE_URL", "")
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("make bench needs a PostgreSQL DATABASE_URL")
    admin = psycopg.connect(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"] or "postgres",
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(config["NAME"])
            )
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))


def machine_reference() -> dict:
    """What the figures of one machine are to be read against: the machines runs get differ in
    speed by two to one or more, and PostgreSQL's settings move the storing side. A plain
    Python loop (the best of three) stands for the interpreter's speed, as the bare COPY of the
    import scenario stands for the database's."""
    from django.db import connection

    loop = []
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for n in range(2_000_000):
            total += n
        loop.append(time.perf_counter() - started)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
            "('server_version', 'shared_buffers', 'max_wal_size', 'synchronous_commit')"
        )
        settings = dict(cursor.fetchall())
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "python_loop_2m_seconds": round(min(loop), 3),
        "postgresql": settings,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", help="Run only these scenarios")
    parser.add_argument("--keep", action="store_true", help="Reuse the bench database as it is")
    args = parser.parse_args()

    if not args.keep:
        recreate_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from bench.scenarios import SCENARIOS

    machine = machine_reference()
    print(f"machine: {json.dumps(machine)}", flush=True)

    results = []
    for name, run in SCENARIOS.items():
        if args.only and name not in args.only:
            continue
        print(f"running {name} ...", flush=True)
        started = time.perf_counter()
        figures = run()
        figures["wall_seconds"] = round(time.perf_counter() - started, 3)
        results.append({"scenario": name, **figures})

    width = max((len(r["scenario"]) for r in results), default=10)
    print()
    print(f"{'scenario':<{width}}  figures")
    for result in results:
        shown = ", ".join(f"{k}={v}" for k, v in result.items() if k != "scenario")
        print(f"{result['scenario']:<{width}}  {shown}")

    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": machine,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "results": results,
    }
    (out / "latest.json").write_text(json.dumps(report, indent=2))
    print(f"\nwritten {out / 'latest.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
