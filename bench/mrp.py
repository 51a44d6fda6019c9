"""MRP benchmark: 5,000 items on 4 BOM levels, 20,000 open demand lines, 90 daily buckets.

Generates a deterministic data set (seeded) in a fresh database, then times
app.domain.mrp.run_mrp + commit three times:

  1. the first run (every planned order and peg inserted),
  2. a rerun on the same data (every planned order matched and kept in place: the idempotent path),
  3. a rerun under tracemalloc, for the peak Python memory the run allocates.

Also printed: the process's peak RSS (resource.getrusage; it includes data generation).

    .venv/bin/python bench/mrp.py
    scripts/with-postgres.sh .venv/bin/python bench/mrp.py --db=postgresql

Nothing is written into the repository: the SQLite file lives in a temp dir, the PostgreSQL
database ``orderflow_bench_mrp`` is dropped at the end, and no bytecode is written.
Targets (issue 6): < 10 s and < 1 GB on 2 cores.
"""
import sys

sys.dont_write_bytecode = True  # noqa: E402

import argparse  # noqa: E402
import gc  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from datetime import date, datetime, timedelta, timezone  # noqa: E402
from decimal import Decimal  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_DBNAME = "orderflow_bench_mrp"
LEVELS = (500, 1000, 1500, 2000)  # items per BOM level: finished goods ... bought parts
TARGET_SECONDS = 10.0
TARGET_BYTES = 1 << 30
TODAY = date(2026, 3, 2)
D = Decimal


class Database:
    def __init__(self, args):
        self.kind, self.tmpdir, self.admin = args.db, None, None
        if self.kind == "sqlite":
            self.tmpdir = tempfile.mkdtemp(prefix="orderflow-bench-mrp-")
            self.url = f"sqlite:///{os.path.join(self.tmpdir, 'bench.db')}"
            return
        import psycopg

        host = args.postgresql_host or os.environ.get("PGHOST") or "127.0.0.1"
        port = int(args.postgresql_port or os.environ.get("PGPORT") or 5432)
        user = args.postgresql_user or os.environ.get("PGUSER") or "postgres"
        self.admin = psycopg.connect(host=host, port=port, user=user, dbname="postgres",
                                     autocommit=True)
        self.admin.execute(f"DROP DATABASE IF EXISTS {PG_DBNAME}")
        self.admin.execute(f"CREATE DATABASE {PG_DBNAME}")
        self.url = f"postgresql+psycopg://{user}@{host}:{port}/{PG_DBNAME}"

    def close(self):
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        if self.admin is not None:
            self.admin.execute(f"DROP DATABASE IF EXISTS {PG_DBNAME} WITH (FORCE)")
            self.admin.close()


