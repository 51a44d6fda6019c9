"""Signing in and out, the login guard, session cookie settings and CSRF on every page form."""
from datetime import timedelta

import pytest

from app.models.identity import User
from tests.conftest import auth
from tests.web.helpers import csrf_token, login, order_with_process


@pytest.fixture
def sam(make_user):
    return make_user("sam", "approvers", password="pw")


def test_pages_need_a_login(client):
    response = client.get("/inbox?view=mine")
    assert response.status_code == 302
    assert response.location == "/login?next=/inbox?view%3Dmine"
    assert client.get("/").location == "/inbox"
    assert client.get("/orders/SO-1").status_code == 302
    assert client.get("/tasks/abc").status_code == 302


def test_wrong_password_shows_a_message_and_signs_nobody_in(client, sam):
    response = login(client, "sam", "nope")
    assert response.status_code == 200
    assert "Unknown user or wrong password." in response.get_data(as_text=True)
    assert client.get("/inbox").status_code == 302
    assert "Unknown user" in login(client, "nobody", "pw").get_data(as_text=True)


def test_login_goes_to_next_and_sets_a_safe_session_cookie(app, client, sam):
    token = csrf_token(client, "/login?next=/inbox?view=mine")
    response = client.post("/login", data={"username": "sam", "password": "pw",
                                           "next": "/inbox?view=mine", "csrf_token": token})
    assert response.status_code == 302 and response.location == "/inbox?view=mine"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert app.permanent_session_lifetime == timedelta(hours=8)
    page = client.get("/inbox").get_data(as_text=True)
    assert "sam" in page and "approvers" in page  # header: user and groups


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_login_never_redirects_off_site(client, sam, target):
    response = client.post("/login", data={"username": "sam", "password": "pw", "next": target,
                                           "csrf_token": csrf_token(client)})
    assert response.location == "/inbox"


def test_logout_is_a_post_and_ends_the_session(client, sam):
    login(client, "sam")
    assert client.get("/logout").status_code == 405
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})
    assert response.location == "/login"
    assert client.get("/inbox").status_code == 302


def test_a_deactivated_user_is_signed_out(client, session, sam):
    login(client, "sam")
    session.get(User, session.query(User.id).filter_by(username="sam").scalar()).active = False
    session.commit()
    assert client.get("/inbox").status_code == 302


def test_csrf_is_enforced_on_page_forms(client, sam):
    response = client.post("/login", data={"username": "sam", "password": "pw"})
    assert response.status_code == 400
    assert "form had expired" in response.get_data(as_text=True)
    login(client, "sam")
    assert client.post("/logout").status_code == 400
    assert client.post("/tasks/whatever/claim").status_code == 400
    forged = client.post("/tasks/whatever/claim", data={"csrf_token": "forged"})
    assert forged.status_code == 400


def test_the_bearer_token_api_needs_no_csrf_token(client, session, runtime, deployed, make_user):
    _, token = make_user("sue", "approvers")
    order_with_process(session, runtime, "SO-API-1")
    task_id = client.get("/api/tasks", headers=auth(token)).get_json()["items"][0]["id"]
    response = client.post(f"/api/tasks/{task_id}/claim", headers=auth(token))
    assert response.status_code == 200 and response.get_json()["assignee"] == "sue"
