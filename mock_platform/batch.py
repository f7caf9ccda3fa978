"""Batch issuing (≤ batch_max items): each item is accepted or refused on its own; partial success is normal."""

from __future__ import annotations

import json
import uuid
from typing import Any

from pydantic import ValidationError

from taxstorm.mock_platform.auth import Caller
from taxstorm.mock_platform.errors import ApiError, ErrorCode
from taxstorm.mock_platform.issuing import IssuingService
from taxstorm.mock_platform.models import IssueInvoiceRequest
from taxstorm.mock_platform.store import invoices


def _field(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class BatchService:
    """Accepts batches item by item and reports each item's current state."""

    def __init__(self, issuing: IssuingService) -> None:
        self.issuing = issuing

    def submit(self, items: list[dict[str, Any]], caller: Caller) -> dict[str, Any]:
        limit = self.issuing.settings.batch_max
        if len(items) > limit:
            raise ApiError(ErrorCode.SCHEMA, f"{len(items)} items, at most {limit} per batch", "items")
        batch_id = uuid.uuid4().hex
        results: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            serial = item.get("requestSerialNo", item.get("fpqqlsh")) if isinstance(item, dict) else None
            entry: dict[str, Any] = {"index": index, "requestSerialNo": serial}
            try:
                request = IssueInvoiceRequest.model_validate(item)
                accepted = self.issuing.issue_blue(request, caller.taxpayer_id, batch_id)
                entry.update(requestSerialNo=request.requestSerialNo, accepted=True, replayed=accepted.replayed)
            except ValidationError as exc:
                first = exc.errors()[0]
                entry.update(
                    accepted=False, code=ErrorCode.SCHEMA.code, field=_field(tuple(first["loc"])), message=first["msg"]
                )
            except ApiError as exc:
                entry.update(accepted=False, code=exc.error.code, field=exc.field, message=exc.detail)
            results.append(entry)
        now = self.issuing.clock()
        with self.issuing.db.write() as tx:
            tx.execute(
                "INSERT INTO batches (batch_id, seller_tax_id, created_at, items) VALUES (?, ?, ?, ?)",
                (batch_id, caller.taxpayer_id, now, json.dumps(results)),
            )
        return self.view(batch_id, caller)

    def view(self, batch_id: str, caller: Caller) -> dict[str, Any]:
        now = self.issuing.clock()
        with self.issuing.db.read() as tx:
            row = tx.one("SELECT items, seller_tax_id FROM batches WHERE batch_id = ?", (batch_id,))
            if row is None or row["seller_tax_id"] != caller.taxpayer_id:
                raise ApiError(ErrorCode.NOT_FOUND, f"no batch {batch_id}", "batchId")
            items = json.loads(row["items"])
            for item in items:
                if item["accepted"]:
                    invoice = invoices.find(tx, caller.taxpayer_id, item["requestSerialNo"])
                    if invoice is not None:
                        item["invoice"] = invoice.view(now)
        counts: dict[str, int] = {}
        for item in items:
            state = item["invoice"]["status"] if item.get("invoice") else "REJECTED"
            counts[state] = counts.get(state, 0) + 1
        return {"batchId": batch_id, "total": len(items), "counts": counts, "items": items}
