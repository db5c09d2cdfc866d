"""A fake Shodan REST API for exchbot's tests: a real HTTP server on 127.0.0.1 driven by the real
``shodan`` client (point ``SHODAN_API_URL`` or ``client.base_url`` at ``FakeShodan.url``).

Usage::

    with FakeShodan(make_population([{"country": "DE", "build": "15.1.2507.39", "count": 120}])) as fake:
        monkeypatch.setenv("SHODAN_API_URL", fake.url)
        api = shodan.Shodan("good-key"); api.api_rate_limit = 0
        api.count('http.html:"/owa/auth/15.1.2507/"', facets=[("country", 300)])

Endpoints (GET only; anything else answers 404/405 with a JSON error)
--------------------------------------------------------------------
``/api-info``
    ``{query_credits, scan_credits, plan, usage_limits{query_credits, scan_credits, monitored_ips},
    unlocked, unlocked_left, https, telnet}``; ``query_credits`` is what the key has left.
``/shodan/host/count?query=Q[&facets=F]``
    ``{"total": n, "facets": {...}, "matches": []}``. Free, as on the real API.
``/shodan/host/search?query=Q[&page=P|&limit=L&offset=O][&facets=F][&minify=True|False][&fields=a,b.c]``
    ``{"matches": [...100 per page...], "total": n, "facets": {...}}``. A page past the end has
    empty ``matches``. Costs 1 query credit per request when the query holds a filter (a term of the
    form ``name:value`` with a supported filter name, see below) or the page is > 1, as Shodan
    documents; with ``limit`` it costs ceil(limit / 100). Without enough credits: HTTP 401
    ``{"error": ERR_NO_CREDITS}``. ``minify=True`` (the client's default) drops ``opts`` only.

Facets (``facets`` parameter)
    Comma-separated ``name`` or ``name:size`` (default size 5, as on the real API). Buckets are
    ``{"value", "count"}`` sorted by count descending, then value. Names: country, port, org, asn,
    domain, http.title, http.status. Banners with no value (e.g. ``location.country_code`` null)
    are counted in ``total`` but in no bucket. An unknown name or a bad size answers HTTP 400
    ``{"error": "Invalid facet: NAME"}``; when every name is a single character (the client was
    given ``facets="country"``, a string, and split it into ``c,o,u,n,t,r,y``) the message adds
    ``(facets arrived split into single characters: pass a list, not a string)``.

What Shodan leaves undocumented (term matching, repeated filters, the facet cap, short pages, the
shape of ``fields``) is chosen by :class:`Semantics` (``FakeShodan(semantics=...)`` or the
``semantics`` attribute); ``LEGACY`` is the first fake's reading (substrings, no cap, full pages,
bare terms also in redirect hops, only the filters below). The default, ``REALISTIC``, follows
Shodan's documentation: ``http.html`` / ``http.title`` match by terms, bare terms search ``data`` only,
and ``http.favicon.hash``, ``http.component``, ``product``, ``vuln``, ``os``, ``ssl`` are accepted
(facets ``http.favicon.hash`` and ``http.component`` too; OWA banners carry a synthetic favicon hash
and an ``ASP.NET`` component).

Query syntax (space-separated terms, all must match: AND)
    ``http.html:"..."`` / ``http.html:word``   terms (or, LEGACY, a case-insensitive substring) of ``http.html``
    ``http.title:"..."``                       the same for ``http.title``
    ``country:DE`` / ``country:DE,FR``         ``location.country_code`` in the list (any case)
    ``port:443`` / ``port:443,8443``           ``port`` in the list
    ``org:"..."``                              case-insensitive substring of ``org``
    ``asn:AS64500[,AS..]``                     ``asn`` in the list (any case)
    ``hostname:example.com``                   a hostname equal to it or ending in ``.example.com``
    ``net:192.0.2.0/24``                       ``ip_str`` inside the CIDR block
    ``http.status:200``                        ``http.status`` equal
    ``"X-OWA-Version"``, ``"X-OWA-Version: 15.1"``, ``X-OWA-Version``, ``Server:``
        bare words or quoted phrases: case-insensitive substring of the raw response ``data`` or
        of any ``http.redirects[].data`` hop. ``X-OWA-Version: 15.1`` unquoted is two bare terms
        (``X-OWA-Version:`` and ``15.1``): a ``name:`` token is bare text when its value is empty
        or its name contains a character no Shodan filter has (``-``).
    ``-term``                                  negation of any of the above
    Anything else shaped like a filter (``product:...``, ``vuln:...``, ``ssl:...``), an empty query,
    an empty value (``country:``) or an unbalanced quote answers HTTP 400
    ``{"error": ERR_INVALID_QUERY}``; the reason is recorded in ``calls[i]["error"]``. Bare terms
    never make a query "filtered" for credit purposes.

Failure modes, chosen by API key (one server serves every test)
    ``good-key`` / any key not below   normal; ``query_credits`` credits (constructor, default 100000)
    ``credits-N``                      normal, but starts with N query credits
    (missing key) / ``bad-key``        401 with the nginx HTML page -> APIError("Invalid API key")
    ``no-credits``                     count works; search 401 JSON ERR_NO_CREDITS when it costs a
                                       credit (every filtered query); /api-info says query_credits 0
    ``free-key``                       count and /api-info work (plan "oss", 0 credits); search
                                       answers 403 -> APIError("Access denied (403 Forbidden)")
    ``rate-limit``                     every 2nd request of the key (2nd, 4th, ...) answers 429 JSON
                                       ERR_RATE_LIMIT with ``Retry-After: 0``
    ``hang``                           never answers: waits until ``hang_max`` seconds pass or the
                                       fake stops, then closes the socket without a response
    ``server-error``                   500 with an HTML page -> APIError("Unable to parse JSON response")
    ``bad-gateway``                    502 with an HTML page -> APIError("Bad Gateway (502)")
    ``fail-after-N``                   the key's first N requests (any endpoint) are normal, then 500
                                       for ever, to interrupt a snapshot halfway
    ``timeout-query``                  count and search answer 200 ``{"error": ERR_TIMEOUT_QUERY}``
                                       (status unknown for the real API; the client only looks at
                                       401/403/502 and then at the JSON ``error`` key)
    Every response of a failing mode is counted in ``calls`` with its status.

Population: ``make_population(spec)`` builds banners shaped like real Shodan ``https`` banners (field
names from samples/shodan/shodan_host_data_8.8.8.8_https_2023-08.json, OWA HTML and headers from the
Exchange samples, rest synthetic), on RFC 5737 IPv4 / RFC 3849 IPv6 documentation addresses,
RFC 5398 documentation ASNs and RFC 2606 example hostnames. See its docstring for the spec keys.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import email.utils
import functools
import ipaddress
import json
import math
import re
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Banner = dict[str, Any]

# Error texts copied from samples/shodan/shodan_error_bodies.txt.
ERR_NO_CREDITS = "Insufficient query credits, please upgrade your API plan or wait for the monthly limit to reset"
ERR_RATE_LIMIT = (
    "Request rate limit reached (1 request/ second). Please wait a second before trying again and slow down "
    "your API calls."
)
ERR_TIMEOUT_QUERY = "The search request timed out or your query was invalid."
ERR_INVALID_QUERY = "Invalid search query"
SPLIT_FACETS_HINT = "(facets arrived split into single characters: pass a list, not a string)"

NGINX_401_HTML = """<html>
 <head>
  <title>401 Unauthorized</title>
 </head>
 <body>
  <h1>401 Unauthorized</h1>
  This server could not verify that you are authorized to access the document you requested.<br/><br/>
 </body>
