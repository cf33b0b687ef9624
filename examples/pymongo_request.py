"""A report the Mongo-native way, with PyMongo alone: insert a request document, watch it to
completion on a change stream, read the rows the worker stored.

    MONGODB_URI=mongodb://127.0.0.1:27017 MONGODB_DB=sample_mflix python examples/pymongo_request.py

The service's workers must be running against the same database (``npm start`` does). The
change stream needs a replica set (or the embedded test server). A small result (one chunk of
at most 16 KiB) is stored in the request document itself (``result.rows``); a larger one in
``report_results``, as chunks keyed by the request's id, its completed attempt and the chunk
number. The HTTP API (or ``mongo_reports.Client(...).request(id).rows()``) reads the same rows.
"""
from __future__ import annotations

import os
import time
from typing import Any, Dict, List

from bson import ObjectId
from pymongo import MongoClient
from pymongo.database import Database

FINAL = ("completed", "error", "cancelled")


def run_report(db: Database, report_name: str, params: Dict[str, Any], timeout: float = 120.0) -> List[Dict[str, Any]]:
    """Inserts a request, waits for its final status, and returns its rows (raises on error or cancel)."""
    requests = db["report_requests"]
    request_id = ObjectId()
    # Watch before inserting, so no transition is missed; events only say "this request changed":
    # the document is read by _id (no updateLookup), as the service's own workers do.
    pipeline = [{"$match": {"documentKey._id": request_id, "operationType": {"$in": ["insert", "update", "replace"]}}}]
    deadline = time.monotonic() + timeout
    with requests.watch(pipeline, max_await_time_ms=1000) as stream:
        requests.insert_one({"_id": request_id, "report_name": report_name, "params": params, "status": "pending"})
        while True:
            doc = requests.find_one({"_id": request_id})
            if doc and doc["status"] in FINAL:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"request {request_id} is still {doc and doc['status']} after {timeout} s")
            stream.try_next()  # returns on the next change, or after max_await_time_ms
    if doc["status"] != "completed":
        raise RuntimeError(f"request {request_id} ended {doc['status']}: {doc.get('error')}")
    inline = (doc.get("result") or {}).get("rows")
    if inline is not None:
        return inline
    chunks = db["report_results"].find({"request_id": request_id, "attempt": doc["attempts"]}).sort("chunk_no", 1)
    return [row for chunk in chunks for row in chunk["rows"]]


if __name__ == "__main__":
    client = MongoClient(os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017"))
    database = client[os.environ.get("MONGODB_DB", "sample_mflix")]
    for row in run_report(database, "top-movies-per-rating", {"rating": {"$gte": 8}, "top": 5}):
        print(row["title"], row["rating"])
