"""Row locks for work queues (jobs, commands) where the database has them."""


def with_row_locks(query, session, **kwargs):
    """FOR UPDATE SKIP LOCKED where the database has it; SQLite runs one scheduler anyway."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, **kwargs)
    return query
