"""Reports benchmark: the process owners' reports over a big runtime table.

Seeds (Core bulk inserts, chunks of 10,000) 1,000,000 order_lifecycle instances: mostly
completed, 50,000 waiting (user tasks with an open human_task, message and timer waits, spread
over nodes and ages), 500 in error with an open incident, history rows for the heatmap period
(3 per instance for 100,000 recent instances) and a few thousand sales orders. processes/ is
deployed for real, so the heatmap has its diagram.

Then, as a process owner, 50 timed requests (after a warm-up) of each API report
(/api/reports/stuck, /incidents, /sla, /exceptions, /heatmap?process_id=order_lifecycle) and
each page (/reports/...): p50 / p99 / mean, and whether p99 < 200 ms. The SQL of one request of
each API report is captured (before_cursor_execute) and its slowest statements are EXPLAINed
(PostgreSQL EXPLAIN ANALYZE / SQLite EXPLAIN QUERY PLAN) to name the indexes they use.

    .venv/bin/python bench/reports.py --scale 0.1
    scripts/with-postgres.sh .venv/bin/python bench/reports.py --db=postgresql

Nothing is written into the repository (temp SQLite file; PostgreSQL database
orderflow_bench_reports, dropped at the end).
"""
import sys

sys.dont_write_bytecode = True  # noqa: E402

import argparse
import re
import statistics
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import Database, table  # noqa: E402

PG_DBNAME = "orderflow_bench_reports"
PROCESSES = ROOT / "processes"
FORMS = ROOT / "forms"
PROCESS_ID = "order_lifecycle"
TARGET_MS = 200.0
CHUNK = 10_000
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

# Waits: (kind, node_id, node_name, lane/group) -- user tasks get an open human_task.
WAITS = [
    ("user_task", "pick_pack", "Pick and pack", "warehouse"),
    ("user_task", "credit_review", "Review credit hold", "credit_controller"),
    ("user_task", "fix_order", "Fix order", "sales"),
    ("user_task", "revise_order", "Revise order", "sales"),
    ("user_task", "chase_carrier", "Chase carrier", "sales"),
    ("user_task", "payment_followup", "Follow up overdue payment", "finance"),
    ("message", "wait_goods", "Goods received", None),
    ("message", "payment", "Payment received", None),
    ("message", "delivered", "Shipment delivered", None),
    ("timer", "dunning_timer", "Dunning due", None),
]
API = [("stuck", "/api/reports/stuck"), ("incidents", "/api/reports/incidents"),
       ("sla", "/api/reports/sla"), ("exceptions", "/api/reports/exceptions"),
       ("heatmap", "/api/reports/heatmap?process_id=order_lifecycle")]
PAGES = [("stuck", "/reports/stuck"), ("incidents", "/reports/incidents"),
         ("sla", "/reports/sla"), ("exceptions", "/reports/exceptions"),
         ("heatmap", "/reports/heatmap")]


