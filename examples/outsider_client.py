"""An ERP's invoicing client for the 数电票-style platform, written from docs/writing-a-client.md alone.

Run it with ``taxstorm run scenarios/smoke.yaml --client examples.outsider_client:create``. (Written by a
developer who read only the guide, the README and the platform's OpenAPI document; tests/clients/defects.py
breaks it one rule at a time to prove that each rule is judged.)

How it behaves (each rule is one of the guide's):

- Every order gets its request serial before the first send (derived from ``orderRef`` and written to an
  append-only outbox journal in ``state_dir``); every retry of that order reuses it. Only a serial whose invoice
  ended ``FAILED`` (final: no invoice under it) is replaced, and the new one is journaled before it is sent.
- ``issue()`` answers within half of ``answer_budget_s`` (a short budget keeps a fixed slack instead, so that an
  invoice the platform processes for up to two seconds can still be answered). An outcome it does not know
  (timeout, reset, ``500 E9005``, ``504 E9004``, ``ISSUED`` without a number) is looked up by serial; the same serial
  is resubmitted only when the platform says it never got it. Whatever is still unknown at the deadline is
  ``queued``.
- The platform is asynchronous (``202 PROCESSING`` with ``Retry-After``): the PROCESSING invoices of a seller are
  followed after their ``Retry-After`` by one status list for all of them (``GET /api/v1/invoices?from=…``, on
  the platform's clock read from ``/status``) rather than one look-up per order and poll; what the list does not
  show is looked up by serial. Drains settle sent orders the same way.
- Busy answers (``429 E9001``, ``503 E9003``) are retried a few times after ``Retry-After`` with jitter and
  exponential back-off; the wait is shared by every call of the seller, and for a while afterwards the seller
  sends one issue request at a time (no burst when the wait ends). A used-up rate limit (``X-RateLimit-Remaining:
  0``) is waited out. Down answers (refused / reset connections, ``503 E9002``, ``503 E9006``) open a circuit
  breaker: orders are queued without sending until a single probe gets through. Announced maintenance
  (``/notices``) and features shown DOWN (``/status``) queue orders without sending.
- Business refusals are ``rejected`` and never retried. The seller's account not ready (``E4001``-``E4004``:
  quota, numbers) queues the order, alerts the back office and stops the seller's sends for a few seconds; the
  order is issued once the account is ready. ``401`` refreshes the one shared token once (single-flight) and
  retries once; ``403 E1004`` queues the order and asks for a token again now and then.
- ``drain()`` settles queued orders oldest first: look up what may have been sent, send what was never sent,
  stop at the first sign that the platform is busy, down or the account not ready. An order is worked by one
  caller at a time.
- Issue then upload (乐企): an issued invoice is told ``issued`` at once, but its ``uploadState`` is followed until
  it is seen ``UPLOADED``, from the status lists the client reads anyway (a list of its own, or a look-up by
  number, only for what they do not show). One whose upload ``FAILED`` is uploaded again from ``drain()``
  (``POST /api/v1/invoices/{invoiceNo}/upload``, idempotent); ``503 E9006`` (the channel is still down) holds the
  seller's re-uploads for its ``Retry-After``. ``backlog()`` counts every upload not yet seen done.
- Failover: with ``secondary_url`` set, a primary that refuses connections (or cannot be connected to in time) is
  left for the secondary at once, with the same token and the same serials (a refused connection sent nothing,
  so the request goes to the secondary as it was); the primary's ``/health`` is probed every two seconds in the
  background and requests move back as soon as it answers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, ClassVar, Literal

import httpx

from taxstorm.clients import ClientConfig, Order, Outcome

log = logging.getLogger(__name__)

INVOICE_NO = re.compile(r"^\d{20}$")

# Codes whose answer is final: the data must change before it can be issued.
BUSINESS_CODES = frozenset(
    {"E1005", "E2001", "E2002", "E2003", "E2004", "E2005", "E3002"} | {"E5001", "E5002", "E5003", "E5004", "E6002"}
)
# The seller's account is not ready (quota used up, suspended or expired; no pre-assigned numbers left): nothing is
# wrong with the order, the back office must act. Queued, never rejected.
ACCOUNT_CODES = frozenset({"E4001", "E4002", "E4003", "E4004"})
AUTH_CODES = frozenset({"E1001", "E1002", "E1003"})
BUSY_CODES = frozenset({"E9001", "E9003"})
DOWN_CODES = frozenset({"E9002", "E9006"})
UNKNOWN_CODES = frozenset({"E9004", "E9005"})

CONNECT_TIMEOUT_S = 2.0
MIN_ATTEMPT_S = 0.5  # no request is started with less time than this left
MIN_SEND_S = 1.0  # no issue request is started with less than this left (it would likely end unknown)
MAX_REQUESTS_PER_WORK = 6  # requests one issue()/drain step may send for one order
MAX_BUSY_TRIES = 2  # busy answers inside one issue() before the order is queued
BREAKER_THRESHOLD = 3  # consecutive transport failures that open the circuit
BREAKER_OPEN_S = (1.0, 2.0)  # first and longest open period (probing is cheap: GET /health)
PROBE_TIMEOUT_S = 1.0  # the half-open probe's timeout (and the failback probe's)
FAILBACK_PROBE_S = 2.0  # how often the primary is probed while requests go to the secondary
UPLOAD_SETTLE_S = 0.5  # an upload seen UPLOADING is read again after this (it takes ~100 ms)
UPLOAD_HOLD_S = 5.0  # no re-upload for this long after the channel said it is down (without a Retry-After)
REVERIFY_RETRY_S = 2.0  # how often a token is asked for while re-verification is pending
WATCH_EVERY_S = 2.0  # how often /status and /notices are read (one reader per platform and process)
NOTICE_MARGIN_S = 1.0  # stop sending this long before an announced window
ACCOUNT_HOLD_S = 3.0  # how long nothing is sent after "the seller's account is not ready" (E4001-E4004)
POLL_INTERVAL_S = 0.25  # the shortest time between two status lists of one seller
CONGESTED_POLL_INTERVAL_S = 1.0  # … while the platform sheds load (fewer, larger lists)
CONGESTION_S = 10.0  # after a busy answer, a seller sends one issue request at a time for this long
LIST_MARGIN_S = 5.0  # a status list starts this long (platform clock) before the oldest order it looks for
LIST_PAGE_SIZE = 100
MAX_LIST_PAGES = 3  # pages one status list may read
LIST_MISSES = 2  # lists after its Retry-After that did not show an order before it is looked up by serial
URGENT_S = 0.25  # a waiting issue() whose Retry-After has passed gets a list this long before its deadline
ANSWER_SLACK_S = 0.75  # a short answer budget keeps at least this much for the answer to reach the user
SHORT_DEADLINE_S = 2.25  # the least an issue() waits when its budget allows (a Retry-After of 2 s fits)


# --------------------------------------------------------------------------------------------------- wire


Kind = Literal[
    "issued",  # the invoice exists and carries its number
    "processing",  # accepted; the final status comes later
    "refused",  # a business refusal (or a FAILED invoice for a business reason): final
    "account",  # E4001-E4004: the seller's account is not ready; queue and try again later
    "burnt",  # FAILED for a reason that is not the order's: no invoice under this serial, a new serial may go
    "absent",  # by-serial: the platform never got this serial
    "in_progress",  # 409 E3003: the same serial is still being worked on
    "busy",  # 429 / 503 E9003: come back after Retry-After
    "down",  # refused connection, maintenance, feature switched off
    "auth",  # 401: the token is no good
    "reverify",  # 403 E1004: a human must re-verify before tokens are granted
    "unknown",  # the request may have been committed: look it up by serial
    "unsent",  # nothing was sent (no time left, no token, pool exhausted)
]


@dataclass(frozen=True)
class Reply:
    """One platform answer, classified."""

    kind: Kind
    code: str = ""
    message: str = ""
    retry_after: float | None = None
    invoice_no: str | None = None
    hold_until: float | None = None  # when (monotonic) the platform said it is back (maintenance, switched off)
    transport: bool = False  # the failure was the network's, not an HTTP answer
    burnt: bool = False  # the serial's invoice is FAILED: a retry needs a new serial
    upload_state: str | None = None  # an issued invoice's uploadState (UPLOADING, UPLOADED, FAILED)


class TokenUnavailable(Exception):
    """No token can be had now; ``reply`` says why (busy, down, reverify, unsent)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.message)
        self.reply = reply


