"""flask commands: seed-demo, deploy, create-user, create-token, worker, serve, simulate."""
import os
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from app import identity
from app.engine import clock, deployments, jobs, specs
from app.engine.errors import DeploymentRejected
from app.extensions import db

DEMO_USERS = [
    # username, password, groups, full name
    ("admin", "admin", ["admin"], "Administrator"),
    ("alice", "alice", ["sales"], "Alice Sales"),
    ("sam", "sam", ["sales_supervisor"], "Sam Supervisor"),
    ("gina", "gina", ["general_manager"], "Gina Manager"),
    ("carl", "carl", ["credit_controller"], "Carl Credit"),
    ("wendy", "wendy", ["warehouse"], "Wendy Warehouse"),
    ("fran", "fran", ["finance"], "Fran Finance"),
    ("ada", "ada", ["analyst"], "Ada Analyst"),
    ("otto", "otto", ["process_owner"], "Otto Owner"),
    ("pia", "pia", ["purchasing", "planner"], "Pia Purchasing"),
    ("max", "max", ["production"], "Max Maker"),
    ("quinn", "quinn", ["quality"], "Quinn Quality"),
]


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Create the demo users and groups, and the demo company's master data (idempotent)."""
    for username, password, groups, full_name in DEMO_USERS:
        identity.create_user(db.session, username, password, groups, full_name=full_name)
    db.session.commit()
    click.echo(f"seeded {len(DEMO_USERS)} demo users")
    from app.domain import demo_data

    created = demo_data.seed(db.session, today=clock.now().date())
    db.session.commit()
    click.echo("demo company: " + ", ".join(f"{n} {what} created" for what, n in created.items()))


@click.command("deploy")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@with_appcontext
def deploy(directory):
    """Check and deploy every .bpmn/.dmn/.json in DIRECTORY as a new version."""
    try:
        deployment, created = deployments.deploy(
            db.session, specs.read_dir(directory), source=os.path.abspath(directory),
            actor="cli", forms_dir=current_app.config["FORMS_DIR"])
    except DeploymentRejected as err:
        db.session.rollback()
        for problem in err.details:
            where = ":".join(filter(None, [problem["file"], problem["element"]]))
            click.echo(f"  {where or '(deployment)'}: {problem['message']}", err=True)
        raise click.ClickException(err.message) from None
    db.session.commit()
    state = "deployed as" if created else "unchanged, still"
    click.echo(f"{state} version {deployment.version}: "
               f"{', '.join(p.process_id for p in deployment.processes)}")


@click.command("create-user")
@click.argument("username")
@click.option("--group", "groups", multiple=True, help="group name (created when new)")
@click.option("--password", default=None)
@click.option("--full-name", default=None)
@with_appcontext
def create_user(username, groups, password, full_name):
    """Create a user (or add groups / set the password of an existing one)."""
    user = identity.create_user(db.session, username, password, list(groups), full_name=full_name)
    db.session.commit()
    click.echo(f"{user.username}: groups {', '.join(user.group_names) or '(none)'}")


@click.command("create-token")
@click.argument("username")
@click.option("--name", default="cli")
@with_appcontext
def create_token(username, name):
    """Print a new API token for USERNAME (shown once; only its hash is stored)."""
    from sqlalchemy import select

    from app.models.identity import User

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    token = identity.create_token(db.session, user, name)
    db.session.commit()
    click.echo(token)


@click.command("worker")
@with_appcontext
def worker():
    """Run the job scheduler (timers, retries) in the foreground."""
    from app.scheduler import run_blocking

    click.echo("worker: running due jobs; Ctrl-C stops")
    run_blocking(current_app._get_current_object())


@click.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "8000")), type=int)
@click.option("--threads", default=8, type=int)
@with_appcontext
def serve(host, port, threads):
    """Serve web + API with gunicorn and run the scheduler in the same process."""
    from app.serve import serve_with_scheduler

    serve_with_scheduler(current_app._get_current_object(), host, port, threads)


@click.command("simulate")
@click.option("--advance", "advance", default="0", help="move the clock: 90m, 26h, 3d")
@with_appcontext
def simulate(advance):
    """Move the engine clock forward and run every job that falls due (demos, rehearsals)."""
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if advance != "0":
        if advance[-1] not in units or not advance[:-1].isdigit():
            raise click.BadParameter("use a number with m, h or d, e.g. 26h")
        clock.travel(timedelta(**{units[advance[-1]]: int(advance[:-1])}))
    from app.api.services import runtime

    ran = jobs.run_until_idle(runtime())
    click.echo(f"clock at {clock.now().isoformat()}; {ran} job(s) ran")


@click.command("mrp-run")
@click.option("--horizon", default=90, type=click.IntRange(1, 730), help="days (default 90)")
@with_appcontext
def mrp_run(horizon):
    """Run MRP over daily buckets and print what it planned and the exceptions."""
    from app.domain import mrp

    run = mrp.run_mrp(db.session, horizon_days=horizon, started_by="cli")
    db.session.commit()
    counts = run.counts
    click.echo(f"MRP run {run.id} from {run.plan_date} over {run.horizon_days} days: "
               f"{counts['planned_orders']} planned orders ({counts['work_orders']} work orders, "
               f"{counts['purchase_requests']} purchase requests); created {counts['created']}, "
               f"updated {counts['updated']}, unchanged {counts['unchanged']}, "
               f"deleted {counts['deleted']}")
    for exc in run.exceptions:
        click.echo(f"  {exc['type']}: {exc['message']}")


def init_app(app):
    for command in (seed_demo, deploy, create_user, create_token, worker, serve, simulate,
                    mrp_run):
        app.cli.add_command(command)
