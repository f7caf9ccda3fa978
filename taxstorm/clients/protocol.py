"""The client protocol: what taxstorm drives and judges (docs/writing-a-client.md is the guide).

A client system turns an order into an outcome, reports its offline backlog and drains it. Implement it in any
Python object and load it with ``--client package.module:factory``; the factory receives a
:class:`ClientConfig` and returns the client. One client is built per seller.

How the harness calls it (the contract):

- ``issue()`` is called concurrently, many calls at a time for one seller, each in its own greenlet of a
  gevent-patched process (Locust): use cooperative I/O (any pure-Python HTTP library is fine); a call that
  blocks the process in C stalls every user of the run.
- Every ``issue()`` must answer within ``ClientConfig.answer_budget_s``. A call still running then is
  abandoned: the user is told ``failed`` and the client is marked as having hung (a defect, exit 1).
- ``drain(budget_s)`` is called every 2 s while ``backlog()`` > 0, in its own greenlet, *while* ``issue()``
  calls go on; at the end of the run (the drain phase) once and then while ``backlog()`` > 0. The harness never
  runs two drains of one client at once; keeping an order that an ``issue()`` is still working on out of a
  drain is the client's job.
- Anything else — an exception, a return value of the wrong type, a status outside the four, an outcome for
  another order — is a defect: the guard answers the user ``failed`` in the client's place and the run fails
  its ``contract`` gate (taxstorm.loadtests.guard).
- The verdict never takes the client's word: every claim is checked against the platform's ledger after the
  drain (taxstorm.reconcile). ``backlog()`` is compared with the harness's own count, not trusted.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from taxstorm.clients.orders import Order

OutcomeStatus = Literal["issued", "queued", "rejected", "failed"]


@dataclass(frozen=True)
class Outcome:
    """What the client told its user about one order.

    - ``issued``: the invoice exists on the platform and ``invoice_no`` is its number (an ``issued`` without a
      number, or with a number that is not this order's live invoice, is a finding).
    - ``queued``: accepted for later (offline / emergency issuing): a promise that the order's invoice will be
      in the platform's ledger by the end of the drain phase. An order told ``queued`` and never issued is
      *never issued*, whatever ``backlog()`` says.
    - ``rejected``: a business error the user must fix (the platform refused the data); no invoice exists.
    - ``failed``: the client gave up; no invoice exists (if the ledger holds one, the outcome was *unknown*).

    ``attempts``: how many times the client sent this order to the platform for this answer (0: it never sent
    it, e.g. queued offline without a try). Reported; the gates count the platform's own requests instead.
    ``error``: why, for queued, rejected and failed, in words a user could act on.
    """

    status: OutcomeStatus
    order_ref: str
    invoice_no: str | None = None
    attempts: int = 1
    error: str | None = None


@dataclass(frozen=True)
class ClientConfig:
    """What a client factory receives: where the platform is (the Toxiproxy address; ``secondary_url``: a failover
    platform sharing its ledger and tokens, when the scenario has one), who it is and its own credential, its
    own folder (``state_dir``, one per seller, kept for the run), its options (``client.options`` of the
    scenario) and ``answer_budget_s``, the longest a user waits for ``issue()``."""

    base_url: str
    seller_tax_id: str
    seller_name: str
    state_dir: Path
    client_id: str = ""  # this seller's credential (the harness hands every seller its own)
    client_secret: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    answer_budget_s: float = 30.0  # the longest a user waits for issue(); past it the call is abandoned as failed
    secondary_url: str | None = None  # a failover platform on the same ledger and tokens (NIC1/NIC2), if there is one
    ca_file: Path | None = None  # an HTTPS platform's CA to trust (also in SSL_CERT_FILE and REQUESTS_CA_BUNDLE)
    dialect: str = "native"  # the wire protocol: native (/api/v1), nuonuo (/open/v1/services) or irp (/eicore)
    dialect_credentials: dict[str, str] = field(default_factory=dict)  # irp: user_name, password, public_key (PEM)


@runtime_checkable
class InvoiceClient(Protocol):
    """A client system under test."""

    def issue(self, order: Order) -> Outcome:
        """Issue an invoice for ``order`` and answer the user within ``answer_budget_s``; called concurrently."""
        ...

    def backlog(self) -> int:
        """The work still owed: orders told ``queued`` without an invoice the client knows of (not those in flight),
        plus issued invoices whose upload FAILED and that must be uploaded again."""
        ...

    def drain(self, budget_s: float) -> list[Outcome]:
        """Work the backlog for about ``budget_s`` seconds (at most ``budget_s`` plus one answer budget); return
        the outcomes reached for orders that were ``queued`` (each a new answer to that order's user)."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


@runtime_checkable
class BatchIssuingClient(InvoiceClient, Protocol):
    """A client system that can issue an ERP batch at once (optional: others get the orders one by one)."""

    def issue_batch(self, orders: Sequence[Order]) -> list[Outcome]:
        """Issue every order of the batch; one outcome per order, in order."""
        ...


ClientFactory = Callable[[ClientConfig], InvoiceClient]
OptionsT = TypeVar("OptionsT")


def parse_options(kind: type[OptionsT], options: dict[str, Any], client: str) -> OptionsT:
    """Build a client's options dataclass from ``client.options``, naming unknown or missing keys."""
    fields = kind.__dataclass_fields__  # type: ignore[attr-defined]
    known = sorted(fields)
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"unknown {client} client options {unknown}; known: {known}")
    try:
        return kind(**options)
    except TypeError as exc:  # a required option is missing
        raise ValueError(f"{client} client options: {exc}; known: {known}") from None


def parse_options_json(text: str, option: str) -> dict[str, Any]:
    """Client options given as JSON text on a command line, or a clear error naming ``option``."""
    try:
        value = json.loads(text or "{}")
    except ValueError as exc:
        raise ValueError(f"{option}: not JSON ({exc}); e.g. '{{\"read_timeout_s\": 2}}'") from None
    if not isinstance(value, dict):
        raise ValueError(f"{option}: expected a JSON object such as '{{\"read_timeout_s\": 2}}'")
    return value


BUILTIN_CLIENTS = {
    "resilient": "taxstorm.clients.resilient:create_client",
    "naive": "taxstorm.clients.naive:create_client",
    "http": "taxstorm.clients.http_adapter:create_client",
}


class ClientLoadError(ValueError):
    """A client reference that cannot be imported or is not a factory."""


def _innermost_frame(exc: BaseException) -> str:
    """`` (at file:line)`` of the frame that raised, for a message without a traceback."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return f" (at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno})" if tb is not None else ""


def load_factory(reference: str) -> ClientFactory:
    """Resolve ``resilient`` or ``package.module:factory`` to a factory callable."""
    target = BUILTIN_CLIENTS.get(reference, reference)
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        known = ", ".join(sorted(BUILTIN_CLIENTS))
        raise ClientLoadError(f"client {reference!r}: use a built-in ({known}) or 'package.module:factory'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ClientLoadError(f"client {reference!r}: cannot import {module_name!r}: {exc}") from exc
    except Exception as exc:  # the client's own module failed while it was imported: its code, not ours
        where = _innermost_frame(exc)
        raise ClientLoadError(
            f"client {reference!r}: importing {module_name!r} raised {type(exc).__name__}: {exc}{where}"
        ) from exc
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ClientLoadError(f"client {reference!r}: {module_name} has no callable {attr!r}")
    result: ClientFactory = factory
    return result
