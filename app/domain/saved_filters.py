"""Saved filters of the reports: a name, the report, its query parameters, private or shared.

A user sees their own filters and the ones others shared; only the owner changes or deletes one
(anyone else gets "not found", so private names do not leak). Saving the same filter again
(same owner, report, name, query and sharing) returns the one saved: a double submit is a no-op.
"""
from urllib.parse import urlencode

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from app.domain.errors import Conflict, Invalid, NotFound
from app.models.reporting import SavedFilter

REPORTS = ("kpis", "data_quality", "stuck", "incidents", "sla", "exceptions", "heatmap")
MAX_KEYS, MAX_VALUE = 30, 500


def query_string(saved: SavedFilter) -> str:
    """The query as a URL query string, parameters sorted (JSON storage need not keep order)."""
    return urlencode(sorted((saved.query or {}).items()), doseq=True)


def clean_query(query) -> dict:
    """Query-string parameters as strings (or lists of strings); every problem named."""
    if not isinstance(query, dict):
        raise Invalid("invalid query", details=[{"field": "query", "message": "an object"}])
    problems, clean = [], {}
    if len(query) > MAX_KEYS:
        problems.append({"field": "query", "message": f"at most {MAX_KEYS} parameters"})
    for key, value in query.items():
        field = f"query.{key}"
        if not isinstance(key, str) or not 0 < len(key) <= 50:
            problems.append({"field": field, "message": "a name of 1 to 50 characters"})
            continue
        values = value if isinstance(value, list) else [value]
        texts = [_text(v) for v in values]
        if not values or any(t is None or len(t) > MAX_VALUE for t in texts):
            problems.append({"field": field, "message": "text, a number, true/false or a "
                                                        f"list of them (up to {MAX_VALUE} chars)"})
            continue
        clean[key] = texts if isinstance(value, list) else texts[0]
    if problems:
        raise Invalid("invalid query", details=problems)
    return clean


def _text(value) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def list_filters(session, username: str, report: str | None = None) -> list[SavedFilter]:
    """The user's own filters, then those shared by others; by report and name."""
    query = select(SavedFilter).where(or_(SavedFilter.owner == username,
                                          SavedFilter.shared.is_(True)))
    if report:
        query = query.where(SavedFilter.report == report)
    found = session.scalars(query.order_by(SavedFilter.report, SavedFilter.name, SavedFilter.id))
    return sorted(found, key=lambda f: f.owner != username)


def get_filter(session, filter_id: int, username: str) -> SavedFilter:
    saved = session.get(SavedFilter, filter_id)
    if saved is None or (saved.owner != username and not saved.shared):
        raise NotFound(f"saved filter {filter_id} not found")
    return saved


def _own(session, filter_id: int, username: str) -> SavedFilter:
    saved = session.get(SavedFilter, filter_id)
    if saved is None or saved.owner != username:
        raise NotFound(f"no saved filter {filter_id} of yours")
    return saved


def _named(session, username, report, name) -> SavedFilter | None:
    return session.scalar(select(SavedFilter).where(
        SavedFilter.owner == username, SavedFilter.report == report, SavedFilter.name == name))


def _taken(report, name) -> Conflict:
    return Conflict(f"you already have a filter named {name!r} for report {report}",
                    details=[{"field": "name", "message": "already used for this report"}])


def _flush(session, saved: SavedFilter) -> None:
    """Flush in a savepoint: a concurrent save of the same name is a 409, not a 500."""
    try:
        with session.begin_nested():
            session.add(saved)
            session.flush()
    except IntegrityError:
        raise _taken(saved.report, saved.name) from None


def create_filter(session, username: str, *, name: str, report: str, query: dict,
                  shared: bool = False) -> tuple[SavedFilter, bool]:
    """(the filter, whether it was created); an identical replay returns the existing one."""
    query = clean_query(query)
    existing = _named(session, username, report, name)
    if existing is not None:
        if existing.query == query and existing.shared == shared:
            return existing, False
        raise _taken(report, name)
    saved = SavedFilter(owner=username, name=name, report=report, query=query, shared=shared)
    _flush(session, saved)
    return saved, True


def update_filter(session, filter_id: int, username: str, changes: dict) -> SavedFilter:
    """Rename, change the query, share or unshare one of the user's filters."""
    saved = _own(session, filter_id, username)
    if "query" in changes:
        changes = {**changes, "query": clean_query(changes["query"])}
    name, report = changes.get("name", saved.name), changes.get("report", saved.report)
    if (name, report) != (saved.name, saved.report) and _named(session, username, report, name):
        raise _taken(report, name)
    for field in ("name", "report", "query", "shared"):
        if field in changes:
            setattr(saved, field, changes[field])
    _flush(session, saved)
    return saved


def delete_filter(session, filter_id: int, username: str) -> None:
    session.delete(_own(session, filter_id, username))
    session.flush()
