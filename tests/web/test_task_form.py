"""The task page: the form from the JSON Schema, server-side messages, completion, stale links."""
import re

from app.models.engine import HumanTask, ProcessInstance
from tests.web.helpers import order_with_process, post


def open_task(session, instance) -> HumanTask:
    return session.query(HumanTask).filter_by(instance_id=instance.id, state="open").one()


def test_the_form_and_the_order_beside_it(session, runtime, team, as_user):
    _, instance = order_with_process(session, runtime)
    task = open_task(session, instance)
    html = as_user("sam").get(f"/tasks/{task.id}").get_data(as_text=True)
    # approve.schema.json: required boolean -> Yes/No radios; comment -> textarea (ui:widget)
    assert 'type="radio" name="approved" value="true"' in html
    assert 'type="radio" name="approved" value="false"' in html
    assert re.search(r'<textarea id="f-comment" name="comment" rows="4" maxlength="500"', html)
    assert html.index('name="approved"') < html.index('name="comment"')  # ui:order
    assert "Approve order total 1800" in html  # the task's instructions
    # the order context: customer, lines, totals
    assert "Acme Trading" in html and "Widget" in html and "2,034.00 CNY" in html
    assert "Nobody has worked on this order" in html


def test_an_invalid_form_shows_messages_by_the_fields(session, runtime, team, as_user, client):
    _, instance = order_with_process(session, runtime)
    task = open_task(session, instance)
    as_user("sam")
    response = post(client, f"/tasks/{task.id}", {"comment": "x" * 501}, f"/tasks/{task.id}")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'data-field="approved">This field is required\.<', html)
    assert re.search(r'data-field="comment">Enter at most 500 characters\.<', html)
    assert "x" * 501 in html  # what was typed is kept
    assert open_task(session, instance).id == task.id  # nothing completed


def test_completing_moves_the_instance_on_and_offers_the_next_task(session, runtime, team,
                                                                   as_user, client):
    _, first = order_with_process(session, runtime, "SO-2026-0001")
    _, second = order_with_process(session, runtime, "SO-2026-0002")
    task = open_task(session, first)
    as_user("sam")
    post(client, f"/tasks/{task.id}/claim")
    response = post(client, f"/tasks/{task.id}", {"approved": "true", "comment": " fine "},
                    f"/tasks/{task.id}")
    assert response.status_code == 302 and response.location == f"/tasks/{task.id}"
    instance = session.get(ProcessInstance, first.id, populate_existing=True)
    assert instance.status == "completed"
    done = session.get(HumanTask, task.id, populate_existing=True)
    assert done.state == "completed" and done.completed_by == "sam"

    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "You completed this task" in html
    next_id = open_task(session, second).id
    assert f'href="/tasks/{next_id}" data-testid="next-task"' in html
    assert "sam</strong> completed" in html  # the approval history
    completed = client.get("/inbox?view=completed").get_data(as_text=True)
    assert f'data-task-id="{task.id}"' in completed


def test_a_rejection_takes_the_other_path(session, runtime, team, as_user, client):
    _, instance = order_with_process(session, runtime)
    task = open_task(session, instance)
    as_user("sue")
    post(client, f"/tasks/{task.id}", {"approved": "false"}, f"/tasks/{task.id}")
    events = client.get("/orders/SO-2026-0001").get_data(as_text=True)
    assert "Mark rejected" in events and "Mark approved" not in events


def test_a_task_claimed_by_someone_else_cannot_be_completed(session, runtime, team, as_user,
                                                            client):
    _, instance = order_with_process(session, runtime)
    task = open_task(session, instance)
    as_user("sue")
    post(client, f"/tasks/{task.id}/claim")
    client.post("/logout", data={"csrf_token": re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/inbox").get_data(as_text=True))[1]})
    as_user("sam")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Claimed by sue" in html and "<fieldset class=\"plain\" disabled>" in html
    response = post(client, f"/tasks/{task.id}", {"approved": "true"}, f"/tasks/{task.id}")
    assert response.status_code == 302
    assert "claimed by sue" in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert open_task(session, instance).id == task.id


def test_stale_and_foreign_links_get_clear_pages(session, runtime, team, as_user, client):
    _, instance = order_with_process(session, runtime)
    task = open_task(session, instance)
    runtime.complete_task(task.id, {"approved": True}, _actor(session, "sue"))
    as_user("sam")
    page = client.get(f"/tasks/{task.id}")
    assert page.status_code == 200 and "Completed by sue" in page.get_data(as_text=True)
    again = post(client, f"/tasks/{task.id}", {"approved": "true"}, f"/tasks/{task.id}")
    assert again.status_code == 302
    assert "already completed" in client.get(again.location).get_data(as_text=True)
    for path in ("/tasks/does-not-exist", "/tasks/' OR 1=1 --", "/orders/NOPE",
                 "/orders/NOPE/diagram.bpmn", "/no/such/page"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.content_type.startswith("text/html")
        assert "Back to the inbox" in response.get_data(as_text=True)
    gone = post(client, "/tasks/does-not-exist", {"approved": "true"})
    assert gone.status_code == 404


def _actor(session, username):
    from app import identity

    return identity.actor_by_username(session, username)


def test_a_form_missing_from_the_deployment_is_said_not_crashed(session, runtime, team, as_user,
                                                                client):
    _, instance = order_with_process(session, runtime)
    task = open_task(session, instance)
    task.form_schema = "gone.schema.json"
    session.commit()
    as_user("sam")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "form gone.schema.json is not part of the deployed process version" in html
    assert '<fieldset class="plain" disabled>' in html
    response = post(client, f"/tasks/{task.id}", {"approved": "true"}, f"/tasks/{task.id}")
    assert response.status_code == 302 and open_task(session, instance).id == task.id


def test_a_credit_task_shows_the_credit_figures(session, runtime, team, as_user):
    order, instance = order_with_process(session, runtime)
    order.credit_checked = {"open_receivables": "150000", "unbilled_open_orders": "60000",
                            "this_order": "2034.00", "exposure": "212034.00",
                            "limit": "200000", "overdue_invoices": [], "hold": True,
                            "reason": "exposure 212034.00 exceeds the credit limit 200000",
                            "checked_at": "2026-03-02T09:00:00+00:00"}
    task = open_task(session, instance)
    client = as_user("sam")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-testid="credit"' not in html  # an approval task: no credit panel
    task.node_id = "credit_review"
    session.commit()
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    credit = html[html.index('data-testid="credit"'):html.index('data-testid="history"')]
    assert "212,034.00" in credit and "200,000.00" in credit and "150,000.00" in credit
    assert "exceeds the credit limit" in credit
