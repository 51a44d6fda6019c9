"""Settings from the environment; an SQLite file under var/ by default."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'orderflow.db'}"
    # psycopg 3 is the driver we ship; a plain postgresql:// URL would mean psycopg2.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-change-me")
    SQLALCHEMY_DATABASE_URI = _database_url()
    PROCESSES_DIR = os.environ.get("PROCESSES_DIR", str(ROOT / "processes"))
    FORMS_DIR = os.environ.get("FORMS_DIR", str(ROOT / "forms"))
    # Scheduler: how often due jobs are looked for, how many per tick, lease length.
    SCHEDULER_ENABLED = os.environ.get("SCHEDULER_ENABLED", "0") == "1"
    SCHEDULER_INTERVAL_SECONDS = float(os.environ.get("SCHEDULER_INTERVAL_SECONDS", "1"))
    JOB_BATCH_SIZE = int(os.environ.get("JOB_BATCH_SIZE", "50"))
    JOB_LEASE_SECONDS = int(os.environ.get("JOB_LEASE_SECONDS", "60"))
    # Failed units are retried automatically this many times (backoff doubling) before waiting
    # for a person; every failure is an incident either way.
    INCIDENT_AUTO_RETRIES = int(os.environ.get("INCIDENT_AUTO_RETRIES", "3"))
    INCIDENT_RETRY_BACKOFF_SECONDS = int(os.environ.get("INCIDENT_RETRY_BACKOFF_SECONDS", "30"))
    # A revision conflict rolls back and reruns the unit this many times.
    UNIT_MAX_ATTEMPTS = int(os.environ.get("UNIT_MAX_ATTEMPTS", "5"))
    # Outbox e-mail (reminders, dunning) goes to this SMTP server; no auth, as on a local relay.
    SMTP_HOST = os.environ.get("SMTP_HOST", "127.0.0.1")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "8025"))
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "orderflow@localhost")
    API_TITLE = "Orderflow API"
    API_VERSION = "1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = None
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
