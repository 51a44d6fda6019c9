"""Order-to-cash benchmark: N orders through the whole lifecycle over the HTTP API.

Every order has 3 lines and is driven like the users and services would drive it, with the Flask
test client and each user's bearer token:

    POST /api/orders (sales) -> inbox + complete the approval (supervisor or general manager)
    -> inbox + open + complete pick_pack (warehouse) -> POST /api/messages/shipment_delivered
    (services) -> POST /api/payments (finance) -> the order is completed.

In the same process, the same two diagrams (processes/order_lifecycle.bpmn with its call
activity order_approval.bpmn and the DMN approval_tier) run in memory by bare SpiffWorkflow with
stand-in operators that return what the real ones returned, without a database: the floor.

    .venv/bin/python bench/orders.py                 # SQLite (temp file), 300 orders
    scripts/with-postgres.sh .venv/bin/python bench/orders.py --db=postgresql
    .venv/bin/python bench/orders.py -n 100 --profile

Nothing is written into the repository: the SQLite file lives in a temp dir, the PostgreSQL
database ``orderflow_bench_orders`` is dropped at the end, and no bytecode is written.
"""
import sys

sys.dont_write_bytecode = True  # noqa: E402  (write nothing into the repo, not even __pycache__)

import argparse
import cProfile
import gc
import importlib.metadata
import json
import os
import platform
import pstats
import statistics
import time
import zlib
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.util.event import BpmnEvent  # noqa: E402
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from bench import common  # noqa: E402
from bench.common import Database  # noqa: E402

PROCESSES = ROOT / "processes"
FORMS = ROOT / "forms"
PROCESS_ID = "order_lifecycle"
PG_DBNAME = "orderflow_bench_orders"
TARGET_SQLITE_RATE = 50.0
PLAN_CYCLE = 15  # the order plan repeats every 15 orders (5 baskets x 3 customer slots)

# ---- the workload --------------------------------------------------------------------------
# Three lines each, stock-tracked goods without batches or serials (no shortage path: stock is
# received in bulk first). Prices before 13% VAT; totals with VAT decide the approval tier.
BASKETS = [
    [("FUR-CHAIR-ERG", 1), ("ELE-DOCK-USBC", 1), ("CON-PEN-GEL", 2)],   # ~2,300 CNY
    [("ELE-MON-27", 1), ("ELE-HEADSET", 2), ("CON-NOTE-A5", 3)],        # ~3,900 CNY
    [("FUR-CAB-3D", 1), ("FUR-SHELF-5T", 2), ("SPR-GASLIFT", 2)],       # ~2,200 CNY
    [("SPR-CASTER-50", 3), ("CON-LABEL-100", 4), ("ELE-DOCK-USBC", 2)], # ~2,100 CNY
    [("FUR-DESK-1400", 2), ("ELE-MON-27", 1), ("FUR-CHAIR-ERG", 1)],    # ~9,400 CNY: >= 5,000
]
STANDARD, VIP = "C-1001", "C-1002"  # C-1002 is a VIP: always the general manager's tier
# user -> group (the groups the diagrams name)
STAFF = {"alice": "sales", "sam": "sales_supervisor", "gina": "general_manager",
         "wendy": "warehouse", "fran": "finance", "shop": "services"}
APPROVER = {"sales_supervisor": ("sam", "approve_supervisor"),
            "general_manager": ("gina", "approve_manager")}
APPROVAL = {"decision": "approve"}
PARCELS = [{"weight_kg": 12.5}]


def plan(i: int) -> tuple[str, list]:
    """Order i: customer and lines. 4 of 5 baskets are below 5,000; every third order is VIP."""
    return (VIP if i % 3 == 2 else STANDARD), BASKETS[i % len(BASKETS)]


def tier_of(customer: str, total: Decimal) -> str:
    """What processes/approval_tier.dmn decides (checked against the task that appears)."""
    return "general_manager" if customer == VIP or total >= 5000 else "sales_supervisor"


def confirmations(pick: dict) -> list[dict]:
    """The pick list confirmed as printed (what tests/e2e does)."""
    return [{"shipment_line_id": line["line_id"], "quantity": float(line["quantity"]),
             **({"serials": line["serials"][:int(Decimal(line["quantity"]))]}
                if line.get("serials") else {})} for line in pick["lines"]]


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


class BenchError(SystemExit):
    pass


# ---- the driver: what the users and services do over HTTP ----------------------------------
STEPS = ("order", "inbox", "approve", "task", "pick_pack", "tracking", "delivered", "payment",
         "total")


