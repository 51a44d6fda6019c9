"""Template filters: money, dates, "waiting since", due badges."""
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from app.engine import clock
from app.web import markdown

DASH = "—"


def money(value, currency: str | None = None) -> str:
    if value is None or value == "":
        return DASH
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return str(value)
    text = f"{amount:,.2f}"
    return f"{text} {currency}" if currency else text


def qty(value) -> str:
    """A quantity without trailing zeros: 10.000 -> 10, 2.500 -> 2.5."""
    if value is None:
        return DASH
    try:
        return format(Decimal(str(value)).normalize(), "f")
    except (InvalidOperation, ValueError):
        return str(value)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def when(value) -> str:
    """A moment as 2026-03-02 09:00 UTC (stored times are UTC)."""
    if value is None:
        return DASH
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return _aware(value).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _span(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} d"


def ago(value) -> str:
    if value is None:
        return DASH
    return f"{_span(clock.now() - _aware(value))} ago"


def due_badge(due_at) -> dict | None:
    """{"kind": overdue|today|soon|later, "text": ...} for a task's due time (its SLA)."""
    if due_at is None:
        return None
    now = clock.now()
    due_at = _aware(due_at)
    if due_at < now:
        return {"kind": "overdue", "text": f"overdue {_span(now - due_at)}"}
    if due_at.date() == now.date():
        return {"kind": "today", "text": f"due today, in {_span(due_at - now)}"}
    if due_at - now <= timedelta(days=7):
        return {"kind": "soon", "text": f"due in {_span(due_at - now)}"}
    return {"kind": "later", "text": f"due {due_at:%Y-%m-%d}"}


def label(value) -> str:
    """A code as words: awaiting_approval -> Awaiting approval."""
    if value is None:
        return DASH
    text = str(value).replace("_", " ")
    return text[:1].upper() + text[1:]


def words(value) -> str:
    """A class name as words: ServiceTask -> service task."""
    if not value:
        return "step"
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(value).lstrip("_")).lower()


def register(app):
    app.jinja_env.filters.update(money=money, qty=qty, words=words, markdown=markdown.render, when=when, ago=ago, label=label)
    app.jinja_env.globals.update(due_badge=due_badge, DASH=DASH)
