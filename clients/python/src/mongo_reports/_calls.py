"""The HTTP call behind each operation, described once for the sync and the async client: a
method of ``Operations`` returns ``self._send(Call(...))``, which the sync client runs at once
and the async client returns as a coroutine."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple
from urllib.parse import quote

from ._errors import MongoReportsError, ReportFailedError
from ._sse import ServerSentEvent

FINAL = ("completed", "error", "cancelled")
#: Statuses after which submit() sends again with the same Idempotency-Key.
RETRYABLE = (429, 502, 503, 504)
#: The longest single long poll asked for; ``Prefer: wait=`` is capped by the service, never refused
#: (past its long polls per key it answers at once, without ``Preference-Applied``).
LONG_POLL_SECONDS = 20


def is_final(status: Dict[str, Any]) -> bool:
    return status.get("status") in FINAL


def segment(value: Any) -> str:
    return quote(str(value), safe="")


def _json(response: Any) -> Any:
    return response.json()


def _nothing(response: Any) -> None:
    return None


@dataclass
class Call:
    method: str
    path: str
    params: Optional[Dict[str, Any]] = None
    json: Any = None
    headers: Dict[str, str] = field(default_factory=dict)
    #: What the caller gets from the (successful) response.
    result: Callable[[Any], Any] = _json

    def query(self) -> Optional[Dict[str, Any]]:
        return None if self.params is None else {k: v for k, v in self.params.items() if v is not None}


def submit_call(report_name: str, params: Dict[str, Any], idempotency_key: str, fresh: bool, wait: int = 0) -> Call:
    """``wait``: seconds the service may hold the answer until the request is final (``Prefer: wait=N``,
    which the service caps, never refuses): a small report comes back finished from the one call,
    anything else pending once the wait is up."""
    headers = {"Idempotency-Key": idempotency_key}
    if fresh:
        headers["Cache-Control"] = "no-cache"
    if wait:
        headers["Prefer"] = f"wait={wait}"
    return Call("POST", "/v1/reports", json={**params, "report_name": report_name}, headers=headers)


def status_call(request_id: str, page: Optional[int] = None, page_size: Optional[int] = None) -> Call:
    return Call("GET", f"/v1/reports/{segment(request_id)}", params={"page": page, "page_size": page_size})


def long_poll_call(request_id: str, wait: int) -> Call:
    """The status, held up to ``wait`` seconds until it is final. Its result is ``(status, pause)``:
    ``pause`` is None when the service held the read (``Preference-Applied``) or the status is
    final; else the seconds ``Retry-After`` asks for before polling again (a key past the service's
    long polls per key is answered at once)."""
    return Call("GET", f"/v1/reports/{segment(request_id)}", headers={"Prefer": f"wait={wait}"}, result=_held_status)


def _held_status(response: Any) -> Tuple[Dict[str, Any], Optional[float]]:
    status = response.json()
    if is_final(status) or "preference-applied" in response.headers:
        return status, None
    try:
        return status, min(float(response.headers.get("Retry-After", "1")), 30.0)
    except ValueError:
        return status, 1.0


def cancel_call(request_id: str) -> Call:
    return Call("POST", f"/v1/reports/{segment(request_id)}/cancel")


def remove_call(request_id: str) -> Call:
    return Call("DELETE", f"/v1/reports/{segment(request_id)}", result=_nothing)


def file_location(request_id: str, format: Optional[str]) -> Tuple[str, Optional[Dict[str, str]]]:
    """The path and query of a stored file: the CSV route by default, the download route for a format."""
    if format is None or format == "csv":
        return f"/v1/reports/{segment(request_id)}/csv", None
    return f"/v1/reports/{segment(request_id)}/download", {"format": format}


def retry_delay(attempt: int, retries: int, response: Any = None) -> Optional[float]:
    """Seconds to wait before sending a submit again, or None when this outcome is the answer
    (``response`` None: the request failed on the network)."""
    if attempt >= retries:
        return None
    if response is None:
        return backoff_seconds(attempt)
    return retry_after_seconds(response, attempt) if response.status_code in RETRYABLE else None


def has_rows(status: Dict[str, Any]) -> bool:
    """Whether the request keeps rows to page through (output json or both, or a list with json)."""
    output = status.get("output") or "json"
    kinds = output if isinstance(output, list) else [output]
    return "json" in kinds or "both" in kinds


def with_rows(status: Dict[str, Any], request_id: str) -> Dict[str, Any]:
    """The completed status of a request with rows; an error naming download() for one with files only."""
    if not has_rows(completed(status)):
        raise MongoReportsError(f"request {request_id} wrote files only (output {status.get('output')!r}): download() them")
    return status


def completed(status: Dict[str, Any]) -> Dict[str, Any]:
    """The final status when it is completed; ReportFailedError for error and cancelled."""
    if status.get("status") != "completed":
        raise ReportFailedError(status)
    return status


def next_page(view: Dict[str, Any], page: int) -> Optional[int]:
    """The page after ``page``, or None when it was the last."""
    total = view.get("total_pages")
    return None if total is None or page + 1 >= total else page + 1


def stream_event(request: Any, event: ServerSentEvent, on_event: Optional[Callable[[str, Dict[str, Any]], None]]) -> Optional[Dict[str, Any]]:
    """Applies one server-sent event to the request handle; returns the final status when it is one."""
    data = json.loads(event.data)
    if event.event == "status":
        request.last = data
        if on_event:
            on_event("status", data)
        return data if is_final(data) else None
    if event.event == "progress" and on_event:
        on_event("progress", data)
    return None


def retry_after_seconds(response: Any, attempt: int) -> float:
    try:
        return min(float(response.headers.get("Retry-After", "")), 30.0)
    except ValueError:
        return backoff_seconds(attempt)


def backoff_seconds(attempt: int) -> float:
    return min(0.25 * 2**attempt, 5.0)


class Operations:
    """One method per operation of the OpenAPI document (``_operations.OPERATIONS`` lists them)."""

    def _send(self, call: Call) -> Any:  # pragma: no cover - the clients define it
        raise NotImplementedError

    # ---- report requests ----

    def status(self, request_id: str, page: Optional[int] = None, page_size: Optional[int] = None) -> Any:
        """One read of a request's status (with one page of rows when completed with rows)."""
        return self._send(status_call(request_id, page, page_size))

    def history(
        self,
        report_name: Optional[str] = None,
        status: Optional[str] = None,
        limit: Optional[int] = None,
        after: Optional[str] = None,
    ) -> Any:
        """Past requests, newest first, one page (``next_after`` for the next)."""
        params = {"report_name": report_name, "status": status, "limit": limit, "after": after}
        return self._send(Call("GET", "/v1/reports", params=params))

    # ---- the catalogue ----

    def reports(self) -> Any:
        """The reports that can be run, with their parameter schemas."""
        return self._send(Call("GET", "/v1/report-definitions", result=lambda r: r.json()["reports"]))

    def report(self, name: str) -> Any:
        return self._send(Call("GET", f"/v1/report-definitions/{segment(name)}"))

    def define_report(self, name: str, definition: Dict[str, Any]) -> Any:
        """Defines (or changes) a data-defined report; needs the admin scope."""
        return self._send(Call("PUT", f"/v1/report-definitions/{segment(name)}", json=definition))

    def retire_report(self, name: str) -> Any:
        return self._send(Call("DELETE", f"/v1/report-definitions/{segment(name)}", result=_nothing))

    def check_definition(self, definition: Dict[str, Any]) -> Any:
        """Validates a definition without saving it."""
        return self._send(Call("POST", "/v1/report-definition-checks", json=definition))

    def report_versions(self, name: str) -> Any:
        return self._send(Call("GET", f"/v1/report-definitions/{segment(name)}/versions"))

    def report_version(self, name: str, version: int) -> Any:
        return self._send(Call("GET", f"/v1/report-definitions/{segment(name)}/versions/{segment(version)}"))

    def restore_report_version(self, name: str, version: int) -> Any:
        return self._send(Call("POST", f"/v1/report-definitions/{segment(name)}/versions/{segment(version)}/restore"))

    # ---- schedules ----

    def create_schedule(self, schedule: Dict[str, Any]) -> Any:
        return self._send(Call("POST", "/v1/schedules", json=schedule))

    def schedules(self, page: Optional[int] = None, page_size: Optional[int] = None) -> Any:
        return self._send(Call("GET", "/v1/schedules", params={"page": page, "page_size": page_size}))

    def schedule(self, schedule_id: str) -> Any:
        return self._send(Call("GET", f"/v1/schedules/{segment(schedule_id)}"))

    def update_schedule(self, schedule_id: str, changes: Dict[str, Any]) -> Any:
        return self._send(Call("PATCH", f"/v1/schedules/{segment(schedule_id)}", json=changes))

    def delete_schedule(self, schedule_id: str) -> Any:
        return self._send(Call("DELETE", f"/v1/schedules/{segment(schedule_id)}", result=_nothing))

    def pause_schedule(self, schedule_id: str) -> Any:
        return self._send(Call("POST", f"/v1/schedules/{segment(schedule_id)}/pause"))

    def resume_schedule(self, schedule_id: str) -> Any:
        return self._send(Call("POST", f"/v1/schedules/{segment(schedule_id)}/resume"))

    # ---- the service ----

    def health(self) -> Any:
        return self._send(Call("GET", "/healthz"))

    def ready(self) -> Any:
        return self._send(Call("GET", "/readyz"))

    def openapi(self) -> Any:
        """The OpenAPI document the service serves now."""
        return self._send(Call("GET", "/openapi.json"))

    def metrics(self) -> Any:
        """The Prometheus exposition text."""
        return self._send(Call("GET", "/metrics", result=lambda r: r.text))
