"""Run one platform process: ``python -m taxstorm.mock_platform --port 0 --port-file FILE``.

Settings come from ``TAXSTORM_PLATFORM_*`` environment variables; ``--tls-cert`` and ``--tls-key`` serve HTTPS.
With ``--port 0`` the socket is bound here, so the chosen port can be written to ``--port-file`` before
serving (no log scraping, no race). Beyond loopback it refuses to start with an admin token published in this
repository (exit 2).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
from pathlib import Path

import uvicorn

from taxstorm.mock_platform.app import create_app
from taxstorm.mock_platform.loopback import is_loopback
from taxstorm.mock_platform.settings import PUBLIC_ADMIN_TOKENS, PlatformSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m taxstorm.mock_platform", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    parser.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate chain (PEM)")
    parser.add_argument("--tls-key", type=Path, help="the certificate's private key (PEM)")
    args = parser.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together: give both to serve HTTPS, or neither for HTTP")
    for given in (args.tls_cert, args.tls_key):
        if given is not None and not given.is_file():
            parser.error(f"{given}: no such file; give the PEM files of the certificate and its key")

    settings = PlatformSettings()
    if settings.admin_token in PUBLIC_ADMIN_TOKENS and not is_loopback(args.host):
        parser.error(
            f"refusing to listen on {args.host}: the admin token is the public default {settings.admin_token!r}, "
            "and anyone who reaches the port could reset the ledger or inject faults. Set "
            "TAXSTORM_PLATFORM_ADMIN_TOKEN to a secret of your own (e.g. $(openssl rand -hex 16)), or listen on "
            "127.0.0.1."
        )
    if settings.database_url and importlib.util.find_spec("psycopg") is None:
        parser.error(
            "TAXSTORM_PLATFORM_LEDGER_URL names PostgreSQL, and psycopg is not installed: pip install "
            "'taxstorm[postgres]', or leave the URL unset for the SQLite ledger"
        )
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)
    if args.port_file:
        tmp = args.port_file.with_suffix(".tmp")
        tmp.write_text(str(sock.getsockname()[1]))
        os.replace(tmp, args.port_file)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
        ssl_certfile=str(args.tls_cert) if args.tls_cert else None,
        ssl_keyfile=str(args.tls_key) if args.tls_key else None,
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
