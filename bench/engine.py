"""Engine benchmark: the Orderflow runtime with its database against bare SpiffWorkflow.

One diagram (bench/processes/bench_order.bpmn: 2 service tasks, a DMN, a user task with an
interrupting SLA timer, a message wait) is driven start -> complete -> message -> end

  * in memory by bare SpiffWorkflow (same parser class, same script engine, same operators),
  * the same, with serialize + deserialize between the steps (what every unit of work must do),
  * through app.engine.runtime.Runtime on SQLite (temp file) or PostgreSQL (a fresh database),

all in this one process, one instance after the other. A smaller timer scenario fires the SLA
timer through the job table (app.engine.jobs.run_due) after moving the clock.

    .venv/bin/python bench/engine.py -n 500
    scripts/with-postgres.sh .venv/bin/python bench/engine.py --db=postgresql

Nothing is written into the repository: the SQLite file lives in a temp dir, the PostgreSQL
database ``orderflow_bench`` is dropped at the end, and no bytecode is written.
"""
import sys

sys.dont_write_bytecode = True  # noqa: E402  (write nothing into the repo, not even __pycache__)

import argparse
import gc
import importlib.metadata
import os
import platform
import statistics
import time
import zlib
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.util.event import BpmnEvent  # noqa: E402
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

import bench.operators  # noqa: E402,F401  (registers bench.price / bench.reserve)
from app.engine import serializer, specs  # noqa: E402
from bench import common  # noqa: E402
from bench.common import Database  # noqa: E402
from app.engine.operators import UnitContext  # noqa: E402
from app.engine.scripting import ScriptEngine, shared_environment  # noqa: E402

PROCESSES = ROOT / "bench" / "processes"
PROCESS_ID = "bench_order"
MESSAGE = "paid"
PG_DBNAME = "orderflow_bench"
TARGET_RATIO = 2.5
TARGET_SQLITE_RATE = 200.0
# Tables that hold per-instance rows (deployment tables are shared by all instances).
INSTANCE_TABLES = ("process_instance", "human_task", "human_task_candidate", "instance_event",
                   "job", "message_subscription", "processed_message", "instance_wait",
                   "node_visit", "engine_command")


# ---- the workload --------------------------------------------------------------------------
def start_data(i: int) -> dict:
    # unit prices spread over the three DMN rows (standard / priority / key_account)
    return {"order_id": i, "qty": 1 + i % 5, "unit_price": (12.5, 480.0, 3100.0)[i % 3]}


FORM = {"approved": True, "comment": "ok"}


def payment(i: int) -> dict:
    return {"amount": 100 + i, "reference": f"PAY-{i}"}


