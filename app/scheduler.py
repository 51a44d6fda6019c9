"""APScheduler: a tick that runs due jobs through the engine, inside the app context.

Started by `flask serve` (web + scheduler in one process, the embedded default) and by
`flask worker` (scheduler only; run one or many next to gunicorn on PostgreSQL).
"""
import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from app.engine import clock, jobs

log = logging.getLogger(__name__)


def tick(app) -> int:
    """Run due jobs, then send the e-mails they (and requests) queued. Returns jobs run."""
    from app.api.services import runtime
    from app.extensions import db

    with app.app_context():
        try:
            ran = jobs.run_due(runtime(), limit=app.config["JOB_BATCH_SIZE"],
                               lease_seconds=app.config["JOB_LEASE_SECONDS"])
            send_mail(app)
            return ran
        finally:
            db.session.remove()


def send_mail(app) -> dict:
    """Outbox e-mails go out after the commit that queued them, never inside a unit of work."""
    from app.domain import outbox
    from app.extensions import db

    try:
        return outbox.send_pending(db.session, smtp_host=app.config["SMTP_HOST"],
                                   smtp_port=app.config["SMTP_PORT"],
                                   sender=app.config["MAIL_SENDER"], now=clock.now())
    except Exception:  # the mail server being down must not stop timers; rows stay pending
        db.session.rollback()
        log.exception("sending the outbox failed")
        return {}


def _configure(scheduler, app):
    scheduler.add_job(tick, "interval", args=[app], id="orderflow-jobs",
                      seconds=app.config["SCHEDULER_INTERVAL_SECONDS"],
                      max_instances=1, coalesce=True, replace_existing=True)
    return scheduler


def start_background(app) -> BackgroundScheduler:
    scheduler = _configure(BackgroundScheduler(daemon=True), app)
    scheduler.start()
    log.info("scheduler started (every %ss)", app.config["SCHEDULER_INTERVAL_SECONDS"])
    return scheduler


def run_blocking(app) -> None:
    _configure(BlockingScheduler(), app).start()


def init_scheduler(app) -> None:
    app.extensions["orderflow_scheduler"] = None
