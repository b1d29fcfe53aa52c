"""One spelling per link, so that two accounts sharing the same story count as sharing it
whatever tracking tags, capitals or trailing slashes their copies carry."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "igshid", "mc_cid", "mc_eid", "ref_src", "ref_url", "si", "s"}
)


def normalise_url(url: str) -> str:
    """Lower-case scheme and host, no `www.`, default port, fragment or tracking parameters
    (utm_* and the usual click ids); the remaining query sorted; no trailing slash."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    if not parts.netloc:
        return url.strip()
    scheme = parts.scheme.lower() or "https"
    host = (parts.hostname or "").removeprefix("www.")
    if port and (scheme, port) not in {("http", 80), ("https", 443)}:
        host = f"{host}:{port}"
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith("utm_") and key.lower() not in TRACKING
    )
    path = parts.path.rstrip("/")
    return urlunsplit(("https" if scheme == "http" else scheme, host, path, urlencode(query), ""))
