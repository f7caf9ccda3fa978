"""Nuonuo's answer codes, and the native error table expressed in them.

Sources (README "nuonuo dialect"): the open platform's public error table (公共异常码: 0201, 0203, 040102, 070101,
070301, 070401, 070501, 070601), its token page (070304–070307, 070315), the platform's exception constants
(070202 超出调用频率, 070203 服务器忙, -1 未知异常) and integrations tested against the live platform (E0000, E4000,
E9106 订单编号或流水号不能重复, E9500 发票不存在). Every answer is HTTP 200 with the envelope ``{code, describe,
result}``: no source shows the gateway using another status, except a gateway timeout, which is the load
balancer's 504 and no JSON at all.
"""

from __future__ import annotations

from taxstorm.mock_platform.dialects.edge import DialectCode
from taxstorm.mock_platform.errors import ErrorCode

SUCCESS = "E0000"


BAD_PARAMETERS = DialectCode("0201", "必填项输入参数空/输入参数格式有误")
PROCESSING_ERROR = DialectCode("0203", "API处理异常")
SERVICE_ERROR = DialectCode("040102", "API服务异常，请稍后重试")
BAD_APP_KEY = DialectCode("070101", "获取app密钥失败或appkey无效")
RATE_LIMITED = DialectCode("070202", "超出调用频率")
SERVER_BUSY = DialectCode("070203", "服务器忙")
TOKEN_MISMATCH = DialectCode("070301", "accessToken不匹配/或appKey不匹配")
TAXPAYER_MISMATCH = DialectCode("070401", "调用用户身份不匹配")
NO_SUCH_API = DialectCode("070501", "请求的API不存在")
BAD_SIGNATURE = DialectCode("070601", "验签失败")
ORDER_INVALID = DialectCode("E4000", "必填字段没有传值或字段值有误")
DUPLICATE_ORDER = DialectCode("E9106", "订单编号或流水号不能重复")
NO_INVOICE = DialectCode("E9500", "发票不存在")
UNKNOWN = DialectCode("-1", "未知异常")

# the token endpoint's own codes, answered as {"error": code, "error_description": text}
TOKEN_BAD_CLIENT_ID = DialectCode("070304", "Incorrect clientId")
TOKEN_BAD_SECRET = DialectCode("070305", "Incorrect clientSecret")
TOKEN_CALLS_LIMITED = DialectCode("070306", "The number of calls is limited")
TOKEN_BAD_APP_TYPE = DialectCode("070307", "Incorrect appType")
TOKEN_BAD_CONTENT_TYPE = DialectCode("070315", "Incorrect content-type")

GATEWAY_TIMEOUT = "504 Gateway Time-out"  # E9004: the answer is lost at the load balancer, not in JSON


def for_native(error: ErrorCode) -> DialectCode:
    """How the platform's condition reaches a Nuonuo client (UNKNOWN where Nuonuo documents no counterpart)."""
    return _NATIVE.get(error, UNKNOWN)


_NATIVE: dict[ErrorCode, DialectCode] = {
    ErrorCode.BAD_CREDENTIALS: TOKEN_MISMATCH,
    ErrorCode.TOKEN_EXPIRED: TOKEN_MISMATCH,  # Nuonuo has no code of its own for an expired token
    ErrorCode.TOKEN_REVOKED: TOKEN_MISMATCH,
    ErrorCode.SELLER_MISMATCH: TAXPAYER_MISMATCH,
    ErrorCode.SCHEMA: ORDER_INVALID,
    ErrorCode.AMOUNT_MISMATCH: ORDER_INVALID,
    ErrorCode.BAD_TAX_ID: ORDER_INVALID,
    ErrorCode.BAD_RATE: ORDER_INVALID,
    ErrorCode.BAD_CATEGORY: ORDER_INVALID,
    ErrorCode.SERIAL_REUSED: DUPLICATE_ORDER,
    ErrorCode.IN_PROGRESS: DUPLICATE_ORDER,
    ErrorCode.NOT_FOUND: NO_INVOICE,
    ErrorCode.RATE_LIMITED: RATE_LIMITED,
    ErrorCode.MAINTENANCE: SERVICE_ERROR,
    ErrorCode.FEATURE_DISABLED: SERVICE_ERROR,
    ErrorCode.BUSY: SERVER_BUSY,
    ErrorCode.INTERNAL: PROCESSING_ERROR,
}