def percentile(values, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    data = sorted(values)
    if not data:
        return float("nan")
    pos = (len(data) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def stats_ms(seconds):
    return (percentile(seconds, 0.50) * 1e3, percentile(seconds, 0.99) * 1e3,
            statistics.fmean(seconds) * 1e3 if seconds else float("nan"))


# ---- bare SpiffWorkflow --------------------------------------------------------------------
def bare_run(parsed, n: int, *, serialize: bool, key_prefix: str = "X"):
    """Run n lifecycles in memory; with serialize, dump/load around every step like the runtime
    does (3 dumps, 2 loads). Returns per-phase timings, the loop wall time and state sizes."""
    spec, subs = parsed.specs[PROCESS_ID], parsed.subprocess_specs[PROCESS_ID]
    phases = {"start": [], "complete": [], "message": [], "total": []}
    sizes = {"user task": [], "message wait": [], "end": []}
    perf = time.perf_counter

    def engine(i):
        return ScriptEngine(shared_environment,
                            UnitContext(None, None, f"{key_prefix}-{i}", PROCESS_ID, "bench"))

    wall0 = perf()
    for i in range(n):
        t0 = perf()
        wf = BpmnWorkflow(spec, subs, script_engine=engine(i))
        wf.get_next_task(state=TaskState.READY).set_data(**start_data(i))
        wf.do_engine_steps()
        if serialize:
            state = serializer.dump(wf)
            sizes["user task"].append(len(state))
        t1 = perf()
        if serialize:
            wf = serializer.load(state, spec, subs)
            wf.script_engine = engine(i)
        task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
        task.set_data(**FORM)
        task.run()
        wf.do_engine_steps()
        if serialize:
            state = serializer.dump(wf)
            sizes["message wait"].append(len(state))
        t2 = perf()
        if serialize:
            wf = serializer.load(state, spec, subs)
            wf.script_engine = engine(i)
        wf.send_event(BpmnEvent(MessageEventDefinition(MESSAGE), payload=payment(i)))
        wf.do_engine_steps()
        if serialize:
            state = serializer.dump(wf)
            sizes["end"].append(len(state))
        t3 = perf()
        if not wf.is_completed():
            raise SystemExit(f"bare run: instance {i} did not complete")
        phases["start"].append(t1 - t0)
        phases["complete"].append(t2 - t1)
        phases["message"].append(t3 - t2)
        phases["total"].append(t3 - t0)
    wall = perf() - wall0
    return phases, wall, sizes


# ---- the runtime ---------------------------------------------------------------------------
def make_runtime_class():
    from app.engine.runtime import SYSTEM, Runtime

    class TimedRuntime(Runtime):
        """Records how long each fire_timers unit (called by jobs.run_due) takes."""

        fire_times: list = []

        def fire_timers(self, instance_id, actor=SYSTEM):
            t0 = time.perf_counter()
            try:
                return super().fire_timers(instance_id, actor)
            finally:
                self.fire_times.append(time.perf_counter() - t0)

    return TimedRuntime


def runtime_run(runtime, db, n: int, key_prefix: str, timings: dict | None):
    """n lifecycles through the runtime; one session per operation, like one per request."""
    from sqlalchemy import select

    from app.engine.runtime import Actor
    from app.models.engine import HumanTask

    approver = Actor("bench-approver", frozenset({"approvers"}))
    perf = time.perf_counter
    wall0 = perf()
    for i in range(n):
        key = f"{key_prefix}-{i}"
        t0 = perf()
        instance, created = runtime.start(PROCESS_ID, business_key=key, data=start_data(i))
        instance_id = instance.id  # a plain row: reading it costs no query
        db.session.remove()
        t1 = perf()
        task_id = db.session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.state == "open"))
        db.session.remove()
        t2 = perf()
        runtime.complete_task(task_id, FORM, approver)
        db.session.remove()
        t3 = perf()
        _, duplicate = runtime.deliver_message(MESSAGE, business_key=key, payload=payment(i),
                                               message_id=f"m-{key}")
        db.session.remove()
        t4 = perf()
        if not created or task_id is None or duplicate:
            raise SystemExit(f"runtime run: unexpected state at {key} "
                             f"(created={created}, task={task_id}, duplicate={duplicate})")
        if timings is not None:
            timings["start"].append(t1 - t0)
            timings["find task"].append(t2 - t1)
            timings["complete"].append(t3 - t2)
            timings["message"].append(t4 - t3)
            timings["total"].append(t4 - t0)
    return perf() - wall0


def timer_scenario(runtime, db, k: int):
    """Start k instances, travel past the longest SLA, run_due until idle."""
    from sqlalchemy import func, select

    from app.engine import clock, jobs
    from app.models.engine import InstanceEvent, Job, ProcessInstance

    for i in range(k):
        runtime.start(PROCESS_ID, business_key=f"T-{i}", data=start_data(i))
        db.session.remove()
    clock.travel(timedelta(hours=25))  # the longest SLA in bench_tier.dmn is PT24H
    runtime.fire_times = []
    ticks, fired = [], 0
    try:
        while True:
            t0 = time.perf_counter()
            ran = jobs.run_due(runtime)
            if ran == 0:
                break
            ticks.append(time.perf_counter() - t0)
            fired += ran
            db.session.remove()
    finally:
        db.session.remove()
        clock.reset()
    completed = db.session.scalar(select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.business_key.like("T-%"), ProcessInstance.status == "completed"))
    expired = db.session.scalar(select(func.count(func.distinct(InstanceEvent.instance_id))).where(
        InstanceEvent.node_id == "end_expired"))
    jobs_left = db.session.scalar(select(func.count()).select_from(Job))
    db.session.remove()
    if fired != k or completed != k or expired != k or jobs_left:
        raise SystemExit(f"timer scenario: fired {fired}, completed {completed}, ended at "
                         f"'expired' {expired}, jobs left {jobs_left} (expected {k}, {k}, {k}, 0)")
    return list(runtime.fire_times), sum(ticks), fired


