"""Operators for finance: bill a shipment, read an order's balance, dun, notify a group."""
from datetime import datetime, time, timedelta, timezone

from app.domain import invoicing, notifications, payments
from app.engine.operators import UnitContext, operator

# Dunning timers in the diagram hang on the due date (timeDate expressions), at 09:00 UTC.
DUNNING_1_AFTER = timedelta(days=7)
DUNNING_2_AFTER = timedelta(days=21)
FINANCE_TASK_AFTER = timedelta(days=30)
REMINDER_TIME = time(9, 0, tzinfo=timezone.utc)


def _at_nine(day) -> str:
    return datetime.combine(day, REMINDER_TIME).isoformat()


@operator("finance.invoice_shipment")
def invoice_shipment(ctx: UnitContext, shipment_id):
    """Bill the shipment (once); returns the invoice and when the dunning timers fire, counted
    from the order's oldest unpaid invoice (an earlier shipment's, after a backorder)."""
    result = invoicing.invoice_shipment(ctx.session, int(shipment_id))
    due = invoicing.oldest_unpaid_due_date(ctx.session, result["order_id"]) or result["due_date"]
    return {**result, "due_date": due.isoformat(),
            "dunning_1_at": _at_nine(due + DUNNING_1_AFTER),
            "dunning_2_at": _at_nine(due + DUNNING_2_AFTER),
            "finance_task_at": _at_nine(due + FINANCE_TASK_AFTER)}


@operator("finance.order_balance")
def order_balance(ctx: UnitContext, order_id):
    """Invoiced, paid and outstanding for the order, and whether it is fully paid."""
    return payments.order_balance(ctx.session, int(order_id))


@operator("finance.dunning")
def dunning(ctx: UnitContext, order_id, level):
    """Dun the order's overdue invoices at this level (once per invoice and level)."""
    return payments.dunning_step(ctx.session, int(order_id), int(level))


@operator("notify.send")
def send_notification(ctx: UnitContext, key, subject, body=None, group=None, link=None):
    """Notify a group in-app and e-mail its members (once per key)."""
    emails = notifications.group_emails(ctx.session, group) if group else []
    notice = notifications.notify(ctx.session, key=str(key), subject=str(subject), body=body,
                                  link=link, group=group, email_to=emails)
    return {"notification_id": notice.id, "key": notice.key, "emailed": len(emails)}