</html>
"""
# Synthetic: the real 403/500/502 bodies are not in the samples; the client never reads them as JSON.
NGINX_403_HTML = "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n</body>\r\n</html>\r\n"  # noqa: E501
HTML_500 = "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n</body>\r\n</html>\r\n"  # noqa: E501
NGINX_502_HTML = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"  # noqa: E501

PAGE_SIZE = 100
DEFAULT_FACET_SIZE = 5
DEFAULT_TIMESTAMP = "2026-11-28T06:00:00.000000"


# --------------------------------------------------------------------------------------------------
# Population
# --------------------------------------------------------------------------------------------------

_COUNTRY_NAMES = {
    "AT": "Austria",
    "AU": "Australia",
    "BE": "Belgium",
    "BR": "Brazil",
    "CA": "Canada",
    "CH": "Switzerland",
    "CN": "China",
    "CZ": "Czechia",
    "DE": "Germany",
    "DK": "Denmark",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GB": "United Kingdom",
    "IE": "Ireland",
    "IN": "India",
    "IT": "Italy",
    "JP": "Japan",
    "KR": "South Korea",
    "MX": "Mexico",
    "NL": "Netherlands",
    "NO": "Norway",
    "PL": "Poland",
    "PT": "Portugal",
    "RU": "Russian Federation",
    "SE": "Sweden",
    "SG": "Singapore",
    "TW": "Taiwan",
    "US": "United States",
}
_EU_REGION = {"AT", "BE", "CH", "CZ", "DE", "DK", "ES", "FI", "FR", "GB", "IE", "IT", "NL", "NO", "PL", "PT", "SE"}
_SIGNALS = {"header", "path", "redirect", "none"}
_SPEC_KEYS = {
    "country",
    "build",
    "signal",
    "count",
    "port",
    "ports",
    "non_exchange",
    "header_name",
    "header_value",
    "title",
    "org",
    "asn",
    "hostname",
    "ipv6",
    "ip",
    "timestamp",
    "path_build",
    "marker",
    "favicon",
}
_V4_BLOCKS = ("192.0.2.", "198.51.100.", "203.0.113.")


def _ip_pool() -> Iterator[str]:
    """Documentation addresses: the three RFC 5737 /24s, then RFC 3849 IPv6 when they run out."""
    for block in _V4_BLOCKS:
        for host in range(1, 255):
            yield f"{block}{host}"
    n = 1
    while True:
        yield str(ipaddress.IPv6Address(f"2001:db8::{n:x}"))
        n += 1


def _v6_pool() -> Iterator[str]:
    n = 0x1000  # apart from the v4 overflow range above
    while True:
        yield str(ipaddress.IPv6Address(f"2001:db8:0:1::{n:x}"))
        n += 1


def _signed32(data: str) -> int:
    value = zlib.crc32(data.encode())
    return value - (1 << 32) if value >= 1 << 31 else value


def _http_date(timestamp: str) -> str:
    return email.utils.format_datetime(dt.datetime.fromisoformat(timestamp).replace(tzinfo=dt.UTC), usegmt=True)


def _normalise_signals(signal: Any) -> set[str]:
    raw = [signal] if isinstance(signal, str) else list(signal)
    out: set[str] = set()
    for item in raw:
        if item == "both":
            out |= {"header", "path"}
        elif item in _SIGNALS:
            out.add(item)
        else:
            raise ValueError(f"unknown signal {item!r}: use header, path, both, redirect, none or a list")
    return out


def _resource_dir(build: str, with_path: bool) -> str:
    """Where the logon page's themes live: 3-part under /owa/auth/ for 2013+, full build for 2007/2010."""
    parts = build.split(".")
    modern = int(parts[0]) >= 15
    if not with_path:
        return "/owa/auth" if modern else "/owa"  # paths stripped, as a URL-rewrite rule does
    return f"/owa/auth/{'.'.join(parts[:3])}" if modern else f"/owa/{build}"