class Driver:
    def __init__(self, client, tokens, db):
        self.client, self.db = client, db
        self.headers = {user: {"Authorization": f"Bearer {token}"}
                        for user, token in tokens.items()}
        self.tiers = {"sales_supervisor": 0, "general_manager": 0}

    def call(self, user, method, url, expect, **kwargs):
        t0 = time.perf_counter()
        response = getattr(self.client, method)(url, headers=self.headers[user], **kwargs)
        elapsed = time.perf_counter() - t0
        if response.status_code not in expect:
            raise BenchError(f"{method.upper()} {url} as {user}: {response.status_code} "
                             f"{response.get_data(as_text=True)[:2000]}")
        return response.get_json(), elapsed

    def inbox_task(self, user, node_id, number):
        """The open task of this order in the user's group inbox (view=groups, by task type)."""
        body, elapsed = self.call(user, "get", "/api/tasks", (200,),
                                  query_string={"view": "groups", "node_id": node_id})
        for item in body["items"]:
            if item["business_key"] == number:
                return item, elapsed
        raise BenchError(f"no open {node_id} task for {number} in {user}'s inbox "
                         f"({body['total']} open there)")

    def run_order(self, i: int, key_prefix: str, timings: dict | None) -> dict:
        from sqlalchemy import select

        from app.models.sales import SalesOrder
        from app.models.shipping import Shipment

        customer, lines = plan(i)
        t = {}
        t0 = time.perf_counter()
        created, t["order"] = self.call("alice", "post", "/api/orders", (201,), json={
            "customer": customer, "external_ref": f"{key_prefix}-{i}",
            "lines": [{"sku": sku, "quantity": str(qty)} for sku, qty in lines]})
        number, total = created["number"], Decimal(created["total"])

        tier = tier_of(customer, total)
        self.tiers[tier] += 1
        approver, node = APPROVER[tier]
        task, inbox1 = self.inbox_task(approver, node, number)
        _, t["approve"] = self.call(approver, "post", f"/api/tasks/{task['id']}/complete",
                                    (200,), json={"data": APPROVAL})

        task, inbox2 = self.inbox_task("wendy", "pick_pack", number)
        detail, t["task"] = self.call("wendy", "get", f"/api/tasks/{task['id']}", (200,))
        pick = detail["data"]["pick"]
        _, t["pick_pack"] = self.call("wendy", "post", f"/api/tasks/{task['id']}/complete",
                                      (200,), json={"data": {
                                          "confirmations": confirmations(pick),
                                          "parcels": PARCELS}})

        # The carrier knows the tracking number it issued; the driver reads it from the table.
        ts = time.perf_counter()
        tracking = self.db.session.scalar(select(Shipment.tracking_number).join(
            SalesOrder, SalesOrder.id == Shipment.order_id).where(SalesOrder.number == number))
        self.db.session.remove()  # end the read transaction (WAL checkpoints, PG snapshots)
        t["tracking"] = time.perf_counter() - ts
        if not tracking:
            raise BenchError(f"{number}: no tracking number after pick_pack")
        _, t["delivered"] = self.call("shop", "post", "/api/messages/shipment_delivered",
                                      (200,), json={"business_key": number,
                                                    "payload": {"tracking_number": tracking},
                                                    "message_id": f"delivered-{tracking}"})
        paid, t["payment"] = self.call("fran", "post", "/api/payments", (201,), json={
            "external_id": f"BANK-{number}", "amount": created["total"], "currency": "CNY",
            "reference": number})
        t["total"] = time.perf_counter() - t0
        if len(paid["order_ids_fully_paid"]) != 1:
            raise BenchError(f"{number}: payment did not settle the order: {paid}")
        if timings is not None:
            for key, value in t.items():
                timings[key].append(value)
            timings["inbox"] += [inbox1, inbox2]
        return {"number": number, "total": total, "customer": customer, "tier": tier,
                "approver": approver, "tracking": tracking}


def run_orders(driver, n, key_prefix, timings):
    done = []
    wall0 = time.perf_counter()
    for i in range(n):
        done.append(driver.run_order(i, key_prefix, timings))
    return done, time.perf_counter() - wall0


def check_completed(db, numbers):
    from sqlalchemy import func, select

    from app.models.engine import ProcessInstance
    from app.models.sales import SalesOrder

    completed = closed = 0
    for start in range(0, len(numbers), 500):
        chunk = numbers[start:start + 500]
        completed += db.session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.business_key.in_(chunk), ProcessInstance.status == "completed"))
        closed += db.session.scalar(select(func.count()).select_from(SalesOrder).where(
            SalesOrder.number.in_(chunk), SalesOrder.closed_at.is_not(None)))
    db.session.remove()
    if completed != len(numbers) or closed != len(numbers):
        raise BenchError(f"of {len(numbers)} orders, {completed} processes completed and "
                         f"{closed} orders closed")


