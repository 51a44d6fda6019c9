"""Users, groups and API tokens: creation and authentication."""
import hashlib
import secrets

from sqlalchemy import bindparam, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.engine.runtime import Actor
from app.models.identity import ApiToken, Group, User, user_group

ADMIN_GROUP = "admin"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_or_create_group(session, name: str) -> Group:
    group = session.scalar(select(Group).where(Group.name == name))
    if group is None:
        group = Group(name=name)
        session.add(group)
        session.flush()
    return group


def create_user(session, username: str, password: str | None, groups: list[str],
                full_name: str | None = None, email: str | None = None) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, full_name=full_name, email=email)
        session.add(user)
    if password:
        user.password_hash = generate_password_hash(password)
    for name in groups:
        group = get_or_create_group(session, name)
        if group not in user.groups:
            user.groups.append(group)
    session.flush()
    return user


def create_token(session, user: User, name: str = "default") -> str:
    """Returns the token; only its hash is stored, so this is the one time it can be shown."""
    token = "of_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=hash_token(token),
                         prefix=token[:10]))
    session.flush()
    return token


# Who a bearer token belongs to, with the user's groups: one plain statement per request (no ORM
# objects, no second query for the groups). Not cached, so a revoked token, a deactivated user or
# a changed group membership takes effect on the very next request.
_TOKEN_OWNER = (
    select(ApiToken.revoked_at, User.id, User.username, User.active, Group.name)
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(user_group, user_group.c.user_id == User.id)
    .outerjoin(Group, Group.id == user_group.c.group_id)
    .where(ApiToken.token_hash == bindparam("token_hash")))


def actor_for_token(session, token: str) -> tuple[int, Actor] | None:
    """(user id, actor) of a valid token's active user; None for an unknown or revoked token."""
    if not token or len(token) > 200:
        return None
    rows = session.execute(_TOKEN_OWNER, {"token_hash": hash_token(token)}).all()
    if not rows:
        return None
    revoked_at, user_id, username, active, _ = rows[0]
    if revoked_at is not None or not active:
        return None
    groups = frozenset(row[4] for row in rows if row[4] is not None)
    return user_id, Actor(username, groups, ADMIN_GROUP in groups)


def user_for_token(session, token: str) -> User | None:
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    return row.user


def check_password(session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    if user and user.active and user.password_hash and \
            check_password_hash(user.password_hash, password):
        return user
    return None


def actor_for(user: User) -> Actor:
    groups = frozenset(user.group_names)
    return Actor(user.username, groups, ADMIN_GROUP in groups)


def actor_by_username(session, username: str) -> Actor | None:
    user = session.scalar(select(User).where(User.username == username))
    return actor_for(user) if user and user.active else None