def _default_title(build: str) -> str:
    major, minor = (int(p) for p in build.split(".")[:2])
    return "Outlook" if (major, minor) >= (15, 1) else "Outlook Web App"


def _logon_html(build: str, res: str, title: str, marker: bool = True) -> str:
    # Head modelled on samples/shodan/owa_exchange2019_15.2.858_logon_response_excerpt.http (2016/2019)
    # and owa_exchange2013_15.0.1395_logon_html_excerpt.txt (2013 and older); the body is synthetic.
    font = "wf_segoe-ui_normal" if _default_title(build) == "Outlook" else "Segoe UI WPC"
    owa_page = "<!-- OwaPage = ASP.auth_logon_aspx -->\n\n" if marker else "\n"
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n'
        "<!-- Copyright (c) 2011 Microsoft Corporation.  All rights reserved. -->\n"
        f"{owa_page}"
        "<!-- {57A118C6-2DA9-419d-BE9A-F92B0F9A418B} -->\n"
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.0 Transitional//EN">\n'
        "<html>\n<head>\n"
        '<meta http-equiv="X-UA-Compatible" content="IE=10" />\n'
        f'<link rel="shortcut icon" href="{res}/themes/resources/favicon.ico" type="image/x-icon">\n'
        '<meta http-equiv="Content-Type" content="text/html; CHARSET=utf-8">\n'
        '<meta name="Robots" content="NOINDEX, NOFOLLOW">\n'
        f"<title>{title}</title>\n"
        "<style>\n@font-face {\n"
        f'    font-family: "{font}";\n'
        f'    src: url("{res}/themes/resources/segoeui-regular.eot?#iefix") format("embedded-opentype"),\n'
        f'            url("{res}/themes/resources/segoeui-regular.ttf") format("truetype");\n'
        "}\n</style>\n"
        f'<link type="text/css" rel="stylesheet" href="{res}/themes/resources/logon.css">\n'
        "</head>\n"
        '<body class="signInBg">\n'
        '<form action="/owa/auth.owa" method="POST" name="logonForm" ENCTYPE="application/x-www-form-urlencoded"'
        ' autocomplete="off">\n'
        '<input type="hidden" name="destination" value="">\n'
        '<input type="hidden" name="flags" value="4">\n'
        '<input id="username" name="username" type="email">\n'
        '<input id="password" name="password" type="password">\n'
        "</form>\n</body>\n</html>\n"
    )


def _raw_headers(status_line: str, headers: Sequence[tuple[str, str]]) -> str:
    return status_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"


@dataclass(frozen=True)
class _Host:
    ip: str
    port: int
    country: str | None
    org: str
    asn: str
    hostname: str
    timestamp: str


def _skeleton(host: _Host) -> Banner:
    """Fields every banner has, named as in the 8.8.8.8 sample."""
    ip = ipaddress.ip_address(host.ip)
    cc = host.country
    banner: Banner = {
        "hash": 0,
        "opts": {},
        "timestamp": host.timestamp,
        "isp": host.org,
        "org": host.org,
        "asn": host.asn,
        "data": "",
        "_shodan": {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-shodan:{host.ip}:{host.port}:{host.timestamp}")),
            "region": "eu" if cc in _EU_REGION else "na",
            "options": {},
            "module": "http" if host.port == 80 else "https",
            "crawler": f"{zlib.crc32(host.ip.encode()):08x}" * 5,
        },
        "port": host.port,
        "hostnames": [host.hostname],
        "domains": [host.hostname.split(".", 1)[1]],
        "location": {
            "city": None,
            "region_code": None,
            "area_code": None,
            "longitude": None,
            "latitude": None,
            "country_name": (_COUNTRY_NAMES.get(cc, cc) if cc else None),
            "country_code": cc,
        },
        "os": None,
        "transport": "tcp",
        "ip_str": host.ip,
    }
    if ip.version == 4:
        banner["ip"] = int(ip)
    else:
        banner["ipv6"] = host.ip
    if host.port != 80:
        issued = dt.datetime.fromisoformat(host.timestamp) - dt.timedelta(days=200)
        expires = issued + dt.timedelta(days=730)
        banner["ssl"] = {
            "versions": ["-SSLv2", "-SSLv3", "-TLSv1", "-TLSv1.1", "TLSv1.2", "-TLSv1.3"],
            "cipher": {"version": "TLSv1.2", "bits": 256, "name": "ECDHE-RSA-AES256-GCM-SHA384"},
            "cert": {
                "sig_alg": "sha256WithRSAEncryption",
                "issued": issued.strftime("%Y%m%d%H%M%SZ"),
                "expires": expires.strftime("%Y%m%d%H%M%SZ"),
                "expired": False,
                "version": 2,
                "subject": {"CN": host.hostname},
                "issuer": {"CN": "Example Issuing CA", "O": "Example Trust", "C": "US"},
                "pubkey": {"type": "rsa", "bits": 2048},
                "fingerprint": {"sha256": uuid.uuid5(uuid.NAMESPACE_DNS, host.hostname).hex * 2},
            },
            "chain": [],
            "alpn": [],
            "ocsp": {},
        }
    return banner


def _http_block(
    host: _Host, *, title: str, html: str, server: str, location: str, redirects: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "status": 200,
        "title": title,
        "html": html,
        "html_hash": _signed32(html),
        "host": host.ip,
        "location": location,
        "redirects": redirects,
        "server": server,
        "components": {},
        "robots": None,
        "robots_hash": None,
        "sitemap": None,
        "sitemap_hash": None,
        "securitytxt": None,
        "securitytxt_hash": None,
        "favicon": None,
        "headers_hash": 0,
    }


