"""The asynchronous client: ``AsyncClient`` and its ``AsyncRequest`` handles (the same methods as
the sync ones, awaited; ``rows()`` is an async iterator)."""
from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any, AsyncIterator, Dict, Optional

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
from ._sync import OnEvent, _headers


class AsyncClient(Operations):
    """``async with AsyncClient("http://127.0.0.1:3000") as client: ...``"""

    def __init__(self, base_url: str, api_key: Optional[str] = None, timeout: float = 30.0, http: Optional[httpx.AsyncClient] = None):
        self._http = http or httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=_headers(api_key), timeout=timeout)

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call, timeout: Optional[float] = None) -> Any:
        response = await self._http.request(
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

    async def submit(
        self,
        report_name: str,
        *,
        idempotency_key: Optional[str] = None,
        retries: int = 2,
        fresh: bool = False,
        wait: int = 0,
        **params: Any,
    ) -> "AsyncRequest":
        """As ``Client.submit``."""
        call = submit_call(report_name, params, idempotency_key or str(uuid.uuid4()), fresh, wait)
        for attempt in itertools.count():
            try:
                response = await self._http.request(
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
                    return AsyncRequest(self, response.json())
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def request(self, request_id: str) -> "AsyncRequest":
        return AsyncRequest(self, request_id)


class AsyncRequest:
    """As ``Request``, with every method awaited."""

    def __init__(self, client: AsyncClient, source: Any):
        self._client = client
        self.id: str = source if isinstance(source, str) else source["id"]
        self.last: Optional[Dict[str, Any]] = None if isinstance(source, str) else source

    def __repr__(self) -> str:
        return f"AsyncRequest({self.id!r}, status={(self.last or {}).get('status')!r})"

    async def status(self) -> Dict[str, Any]:
        self.last = await self._client._send(status_call(self.id))
        return self.last

    async def wait(self, timeout: Optional[float] = None, on_event: Optional[OnEvent] = None) -> Dict[str, Any]:
        if self.last is not None and is_final(self.last):
            return self.last
        if timeout is None:
            return await self._wait(on_event)
        try:
            return await asyncio.wait_for(self._wait(on_event), timeout)
        except asyncio.TimeoutError:
            raise WaitTimeoutError(self.id, timeout) from None

    async def _wait(self, on_event: Optional[OnEvent]) -> Dict[str, Any]:
        try:
            final = await self._follow_stream(on_event)
        except ApiError as error:
            if error.status < 500 and error.status != 406:
                raise
            final = None
        except httpx.TransportError:
            final = None
        if final is not None:
            return final
        while True:
            before = (self.last or {}).get("status")
            self.last, pause = await self._client._send(long_poll_call(self.id, LONG_POLL_SECONDS), timeout=LONG_POLL_SECONDS + 30)
            if on_event and self.last.get("status") != before:
                on_event("status", self.last)
            if is_final(self.last):
                return self.last
            if pause is not None:  # answered without waiting: not another poll at once
                await asyncio.sleep(pause)

    async def _follow_stream(self, on_event: Optional[OnEvent]) -> Optional[Dict[str, Any]]:
        async with self._client._http.stream(
            "GET",
            f"/v1/reports/{segment(self.id)}/events",
            headers={"Accept": "text/event-stream"},
            timeout=httpx.Timeout(30.0, read=60.0),
        ) as response:
            if response.status_code == 204:
                return await self.status()
            if response.is_error:
                await response.aread()
                raise problem_from(response)
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                return None
            parser = EventParser()
            async for line in response.aiter_lines():
                event = parser.feed(line)
                final = None if event is None else stream_event(self, event, on_event)
                if final is not None:
                    return final
        return None

    async def _final(self) -> Dict[str, Any]:
        return completed(await self.wait())

    async def rows(self, page_size: int = 1000) -> AsyncIterator[Dict[str, Any]]:
        with_rows(await self.wait(), self.id)
        page = 0
        while True:
            view = await self._client._send(status_call(self.id, page=page, page_size=page_size))
            for row in view.get("rows") or []:
                yield row
            following = next_page(view, page)
            if following is None:
                return
            page = following

    async def to_pandas(self, page_size: int = 1000) -> Any:
        import pandas

        rows = [row async for row in self.rows(page_size)]
        return pandas.DataFrame.from_records(rows, columns=(await self.status()).get("columns"))

    async def download(self, path: str, format: Optional[str] = None) -> int:
        await self._final()
        location, query = file_location(self.id, format)
        written = 0
        async with self._client._http.stream("GET", location, params=query, follow_redirects=True) as response:
            if response.is_error:
                await response.aread()
                raise problem_from(response)
            with open(path, "wb") as file:
                async for chunk in response.aiter_bytes():
                    file.write(chunk)
                    written += len(chunk)
        return written

    async def cancel(self) -> Dict[str, Any]:
        self.last = await self._client._send(cancel_call(self.id))
        return self.last

    async def remove(self) -> None:
        await self._client._send(remove_call(self.id))
