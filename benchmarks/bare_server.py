"""The reference server of ``platform_throughput.py``: FastAPI + uvicorn exactly as the platform runs them,
one route that validates the same request model and returns it, with no logic and no storage."""

from __future__ import annotations

import argparse
import socket
from typing import Any

import uvicorn
from fastapi import FastAPI

from taxstorm.mock_platform.models import IssueInvoiceRequest


def create_bare_app() -> FastAPI:
    app = FastAPI()

    @app.post("/api/v1/invoices")
    async def echo(body: IssueInvoiceRequest) -> dict[str, Any]:
        return {"code": "0000", "message": "OK", "data": body.model_dump(mode="json")}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(2048)
    config = uvicorn.Config(create_bare_app(), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
