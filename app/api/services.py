"""Per-request access to the runtime (one Runtime over the request's session)."""
from flask import current_app

from app.engine.runtime import Runtime, Settings
from app.extensions import db


def runtime() -> Runtime:
    config = current_app.config
    return Runtime(db.session, Settings(
        max_attempts=config["UNIT_MAX_ATTEMPTS"],
        auto_retries=config["INCIDENT_AUTO_RETRIES"],
        retry_backoff_seconds=config["INCIDENT_RETRY_BACKOFF_SECONDS"]))
