"""The inbox page: tabs, counts, rows joined to orders, filters, paging, claim/unclaim/delegate."""
import re
from datetime import timedelta

from app.engine import clock
from app.models.engine import HumanTask
from app.models.shipping import Notification
from tests.web.helpers import order_with_process, post


def task_ids(response) -> list[str]:
    return re.findall(r'data-task-id="([^"]+)"', response.get_data(as_text=True))


def count(response, tab) -> int:
    return int(re.search(rf'data-testid="count-{tab}">(\d+)<',
                         response.get_data(as_text=True)).group(1))


def test_the_inbox_shows_only_the_tasks_of_my_groups(session, runtime, team, as_user, client):
    order, instance = order_with_process(session, runtime, "SO-2026-0001")
    runtime.start("timers", business_key="REV-1")  # a task for "reviewers": nobody here
    task = session.query(HumanTask).filter_by(instance_id=instance.id).one()

    page = as_user("sam").get("/inbox")
    assert task_ids(page) == [task.id]
    html = page.get_data(as_text=True)
    assert "SO-2026-0001" in html and "Acme Trading" in html and "2,034.00 CNY" in html
    assert "unassigned" in html and count(page, "groups") == 1 and count(page, "mine") == 0

    client.post("/logout", data={"csrf_token": re.search(
        r'name="csrf_token" value="([^"]+)"', html).group(1)})
    wendy = as_user("wendy").get("/inbox")
    assert task_ids(wendy) == [] and count(wendy, "groups") == 0
    assert "No open tasks for your groups" in wendy.get_data(as_text=True)
    # ...nor can she open it by its id
    assert client.get(f"/tasks/{task.id}").status_code == 404


def test_search_filters_and_sort(session, runtime, team, as_user):
    order_with_process(session, runtime, "SO-2026-0001", customer="Acme Trading")
    order_with_process(session, runtime, "SO-2026-0002", customer="Zenith Ltd")
    client = as_user("sam")
    assert len(task_ids(client.get("/inbox"))) == 2
    acme = client.get("/inbox?q=acme")
    assert len(task_ids(acme)) == 1 and "SO-2026-0001" in acme.get_data(as_text=True)
    assert len(task_ids(client.get("/inbox?q=0002"))) == 1
    assert task_ids(client.get("/inbox?q=nobody")) == []
    assert len(task_ids(client.get("/inbox?process=basic_flow&task=approve"))) == 2
    assert task_ids(client.get("/inbox?process=timers")) == []
    newest = task_ids(client.get("/inbox?sort=newest"))
    assert newest == list(reversed(task_ids(client.get("/inbox?sort=waiting"))))
    # nonsense in the query string is ignored, not a 500
    assert client.get("/inbox?view=bogus&due=never&sort=x&page=abc").status_code == 200


def test_due_badges_and_the_due_filter(session, runtime, make_user, deployed, as_user,
                                       frozen_clock):
    make_user("rita", "reviewers", password="pw")
    runtime.start("timers", business_key="REV-1")  # at 09:00, review is due in 8 h
    client = as_user("rita")
    assert "due today, in 8 h" in client.get("/inbox").get_data(as_text=True)
    assert task_ids(client.get("/inbox?due=overdue")) == []
    assert len(task_ids(client.get("/inbox?due=week"))) == 1
    clock.freeze(clock.now() + timedelta(hours=9))
    page = client.get("/inbox?due=overdue")
    assert len(task_ids(page)) == 1 and "overdue 1 h" in page.get_data(as_text=True)


def test_paging(session, runtime, team, as_user):
    for i in range(27):
        runtime.start("basic_flow", business_key=f"K-{i:02d}", data={"items": [2000]})
    client = as_user("sam")
    first, second = client.get("/inbox"), client.get("/inbox?page=2")
    assert len(task_ids(first)) == 25 and len(task_ids(second)) == 2
    assert not set(task_ids(first)) & set(task_ids(second))
    assert "page 2 of 2" in second.get_data(as_text=True)
    assert len(task_ids(client.get("/inbox?page=99"))) == 2  # past the end: the last page


def test_claim_unclaim_and_delegate_from_the_pages(session, runtime, team, as_user, client):
    _, instance = order_with_process(session, runtime)
    task_id = session.query(HumanTask.id).filter_by(instance_id=instance.id).scalar()
    as_user("sam")
    response = post(client, f"/tasks/{task_id}/claim", {"next": "/inbox?view=mine"})
    assert response.location == "/inbox?view=mine"
    mine = client.get("/inbox?view=mine")
    assert task_ids(mine) == [task_id] and count(mine, "mine") == 1

    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Assigned to you" in page
    options = re.findall(r'<option value="([a-z]+)">', page)
    assert options == ["sue"]  # same group only: not wendy, not sam himself

    post(client, f"/tasks/{task_id}/delegate", {"to": "wendy"})  # not in the group: refused
    assert session.get(HumanTask, task_id, populate_existing=True).assignee == "sam"
    post(client, f"/tasks/{task_id}/delegate", {"to": "sue"})
    assert session.get(HumanTask, task_id, populate_existing=True).assignee == "sue"

    # sue holds it now: sam sees who, and his claim is refused with a message
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Claimed by sue" in page
    post(client, f"/tasks/{task_id}/claim")
    assert "claimed by sue" in client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert session.get(HumanTask, task_id, populate_existing=True).assignee == "sue"


def test_unclaim_returns_the_task_to_the_group(session, runtime, team, as_user, client):
    _, instance = order_with_process(session, runtime)
    task_id = session.query(HumanTask.id).filter_by(instance_id=instance.id).scalar()
    as_user("sam")
    post(client, f"/tasks/{task_id}/claim")
    post(client, f"/tasks/{task_id}/unclaim")
    assert session.get(HumanTask, task_id, populate_existing=True).assignee is None
    assert post(client, "/tasks/no-such-task/claim").status_code == 302  # a message, not a 500


def test_unread_notifications_on_top_and_dismissed(session, team, as_user, client):
    session.add(Notification(key="n1", group_name="approvers", subject="Order SO-9 on credit hold"))
    session.add(Notification(key="n2", group_name="warehouse", subject="Not for approvers"))
    session.commit()
    page = as_user("sam").get("/inbox").get_data(as_text=True)
    assert "Order SO-9 on credit hold" in page and "Not for approvers" not in page
    notice_id = session.query(Notification.id).filter_by(key="n1").scalar()
    post(client, f"/notifications/{notice_id}/read", {"next": "/inbox"})
    assert "Order SO-9 on credit hold" not in client.get("/inbox").get_data(as_text=True)