def retry_after_of(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), 120.0)
    except ValueError:
        return None


def envelope_of(response: httpx.Response) -> tuple[str, str, Any]:
    """``(code, message, data)`` of an envelope; an unreadable body gives an empty code."""
    try:
        body = response.json()
    except ValueError:
        return "", f"HTTP {response.status_code} with an unreadable body", None
    if not isinstance(body, dict):
        return "", f"HTTP {response.status_code} with an unexpected body", None
    return str(body.get("code") or ""), str(body.get("message") or ""), body.get("data")


def parse_time(value: Any) -> float | None:
    """An ISO 8601 timestamp of the platform as epoch seconds (platform clock)."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def upload_state_of(data: dict[str, Any]) -> str | None:
    """An invoice record's ``uploadState``, or None when it has none."""
    state = data.get("uploadState")
    return state if isinstance(state, str) and state else None


def invoice_reply(data: Any, order: Order) -> Reply:
    """Classify an invoice record (from an issue answer or a by-serial lookup)."""
    if not isinstance(data, dict):
        return Reply("unknown", message="answer without an invoice record")
    if str(data.get("orderRef") or order.order_ref) != order.order_ref:
        return Reply("unknown", message=f"the platform answered for order {data.get('orderRef')!r}")
    status = str(data.get("status") or "")
    number = data.get("invoiceNo")
    if status == "ISSUED":
        if isinstance(number, str) and INVOICE_NO.match(number):
            return Reply("issued", invoice_no=number, upload_state=upload_state_of(data))
        return Reply("unknown", message="the platform reported ISSUED without an invoice number")
    if status in ("PROCESSING", "PENDING", "ACCEPTED"):
        return Reply("processing", message="accepted, still processing")
    if status == "FAILED":
        code = str(data.get("failCode") or data.get("errorCode") or "")
        reason = data.get("failReason") or data.get("error") or data.get("message") or "the platform refused it"
        text = f"invoice FAILED: {code} {reason}".replace("  ", " ")
        if code in ACCOUNT_CODES:
            return Reply("account", code, text, burnt=True)
        if code in BUSINESS_CODES or code.startswith(("E2", "E5")):
            return Reply("refused", code, text)
        # not the order's fault (E9xxx, an unknown reason): nothing exists under this serial, a new one may go
        return Reply("burnt", code, text, burnt=True)
    return Reply("unknown", message=f"unexpected invoice status {status!r}")


def classify(response: httpx.Response, order: Order, lookup: bool) -> Reply:
    """Classify an answer to ``POST /invoices`` or ``GET /invoices/by-serial``."""
    code, _, data = envelope_of(response)
    if response.status_code in (200, 202) and code in ("0000", ""):
        return invoice_reply(data, order)
    return classify_error(response, lookup)


def classify_error(response: httpx.Response, lookup: bool) -> Reply:
    """Classify an answer that is not a success (``lookup``: a GET, where a 404 means the platform has nothing)."""
    code, message, _ = envelope_of(response)
    status = response.status_code
    retry_after = retry_after_of(response)
    text = f"{code} {message}".strip()
    if code in AUTH_CODES or (status == 401 and not code):
        return Reply("auth", code, text)
    if code == "E1004":
        return Reply("reverify", code, text)
    if code == "E3004" or (lookup and status == 404):
        return Reply("absent", code, text)
    if code == "E3003":
        return Reply("in_progress", code, text, retry_after)
    if code in BUSY_CODES or (status == 429 and not code):
        return Reply("busy", code, text, retry_after)
    if code in ACCOUNT_CODES:
        return Reply("account", code, text, retry_after)
    if code in DOWN_CODES:
        hold = None
        if code == "E9002" and retry_after is None:
            retry_after = 5.0
        if retry_after is not None:
            hold = time.monotonic() + retry_after
        return Reply("down", code, text, retry_after, hold_until=hold)
    if code in UNKNOWN_CODES or status >= 500 or not code:
        return Reply("unknown", code, text or f"HTTP {status}", retry_after)
    if code in BUSINESS_CODES or 400 <= status < 500:
        return Reply("refused", code, text)
    return Reply("unknown", code, text)


# ------------------------------------------------------------------------------------------ shared state


class Breaker:
    """A circuit breaker on the platform: closed; open until a time; then half-open, where one caller probes the
    platform (``GET /health``, short timeout) while the others keep queueing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until = 0.0
        self._opened = 0  # consecutive openings, for the back-off of the open period
        self._probing = False
        self._probe_started = 0.0
        self.reason = ""

    def _probe_busy(self, now: float) -> bool:  # under self._lock; a probe lost by its caller expires
        return self._probing and now - self._probe_started < PROBE_TIMEOUT_S + 2.0

    def allow(self) -> Literal["closed", "probe", "open"]:
        """May a request go out now: yes (closed), after this caller's probe (probe), or not (open)."""
        with self._lock:
            now = time.monotonic()
            if now < self._open_until:
                return "open"
            if self._opened == 0:
                return "closed"
            if self._probe_busy(now):
                return "open"
            self._probing = True
            self._probe_started = now
            return "probe"

    def blocked(self) -> str | None:
        with self._lock:
            now = time.monotonic()
            if now < self._open_until or (self._opened and self._probe_busy(now)):
                return self.reason or "the platform is unreachable"
            return None

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened = 0
            self._probing = False
            self._open_until = 0.0

    def release_probe(self) -> None:
        """A probe ended without saying whether the platform is reachable (busy, or nothing was sent)."""
        with self._lock:
            self._probing = False

    def failure(self, reason: str, immediate: bool = False) -> None:
        with self._lock:
            self._failures += 1
            was_probe = self._probing
            self._probing = False
            now = time.monotonic()
            if now < self._open_until:
                return  # already open: the failures of calls sent before it opened do not lengthen it
            if immediate or was_probe or self._failures >= BREAKER_THRESHOLD:
                first, longest = BREAKER_OPEN_S
                period = min(longest, first * 2.0**self._opened)
                self._opened += 1
                self._open_until = now + period * random.uniform(0.8, 1.2)
                self.reason = reason

    def hold(self, until: float, reason: str) -> None:
        """Stop sending until ``until`` (monotonic): the platform said when it is back."""
        with self._lock:
            self._open_until = max(self._open_until, until)
            self._opened = max(self._opened, 1)
            self._probing = False
            self.reason = reason


