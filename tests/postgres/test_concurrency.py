"""Concurrency on a real PostgreSQL: optimistic revisions, SKIP LOCKED job workers."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.engine import clock, jobs, queries
from app.engine.runtime import Actor
from app.extensions import db
from app.models.engine import HumanTask, InstanceEvent, ProcessInstance
from tests.operators import SLOW

pytestmark = pytest.mark.postgres_only


def in_threads(app, count, work):
    """Run work(i) in `count` threads, each with its own app context and session."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(i):
        with app.app_context():
            from app.api.services import runtime
            try:
                barrier.wait()
                results[i] = work(i, runtime())
            except Exception as err:  # surfaced by the assertion below
                import traceback
                errors.append(f"{err!r}\n{traceback.format_exc()}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, "\n".join(errors)
    return results


def test_two_concurrent_completions_of_one_instance_lose_nothing(app, runtime, deployed, session):
    instance, _ = runtime.start("parallel_review", business_key="P-1")
    tasks = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)
                                 .order_by(HumanTask.node_id)))
    assert [t.node_id for t in tasks] == ["review_a", "review_b"]
    revision = instance.revision
    task_ids = [t.id for t in tasks]
    session.commit()
    SLOW["delay"] = 0.3  # both units are inside the engine at the same time

    actor = Actor("sam", frozenset({"approvers"}))
    in_threads(app, 2, lambda i, rt: rt.complete_task(task_ids[i], {"ok": True, f"note_{i}": "x"},
                                                      actor).id)

    session.expire_all()
    done = session.get(ProcessInstance, instance.id)
    assert done.status == "completed"
    assert done.revision == revision + 2  # two units saved, one after the other
    assert sorted(SLOW["calls"]) == ["a", "a", "b"] or sorted(SLOW["calls"]) == ["a", "b", "b"]
    data = queries.workflow_data(session, done)
    assert data["note_0"] == "x" and data["note_1"] == "x"
    assert {data["recorded_a"], data["recorded_b"]} == {"a", "b"}
    completions = session.scalar(select(func.count()).select_from(InstanceEvent).where(
        InstanceEvent.kind == "task_completed"))
    assert completions == 2  # the losing attempt's rows were rolled back


def test_two_workers_never_fire_the_same_timer_twice(app, runtime, deployed, session):
    clock.freeze()
    ids = [runtime.start("timers", business_key=f"W-{i}")[0].id for i in range(30)]
    session.commit()
    clock.travel(timedelta(hours=5))

    ran = in_threads(app, 2, lambda i, rt: jobs.run_until_idle(rt, owner=f"worker-{i}", limit=3))

    assert sum(ran) == 30 and all(r > 0 for r in ran)  # both workers took a share
    fired = dict(session.execute(
        select(InstanceEvent.instance_id, func.count()).where(
            InstanceEvent.node_id == "reminder_timer").group_by(InstanceEvent.instance_id)).all())
    assert fired == {i: 1 for i in ids}


def test_concurrent_starts_with_one_business_key_make_one_instance(app, deployed, session):
    ids = in_threads(app, 4, lambda i, rt: rt.start("timers", business_key="SAME")[0].id)
    assert len(set(ids)) == 1
    assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 1
