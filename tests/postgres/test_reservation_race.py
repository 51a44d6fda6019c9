"""Twenty orders race for ten units on a real PostgreSQL: the bin rows' locks decide."""
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.domain import inventory
from app.extensions import db
from app.models.inventory import ReplenishmentRequest, Reservation, StockLedger, StockLevel
from tests.domain.test_inventory import make_bin, make_order, make_product

pytestmark = pytest.mark.postgres_only


def in_threads(app, count, work):
    """work(i) in `count` threads started together, each with its own app context and session."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(i):
        with app.app_context():
            try:
                barrier.wait()
                results[i] = work(i)
                db.session.commit()
            except Exception as err:  # surfaced by the assertion below
                import traceback
                errors.append(f"{err!r}\n{traceback.format_exc()}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, "\n".join(errors)
    return results


def test_twenty_orders_for_ten_units_reserve_exactly_ten(app, session):
    product = make_product(session)
    make_bin(session, "WH1", "A-01")
    make_bin(session, "WH1", "A-02")
    inventory.receive(session, sku="WIDGET", warehouse="WH1", bin="A-01", quantity=Decimal(6))
    inventory.receive(session, sku="WIDGET", warehouse="WH1", bin="A-02", quantity=Decimal(4))
    order_ids = [make_order(session, (product, 1)).id for _ in range(20)]
    session.commit()

    results = in_threads(app, 20, lambda i: inventory.reserve_order(db.session, order_ids[i]))

    assert sorted(r["complete"] for r in results) == [False] * 10 + [True] * 10
    session.expire_all()
    levels = list(session.scalars(select(StockLevel)))
    assert sum(lv.reserved for lv in levels) == 10
    assert all(0 <= lv.reserved <= lv.on_hand and lv.on_hand >= 0 for lv in levels)
    assert session.scalar(select(func.sum(Reservation.quantity))
                          .where(Reservation.status == "active")) == 10
    # each unit went to one order: per bin, the reservations add up to the bin's reserved figure
    for lv in levels:
        assert session.scalar(select(func.sum(Reservation.quantity))
                              .where(Reservation.bin_id == lv.bin_id)) == lv.reserved
    short = session.scalars(select(ReplenishmentRequest).where(
        ReplenishmentRequest.status == "open")).all()
    assert len(short) == 10 and all(r.quantity == 1 for r in short)
    assert sum(lv.on_hand for lv in levels) == session.scalar(
        select(func.sum(StockLedger.quantity)))  # reserving never touched the ledger
