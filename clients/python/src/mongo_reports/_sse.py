"""Server-sent events from lines of a text/event-stream body (httpx's ``iter_lines``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional


@dataclass
class ServerSentEvent:
    event: str
    data: str
    id: Optional[str] = None


@dataclass
class EventParser:
    """Feed it lines; it returns an event at each blank line that ends one. Comments (heartbeats) give nothing."""

    _event: str = "message"
    _data: List[str] = field(default_factory=list)
    _id: Optional[str] = None

    def feed(self, line: str) -> Optional[ServerSentEvent]:
        if line == "":
            event = ServerSentEvent(self._event, "\n".join(self._data), self._id) if self._data else None
            self._event, self._data, self._id = "message", [], None
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        return None