class SendGate:
    """Issue requests in flight for one seller: as many as the callers need while the platform keeps up, one at a
    time for a while after it shed one (busy), so that the orders waiting out a Retry-After do not all arrive at
    once when it ends (every request shed is one more request on the platform)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._in_flight = 0
        self._congested_until = 0.0

    def congested(self) -> None:
        with self._cond:
            self._congested_until = time.monotonic() + CONGESTION_S

    def acquire(self, deadline: float) -> bool:
        """A turn to send before ``deadline`` (monotonic), or False."""
        with self._cond:
            while self._in_flight >= (1 if time.monotonic() < self._congested_until else 1_000_000):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))  # the congestion may end meanwhile
            self._in_flight += 1
            return True

    def release(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify()

    def is_congested(self) -> bool:
        with self._cond:
            return time.monotonic() < self._congested_until


class Failover:
    """The platform's addresses: the primary (``base_url``) and, when the scenario has one, the secondary
    (``secondary_url``, same ledger and tokens). A primary that refuses connections is left for the secondary at
    once; a background probe of the primary's ``/health`` moves back when it answers."""

    def __init__(self, primary_url: str, secondary_url: str | None, on_switch: Callable[[str], None]) -> None:
        urls = [primary_url] + ([secondary_url] if secondary_url else [])
        self._clients = [
            httpx.Client(
                base_url=url,
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
                headers={"Accept": "application/json"},
            )
            for url in urls
        ]
        self._lock = threading.Lock()
        self._active = 0  # index of the platform requests go to
        self._on_switch = on_switch
        self._stop = threading.Event()
        self._prober: threading.Thread | None = None

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request to the active platform. A primary that cannot be connected to is replaced by the secondary;
        a refused connection sent nothing, so the same request goes to the secondary at once."""
        with self._lock:
            active = self._active
        try:
            return self._clients[active].request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if active != 0 or len(self._clients) < 2 or self._stop.is_set():
                raise
            self._fail_over(exc)
            if isinstance(exc, httpx.ConnectTimeout):
                raise  # the caller's time went into the attempt: its next one goes to the secondary
            return self._clients[1].request(method, path, **kwargs)

    def close(self) -> None:
        self._stop.set()
        for client in self._clients:
            client.close()

    def _fail_over(self, exc: Exception) -> None:
        with self._lock:
            if self._active == 1:
                return
            self._active = 1
            self._prober = threading.Thread(target=self._probe_primary, name="failback-probe", daemon=True)
            self._prober.start()
        self._on_switch(f"the primary platform is unreachable ({type(exc).__name__}): using the secondary")

    def _probe_primary(self) -> None:
        """Try the primary's ``/health`` now and then; move back to it when it answers."""
        while not self._stop.wait(FAILBACK_PROBE_S):
            try:
                response = self._clients[0].get("/health", timeout=PROBE_TIMEOUT_S)
            except httpx.HTTPError:
                continue
            if response.status_code < 500:
                with self._lock:
                    self._active = 0
                    self._prober = None
                self._on_switch("the primary platform answers again: back to the primary")
                return