def percentile(values, q):
    data = sorted(values)
    pos = (len(data) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


# ---- seeding --------------------------------------------------------------------------------
def bulk(conn, tbl, rows):
    for i in range(0, len(rows), CHUNK):
        conn.execute(tbl.insert(), rows[i:i + CHUNK])


def seed(db, args, now):
    from sqlalchemy import insert

    from app.engine import reports as engine_reports
    from app.models.engine import (
        HumanTask,
        Deployment,
        HumanTaskCandidate,
        Incident,
        InstanceEvent,
        InstanceWait,
        Job,
        NodeVisit,
        MessageSubscription,
        ProcessInstance,
    )
    from app.models.sales import Customer, SalesOrder

    n = int(1_000_000 * args.scale)
    n_wait = int(50_000 * args.scale)
    n_inc = max(1, int(500 * args.scale))
    n_recent = int(100_000 * args.scale)
    n_orders = max(100, int(5_000 * args.scale))
    n_done = n - n_wait - n_inc
    dep_id = db.session.scalar(db.select(Deployment.id).order_by(Deployment.id.desc()).limit(1))
    parsed = engine_reports.latest(db.session, PROCESS_ID)
    nodes = engine_reports.nodes_of(parsed, PROCESS_ID, own_file_only=True)
    db.session.remove()
    # heatmap history: pred completes (step), then the wait node completes (task_completed)
    timed = [(nid, info["preds"][0]) for nid, info in sorted(nodes.items())
             if info["preds"] and info["type"] in ("UserTask", "IntermediateCatchEvent")]

    t0 = time.perf_counter()
    pi = ProcessInstance.__table__
    counts = {}
    ids = iter(range(1, n + 1))
    with db.engine.begin() as conn:
        # completed: spread over two years, the newest n_recent in the last 30 days
        rows, recent = [], []
        for k in range(n_done):
            i = next(ids)
            if k >= n_done - n_recent:
                j = k - (n_done - n_recent)
                created = now - timedelta(days=30) + timedelta(seconds=j * 2_500_000 // n_recent)
                recent.append((i, created))
            else:
                created = now - timedelta(days=730) + timedelta(seconds=k * 60 % (700 * 86400))
            ended = created + timedelta(hours=2 + k % 90)
            if ended > now:
                ended = now
            rows.append({"id": i, "process_id": PROCESS_ID, "deployment_id": dep_id,
                         "business_key": f"SO-{i:08d}", "status": "completed", "revision": 5,
                         "state": b"x", "waiting_at": [], "created_at": created,
                         "updated_at": ended, "ended_at": ended, "end_reason": "completed"})
            if len(rows) == CHUNK:
                conn.execute(insert(pi), rows)
                rows = []
        if rows:
            conn.execute(insert(pi), rows)
        # waiting: spread over WAITS and ages from 10 minutes to 60 days
        rows, tasks, cands, subs, jobs, waiting, places = [], [], [], [], [], [], []
        for k in range(n_wait):
            i = next(ids)
            kind, node_id, node_name, lane = WAITS[k % len(WAITS)]
            since = now - timedelta(minutes=10 + (k * 37) % (60 * 24 * 60))
            created = since - timedelta(hours=3)
            entry = {"kind": kind, "node_id": node_id, "node_name": node_name}
            if kind == "user_task":
                task_id = str(uuid.uuid4())
                entry["task_id"] = task_id
                tasks.append({"id": task_id, "instance_id": i, "process_id": PROCESS_ID,
                              "business_key": f"SO-{i:08d}", "node_id": node_id,
                              "node_name": node_name, "lane": lane, "state": "open",
                              "assignee": f"user{k % 40}" if k % 3 == 0 else None,
                              "form_schema": f"{node_id}.schema.json",
                              "excluded_users": [], "created_at": since,
                              "due_at": since + timedelta(days=2)})
                cands.append({"task_id": task_id, "group_name": lane, "open": True})
            elif kind == "message":
                subs.append({"instance_id": i, "message_name": node_id,
                             "business_key": f"SO-{i:08d}", "node_id": node_id})
            else:
                jobs.append({"instance_id": i, "kind": "timer",
                             "due_at": since + timedelta(days=3)})
            rows.append({"id": i, "process_id": PROCESS_ID, "deployment_id": dep_id,
                         "business_key": f"SO-{i:08d}", "status": "waiting", "revision": 3,
                         "state": b"x", "waiting_at": [entry], "created_at": created,
                         "updated_at": since})
            waiting.append((i, node_id))
            places.append({"instance_id": i, "node_id": node_id, "process_id": PROCESS_ID,
                           "deployment_id": dep_id, "business_key": f"SO-{i:08d}",
                           "status": "waiting", "kind": kind, "node_name": node_name,
                           "task_id": entry.get("task_id"), "since": since})
        bulk(conn, pi, rows)
        bulk(conn, InstanceWait.__table__, places)
        bulk(conn, HumanTask.__table__, tasks)
        bulk(conn, HumanTaskCandidate.__table__, cands)
        bulk(conn, MessageSubscription.__table__, subs)
        bulk(conn, Job.__table__, jobs)
        # error + open incident
        rows, incs, err_keys = [], [], []
        fail_nodes = [("check_credit", "Check credit"), ("reserve_stock", "Reserve stock"),
                      ("validate_order", "Validate order")]
        for k in range(n_inc):
            i = next(ids)
            node_id, node_name = fail_nodes[k % 3]
            at = now - timedelta(minutes=5 + k * 47)
            rows.append({"id": i, "process_id": PROCESS_ID, "deployment_id": dep_id,
                         "business_key": f"SO-{i:08d}", "status": "error", "revision": 2,
                         "state": b"x", "waiting_at": [], "created_at": at - timedelta(hours=1),
                         "updated_at": at})
            incs.append({"instance_id": i, "status": "open", "node_id": node_id,
                         "node_name": node_name,
                         "message": f"OperatorError: {node_id} failed for SO-{i:08d}",
                         "traceback": "Traceback (most recent call last):\n  ...\n",
                         "failures": 1 + k % 4, "retries_left": 0,
                         "first_failure_at": at, "last_failure_at": at})
            err_keys.append((i, f"SO-{i:08d}"))
        bulk(conn, pi, rows)
        bulk(conn, Incident.__table__, incs)
        # history for the heatmap period
        events, visits = [], []
        for k, (i, created) in enumerate(recent):
            node_id, pred = timed[k % len(timed)]
            entered = created + timedelta(minutes=5)
            left = entered + timedelta(minutes=10 + k % 3000)
            visits.append({"instance_id": i, "process_id": PROCESS_ID, "node_id": node_id,
                           "entered_at": entered, "left_at": left,
                           "seconds": int((left - entered).total_seconds())})
            events += [
                {"instance_id": i, "at": created, "kind": "started", "node_id": None},
                {"instance_id": i, "at": entered, "kind": "step", "node_id": pred},
                {"instance_id": i, "at": entered + timedelta(minutes=10 + k % 3000),
                 "kind": "task_completed", "node_id": node_id, "actor": "bench"},
            ]
            if len(events) >= CHUNK:
                conn.execute(insert(InstanceEvent.__table__), events)
                conn.execute(insert(NodeVisit.__table__), visits)
                events, visits = [], []
        if events:
            conn.execute(insert(InstanceEvent.__table__), events)
            conn.execute(insert(NodeVisit.__table__), visits)
        # sales orders: incidents + waiting ones (the exception board joins by number)
        conn.execute(insert(Customer.__table__), [
            {"id": c, "code": f"C{c:04d}", "name": f"Customer {c}",
             "normalized_name": f"customer {c}", "currency": "CNY"} for c in range(1, 51)])
        keyed = err_keys + [(i, f"SO-{i:08d}") for i, _ in waiting[:n_orders - len(err_keys)]]
        bulk(conn, SalesOrder.__table__, [
            {"number": key, "customer_id": 1 + j % 50, "currency": "CNY", "source": "api",
             "total": 100 + j % 5000, "net_total": 100 + j % 5000, "tax_total": 0,
             "created_at": now - timedelta(days=2), "process_instance_id": i}
            for j, (i, key) in enumerate(keyed)])
    seconds = time.perf_counter() - t0
    return seconds


def analyze(db, kind):
    from sqlalchemy import text

    t0 = time.perf_counter()
    if kind == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - t0


def row_counts(db):
    from sqlalchemy import text

    names = ["process_instance", "instance_wait", "node_visit", "human_task", "human_task_candidate", "incident",
             "instance_event", "job", "message_subscription", "sales_order"]
    out = []
    with db.engine.connect() as conn:
        for name in names:
            out.append((name, conn.scalar(text(f"SELECT count(*) FROM {name}"))))
        for status, count in conn.execute(text(
                "SELECT status, count(*) FROM process_instance GROUP BY status ORDER BY 1")):
            out.append((f"  process_instance[{status}]", count))
    return out


# ---- measuring ------------------------------------------------------------------------------
def timed_requests(client, path, n, warmup, headers=None):
    for _ in range(warmup):
        r = client.get(path, headers=headers)
        if r.status_code != 200:
            raise SystemExit(f"{path}: HTTP {r.status_code}\n{r.get_data(as_text=True)[:2000]}")
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get(path, headers=headers)
        times.append(time.perf_counter() - t0)
        assert r.status_code == 200, (path, r.status_code)
    return times


class Capture:
    """Statements (and their durations) of one request, via before/after_cursor_execute."""

    def __init__(self, engine):
        self.engine, self.items, self.on = engine, [], False
        from sqlalchemy import event

        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)

    def before(self, conn, cursor, statement, parameters, context, executemany):
        if self.on:
            conn.info["bench_t0"] = time.perf_counter()

    def after(self, conn, cursor, statement, parameters, context, executemany):
        if self.on and not executemany:
            self.items.append((time.perf_counter() - conn.info.pop("bench_t0"), statement,
                               parameters))


PG_INDEX = re.compile(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)?"
                      r" (?:using|on) (\w+)")
