"""Fetching what a post names on the web (its image, its page for a link card) without SSRF.

A post's `image:` or `url:` is input from whoever wrote the file, and the daemon runs next to
things that must not be reached from it (`http://169.254.169.254/latest/meta-data`, a database's
admin page on 127.0.0.1). So every fetch here:

* takes http and https only (the scheme compared case-insensitively, as RFC 3986 says);
* resolves the host itself and refuses loopback, private, link-local (cloud metadata), shared,
  multicast and reserved addresses, unless POSTBOT_FETCH_ALLOW_NETWORKS lists them;
* connects to the address it checked (the URL's host is kept for `Host` and TLS), so a second
  DNS answer cannot swap it;
* follows at most MAX_REDIRECTS redirects by hand, checking each hop the same way;
* stops at a size cap and a total deadline, and for images wants an `image/*` content type and
  bytes that sniff as JPEG, PNG, GIF or WEBP.

No PyPI library does this for httpx (advocate wraps requests and is unmaintained since 2020);
the address rules are the standard library's `ipaddress`.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

MAX_REDIRECTS = 5
DEFAULT_MAX_BYTES = 20_000_000      # an image bigger than this is not worth shrinking
DEFAULT_DEADLINE = 30.0             # seconds for the whole fetch, redirects included
_SCHEMES = ("http", "https")


class FetchRefused(Exception):
    """Not fetched and never will be as written: a policy or content problem (permanent)."""


class FetchFailed(Exception):
    """Could not be fetched now (network, timeout, 5xx): may work later."""


@dataclass(frozen=True)
class FetchPolicy:
    """Which addresses remote fetches may reach beyond the public internet, and how much they read."""

    allowed_networks: tuple[str, ...] = ()
    max_bytes: int = DEFAULT_MAX_BYTES
    deadline: float = DEFAULT_DEADLINE
    _networks: tuple = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_networks", tuple(ipaddress.ip_network(n, strict=False)
                                                    for n in self.allowed_networks))

    def allows(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if any(ip in network for network in self._networks):
            return True
        return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def is_loopback(host: str | None) -> bool:
    """Whether `host` (a name, an address, or [an IPv6 address] as a URL writes it) is this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address((host or "").strip("[]")).is_loopback
    except ValueError:
        return False


def parse_networks(raw: str, variable: str = "POSTBOT_FETCH_ALLOW_NETWORKS") -> tuple[str, ...]:
    """`127.0.0.1/32,10.0.0.0/8` -> the networks, each checked; ValueError names the bad one."""
    networks = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValueError(f"{variable}: {item!r} is not an address or network; write e.g. "
                             f"{variable}=10.0.0.0/8,127.0.0.1/32") from None
    return tuple(networks)


def is_web_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in _SCHEMES and bool(parts.hostname)


@dataclass
class Fetched:
    url: str                # where it was finally read from, as written (not the pinned address)
    content: bytes
    content_type: str
    encoding: str | None = None


async def _addresses(host: str, port: int) -> list[str]:
    import asyncio
    import socket

    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed(f"cannot resolve {host} ({exc})") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


async def _checked_target(url: str, policy: FetchPolicy) -> tuple[str, str, str]:
    """(pinned URL, Host header, TLS server name) for one hop, or FetchRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchRefused(f"{url} is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES or not parts.hostname:
        raise FetchRefused(f"{url} is not an http(s) address")
    if parts.username or parts.password:
        raise FetchRefused(f"{url} carries a user name or password; postbot does not send those")
    host = parts.hostname
    port = port or (443 if scheme == "https" else 80)
    addresses = await _addresses(host, port)
    refused = [a for a in addresses if not policy.allows(a)]
    if refused or not addresses:
        raise FetchRefused(f"{host} resolves to {', '.join(refused) or 'nothing'}, which is not a public address; "
                           f"postbot does not fetch from private networks unless POSTBOT_FETCH_ALLOW_NETWORKS "
                           f"lists them")
    address = addresses[0]
    shown = f"[{address}]" if ":" in address else address
    pinned = urlunsplit((scheme, f"{shown}:{port}", parts.path or "/", parts.query, ""))
    return pinned, parts.netloc.rpartition("@")[2], host


async def fetch(client, url: str, policy: FetchPolicy, *, accept: str, max_bytes: int | None = None,
                truncate: bool = False) -> Fetched:
    """GET `url` under `policy`. `truncate`: keep the first max_bytes (a page's head is enough)
    instead of refusing a larger body."""
    import asyncio

    limit = max_bytes or policy.max_bytes
    try:
        return await asyncio.wait_for(_fetch(client, url, policy, accept, limit, truncate), policy.deadline)
    except asyncio.TimeoutError:
        raise FetchFailed(f"{url} did not answer in full within {policy.deadline:g} s") from None


async def _fetch(client, url: str, policy: FetchPolicy, accept: str, limit: int, truncate: bool) -> Fetched:
    import httpx

    current = url
    for _ in range(MAX_REDIRECTS + 1):
        pinned, host_header, server_name = await _checked_target(current, policy)
        extensions = {"sni_hostname": server_name} if pinned.startswith("https") else {}
        try:
            async with client.stream("GET", pinned, follow_redirects=False, extensions=extensions,
                                     headers={"Host": host_header, "Accept": accept}) as response:
                if response.is_redirect and response.headers.get("location"):
                    current = urljoin(current, response.headers["location"])
                    continue
                if response.status_code >= 500 or response.status_code in (408, 429):
                    raise FetchFailed(f"{current} answered {response.status_code}")
                if response.status_code != 200:
                    raise FetchRefused(f"{current} answered {response.status_code}")
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if accept.startswith("image") and not content_type.startswith("image/"):
                    raise FetchRefused(f"{current} is {content_type or 'of no declared type'}, not an image")
                declared = response.headers.get("content-length", "")
                if not truncate and declared.isdigit() and int(declared) > limit:
                    raise FetchRefused(f"{current} is {declared} bytes, over the {limit}-byte cap")
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > limit:
                        if not truncate:
                            raise FetchRefused(f"{current} is over the {limit}-byte cap")
                        break
                data = b"".join(chunks)[:limit]
                return Fetched(current, data, content_type, response.encoding)
        except httpx.HTTPError as exc:
            raise FetchFailed(f"cannot fetch {current} ({type(exc).__name__})") from None
    raise FetchRefused(f"{url} redirects more than {MAX_REDIRECTS} times")


async def fetch_image(client, url: str, policy: FetchPolicy) -> tuple[bytes, str, str]:
    """(bytes, file name, MIME type) of a remote image whose bytes really are an image."""
    from postbot.local_images import MIME_OF, SUFFIX_OF, sniff

    fetched = await fetch(client, url, policy, accept="image/*")
    found = sniff(fetched.content)
    if found not in MIME_OF:
        raise FetchRefused(f"{fetched.url} is not a JPG, PNG, GIF or WEBP image (its bytes are "
                           f"{found or 'no image'})")
    name = fetched.url.rsplit("/", 1)[-1].split("?")[0] or "image"
    if not name.lower().endswith(tuple(SUFFIX_OF.values()) + (".jpeg",)):
        name += SUFFIX_OF[found]
    return fetched.content, name, MIME_OF[found]