# ---- bare SpiffWorkflow --------------------------------------------------------------------
def make_bare_engine_class():
    from app.engine import operators
    from app.engine.scripting import ScriptEngine

    class StandInEngine(ScriptEngine):
        """The app's script engine, with service calls answered by stand-ins (no database):
        the n-th call of an operator in an order gets what its n-th call returned in the real
        lifecycle (an operator called twice, like finance.order_balance before and after the
        payment, answers differently each time)."""

        def __init__(self, environment, unit, results, seen):
            super().__init__(environment, unit)
            self.results, self.seen = results, seen  # seen: calls so far in this order

        def call_service(self, task, operation_name=None, operation_params=None, **kwargs):
            # The parameters were evaluated by the task spec already; the stand-in ignores them.
            answers = self.results[operation_name]
            nth = self.seen.get(operation_name, 0)
            self.seen[operation_name] = nth + 1
            return json.dumps(answers[min(nth, len(answers) - 1)],
                              default=operators.to_json_default)

    return StandInEngine


class OperatorRecorder:
    """While active, keeps what every operator call returned, per business key, in call order."""

    def __init__(self):
        from app.engine import operators

        self.module, self.calls = operators, {}
        self.invoke = operators.invoke

    def __enter__(self):
        def recording_invoke(name, context, params):
            result = self.invoke(name, context, params)
            self.calls.setdefault(context.business_key, []).append((name, result))
            return result
        self.module.invoke = recording_invoke
        return self

    def __exit__(self, *exc):
        self.module.invoke = self.invoke

    def results(self, business_key) -> dict:
        """operator name -> [what its 1st, 2nd, ... call returned] in that order's lifecycle."""
        out = {}
        for name, result in self.calls.get(business_key, []):
            out.setdefault(name, []).append(result)
        return out


def bare_run(parsed, results, orders, *, serialize: bool):
    """The lifecycle of each order in memory; with serialize, dump after each of the 5 units and
    load before units 2-5, as the runtime does. Returns per-unit timings and the wall time."""
    from app.engine import serializer
    from app.engine.operators import UnitContext
    from app.engine.scripting import shared_environment

    engine_class = make_bare_engine_class()
    spec, subs = parsed.specs[PROCESS_ID], parsed.subprocess_specs[PROCESS_ID]
    pick = results["shipping.create_pick_list"][0]
    form = {"confirmations": confirmations(pick), "parcels": PARCELS}
    tracking = results["shipping.book_carrier"][0]["tracking_number"]
    phases = {k: [] for k in ("order", "approve", "pick_pack", "delivered", "payment", "total")}
    sizes = []
    perf = time.perf_counter

    seen = {}  # the current order's operator calls so far (reset per order)

    def engine(o, actor):
        return engine_class(shared_environment,
                            UnitContext(None, None, o["number"], PROCESS_ID, actor), results,
                            seen)

    def user_task(wf, node_id, number):
        for task in wf.get_tasks(state=TaskState.READY, manual=True):
            if task.task_spec.bpmn_id == node_id:
                return task
        raise BenchError(f"bare run: {number} does not wait at {node_id}")

    def unit(wf, o, actor, state):
        if serialize:
            wf = serializer.load(state, spec, subs)
            wf.script_engine = engine(o, actor)
        return wf

    def done(wf):
        if serialize:
            state = serializer.dump(wf)
            sizes.append(len(state))
            return state
        return None

    wall0 = perf()
    for i, o in enumerate(orders):
        node = APPROVER[o["tier"]][1]
        seen.clear()
        t0 = perf()
        wf = BpmnWorkflow(spec, subs, script_engine=engine(o, "alice"))
        wf.get_next_task(state=TaskState.READY).set_data(
            order_id=100000 + i, order_number=o["number"], amount=float(o["total"]),
            vip=o["customer"] == VIP, created_by="alice", customer_code=o["customer"],
            shipping_policy="complete")
        wf.do_engine_steps()
        state = done(wf)
        t1 = perf()
        wf = unit(wf, o, o["approver"], state)
        task = user_task(wf, node, o["number"])
        task.set_data(**APPROVAL, completed_by=o["approver"])
        task.run()
        wf.do_engine_steps()
        state = done(wf)
        t2 = perf()
        wf = unit(wf, o, "wendy", state)
        task = user_task(wf, "pick_pack", o["number"])
        task.set_data(**form, completed_by="wendy")
        task.run()
        wf.do_engine_steps()
        state = done(wf)
        t3 = perf()
        wf = unit(wf, o, "shop", state)
        wf.send_event(BpmnEvent(MessageEventDefinition("shipment_delivered"),
                                payload={"tracking_number": tracking}))
        wf.do_engine_steps()
        state = done(wf)
        t4 = perf()
        wf = unit(wf, o, "fran", state)
        wf.send_event(BpmnEvent(MessageEventDefinition("payment_received"),
                                payload={"external_id": f"BANK-{o['number']}",
                                         "amount": str(o["total"])}))
        wf.do_engine_steps()
        done(wf)
        t5 = perf()
        if not wf.is_completed():
            waits = [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.WAITING)]
            raise BenchError(f"bare run: {o['number']} did not complete (waits at {waits})")
        for key, a, b in (("order", t0, t1), ("approve", t1, t2), ("pick_pack", t2, t3),
                          ("delivered", t3, t4), ("payment", t4, t5), ("total", t0, t5)):
            phases[key].append(b - a)
    return phases, perf() - wall0, sizes


