"""Inbox benchmark (issue 4): does the inbox query stay indexed with many tasks?

Seeds 100,000 open human tasks offered to 50 groups (group_00..group_49, one or two each) and
1,000,000 completed ones (completed by ~200 users), each with its process instance, then
measures through the Flask test client, for a user in 3 groups:

  * GET /api/tasks (view=groups, default sort), ?view=mine, ?view=completed (bearer token),
  * the /inbox page (view=groups) and /inbox?view=completed (session login),

200 requests each after a warm-up, and prints p50/p99/mean, the seeding time, the row counts,
whether the targets are met (p99 < 50 ms for the API, < 100 ms for the page), and the query
plans (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE) of the task queries one request of each kind runs.

    .venv/bin/python bench/inbox.py                  # SQLite, full size (1.1M tasks)
    .venv/bin/python bench/inbox.py --scale 0.1      # 10,000 open / 100,000 completed
    scripts/with-postgres.sh .venv/bin/python bench/inbox.py --db=postgresql

Nothing is written into the repository: the SQLite file lives in a temp dir, the PostgreSQL
database ``orderflow_bench_inbox`` is dropped at the end.
"""
import sys

sys.dont_write_bytecode = True  # noqa: E402

import argparse
import json
import re
import statistics
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import bench.operators  # noqa: E402,F401  (registers the operators bench/processes uses)
from bench import common  # noqa: E402
from bench.common import Database  # noqa: E402

