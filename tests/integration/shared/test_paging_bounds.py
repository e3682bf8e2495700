"""A huge page number is a 422 naming the field on every service's lists, never a 500."""
import pytest

from tests.helpers import auth, make_app

pytestmark = pytest.mark.integration

LISTS = {"directory": "/branches", "feedback": "/complaints", "evaluation": "/cycles", "training": "/courses",
         "incentive": "/ledger"}


@pytest.mark.parametrize("service", sorted(LISTS))
def test_a_huge_page_is_refused_naming_the_field(service, sqlite_url):
    client = make_app(service, sqlite_url).test_client()
    r = client.get(f"{LISTS[service]}?page=200000000000000000", headers=auth("network_admin"))
    assert r.status_code == 422 and "page" in r.json["errors"], r.json
    assert client.get(f"{LISTS[service]}?page=1000000", headers=auth("network_admin")).status_code == 200
