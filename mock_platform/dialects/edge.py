"""What every dialect gateway does at the edge: read a request's headers and body, send an answer."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import Receive, Scope, Send

MAX_BODY = 10 * 1024 * 1024


@dataclass(frozen=True)
class DialectCode:
    """One of a platform's documented codes with its documented text (Nuonuo's ``describe``, the IRP's
    ``ErrorMessage``)."""

    code: str
    text: str


@dataclass(frozen=True)
class WireAnswer:
    """What goes back on the wire."""

    status: int
    body: bytes
    content_type: str = "application/json;charset=UTF-8"


GATEWAY_TIMEOUT = WireAnswer(
    504, b"<html><body><h1>504 Gateway Time-out</h1></body></html>", "text/html"
)  # a lost answer (native E9004) is lost at the load balancer: no JSON at all


def headers_of(scope: Scope) -> dict[str, str]:
    """The request's headers, names in lower case."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


async def body_of(receive: Receive) -> bytes | None:
    """The request body, or None past MAX_BODY."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def send_answer(send: Send, answer: WireAnswer) -> None:
    headers = [(b"content-type", answer.content_type.encode()), (b"content-length", str(len(answer.body)).encode())]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
