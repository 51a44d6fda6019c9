"""E-mail through the outbox: rows written in the business transaction, sent after it commits.

``enqueue_email`` only writes a row (a replay with the same key is a no-op). ``send_pending`` is
called by the scheduler with explicit SMTP settings (SMTP_HOST, SMTP_PORT, MAIL_SENDER); it sends
each due row with smtplib and records the outcome.
"""
import hashlib
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select

from app.models.shipping import Outbox

MAX_ATTEMPTS = 5
BASE_BACKOFF = timedelta(minutes=1)  # 1, 2, 4, 8 minutes between attempts
SMTP_TIMEOUT_SECONDS = 10


def enqueue_email(session, *, key: str, to: list[str], subject: str, body: str | None) -> Outbox:
    """An e-mail to send once per key; the existing row is returned on a replay."""
    row = session.scalar(select(Outbox).where(Outbox.key == key))
    if row is not None:
        return row
    row = Outbox(key=key, kind="email", status="pending", attempts=0,
                 payload={"to": list(to), "subject": subject, "body": body or ""})
    session.add(row)
    session.flush()
    return row


def send_pending(session, *, smtp_host: str, smtp_port: int, sender: str, now: datetime,
                 limit: int = 50) -> dict:
    """Send due e-mails; returns {"sent", "retrying", "failed"} counts.

    This COMMITS, once per message — the one place outside a request or unit of work that does:
    an e-mail that has left cannot be rolled back, so its "sent" mark must be durable at once
    rather than share a transaction with the next message. Each row is claimed with
    FOR UPDATE SKIP LOCKED (PostgreSQL), so two workers never send the same message; a crash
    between the SMTP hand-over and the commit can still send one twice (at-least-once), which is
    why the Message-ID is derived from the outbox key (receivers can drop the duplicate).
    """
    counts = {"sent": 0, "retrying": 0, "failed": 0}
    for _ in range(limit):
        row = session.scalar(
            select(Outbox)
            .where(Outbox.kind == "email", Outbox.status == "pending",
                   Outbox.next_attempt_at <= now)
            .order_by(Outbox.next_attempt_at, Outbox.id)
            .limit(1)
            .with_for_update(skip_locked=True))
        if row is None:
            break
        if not (row.payload or {}).get("to"):
            row.status, row.last_error = "failed", "no recipients"
            counts["failed"] += 1
            session.commit()
            continue
        try:
            _send(row, smtp_host, smtp_port, sender)
        except (OSError, smtplib.SMTPException) as err:  # refused, timed out, rejected
            row.attempts += 1
            row.last_error = f"{type(err).__name__}: {err}"[:2000]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
                counts["failed"] += 1
            else:
                row.next_attempt_at = now + BASE_BACKOFF * (2 ** (row.attempts - 1))
                counts["retrying"] += 1
        else:
            row.attempts += 1
            row.status, row.sent_at, row.last_error = "sent", now, None
            counts["sent"] += 1
        session.commit()
    return counts


def _send(row: Outbox, host: str, port: int, sender: str) -> None:
    payload = row.payload or {}
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(payload.get("to") or [])
    message["Subject"] = payload.get("subject") or ""
    message["Message-ID"] = f"<{hashlib.sha256(row.key.encode()).hexdigest()[:32]}@orderflow>"
    message["X-Orderflow-Key"] = row.key
    message.set_content(payload.get("body") or "")
    # Plain SMTP without auth: the configured server is the local relay / mail sink.
    with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        smtp.send_message(message)