# ---- optional breakdown -------------------------------------------------------------------
class Breakdown:
    """Wraps runtime internals with timers (--breakdown). Entries nest: store.save includes the
    store/projection/serializer lines under it, the DBAPI lines are inside everything else."""

    def __init__(self):
        from sqlalchemy.engine.default import DefaultDialect
        from sqlalchemy.orm import Session

        from app.engine import deployments, forms, projection, runtime, store

        self.targets = [
            (runtime.Runtime, "start", "Runtime.start (unit)"),
            (runtime.Runtime, "complete_task", "Runtime.complete_task (unit)"),
            (runtime.Runtime, "deliver_message", "Runtime.deliver_message (unit)"),
            (runtime, "_advance", "  engine steps (runtime._advance)"),
            (runtime.Runtime, "_workflow", "  rebuild workflow (Runtime._workflow)"),
            (serializer, "load", "    serializer.load"),
            (store, "save", "  store.save"),
            (store, "project", "    projection.project"),
            (projection, "_render", "      projection._render (jinja instructions)"),
            (serializer, "dump", "    serializer.dump"),
            (store, "_save_human_tasks", "    store._save_human_tasks"),
            (store, "_save_subscriptions", "    store._save_subscriptions"),
            (store, "_save_timer_job", "    store._save_timer_job"),
            (store, "write_events", "    store.write_events"),
            (runtime.Runtime, "_active_by_key", "  Runtime._active_by_key"),
            (deployments, "latest_deployment_id", "  deployments.latest_deployment_id"),
            (runtime.Runtime, "_human_task", "  Runtime._human_task"),
            (runtime.Runtime, "_deployment_of", "  Runtime._deployment_of"),
            (forms, "validate_submission", "  forms.validate_submission"),
            (runtime.Runtime, "_message_target", "  Runtime._message_target"),
            (Session, "get", "Session.get (all)"),
            (Session, "flush", "Session.flush (autoflush + unit flush)"),
            (Session, "commit", "Session.commit"),
            (DefaultDialect, "do_execute", "DBAPI execute"),
            (DefaultDialect, "do_executemany", "DBAPI executemany"),
            (DefaultDialect, "do_commit", "DBAPI commit"),
        ]
        self.seconds, self.calls, self.saved = {}, {}, []

    def __enter__(self):
        for owner, name, label in self.targets:
            original = owner.__dict__.get(name) if isinstance(owner, type) else \
                getattr(owner, name, None)
            if original is None:
                continue  # renamed in the runtime: skip, the rest still works
            self.saved.append((owner, name, original))
            setattr(owner, name, self._timed(original, label))
        return self

    def _timed(self, fn, label):
        seconds, calls, perf = self.seconds, self.calls, time.perf_counter
        seconds[label], calls[label] = 0.0, 0

        def timed(*args, **kwargs):
            t0 = perf()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[label] += perf() - t0
                calls[label] += 1
        timed.__wrapped__ = fn
        return timed

    def reset(self):
        for label in self.seconds:
            self.seconds[label], self.calls[label] = 0.0, 0

    def __exit__(self, *exc):
        for owner, name, original in reversed(self.saved):
            setattr(owner, name, original)

    def rows(self, n):
        return [[label, f"{self.calls[label] / n:.1f}", f"{self.seconds[label] / n * 1e3:.3f}"]
                for _o, _n, label in self.targets if label in self.seconds]


# ---- storage -------------------------------------------------------------------------------
def database_size(db, dialect: str, sqlite_path: str | None) -> int:
    from sqlalchemy import text

    if dialect == "sqlite":
        return os.path.getsize(sqlite_path)
    size = db.session.scalar(text("SELECT pg_database_size(current_database())"))
    db.session.remove()
    return size