def _exchange_banner(host: _Host, spec: Mapping[str, Any], seq: int) -> Banner:
    build = str(spec["build"])
    signals = _normalise_signals(spec.get("signal", "path"))
    header_name = str(spec.get("header_name", "X-OWA-Version"))
    header_value = str(spec.get("header_value", build))
    path_build = str(spec.get("path_build", build))
    title = str(spec.get("title", _default_title(build)))
    html = _logon_html(build, _resource_dir(path_build, "path" in signals), title, bool(spec.get("marker", True)))
    date = _http_date(host.timestamp)
    netloc = f"[{host.ip}]" if ":" in host.ip else host.ip
    if host.port != 443:
        netloc += f":{host.port}"
    scheme = "http" if host.port == 80 else "https"
    fe_server = f"EXCH{seq % 100:02d}"
    request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"req:{host.ip}:{host.port}"))

    # The crawl of "/" follows two hops, as a real Exchange front end answers (samples/exchange/
    # http-root-403-and-https-302-to-owa_exchange2019.http, owa-302-location-and-derived-version...).
    root_hop = _raw_headers(
        "HTTP/1.1 302 Found",
        [
            ("Cache-Control", "no-cache"),
            ("Pragma", "no-cache"),
            ("Content-Length", "0"),
            ("Location", f"{scheme}://{netloc}/owa/"),
            ("Server", "Microsoft-IIS/10.0"),
            ("X-FEServer", fe_server),
            ("X-RequestId", request_id),
            ("Date", date),
        ],
    )
    owa_headers = [
        ("Cache-Control", "no-cache"),
        ("Pragma", "no-cache"),
        ("Content-Length", "0"),
        ("Location", f"{scheme}://{netloc}/owa/auth/logon.aspx?url={scheme}%3a%2f%2f{netloc}%2fowa%2f&reason=0"),
        ("Server", "Microsoft-IIS/10.0"),
    ]
    if "redirect" in signals:
        owa_headers.append((header_name, header_value))
    owa_headers += [("X-FEServer", fe_server), ("X-RequestId", request_id), ("Date", date)]
    owa_hop = _raw_headers("HTTP/1.1 302 Found", owa_headers)

    final = [
        ("Cache-Control", "no-cache, no-store"),
        ("Content-Type", "text/html; charset=utf-8"),
        ("Date", date),
        ("Expires", "-1"),
        ("Pragma", "no-cache"),
        ("Request-Id", request_id),
        ("Server", "Microsoft-IIS/10.0"),
        ("X-Aspnet-Version", "4.0.30319"),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("X-Powered-By", "ASP.NET"),
    ]
    if "header" in signals:
        final.append((header_name, header_value))
    final += [("X-FEServer", fe_server), ("Content-Length", str(len(html.encode())))]

    banner = _skeleton(host)
    banner["data"] = _raw_headers("HTTP/1.1 200 OK", final)
    banner["http"] = _http_block(
        host,
        title=title,
        html=html,
        server="Microsoft-IIS/10.0",
        location=f"/owa/auth/logon.aspx?url={scheme}%3a%2f%2f{netloc}%2fowa%2f&reason=0",
        redirects=[
            {"host": host.ip, "data": root_hop, "location": "/"},
            {"host": host.ip, "data": owa_hop, "location": "/owa/"},
        ],
    )
    if spec.get("favicon", True):
        # Synthetic hash (one value per major version), in the shape Shodan documents for http.favicon.
        banner["http"]["favicon"] = {
            "hash": _signed32(f"owa-favicon-{build.split('.')[0]}"),
            "location": f"{scheme}://{netloc}{_resource_dir(path_build, True)}/themes/resources/favicon.ico",
            "data": "",
        }
    banner["http"]["components"] = {"ASP.NET": {"categories": ["Web frameworks"]}}
    banner["product"] = "Outlook Web App"
    banner["hash"] = _signed32(banner["data"])
    return banner


def _other_banner(host: _Host, spec: Mapping[str, Any]) -> Banner:
    title = str(spec.get("title", "Welcome to nginx!"))
    html = (
        f"<!DOCTYPE html>\n<html>\n<head>\n<title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n"
        "<p>If you see this page, the web server is successfully installed and working.</p>\n</body>\n</html>\n"
    )
    banner = _skeleton(host)
    banner["data"] = _raw_headers(
        "HTTP/1.1 200 OK",
        [
            ("Server", "nginx"),
            ("Date", _http_date(host.timestamp)),
            ("Content-Type", "text/html"),
            ("Content-Length", str(len(html.encode()))),
            ("Connection", "keep-alive"),
        ],
    )
    banner["http"] = _http_block(host, title=title, html=html, server="nginx", location="/", redirects=[])
    banner["hash"] = _signed32(banner["data"])
    return banner


