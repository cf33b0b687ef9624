"""Schemathesis hooks of the contract run (test/integration/schemathesis.test.ts). Two, each
dropping generated cases that are not what Schemathesis labels them; no check is turned off.

1. `filter_case`: a case labelled positive (valid) whose own metadata says one of its parts was
generated negative (invalid). Schemathesis's coverage phase builds header values from letters and
digits only, so a header whose pattern requires another character (`Last-Event-ID`,
`^[0-9]{1,6}\\.[123]$`: the dot) has no valid value there; an optional header is then seeded with an
invalid one (`0`), and that seed is sent in the "Default positive test case", which the service
rightly refuses (400 invalid-header) and positive_data_acceptance reports as "schema-valid request
rejected". Seen with Schemathesis 4.32.5 (the newest). The fuzzing phase, which has no such limit,
still sends valid and invalid values of that header.

2. `filter_body`: a JSON body with a `__proto__` key anywhere is refused by the body parser (400
bad-request, "forbidden prototype property": the prototype-pollution guard), which the document
does not say yet; such bodies are not generated. And a report's range filter is refused when its lower bound is not below its upper bound: it can match
nothing (400, naming both bounds). JSON Schema cannot compare two values, so the document cannot say
it, and the generator draws such ranges as valid. This drops them from generated bodies, and nothing
else. A bound this cannot read (year 0, say) drops the body too: fewer cases, never a false failure.
"""

from datetime import datetime, timezone

import schemathesis
from schemathesis import GenerationMode

BOUND_KEYS = ("$gt", "$gte", "$lt", "$lte")


class Unreadable(Exception):
    pass


def _date(value, key):
    """A date bound as the service reads it: a year is its whole year ($gt/$lte 2000 → from/before 2001-01-01)."""
    is_year = (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and len(value) == 4 and value.isdigit())
    try:
        if is_year:
            year = int(value) + (1 if key in ("$gt", "$lte") else 0)
            return datetime(year, 1, 1, tzinfo=timezone.utc), key in ("$gt", "$gte")
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, TypeError, AttributeError) as error:
        raise Unreadable() from error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed, key in ("$gte", "$lte")


def _empty(range_):
    lower_key = "$gt" if "$gt" in range_ else "$gte" if "$gte" in range_ else None
    upper_key = "$lt" if "$lt" in range_ else "$lte" if "$lte" in range_ else None
    if lower_key is None or upper_key is None:
        return False
    low, high = range_[lower_key], range_[upper_key]
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
    strings = isinstance(low, str) or isinstance(high, str)
    if numbers and not strings and not (float(low).is_integer() and float(high).is_integer() and 0 <= low <= 9999 and 0 <= high <= 9999):
        return low > high or (low == high and not (lower_key == "$gte" and upper_key == "$lte"))
    try:
        (lo, lo_inclusive), (hi, hi_inclusive) = _date(low, lower_key), _date(high, upper_key)
    except Unreadable:
        # Integers 0-9999 may be numbers (a numeric range) or years (a date range): judge both ways.
        if numbers:
            return low > high or (low == high and not (lower_key == "$gte" and upper_key == "$lte"))
        return True
    as_dates = lo > hi or (lo == hi and not (lo_inclusive and hi_inclusive))
    if numbers:
        as_numbers = low > high or (low == high and not (lower_key == "$gte" and upper_key == "$lte"))
        return as_dates or as_numbers
    return as_dates


def _has_proto_key(value):
    if isinstance(value, dict):
        return "__proto__" in value or any(_has_proto_key(inner) for inner in value.values())
    if isinstance(value, list):
        return any(_has_proto_key(inner) for inner in value)
    return False


def _has_empty_range(value):
    if isinstance(value, dict):
        if any(key in value for key in BOUND_KEYS) and _empty(value):
            return True
        return any(_has_empty_range(inner) for inner in value.values())
    if isinstance(value, list):
        return any(_has_empty_range(inner) for inner in value)
    return False


@schemathesis.hook
def filter_body(ctx, body):
    return not _has_empty_range(body) and not _has_proto_key(body)


@schemathesis.hook
def filter_case(ctx, case):
    meta = case.meta
    if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
        return True
    return all(part.mode == GenerationMode.POSITIVE for part in meta.components.values())
