"""mongo_reports against a running service: one report end to end (sync and async), the
fallback to long polls, errors from the problem table, and every operation of the live
/openapi.json served by a method."""
from __future__ import annotations

import asyncio
import csv
import importlib.util
import pathlib

import httpx
import pytest

import mongo_reports
from mongo_reports import ApiError, AsyncClient, AsyncRequest, Client, ReportFailedError, Request, WaitTimeoutError

REPORT = "top-movies-per-rating"


def test_every_operation_in_the_document_has_a_method(base_url):
    document = httpx.get(f"{base_url}/openapi.json").json()
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            operation_id = operation["operationId"]
            if operation_id in mongo_reports.NOT_FOR_CLIENTS:
                continue
            served = mongo_reports.method_for(operation_id)
            owner, _, name = (served or ".").partition(".")
            classes = (Client, AsyncClient) if owner == "Client" else (Request, AsyncRequest)
            if not served or not all(callable(getattr(cls, name, None)) for cls in classes):
                missing.append(f"{method.upper()} {path} ({operation_id}) -> {served}")
    assert missing == [], "operations without a method in the Python client:\n" + "\n".join(missing)


def test_submit_wait_rows_download(base_url, db, tmp_path):
    sent = []

    def record(request: httpx.Request) -> None:
        sent.append(f"{request.method} {request.url.path}" + (" (long poll)" if "prefer" in request.headers else ""))

    http = httpx.Client(base_url=base_url, timeout=30, event_hooks={"request": [record]})
    with Client(base_url, http=http) as client:
        events = []
        request = client.submit(REPORT, rating={"$gte": 7.5}, output="both")
        assert request.last["status"] == "pending"
        final = request.wait(timeout=60, on_event=lambda kind, data: events.append(data.get("status", kind)))
        assert final["status"] == "completed", final.get("error")
        assert events and events[-1] == "completed", events
        assert any(line.endswith("/events") for line in sent), sent
        assert not any(line.endswith("(long poll)") for line in sent), f"waited on the stream alone: {sent}"

        rows = list(request.rows(page_size=10))
        expected = db["movies"].count_documents({"imdb.rating": {"$gte": 7.5}})
        assert expected > 10, "more than one page"
        assert len(rows) == expected
        assert len({row["movie_id"] for row in rows}) == expected

        path = tmp_path / "top.csv"
        written = request.download(str(path))
        assert written == path.stat().st_size
        with path.open(newline="", encoding="utf-8") as file:
            records = list(csv.reader(file))
        assert records[0] == request.status()["columns"]
        assert len(records) == expected + 1


def test_rows_of_a_files_only_request_say_so(base_url):
    with Client(base_url) as client:
        request = client.submit(REPORT, top=2, output="csv")
        with pytest.raises(mongo_reports.MongoReportsError, match="download"):
            next(request.rows())


def test_to_pandas(base_url):
    with Client(base_url) as client:
        request = client.submit(REPORT, top=7)
        frame = request.to_pandas()
        status = request.status()
        assert list(frame.columns) == status["columns"]
        assert len(frame) == 7
        assert frame["rating"].is_monotonic_decreasing


class _Recording(httpx.HTTPTransport):
    """Passes every request through and remembers it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path} {request.headers.get('prefer')}")
        return super().handle_request(request)


def test_submit_with_a_wait_comes_back_finished_from_the_one_post(base_url):
    recording = _Recording()
    with Client(base_url, http=httpx.Client(base_url=base_url, transport=recording, timeout=60)) as client:
        request = client.submit(REPORT, top=9, wait=25)
        assert request.last is not None and request.last["status"] == "completed", request.last
        assert request.wait(timeout=60)["status"] == "completed"
        assert recording.sent == ["POST /v1/reports wait=25"]


async def _async_submit_with_wait(base_url):
    async with AsyncClient(base_url) as client:
        request = await client.submit(REPORT, top=10, wait=25)
        return request.last


def test_async_submit_with_a_wait(base_url):
    last = asyncio.run(_async_submit_with_wait(base_url))
    assert last is not None and last["status"] == "completed", last


class _NoEventStream(httpx.HTTPTransport):
    """What a proxy that does not pass text/event-stream through answers; everything else goes through."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            return httpx.Response(502, text="no streaming here")
        return super().handle_request(request)


def test_wait_falls_back_to_long_polls(base_url):
    with Client(base_url, http=httpx.Client(base_url=base_url, transport=_NoEventStream(), timeout=30)) as client:
        request = client.submit(REPORT, top=3)
        assert request.wait(timeout=60)["status"] == "completed"
        assert len(list(request.rows())) == 3


class _PastTheLongPollCap(_NoEventStream):
    """No event stream, and long polls answered as a key past MAX_LONG_POLLS_PER_KEY sees them: at
    once, without Preference-Applied (here with a Retry-After of 30 s)."""

    def __init__(self) -> None:
        super().__init__()
        self.polls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "prefer" not in request.headers:
            return super().handle_request(request)
        self.polls += 1
        del request.headers["prefer"]
        response = super().handle_request(request)
        assert "preference-applied" not in response.headers
        response.headers["Retry-After"] = "30"
        return response