def make_population(spec: Iterable[Mapping[str, Any]]) -> list[Banner]:
    """Banners from a compact spec: one dict per group, banners in spec order.

    Keys of a group:
      ``country``       ISO code, or None for banners Shodan could not place (required)
      ``count``         hosts in the group (default 1)
      ``build``         Exchange build as the server reports it, 3 or 4 parts (required unless non_exchange)
      ``signal``        where the build shows: "path" (default: /owa/auth/x.y.z/ in http.html, the full
                        build for 2007/2010), "header" (X-OWA-Version in the final response ``data``),
                        "both", "redirect" (X-OWA-Version only on the /owa/ 302 hop in http.redirects),
                        "none" (OWA logon page, version stripped everywhere), or a list of these
      ``header_name``   default "X-OWA-Version" (use "x-owa-version" for the lower-case spelling)
      ``header_value``  default the build (e.g. "15.02.2562.037" for a rewritten, zero-padded one)
      ``path_build``    build whose 3 parts go into the page paths (default the build)
      ``title``         page title (default "Outlook" for 15.1+, "Outlook Web App" before)
      ``non_exchange``  True: an nginx welcome page instead of OWA
      ``port``/``ports`` default 443; several ports give one banner per port on the SAME IP (to
                        test de-duplication of services vs hosts)
      ``org``, ``asn``, ``hostname`` (a template with ``{n}``, the running host number), ``timestamp``
      ``ipv6``          True: addresses from 2001:db8:0:1::/64 (RFC 3849)
      ``ip``            an explicit address (only with count 1)
    Addresses are unique across the call and deterministic: the same spec gives the same banners, and
    two specs that share their leading groups give those groups the same addresses (a host seen in
    two snapshots).
    """
    v4, v6 = _ip_pool(), _v6_pool()
    used: set[str] = set()
    banners: list[Banner] = []
    n = 0
    for group in spec:
        unknown = set(group) - _SPEC_KEYS
        if unknown:
            raise ValueError(f"unknown spec keys {sorted(unknown)}")
        if "country" not in group:
            raise ValueError("every spec group needs 'country' (None for unattributed)")
        if not group.get("non_exchange") and "build" not in group:
            raise ValueError("an Exchange group needs 'build'")
        count = int(group.get("count", 1))
        if "ip" in group and count != 1:
            raise ValueError("'ip' needs count 1")
        ports = list(group.get("ports", [group.get("port", 443)]))
        country = group["country"].upper() if group["country"] else None
        for _ in range(count):
            n += 1
            ip = str(group["ip"]) if "ip" in group else next(v6 if group.get("ipv6") else v4)
            while ip in used and "ip" not in group:
                ip = next(v6 if group.get("ipv6") else v4)
            if ip in used:
                raise ValueError(f"address {ip} used twice")
            used.add(ip)
            default_name = "www{n}.example.net" if group.get("non_exchange") else "mail{n}.example.com"
            hostname = str(group.get("hostname", default_name)).format(n=n)
            for port in ports:
                host = _Host(
                    ip=ip,
                    port=int(port),
                    country=country,
                    org=str(group.get("org", f"Example Hosting {country or 'Unknown'}")),
                    asn=str(group.get("asn", "AS64500")),
                    hostname=hostname,
                    timestamp=str(group.get("timestamp", DEFAULT_TIMESTAMP)),
                )
                if group.get("non_exchange"):
                    banners.append(_other_banner(host, group))
                else:
                    banners.append(_exchange_banner(host, group, n))
    return banners


# --------------------------------------------------------------------------------------------------
# Query language and facets
# --------------------------------------------------------------------------------------------------


class QueryError(ValueError):
    """The query or facet string is outside what the fake (and so exchbot) is meant to send."""


@dataclass(frozen=True)
class Semantics:
    """How the fake reads what Shodan leaves undocumented. The defaults follow Shodan's documentation
    (terms ANDed, ``http.html`` matched by terms, bare terms searched in the main banner only);
    :data:`LEGACY` is the first fake's reading, kept so tests can cover both.

    ``html_match``        "terms": ``http.html:"a b"`` matches when the page's terms contain the phrase's
                          terms in order (a term is a run of letters, digits and ``_``, dotted runs such
                          as ``15.1.2507`` kept whole unless ``dotted`` is "split"); "substring": the
                          old case-insensitive substring
    ``dotted``            "whole" (``15.1.2507`` is one term: a prefix ``15.1`` never matches it) or
                          "split" (``15``, ``1``, ``2507``: a prefix phrase does match)
    ``repeated_filters``  "and" or "or": what two terms of the same filter name do
    ``bare_in_redirects`` bare words also search the redirect hops' raw headers (old fake)
    ``all_filters``       accept the filters real Shodan accepts (``http.favicon.hash``,
                          ``http.component``, ``product``, ``ssl``, ``vuln``, ...); False: reject them
    ``facet_cap``         at most this many buckets per facet, whatever size is asked (None: no cap)
    ``short_pages``       {page: n}: that page answers only its first n results (Shodan does this
                          mid-search); later pages start where they would have
    ``flat_fields``       with ``fields=a.b``: answer ``{"a.b": v}`` instead of ``{"a": {"b": v}}``
    """

    html_match: str = "terms"
    dotted: str = "whole"
    repeated_filters: str = "and"
    bare_in_redirects: bool = False
    all_filters: bool = True
    facet_cap: int | None = None
    short_pages: Mapping[int, int] = dataclasses.field(default_factory=dict)
    flat_fields: bool = False


LEGACY = Semantics(html_match="substring", bare_in_redirects=True, all_filters=False)
REALISTIC = Semantics()

Predicate = Callable[[Banner], bool]
_TOKEN = re.compile(r'\s*(-?)(?:([^\s":]+):)?(?:"([^"]*)"|([^\s"]*))')
_FILTER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")
_TERM_WHOLE = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*")
_TERM_SPLIT = re.compile(r"[a-z0-9_]+")


@functools.lru_cache(maxsize=4096)
def terms(text: str, dotted: str = "whole") -> tuple[str, ...]:
    rx = _TERM_SPLIT if dotted == "split" else _TERM_WHOLE
    return tuple(rx.findall(text.lower()))


def _phrase_in(phrase: tuple[str, ...], words: tuple[str, ...]) -> bool:
    n = len(phrase)
    if n == 0:
        return False
    first = phrase[0]
    return any(words[i] == first and words[i : i + n] == phrase for i in range(len(words) - n + 1))


def _lower(value: Any) -> str:
    return value.lower() if isinstance(value, str) else ""


