"""Every service's API documentation page loads Swagger UI from the service itself, never a CDN."""
import hashlib
import re

import pytest

from shared import vendor
from tests.helpers import make_app

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("service", ["directory", "feedback", "evaluation", "training", "incentive"])
def test_api_docs_load_swagger_ui_from_the_service_itself(service, sqlite_url):
    client = make_app(service, sqlite_url).test_client()
    page = client.get("/docs").get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len(sources) == 3 and all(s.startswith("/docs/assets/swagger-ui/") for s in sources), sources
    assert "http" not in page.replace("openapi.json", "")
    for source in sources:
        r = client.get(source)
        assert r.status_code == 200, source
        package, name = source.removeprefix("/docs/assets/").split("/", 1)
        assert hashlib.sha256(r.data).hexdigest() == vendor.manifest()[package]["files"][name]
    assert client.get("/docs/assets/htmx/../manifest.json").status_code == 404
    assert client.get("/docs/assets/swagger-ui/index.html").status_code == 404