# ---- storage -------------------------------------------------------------------------------
# The tables an order adds rows to (others that change are listed after them).
ORDER_TABLES = ("sales_order", "sales_order_line", "reservation", "shipment", "shipment_line",
                "stock_ledger", "invoice", "invoice_line", "journal_entry", "journal_line",
                "payment", "payment_allocation", "process_instance", "human_task",
                "human_task_candidate", "instance_event", "job", "message_subscription",
                "processed_message", "notification", "outbox", "instance_wait", "node_visit",
                "engine_command", "purchase_order", "work_order")


def sqlite_checkpoint(db):
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.commit()


def snapshot(db, kind: str, sqlite_path: str | None) -> dict:
    """Rows, value bytes and physical bytes of every table, and the database's size."""
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import OperationalError

    session = db.session
    size_of = ("coalesce(length(CAST(\"{c}\" AS BLOB)), 0)" if kind == "sqlite"
               else "coalesce(pg_column_size(\"{c}\"), 0)")
    rows, values, physical = {}, {}, {}
    existing = set(inspect(db.engine).get_table_names())  # models may be ahead of migrations
    for table in db.metadata.sorted_tables:
        if table.name not in existing:
            continue
        expr = " + ".join(size_of.format(c=c.name) for c in table.columns)
        count, total = session.execute(text(
            f"SELECT count(*), coalesce(sum({expr}), 0) FROM \"{table.name}\"")).one()
        rows[table.name], values[table.name] = count, int(total)
    label = None
    if kind == "sqlite":
        session.remove()
        sqlite_checkpoint(db)
        try:
            owner = dict(session.execute(text(
                "SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')")).all())
            for name, size in session.execute(text(
                    "SELECT name, sum(pgsize) FROM dbstat GROUP BY name")).all():
                table = owner.get(name, name)
                physical[table] = physical.get(table, 0) + size
            label = "dbstat pages incl. indexes"
        except OperationalError:  # dbstat not compiled in
            session.rollback()
        db_size = os.path.getsize(sqlite_path)
    else:
        for table in rows:
            physical[table] = session.scalar(text(f"SELECT pg_total_relation_size('{table}')"))
        db_size = session.scalar(text("SELECT pg_database_size(current_database())"))
        label = "pg_total_relation_size"
    session.remove()
    return {"rows": rows, "values": values, "physical": physical, "db_size": db_size,
            "label": label}


def pg_vacuum_full(db):
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM FULL")


def order_extras(db, kind: str, numbers: list[str]) -> dict:
    """label_pdf and process_instance.state sizes of the measured orders."""
    from sqlalchemy import func, select

    from app.models.engine import ProcessInstance
    from app.models.sales import SalesOrder
    from app.models.shipping import Shipment

    length = func.length if kind == "sqlite" else func.octet_length
    label = state = 0
    sample = []
    for start in range(0, len(numbers), 500):
        chunk = numbers[start:start + 500]
        label += db.session.scalar(select(func.coalesce(func.sum(length(Shipment.label_pdf)), 0))
                                   .join(SalesOrder, SalesOrder.id == Shipment.order_id)
                                   .where(SalesOrder.number.in_(chunk))) or 0
        state += db.session.scalar(select(func.coalesce(func.sum(length(ProcessInstance.state)),
                                                        0))
                                   .where(ProcessInstance.business_key.in_(chunk))) or 0
    for blob in db.session.scalars(select(ProcessInstance.state).where(
            ProcessInstance.business_key.in_(numbers[:200]))):
        sample.append(len(zlib.decompress(bytes(blob))))
    db.session.remove()
    n = len(numbers)
    return {"label_pdf": label / n, "state": state / n,
            "state_json": statistics.fmean(sample) if sample else 0}