def _int_list(value: str) -> set[int]:
    try:
        return {int(v) for v in value.split(",")}
    except ValueError:
        raise QueryError(f"not a number list: {value!r}") from None


def _text_match(value: str, sem: Semantics) -> Callable[[Any], bool]:
    if sem.html_match == "substring":
        low = value.lower()
        return lambda text: low in _lower(text)
    phrase = terms(value, sem.dotted)
    if not phrase:
        raise QueryError(f"no searchable term in {value!r}")
    return lambda text: isinstance(text, str) and _phrase_in(phrase, terms(text, sem.dotted))


def _filter_predicate(name: str, value: str, sem: Semantics = REALISTIC) -> Predicate:
    low = value.lower()
    if name == "http.html":
        match = _text_match(value, sem)
        return lambda b: match((b.get("http") or {}).get("html"))
    if name == "http.title":
        match = _text_match(value, sem)
        return lambda b: match((b.get("http") or {}).get("title"))
    if name == "http.status":
        codes = _int_list(value)
        return lambda b: (b.get("http") or {}).get("status") in codes
    if name == "country":
        codes_s = {v.strip().upper() for v in value.split(",")}
        return lambda b: ((b.get("location") or {}).get("country_code") or "").upper() in codes_s
    if name == "port":
        ports = _int_list(value)
        return lambda b: b.get("port") in ports
    if name == "org":
        return lambda b: low in _lower(b.get("org"))
    if name == "asn":
        asns = {v.strip().upper() for v in value.split(",")}
        return lambda b: _lower(b.get("asn")).upper() in asns
    if name == "hostname":
        return lambda b: any(h.lower() == low or h.lower().endswith("." + low) for h in b.get("hostnames") or [])
    if name == "net":
        try:
            net = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise QueryError(f"bad net {value!r}") from None
        return lambda b: ipaddress.ip_address(b["ip_str"]) in net
    if name == "http.favicon.hash":
        hashes = _int_list(value)
        return lambda b: ((b.get("http") or {}).get("favicon") or {}).get("hash") in hashes
    if name == "http.component":
        return lambda b: any(low == _lower(k) for k in ((b.get("http") or {}).get("components") or {}))
    if name == "product":
        return lambda b: low in _lower(b.get("product"))
    if name == "vuln":
        return lambda b: value.upper() in {str(k).upper() for k in (b.get("vulns") or {})}
    if name == "os":
        return lambda b: low in _lower(b.get("os"))
    if name in ("ssl", "ssl.cert.subject.cn"):
        return lambda b: low in json.dumps(b.get("ssl") or {}).lower()
    raise AssertionError(name)


_FILTERS = {"http.html", "http.title", "http.status", "country", "port", "org", "asn", "hostname", "net"}
_MORE_FILTERS = {"http.favicon.hash", "http.component", "product", "vuln", "os", "ssl", "ssl.cert.subject.cn"}


def _raw_texts(banner: Banner, redirects: bool = True) -> Iterator[str]:
    yield _lower(banner.get("data"))
    if redirects:
        for hop in (banner.get("http") or {}).get("redirects") or []:
            yield _lower(hop.get("data"))


def _text_predicate(text: str, sem: Semantics = LEGACY) -> Predicate:
    low = text.lower()
    return lambda b: any(low in raw for raw in _raw_texts(b, sem.bare_in_redirects))


def _negate(pred: Predicate) -> Predicate:
    return lambda b: not pred(b)


def _any_of(preds: Sequence[Predicate]) -> Predicate:
    return lambda b: any(p(b) for p in preds)


@dataclass(frozen=True)
class ParsedQuery:
    predicates: tuple[Predicate, ...]
    filtered: bool  # holds a real filter: Shodan charges a credit for such searches

    def match(self, banner: Banner) -> bool:
        return all(p(banner) for p in self.predicates)


def parse_query(query: str, sem: Semantics = LEGACY) -> ParsedQuery:
    """Compile the supported subset (see the module docstring); QueryError for anything else."""
    preds: list[Predicate] = []
    ored: dict[str, list[Predicate]] = {}
    filtered = False
    known = _FILTERS | (_MORE_FILTERS if sem.all_filters else set())
    pos = 0
    while pos < len(query):
        if query[pos:].strip() == "":
            break
        m = _TOKEN.match(query, pos)
        if m is None or m.end() == pos or (m.group(3) is None and not m.group(2) and not m.group(4)):
            raise QueryError(f"cannot read the query at {query[pos:]!r} (unbalanced quote?)")
        pos = m.end()
        neg, name, quoted, plain = m.group(1), m.group(2), m.group(3), m.group(4)
        value = quoted if quoted is not None else (plain or "")
        if name is None:
            if value == "":
                raise QueryError("empty phrase")
            pred = _text_predicate(value, sem)
        elif name.lower() in known:
            if value == "":
                raise QueryError(f"filter {name!r} without a value")
            pred = _filter_predicate(name.lower(), value, sem)
            filtered = True
            if not neg and sem.repeated_filters == "or":
                ored.setdefault(name.lower(), []).append(pred)
                continue
        elif value and _FILTER_NAME.fullmatch(name):
            raise QueryError(f"unsupported filter {name!r}")
        else:
            pred = _text_predicate(f"{name}:{value}", sem)  # e.g. "X-OWA-Version:" is plain text
        preds.append(_negate(pred) if neg else pred)
    preds.extend(_any_of(group) for group in ored.values())
    if not preds:
        raise QueryError("empty query")
    return ParsedQuery(tuple(preds), filtered)


