"""Gap-free document numbers per (kind, year), e.g. "SH-2026-00001".

The sequence row is locked FOR UPDATE while a number is taken, so two transactions never get the
same number and a rolled-back transaction gives its number back (no gaps).
"""
from sqlalchemy import select

from app.models.sales import DocumentSequence


def next_number(session, kind: str, year: int, prefix: str) -> str:
    """Take the next number of `kind` in `year`; formatted "<prefix>-<year>-<5 digits>"."""
    seq = _locked_sequence(session, kind, year)
    if seq is None:
        _insert_sequence(session, kind, year)
        seq = _locked_sequence(session, kind, year)
    seq.last += 1
    session.flush()
    return f"{prefix}-{year}-{seq.last:05d}"


def _locked_sequence(session, kind: str, year: int):
    return session.execute(
        select(DocumentSequence)
        .where(DocumentSequence.kind == kind, DocumentSequence.year == year)
        .with_for_update()
        # Re-read under the lock: the identity map may hold a value another transaction moved.
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _insert_sequence(session, kind: str, year: int) -> None:
    """Insert the (kind, year) row; a concurrent insert of the same row is not an error."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"unsupported database {dialect!r} for document numbering")
    session.execute(
        insert(DocumentSequence).values(kind=kind, year=year, last=0).on_conflict_do_nothing()
    )