PROCESSES = ROOT / "bench" / "processes"
PG_DBNAME = "orderflow_bench_inbox"
PROCESS_ID, NODE_ID, NODE_NAME = "bench_order", "approve", "Approve order"
GROUPS = [f"group_{i:02d}" for i in range(50)]
USERS = [f"user{i:03d}" for i in range(200)]
ME = "user007"
MY_GROUPS = ["group_03", "group_17", "group_42"]
CHUNK = 10_000
TARGET_API_MS, TARGET_PAGE_MS = 50.0, 100.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def percentile(values, q):
    data = sorted(values)
    pos = (len(data) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def task_uuid(i: int) -> str:
    return str(uuid.UUID(int=(0x5EED << 96) | i))


# ---- seeding --------------------------------------------------------------------------------
def rows_for(i: int, n_open: int, now, deployment_id: int):
    """(instance, task, [candidates]) of task number i; the first n_open are open."""
    is_open = i < n_open
    tid = task_uuid(i)
    key = f"BK-{i:07d}"
    if is_open:
        created = now - timedelta(seconds=(i * 7919) % (30 * 86400))  # spread over 30 days
        due = created + timedelta(days=1 + i % 7)  # ~ some overdue, some due later
        # ~10 % claimed by one of the users (ME gets ~1/200 of those)
        assignee = USERS[(i // 10) % len(USERS)] if i % 10 == 0 else None
        completed_by = completed_at = None
        status, ended = "waiting", None
    else:
        created = now - timedelta(seconds=(i * 104729) % (365 * 86400))
        due = created + timedelta(days=2)
        completed_by = USERS[(i * 31) % len(USERS)]
        completed_at = created + timedelta(minutes=5 + i % 3000)
        assignee = completed_by
        status, ended = "completed", completed_at
    inst = {"id": i + 1, "process_id": PROCESS_ID, "deployment_id": deployment_id,
            "business_key": key, "status": status, "revision": 1, "state": b"x",
            "waiting_at": [], "next_due_at": None, "started_by": "bench", "created_at": created,
            "updated_at": completed_at or created, "ended_at": ended, "end_reason": None}
    task = {"id": tid, "instance_id": i + 1, "process_id": PROCESS_ID, "business_key": key,
            "node_id": NODE_ID, "node_name": NODE_NAME, "lane": "approvers",
            "state": "open" if is_open else "completed", "assignee": assignee,
            "form_schema": None, "form_ui_schema": None, "instructions": None,
            "excluded_users": [], "created_at": created, "due_at": due,
            "completed_by": completed_by, "completed_at": completed_at}
    g1 = (i * 7) % len(GROUPS)
    groups = [GROUPS[g1]]
    if is_open and i % 2 == 0:  # half the open tasks are offered to two groups
        groups.append(GROUPS[(g1 + 1 + i % 13) % len(GROUPS)])
    cands = [{"task_id": tid, "group_name": g, "open": is_open} for g in groups]
    return inst, task, cands


class Loader:
    """Bulk inserts: Core executemany in chunks on SQLite, COPY on PostgreSQL."""

    def __init__(self, db, kind):
        self.db, self.kind = db, kind

    def insert(self, table, rows):
        if not rows:
            return
        if self.kind == "sqlite":
            with self.db.engine.begin() as conn:
                conn.execute(table.insert(), rows)
            return
        cols = list(rows[0])
        json_cols = {c.name for c in table.columns if c.type.__class__.__name__ == "JSON"}
        raw = self.db.engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([json.dumps(row[c]) if c in json_cols else
                                    (row[c].replace(tzinfo=None) if hasattr(row[c], "tzinfo")
                                     and row[c] is not None and row[c].tzinfo else row[c])
                                    for c in cols])
            raw.commit()
        finally:
            raw.close()


def seed(db, kind, n_open, n_done, deployment_id, now):
    from app.models.engine import HumanTask, HumanTaskCandidate, ProcessInstance

    loader = Loader(db, kind)
    total = n_open + n_done
    for start in range(0, total, CHUNK):
        insts, tasks, cands = [], [], []
        for i in range(start, min(start + CHUNK, total)):
            inst, task, cs = rows_for(i, n_open, now, deployment_id)
            insts.append(inst)
            tasks.append(task)
            cands.extend(cs)
        loader.insert(ProcessInstance.__table__, insts)
        loader.insert(HumanTask.__table__, tasks)
        loader.insert(HumanTaskCandidate.__table__, cands)
    if kind == "postgresql":
        raw = db.engine.raw_connection()
        try:  # what autovacuum would have done by now on a live system
            raw.driver_connection.autocommit = True
            raw.driver_connection.execute("VACUUM ANALYZE")
        finally:
            raw.close()


def row_counts(db):
    from sqlalchemy import text

    q = {
        "process_instance": "SELECT count(*) FROM process_instance",
        "human_task open": "SELECT count(*) FROM human_task WHERE state = 'open'",
        "human_task completed": "SELECT count(*) FROM human_task WHERE state = 'completed'",
        "human_task_candidate open": "SELECT count(*) FROM human_task_candidate WHERE open",
        "human_task_candidate closed":
            "SELECT count(*) FROM human_task_candidate WHERE NOT open",
    }
    with db.engine.connect() as conn:
        return {name: conn.scalar(text(sql)) for name, sql in q.items()}


# ---- measuring ------------------------------------------------------------------------------
def login(client, username, password):
    page = client.get("/login").get_data(as_text=True)
    token = CSRF.search(page).group(1)
    resp = client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})
    if resp.status_code != 302:
        raise SystemExit(f"login failed: {resp.status_code}")


def measure(fn, warmup, n):
    for _ in range(warmup):
        fn()
    times = []
    perf = time.perf_counter
    for _ in range(n):
        t0 = perf()
        fn()
        times.append(perf() - t0)
    return times


def capture_sql(db, fn):
    """The statements (with parameters) that touch human_task during one call of fn."""
    from sqlalchemy import event

    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if "human_task" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return seen


def label_of(sql: str) -> str:
    s = " ".join(sql.split())
    if s.upper().startswith("SELECT COUNT(*) AS COUNT_1 FROM (") or "FROM (SELECT" in s.upper():
        return "total (count of the list)"
    if s.upper().startswith("SELECT COUNT(*)"):
        if "completed_by" in s:
            return "count completed"
        if "EXISTS" in s.upper():
            return "count groups"
        return "count mine"
    if "LIMIT" in s.upper():
        return "list page"
    if s.startswith("SELECT human_task_candidate."):
        return "candidate groups of the page (selectin load)"
    return "other"


def explain(db, kind, sql, params):
    with db.engine.connect() as conn:
        if kind == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
            # (id, parent, notused, detail) -> indented tree
            depth = {0: -1}
            lines = []
            for rid, parent, _, detail in rows:
                depth[rid] = depth.get(parent, -1) + 1
                lines.append("  " * depth[rid] + detail)
            return lines
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params).all()
        return [r[0] for r in rows]


INDEX_RE = re.compile(r"(?:USING (?:COVERING )?INDEX|Index (?:Only )?Scan (?:Backward )?using"
                      r"|Bitmap Index Scan on) (\w+)|(SCAN \w+(?! USING)|Seq Scan on \w+)")


