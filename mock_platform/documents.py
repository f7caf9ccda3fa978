"""Delivered invoice documents (交付): what the buyer downloads — a PDF, an OFD or the XML data file.

The mock's documents carry the invoice's facts (number, date, parties, totals) in a minimal form of each type, so
a receiver can check what it received; their layout is not the tax bureau's.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from taxstorm.mock_platform.clock import iso
from taxstorm.mock_platform.store.invoices import Invoice

DOCUMENT_TYPES = {"pdf": "application/pdf", "ofd": "application/ofd", "xml": "application/xml"}


def _facts(invoice: Invoice) -> dict[str, str]:
    body = json.loads(invoice.payload)
    return {
        "invoiceNo": invoice.invoice_no or "",
        "issueTime": iso(invoice.due_at),
        "seller": f"{body.get('seller', {}).get('name', '')} {invoice.seller_tax_id}",
        "buyer": f"{body.get('buyer', {}).get('name', '')} {invoice.buyer_tax_id or ''}".strip(),
        "totalWithTax": invoice.total_with_tax,
    }


def render_document(invoice: Invoice, kind: str) -> bytes:
    """The document of ``kind`` (pdf, ofd, xml) of an issued invoice."""
    facts = _facts(invoice)
    xml = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in facts.items())
    if kind == "xml":
        return f'<?xml version="1.0" encoding="UTF-8"?><EInvoice>{xml}</EInvoice>'.encode()
    if kind == "ofd":
        return f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016">{xml}</ofd:OFD>'.encode()
    lines = "\n".join(f"% {k}: {v}" for k, v in facts.items())
    return f"%PDF-1.4\n{lines}\n%%EOF\n".encode()