class PlatformWatch:
    """Reads ``/status`` and ``/notices`` in the background; one reader per platform address and process."""

    _registry: ClassVar[dict[str, PlatformWatch]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url
        self._lock = threading.Lock()
        self._users = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._issue_down_seen = -1e9  # monotonic time /status last showed issuing DOWN
        self._status_at = -1e9
        self._windows: list[tuple[float, float, str]] = []  # (start, end) monotonic, notice id
        self._offset = 0.0  # platform clock minus wall clock
        self._offset_known = False

    @classmethod
    def acquire(cls, base_url: str) -> PlatformWatch:
        with cls._registry_lock:
            watch = cls._registry.get(base_url)
            if watch is None:
                watch = cls._registry[base_url] = PlatformWatch(base_url)
            watch._users += 1
            if watch._thread is None:
                watch._stop.clear()
                watch._thread = threading.Thread(target=watch._run, name="platform-watch", daemon=True)
                watch._thread.start()
            return watch

    def release(self) -> None:
        with PlatformWatch._registry_lock:
            self._users -= 1
            if self._users <= 0:
                self._stop.set()
                self._thread = None
                PlatformWatch._registry.pop(self._base_url, None)

    def blocked(self) -> str | None:
        """Why issuing must not be tried now (an announced window, issuing DOWN), or None."""
        now = time.monotonic()
        with self._lock:
            for start, end, notice in self._windows:
                if start - NOTICE_MARGIN_S <= now < end:
                    return f"announced maintenance {notice} in progress: issuing later"
            if now - self._issue_down_seen < WATCH_EVERY_S * 1.5 and now - self._status_at < 3 * WATCH_EVERY_S:
                return "the platform shows issuing DOWN: issuing later"
        return None

    def platform_time(self, wall: float) -> float | None:
        """The platform's clock (epoch seconds) at wall-clock time ``wall``, once /status has told it."""
        with self._lock:
            return wall + self._offset if self._offset_known else None

    def _run(self) -> None:
        with httpx.Client(base_url=self._base_url, timeout=httpx.Timeout(2.0, connect=CONNECT_TIMEOUT_S)) as http:
            while not self._stop.is_set():
                try:
                    self._poll(http)
                except Exception:  # a watcher must never die: the next round tries again
                    log.debug("platform watch round failed", exc_info=True)
                self._stop.wait(WATCH_EVERY_S)

    def _poll(self, http: httpx.Client) -> None:
        platform_now: float | None = None
        try:
            response = http.get("/api/v1/status")
        except httpx.HTTPError:
            response = None
        if response is not None and response.status_code == 200:
            _, _, data = envelope_of(response)
            if isinstance(data, dict):
                platform_now = parse_time(data.get("time"))
                if platform_now is not None:
                    with self._lock:
                        self._offset = platform_now - time.time()
                        self._offset_known = True
                features = data.get("features") if isinstance(data.get("features"), dict) else {}
                state = str(features.get("issue", "UP")) if isinstance(features, dict) else "UP"
                with self._lock:
                    self._status_at = time.monotonic()
                    if state == "DOWN":
                        self._issue_down_seen = time.monotonic()
        try:
            response = http.get("/api/v1/notices")
        except httpx.HTTPError:
            return
        if response.status_code != 200:
            return
        _, _, data = envelope_of(response)
        notices = data.get("notices") if isinstance(data, dict) else None
        if not isinstance(notices, list):
            return
        offset = self._offset
        mono_minus_wall = time.monotonic() - time.time()
        windows: list[tuple[float, float, str]] = []
        for notice in notices:
            if not isinstance(notice, dict):
                continue
            features = notice.get("affectedFeatures")
            if isinstance(features, list) and features and not {"issue", "auth"} & {str(f) for f in features}:
                continue
            start, end = parse_time(notice.get("start")), parse_time(notice.get("end"))
            if start is None or end is None:
                continue
            # platform clock -> wall clock -> monotonic clock
            windows.append((start - offset + mono_minus_wall, end - offset + mono_minus_wall, str(notice.get("id"))))
        with self._lock:
            self._windows = windows


class TokenKeeper:
    """One bearer token per seller, shared by every call; refreshed by one caller at a time."""

    def __init__(self, http: Failover, config: ClientConfig) -> None:
        self._http = http
        self._config = config
        self._lock = threading.Lock()  # guards the fields below
        self._refresh = threading.Lock()  # single flight: the holder fetches, the others wait for its result
        self._token: str | None = None
        self._generation = 0
        self._expires_at = 0.0
        self._refresh_at = 0.0
        self._blocked_until = 0.0  # do not ask before this (re-verification pending, busy, down)
        self._blocked: Reply | None = None
        self.reverify_pending = False

    def get(self, deadline: float) -> tuple[str, int]:
        """A valid token and its generation, or TokenUnavailable."""
        while True:
            with self._lock:
                now = time.monotonic()
                if self._token is not None and now < self._refresh_at:
                    return self._token, self._generation
                still_valid = self._token is not None and now < self._expires_at - 5
                if self._token is not None and still_valid and (self._refresh.locked() or now < self._blocked_until):
                    return self._token, self._generation  # a refresh ahead of expiry is running or failed: keep it
                if now < self._blocked_until and self._blocked is not None:
                    raise TokenUnavailable(self._blocked)
                generation = self._generation
            wait = deadline - time.monotonic()
            if wait <= MIN_ATTEMPT_S or not self._refresh.acquire(timeout=wait):
                raise TokenUnavailable(Reply("unsent", message="no token in time"))
            try:
                with self._lock:
                    fresh = self._generation != generation  # another caller fetched one meanwhile
                    failed = self._blocked is not None and time.monotonic() < self._blocked_until
                if not fresh and not failed:  # (after another caller's failed fetch: its answer stands)
                    self._fetch(deadline)
            finally:
                self._refresh.release()

    def invalidate(self, generation: int) -> None:
        """The token of ``generation`` was refused: the next get() fetches a new one (once for all callers)."""
        with self._lock:
            if generation == self._generation and self._token is not None:
                self._token = None

    def require_reverify(self, generation: int, reply: Reply) -> None:
        """A call answered 403 E1004: drop the token and ask for one again only now and then."""
        with self._lock:
            if generation == self._generation:
                self._token = None
        self._note_reverify(reply.message)

    def _note_reverify(self, message: str) -> None:
        if not self.reverify_pending:
            log.warning(
                "ALERT seller %s: face / real-name re-verification required before new tokens (%s)",
                self._config.seller_tax_id,
                message,
            )
        self.reverify_pending = True
        self._block(Reply("reverify", "E1004", f"re-verification required: {message}"), REVERIFY_RETRY_S)

    def blocked(self) -> Reply | None:
        with self._lock:
            if time.monotonic() < self._blocked_until and self._blocked is not None and self._token is None:
                return self._blocked
            return None

    def _fetch(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        body = {
            "clientId": self._config.client_id,
            "clientSecret": self._config.client_secret,
            "taxpayerId": self._config.seller_tax_id,
        }
        timeout = httpx.Timeout(
            min(remaining, 5.0), connect=min(CONNECT_TIMEOUT_S, remaining), pool=max(0.1, min(remaining, 1.0))
        )
        try:
            response = self._http.post("/api/v1/auth/token", json=body, timeout=timeout)
        except httpx.HTTPError as exc:
            self._block(Reply("down", message=f"cannot reach the platform for a token: {exc!r}", transport=True), 1.0)
            return
        code, message, data = envelope_of(response)
        if response.status_code == 200 and code == "0000" and isinstance(data, dict) and data.get("accessToken"):
            ttl = float(data.get("expiresIn") or 600)
            now = time.monotonic()
            with self._lock:
                self._token = str(data["accessToken"])
                self._generation += 1
                self._expires_at = now + ttl
                self._refresh_at = now + max(ttl * 0.8, ttl - 120)
                self._blocked_until = 0.0
                self._blocked = None
                if self.reverify_pending:
                    log.warning("seller %s: tokens are granted again", self._config.seller_tax_id)
                self.reverify_pending = False
            return
        text = f"{code} {message}".strip()
        if code == "E1004":
            self._note_reverify(message)
        elif code in ACCOUNT_CODES:
            self._block(Reply("account", code, f"token refused: {text}"), ACCOUNT_HOLD_S)
        elif code in BUSY_CODES or response.status_code == 429:
            self._block(Reply("busy", code, text, retry_after_of(response)), retry_after_of(response) or 1.0)
        elif code in DOWN_CODES or response.status_code >= 500:
            self._block(Reply("down", code, text, retry_after_of(response)), retry_after_of(response) or 2.0)
        else:  # bad credentials: nothing a retry changes soon; ask again later
            self._block(Reply("down", code, f"token refused: {text}"), 5.0)

    def _block(self, reply: Reply, seconds: float) -> None:
        with self._lock:
            self._blocked = reply
            self._blocked_until = time.monotonic() + seconds * random.uniform(1.0, 1.3)


# ------------------------------------------------------------------------------------------------ outbox


@dataclass
class Record:
    """One order in the outbox: its serial (chosen before the first send) and where it stands."""

    order: Order
    serial: str
    state: Literal["working", "queued", "done"] = "working"
    sent: bool = False  # it may have reached the platform: look it up before sending again
    busy: bool = False  # an issue() or a drain works on it right now
    attempts: int = 0  # sends for the current answer
    error: str = ""
    not_before: float = 0.0  # monotonic time before which a drain leaves it alone
    retries: int = 0  # drain passes that did not settle it
    generation: int = 0  # how many serials before this one ended FAILED (each FAILED serial is final)
    sent_wall: float = 0.0  # wall-clock time of the first send under the current serial


@dataclass
class Upload:
    """An issued invoice whose upload to the tax bureau is not known to be done."""

    invoice_no: str
    serial: str
    issued_wall: float  # wall-clock time near its creation: where a status list starts looking for it
    failed: bool  # uploadState FAILED: it must be uploaded again
    seen_at: float  # monotonic time its state was last read
    misses: int = 0  # status lists that did not show it


class UploadBook:
    """The uploads a seller still owes (乐企 issue-then-upload): issued invoices not yet seen UPLOADED, and those
    whose upload FAILED and must be repeated. Each is counted in ``backlog()`` until it is seen UPLOADED."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, Upload] = {}
        self.hold_until = 0.0  # monotonic: no re-upload before this (the channel is down, or the platform busy)

    def note(self, invoice_no: str, serial: str, state: str | None, issued_wall: float) -> None:
        """An issued invoice's uploadState as the platform reported it: owed unless UPLOADED (or never reported)."""
        with self._lock:
            if state not in ("UPLOADING", "FAILED"):
                self._items.pop(invoice_no, None)  # done (or a platform without upload states: nothing to do)
                return
            item = self._items.get(invoice_no)
            if item is None:
                item = self._items[invoice_no] = Upload(invoice_no, serial, issued_wall, False, 0.0)
            item.failed = state == "FAILED"
            item.seen_at = time.monotonic()
            item.misses = 0

    def observe(self, data: Any) -> None:
        """An invoice record read for any reason (a status list, a detail): update the upload it belongs to."""
        if not isinstance(data, dict):
            return
        number = data.get("invoiceNo")
        with self._lock:
            item = self._items.get(number) if isinstance(number, str) else None
        if item is not None:
            self.note(item.invoice_no, item.serial, upload_state_of(data), item.issued_wall)

    def drop(self, invoice_no: str) -> None:
        with self._lock:
            self._items.pop(invoice_no, None)

    def count(self) -> int:
        return len(self._items)

    def to_check(self) -> list[Upload]:
        """The uploads last seen UPLOADING long enough ago to be read again, oldest first."""
        horizon = time.monotonic() - UPLOAD_SETTLE_S
        with self._lock:
            return [item for item in self._items.values() if not item.failed and item.seen_at <= horizon]

    def to_repeat(self) -> list[Upload]:
        """The uploads that FAILED, oldest first."""
        with self._lock:
            return [item for item in self._items.values() if item.failed]

    def due_in(self) -> float:
        """Seconds until some upload work is due: a read after UPLOAD_SETTLE_S, a re-upload after the hold."""
        now = time.monotonic()
        with self._lock:
            dues = [self.hold_until if item.failed else item.seen_at + UPLOAD_SETTLE_S for item in self._items.values()]
        return max(0.0, min(dues, default=now) - now)

    def missed(self, items: Sequence[Upload]) -> list[Upload]:
        """Count one more list that did not show ``items``; those missed often enough are read one by one."""
        with self._lock:
            for item in items:
                item.misses += 1
            return [item for item in items if item.misses >= LIST_MISSES and item.invoice_no in self._items]


class Journal:
    """An append-only JSON-lines outbox journal in the client's own folder (serials are written before sending)."""

    def __init__(self, folder: Path) -> None:
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._file = (folder / "outbox.jsonl").open("a", encoding="utf-8")
        except OSError:
            log.warning("outbox journal unavailable in %s: keeping the outbox in memory only", folder, exc_info=True)

    def write(self, **entry: Any) -> None:
        if self._file is None:
            return
        line = json.dumps(entry, separators=(",", ":"), default=str)
        with self._lock:
            try:
                self._file.write(line + "\n")
                self._file.flush()
            except (OSError, ValueError):
                log.debug("journal write failed", exc_info=True)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


# ---------------------------------------------------------------------------------------- status lists


@dataclass(eq=False)
class Watched:
    """An order whose issue() waits for the platform to finish processing it."""

    record: Record
    serial: str
    due: float  # monotonic: the platform's Retry-After has passed
    deadline: float  # monotonic: its caller answers the user then
    result: Reply | None = None
    misses: int = 0


class StatusPoller:
    """Follows PROCESSING invoices of one seller with one status list (``GET /api/v1/invoices?from=…``) for all of
    them at a time, at most every POLL_INTERVAL_S, instead of one look-up by serial per order and poll.

    An order the list does not show (yet) after its Retry-After is handed back to its caller, who looks it up by
    serial: the list only ever settles what it shows.
    """

    def __init__(self, client: OutsiderClient) -> None:
        self._client = client
        self._cond = threading.Condition()
        self._watched: dict[str, Watched] = {}
        self._next_poll = 0.0
        self._last_list = -1e9
        self._hold_until = 0.0  # a failed list's Retry-After: no list before it, however urgent
        self._thread: threading.Thread | None = None
        self._stopped = False

    def wait(self, record: Record, due: float, deadline: float) -> Reply | None:
        """What the platform's list says about ``record`` once final (or ``unknown``: look it up by serial), or
        None when ``deadline`` comes first."""
        entry = Watched(record=record, serial=record.serial, due=due, deadline=deadline)
        with self._cond:
            if self._stopped:
                return None
            self._watched[entry.serial] = entry
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="status-poller", daemon=True)
                self._thread.start()
            self._cond.notify_all()
            try:
                while entry.result is None:
                    left = deadline - time.monotonic()
                    if left <= 0 or self._stopped:
                        return None
                    self._cond.wait(left)
                return entry.result
            finally:
                if self._watched.get(entry.serial) is entry:
                    del self._watched[entry.serial]

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopped:
                    return
                if not self._watched:
                    self._cond.wait(5.0)
                    continue
                now = time.monotonic()
                start_at = max(min(entry.due for entry in self._watched.values()), self._next_poll)
                for entry in self._watched.values():  # a caller about to answer gets a list first
                    urgent = max(entry.due, entry.deadline - URGENT_S, self._last_list + URGENT_S, self._hold_until)
                    if urgent < entry.deadline:
                        start_at = min(start_at, urgent)
                if start_at > now:
                    self._cond.wait(start_at - now)
                    continue
                batch = list(self._watched.values())
            started = time.monotonic()
            with self._cond:
                self._last_list = started
            try:
                found, pause = self._client._list_status([entry.record for entry in batch])
            except Exception:  # the poller must never die: callers fall back to look-ups by serial
                log.exception("status list failed")
                found, pause = None, 1.0
            with self._cond:
                interval = CONGESTED_POLL_INTERVAL_S if self._client._gate.is_congested() else POLL_INTERVAL_S
                self._next_poll = time.monotonic() + max(interval, pause)
                self._hold_until = time.monotonic() + pause
                for entry in batch:
                    if self._watched.get(entry.serial) is not entry:
                        continue
                    data = found.get(entry.serial) if found is not None else None
                    if data is not None:
                        reply = invoice_reply(data, entry.record.order)
                        if reply.kind != "processing":
                            entry.result = reply
                    elif entry.due <= started:  # not shown (or the list failed): look it up by serial after a while
                        entry.misses += 1
                        if entry.misses >= LIST_MISSES:
                            entry.result = Reply("unknown", message="not in the status list: looking it up by serial")
                self._cond.notify_all()


# ------------------------------------------------------------------------------------------------ client


class OutsiderClient:
    """The client system: issue, queue, drain."""

    max_busy_tries: ClassVar[int] = MAX_BUSY_TRIES

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        budget = config.answer_budget_s
        # half the answer budget (the guide's policy); a short budget keeps a fixed slack instead, so that an
        # invoice the platform processes for up to two seconds can still be answered "issued"
        self.deadline_s = max(1.0, budget / 2, min(SHORT_DEADLINE_S, budget - ANSWER_SLACK_S))
        self.read_timeout_s = max(0.5, self.deadline_s * 2 / 3)
        self._breaker = Breaker()
        self._http = Failover(config.base_url, config.secondary_url, self._switched)
        self._tokens = TokenKeeper(self._http, config)
        self._uploads = UploadBook()
        self._watch = PlatformWatch.acquire(config.base_url)
        self._journal = Journal(Path(config.state_dir))
        self._lock = threading.Lock()
        self._records: dict[str, Record] = {}
        self._queue: dict[str, Record] = {}  # the backlog: records in state "queued", oldest first
        self._busy_until = 0.0  # shared Retry-After: nobody sends before this
        self._account_until = 0.0  # the seller's account is not ready: nobody sends before this
        self._account_reply: Reply | None = None
        self._account_alerted = -1e9
        self._poller = StatusPoller(self)
        self._gate = SendGate()
        self._prefix = hashlib.sha256(config.seller_tax_id.encode()).hexdigest()[:6]
        self._closed = False

    # ---------------------------------------------------------------------------------------- protocol

    def issue(self, order: Order) -> Outcome:
        return self._issue(order, time.monotonic() + self.deadline_s)

    def issue_batch(self, orders: Sequence[Order]) -> list[Outcome]:
        """Each order of an ERP batch on its own greenlet, all under one deadline; one outcome per order."""
        deadline = time.monotonic() + self.deadline_s
        results: list[Outcome | None] = [None] * len(orders)
        gate = threading.Semaphore(8)

        def work(index: int, order: Order) -> None:
            with gate:
                try:
                    results[index] = self._issue(order, deadline)
                except Exception as exc:  # pragma: no cover - _issue does not raise
                    log.exception("batch item failed")
                    results[index] = Outcome("failed", order.order_ref, attempts=0, error=f"client error: {exc!r}")

        threads = [threading.Thread(target=work, args=(i, order), daemon=True) for i, order in enumerate(orders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [
            result if result is not None else Outcome("failed", order.order_ref, attempts=0, error="no answer")
            for result, order in zip(results, orders, strict=True)
        ]

    def backlog(self) -> int:
        """Queued orders without an invoice, plus issued invoices whose upload is not yet seen done."""
        return len(self._queue) + self._uploads.count()

    def drain(self, budget_s: float) -> list[Outcome]:
        """Settle queued orders, oldest first, for about ``budget_s``: wait out Retry-After inside the budget,
        leave when the platform is down or refuses tokens (the next drain tries again). Then read the uploads not
        yet seen done and upload the FAILED ones again.

        No order is started after ``budget_s``; one started before may run its own deadline (half an answer
        budget) to the end, so a drain lasts at most its budget plus half an answer budget.
        """
        end = time.monotonic() + max(0.0, budget_s)
        settled = self._drain_queue(end)
        if not self._closed and self._uploads.count():
            try:
                self._drain_uploads(end)
            except Exception:  # never let the uploads break the drain: the next one tries again
                log.exception("upload work of seller %s failed", self.config.seller_tax_id)
        return settled

    def _drain_queue(self, end: float) -> list[Outcome]:
        """Settle queued orders, oldest first, until ``end`` (monotonic) or the platform is not ready."""
        settled: list[Outcome] = []
        skipped: set[str] = set()  # orders this drain already tried without settling them
        if self._blocked_now() is None and not self._closed:
            settled.extend(self._settle_from_list(end))
        while time.monotonic() < end and not self._closed:
            if self._blocked_now() is not None:
                time.sleep(min(0.5, max(0.0, end - time.monotonic())))  # no hot loop of empty drains
                break
            wait = self._busy_until - time.monotonic()
            if wait > 0:
                pause = wait + random.uniform(0, min(1.0, wait * 0.5))
                if time.monotonic() + pause > end:
                    break
                time.sleep(pause)
                continue
            record = self._next_for_drain(skipped)
            if record is None:
                break
            if isinstance(record, float):  # every order left is waiting for its next try
                if time.monotonic() + record > end:
                    break
                time.sleep(record)
                continue
            record.attempts = 0
            try:
                reply = self._work(record, time.monotonic() + self.deadline_s, draining=True)
            except Exception as exc:  # never let one order break the drain
                log.exception("drain of %s failed", record.order.order_ref)
                reply = Reply("unsent", message=f"client error: {exc!r}")
            outcome = self._settle(record, reply, from_queue=True)
            if outcome is not None:
                settled.append(outcome)
            elif reply.kind in ("down", "reverify", "auth", "unsent", "account") or reply.transport:
                break  # the platform is not ready (or no time is left): the next drain tries again
            elif reply.kind != "busy":
                skipped.add(record.order.order_ref)  # busy: tried again once the wait is over
        return settled

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._poller.stop()
        self._watch.release()
        self._http.close()
        self._journal.close()

    def _switched(self, why: str) -> None:
        """Requests now go to another platform: what the breaker learnt about the old one no longer holds."""
        log.warning("seller %s: %s", self.config.seller_tax_id, why)
        self._breaker.success()

    # ------------------------------------------------------------------------------------------ uploads

    def _drain_uploads(self, end: float) -> None:
        """Read the uploads not yet seen done and repeat the FAILED ones, while the budget lasts."""
        if self._breaker.blocked() is not None:
            return  # the platform is unreachable: the next drain tries again
        wait = self._uploads.due_in()
        if wait > 0 and time.monotonic() + wait < end:
            time.sleep(wait)  # no hot loop of drains with nothing due yet
        self._check_uploads(end)
        self._repeat_uploads(end)

    def _upload_deadline(self) -> float:
        return time.monotonic() + max(MIN_SEND_S + 1.0, min(self.deadline_s, 5.0))

    def _check_uploads(self, end: float) -> None:
        """Read the state of the uploads last seen UPLOADING: one status list for all of them; those it keeps
        missing are read one by one (``GET /api/v1/invoices/{invoiceNo}``)."""
        items = self._uploads.to_check()
        if not items or time.monotonic() >= end:
            return
        since = min(item.issued_wall for item in items)
        shown, _ = self._list_invoices(since, {item.serial for item in items}, self._upload_deadline())
        missing = [item for item in items if shown is None or item.serial not in shown]
        for item in self._uploads.missed(missing):
            if time.monotonic() >= end or not self._read_upload(item):
                return

    def _read_upload(self, item: Upload) -> bool:
        """Read one invoice's upload state by its number; False when the platform did not answer it."""
        answer = self._call("GET", f"/api/v1/invoices/{item.invoice_no}", self._upload_deadline())
        if isinstance(answer, Reply):
            self._note_health(answer)
            return False
        response, generation = answer
        code, _, data = envelope_of(response)
        if response.status_code == 200 and code in ("0000", "") and isinstance(data, dict):
            self._uploads.observe(data)
            return True
        reply = classify_error(response, lookup=True)
        self._note_session(reply, generation)
        if reply.kind == "absent":  # not an invoice of this seller: nothing this client can upload
            self._uploads.drop(item.invoice_no)
            return True
        return False

    def _repeat_uploads(self, end: float) -> None:
        """Upload again the invoices whose upload FAILED, oldest first, until ``end`` or the channel refuses."""
        for item in self._uploads.to_repeat():
            now = time.monotonic()
            if now >= end or now < self._uploads.hold_until or not self._repeat_upload(item):
                return

    def _repeat_upload(self, item: Upload) -> bool:
        """``POST /api/v1/invoices/{invoiceNo}/upload`` (idempotent); False when the next one should wait."""
        answer = self._call("POST", f"/api/v1/invoices/{item.invoice_no}/upload", self._upload_deadline())
        if isinstance(answer, Reply):
            self._note_health(answer)
            return False
        response, generation = answer
        code, message, data = envelope_of(response)
        if response.status_code == 200 and code in ("0000", "") and isinstance(data, dict):
            self._uploads.observe(data)  # UPLOADED: done; still UPLOADING: read again later
            self._journal.write(event="upload", invoiceNo=item.invoice_no, state=upload_state_of(data))
            return True
        reply = classify_error(response, lookup=True)
        self._note_session(reply, generation)
        if reply.kind == "absent":
            log.warning(
                "seller %s: invoice %s cannot be uploaded: %s", self.config.seller_tax_id, item.invoice_no, message
            )
            self._uploads.drop(item.invoice_no)
            return True
        if reply.kind in ("down", "busy"):  # the upload channel is still down (E9006), or the platform is busy
            self._uploads.hold_until = time.monotonic() + (reply.retry_after or UPLOAD_HOLD_S)
        return False

    # ------------------------------------------------------------------------------------------ issuing

    def _issue(self, order: Order, deadline: float) -> Outcome:
        record = self._claim(order)
        if isinstance(record, Outcome):
            return record
        try:
            reply = self._work(record, deadline, draining=False)
        except Exception as exc:  # an unexpected client error: the order may have been sent, so keep it
            log.exception("issue of %s failed", order.order_ref)
            reply = Reply("unknown", message=f"client error: {exc!r}")
        outcome = self._settle(record, reply, from_queue=False)
        return outcome if outcome is not None else self._queued_outcome(record)

    def _claim(self, order: Order) -> Record | Outcome:
        """The order's record (created with its serial before any send), marked as worked on by this call."""
        with self._lock:
            record = self._records.get(order.order_ref)
            if record is None:
                serial = self._serial_for(order)
                record = Record(order=order, serial=serial, busy=True)
                self._records[order.order_ref] = record
                self._journal.write(event="serial", ref=order.order_ref, serial=serial)
                return record
            if record.busy:  # the same order twice at once: the other caller answers it
                return Outcome("queued", order.order_ref, attempts=0, error="already being issued")
            if record.state == "queued":
                self._queue.pop(order.order_ref, None)
            record.state = "working"
            record.busy = True
            record.attempts = 0
            return record

    def _serial_for(self, order: Order) -> str:
        digest = hashlib.sha256(f"{self.config.seller_tax_id}|{order.order_ref}".encode()).hexdigest()
        return f"OC{self._prefix}-{digest[:40]}"

    def _work(self, record: Record, deadline: float, draining: bool) -> Reply:
        """Try to settle one order before ``deadline``: a final reply (issued, refused), or why it stays queued.

        A drain is more patient with the platform than an issue(): it never sleeps on one order (the next drain
        comes soon) and leaves at the first busy answer.
        """
        reauthenticated = False
        busy_tries = 0
        own_wait_until = 0.0  # this call's exponential back-off on busy answers
        last = Reply("unsent", message="not tried")
        listed: Reply | None = None  # a final status the seller's status list showed (no request of its own)
        requests = 0
        while requests < MAX_REQUESTS_PER_WORK or listed is not None:
            if listed is not None:
                reply, listed, lookup = listed, None, True
                if reply.kind == "account":
                    self._note_health(reply)  # FAILED for the account's sake: hold the seller's sends too
            else:
                blocked = self._blocked_now()
                if blocked is not None:
                    return blocked if last.kind == "unsent" else last
                wait_until = max(self._busy_until, own_wait_until)
                wait = wait_until - time.monotonic()
                if wait > 0:
                    if draining or time.monotonic() + wait + MIN_SEND_S > deadline:
                        return last if last.kind == "busy" else Reply("busy", message="the platform asked to wait")
                    time.sleep(wait + random.uniform(0, min(1.0, wait * 0.5)))
                permit = self._breaker.allow()
                if permit == "open" or (permit == "probe" and not self._probe(deadline)):
                    return Reply("down", message=self._breaker.reason or "the platform is unreachable")
                lookup = record.sent
                reply = self._lookup(record, deadline) if lookup else self._send(record, deadline)
                requests += 1
                self._note_health(reply)
            last = reply
            kind = reply.kind
            if reply.burnt:
                self._rotate_serial(record, reply)  # FAILED is final for that serial: the next send uses a new one
            if kind in ("issued", "refused", "account"):
                return reply
            if kind == "burnt":
                if draining:
                    return reply
                continue
            if kind == "absent":
                record.sent = False  # the platform never got it: the same serial may go again
                continue
            if kind == "unknown":
                if not lookup:
                    continue  # the invoice may exist: look it up by serial before anything else
                if draining and reply.code in UNKNOWN_CODES:
                    # the recovery call itself is failing: a replay of the same serial is idempotent
                    reply = self._send(record, deadline)
                    self._note_health(reply)
                    if reply.burnt:
                        self._rotate_serial(record, reply)
                    return reply
                return reply  # cannot tell now: it stays queued, a drain looks it up
            if kind in ("processing", "in_progress"):
                if draining:
                    return reply  # the next drain's status list settles it
                due = time.monotonic() + max(reply.retry_after or 1.0, 0.3)
                result = self._poller.wait(record, due, deadline - 0.05)
                if result is None:
                    return reply  # still processing at the deadline: queued, a drain settles it
                if result.kind != "unknown":
                    listed = result
                continue  # unknown: the list did not show it, look it up by serial
            if kind == "busy":
                busy_tries += 1
                if draining or busy_tries >= self.max_busy_tries:
                    return reply
                own_wait_until = time.monotonic() + self._busy_pause(reply.retry_after, busy_tries)
                continue
            if kind == "auth":
                if reauthenticated:
                    return reply
                reauthenticated = True
                continue  # _request invalidated the token: the next call fetches one (single flight)
            return reply  # down, reverify, unsent
        return last

    def _rotate_serial(self, record: Record, reply: Reply) -> None:
        """The record's serial ended FAILED (no invoice under it, a replay answers FAILED again): choose the next
        serial now and journal it before it is ever sent."""
        with self._lock:
            record.generation += 1
            record.serial = f"{self._serial_for(record.order)}-{record.generation}"
            record.sent = False
            record.sent_wall = 0.0
            self._journal.write(
                event="serial", ref=record.order.order_ref, serial=record.serial, why=reply.message or reply.code
            )

    def _probe(self, deadline: float) -> bool:
        """The half-open probe: is the platform reachable again? Closes or reopens the breaker."""
        timeout = min(PROBE_TIMEOUT_S, max(0.1, deadline - time.monotonic()))
        try:
            response = self._http.get("/health", timeout=timeout)
        except httpx.HTTPError as exc:
            self._breaker.failure(f"the platform is unreachable ({type(exc).__name__})")
            return False
        if response.status_code >= 500:
            self._breaker.failure(f"the platform is unhealthy (HTTP {response.status_code})")
            return False
        self._breaker.success()
        return True

    def _busy_pause(self, retry_after: float | None, tries: int) -> float:
        base = max(retry_after or 0.0, 0.5 * 2.0 ** (tries - 1))
        return base + random.uniform(0, base * 0.5)

    def _send(self, record: Record, deadline: float) -> Reply:
        payload = record.order.invoice_payload(record.serial)
        if not self._gate.acquire(deadline - MIN_SEND_S):
            return Reply("unsent", message="the platform sheds load: the order waits its turn")
        try:
            if not record.sent_wall:
                record.sent_wall = time.time()  # where a status list starts looking for it (with a margin)
            reply = self._request("POST", "/api/v1/invoices", record, deadline, payload)
        finally:
            self._gate.release()
        if reply.kind != "unsent":
            record.attempts += 1
        if reply.kind == "unknown" or reply.kind in ("processing", "in_progress"):
            record.sent = True
        if reply.kind == "absent":  # a POST never answers E3004; be safe
            record.sent = True
            return Reply("unknown", reply.code, reply.message)
        return reply

    def _lookup(self, record: Record, deadline: float) -> Reply:
        return self._request("GET", f"/api/v1/invoices/by-serial/{record.serial}", record, deadline, None)

    def _request(self, method: str, path: str, record: Record, deadline: float, body: dict[str, Any] | None) -> Reply:
        answer = self._call(method, path, deadline, body)
        if isinstance(answer, Reply):
            return answer
        response, generation = answer
        reply = classify(response, record.order, lookup=method == "GET")
        self._note_session(reply, generation)
        return reply

    def _call(
        self,
        method: str,
        path: str,
        deadline: float,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> tuple[httpx.Response, int] | Reply:
        """One authenticated request: the answer (with the token's generation), or why there is none."""
        least = MIN_SEND_S if method == "POST" else MIN_ATTEMPT_S
        if deadline - time.monotonic() < least:
            return Reply("unsent", message="no time left for another try")
        try:
            token, generation = self._tokens.get(deadline)
        except TokenUnavailable as exc:
            return exc.reply
        remaining = deadline - time.monotonic()
        if remaining < least:
            return Reply("unsent", message="no time left for another try")
        read_timeout = min(self.read_timeout_s, remaining)
        timeout = self._timeout(read_timeout, remaining)
        headers = {"Authorization": f"Bearer {token}"}
        try:
            if method == "POST":
                response = self._http.post(path, json=body, headers=headers, timeout=timeout)
            else:
                response = self._http.get(path, params=params, headers=headers, timeout=timeout)
        except httpx.PoolTimeout:
            return Reply("unsent", message="too many requests in flight")
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            return Reply("down", message=f"cannot connect to the platform ({type(exc).__name__})", transport=True)
        except httpx.ReadTimeout:  # sent, no answer in time: the outcome is unknown
            # a timeout cut short by this call's own deadline says little about the platform's health
            full = read_timeout >= self.read_timeout_s * 0.99
            return Reply("unknown", message="no answer from the platform in time", transport=full)
        except httpx.HTTPError as exc:  # sent (perhaps), no answer: the outcome is unknown
            return Reply("unknown", message=f"no answer from the platform ({type(exc).__name__})", transport=True)
        if method == "POST":
            self._note_rate_limit(response)
        return response, generation

    def _note_rate_limit(self, response: httpx.Response) -> None:
        """The issue family's limit for this credential × taxpayer is used up: wait for its reset before the next
        send instead of collecting 429s (a new token would not reset it)."""
        remaining, reset = response.headers.get("x-ratelimit-remaining"), response.headers.get("x-ratelimit-reset")
        try:
            if remaining is None or reset is None or int(remaining) > 0:
                return
            pause = min(max(float(reset), 0.0), 60.0)
        except ValueError:
            return
        with self._lock:
            self._busy_until = max(self._busy_until, time.monotonic() + pause)

    def _note_session(self, reply: Reply, generation: int) -> None:
        if reply.kind == "auth":
            self._tokens.invalidate(generation)
        elif reply.kind == "reverify":
            self._tokens.require_reverify(generation, reply)

    def _list_status(
        self, records: Sequence[Record], deadline: float | None = None
    ) -> tuple[dict[str, Any] | None, float]:
        """The seller's invoices created since shortly before the oldest of ``records`` was sent, by serial, from
        one status list (``GET /api/v1/invoices?from=…``, a few pages at most); None when the list failed. Also
        returns how long to wait before the next list."""
        sent = [record.sent_wall for record in records if record.sent_wall]
        return self._list_invoices(min(sent) if sent else time.time(), {record.serial for record in records}, deadline)

    def _list_invoices(
        self, since_wall: float, wanted: set[str], deadline: float | None = None
    ) -> tuple[dict[str, Any] | None, float]:
        """The ``wanted`` serials' invoices from one status list starting shortly before ``since_wall`` (wall clock);
        every invoice the list shows also updates the uploads owed. None when the list failed; and the pause
        before the next list."""
        start = self._watch.platform_time(since_wall - LIST_MARGIN_S)
        if start is None:
            return None, POLL_INTERVAL_S  # the platform's clock is not known yet: callers look up by serial
        if deadline is None:
            deadline = time.monotonic() + min(self.deadline_s, 5.0)
        found: dict[str, Any] = {}
        for page in range(1, MAX_LIST_PAGES + 1):
            params = {"from": f"{max(0.0, start):.3f}", "page": page, "pageSize": LIST_PAGE_SIZE}
            answer = self._call("GET", "/api/v1/invoices", deadline, params=params)
            if isinstance(answer, Reply):
                self._note_health(answer)
                return (found or None), max(answer.retry_after or 0.0, POLL_INTERVAL_S)
            response, generation = answer
            code, _, data = envelope_of(response)
            if response.status_code != 200 or code not in ("0000", "") or not isinstance(data, dict):
                reply = classify_error(response, lookup=True)
                self._note_session(reply, generation)
                if reply.kind in ("down", "busy"):
                    self._note_health(reply)
                return (found or None), max(retry_after_of(response) or 0.0, POLL_INTERVAL_S)
            items = data.get("items")
            if not isinstance(items, list):
                return (found or None), POLL_INTERVAL_S
            for item in items:
                self._uploads.observe(item)
                if isinstance(item, dict) and str(item.get("requestSerialNo")) in wanted:
                    found[str(item["requestSerialNo"])] = item
            total = data.get("total")
            if wanted <= found.keys() or not isinstance(total, int) or page * LIST_PAGE_SIZE >= total:
                break
        return found, 0.0

    def _timeout(self, read_timeout: float, remaining: float) -> httpx.Timeout:
        """One request's timeouts: never longer than what is left of the caller's deadline."""
        return httpx.Timeout(read_timeout, connect=min(CONNECT_TIMEOUT_S, remaining), pool=min(1.0, remaining))

    def _note_health(self, reply: Reply) -> None:
        """Feed the breaker and the shared busy window from one reply."""
        if reply.kind == "unsent" or reply.kind == "reverify":
            self._breaker.release_probe()
            return
        if reply.kind == "account":
            self._breaker.success()
            self._hold_account(reply)
            return
        if reply.transport:
            self._breaker.failure(reply.message, immediate=reply.kind == "down")
            return
        if reply.kind == "down":
            until = reply.hold_until or time.monotonic() + 2.0
            self._breaker.hold(until, f"{reply.message}: issuing later")
            return
        if reply.kind == "busy":
            self._breaker.release_probe()
            with self._lock:
                self._busy_until = max(self._busy_until, time.monotonic() + (reply.retry_after or 0.5))
            self._gate.congested()
            return
        self._breaker.success()

    def _hold_account(self, reply: Reply) -> None:
        """The seller's account is not ready (E4001-E4004): stop sending for a few seconds and alert the back
        office (once per episode); orders stay queued and are issued once the account is ready."""
        now = time.monotonic()
        with self._lock:
            self._account_until = max(self._account_until, now + ACCOUNT_HOLD_S * random.uniform(1.0, 1.3))
            self._account_reply = reply
            alert = now - self._account_alerted > 30.0
            if alert:
                self._account_alerted = now
        if alert:
            log.warning(
                "ALERT seller %s: the account is not ready (%s): the back office must download quota, adjust its "
                "period or download invoice numbers; orders are queued until then",
                self.config.seller_tax_id,
                reply.message or reply.code,
            )

    def _blocked_now(self) -> Reply | None:
        """Why nothing may be sent now (the guide's "queue it"), or None."""
        if reason := self._watch.blocked():
            return Reply("down", message=reason)
        with self._lock:
            held, account = time.monotonic() < self._account_until, self._account_reply
        if held and account is not None:
            return Reply("account", account.code, account.message)
        if reason := self._breaker.blocked():
            return Reply("down", message=reason)
        if (token_reply := self._tokens.blocked()) is not None:
            return token_reply
        return None

    # ------------------------------------------------------------------------------------------ settling

    def _settle(self, record: Record, reply: Reply, from_queue: bool) -> Outcome | None:
        """Record what ``reply`` means for the order; the outcome to report, or None when it stays queued."""
        ref = record.order.order_ref
        with self._lock:
            record.busy = False
            if reply.kind == "issued":
                outcome = Outcome("issued", ref, reply.invoice_no, attempts=record.attempts)
                self._finish(record)
            elif reply.kind == "refused":
                error = f"the platform refused the invoice: {reply.message or reply.code}"
                outcome = Outcome("rejected", ref, attempts=record.attempts, error=error)
                self._finish(record)
            else:
                if record.state != "queued":
                    record.state = "queued"
                    self._queue[ref] = record
                record.error = reply.message or reply.kind
                if reply.kind == "account":
                    record.error = f"the seller's account is not ready, the back office must act ({record.error})"
                if from_queue and reply.kind in ("processing", "in_progress"):
                    record.not_before = time.monotonic() + max(reply.retry_after or 0.5, 0.3)
                elif from_queue and reply.kind not in ("busy", "down", "reverify", "auth", "unsent"):
                    record.retries += 1  # something about this order (not the platform's state) held it back
                    record.not_before = time.monotonic() + min(4.0, 0.25 * 2.0 ** min(record.retries, 4))
                return None
        self._journal.write(event=outcome.status, ref=ref, serial=record.serial, invoiceNo=outcome.invoice_no)
        if outcome.invoice_no is not None:
            self._uploads.note(outcome.invoice_no, record.serial, reply.upload_state, record.sent_wall or time.time())
        return outcome

    def _settle_from_list(self, end: float) -> list[Outcome]:
        """Settle the queued orders that were sent (PROCESSING, or an unknown outcome) from one status list instead
        of one look-up each; what the list does not show is left to the look-ups by serial."""
        now = time.monotonic()
        with self._lock:
            batch = [
                record
                for record in self._queue.values()
                if record.sent and record.sent_wall and not record.busy and record.not_before <= now
            ][: LIST_PAGE_SIZE * MAX_LIST_PAGES]
            if len(batch) < 2:
                return []  # one order: its own look-up costs the same
            for record in batch:
                record.busy = True
        outcomes: list[Outcome] = []
        found: dict[str, Any] | None = None
        try:
            found, _ = self._list_status(batch, deadline=max(end, time.monotonic() + MIN_SEND_S))
        finally:
            for record in batch:
                data = found.get(record.serial) if found is not None else None
                reply = invoice_reply(data, record.order) if data is not None else None
                if reply is None or reply.kind in ("processing", "unknown"):
                    with self._lock:
                        record.busy = False
                        if reply is not None:  # still processing: not worth a look-up of its own yet
                            record.not_before = time.monotonic() + 1.0
                    continue
                if reply.burnt:
                    self._rotate_serial(record, reply)
                if reply.kind == "account":
                    self._note_health(reply)
                record.attempts = 0
                outcome = self._settle(record, reply, from_queue=True)
                if outcome is not None:
                    outcomes.append(outcome)
        return outcomes

    def _finish(self, record: Record) -> None:  # under self._lock
        if record.state == "queued":
            self._queue.pop(record.order.order_ref, None)
        record.state = "done"

    def _queued_outcome(self, record: Record) -> Outcome:
        self._journal.write(event="queued", ref=record.order.order_ref, serial=record.serial, why=record.error)
        return Outcome(
            "queued",
            record.order.order_ref,
            attempts=record.attempts,
            error=f"issued later (offline queue): {record.error}",
        )

    def _next_for_drain(self, skipped: set[str]) -> Record | float | None:
        """The oldest queued order a drain may work now (marked busy), else how long until one may be worked
        (seconds), else None."""
        now = time.monotonic()
        soonest: float | None = None
        with self._lock:
            for ref, record in self._queue.items():
                if record.busy or ref in skipped:
                    continue
                if record.not_before > now:
                    soonest = min(soonest or record.not_before, record.not_before)
                    continue
                record.busy = True
                return record
        return None if soonest is None else soonest - now


def create(config: ClientConfig) -> OutsiderClient:
    """The factory taxstorm calls once per seller."""
    return OutsiderClient(config)
