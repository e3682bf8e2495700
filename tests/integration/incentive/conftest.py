"""Fixtures of the incentive integration tests: a migrated database, and both runners."""
import pytest

from services.incentive.handlers import HANDLERS
from services.incentive.runner import IncentiveRunner
from shared.consumer import ConsumerRunner
from shared.db import Database
from tests.integration.incentive.support import branch_opened

#: The branch the ``runner`` fixture opens (tests name it ``B``).
BRANCH = "branch-central"


@pytest.fixture
def db(database_url):
    database = Database(database_url, "incentive")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture(params=["shared", "batched"])
def runner(db, request):
    """The shared runner (a unit of work per event) and the worker's (one per batch) must agree."""
    factory = ConsumerRunner if request.param == "shared" else IncentiveRunner
    runner = factory(db, "127.0.0.1:1", "lsq.incentive", HANDLERS)
    runner.apply_batch([branch_opened(BRANCH)])
    return runner
