"""Write a run's plan in bulk, touching only what changed since the previous run.

Planned orders: a new proposal for the same item and due date keeps the existing row (its id and
its run_id, unless quantity, kind, release or supplier changed); rows the plan no longer wants are
deleted; the rest are inserted. Firm and released orders are never rewritten.
Pegging: recomputed for every open order (it says which demand each supply serves now), then
diffed against what is stored, so a rerun on unchanged data writes nothing.
The partial unique index on (product, due date) of planned rows makes a duplicate impossible even
if two runs raced past the run lock.

Bulk paths: COPY on PostgreSQL (ids drawn from the sequence first); on SQLite the driver's
executemany with ids assigned up front (SQLAlchemy's RETURNING in parameter order falls back to
one statement per row there). At 100,000s of rows the per-row overhead is what counts.
"""
from sqlalchemy import bindparam, func, select, text

from app.domain.mrp_netting import Plan
from app.models.manufacturing import Pegging, PlannedOrder
from app.models.types import utcnow

CHUNK = 5000  # bounds IN lists (SQLite's variable limit) and RETURNING batches
ORDERS, PEGGING = PlannedOrder.__table__, Pegging.__table__
ORDER_COLUMNS = ("kind", "product_id", "quantity", "release_date", "due_date", "status", "run_id",
                 "supplier_id", "created_at", "updated_at")
PEG_COLUMNS = ("planned_order_id", "demand_type", "demand_id", "quantity")


def _chunks(rows):
    for start in range(0, len(rows), CHUNK):
        yield rows[start:start + CHUNK]


def _is_postgresql(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _copy(session, table: str, columns, rows) -> None:
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _executemany(session, table, columns, rows) -> None:
    """INSERT through the driver's executemany, values converted once by the columns' own bind
    processors (cached per distinct value: dates and timestamps repeat a lot)."""
    dialect = session.get_bind().dialect
    converters = []
    for name in columns:
        type_ = table.c[name].type
        process = type_.dialect_impl(dialect).bind_processor(dialect)
        if process is None or name == "quantity":
            converters.append(process)
            continue
        cache: dict = {}
        converters.append(lambda v, p=process, c=cache: c[v] if v in c else c.setdefault(v, p(v)))
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
           f"VALUES ({', '.join([mark] * len(columns))})")
    for chunk in _chunks(rows):
        session.connection().exec_driver_sql(sql, [
            tuple(v if f is None or v is None else f(v) for f, v in zip(converters, row))
            for row in chunk])


def _insert_orders(session, rows: list[tuple]) -> list[int]:
    """Insert (ORDER_COLUMNS) rows with ids taken up front; returns the ids in row order."""
    if not rows:
        return []
    if _is_postgresql(session):
        ids = list(session.execute(text(
            "SELECT nextval(pg_get_serial_sequence('planned_order', 'id')) "
            "FROM generate_series(1, :n)"), {"n": len(rows)}).scalars())
        _copy(session, "planned_order", ("id",) + ORDER_COLUMNS,
              ((id_, *row) for id_, row in zip(ids, rows)))
        return ids
    # SQLite: this transaction already holds the database's write lock (the run row is
    # written), so no one else can take ids between max(id) and the insert.
    start = (session.execute(select(func.max(ORDERS.c.id))).scalar() or 0) + 1
    ids = list(range(start, start + len(rows)))
    _executemany(session, ORDERS, ("id",) + ORDER_COLUMNS,
                 [(id_, *row) for id_, row in zip(ids, rows)])
    return ids


def _insert_pegs(session, rows: list[tuple]) -> None:
    if not rows:
        return
    if _is_postgresql(session):
        _copy(session, "pegging", PEG_COLUMNS, rows)
    else:
        _executemany(session, PEGGING, PEG_COLUMNS, rows)


def write_plan(session, run_id: int, plan: Plan, existing) -> dict:
    """Upsert planned orders and sync pegging; returns counts and {key: id} for every key."""
    now = utcnow()
    stamp = now.replace(tzinfo=None) if _is_postgresql(session) else now  # COPY: naive UTC
    by_bucket = {(row.product_id, row.due_date): row for row in existing}
    ids: dict[int, int] = {}
    changed, new, unchanged = [], [], 0
    for order in plan.orders:
        row = by_bucket.pop((order.product_id, order.due), None)
        if row is None:
            new.append(order)
            continue
        ids[order.key] = row.id
        if (row.kind, row.quantity, row.release_date, row.supplier_id) == \
                (order.kind, order.quantity, order.release, order.supplier_id):
            unchanged += 1
        else:
            changed.append({"b_id": row.id, "b_kind": order.kind, "b_quantity": order.quantity,
                            "b_release_date": order.release, "b_supplier_id": order.supplier_id})
    stale = [row.id for row in by_bucket.values()]

    session.flush()
    # Pegging: stored rows of open orders against the new ones (stale orders' pegs go too).
    open_orders = select(ORDERS.c.id).where(
        ORDERS.c.status.in_(("planned", "firm", "released"))).scalar_subquery()
    stored = {(po, dt, did): (peg_id, qty) for peg_id, po, dt, did, qty in session.execute(
        select(PEGGING.c.id, PEGGING.c.planned_order_id, PEGGING.c.demand_type,
               PEGGING.c.demand_id, PEGGING.c.quantity)
        .where(PEGGING.c.planned_order_id.in_(open_orders))).all()}
    for chunk in _chunks(stale):
        session.execute(PEGGING.delete().where(PEGGING.c.planned_order_id.in_(chunk)))
        session.execute(ORDERS.delete().where(ORDERS.c.id.in_(chunk)))
    if changed:
        session.execute(ORDERS.update().where(ORDERS.c.id == bindparam("b_id")).values(
            kind=bindparam("b_kind"), quantity=bindparam("b_quantity"),
            release_date=bindparam("b_release_date"), supplier_id=bindparam("b_supplier_id"),
            run_id=run_id, updated_at=now), changed)
    inserted = _insert_orders(session, [
        (o.kind, o.product_id, o.quantity, o.release, o.due, "planned", run_id, o.supplier_id,
         stamp, stamp) for o in new])
    ids.update(zip((o.key for o in new), inserted))

    wanted: dict[tuple, object] = {}
    for ref, demand_type, demand_id, qty in plan.pegs:
        key = (ids.get(ref, ref), demand_type,
               ids.get(demand_id, demand_id) if demand_type == "planned_order" else demand_id)
        wanted[key] = wanted[key] + qty if key in wanted else qty
    stale_ids = set(stale)
    gone = [peg_id for key, (peg_id, qty) in stored.items()
            if key[0] not in stale_ids and wanted.get(key) != qty]
    for chunk in _chunks(gone):
        session.execute(PEGGING.delete().where(PEGGING.c.id.in_(chunk)))
    add = [(*key, qty) for key, qty in wanted.items()
           if key not in stored or stored[key][1] != qty]
    _insert_pegs(session, add)
    for obj in list(session.identity_map.values()):  # loaded orders must not show old values
        if isinstance(obj, (PlannedOrder, Pegging)):
            session.expire(obj)
    return {"ids": ids, "created": len(new), "updated": len(changed), "unchanged": unchanged,
            "deleted": len(stale), "pegs": len(wanted), "pegs_written": len(add) + len(gone)}
