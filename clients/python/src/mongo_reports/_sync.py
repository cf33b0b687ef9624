"""The synchronous client: ``Client`` and its ``Request`` handles."""
from __future__ import annotations

import itertools
import time
import uuid
from typing import Any, Callable, Dict, Iterator, Optional

import httpx

from ._calls import (
    LONG_POLL_SECONDS,
    Call,
    Operations,
    cancel_call,
    completed,
    file_location,
    is_final,
    long_poll_call,
    next_page,
    remove_call,
    retry_delay,
    segment,
    status_call,
    stream_event,
    submit_call,
    with_rows,
)
from ._errors import ApiError, WaitTimeoutError, problem_from
from ._sse import EventParser

OnEvent = Callable[[str, Dict[str, Any]], None]


def _headers(api_key: Optional[str]) -> Dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


class Client(Operations):
    """``Client("http://127.0.0.1:3000", api_key=...)``; use as a context manager, or ``close()``."""

    def __init__(self, base_url: str, api_key: Optional[str] = None, timeout: float = 30.0, http: Optional[httpx.Client] = None):
        self._http = http or httpx.Client(base_url=base_url.rstrip("/"), headers=_headers(api_key), timeout=timeout)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: Call, timeout: Optional[float] = None) -> Any:
        response = self._http.request(
            call.method,
            call.path,
            params=call.query(),
            json=call.json,
            headers=call.headers,
            **({} if timeout is None else {"timeout": timeout}),
        )
        if response.is_error:
            raise problem_from(response)
        return call.result(response)

    def submit(
        self,
        report_name: str,
        *,
        idempotency_key: Optional[str] = None,
        retries: int = 2,
        fresh: bool = False,
        wait: int = 0,
        **params: Any,
    ) -> "Request":
        """Requests a report with its parameters as keywords (``output="csv"`` too). An
        ``Idempotency-Key`` (fresh per call unless given) makes the retries of network errors,
        429 and 502-504 safe: the service returns the request the key made. ``wait=N`` lets the
        service hold the answer up to N seconds until the request is final."""
        call = submit_call(report_name, params, idempotency_key or str(uuid.uuid4()), fresh, wait)
        for attempt in itertools.count():
            try:
                response = self._http.request(
                    call.method,
                    call.path,
                    json=call.json,
                    headers=call.headers,
                    # A held submission answers within its wait: the read timeout must outlast it.
                    **({"timeout": wait + 30} if wait else {}),
                )
            except httpx.TransportError:
                delay = retry_delay(attempt, retries)
                if delay is None:
                    raise
            else:
                delay = retry_delay(attempt, retries, response)
                if delay is None:
                    if response.is_error:
                        raise problem_from(response)
                    return Request(self, response.json())
            time.sleep(delay)
        raise AssertionError("unreachable")

    def request(self, request_id: str) -> "Request":
        """A handle on a request made elsewhere (a Mongo-native insert, a schedule)."""
        return Request(self, request_id)


class Request:
    """One report request: wait for it, read its rows, download its file, cancel or remove it."""

    def __init__(self, client: Client, source: Any):
        self._client = client
        self.id: str = source if isinstance(source, str) else source["id"]
        #: The last status read (None for a handle made from an id until it is read).
        self.last: Optional[Dict[str, Any]] = None if isinstance(source, str) else source

    def __repr__(self) -> str:
        return f"Request({self.id!r}, status={(self.last or {}).get('status')!r})"

    def status(self) -> Dict[str, Any]:
        self.last = self._client._send(status_call(self.id))
        return self.last

    def wait(self, timeout: Optional[float] = None, on_event: Optional[OnEvent] = None) -> Dict[str, Any]:
        """The final status (completed, error or cancelled: check ``["status"]``). Follows the
        event stream (GET /v1/reports/{id}/events); where it cannot be opened, long-polls
        GET /v1/reports/{id} with ``Prefer: wait=N``. ``on_event(kind, data)`` sees each status
        and progress event."""
        if self.last is not None and is_final(self.last):
            return self.last
        deadline = None if timeout is None else time.monotonic() + timeout

        def check() -> None:
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeoutError(self.id, timeout or 0)

        try:
            final = self._follow_stream(deadline, check, on_event)
        except ApiError as error:
            if error.status < 500 and error.status != 406:
                raise  # 404, 401…: polling would fail too
            final = None
        except httpx.TransportError:
            check()
            final = None
        if final is not None:
            return final
        while True:
            check()
            wait = LONG_POLL_SECONDS if deadline is None else max(0, min(LONG_POLL_SECONDS, int(deadline - time.monotonic())))
            before = (self.last or {}).get("status")
            self.last, pause = self._client._send(long_poll_call(self.id, wait), timeout=wait + 30)
            if on_event and self.last.get("status") != before:
                on_event("status", self.last)
            if is_final(self.last):
                return self.last
            if pause is not None:  # answered without waiting: not another poll at once
                time.sleep(pause if deadline is None else max(0.0, min(pause, deadline - time.monotonic())))

    def _follow_stream(self, deadline: Optional[float], check: Callable[[], None], on_event: Optional[OnEvent]) -> Optional[Dict[str, Any]]:
        read = 60.0 if deadline is None else max(0.1, min(60.0, deadline - time.monotonic()))
        with self._client._http.stream(
            "GET",
            f"/v1/reports/{segment(self.id)}/events",
            headers={"Accept": "text/event-stream"},
            timeout=httpx.Timeout(30.0, read=read),
        ) as response:
            if response.status_code == 204:
                return self.status()  # finished, and the stream says so
            if response.is_error:
                response.read()
                raise problem_from(response)
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                return None
            parser = EventParser()
            for line in response.iter_lines():
                check()
                event = parser.feed(line)
                final = None if event is None else stream_event(self, event, on_event)
                if final is not None:
                    return final
        return None

    def rows(self, page_size: int = 1000) -> Iterator[Dict[str, Any]]:
        """Every row, page after page. Waits first; raises ReportFailedError when the report ended
        error or was cancelled."""
        with_rows(self.wait(), self.id)
        page = 0
        while True:
            view = self._client._send(status_call(self.id, page=page, page_size=page_size))
            yield from view.get("rows") or []
            following = next_page(view, page)
            if following is None:
                return
            page = following

    def to_pandas(self, page_size: int = 1000) -> Any:
        """Every row as a pandas DataFrame, columns in the report's order (``pip install mongo-reports[pandas]``)."""
        import pandas

        rows = list(self.rows(page_size))
        return pandas.DataFrame.from_records(rows, columns=self.status().get("columns"))

    def download(self, path: str, format: Optional[str] = None) -> int:
        """Writes a stored file of the request to ``path``: its CSV by default (``output="csv"`` or
        ``"both"``; a GCS file is fetched through the signed URL the service redirects to), or the
        file of ``format`` (GET /v1/reports/{id}/download?format=). Returns the bytes written."""
        completed(self.wait())
        location, query = file_location(self.id, format)
        written = 0
        with self._client._http.stream("GET", location, params=query, follow_redirects=True) as response:
            if response.is_error:
                response.read()
                raise problem_from(response)
            with open(path, "wb") as file:
                for chunk in response.iter_bytes():
                    file.write(chunk)
                    written += len(chunk)
        return written

    def cancel(self) -> Dict[str, Any]:
        """Cancels a pending or running request; returns its status."""
        self.last = self._client._send(cancel_call(self.id))
        return self.last

    def remove(self) -> None:
        """Deletes the request, its rows and its file."""
        self._client._send(remove_call(self.id))
