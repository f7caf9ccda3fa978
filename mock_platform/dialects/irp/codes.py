"""The IRP's error codes, and the native error table expressed in them.

Sources (README "irp dialect"): NIC's published error list (einvoice1.gst.gov.in/others/geterrorcodes: 2143, 2146,
2148, 2150, 2154), its API pages and release notes (the envelope; DUPIRN), the vital error list GSPs republish
(1004–1019, 1005 Invalid Token) and integrations (5002, 2283, 9999). Refusals are HTTP 200 with ``Status: 0``; a
lost answer is the gateway's 504 and a rate limit a GSP-style 429 (NIC publishes no limit of its own). Validation
refusals keep the platform's own codes (``E2002`` …): the IRP's hundreds of schema codes are not modelled.
"""

from __future__ import annotations

from taxstorm.mock_platform.dialects.edge import DialectCode
from taxstorm.mock_platform.errors import ErrorCode

GSTIN_REQUIRED = DialectCode("1004", "Header GSTIN is required")
INVALID_TOKEN = DialectCode("1005", "Invalid Token")
AUTH_FAILED = DialectCode("1007", "Authentication failed. Pls. inform the helpdesk")
BAD_CLIENT = DialectCode("1010", "Invalid Client-ID/Client-Secret")
CLIENT_ID_REQUIRED = DialectCode("1011", "Client Id is required")
CLIENT_SECRET_REQUIRED = DialectCode("1012", "Client Secret is required")
GSTIN_NOT_USERS = DialectCode("1015", "Invalid GSTIN for this user")
APP_KEY_UNREADABLE = DialectCode("1016", "Decryption of App Key failed")
BAD_USER = DialectCode("1017", "Incorrect user id/User does not exists")
BAD_PASSWORD = DialectCode("1019", "Incorrect Password")
NOT_USERS_INVOICE = DialectCode("2143", "Invoice does not belongs to the user GSTIN")
TRY_LATER = DialectCode("2146", "Unable to create IRN, Pls. try after some time")
NOT_AVAILABLE = DialectCode("2148", "Requested IRN data is not available")
DUPLICATE_IRN = DialectCode("2150", "Duplicate IRN")
NOT_FOUND = DialectCode("2154", "IRN details are not found")
CANCEL_TOO_LATE = DialectCode("2270", "More than 24 hrs old")  # NIC's exact words unpublished: a GSP's
GSTIN_INACTIVE = DialectCode("3029", "GSTIN is inactive or cancelled")
NOT_ACTIVE = DialectCode("9999", "Invoice is not active")
APPLICATION_ERROR = DialectCode(
    "5002",
    "Application error, issue with application while processing the request. Please try again. If error persists "
    "kindly raise a ticket along with request JSON, error details and timestamp of the error occurrence.",
)


def for_native(error: ErrorCode) -> DialectCode:
    """How a native refusal reaches an IRP client (validation: the native code itself)."""
    found = _NATIVE.get(error)
    return found if found is not None else DialectCode(error.code, error.message)


_NATIVE: dict[ErrorCode, DialectCode] = {
    ErrorCode.BAD_CREDENTIALS: INVALID_TOKEN,
    ErrorCode.TOKEN_EXPIRED: INVALID_TOKEN,
    ErrorCode.TOKEN_REVOKED: INVALID_TOKEN,
    ErrorCode.REVERIFY: AUTH_FAILED,
    ErrorCode.SELLER_MISMATCH: NOT_USERS_INVOICE,
    ErrorCode.SERIAL_REUSED: DUPLICATE_IRN,
    ErrorCode.IN_PROGRESS: DUPLICATE_IRN,
    ErrorCode.NOT_FOUND: NOT_FOUND,
    ErrorCode.QUOTA_SUSPENDED: GSTIN_INACTIVE,  # the taxpayer blocked from issuing
    ErrorCode.MAINTENANCE: APPLICATION_ERROR,
    ErrorCode.FEATURE_DISABLED: APPLICATION_ERROR,
    ErrorCode.BUSY: TRY_LATER,
    ErrorCode.INTERNAL: APPLICATION_ERROR,
}
# not envelopes at all: the gateway's own answers
GATEWAY_STATUS = {ErrorCode.TIMEOUT: 504, ErrorCode.RATE_LIMITED: 429}