def storage(db, dialect: str, n_measured: int, n_lifecycles: int, sqlite_path: str | None):
    """Rows and bytes of the measured ("B-") instances, plus physical sizes per table."""
    from sqlalchemy import text

    session = db.session
    ids = "SELECT id FROM process_instance WHERE business_key LIKE 'B-%'"
    where = {
        "process_instance": f"id IN ({ids})",
        "human_task_candidate": f"task_id IN (SELECT id FROM human_task WHERE instance_id IN ({ids}))",
    }
    size_of = ("coalesce(length(CAST(\"{c}\" AS BLOB)), 0)" if dialect == "sqlite"
               else "coalesce(pg_column_size(\"{c}\"), 0)")
    rows, value_bytes = {}, {}
    for table in INSTANCE_TABLES:
        cols = [c.name for c in db.metadata.tables[table].columns]
        expr = " + ".join(size_of.format(c=c) for c in cols)
        cond = where.get(table, f"instance_id IN ({ids})")
        count, total = session.execute(text(
            f"SELECT count(*), coalesce(sum({expr}), 0) FROM {table} WHERE {cond}")).one()
        rows[table] = count / n_measured
        value_bytes[table] = total / n_measured
    length = "length" if dialect == "sqlite" else "octet_length"
    state_mean = session.scalar(text(
        f"SELECT avg({length}(state)) FROM process_instance WHERE id IN ({ids})"))
    sample = [bytes(s) for s in session.scalars(text(
        f"SELECT state FROM process_instance WHERE id IN ({ids}) ORDER BY id LIMIT 200"))]
    json_mean = statistics.fmean(len(zlib.decompress(s)) for s in sample) if sample else 0

    physical, physical_after, total_db = {}, {}, None
    if dialect == "sqlite":
        try:
            owner = dict(session.execute(text(
                "SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')")).all())
            for name, pages in session.execute(text(
                    "SELECT name, sum(pgsize) FROM dbstat GROUP BY name")).all():
                table = owner.get(name, name)
                if table in INSTANCE_TABLES:
                    physical[table] = physical.get(table, 0) + pages / n_lifecycles
            physical_label = "dbstat pages incl. indexes"
        except Exception:  # dbstat not compiled in: fall back to the file size
            session.rollback()
            physical_label = None
        total_db = os.path.getsize(sqlite_path)
        session.remove()
    else:
        for table in INSTANCE_TABLES:
            physical[table] = session.scalar(text(
                f"SELECT pg_total_relation_size('{table}')")) / n_lifecycles
        total_db = session.scalar(text("SELECT pg_database_size(current_database())"))
        session.commit()
        session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"VACUUM FULL {', '.join(INSTANCE_TABLES)}"))
            for table in INSTANCE_TABLES:
                physical_after[table] = conn.scalar(text(
                    f"SELECT pg_total_relation_size('{table}')")) / n_lifecycles
        physical_label = "pg_total_relation_size"
    session.remove()
    return {"rows": rows, "value_bytes": value_bytes, "state_mean": float(state_mean or 0),
            "json_mean": json_mean, "physical": physical, "physical_after": physical_after,
            "physical_label": physical_label, "total_db": total_db}