# ---- setup ---------------------------------------------------------------------------------
def setup_company(db, total_orders: int) -> dict:
    """Deploy processes/, seed the demo company, stock for every order, users and tokens."""
    from sqlalchemy import select

    from app import identity
    from app.domain import demo_data
    from app.domain.inventory import receive
    from app.engine import deployments, specs
    from app.models.inventory import Bin, Product, StockLevel, Warehouse

    session = db.session
    deployments.deploy(session, specs.read_dir(PROCESSES), source="bench", actor="bench",
                       forms_dir=str(FORMS))
    demo_data.seed(session)
    session.commit()

    need = {}
    for i in range(PLAN_CYCLE):
        for sku, qty in plan(i)[1]:
            need[sku] = need.get(sku, 0) + qty
    for sku, per_cycle in sorted(need.items()):
        quantity = per_cycle * (total_orders // PLAN_CYCLE + 2)
        # Into the bin reservations draw from first (warehouse code, bin code), so that bin never
        # runs dry and each line stays one pick: the steady state of a stocked warehouse.
        first = session.execute(
            select(Warehouse.code, Bin.code).join(Bin, Bin.warehouse_id == Warehouse.id)
            .join(StockLevel, StockLevel.bin_id == Bin.id)
            .join(Product, Product.id == StockLevel.product_id)
            .where(Product.sku == sku, StockLevel.on_hand > 0)
            .order_by(Warehouse.code, Bin.code).limit(1)).first() or ("SH-MAIN", "A-01")
        receive(session, sku=sku, warehouse=first[0], bin=first[1], quantity=Decimal(quantity),
                doc_type="receipt", doc_id=f"BENCH-{sku}", user="bench")
    tokens = {}
    for username, group in STAFF.items():
        user = identity.create_user(session, username, None, [group])
        tokens[username] = identity.create_token(session, user, "bench")
    session.commit()
    session.remove()
    return tokens


# ---- report --------------------------------------------------------------------------------
def code_fingerprint() -> str:
    """Which code ran: a hash over the app's sources and diagrams (there is no git call here)."""
    import hashlib
    from datetime import UTC, datetime

    digest, count, newest = hashlib.sha256(), 0, 0.0
    for folder in ("app", "service_tasks", "processes", "forms"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".bpmn", ".dmn", ".json") and path.is_file():
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
                count += 1
                newest = max(newest, path.stat().st_mtime)
    stamp = datetime.fromtimestamp(newest, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{digest.hexdigest()[:12]} ({count} files of app/, service_tasks/, processes/, " \
           f"forms/; newest modified {stamp})"


def _where(key) -> str:
    file, line, name = key
    if file == "~":
        return name
    if "site-packages/" in file:
        file = file.split("site-packages/", 1)[1]
    else:
        try:
            file = str(Path(file).resolve().relative_to(ROOT))
        except ValueError:
            file = Path(file).name
    return f"{file}:{line}({name})"


def _area(key) -> str:
    """Which package a function belongs to (for own time by area)."""
    file, _line, name = key
    if file == "~":
        for driver in ("sqlite3", "psycopg"):
            if driver in name:
                return f"{driver} (C calls)"
        return "builtins (C calls)"
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/", 1)[0]
    try:
        parts = Path(file).resolve().relative_to(ROOT).parts
        return "/".join(parts[:2]) if parts[0] == "app" else parts[0]
    except ValueError:
        pass
    if "/python3" in file and "/lib/" in file:
        rest = file.split("/lib/", 1)[1].split("/", 1)
        return "stdlib " + (rest[1].split("/", 1)[0].removesuffix(".py") if len(rest) > 1
                            else rest[0])
    return Path(file).name


def _is_app(key) -> bool:
    try:
        part = Path(key[0]).resolve().relative_to(ROOT).parts[0]
    except ValueError:
        return False
    return part in ("app", "service_tasks")


def profile_tables(profiler, orders: int) -> str:
    stats = pstats.Stats(profiler).stats
    out = []

    def top(title, items, index, count):
        ranked = sorted(items, key=lambda kv: kv[1][index], reverse=True)[:count]
        rows = [[f"{ct * 1e3 / orders:.2f}", f"{tt * 1e3 / orders:.2f}", f"{nc / orders:.1f}",
                 _where(key)] for key, (cc, nc, tt, ct, _callers) in ranked]
        out.append(f"{title} (ms per order over {orders} profiled orders)")
        out.append(common.table(["cum ms", "own ms", "calls", "function"], rows, ">>><"))
        out.append("")

    top("Top 25 functions by cumulative time", stats.items(), 3, 25)
    top("Top 25 functions of app/ and service_tasks/ by cumulative time",
        [kv for kv in stats.items() if _is_app(kv[0])], 3, 25)
    areas: dict[str, float] = {}
    for key, (_cc, _nc, tt, _ct, _callers) in stats.items():
        areas[_area(key)] = areas.get(_area(key), 0.0) + tt
    total = sum(areas.values())
    rows = [[area, f"{tt * 1e3 / orders:.2f}", f"{tt / total:.0%}"]
            for area, tt in sorted(areas.items(), key=lambda kv: kv[1], reverse=True)[:15]]
    out.append("Own time by package (ms per order; top 15)")
    out.append(common.table(["package", "own ms", "share"], rows, "<>>"))
    dbapi = {name: 0 for name in ("do_execute", "do_executemany", "do_execute_no_params",
                                  "do_commit")}
    for (file, _line, name), (_cc, nc, _tt, _ct, _callers) in stats.items():
        if name in dbapi and file.endswith("sqlalchemy/engine/default.py"):
            dbapi[name] += nc
    statements = dbapi["do_execute"] + dbapi["do_executemany"] + dbapi["do_execute_no_params"]
    out.append(f"  DBAPI per order: {statements / orders:.1f} statements "
               f"({dbapi['do_executemany'] / orders:.1f} of them executemany), "
               f"{dbapi['do_commit'] / orders:.1f} commits")
    out.append("")
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("-n", type=int, default=300, help="measured orders (default 300)")
    parser.add_argument("--warmup", type=int, default=PLAN_CYCLE,
                        help=f"unmeasured orders first (default {PLAN_CYCLE}, one plan cycle; "
                             "at least 1: the bare floor's stand-ins come from the first)")
    parser.add_argument("--profile", action="store_true",
                        help="afterwards, run --profile-orders more orders under cProfile and "
                             "print the top 25 functions by cumulative time")
    parser.add_argument("--profile-orders", type=int, default=None,
                        help="orders in the profiled batch (default min(n, 100))")
    parser.add_argument("--profile-out", metavar="FILE",
                        help="also write the raw profile there (pstats format; outside the repo)")
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 when the SQLite target is missed")
    parser.add_argument("--postgresql-host")
    parser.add_argument("--postgresql-port")
    parser.add_argument("--postgresql-user")
    args = parser.parse_args(argv)
    n = max(2, args.n)
    warmup = max(1, args.warmup)
    profile_n = (args.profile_orders if args.profile_orders is not None else min(n, 100)) \
        if args.profile else 0
    t_begin = time.perf_counter()
    code = code_fingerprint()  # before the imports: what this run loads
    load_start = os.getloadavg()[0]

    database = Database(args, PG_DBNAME, prefix="orderflow-bench-orders-")
    try:
        from flask_migrate import upgrade

        from app import create_app
        from app.engine import deployments, specs
        from app.extensions import db

        app = create_app({"SQLALCHEMY_DATABASE_URI": database.url,
                          "PROCESSES_DIR": str(PROCESSES), "FORMS_DIR": str(FORMS),
                          "SCHEDULER_ENABLED": False, "SECRET_KEY": "bench"})
        with app.app_context():
            upgrade()
            tokens = setup_company(db, warmup + n + profile_n)
            db_desc = database.describe(db)
            driver = Driver(app.test_client(), tokens, db)

            # -- warm-up: caches, connections, and one real lifecycle for the stand-ins
            with OperatorRecorder() as recorder:
                warm, _ = run_orders(driver, warmup, "W", None)
            check_completed(db, [o["number"] for o in warm])
            results = recorder.results(warm[0]["number"])
            db.session.remove()
            driver.tiers = dict.fromkeys(driver.tiers, 0)

            # -- the measured orders
            if database.kind == "postgresql":
                pg_vacuum_full(db)
            before = snapshot(db, database.kind, database.sqlite_path)
            gc.collect()
            timings = {k: [] for k in STEPS}
            cpu0 = time.process_time()
            measured, rt_wall = run_orders(driver, n, "B", timings)
            rt_cpu = time.process_time() - cpu0
            numbers = [o["number"] for o in measured]
            check_completed(db, numbers)
            after = snapshot(db, database.kind, database.sqlite_path)
            vacuumed = None
            if database.kind == "postgresql":
                pg_vacuum_full(db)
                vacuumed = snapshot(db, database.kind, database.sqlite_path)
            extras = order_extras(db, database.kind, numbers)
            tiers = dict(driver.tiers)

            # -- the bare floor: the same diagrams, parsed once with the app's parser
            parsed = specs.build(specs.read_dir(PROCESSES),
                                 form_lookup=deployments.forms_lookup(FORMS))
            bare_run(parsed, results, measured[:min(n, 50)], serialize=True)  # warm-up
            gc.collect()
            cpu0 = time.process_time()
            bare, bare_wall, _ = bare_run(parsed, results, measured, serialize=False)
            bare_cpu = time.process_time() - cpu0
            gc.collect()
            cpu0 = time.process_time()
            bare_ser, bare_ser_wall, state_sizes = bare_run(parsed, results, measured,
                                                            serialize=True)
            bare_ser_cpu = time.process_time() - cpu0
            gc.collect()

            # -- the profile (a separate batch: cProfile slows everything down)
            profile_text = None
            if profile_n:
                profiler = cProfile.Profile()
                cpu0 = time.process_time()
                profiler.enable()
                p_orders, p_wall = run_orders(driver, profile_n, "P", None)
                profiler.disable()
                p_cpu = time.process_time() - cpu0
                if args.profile_out:
                    profiler.dump_stats(args.profile_out)
                check_completed(db, [o["number"] for o in p_orders])
                profile_text = profile_tables(profiler, profile_n)
                profile_text += (f"  (under cProfile: {p_wall / profile_n * 1e3:.1f} ms per "
                                 f"order, {p_cpu / profile_n * 1e3:.1f} ms CPU per order, "
                                 f"{profile_n / p_wall:.1f} orders/s; the profile's times are "
                                 f"wall time)\n")
            db.session.remove()
            db.engine.dispose()
    finally:
        database.close()
    elapsed = time.perf_counter() - t_begin
    load_end = os.getloadavg()[0]

    # -- report
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in
                         ("spiffworkflow", "sqlalchemy", "flask", "werkzeug", "psycopg")
                         if _has_dist(p))
    print()
    print("Orderflow order-to-cash benchmark: order_lifecycle + order_approval + approval_tier "
          "over the HTTP API (Flask test client)")
    print(f"  database : {db_desc}")
    print(f"  python   : {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPU(s), load average {load_start:.2f} at the start, "
          f"{load_end:.2f} at the end; {versions}")
    print(f"  code     : {code}")
    print(f"  workload : {n} orders of 3 lines measured (+{warmup} warm-up), one after the "
          f"other in one process; approvals: {tiers['sales_supervisor']} sales_supervisor, "
          f"{tiers['general_manager']} general_manager; "
          f"{sum(o['customer'] == VIP for o in measured)} VIP orders; run took {elapsed:.1f} s")
    print()

    labels = [
        ("order", "POST /api/orders (create, start -> approval task)", "start -> approval"),
        ("inbox", "GET /api/tasks?view=groups (2 per order)", None),
        ("approve", "POST /api/tasks/{id}/complete approval -> pick_pack",
         "complete approval -> pick_pack"),
        ("task", "GET /api/tasks/{id} (the pick list)", None),
        ("pick_pack", "POST /api/tasks/{id}/complete pick_pack -> wait delivery",
         "complete pick_pack -> wait delivery"),
        ("tracking", "tracking number (driver SQL, not an API call)", None),
        ("delivered", "POST /api/messages/shipment_delivered -> wait payment",
         "shipment_delivered -> wait payment"),
        ("payment", "POST /api/payments -> payment_received -> completed",
         "payment_received -> completed"),
        ("total", "whole order", "whole order"),
    ]
    rows = []
    for key, label, bare_label in labels:
        if bare_label is not None:
            for variant, data in (("bare", bare), ("bare+ser", bare_ser)):
                rows.append([label, variant, *(f"{v:.3f}" for v in stats_ms(data[key]))])
                label = ""
        rows.append([label, f"runtime+{database.kind}",
                     *(f"{v:.3f}" for v in stats_ms(timings[key]))])
    print("Latency per step (ms); bare rows are the same engine work in memory")
    print(common.table(["step", "variant", "p50", "p99", "mean"], rows, "<<>>>"))
    print()

    bare_mean = statistics.fmean(bare["total"])
    ser_mean = statistics.fmean(bare_ser["total"])
    rt_mean = rt_wall / n
    writes = sum(statistics.fmean(timings[k]) for k in
                 ("order", "approve", "pick_pack", "delivered", "payment"))
    reads = sum(timings["inbox"]) / n + statistics.fmean(timings["task"])
    rows = [
        ["bare SpiffWorkflow, in memory", f"{bare_mean * 1e3:.3f}",
         f"{bare_cpu / n * 1e3:.3f}", f"{n / bare_wall:.0f}", "1.00x"],
        ["bare + serialization (5 dumps, 4 loads)", f"{ser_mean * 1e3:.3f}",
         f"{bare_ser_cpu / n * 1e3:.3f}", f"{n / bare_ser_wall:.0f}",
         f"{ser_mean / bare_mean:.2f}x"],
        [f"runtime + {database.kind} over HTTP (whole run)", f"{rt_mean * 1e3:.3f}",
         f"{rt_cpu / n * 1e3:.3f}", f"{n / rt_wall:.1f}", f"{rt_mean / bare_mean:.2f}x"],
    ]
    print("Throughput (completed orders, sequential, one process; CPU: this process's CPU time)")
    print(common.table(["variant", "ms/order", "CPU ms/order", "orders/s", "vs bare"], rows,
                "<>>>>"))
    print(f"  of the runtime's {rt_mean * 1e3:.1f} ms per order: the 5 state-changing requests "
          f"{writes * 1e3:.1f} ms, the 3 reads (2 inbox + pick list) {reads * 1e3:.1f} ms, "
          f"the driver's tracking lookup {statistics.fmean(timings['tracking']) * 1e3:.1f} ms")
    print(f"  runtime / bare+serialization = {rt_mean / ser_mean:.1f}x: the engine's own work "
          f"with (de)serialization is {ser_mean / rt_mean:.0%} of the runtime's time per order; "
          f"the rest is HTTP, auth, the ERP operators' database work and the runtime's "
          f"bookkeeping")
    print()

    grown = [t for t in after["rows"] if t not in ORDER_TABLES and
             after["rows"][t] != before["rows"][t]]
    rows = []
    totals = [0.0, 0.0, 0.0, 0.0]
    for t in [*ORDER_TABLES, *grown]:
        if t not in after["rows"]:
            continue
        d_rows = (after["rows"][t] - before["rows"][t]) / n
        d_values = (after["values"][t] - before["values"][t]) / n
        d_phys = (after["physical"].get(t, 0) - before["physical"].get(t, 0)) / n
        cells = [t + ("" if t in ORDER_TABLES else " (*)"), f"{d_rows:.2f}", f"{d_values:.0f}",
                 f"{d_phys:.0f}" if after["label"] else "-"]
        totals[0] += d_rows
        totals[1] += d_values
        totals[2] += d_phys
        if vacuumed is not None:
            d_vac = (vacuumed["physical"].get(t, 0) - before["physical"].get(t, 0)) / n
            cells.append(f"{d_vac:.0f}")
            totals[3] += d_vac
        rows.append(cells)
    total_row = ["total", f"{totals[0]:.2f}", f"{totals[1]:.0f}",
                 f"{totals[2]:.0f}" if after["label"] else "-"]
    header = ["table", "rows/order", "value bytes/order",
              f"physical bytes/order ({after['label'] or 'n/a'})"]
    if vacuumed is not None:
        header.append("after VACUUM FULL")
        total_row.append(f"{totals[3]:.0f}")
    rows.append(total_row)
    print(f"Storage per completed order (change over the {n} measured orders / {n}; value bytes: "
          f"sum of column sizes; physical: table + indexes)")
    print(common.table(header, rows, "<" + ">" * (len(header) - 1)))
    if grown:
        print("  (*) not in the list of order tables, but its row count changed during the run")
    what = "file (after a WAL checkpoint)" if database.kind == "sqlite" else "pg_database_size"
    growth = after["db_size"] - before["db_size"]
    print(f"  database {what} grew by {growth / 1024:.0f} KiB: {growth / n:.0f} B per order"
          + (f"; {(vacuumed['db_size'] - before['db_size']) / n:.0f} B after VACUUM FULL"
             if vacuumed else ""))
    print(f"  shipment.label_pdf: {extras['label_pdf']:.0f} B per order (in shipment's value "
          f"bytes above); process_instance.state: {extras['state']:.0f} B compressed at the end "
          f"({extras['state_json']:.0f} B JSON), mean over the 5 bare+ser dumps "
          f"{statistics.fmean(state_sizes):.0f} B")
    print()

    if profile_text:
        print(profile_text)

    rate = n / rt_wall
    ok = rate >= TARGET_SQLITE_RATE
    print("Target")
    if database.kind == "sqlite":
        print(f"  >= {TARGET_SQLITE_RATE:.0f} completed orders/s on SQLite: {rate:.1f}/s in one "
              f"process ({os.cpu_count()} CPU(s) here)  {'MET' if ok else 'NOT MET'}")
    else:
        ok = True
        print(f"  >= {TARGET_SQLITE_RATE:.0f} completed orders/s (SQLite target, for reference): "
              f"{rate:.1f}/s on PostgreSQL")
    print()
    return 1 if args.check and not ok else 0


def _has_dist(name):
    try:
        importlib.metadata.version(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


if __name__ == "__main__":
    sys.exit(main())
