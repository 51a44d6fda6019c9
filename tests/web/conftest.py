import pytest

from tests.web.helpers import login


@pytest.fixture
def team(make_user, deployed):
    """Approvers sam and sue, warehouse wendy, all with password "pw"; tests/processes deployed."""
    for name, group in (("sam", "approvers"), ("sue", "approvers"), ("wendy", "warehouse")):
        make_user(name, group, password="pw")
    return deployed


@pytest.fixture
def as_user(client):
    def sign_in(username):
        assert login(client, username).status_code == 302
        return client
    return sign_in
