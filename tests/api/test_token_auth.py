"""Bearer tokens are checked on every request with one statement and no cache: a revoked token,
a deactivated user or a changed group membership takes effect on the very next request."""
from app import identity
from app.models.identity import ApiToken, User
from app.models.types import utcnow
from tests.conftest import auth


def inbox(client, token):
    return client.get("/api/tasks", headers=auth(token))


def test_a_revoked_token_is_refused_at_once(client, session, make_user):
    _, token = make_user("sam", "approvers")
    assert inbox(client, token).status_code == 200
    row = session.query(ApiToken).filter_by(token_hash=identity.hash_token(token)).one()
    row.revoked_at = utcnow()
    session.commit()
    response = inbox(client, token)
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"


def test_a_deactivated_user_is_refused_at_once(client, session, make_user):
    _, token = make_user("sam", "approvers")
    assert inbox(client, token).status_code == 200
    session.query(User).filter_by(username="sam").one().active = False
    session.commit()
    assert inbox(client, token).status_code == 401


def test_the_actor_has_the_users_groups_as_they_are_now(session, make_user):
    _, token = make_user("sam", "approvers", "warehouse")
    user_id, actor = identity.actor_for_token(session, token)
    assert (actor.username, actor.groups, actor.is_admin) == (
        "sam", frozenset({"approvers", "warehouse"}), False)
    assert user_id == session.query(User).filter_by(username="sam").one().id

    identity.create_user(session, "sam", None, ["admin"])
    session.commit()
    assert identity.actor_for_token(session, token)[1].groups == frozenset(
        {"approvers", "warehouse", "admin"})
    assert identity.actor_for_token(session, token)[1].is_admin


def test_a_user_without_groups_and_unknown_tokens(session, make_user):
    _, token = make_user("nobody")
    assert identity.actor_for_token(session, token)[1].groups == frozenset()
    assert identity.actor_for_token(session, "of_unknown") is None
    assert identity.actor_for_token(session, "") is None