class _AsyncPastTheLongPollCap(httpx.AsyncHTTPTransport):
    """As ``_PastTheLongPollCap``, for the async client."""

    def __init__(self) -> None:
        super().__init__()
        self.polls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            return httpx.Response(502, text="no streaming here")
        held = "prefer" in request.headers
        if held:
            self.polls += 1
            del request.headers["prefer"]
        response = await super().handle_async_request(request)
        if held:
            response.headers["Retry-After"] = "30"
        return response


def test_a_long_poll_answered_without_waiting_is_followed_by_the_pause_retry_after_asks_for(base_url, held_request_id):
    transport = _PastTheLongPollCap()
    with Client(base_url, http=httpx.Client(base_url=base_url, transport=transport, timeout=30)) as client:
        with pytest.raises(WaitTimeoutError):
            client.request(held_request_id).wait(timeout=3)
    assert transport.polls == 1, f"{transport.polls} long polls: one, then the pause the timeout cut short"

    async def main() -> None:
        async with AsyncClient(base_url, http=httpx.AsyncClient(base_url=base_url, transport=async_transport, timeout=30)) as client:
            with pytest.raises(WaitTimeoutError):
                await client.request(held_request_id).wait(timeout=3)

    async_transport = _AsyncPastTheLongPollCap()
    asyncio.run(main())
    assert async_transport.polls == 1, f"async: {async_transport.polls} long polls: one, then the pause the timeout cut short"


def test_wait_times_out(base_url, held_request_id):
    with Client(base_url) as client:
        with pytest.raises(WaitTimeoutError):
            client.request(held_request_id).wait(timeout=1)


def test_errors_carry_the_problem_type_and_idempotency_keys_replay(base_url):
    with Client(base_url) as client:
        with pytest.raises(ApiError) as unknown:
            client.submit("no-such-report")
        assert unknown.value.is_("unknown-report") and unknown.value.status == 404

        with pytest.raises(ApiError) as invalid:
            client.submit(REPORT, top=-1)
        assert invalid.value.is_("invalid-parameters")
        assert any("top" in error["field"] for error in invalid.value.errors), invalid.value.problem

        with pytest.raises(ApiError) as missing:
            client.request("0" * 24).status()
        assert missing.value.is_("report-not-found")

        first = client.submit(REPORT, top=2, idempotency_key="python-client-test")
        again = client.submit(REPORT, top=2, idempotency_key="python-client-test")
        assert again.id == first.id


def test_cancel_remove_reports_history(base_url, held_request_id):
    with Client(base_url) as client:
        request = client.request(held_request_id)
        assert request.status()["status"] == "pending"
        assert request.cancel()["status"] == "cancelled"
        assert request.wait(timeout=10)["status"] == "cancelled"
        with pytest.raises(ReportFailedError):
            next(request.rows())
        request.remove()
        with pytest.raises(ApiError) as gone:
            request.status()
        assert gone.value.status == 404

        assert any(report["name"] == REPORT for report in client.reports())
        history = client.history(report_name=REPORT, limit=100)
        assert history["items"] and all(item["report_name"] == REPORT for item in history["items"])
        assert held_request_id not in {item["id"] for item in history["items"]}


def test_async_client(base_url, held_request_id, tmp_path):
    async def scenario():
        async with AsyncClient(base_url) as client:
            request = await client.submit(REPORT, top=12, output="both")
            final = await request.wait(timeout=60)
            assert final["status"] == "completed", final.get("error")
            rows = [row async for row in request.rows(page_size=5)]
            assert len(rows) == 12
            assert (await request.download(str(tmp_path / "a.csv"))) > 0
            frame = await request.to_pandas()
            assert len(frame) == 12

            held = client.request(held_request_id)
            with pytest.raises(WaitTimeoutError):
                await held.wait(timeout=1)
            assert (await held.cancel())["status"] == "cancelled"
            with pytest.raises(ReportFailedError):
                async for _ in held.rows():
                    pass
            await held.remove()
            assert any(report["name"] == REPORT for report in await client.reports())

    asyncio.run(scenario())


def test_pymongo_example(db):
    """examples/pymongo_request.py: insert, watch to completion, read the rows, with PyMongo alone."""
    path = pathlib.Path(__file__).resolve().parents[3] / "examples" / "pymongo_request.py"
    spec = importlib.util.spec_from_file_location("pymongo_request", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    # A small result (stored in the request document) and a large one (stored in chunks).
    rows = example.run_report(db, REPORT, {"rating": {"$gte": 8}, "top": 5}, timeout=60)
    assert len(rows) == 5
    assert all(row["rating"] >= 8 for row in rows)
    assert [row["rating"] for row in rows] == sorted((row["rating"] for row in rows), reverse=True)
    many = example.run_report(db, REPORT, {"rating": {"$gte": 6}}, timeout=60)
    assert len(many) == db["movies"].count_documents({"imdb.rating": {"$gte": 6}})
    assert len({row["movie_id"] for row in many}) == len(many)
