"""Which method serves each operation of the service's OpenAPI document: ``Client.<method>`` or
``Request.<method>`` (the async classes have the same names). A test reads the live document and
fails when an operation is in neither this table nor NOT_FOR_CLIENTS, or names a missing method.
The TypeScript client keeps the same table."""
from __future__ import annotations

from typing import Optional

OPERATIONS = {
    "submitReport": "Client.submit",
    # The alias routes take the same body without report_name; submit() always uses /v1/reports.
    "submitReportOnCollection": "Client.submit",
    "submitReportOnAlias": "Client.submit",
    "getReport": "Client.status",
    "listReports": "Client.history",
    "followReport": "Request.wait",
    "cancelReport": "Request.cancel",
    "deleteReport": "Request.remove",
    "getReportCsv": "Request.download",
    "downloadReportFile": "Request.download",
    "listReportDefinitions": "Client.reports",
    "getReportDefinition": "Client.report",
    "putReportDefinition": "Client.define_report",
    "retireReportDefinition": "Client.retire_report",
    "checkReportDefinition": "Client.check_definition",
    "listReportDefinitionVersions": "Client.report_versions",
    "getReportDefinitionVersion": "Client.report_version",
    "restoreReportDefinitionVersion": "Client.restore_report_version",
    "createSchedule": "Client.create_schedule",
    "listSchedules": "Client.schedules",
    "getSchedule": "Client.schedule",
    "updateSchedule": "Client.update_schedule",
    "deleteSchedule": "Client.delete_schedule",
    "pauseSchedule": "Client.pause_schedule",
    "resumeSchedule": "Client.resume_schedule",
    "liveness": "Client.health",
    "readiness": "Client.ready",
    "openapi": "Client.openapi",
    "metrics": "Client.metrics",
}

NOT_FOR_CLIENTS = {
    "docs": "an HTML page for people (Swagger UI)",
}


def method_for(operation_id: str) -> Optional[str]:
    """Each report's own routes (operation ids ``submit_<collection>_<report>``) are aliases of submitReport."""
    if operation_id in OPERATIONS:
        return OPERATIONS[operation_id]
    return OPERATIONS["submitReport"] if operation_id.startswith("submit_") else None