# ---- the data set --------------------------------------------------------------------------
def generate(session, demand_lines: int, seed: int) -> dict:
    """Products on 4 levels, BOMs (3–5 shared components from the levels below), routings,
    planning settings, stock, open replenishment requests, firm orders and sales orders."""
    from sqlalchemy import insert, select

    from app.domain.boms import recompute_low_level_codes
    from app.models.inventory import (Bin, Product, ReplenishmentRequest, StockLevel, Supplier,
                                      Warehouse)
    from app.models.manufacturing import (Bom, BomLine, ItemPlanning, PlannedOrder, Routing,
                                          RoutingOperation, WorkCentre)
    from app.models.sales import Customer, SalesOrder, SalesOrderLine

    rnd = random.Random(seed)
    now = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    session.execute(insert(Supplier), [{"code": f"S{i}", "name": f"Supplier {i}"}
                                       for i in range(20)])
    suppliers = list(session.scalars(select(Supplier.id)))
    wh = Warehouse(code="WH", name="Main")
    session.add(wh)
    session.flush()
    bin_ = Bin(warehouse_id=wh.id, code="A-01")
    session.add(bin_)
    session.add(Customer(code="C1", name="Customer", normalized_name="customer"))
    session.flush()

    rows, level_of = [], []
    for level, count in enumerate(LEVELS):
        for i in range(count):
            buy = level == len(LEVELS) - 1
            rows.append({"sku": f"L{level}-{i:05d}", "name": f"Item {level}/{i}",
                         "lead_time_days": rnd.randint(1, 4) if not buy else rnd.randint(3, 15),
                         # 2 % of bought parts lack a supplier: "missing supplier" exceptions
                         "default_supplier_id": rnd.choice(suppliers)
                         if buy and rnd.random() > 0.02 else None,
                         "created_at": now})
            level_of.append(level)
    session.execute(insert(Product), rows)
    ids = list(session.scalars(select(Product.id).order_by(Product.id)))
    by_level = [[pid for pid, lv in zip(ids, level_of) if lv == level]
                for level in range(len(LEVELS))]

    session.execute(insert(Bom), [{"product_id": pid, "version": 1, "active": True,
                                   "created_at": now, "updated_at": now}
                                  for level in by_level[:-1] for pid in level])
    bom_of = dict(session.execute(select(Bom.product_id, Bom.id)).all())
    lines = []
    for level, parents in enumerate(by_level[:-1]):
        for pid in parents:
            comps = rnd.sample(by_level[level + 1], rnd.randint(3, 5))
            if level + 2 < len(LEVELS) and rnd.random() < 0.2:  # a part shared across levels
                comps.append(rnd.choice(by_level[level + 2]))
            for no, comp in enumerate(comps, start=1):
                lines.append({"bom_id": bom_of[pid], "line_no": no, "component_id": comp,
                              "qty_per": D(rnd.randint(1, 4)),
                              "scrap_percent": D(rnd.choice((0, 0, 2, 5)))})
    session.execute(insert(BomLine), lines)

    session.execute(insert(WorkCentre), [{"code": f"WC{i}", "name": f"Centre {i}",
                                          "hours_per_day": D(8)} for i in range(10)])
    centres = list(session.scalars(select(WorkCentre.id)))
    make_items = [pid for level in by_level[:-1] for pid in level]
    session.execute(insert(Routing), [{"product_id": pid, "name": "std", "active": True}
                                      for pid in make_items])
    session.execute(insert(RoutingOperation), [
        {"routing_id": rid, "seq": 10, "work_centre_id": rnd.choice(centres),
         "setup_minutes": D(rnd.choice((30, 60, 120))), "run_minutes": D(rnd.randint(1, 20))}
        for rid in session.scalars(select(Routing.id))])

    plans = []
    for pid in ids:
        rule = rnd.choice(("lot_for_lot", "lot_for_lot", "fixed", "eoq", "moq"))
        plans.append({"product_id": pid, "lot_sizing": rule,
                      "fixed_qty": D(rnd.choice((50, 100, 200))) if rule == "fixed" else D(0),
                      "min_order_qty": D(rnd.choice((20, 50))) if rule == "moq" else D(0),
                      "order_multiple": D(10) if rnd.random() < 0.2 else D(0),
                      "safety_stock": D(rnd.choice((0, 0, 0, 5, 20))),
                      "order_cost": D(50), "holding_cost": D(2), "low_level_code": 0})
    session.execute(insert(ItemPlanning), plans)
    recompute_low_level_codes(session)  # what boms.create_bom does on every change

    stocked = rnd.sample(ids, len(ids) * 3 // 10)
    session.execute(insert(StockLevel), [
        {"product_id": pid, "bin_id": bin_.id, "warehouse_id": wh.id,
         "on_hand": D(rnd.randint(1, 200)), "reserved": D(0)} for pid in stocked])
    session.execute(insert(ReplenishmentRequest), [
        {"product_id": pid, "quantity": D(rnd.randint(10, 100)), "status": "open",
         "due_date": TODAY + timedelta(days=rnd.randint(0, 30)), "created_at": now}
        for pid in rnd.sample(by_level[-1], 1000)])
    session.execute(insert(PlannedOrder), [
        {"kind": "work_order", "product_id": pid, "quantity": D(rnd.randint(5, 50)),
         "release_date": TODAY + timedelta(days=d), "due_date": TODAY + timedelta(days=d + 2),
         "status": "firm", "created_at": now, "updated_at": now}
        for pid, d in ((pid, rnd.randint(0, 40)) for pid in rnd.sample(by_level[1], 200))])

    orders = demand_lines // 4
    session.execute(insert(SalesOrder), [
        {"number": f"SO-{i:06d}", "customer_id": 1, "currency": "CNY", "created_at": now,
         # a few overdue, most inside the horizon, some after it
         "requested_date": TODAY + timedelta(days=rnd.randint(-5, 100))}
        for i in range(orders)])
    order_ids = list(session.scalars(select(SalesOrder.id).order_by(SalesOrder.id)))
    # demand on finished goods, plus spare-part sales of level-1 items
    sellable = by_level[0] * 4 + by_level[1]
    session.execute(insert(SalesOrderLine), [
        {"order_id": oid, "line_no": no, "product_id": rnd.choice(sellable),
         "quantity": D(rnd.randint(1, 20)), "list_price": D(10), "unit_price": D(10),
         "amount": D(100), "tax_rate": D("0.13"), "tax_amount": D(13), "pricing_source": "bench"}
        for oid in order_ids for no in range(1, 5)])
    session.commit()
    return {"items": len(ids), "boms": len(bom_of), "bom_lines": len(lines),
            "demand_lines": orders * 4, "stocked": len(stocked)}


# ---- measuring ---------------------------------------------------------------------------
def timed_run(session, mrp, traced=False):
    gc.collect()
    if traced:
        tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    run = mrp.run_mrp(session, today=TODAY, started_by="bench")
    session.commit()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = None
    if traced:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    counts = dict(run.counts)
    session.remove()
    return seconds, cpu, peak, counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--lines", type=int, default=20000, help="open demand lines (20000)")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--postgresql-host")
    parser.add_argument("--postgresql-port")
    parser.add_argument("--postgresql-user")
    args = parser.parse_args(argv)

    database = Database(args)
    try:
        from app import create_app
        from app.domain import mrp
        from app.extensions import db

        app = create_app({"SQLALCHEMY_DATABASE_URI": database.url, "SCHEDULER_ENABLED": False})
        with app.app_context():
            db.create_all()
            t0 = time.perf_counter()
            sizes = generate(db.session, args.lines, args.seed)
            generated = time.perf_counter() - t0
            db.session.remove()
            first, first_cpu, _, counts = timed_run(db.session, mrp)
            second, second_cpu, _, counts2 = timed_run(db.session, mrp)
            # peak RSS now, before tracemalloc's own bookkeeping inflates it
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
            third, _, peak, _ = timed_run(db.session, mrp, traced=True)
            dialect = db.engine.dialect.name
            server = db.session.execute(db.text("SELECT version()")).scalar() \
                if dialect == "postgresql" else "SQLite " + __import__("sqlite3").sqlite_version
            db.session.remove()
            db.engine.dispose()
    finally:
        database.close()

    load = os.getloadavg()[0]
    print(f"MRP benchmark on {server.split(',')[0]}; Python {platform.python_version()}, "
          f"{os.cpu_count()} CPU(s), load average {load:.1f} at the end")
    print(f"  data: {sizes['items']} items on {len(LEVELS)} levels, {sizes['boms']} BOMs with "
          f"{sizes['bom_lines']} lines, {sizes['demand_lines']} open demand lines "
          f"({counts['demand_lines']} inside the 90-day horizon), {sizes['stocked']} items in "
          f"stock, 1000 open requests, 200 firm work orders; generated in {generated:.1f} s")
    print(f"  plan: {counts['planned_orders']} planned orders ({counts['work_orders']} work "
          f"orders, {counts['purchase_requests']} purchase requests) on "
          f"{counts['items_planned']} items, {counts['pegs']} pegs, "
          f"{counts['exceptions']} exceptions")
    print(f"  first run (all inserted):  {first:6.2f} s wall, {first_cpu:6.2f} s CPU in this "
          f"process"
          f" ({counts['pegs_written']} pegs written)")
    print(f"  rerun (same data):         {second:6.2f} s wall, {second_cpu:6.2f} s CPU "
          f"(created {counts2['created']}, unchanged {counts2['unchanged']}, "
          f"{counts2['pegs_written']} pegs written)")
    print(f"  rerun under tracemalloc:   {third:6.2f} s wall; peak Python memory of a run "
          f"{peak / 2**20:.0f} MiB")
    print(f"  process peak RSS before tracemalloc (incl. generation): {rss / 2**20:.0f} MiB")
    worst = max(first, second)
    ok = worst < TARGET_SECONDS and max(peak, rss) < TARGET_BYTES
    print(f"  target < {TARGET_SECONDS:.0f} s and < 1 GiB: {'met' if ok else 'MISSED'}")
    if args.check and not ok:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
