"""Every service's OpenAPI document tells the truth: a schema-driven fuzzer (schemathesis) sends
valid and invalid requests to every operation, as network_admin and anonymously, and checks that
no answer is a 500, that each status, content type and body is the one documented, and that
invalid input is refused. Bounded (a few examples per operation and mode) and derandomised, so a
run is the same on every machine."""
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (content_type_conformance, negative_data_rejection, not_a_server_error,
                                 response_schema_conformance, status_code_conformance)

from shared.config import SERVICE_PORTS, REPO_ROOT
from tests.helpers import auth, make_app

pytestmark = pytest.mark.integration

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
EXAMPLES = 8  # per operation, generation mode and caller: about 1,000 requests for the largest service
SERVICES = [name for name in SERVICE_PORTS
            if name != "portal" and (REPO_ROOT / "services" / name / "api.py").exists()]


@pytest.mark.parametrize("service", SERVICES)
def test_the_documented_api_is_the_real_one(service, sqlite_url):
    app = make_app(service, sqlite_url)
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    failures: dict[str, str] = {}
    requests = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for caller, headers in (("network_admin", auth("network_admin")), ("anonymous", {})):

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                          phases=[Phase.generate], suppress_health_check=list(HealthCheck))
                def probe(case):
                    nonlocal requests
                    requests += 1
                    try:
                        case.call_and_validate(headers=headers, checks=CHECKS)
                    except AssertionError as failure:  # schemathesis' FailureGroup is one
                        key = f"{operation.method.upper()} {operation.path} ({mode.value}, {caller})"
                        failures.setdefault(key, str(failure)[:1500])

                try:
                    probe()
                except Unsatisfiable:  # nothing in this operation can be made invalid (no parameters)
                    assert mode is GenerationMode.NEGATIVE
    print(f"{service}: {requests} requests, {len(failures)} operations failing")  # seen with pytest -s
    assert requests > 50, f"the fuzzer sent only {requests} requests to {service}"
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