def _facet_values(name: str, banner: Banner) -> list[Any]:
    http = banner.get("http") or {}
    raw: list[Any]
    if name == "country":
        raw = [(banner.get("location") or {}).get("country_code")]
    elif name == "port":
        raw = [banner.get("port")]
    elif name == "org":
        raw = [banner.get("org")]
    elif name == "asn":
        raw = [banner.get("asn")]
    elif name == "domain":
        raw = list(banner.get("domains") or [])
    elif name == "http.title":
        raw = [http.get("title")]
    elif name == "http.status":
        raw = [http.get("status")]
    elif name == "http.favicon.hash":
        raw = [(http.get("favicon") or {}).get("hash")]
    elif name == "http.component":
        raw = list(http.get("components") or {})
    else:
        raise AssertionError(name)
    return [v for v in raw if v is not None and v != ""]


FACETS = ("country", "port", "org", "asn", "domain", "http.title", "http.status", "http.favicon.hash", "http.component")


def parse_facets(facets: str) -> list[tuple[str, int]]:
    items = [f for f in facets.split(",")] if facets else []
    parsed: list[tuple[str, int]] = []
    split_trap = len(items) > 1 and all(len(f.strip()) == 1 for f in items)
    for item in items:
        name, _, size_s = item.strip().partition(":")
        if name not in FACETS:
            hint = f" {SPLIT_FACETS_HINT}" if split_trap else ""
            raise QueryError(f"Invalid facet: {name}{hint}")
        if size_s:
            try:
                size = int(size_s)
            except ValueError:
                raise QueryError(f"Invalid facet: {item}") from None
            if size < 1:
                raise QueryError(f"Invalid facet: {item}")
        else:
            size = DEFAULT_FACET_SIZE
        parsed.append((name, size))
    return parsed


