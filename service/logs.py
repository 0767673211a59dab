"""Logging: one JSON object per line, carrying the current call's request id, principal and trace id."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from service import context as ctx


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "rpc", {}))
        call = ctx.call.get()
        if call is not None and "request_id" not in line:
            line.update(call.log_fields())
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(level: str = "INFO", json_lines: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Alembic's INFO lines are its own setup chatter (plugins, DDL mode) on every start; the CLI says
    # what a migration changed.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
