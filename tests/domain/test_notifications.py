"""Notifications (unique by key, visibility, read) and the outbox sending real e-mail over SMTP."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import identity
from app.domain.errors import Invalid, NotFound
from app.domain.notifications import mark_read, notify, unread_for
from app.domain.outbox import MAX_ATTEMPTS, enqueue_email, send_pending
from app.engine.operators import UnitContext, invoke
from app.models.shipping import Notification, Outbox
from tests.smtp import free_port


def test_notify_is_unique_by_key_and_queues_one_email(session):
    first = notify(session, key="order:SO-1:approved", subject="Order approved",
                   username="sam", email_to=["sam@example.com"], link="/orders/SO-1")
    again = notify(session, key="order:SO-1:approved", subject="Order approved (again)",
                   username="sam", email_to=["sam@example.com"])

    assert again.id == first.id and again.subject == "Order approved"
    assert session.scalar(select(func.count()).select_from(Notification)) == 1
    [mail] = session.scalars(select(Outbox)).all()
    assert (mail.key, mail.kind, mail.status) == ("email:order:SO-1:approved", "email", "pending")
    assert mail.payload == {"to": ["sam@example.com"], "subject": "Order approved",
                            "body": "/orders/SO-1"}


def test_notify_needs_a_recipient_and_a_subject(session):
    with pytest.raises(Invalid) as refused:
        notify(session, key="k", subject="")
    assert {d["field"] for d in refused.value.details} == {"subject", "group"}


def test_unread_for_a_user_and_their_groups_and_mark_read(session):
    mine = notify(session, key="a", subject="for sam", username="sam")
    group = notify(session, key="b", subject="for finance", group="finance")
    notify(session, key="c", subject="for kim", username="kim")
    notify(session, key="d", subject="for sales", group="sales")

    assert {n.id for n in unread_for(session, "sam", ["finance"])} == {mine.id, group.id}
    with pytest.raises(NotFound):
        mark_read(session, group.id, "sam")  # not in finance: not his to read
    mark_read(session, group.id, "sam", ["finance"])
    mark_read(session, group.id, "sam", ["finance"])  # again: stays read, no error

    assert [n.id for n in unread_for(session, "sam", ["finance"])] == [mine.id]
    assert group.read_at is not None


def test_notify_send_operator_emails_the_groups_members(session):
    identity.create_user(session, "fay", None, ["finance"], email="fay@example.com")
    identity.create_user(session, "gus", None, ["finance"], email="gus@example.com")
    identity.create_user(session, "hal", None, ["finance"])  # no address
    identity.create_user(session, "ivy", None, ["sales"], email="ivy@example.com")
    ctx = UnitContext(session=session, instance_id=None, business_key="SO-1", process_id="order")
    params = {"key": "credit-hold:SO-1", "subject": "Order SO-1 on credit hold",
              "body": "Exposure above the limit.", "group": "finance", "link": "/orders/SO-1"}

    result = invoke("notify.send", ctx, params)
    invoke("notify.send", ctx, params)

    assert result["emailed"] == 2
    notice = session.scalar(select(Notification))
    assert (notice.group_name, notice.link) == ("finance", "/orders/SO-1")
    [mail] = session.scalars(select(Outbox)).all()
    assert mail.payload["to"] == ["fay@example.com", "gus@example.com"]


def test_outbox_sends_real_email_to_the_smtp_server(session, frozen_clock, smtp_sink):
    enqueue_email(session, key="email:one", to=["a@example.com", "b@example.com"],
                  subject="Invoice INV-2026-00001", body="Please find your invoice.")
    enqueue_email(session, key="email:later", to=["c@example.com"], subject="Later", body="")
    later = session.scalar(select(Outbox).where(Outbox.key == "email:later"))
    later.next_attempt_at = frozen_clock + timedelta(hours=1)
    session.commit()

    counts = send_pending(session, smtp_host="127.0.0.1", smtp_port=smtp_sink.port,
                          sender="orderflow@example.com", now=frozen_clock)

    assert counts == {"sent": 1, "retrying": 0, "failed": 0}
    [(mail_from, rcpt_tos, message)] = smtp_sink.messages
    assert mail_from == "orderflow@example.com"
    assert rcpt_tos == ["a@example.com", "b@example.com"]
    assert message["Subject"] == "Invoice INV-2026-00001"
    assert message.get_payload().strip() == "Please find your invoice."
    session.expire_all()
    sent = session.scalar(select(Outbox).where(Outbox.key == "email:one"))
    assert (sent.status, sent.sent_at, sent.attempts) == ("sent", frozen_clock, 1)
    # a second run sends nothing again; the later one goes once it is due
    assert send_pending(session, smtp_host="127.0.0.1", smtp_port=smtp_sink.port,
                        sender="orderflow@example.com", now=frozen_clock)["sent"] == 0
    assert send_pending(session, smtp_host="127.0.0.1", smtp_port=smtp_sink.port,
                        sender="orderflow@example.com",
                        now=frozen_clock + timedelta(hours=1))["sent"] == 1
    assert len(smtp_sink.messages) == 2


def test_failed_sends_back_off_and_give_up_after_five_attempts(session, frozen_clock):
    enqueue_email(session, key="email:x", to=["a@example.com"], subject="Hi", body="")
    session.commit()
    closed_port = free_port()  # nothing listens there: the connection is refused
    now = frozen_clock
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        counts = send_pending(session, smtp_host="127.0.0.1", smtp_port=closed_port,
                              sender="orderflow@example.com", now=now)
        row = session.scalar(select(Outbox))
        assert row.attempts == attempt and row.last_error
        if attempt < MAX_ATTEMPTS:
            assert counts == {"sent": 0, "retrying": 1, "failed": 0}
            waits.append(row.next_attempt_at - now)
            # not due yet: nothing is tried before the backoff has passed
            assert send_pending(session, smtp_host="127.0.0.1", smtp_port=closed_port,
                                sender="s@example.com", now=row.next_attempt_at
                                - timedelta(seconds=1)) == {"sent": 0, "retrying": 0,
                                                            "failed": 0}
            now = row.next_attempt_at
        else:
            assert counts == {"sent": 0, "retrying": 0, "failed": 1}
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert row.status == "failed"
    assert send_pending(session, smtp_host="127.0.0.1", smtp_port=closed_port,
                        sender="s@example.com", now=now + timedelta(days=1))["failed"] == 0