def indexes_used(lines):
    found = []
    for line in lines:
        for idx, scan in INDEX_RE.findall(line):
            item = idx or f"{scan} (no index)"
            if scan.startswith("SCAN") and "USING" in line:
                continue
            if item not in found:
                found.append(item)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("-n", "--scale", type=float, default=1.0,
                        help="fraction of the issue's sizes (default 1: 100,000 open tasks, "
                             "1,000,000 completed)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per kind")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per kind")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--postgresql-host")
    parser.add_argument("--postgresql-port")
    parser.add_argument("--postgresql-user")
    args = parser.parse_args()
    n_open = max(1, int(100_000 * args.scale))
    n_done = max(1, int(1_000_000 * args.scale))

    database = Database(args, PG_DBNAME, prefix="orderflow-bench-inbox-")
    try:
        from flask_migrate import upgrade

        from app import create_app, identity
        from app.engine import clock, deployments, specs
        from app.extensions import db

        app = create_app({"SQLALCHEMY_DATABASE_URI": database.url, "FORMS_DIR": str(PROCESSES),
                          "PROCESSES_DIR": str(PROCESSES), "SCHEDULER_ENABLED": False,
                          "SECRET_KEY": "bench"})
        with app.app_context():
            upgrade()
            deployment, _ = deployments.deploy(db.session, specs.read_dir(PROCESSES),
                                               source="bench", actor="bench",
                                               forms_dir=str(PROCESSES))
            db.session.commit()
            deployment_id = deployment.id
            user = identity.create_user(db.session, ME, "pw", MY_GROUPS)
            token = identity.create_token(db.session, user, "bench")
            db.session.commit()
            db.session.remove()
            db_desc = database.describe(db)

            print(f"Inbox benchmark on {db_desc}")
            print(f"  seeding {n_open:,} open + {n_done:,} completed tasks "
                  f"(scale {args.scale:g}) ...", flush=True)
            t0 = time.perf_counter()
            seed(db, database.kind, n_open, n_done, deployment_id, clock.now())
            seed_s = time.perf_counter() - t0
            counts = row_counts(db)
            print(f"  seeded in {seed_s:.1f} s"
                  + (" (incl. VACUUM ANALYZE)" if database.kind == "postgresql" else ""))
            print(common.table(["table", "rows"], [(k, f"{v:,}") for k, v in counts.items()],
                               "<>"))

            api = app.test_client()
            page = app.test_client()
            login(page, ME, "pw")
            bearer = {"Authorization": f"Bearer {token}"}
            kinds = [
                ("GET /api/tasks (groups)", "api", lambda: api.get("/api/tasks", headers=bearer)),
                ("GET /api/tasks?view=mine", "api",
                 lambda: api.get("/api/tasks?view=mine", headers=bearer)),
                ("GET /api/tasks?view=completed", "api",
                 lambda: api.get("/api/tasks?view=completed", headers=bearer)),
                ("/inbox (groups)", "page", lambda: page.get("/inbox?view=groups")),
                ("/inbox?view=completed", "page", lambda: page.get("/inbox?view=completed")),
            ]
            # sanity: every kind answers 200 and shows what we expect
            seen = {}
            for name, _, fn in kinds:
                resp = fn()
                if resp.status_code != 200:
                    raise SystemExit(f"{name}: HTTP {resp.status_code}\n"
                                     f"{resp.get_data(as_text=True)[:500]}")
                if resp.is_json:
                    body = resp.get_json()
                    seen[name] = (body["total"], body["counts"])
            print()
            for name, (total, c) in seen.items():
                print(f"  {name}: total {total:,}; counts mine {c['mine']:,}, groups "
                      f"{c['groups']:,}, completed {c['completed']:,}")

            print(f"\n  {args.requests} requests each after {args.warmup} warm-up "
                  f"(Flask test client, one process)")
            rows, verdicts = [], []
            for name, kind, fn in kinds:
                times = measure(fn, args.warmup, args.requests)
                p50, p99 = percentile(times, 0.5) * 1e3, percentile(times, 0.99) * 1e3
                mean = statistics.fmean(times) * 1e3
                target = TARGET_API_MS if kind == "api" else TARGET_PAGE_MS
                ok = p99 < target
                verdicts.append(ok)
                rows.append((name, f"{p50:.1f}", f"{p99:.1f}", f"{mean:.1f}", f"< {target:.0f}",
                             "met" if ok else "MISSED"))
            print(common.table(["request", "p50 ms", "p99 ms", "mean ms", "p99 target", ""],
                               rows, "<>>>><"))
            print(f"\n  targets (p99 < {TARGET_API_MS:.0f} ms API, < {TARGET_PAGE_MS:.0f} ms "
                  f"page): {'all met' if all(verdicts) else 'NOT all met'}")

            # query plans of the task statements one request of each kind runs
            print(f"\nQuery plans ({'EXPLAIN QUERY PLAN' if database.kind == 'sqlite' else 'EXPLAIN (ANALYZE, COSTS OFF)'})")
            done = set()
            for name, _, fn in kinds:
                for sql, params in capture_sql(db, fn):
                    key = (sql, repr(params))
                    if key in done:
                        continue
                    done.add(key)
                    plan = explain(db, database.kind, sql, params)
                    one_line = " ".join(sql.split())
                    print(f"\n  [{name}] {label_of(sql)}; indexes: "
                          f"{', '.join(indexes_used(plan)) or '-'}")
                    print(f"    SQL: {one_line[:300]}{' ...' if len(one_line) > 300 else ''}")
                    print(f"    params: {params!r}"[:200])
                    for line in plan:
                        print(f"      {line[:300]}{' ...' if len(line) > 300 else ''}")
            db.session.remove()
            db.engine.dispose()
    finally:
        database.close()
    if args.check and not all(verdicts):
        sys.exit(1)


if __name__ == "__main__":
    main()
