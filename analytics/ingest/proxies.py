"""Which address is the client? X-Forwarded-For is believed only from trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(ip: str, networks: Sequence[Network]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in networks)


def client_ip(peer: str | None, forwarded_for: str | None, networks: Sequence[Network]) -> str:
    """The client address, walking X-Forwarded-For right to left through trusted hops only.

    Without trusted proxies the header is ignored, so nobody can spoof addresses
    and inflate visitor counts.
    """
    ip = peer or ""
    if not networks or not forwarded_for or not _trusted(ip, networks):
        return ip
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return ip  # a malformed hop: stop at the last address we could trust
        ip = hop
        if not _trusted(hop, networks):
            return hop
    return ip
