#!/usr/bin/env bash
# A walk through the API with curl and jq, against `npm start` (http://127.0.0.1:3000 by default).
# Usage: examples/curl-walkthrough.sh [base-url]
set -euo pipefail
base="${1:-http://127.0.0.1:3000}"
json=(-H 'content-type: application/json')

echo "== the reports that can be run"
curl -sf "$base/v1/report-definitions" | jq -r '.items[]? // .[]? | .name' 2>/dev/null || curl -sf "$base/v1/report-definitions"

echo "== ask for the five best-rated movies (202 with the request's id)"
id=$(curl -sf -X POST "$base/v1/reports" "${json[@]}" \
  -d '{"report_name": "top-movies-per-rating", "rating": {"$gt": 8}, "top": 5}' | jq -r .id)
echo "request $id"

echo "== wait for it (the server holds the call up to 10 s until the status changes)"
status=pending
while [ "$status" = pending ] || [ "$status" = running ]; do
  body=$(curl -sf "$base/v1/reports/$id?page=0&page_size=10&wait=10")
  status=$(jq -r .status <<<"$body")
  echo "status: $status"
done
jq '{status, total_rows, columns, rows}' <<<"$body"

echo "== a bad filter gets a problem+json answer naming the field"
curl -s -X POST "$base/v1/reports" "${json[@]}" -d '{"report_name": "top-movies-per-rating", "rating": {"$where": "1"}}' | jq .
