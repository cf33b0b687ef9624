"""Errors the client raises. The service answers every error as RFC 9457 problem+json from one
table; the problem's ``type`` ends in a slug (``.../problems/invalid-parameters``)."""
from __future__ import annotations

import re
from typing import Any, Dict, Optional

_SLUG = re.compile(r"/problems/([a-z0-9-]+)$")


class MongoReportsError(Exception):
    """Base class of everything this package raises."""


class ApiError(MongoReportsError):
    """The service answered with an error status; ``problem`` is its body."""

    def __init__(self, status: int, problem: Dict[str, Any]):
        self.status = status
        self.problem = problem
        match = _SLUG.search(str(problem.get("type", "")))
        self.slug: Optional[str] = match.group(1) if match else None
        detail = problem.get("detail")
        super().__init__(f"{status} {problem.get('title', 'error')}" + (f": {detail}" if detail else ""))

    def is_(self, slug: str) -> bool:
        """``error.is_("invalid-parameters")``: whether the problem is of that type."""
        return self.slug == slug

    @property
    def errors(self) -> list:
        """The field errors of an invalid-parameters or invalid-query problem ([] otherwise)."""
        return list(self.problem.get("errors") or [])


class ReportFailedError(MongoReportsError):
    """Rows or a file were asked of a request that ended ``error`` or ``cancelled``."""

    def __init__(self, status: Dict[str, Any]):
        self.status = status
        error = status.get("error") or {}
        reason = f": {error.get('code')}: {error.get('message')}" if error else ""
        super().__init__(f"report {status.get('report_name')} ({status.get('id')}) ended {status.get('status')}{reason}")


class WaitTimeoutError(MongoReportsError, TimeoutError):
    """``wait(timeout=...)`` ran out before the request reached a final status."""

    def __init__(self, request_id: str, timeout: float):
        self.request_id = request_id
        self.timeout = timeout
        super().__init__(f"report request {request_id} did not finish within {timeout} s")


def problem_from(response: Any) -> ApiError:
    """An ApiError from a non-2xx httpx response (a body that is not a problem becomes one)."""
    try:
        problem = response.json()
        if not isinstance(problem, dict):
            raise ValueError
    except ValueError:
        problem = {"type": "about:blank", "title": response.reason_phrase or "Error", "status": response.status_code}
    return ApiError(response.status_code, problem)
