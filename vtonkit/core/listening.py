"""A listening TCP socket for vtonkit's local servers (the review app, the demo store), with the
ways binding goes wrong said in words: a port in use, an address this machine does not have."""
from __future__ import annotations

import errno
import socket

from vtonkit.core.errors import VtonkitError


def listen_problem(exc: OSError, host: str, port: int) -> str:
    """What a failed bind of `host:port` means and what to do."""
    where = f"cannot listen on {host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return f"{where}: the port is in use (another server, or this one still running); pick another with --port"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{where}: this machine has no such address; use 127.0.0.1 or one of its own addresses with --host"
    if exc.errno == errno.EACCES:
        return f"{where}: permission denied (ports below 1024 need root); pick a port above 1024 with --port"
    return f"{where}: {exc.strerror or exc}"


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to `host:port` and listening, for a server to take over.

    Raises:
        VtonkitError: the bind failed; the message says why and what to do.
    """
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise VtonkitError(f"cannot listen on {host}:{port}: unknown host name ({exc.strerror})") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a just-stopped app's port is free again
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise VtonkitError(listen_problem(exc, host, port)) from None
    sock.listen(128)
    return sock
