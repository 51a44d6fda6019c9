"""APScheduler: a tick that runs due jobs through the engine, inside the app context.

Started by `flask serve` (web + scheduler in one process, the embedded default) and by
`flask worker` (scheduler only; run one or many next to gunicorn on PostgreSQL).
"""
import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from app.engine import jobs

log = logging.getLogger(__name__)


def tick(app) -> int:
    from app.api.services import runtime
    from app.extensions import db

    with app.app_context():
        try:
            return jobs.run_due(runtime(), limit=app.config["JOB_BATCH_SIZE"],
                                lease_seconds=app.config["JOB_LEASE_SECONDS"])
        finally:
            db.session.remove()


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