# ---- report --------------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("-n", type=int, default=2000, help="measured lifecycles (default 2000)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="unmeasured lifecycles first (default min(50, n/10))")
    parser.add_argument("--timers", type=int, default=None,
                        help="instances in the timer scenario (default n/10, at least 10)")
    parser.add_argument("--breakdown", action="store_true",
                        help="time the runtime's internals too (ms per lifecycle, nested)")
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 when a target is missed")
    parser.add_argument("--postgresql-host")
    parser.add_argument("--postgresql-port")
    parser.add_argument("--postgresql-user")
    args = parser.parse_args(argv)
    n = max(2, args.n)
    warmup = args.warmup if args.warmup is not None else min(50, max(1, n // 10))
    k = args.timers if args.timers is not None else max(10, n // 10)
    t_begin = time.perf_counter()

    # -- bare floors (parse once with the app's parser class, like a deployment does)
    parsed_bare = specs.build(specs.read_dir(PROCESSES))
    bare_run(parsed_bare, warmup, serialize=True, key_prefix="W")
    gc.collect()
    bare, bare_wall, _ = bare_run(parsed_bare, n, serialize=False)
    gc.collect()
    bare_ser, bare_ser_wall, state_sizes = bare_run(parsed_bare, n, serialize=True)
    gc.collect()

    # -- the runtime over a real database
    database = Database(args, PG_DBNAME)
    try:
        from flask_migrate import upgrade

        from app import create_app
        from app.api.services import runtime as service_runtime
        from app.engine import deployments
        from app.extensions import db

        app = create_app({"SQLALCHEMY_DATABASE_URI": database.url, "FORMS_DIR": str(PROCESSES),
                          "PROCESSES_DIR": str(PROCESSES), "SCHEDULER_ENABLED": False})
        with app.app_context():
            upgrade()
            deployments.deploy(db.session, specs.read_dir(PROCESSES), source="bench",
                               actor="bench", forms_dir=str(PROCESSES))
            db.session.commit()
            db.session.remove()
            db_desc = database.describe(db)
            size_before = database_size(db, database.kind, database.sqlite_path)
            settings = service_runtime().settings  # the app's configured settings
            runtime = make_runtime_class()(db.session, settings)

            breakdown = Breakdown().__enter__() if args.breakdown else None
            try:
                runtime_run(runtime, db, warmup, "W", None)
                gc.collect()
                if breakdown:
                    breakdown.reset()
                timings = {"start": [], "find task": [], "complete": [], "message": [],
                           "total": []}
                rt_wall = runtime_run(runtime, db, n, "B", timings)
            finally:
                if breakdown:
                    breakdown.__exit__(None, None, None)

            from sqlalchemy import func, select

            from app.models.engine import ProcessInstance
            done = db.session.scalar(select(func.count()).select_from(ProcessInstance).where(
                ProcessInstance.business_key.like("B-%"), ProcessInstance.status == "completed"))
            db.session.remove()
            if done != n:
                raise SystemExit(f"only {done} of {n} runtime instances completed")
            store = storage(db, database.kind, n, n + warmup, database.sqlite_path)
            fire_times, tick_total, fired = timer_scenario(runtime, db, k)
            db.session.remove()
            db.engine.dispose()
    finally:
        database.close()
    elapsed = time.perf_counter() - t_begin

    # -- report
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in
                         ("spiffworkflow", "sqlalchemy", "flask", "psycopg")
                         if _has_dist(p))
    print()
    print(f"Orderflow engine benchmark: {PROCESS_ID} (2 service tasks, DMN, user task + SLA "
          f"timer, message wait)")
    print(f"  database : {db_desc}")
    print(f"  python   : {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPU(s); {versions}")
    print(f"  workload : {n} lifecycles measured (+{warmup} warm-up) one after the other in one "
          f"process; timer scenario {k} instances; run took {elapsed:.1f} s")
    print()

    rows = []
    labels = [("start", "start -> waits at user task"),
              ("find task", "find open task (inbox query)"),
              ("complete", "complete user task -> message wait"),
              ("message", "deliver message -> end"),
              ("total", "whole lifecycle")]
    for key, label in labels:
        for variant, data in (("bare", bare), ("bare+ser", bare_ser), ("runtime", timings)):
            if key in data:
                rows.append([label, variant, *(f"{v:.3f}" for v in stats_ms(data[key]))])
                label = ""
    rows.append(["timer fire (fire_timers unit)", "runtime", *(f"{v:.3f}" for v in
                                                                stats_ms(fire_times))])
    overhead = (tick_total - sum(fire_times)) / max(1, fired) * 1e3
    rows.append(["run_due acquire, per fired job", "runtime", "", "", f"{overhead:.3f}"])
    print("Latency per operation (ms)")
    print(common.table(["operation", "variant", "p50", "p99", "mean"], rows, "<<>>>"))
    print()

    bare_mean = statistics.fmean(bare["total"])
    rt_mean = statistics.fmean(timings["total"])
    rows = [
        ["bare SpiffWorkflow, in memory", f"{bare_mean * 1e3:.3f}", f"{n / bare_wall:.0f}",
         "1.00x"],
        ["bare + serialization (3 dumps, 2 loads)",
         f"{statistics.fmean(bare_ser['total']) * 1e3:.3f}", f"{n / bare_ser_wall:.0f}",
         f"{statistics.fmean(bare_ser['total']) / bare_mean:.2f}x"],
        [f"runtime + {database.kind}", f"{rt_mean * 1e3:.3f}", f"{n / rt_wall:.0f}",
         f"{rt_mean / bare_mean:.2f}x"],
        ["timer fire via run_due (runtime)", f"{(tick_total / max(1, fired)) * 1e3:.3f}",
         f"{fired / tick_total:.0f}" if tick_total else "-", "-"],
    ]
    print("Throughput (sequential, one process)")
    print(common.table(["variant", "ms/instance", "instances/s", "vs bare"], rows, "<>>>"))
    print(f"  runtime / bare+serialization = {rt_mean / statistics.fmean(bare_ser['total']):.2f}x"
          f"; database + bookkeeping share of the runtime lifecycle = "
          f"{1 - statistics.fmean(bare_ser['total']) / rt_mean:.0%}")
    print()

    rows = []
    totals = [0.0, 0.0, 0.0, 0.0]
    for t in INSTANCE_TABLES:
        phys = store["physical"].get(t)
        after = store["physical_after"].get(t)
        cells = [t, f"{store['rows'][t]:.2f}", f"{store['value_bytes'][t]:.0f}",
                 f"{phys:.0f}" if phys is not None else "-"]
        if store["physical_after"]:
            cells.append(f"{after:.0f}" if after is not None else "-")
        rows.append(cells)
        totals[0] += store["rows"][t]
        totals[1] += store["value_bytes"][t]
        totals[2] += phys or 0
        totals[3] += after or 0
    total_row = ["total", f"{totals[0]:.2f}", f"{totals[1]:.0f}",
                 f"{totals[2]:.0f}" if store["physical"] else "-"]
    header = ["table", "rows/inst", "value bytes/inst",
              f"physical bytes/inst ({store['physical_label'] or 'n/a'})"]
    if store["physical_after"]:
        header.append("after VACUUM FULL")
        total_row.append(f"{totals[3]:.0f}")
    rows.append(total_row)
    print(f"Storage per completed instance (value bytes: sum of column sizes of the {n} measured "
          f"instances' rows / {n}; physical: tables + indexes / {n + warmup} lifecycles)")
    print(common.table(header, rows, "<" + ">" * (len(header) - 1)))
    growth = store["total_db"] - size_before
    what = "file" if database.kind == "sqlite" else "pg_database_size"
    print(f"  database {what} grew by {growth / 1024:.0f} KiB over the {n + warmup} lifecycles: "
          f"{growth / (n + warmup):.0f} B per instance")
    print(f"  process_instance.state (zlib JSON without spec): {store['state_mean']:.0f} B "
          f"compressed at the end ({store['json_mean']:.0f} B uncompressed); "
          f"at the user task {statistics.fmean(state_sizes['user task']):.0f} B, "
          f"at the message wait {statistics.fmean(state_sizes['message wait']):.0f} B")
    print()

    if breakdown:
        print("Where the runtime's time goes (per lifecycle; an indented line is part of the "
              "less indented ones above it, so lines do not add up; ~1 us timer cost per call)")
        print(common.table(["function", "calls", "ms"], breakdown.rows(n), "<>>"))
        print()

    ratio = rt_mean / bare_mean
    rate = n / rt_wall
    ok_ratio = ratio <= TARGET_RATIO
    print("Targets")
    print(f"  runtime <= {TARGET_RATIO}x bare per instance : {ratio:.2f}x  "
          f"{'MET' if ok_ratio else 'NOT MET'}")
    if database.kind == "sqlite":
        ok_rate = rate >= TARGET_SQLITE_RATE
        print(f"  >= {TARGET_SQLITE_RATE:.0f} instances/s on SQLite    : {rate:.0f}/s  "
              f"{'MET' if ok_rate else 'NOT MET'}")
    else:
        ok_rate = True
        print(f"  >= {TARGET_SQLITE_RATE:.0f} instances/s (SQLite target, for reference): "
              f"{rate:.0f}/s on PostgreSQL")
    print()
    if args.check and not (ok_ratio and ok_rate):
        return 1
    return 0


def _has_dist(name):
    try:
        importlib.metadata.version(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


if __name__ == "__main__":
    sys.exit(main())
