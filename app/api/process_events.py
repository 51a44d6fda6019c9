"""Facts recorded outside a process that its instances wait for, sent as messages after commit.

The fact (a goods receipt, a payment) is committed first; then each waiting order's process gets
its message as its own unit of work, with a message id derived from the fact, so a replayed
request re-sends nothing twice and a failed send can simply be replayed.
"""
import logging

from sqlalchemy import select

from app.api.services import runtime
from app.engine.errors import InvalidState, NotFound
from app.extensions import db
from app.models.sales import SalesOrder

log = logging.getLogger(__name__)


def tell_orders(message: str, order_ids, fact_key: str, payload: dict | None = None,
                actor=None) -> list[str]:
    """Deliver ``message`` to each order's process; returns the order numbers that took it."""
    delivered = []
    numbers = db.session.scalars(select(SalesOrder.number).where(
        SalesOrder.id.in_(list(order_ids)))) if order_ids else []
    for number in sorted(numbers):
        try:
            runtime().deliver_message(message, business_key=number, payload=payload or {},
                                      message_id=f"{message}:{fact_key}:{number}",
                                      **({"actor": actor} if actor else {}))
            delivered.append(number)
        except (NotFound, InvalidState) as err:
            # Not waiting (yet or any more): the fact is recorded; the process reads it later.
            log.info("%s for %s not delivered: %s", message, number, err.message)
    return delivered


def tell_process(message: str, business_key: str, fact_key: str, payload: dict | None = None,
                 actor=None) -> bool:
    """Deliver ``message`` to the instance with this business key (e.g. a purchase order's
    procurement process); False when nothing waits for it (the fact is recorded anyway)."""
    try:
        runtime().deliver_message(message, business_key=business_key, payload=payload or {},
                                  message_id=f"{message}:{fact_key}:{business_key}",
                                  **({"actor": actor} if actor else {}))
    except (NotFound, InvalidState) as err:
        log.info("%s for %s not delivered: %s", message, business_key, err.message)
        return False
    return True
