"""The client protocol: what a client system under test implements, and what taxstorm hands it.

The public API for client authors::

    from taxstorm.clients import ClientConfig, InvoiceClient, Order, Outcome

A client module exposes a factory ``create(config: ClientConfig) -> InvoiceClient``; scenarios name it as
``client.ref: my_module:create`` (``--client my_module:create`` on the command line).
"""

from taxstorm.clients.orders import Order, OrderLine
from taxstorm.clients.protocol import (
    BatchIssuingClient,
    ClientConfig,
    ClientFactory,
    InvoiceClient,
    Outcome,
    OutcomeStatus,
    parse_options,
)

__all__ = [
    "BatchIssuingClient",
    "ClientConfig",
    "ClientFactory",
    "InvoiceClient",
    "Order",
    "OrderLine",
    "Outcome",
    "OutcomeStatus",
    "parse_options",
]
