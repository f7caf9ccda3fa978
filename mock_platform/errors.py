"""The platform's API errors: one named table, rendered in the DOMAIN.md envelope."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

API_VERSION = "v1"  # the X-Api-Version every answer carries


class ErrorCode(Enum):
    """Documented error codes with their HTTP status and whether a client may retry."""

    BAD_CREDENTIALS = ("E1001", 401, "missing or invalid credentials or token", "认证失败")
    TOKEN_EXPIRED = ("E1002", 401, "token expired; fetch a new one", "令牌已过期")
    TOKEN_REVOKED = ("E1003", 401, "token revoked (session dropped); re-authenticate", "会话已断开")
    REVERIFY = ("E1004", 403, "face or real-name re-verification required", "需要人脸识别")
    SELLER_MISMATCH = ("E1005", 403, "seller is not the taxpayer of the token", "销售方与令牌纳税人不符")
    SCHEMA = ("E2001", 400, "request does not match the schema", "请求格式错误")
    AMOUNT_MISMATCH = ("E2002", 422, "line or total arithmetic does not add up", "金额或税额不符")
    BAD_TAX_ID = ("E2003", 422, "tax id is missing or invalid", "纳税人识别号无效")
    BAD_RATE = ("E2004", 422, "tax rate is not allowed", "税率无效")
    BAD_CATEGORY = ("E2005", 422, "tax category code is invalid", "税收分类编码无效")
    SERIAL_REUSED = ("E3002", 409, "requestSerialNo reused with a different payload", "流水号重复且内容不同")
    IN_PROGRESS = ("E3003", 409, "same requestSerialNo is in progress; query by serial", "请求处理中")
    NOT_FOUND = ("E3004", 404, "not found", "未找到")
    QUOTA_EXCEEDED = ("E4001", 422, "credit quota (授信额度) exceeded", "授信额度不足")
    QUOTA_SUSPENDED = ("E4002", 403, "credit quota suspended by the tax bureau", "授信额度已暂停")
    QUOTA_PERIOD_EXPIRED = ("E4003", 409, "quota period expired; call /quota/adjust-period", "授信额度有效期已过")
    SEGMENT_EXHAUSTED = ("E4004", 409, "no invoice numbers left; download a number segment", "预赋码已用完")
    RED_CONFIRMATION_NEEDED = ("E5001", 409, "red-letter confirmation needed or not confirmed", "需要红字确认单")
    RED_CONFIRMATION_VOID = ("E5002", 422, "red-letter confirmation is void or withdrawn", "红字确认单已作废")
    RED_EXCEEDS_BLUE = ("E5003", 422, "red amount exceeds what remains of the blue invoice", "红冲金额超过蓝票余额")
    BLUE_NOT_FOUND = ("E5004", 422, "blue invoice not found", "蓝字发票不存在")
    VERIFY_LIMIT = ("E6001", 429, "verification limit for this invoice today", "当日查验次数已达上限")
    VERIFY_TOO_OLD = ("E6002", 422, "invoice too old to verify", "超过查验期限")
    RATE_LIMITED = ("E9001", 429, "rate limited; retry after Retry-After", "请求过于频繁")
    MAINTENANCE = ("E9002", 503, "platform maintenance", "系统维护中")
    BUSY = ("E9003", 503, "upstream busy (税局繁忙); back off", "税局繁忙")
    TIMEOUT = ("E9004", 504, "timed out; outcome unknown, query by serial first", "处理超时")
    INTERNAL = ("E9005", 500, "internal error; outcome unknown, query by serial first", "系统内部错误")
    FEATURE_DISABLED = ("E9006", 503, "feature temporarily disabled", "功能暂停")

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
    retry_after_s: int | None = None
    headers: dict[str, str] | None = None
    status: int | None = None  # an HTTP status other than the code's own (405 for a wrong method)

    @property
    def http_status(self) -> int:
        return self.status if self.status is not None else self.error.http_status

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
