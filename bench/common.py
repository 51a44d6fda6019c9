"""Shared by the benchmarks: a throwaway database (temp SQLite file or a fresh PostgreSQL
database dropped at the end) and plain-text tables."""
import os
import shutil
import tempfile

class Database:
    def __init__(self, args, dbname: str, prefix: str = "orderflow-bench-"):
        self.kind = args.db
        self.dbname = dbname
        self.tmpdir = None
        self.admin = None
        self.sqlite_path = None
        if self.kind == "sqlite":
            self.tmpdir = tempfile.mkdtemp(prefix=prefix)
            self.sqlite_path = os.path.join(self.tmpdir, "bench.db")
            self.url = f"sqlite:///{self.sqlite_path}"
        else:
            import psycopg

            self.host = args.postgresql_host or os.environ.get("PGHOST") or "127.0.0.1"
            self.port = int(args.postgresql_port or os.environ.get("PGPORT") or 5432)
            self.user = args.postgresql_user or os.environ.get("PGUSER") or "postgres"
            self.admin = psycopg.connect(host=self.host, port=self.port, user=self.user,
                                         dbname="postgres", autocommit=True)
            self.admin.execute(f"DROP DATABASE IF EXISTS {self.dbname}")
            self.admin.execute(f"CREATE DATABASE {self.dbname}")
            self.url = f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{self.dbname}"

    def describe(self, db) -> str:
        from sqlalchemy import text

        if self.kind == "sqlite":
            import sqlite3

            mode = db.session.scalar(text("PRAGMA journal_mode"))
            sync = db.session.scalar(text("PRAGMA synchronous"))
            db.session.remove()
            return (f"SQLite {sqlite3.sqlite_version} (file {self.sqlite_path}, "
                    f"journal_mode={mode}, synchronous={sync})")
        version = db.session.scalar(text("SELECT version()"))
        db.session.remove()
        return f"{version} (database {self.dbname} on {self.host}:{self.port})"

    def close(self):
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        if self.admin is not None:
            self.admin.execute(f"DROP DATABASE IF EXISTS {self.dbname} WITH (FORCE)")
            self.admin.close()


def fmt_row(cells, widths, aligns):
    out = []
    for cell, width, align in zip(cells, widths, aligns):
        out.append(f"{cell:<{width}}" if align == "<" else f"{cell:>{width}}")
    return "  ".join(out).rstrip()


def table(header, rows, aligns):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = [fmt_row(header, widths, aligns), "  ".join("-" * w for w in widths)]
    lines += [fmt_row([str(c) for c in r], widths, aligns) for r in rows]
    return "\n".join("  " + line for line in lines)
