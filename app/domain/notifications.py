"""In-app notices (for a user or a group) and their e-mail copy through the outbox.

Every notice has a unique key, so a replayed step or request notifies once. A group notice is one
shared row: when one member marks it read it is read for the group (it was dealt with).
"""
from collections.abc import Iterable

from sqlalchemy import or_, select

from app.domain.errors import Invalid, NotFound
from app.domain.outbox import enqueue_email
from app.models.identity import Group, User
from app.models.shipping import Notification
from app.models.types import utcnow


def notify(session, *, key: str, subject: str, body: str | None = None, link: str | None = None,
           username: str | None = None, group: str | None = None,
           email_to: list[str] | None = None) -> Notification:
    """Create the notice (and an e-mail when ``email_to``); a replay of ``key`` is a no-op."""
    problems = []
    if not key:
        problems.append({"field": "key", "message": "a notification key is required"})
    if not subject:
        problems.append({"field": "subject", "message": "a subject is required"})
    if not username and not group:
        problems.append({"field": "group", "message": "give a username or a group"})
    if problems:
        raise Invalid("the notification is incomplete", details=problems)
    existing = session.scalar(select(Notification).where(Notification.key == key))
    if existing is not None:
        return existing
    notice = Notification(key=key, username=username, group_name=group, subject=subject[:300],
                          body=body, link=link)
    session.add(notice)
    session.flush()
    recipients = sorted({address for address in (email_to or []) if address})
    if recipients:
        enqueue_email(session, key=f"email:{key}", to=recipients, subject=subject,
                      body=_email_body(body, link))
    return notice


def _email_body(body: str | None, link: str | None) -> str:
    return "\n\n".join(part for part in (body, link) if part)


def _visible_to(username: str, groups: Iterable[str]):
    groups = list(groups)
    clauses = [Notification.username == username]
    if groups:
        clauses.append(Notification.group_name.in_(groups))
    return or_(*clauses)


def unread_for(session, username: str, groups: Iterable[str]) -> list[Notification]:
    """Unread notices for the user and their groups, newest first."""
    return list(session.scalars(
        select(Notification).where(_visible_to(username, groups), Notification.read_at.is_(None))
        .order_by(Notification.created_at.desc(), Notification.id.desc())))


def notifications_for(session, username: str, groups: Iterable[str],
                      limit: int = 100) -> list[Notification]:
    """The user's and their groups' notices: unread first, then newest first."""
    return list(session.scalars(
        select(Notification).where(_visible_to(username, groups))
        .order_by(Notification.read_at.is_not(None), Notification.created_at.desc(),
                  Notification.id.desc())
        .limit(limit)))


def mark_read(session, notification_id: int, username: str,
              groups: Iterable[str] = ()) -> Notification:
    """Mark one notice read; others' notices look like missing ones (no leak of their ids)."""
    notice = session.scalar(select(Notification).where(
        Notification.id == notification_id, _visible_to(username, groups)))
    if notice is None:
        raise NotFound(f"notification {notification_id} not found")
    if notice.read_at is None:
        notice.read_at = utcnow()
        session.flush()
    return notice


def group_emails(session, group: str) -> list[str]:
    """E-mail addresses of the active members of a group."""
    return sorted(set(session.scalars(
        select(User.email).join(User.groups)
        .where(Group.name == group, User.active.is_(True), User.email.is_not(None)))))
