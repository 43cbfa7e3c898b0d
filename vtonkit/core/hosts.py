"""Which names a local server answers to: its defence against DNS rebinding.

A page of another site whose name was re-pointed at 127.0.0.1 reaches a loopback server with its
own name in the `Host` header. vtonkit's local servers (the review app, the demo store) answer only
when `Host` names this machine (`LOOPBACK_HOSTS`), the address they are bound to, or a name the user
allowed (`--allow-host`).
"""
from __future__ import annotations

from collections.abc import Iterable

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def host_name(host_header: str) -> str:
    """`"localhost:8765"` -> `"localhost"`, `"[::1]:8765"` -> `"::1"` (lower case, no trailing dot);
    "" for anything that is not `name[:port]` (a port that is not a number, stray characters)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
    elif host.count(":") > 1:  # a bare IPv6 address
        name, rest = host, ""
    else:
        name, _, port = host.partition(":")
        rest = f":{port}" if _ else ""
    if rest and not (rest.startswith(":") and rest[1:].isdigit()):
        return ""
    name = name.rstrip(".")
    return name if name and all(c.isalnum() or c in ".-_:" for c in name) else ""


def allowed_host_names(bound_host: str | None, extra: Iterable[str] = ()) -> frozenset[str]:
    """Loopback names, the bound address (unless a wildcard) and the `--allow-host` names.

    Raises:
        ValueError: an `extra` entry is no host name (`*`, a URL, an empty string): as "" it would
            have let through requests without a usable Host header.
    """
    extra = list(extra)
    bad = [name for name in extra if not host_name(name)]
    if bad:
        raise ValueError(f"not a host name: {', '.join(repr(name) for name in bad)} (give a name or address "
                         "such as review.lan or 192.168.1.20, without scheme, path or wildcard)")
    names = {*LOOPBACK_HOSTS, *(host_name(name) for name in extra)}
    if bound_host and bound_host not in ("0.0.0.0", "::", ""):
        names.add(host_name(bound_host if ":" not in bound_host else f"[{bound_host}]"))
    return frozenset(names)
