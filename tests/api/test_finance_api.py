"""Finance API: invoices, payments (201 / 200 on replay), notifications."""
from datetime import date

from sqlalchemy import func, select

from app.domain.notifications import notify
from app.models.finance import Payment
from tests.conftest import auth
from tests.domain.test_invoicing import make_customer, shipped_invoice


def test_post_payment_201_then_200_on_replay(client, session, make_user):
    _, token = make_user("fin", "finance")
    customer = make_customer(session)
    order, invoice = shipped_invoice(session, customer, "100")
    session.commit()
    body = {"external_id": "bank-77", "amount": "100.00", "currency": "CNY",
            "reference": invoice.number}

    first = client.post("/api/payments", json=body, headers=auth(token))
    replay = client.post("/api/payments", json=body, headers=auth(token))

    assert first.status_code == 201, first.json
    assert first.json == {"payment_id": first.json["payment_id"], "unallocated": "0.00",
                          "allocations": [{"invoice_number": invoice.number, "amount": "100.00"}],
                          "order_ids_fully_paid": [order.id]}
    assert replay.status_code == 200 and replay.json == first.json
    assert session.scalar(select(func.count()).select_from(Payment)) == 1


def test_post_payment_by_customer_code(client, session, make_user):
    _, token = make_user("fin", "finance")
    customer = make_customer(session)
    shipped_invoice(session, customer, "100")
    session.commit()

    response = client.post("/api/payments", json={
        "external_id": "bank-1", "amount": "130", "currency": "CNY", "customer": customer.code},
        headers=auth(token))

    assert response.status_code == 201
    assert response.json["unallocated"] == "30.00"


def test_post_payment_refuses_bad_fields_naming_each(client, make_user):
    _, token = make_user("fin", "finance")
    response = client.post("/api/payments", json={
        "amount": "-1", "currency": "yuan", "colour": "red"}, headers=auth(token))

    assert response.status_code == 422
    assert {"external_id", "amount", "currency", "colour"} <= set(response.json["details"])


def test_post_payment_unknown_customer_is_422(client, make_user):
    _, token = make_user("fin", "finance")
    response = client.post("/api/payments", json={
        "external_id": "b", "amount": "5", "currency": "CNY", "customer": "NOPE"},
        headers=auth(token))
    assert response.status_code == 422
    assert response.json["details"][0]["field"] == "customer"


def test_payments_and_invoices_need_the_finance_group(client, make_user):
    _, token = make_user("sal", "sales")
    assert client.post("/api/payments", json={}, headers=auth(token)).status_code == 403
    assert client.get("/api/invoices", headers=auth(token)).status_code == 403
    assert client.get("/api/invoices").status_code == 401


def test_list_and_read_invoices(client, session, make_user):
    _, token = make_user("fin", "finance")
    c1, c2 = make_customer(session, "C1"), make_customer(session, "C2")
    _, first = shipped_invoice(session, c1, "100", issue=date(2026, 1, 5))
    _, second = shipped_invoice(session, c1, "50", issue=date(2026, 2, 5))
    shipped_invoice(session, c2, "70")
    second.status, second.paid_amount = "paid", second.total
    session.commit()

    listed = client.get("/api/invoices?customer=C1", headers=auth(token))
    open_ = client.get("/api/invoices?customer=C1&status=posted", headers=auth(token))
    detail = client.get(f"/api/invoices/{first.number}", headers=auth(token))

    assert [i["number"] for i in listed.json] == [second.number, first.number]
    assert [i["number"] for i in open_.json] == [first.number]
    assert detail.status_code == 200
    assert (detail.json["total"], detail.json["due_date"]) == ("100.00", "2026-02-04")
    assert [(ln["quantity"], ln["net_amount"]) for ln in detail.json["lines"]] == [
        ("1.000", "100.00")]
    assert client.get("/api/invoices/INV-0", headers=auth(token)).status_code == 404
    bad = client.get("/api/invoices?status=lost", headers=auth(token))
    assert bad.status_code == 422 and "status" in bad.json["details"]


def test_notifications_mine_and_my_groups_unread_first(client, session, make_user):
    _, token = make_user("sam", "finance")
    read = notify(session, key="n1", subject="old, read", username="sam")
    group = notify(session, key="n2", subject="for finance", group="finance")
    notify(session, key="n3", subject="for someone else", username="kim")
    session.flush()
    read.read_at = read.created_at
    session.commit()

    listed = client.get("/api/notifications", headers=auth(token))

    assert [n["subject"] for n in listed.json] == ["for finance", "old, read"]
    marked = client.post(f"/api/notifications/{group.id}/read", headers=auth(token))
    assert marked.status_code == 200 and marked.json["read_at"] is not None
    after = client.get("/api/notifications", headers=auth(token)).json
    assert all(n["read_at"] for n in after)


def test_reading_someone_elses_notification_is_404(client, session, make_user):
    _, token = make_user("sam", "sales")
    other = notify(session, key="n1", subject="for kim", username="kim")
    session.commit()

    assert client.post(f"/api/notifications/{other.id}/read",
                       headers=auth(token)).status_code == 404
    assert client.post("/api/notifications/999/read", headers=auth(token)).status_code == 404