PG_SEQ = re.compile(r"Seq Scan on (\w+)")
SQ_INDEX = re.compile(r"USING (?:COVERING )?INDEX (\w+)|USING (INTEGER PRIMARY KEY)")
SQ_SCAN = re.compile(r"^SCAN (\w+)(?! USING)")


def explain(db, kind, statement, parameters):
    from sqlalchemy import text  # noqa: F401

    with db.engine.connect() as conn:
        if kind == "postgresql":
            lines = [r[0] for r in conn.exec_driver_sql("EXPLAIN ANALYZE " + statement,
                                                        parameters)]
            idx = [m.group(1) for line in lines for m in PG_INDEX.finditer(line)]
            seq = [m.group(1) for line in lines for m in PG_SEQ.finditer(line)]
        else:
            lines = [r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                        parameters)]
            idx, seq = [], []
            for line in lines:
                for m in SQ_INDEX.finditer(line):
                    idx.append(m.group(1) or m.group(2))
                s = SQ_SCAN.match(line.strip())
                if s and "USING" not in line:
                    seq.append(s.group(1))
    return lines, list(dict.fromkeys(idx)), list(dict.fromkeys(seq))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the issue's size (1.0 = 1,000,000 instances)")
    parser.add_argument("-n", type=int, default=50, help="timed requests per report")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--plans", action="store_true",
                        help="print the full plan of every explained statement")
    parser.add_argument("--postgresql-host")
    parser.add_argument("--postgresql-port")
    parser.add_argument("--postgresql-user")
    args = parser.parse_args()

    database = Database(args, PG_DBNAME, prefix="orderflow-bench-reports-")
    try:
        from flask_migrate import upgrade

        from app import create_app, identity
        from app.engine import clock, deployments, specs
        from app.extensions import db

        app = create_app({"SQLALCHEMY_DATABASE_URI": database.url,
                          "PROCESSES_DIR": str(PROCESSES), "FORMS_DIR": str(FORMS),
                          "SCHEDULER_ENABLED": False, "SECRET_KEY": "bench"})
        with app.app_context():
            upgrade()
            deployments.deploy(db.session, specs.read_dir(PROCESSES), source="bench",
                               actor="bench", forms_dir=str(FORMS))
            user = identity.create_user(db.session, "owner", "pw", ["process_owner"])
            token = identity.create_token(db.session, user, "bench")
            db.session.commit()
            desc = database.describe(db)
            now = clock.now()
            seed_s = seed(db, args, now)
            analyze_s = analyze(db, args.db)
            counts = row_counts(db)
            db.session.remove()

            print(f"Reports benchmark on {desc}")
            print(f"scale {args.scale} ({int(1_000_000 * args.scale):,} instances); "
                  f"{args.n} timed requests per report after {args.warmup} warm-up")
            print(f"seeding: {seed_s:.1f} s (Core bulk inserts, chunks of {CHUNK:,}); "
                  f"{'VACUUM ANALYZE' if args.db == 'postgresql' else 'ANALYZE'}: "
                  f"{analyze_s:.1f} s")
            print(table(["table", "rows"], [(k, f"{v:,}") for k, v in counts], "<>"))

            client = app.test_client()
            headers = {"Authorization": f"Bearer {token}"}
            page = client.get("/login").get_data(as_text=True)
            r = client.post("/login", data={"username": "owner", "password": "pw",
                                            "csrf_token": CSRF.search(page).group(1)})
            assert r.status_code == 302, r.status_code

            results = []
            for label, path in API:
                results.append(("API " + label, path,
                                timed_requests(client, path, args.n, args.warmup, headers)))
            for label, path in PAGES:
                results.append(("page " + label, path,
                                timed_requests(client, path, args.n, args.warmup)))
            rows, all_ok = [], True
            for label, path, times in results:
                p50, p99 = percentile(times, 0.5) * 1e3, percentile(times, 0.99) * 1e3
                ok = p99 < TARGET_MS
                all_ok &= ok
                rows.append((label, path, f"{p50:.1f}", f"{p99:.1f}",
                             f"{statistics.fmean(times) * 1e3:.1f}", "yes" if ok else "NO"))
            print()
            print("Latency per request (ms, Flask test client, in process)")
            print(table(["report", "path", "p50", "p99", "mean", "p99<200"], rows,
                        "<<>>><"))
            print(f"  target p99 < {TARGET_MS:.0f} ms for every report and page: "
                  f"{'MET' if all_ok else 'NOT MET'}")

            # plans: the SQL of one API request per report, the slowest statements explained
            capture = Capture(db.engine)
            print()
            print("Query plans (SQL of one API request; statements >= 1 ms or the slowest 3)")
            for label, path in API:
                capture.items, capture.on = [], True
                client.get(path, headers=headers)
                capture.on = False
                stmts = sorted(capture.items, key=lambda s: -s[0])
                picked = [s for s in stmts if s[0] >= 0.001][:6] or stmts[:3]
                total = sum(s[0] for s in capture.items) * 1e3
                print(f"\n[{label}] {len(capture.items)} statements, {total:.1f} ms in SQL")
                for secs, statement, params in picked:
                    one_line = " ".join(statement.split())
                    if not one_line.upper().startswith(("SELECT", "WITH")):
                        continue
                    try:
                        lines, idx, seq = explain(db, args.db, statement, params)
                    except Exception as err:  # noqa: BLE001
                        print(f"  {secs * 1e3:7.1f} ms  {one_line[:110]}\n"
                              f"             (explain failed: {err})")
                        continue
                    print(f"  {secs * 1e3:7.1f} ms  {one_line[:110]}")
                    print(f"             indexes: {', '.join(idx) or '-'}"
                          f"{'; full scans: ' + ', '.join(seq) if seq else ''}")
                    if args.plans or secs * 1e3 >= TARGET_MS / 4:
                        for line in lines:
                            print(f"               | {line[:300]}{' ...' if len(line) > 300 else ''}")
    finally:
        try:
            from app.extensions import db as _db

            _db.engine.dispose()
        except Exception:  # noqa: BLE001
            pass
        database.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
