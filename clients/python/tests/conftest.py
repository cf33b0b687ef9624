"""The service under test: MONGO_REPORTS_URL (a running API with workers) and, for the tests that
insert straight into MongoDB, MONGODB_URI and MONGODB_DB. The repository's test suite
(test/integration/client-python.test.ts) starts the service and sets them."""
from __future__ import annotations

import datetime
import os

import pytest


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: these tests run against a service (npm test starts one)")
    return value


@pytest.fixture(scope="session")
def base_url() -> str:
    return _env("MONGO_REPORTS_URL")


@pytest.fixture(scope="session")
def db():
    from pymongo import MongoClient

    client = MongoClient(_env("MONGODB_URI"))
    yield client[_env("MONGODB_DB")]
    client.close()


@pytest.fixture
def held_request_id(db) -> str:
    """A pending request no worker takes for ten minutes (a Mongo-native insert with not_before)."""
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10)
    inserted = db["report_requests"].insert_one(
        {"report_name": "top-movies-per-rating", "params": {}, "status": "pending", "not_before": later}
    )
    return str(inserted.inserted_id)
