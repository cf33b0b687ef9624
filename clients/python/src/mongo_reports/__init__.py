"""mongo_reports: a Python client for the mongo-reports API (httpx; sync and async).

    from mongo_reports import Client

    with Client("http://127.0.0.1:3000") as client:
        request = client.submit("top-movies-per-rating", top=5)
        request.wait(timeout=60)
        for row in request.rows():
            print(row)
"""
from ._async import AsyncClient, AsyncRequest
from ._calls import is_final
from ._errors import ApiError, MongoReportsError, ReportFailedError, WaitTimeoutError
from ._operations import NOT_FOR_CLIENTS, OPERATIONS, method_for
from ._sync import Client, Request

__all__ = [
    "Client",
    "Request",
    "AsyncClient",
    "AsyncRequest",
    "ApiError",
    "MongoReportsError",
    "ReportFailedError",
    "WaitTimeoutError",
    "OPERATIONS",
    "NOT_FOR_CLIENTS",
    "method_for",
    "is_final",
]
