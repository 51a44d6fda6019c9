"""The returns pages: the list finds a return by order or customer, the page shows its lines,
stock movements, credit note, open task and history."""
import re

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(client, make_user, username, group):
    make_user(username, group, password="pw")
    csrf = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"username": username, "password": "pw",
                                           "csrf_token": csrf})
    assert response.status_code == 302


def test_the_list_and_the_return_page(o2c, client, make_user):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 2)])
    response = o2c.request_return(number, [(1, 2)], reason="arrived broken")
    assert response.status_code == 201, response.get_json()
    rma = response.get_json()["number"]
    o2c.approve_and_receive(rma, [{"line_no": 1, "quantity": 2}])
    assert o2c.complete("wendy", rma, "inspect_return", {"outcome": "scrap"}).status_code == 200
    sign_in(client, make_user, "sara", "sales")

    listing = client.get("/returns").get_data(as_text=True)
    assert rma in listing and number in listing and "Credited" in listing
    assert rma in client.get(f"/returns?q={number}").get_data(as_text=True)
    assert rma not in client.get("/returns?q=nobody-like-this").get_data(as_text=True)

    page = client.get(f"/returns/{rma}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f"Return {rma}" in html and "arrived broken" in html
    assert "FUR-CHAIR-ERG" in html and "RETURNS" in html  # received into quarantine
    credit_note = o2c.get_return(rma)["credit_notes"][0]["number"]
    assert credit_note in html and "Scrap" in html
    assert "completed" in html  # history: the tasks people completed
    assert client.get("/returns/RMA-NOPE").status_code == 404


def test_the_page_shows_what_the_return_waits_for(o2c, client, make_user):
    number = o2c.deliver("C-1001", [("FUR-CHAIR-ERG", 1)])
    rma = o2c.request_return(number, [(1, 1)], reason="not needed").get_json()["number"]
    sign_in(client, make_user, "sara", "sales")
    html = client.get(f"/returns/{rma}").get_data(as_text=True)
    task = o2c.task(rma, "approve_return")
    assert f"/tasks/{task.id}" in html and "sales_supervisor" in html
    assert "Nothing received yet." in html