def compute_facets(
    banners: Sequence[Banner], facets: Sequence[tuple[str, int]], cap: int | None = None
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for name, size in facets:
        counts: Counter[Any] = Counter()
        for banner in banners:
            counts.update(_facet_values(name, banner))
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        out[name] = [{"count": c, "value": v} for v, c in ranked[: size if cap is None else min(size, cap)]]
    return out


def _select_fields(banner: Banner, fields: Sequence[str], flat: bool = False) -> Banner:
    out: Banner = {}
    for path in fields:
        src: Any = banner
        parts = path.split(".")
        for part in parts:
            src = src.get(part) if isinstance(src, dict) else None
        if flat:
            out[path] = src
            continue
        dst = out
        for part in parts[:-1]:
            dst = dst.setdefault(part, {})
        dst[parts[-1]] = src
    return out


# --------------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------------

_HANG = object()  # sentinel response: hold the request, never answer


@dataclass
class _Reply:
    status: int
    body: str
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def _json(status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()) -> _Reply:
    return _Reply(status, json.dumps(payload), "application/json", headers)


def _html(status: int, body: str) -> _Reply:
    return _Reply(status, body, "text/html")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: a hung one never blocks the next

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    def _not_allowed(self) -> None:
        self.server.fake._send(self, _json(405, {"error": "Method not allowed by the fake"}))

    do_POST = do_PUT = do_DELETE = _not_allowed


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung handler must never keep the process (or server_close) waiting
    fake: FakeShodan


class FakeShodan:
    """The fake API server. Start with ``with FakeShodan(...) as fake`` or ``start()`` / ``stop()``.

    ``url`` base URL for SHODAN_API_URL; ``calls`` copies of every request ({path, params (key kept),
    key, time, status (None while a "hang" request is unanswered), cost, error}); ``clear_calls()``;
    ``credits_spent`` {key: credits}; ``credits_left(key)``; ``set_credits(key, remaining)``;
    ``set_population(banners)`` atomic swap between snapshots; ``population``. ``stop()`` returns at
    once even with hung requests (they are released and their sockets closed).
    """

    def __init__(
        self,
        population: Iterable[Banner] = (),
        *,
        query_credits: int = 100_000,
        scan_credits: int = 100,
        hang_max: float = 30.0,
        semantics: Semantics = REALISTIC,
    ) -> None:
        self.semantics = semantics  # may be swapped between requests (see :class:`Semantics`)
        self.default_credits = query_credits
        self.scan_credits = scan_credits
        self.hang_max = hang_max
        self._lock = threading.Lock()
        self._population: tuple[Banner, ...] = tuple(copy.deepcopy(list(population)))
        self._calls: list[dict[str, Any]] = []
        self._requests_per_key: Counter[str] = Counter()
        self._spent: Counter[str] = Counter()
        self._initial: dict[str, int] = {}
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle
    def start(self) -> FakeShodan:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-shodan", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases hung handlers at once
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeShodan:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- test-facing state
    @property
    def url(self) -> str:
        """Base URL for SHODAN_API_URL / client.base_url (no trailing slash: the client appends paths)."""
        assert self._server is not None, "start the fake first"
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    @property
    def calls(self) -> list[dict[str, Any]]:
        """Copies of every request so far: path, params (key included), key, time, status, cost, error."""
        with self._lock:
            return [dict(c) for c in self._calls]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    @property
    def credits_spent(self) -> dict[str, int]:
        with self._lock:
            return dict(self._spent)

    def credits_left(self, key: str) -> int:
        with self._lock:
            return self._left(key)

    def set_credits(self, key: str, remaining: int) -> None:
        """Give KEY exactly REMAINING credits from now on (spending history is kept)."""
        with self._lock:
            self._initial[key] = remaining + self._spent[key]

    def set_population(self, banners: Iterable[Banner]) -> None:
        """Swap the whole population at once: each request sees either the old or the new one."""
        new = tuple(copy.deepcopy(list(banners)))
        with self._lock:
            self._population = new

    @property
    def population(self) -> tuple[Banner, ...]:
        return self._population

    # ---- internals (called with the lock held where noted)
    def _initial_credits(self, key: str) -> int:
        if key not in self._initial:
            m = re.fullmatch(r"credits-(\d+)", key)
            if key in ("no-credits", "free-key"):
                self._initial[key] = 0
            elif m:
                self._initial[key] = int(m.group(1))
            else:
                self._initial[key] = self.default_credits
        return self._initial[key]

    def _left(self, key: str) -> int:  # lock held
        return max(0, self._initial_credits(key) - self._spent[key])

    def _try_spend(self, key: str, cost: int) -> bool:
        with self._lock:
            if cost > self._left(key):
                return False
            self._spent[key] += cost
            return True

    def _handle(self, req: _Handler) -> None:
        parts = urlsplit(req.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        key = params.get("key", "")
        call: dict[str, Any] = {
            "path": parts.path,
            "params": params,
            "key": key,
            "time": time.time(),
            "status": None,
            "cost": 0,
            "error": None,
        }
        with self._lock:
            self._calls.append(call)
            self._requests_per_key[key] += 1
            nth = self._requests_per_key[key]
            population = self._population
        reply = self._dispatch(parts.path, params, key, nth, population, call)
        if reply is _HANG:
            self._stopping.wait(self.hang_max)
            req.close_connection = True
            return  # closing without a status line: the client sees a dropped connection
        assert isinstance(reply, _Reply)
        with self._lock:
            call["status"] = reply.status
        self._send(req, reply)

    def _send(self, req: _Handler, reply: _Reply) -> None:
        body = reply.body.encode()
        try:
            req.send_response(reply.status)
            req.send_header("Content-Type", f"{reply.content_type}; charset=utf-8")
            req.send_header("Content-Length", str(len(body)))
            for name, value in reply.headers:
                req.send_header(name, value)
            req.end_headers()
            req.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout); nothing to do

    def _dispatch(
        self,
        path: str,
        params: dict[str, str],
        key: str,
        nth: int,
        population: tuple[Banner, ...],
        call: dict[str, Any],
    ) -> _Reply | object:
        if key in ("", "bad-key"):
            return _html(401, NGINX_401_HTML)
        if key == "hang":
            return _HANG
        if key == "server-error":
            return _html(500, HTML_500)
        if key == "bad-gateway":
            return _html(502, NGINX_502_HTML)
        m = re.fullmatch(r"fail-after-(\d+)", key)
        if m and nth > int(m.group(1)):
            return _html(500, HTML_500)
        if key == "rate-limit" and nth % 2 == 0:
            return _json(429, {"error": ERR_RATE_LIMIT}, (("Retry-After", "0"),))

        if path == "/api-info":
            return self._api_info(key)
        if path in ("/shodan/host/count", "/shodan/host/search"):
            if key == "timeout-query":
                return _json(200, {"error": ERR_TIMEOUT_QUERY})
            if path.endswith("search") and key == "free-key":
                return _html(403, NGINX_403_HTML)
            try:
                return self._count_or_search(path.endswith("search"), params, key, population, call)
            except QueryError as exc:
                call["error"] = str(exc)
                msg = str(exc) if str(exc).startswith("Invalid facet") else ERR_INVALID_QUERY
                return _json(400, {"error": msg})
        return _json(404, {"error": f"The fake Shodan API has no endpoint {path}"})

    def _api_info(self, key: str) -> _Reply:
        with self._lock:
            left = self._left(key)
            limit = self._initial_credits(key)
        return _json(
            200,
            {
                "query_credits": left,
                "scan_credits": 0 if key == "free-key" else self.scan_credits,
                "plan": "oss" if key == "free-key" else "dev",
                "usage_limits": {"query_credits": limit, "scan_credits": self.scan_credits, "monitored_ips": 16},
                "unlocked": key != "free-key",
                "unlocked_left": left,
                "https": key != "free-key",
                "telnet": False,
            },
        )

    def _count_or_search(
        self, search: bool, params: dict[str, str], key: str, population: tuple[Banner, ...], call: dict[str, Any]
    ) -> _Reply:
        sem = self.semantics
        query = parse_query(params.get("query", ""), sem)
        facets = parse_facets(params.get("facets", ""))
        hits = [b for b in population if query.match(b)]
        payload: dict[str, Any] = {
            "matches": [],
            "total": len(hits),
            "facets": compute_facets(hits, facets, sem.facet_cap),
        }
        if not search:
            return _json(200, payload)

        try:
            if "limit" in params:
                limit, offset = int(params["limit"]), int(params.get("offset", "0") or 0)
                page_start, page_len = offset, limit
                cost = max(1, math.ceil(limit / PAGE_SIZE)) if (query.filtered or offset >= PAGE_SIZE) else 0
            else:
                page = int(params.get("page", "1") or 1)
                page_start, page_len = (page - 1) * PAGE_SIZE, min(PAGE_SIZE, sem.short_pages.get(page, PAGE_SIZE))
                cost = 1 if (query.filtered or page > 1) else 0
        except ValueError:
            raise QueryError("page, limit and offset must be numbers") from None
        if page_start < 0 or page_len < 1:
            raise QueryError("page, limit and offset out of range")
        if not self._try_spend(key, cost):
            call["error"] = "insufficient credits"
            return _json(401, {"error": ERR_NO_CREDITS})
        with self._lock:
            call["cost"] = cost
        chosen = hits[page_start : page_start + page_len]
        if params.get("fields"):
            fields = [f for f in params["fields"].split(",") if f]
            payload["matches"] = [_select_fields(b, fields, sem.flat_fields) for b in chosen]
        elif params.get("minify", "True").lower() == "true":
            payload["matches"] = [{k: v for k, v in b.items() if k != "opts"} for b in chosen]
        else:
            payload["matches"] = list(chosen)
        return _json(200, payload)
