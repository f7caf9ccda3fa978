"""The platform's API errors: one named table, rendered in the DOMAIN.md envelope."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class ErrorCode(Enum):
    """Documented error codes with their HTTP status and whether a client may retry."""

    SCHEMA = ("E2001", 400, "request does not match the schema", "请求格式错误")
    AMOUNT_MISMATCH = ("E2002", 422, "line or total arithmetic does not add up", "金额或税额不符")
    BAD_BUYER = ("E2003", 422, "buyer tax id is missing or invalid", "购买方税号无效")
    BAD_RATE = ("E2004", 422, "tax rate is not allowed", "税率无效")
    BAD_SELLER = ("E2005", 422, "seller tax id is invalid", "销售方税号无效")
    SERIAL_REUSED = ("E3002", 409, "requestSerialNo reused with a different payload", "流水号重复且内容不同")
    IN_PROGRESS = ("E3003", 409, "same requestSerialNo is in progress; query by serial", "请求处理中")
    NOT_FOUND = ("E3004", 404, "no invoice for this key", "未找到发票")
    UNAUTHORIZED = ("E1001", 401, "missing or invalid credentials", "认证失败")

    def __init__(self, code: str, http_status: int, message: str, message_zh: str) -> None:
        self.code = code
        self.http_status = http_status
        self.message = message
        self.message_zh = message_zh


@dataclass
class ApiError(Exception):
    """An error the API answers with: code from the table, field path and readable detail."""

    error: ErrorCode
    detail: str = ""
    field: str | None = None
    data: dict[str, Any] | None = None

    def envelope(self, trace_id: str) -> dict[str, Any]:
        """Render in the DOMAIN.md envelope."""
        message = self.error.message + (f": {self.detail}" if self.detail else "")
        body: dict[str, Any] = {
            "code": self.error.code,
            "message": message,
            "messageZh": self.error.message_zh,
            "traceId": trace_id,
            "data": self.data,
        }
        if self.field is not None:
            body["field"] = self.field
        return body
