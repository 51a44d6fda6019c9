"""Users, groups and API tokens: creation and authentication."""
import hashlib
import secrets

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.engine.runtime import Actor
from app.models.identity import ApiToken, Group, User

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


