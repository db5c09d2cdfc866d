"""What each simulated server answers, per path, plus the ground truth a prober should reach.

Every profile is built from the real responses copied into tests/data/samples/ (named in its
``source``); whatever no sample shows in full (Exchange 2007/2010 logon pages, the whole export-tool
manifest, pre-auth pages) is synthesised from the excerpts and says ``synthetic``.

Templates: header values and bodies may contain these tokens, filled per request by the server:

* ``{{host}}``      the Host header as sent (with port), e.g. ``mail.e2016.test:4443``
* ``{{hostname}}``  the same without port
* ``{{host_enc}}``  ``{{host}}`` percent-encoded the way IIS writes it (lower-case ``%3a``)
* ``{{path}}``      the request path with query
* ``{{date}}``, ``{{uuid}}``, ``{{length}}`` (the body length; put where IIS puts Content-Length)

Ground truth fields of :class:`Profile`:

* ``true_build``       the build the (imagined) server really runs, or None when unknown/not a server.
* ``expect_build``     what a correct prober reports: the 4-part build when any path shows one, a
                       3-part build when only the logon resource path shows it, else None.
* ``expect_exchange``  True / False; None = the non-intrusive paths cannot settle it (honeypot,
                       Exchange 2003 behind 440s, hostile servers): do not assert it.
* ``expect_warning``   a substring that must appear in the prober's warnings, or None. Used:
                       "disagree" (signals contradict: spoofed header, mixed pool; judge on the
                       lowest build), "honeypot", "pre-auth" (KEMP/TMG/CRYPTOCard front ends),
                       and for the crafted cases "incomplete response", "headers larger than",
                       "not a build number", "redirects", "65536-byte read limit".
* ``signals``          (path, needle) pairs the self-tests check: what each path discloses.

Hostile profiles (``hostile=True``) expect nothing but survival: no build, no crash, bounded time;
``xml_bomb`` / ``xml_xxe`` are ordinary servers otherwise and still expect the logon 3-part build.
The crafted cases (look-alike names, hidden headers, padded values, partial answers, manifests;
see "a verdict the server cannot talk down" below) carry an ``expect_build`` whose exact verdict
tests/test_verdict_trust.py asserts.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, replace
from typing import Literal

# ---------------------------------------------------------------------------------------------
# data model

ReplyKind = Literal[
    "normal", "hang", "drip", "huge", "garbage", "huge_headers", "drip_chunked", "short_body", "stall_head"
]
Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Reply:
    """One canned answer. ``kind`` other than "normal" switches to a hostile behaviour."""

    status: int
    reason: str
    headers: Headers = ()
    body: bytes = b""
    kind: ReplyKind = "normal"
    size: int = 0  # declared body size for kind "huge" / "drip" / "short_body"
    # Hostile kinds that still answer: "drip_chunked" sends the head (with Transfer-Encoding:
    # chunked) and ``body`` as one chunk at once, then a one-byte chunk per second; "short_body"
    # declares Content-Length ``size``, sends ``body`` (shorter) and closes; "stall_head" sends the
    # status line and headers but never the blank line that ends them, then waits.


@dataclass(frozen=True)
class Backend:
    """One server: ordered (path pattern, reply) pairs, first match wins, else ``fallback``.

    Patterns are lower-case paths without query; a trailing ``*`` makes a prefix match.
    IIS treats paths case-insensitively, so matching does too.
    """

    routes: tuple[tuple[str, Reply], ...]
    fallback: Reply

    def reply_for(self, path: str) -> Reply:
        bare = path.split("?", 1)[0].split("#", 1)[0].lower()
        for pattern, reply in self.routes:
            if pattern.endswith("*"):
                if bare.startswith(pattern[:-1]):
                    return reply
            elif bare == pattern:
                return reply
        return self.fallback


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    backends: tuple[Backend, ...]  # more than one: load-balanced pool, round-robin per request
    true_build: str | None
    expect_build: str | None
    expect_exchange: bool | None
    expect_warning: str | None
    source: str
    hostile: bool = False
    tls: Literal["normal", "stall"] = "normal"  # "stall": never finish the TLS handshake
    # (path, needle): the needle appears in that path's "Name: value" header lines or body.
    signals: tuple[tuple[str, str], ...] = ()
    notes: str = ""


# paths the prober sends (lower-case; IIS matching is case-insensitive)
ROOT = "/"
OWA = "/owa/"
LOGON = "/owa/auth/logon.aspx"
EXPORT = "/ecp/current/exporttool/microsoft.exchange.ediscovery.exporttool.application"
EXPORT_REQUEST_PATH = "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application"
AUTOD = "/autodiscover/autodiscover.xml"
EWS = "/ews/exchange.asmx"
EAS = "/microsoft-server-activesync"
PROBE_PATHS = (
    "/owa/",
    "/owa/auth/logon.aspx",
    EXPORT_REQUEST_PATH,
    "/autodiscover/autodiscover.xml",
    "/EWS/Exchange.asmx",
    "/Microsoft-Server-ActiveSync",
    "/",
)

OWA_LOCATION = "https://{{host}}/owa/auth/logon.aspx?url=https%3a%2f%2f{{host_enc}}%2fowa%2f&reason=0"
DATE = ("Date", "{{date}}")
LENGTH = ("Content-Length", "{{length}}")
REQUEST_ID = ("request-id", "{{uuid}}")
HTML = ("Content-Type", "text/html; charset=utf-8")

# ---------------------------------------------------------------------------------------------
# bodies


def _filler_script(lines: int) -> str:
    """Deterministic stand-in for the ~1200 lines of inline script of a real logon page."""
    out = []
    for i in range(lines):
        digest = hashlib.sha1(str(i).encode()).hexdigest()[:12]
        out.append(f'\tfunction _l{i}(a, b) {{ var s = "{digest}"; return a ? s + b : b; }}')
    return "\n".join(out)


_SCRIPT_FILLER = _filler_script(260)  # brings the 2013+ page near the real ~28 KB


# Long lines of the pages and the manifest: one line in the output, several in this source.
_MS_SUBJECT = "CN=Microsoft Corporation, O=Microsoft Corporation, L=Redmond, S=Washington, C=US"
_NOSCRIPT_TD = (  # verbatim from the 2016 CU9 sample (source line 1328)
    '\t\t\t<td style="width:100%">To use Outlook, browser settings must allow scripts to run. '
    "For information about how to allow scripts, consult the Help for your browser. "
    "If your browser doesn&#39;t support scripts, you can download "
    '<a href="http://www.microsoft.com/windows/ie/downloads/default.mspx">Windows Internet Explorer</a> '
    "for access to Outlook.</td>"
)
_FORM_TAG = (  # verbatim from the 2016 CU9 sample (source line 1334)
    '<form action="/owa/auth.owa" method="POST" name="logonForm" '
    'ENCTYPE="application/x-www-form-urlencoded" autocomplete="off">'
)
_PASSWORD_DIV = (
    '<div><input id="password" onfocus="g_fFcs=0" name="password" class="signInInputText" '
    'type="password" aria-labelledby="passwordLabel"></div>'
)
_ASSEMBLY_OPEN = (
    '<asmv1:assembly xsi:schemaLocation="urn:schemas-microsoft-com:asm.v1 assembly.adaptive.xsd" '
    'manifestVersion="1.0" xmlns:asmv1="urn:schemas-microsoft-com:asm.v1" '
    'xmlns="urn:schemas-microsoft-com:asm.v2" xmlns:asmv2="urn:schemas-microsoft-com:asm.v2" '
    'xmlns:xrml="urn:mpeg:mpeg21:2003:01-REL-R-NS" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:asmv3="urn:schemas-microsoft-com:asm.v3" xmlns:dsig="http://www.w3.org/2000/09/xmldsig#" '
    'xmlns:co.v1="urn:schemas-microsoft-com:clickonce.v1" xmlns:co.v2="urn:schemas-microsoft-com:clickonce.v2">'
)
_DESCRIPTION = (
    '  <description asmv2:publisher="Microsoft Corporation" co.v1:suiteName="Microsoft Exchange" '
    'asmv2:product="Microsoft Exchange eDiscovery Export Tool" xmlns="urn:schemas-microsoft-com:asm.v1" />'
)
_X509_SUBJECT = f"              <as:X509SubjectName>{_MS_SUBJECT}</as:X509SubjectName>"


def logon_page_2013plus(
    ver3: str | None,
    *,
    title: str,
    font: str = "wf_segoe-ui",
    destination: str | None = None,
) -> bytes:
    """OWA 2013/2016/2019/SE logon page.

    Head verbatim in structure from the 2016 CU9 / 2019 samples (2013 uses the "Segoe UI WPC"
    font names); body after ``</style>`` synthetic around the excerpted script, noscript and form.
    ``ver3`` None = resource paths with the version folder stripped by a rewrite rule.
    """
    base = f"/owa/auth/{ver3}" if ver3 else "/owa/auth"
    res = f"{base}/themes/resources"
    dest = destination or "https://{{host}}/owa/"
    if font == "wf_segoe-ui":
        faces = [
            ("wf_segoe-ui_normal", "regular"),
            ("wf_segoe-ui_semilight", "semilight"),
            ("wf_segoe-ui_semibold", "semibold"),
        ]
    else:
        faces = [
            ("Segoe UI WPC", "regular"),
            ("Segoe UI WPC Semilight", "semilight"),
            ("Segoe UI WPC Semibold", "semibold"),
        ]
    font_css = "\n\n".join(  # continuation indent differs between faces in the real page
        f'@font-face {{\n    font-family: "{fam}";\n'
        f'    src: url("{res}/segoeui-{kind}.eot?#iefix") format("embedded-opentype"),\n'
        f'{" " * (12 if i == 0 else 8)}url("{res}/segoeui-{kind}.ttf") format("truetype");\n}}'
        for i, (fam, kind) in enumerate(faces)
    )
    page = f"""<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<!-- Copyright (c) 2011 Microsoft Corporation.  All rights reserved. -->
<!-- OwaPage = ASP.auth_logon_aspx -->

<!-- {{57A118C6-2DA9-419d-BE9A-F92B0F9A418B}} -->
<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.0 Transitional//EN">\x20
<html>
<head>
<meta http-equiv="X-UA-Compatible" content="IE=10" />
<link rel="shortcut icon" href="{res}/favicon.ico" type="image/x-icon">
<meta http-equiv="Content-Type" content="text/html; CHARSET=utf-8">
<meta name="Robots" content="NOINDEX, NOFOLLOW">
<title>{title}</title>
<style>
{font_css}
</style>
<link type="text/css" rel="stylesheet" href="{res}/logon.css">
<link type="text/css" rel="stylesheet" href="{res}/owafont_en.css">
<script type="text/javascript" src="{base}/scripts/flogon.js"></script>
<script type="text/javascript">
	<!--
	var a_fRC = 1;
	var g_fFcs = 1;
	var a_fLOff = 0;
	var a_fCAC = 0;
	var a_fEnbSMm = 0;
{_SCRIPT_FILLER}
	-->
</script>
</head>
<body class="signInBg" style="display: none" onload="javascript:checkCookies();setFocus();" dir="ltr">
<noscript>
	<div id="dvErr">
		<table cellpadding="0" cellspacing="0">
		<tr>
			<td><img src="{res}/warn.png" alt=""></td>
{_NOSCRIPT_TD}
		</tr>
		</table>
	</div>
</noscript>
{_FORM_TAG}
<input type="hidden" name="destination" value="{dest}">
<input type="hidden" name="flags" value="4">
<input type="hidden" name="forcedownlevel" value="0">
<div id="signInLogo"><img src="{res}/olk_logo_white_cropped.png" alt="{title}"></div>
<div class="signInInputLabel" id="userNameLabel" aria-hidden="true">Domain\\user name:</div>
<div><input id="username" name="username" class="signInInputText" role="textbox" aria-labelledby="userNameLabel"></div>
<div class="signInInputLabel" id="passwordLabel" aria-hidden="true">Password:</div>
{_PASSWORD_DIV}
<div onclick="clkLgn()" class="signinbutton" role="button" tabIndex="0">
<img class="imgLnk" src="{res}/Sign_in_arrow.png" alt=""><span class="signinTxt">sign in</span></div>
<input name="isUtf8" value="1" type="hidden"/>
</form>
</body>
</html>
"""
    return page.encode("utf-8")


def logon_page_2010(ver4: str) -> bytes:
    """Exchange 2010 logon page (synthetic: 4-part /owa/<build>/themes/ paths per the Greenbone comments)."""
    res = f"/owa/{ver4}/themes/resources"
    return f"""<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<!-- Copyright (c) 2006 Microsoft Corporation.  All rights reserved. -->
<!-- OwaPage = ASP.auth_logon_aspx -->
<html>
<head>
<meta http-equiv="X-UA-Compatible" content="IE=EmulateIE7">
<link rel="shortcut icon" href="{res}/favicon.ico" type="image/x-icon">
<meta http-equiv="Content-Type" content="text/html; CHARSET=utf-8">
<meta name="Robots" content="NOINDEX, NOFOLLOW">
<title>Outlook Web App</title>
<link type="text/css" rel="stylesheet" href="{res}/logon.css">
<link type="text/css" rel="stylesheet" href="{res}/owafont_en.css">
<script type="text/javascript" src="/owa/{ver4}/scripts/premium/flogon.js"></script>
</head>
<body class="owaLgnBdy" onload="javascript:rcrFcs();" dir="ltr">
<form action="/owa/auth.owa" method="POST" name="logonForm" autocomplete="off">
<input type="hidden" name="destination" value="https://{{{{host}}}}/owa/">
<input type="hidden" name="flags" value="0">
<input type="hidden" name="forcedownlevel" value="0">
<table id="tblMain" cellspacing="0" cellpadding="0"><tr><td><img src="{res}/lgntopl.gif" alt=""></td></tr>
<tr><td><label for="username">Domain\\user name:</label> <input id="username" name="username" type="text"></td></tr>
<tr><td><label for="password">Password:</label> <input id="password" name="password" type="password"></td></tr>
</table>
</form>
</body>
</html>
""".encode()


def logon_page_2007(ver4: str) -> bytes:
    """Exchange 2007 logon page (synthetic around the /owa/8.3.485.1/themes/base/logon.css line)."""
    return f"""<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<!-- Copyright (c) 2006 Microsoft Corporation.  All rights reserved. -->
<!-- OwaPage = ASP.auth_logon_aspx -->
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; CHARSET=utf-8">
<meta name="Robots" content="NOINDEX, NOFOLLOW">
<title>Microsoft Exchange - Outlook Web Access</title>
<link type="text/css" rel="stylesheet" href="/owa/{ver4}/themes/base/logon.css">
<link rel="shortcut icon" href="/owa/{ver4}/themes/base/favicon.ico" type="image/x-icon">
<script type="text/javascript" src="/owa/{ver4}/scripts/premium/flogon.js"></script>
</head>
<body class="owaLgnBdy">
<form action="/owa/auth/owaauth.dll" method="POST" name="logonForm" autocomplete="off">
<input type="hidden" name="destination" value="https://{{{{host}}}}/owa/">
<input type="hidden" name="flags" value="0">
<table><tr><td><img src="/owa/{ver4}/themes/base/lgntopl.gif" alt=""></td></tr>
<tr><td>Domain\\user name: <input id="username" name="username" type="text"></td></tr>
<tr><td>Password: <input id="password" name="password" type="password"></td></tr></table>
</form>
</body>
</html>
""".encode()


def _pseudo_b64(seed: str, n: int) -> str:
    """Deterministic base64 text of n characters (stands in for digests and certificates)."""
    raw = b""
    counter = 0
    while len(raw) * 4 // 3 < n + 4:
        raw += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return base64.b64encode(raw).decode()[:n]


def exporttool_manifest(
    version: str, token: str = "b1d1a6c45aa418ce", *, dependency_version: str | None = None, padding: int = 0
) -> bytes:
    """The ClickOnce deployment manifest of the eDiscovery export tool (synthetic, ~16 KB).

    Structure after the HTB sample: three assemblyIdentity elements carry the build (the
    deployment identity, the dependent assembly with type="win32", and the ``as:`` copy inside
    the Authenticode licence); the rest is signature material, here pseudo-random base64.
    Hostile variants: ``dependency_version`` gives the dependent assembly another version than the
    deployment; ``padding`` bytes of XML comment before the identities make it over-size.
    """
    cert = "\n".join(_pseudo_b64(f"cert:{version}", 76 * 150)[i : i + 76] for i in range(0, 76 * 150, 76))
    app = (
        f'name="microsoft.exchange.ediscovery.exporttool.application" version="{version}" '
        f'publicKeyToken="{token}" language="neutral" processorArchitecture="msil"'
    )
    folder = version.replace(".", "_")
    dependent_open = (
        '    <dependentAssembly dependencyType="install" codebase="Application Files\\'
        f'microsoft.exchange.ediscovery.exporttool_{folder}\\microsoft.exchange.ediscovery.exporttool.exe.manifest"'
        ' size="24861">'
    )
    dependent_identity = (
        '      <assemblyIdentity name="microsoft.exchange.ediscovery.exporttool" '
        f'version="{dependency_version or version}" '
        f'publicKeyToken="{token}" language="neutral" processorArchitecture="msil" type="win32"/>'
    )
    publisher = (
        f'  <publisherIdentity name="{_MS_SUBJECT}" issuerKeyHash="{hashlib.sha1(token.encode()).hexdigest()}" />'
    )
    pad = f"<!-- {'x' * padding} -->\n" if padding else ""
    doc = f"""<?xml version="1.0" encoding="utf-8"?>
{pad}{_ASSEMBLY_OPEN}
  <assemblyIdentity xmlns="urn:schemas-microsoft-com:asm.v1" {app}/>
{_DESCRIPTION}
  <deployment install="false" trustURLParameters="true" mapFileExtensions="true" co.v1:createDesktopShortcut="false" />
  <compatibleFrameworks xmlns="urn:schemas-microsoft-com:clickonce.v2">
    <framework targetVersion="4.5" profile="Full" supportedRuntime="4.0.30319" />
  </compatibleFrameworks>
  <dependency>
{dependent_open}
{dependent_identity}
      <hash>
        <dsig:Transforms>
          <dsig:Transform Algorithm="urn:schemas-microsoft-com:HashTransforms.Identity" />
        </dsig:Transforms>
        <dsig:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha256" />
        <dsig:DigestValue>{_pseudo_b64(f"dep:{version}", 44)}</dsig:DigestValue>
      </hash>
    </dependentAssembly>
  </dependency>
{publisher}
  <Signature Id="StrongNameSignature" xmlns="http://www.w3.org/2000/09/xmldsig#">
    <SignedInfo>
      <CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#" />
      <SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha256" />
      <Reference URI="">
        <Transforms>
          <Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature" />
          <Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#" />
        </Transforms>
        <DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha256" />
        <DigestValue>{_pseudo_b64(f"ref:{version}", 44)}</DigestValue>
      </Reference>
    </SignedInfo>
    <SignatureValue>{_pseudo_b64(f"sig:{version}", 344)}</SignatureValue>
    <KeyInfo Id="StrongNameKeyInfo">
      <KeyValue>
        <RSAKeyValue>
          <Modulus>{_pseudo_b64(f"mod:{token}", 344)}</Modulus>
          <Exponent>AQAB</Exponent>
        </RSAKeyValue>
      </KeyValue>
      <msrel:RelData xmlns:msrel="http://schemas.microsoft.com/windows/rel/2005/reldata">
        <r:license xmlns:r="urn:mpeg:mpeg21:2003:01-REL-R-NS" xmlns:as="http://schemas.microsoft.com/windows/pki/2005/Authenticode">
          <r:grant>
            <as:ManifestInformation Hash="{hashlib.sha256(version.encode()).hexdigest()}" Description="" Url="">
              <as:assemblyIdentity xmlns="urn:schemas-microsoft-com:asm.v1" {app}/>
            </as:ManifestInformation>
            <as:SignedBy />
            <as:AuthenticodePublisher>
{_X509_SUBJECT}
            </as:AuthenticodePublisher>
          </r:grant>
          <r:issuer>
            <Signature Id="AuthenticodeSignature" xmlns="http://www.w3.org/2000/09/xmldsig#">
              <SignatureValue>{_pseudo_b64(f"asig:{version}", 344)}</SignatureValue>
              <KeyInfo>
                <X509Data>
                  <X509Certificate>
{cert}
                  </X509Certificate>
                </X509Data>
              </KeyInfo>
            </Signature>
          </r:issuer>
        </r:license>
      </msrel:RelData>
    </KeyInfo>
  </Signature>
</asmv1:assembly>
"""
    return doc.encode("utf-8")


def billion_laughs(depth: int = 9) -> bytes:
    """Nested-entity bomb; the version attribute itself is the bomb, so no parser gets a build."""
    ents = ['  <!ENTITY lol0 "lol">']
    for i in range(1, depth + 1):
        ents.append(f'  <!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">')
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE asmv1:assembly [\n' + "\n".join(ents) + "\n]>\n"
        '<asmv1:assembly manifestVersion="1.0" xmlns:asmv1="urn:schemas-microsoft-com:asm.v1">\n'
        '  <assemblyIdentity xmlns="urn:schemas-microsoft-com:asm.v1" '
        f'name="microsoft.exchange.ediscovery.exporttool.application" version="&lol{depth};" '
        'publicKeyToken="b1d1a6c45aa418ce" language="neutral" processorArchitecture="msil"/>\n'
        f"  <description>&lol{depth};</description>\n</asmv1:assembly>\n"
    ).encode()


def external_entity_xml() -> bytes:
    """XXE variant: an external entity to /etc/passwd; assemblyIdentity has no version at all."""
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n'
        b'<!DOCTYPE asmv1:assembly [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
        b'<asmv1:assembly manifestVersion="1.0" xmlns:asmv1="urn:schemas-microsoft-com:asm.v1">\n'
        b'  <assemblyIdentity xmlns="urn:schemas-microsoft-com:asm.v1" '
        b'name="microsoft.exchange.ediscovery.exporttool.application" publicKeyToken="b1d1a6c45aa418ce"/>\n'
        b"  <description>&xxe;</description>\n</asmv1:assembly>\n"
    )


IIS_404_BODY = b"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>
<title>404 - File or directory not found.</title>
</head>
<body>
<div id="header"><h1>Server Error</h1></div>
<div id="content">
 <div class="content-container"><fieldset>
  <h2>404 - File or directory not found.</h2>
  <h3>The resource you are looking for might have been removed, had its name changed,
  or is temporarily unavailable.</h3>
 </fieldset></div>
</div>
</body>
</html>
"""

IIS_START_BODY = b"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1" />
<title>IIS7</title>
</head>
<body>
<div id="container"><a href="http://go.microsoft.com/fwlink/?linkid=66138&amp;clcid=0x409">
<img src="welcome.png" alt="IIS7" width="571" height="411" /></a></div>
</body>
</html>
"""

# from owa-logon-302-to-errorFE-httpCode500.http (body verbatim, 152 bytes)
OBJECT_MOVED_ERRORFE = (
    b"<html><head><title>Object moved</title></head><body>\r\n"
    b'<h2>Object moved to <a href="/owa/auth/errorFE.aspx?httpCode=500">here</a>.</h2>\r\n'
    b"</body></html>\r\n"
)

ERRORFE_BODY = b"""<!DOCTYPE html>
<html>
<head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><title>Outlook</title></head>
<body><div id="errMsg">Something went wrong</div>
<div id="errorDetails">X-ClientId: 0E5F1F0B5C7B4E1C9E9C1F8A2D3B4C5D<br>
X-OWA-Error: System.Web.HttpException<br>Date: {{date}}</div>
</body></html>
"""

F5_ASM_BLOCK = (
    b"<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. "
    b"Please consult with your administrator.<br><br>Your support ID is: 13940537162843511523"
    b"<br><br><a href='javascript:history.back();'>[Go Back]</a></body></html>"
)

KEMP_ESP_PAGE = b"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>Outlook Web App Login</title>
<link rel="stylesheet" type="text/css" href="/lm_auth_proxy?LMimage=logon.css">
</head>
<body>
<noscript><div>To use LoadMaster ESP Login, javascript must be enabled in your browser.</div></noscript>
<form action="/lm_auth_proxy?LMLogon" method="post" name="logonForm" autocomplete="off">
<input type="hidden" name="curl" value="Z2FowaZ2F">
<input type="hidden" name="flags" value="0">
<input type="hidden" name="forcedownlevel" value="0">
<input type="hidden" name="formdir" value="3">
<label for="username">Domain\\user name:</label><input type="text" id="username" name="username">
<label for="password">Password:</label><input type="password" id="password" name="password">
<input type="submit" value="Sign in">
</form>
</body>
</html>
"""

TMG_FORM_PAGE = b"""<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; CHARSET=utf-8">
<meta name="Robots" content="NOINDEX, NOFOLLOW">
<title>Microsoft Forefront TMG</title>
<link type="text/css" rel="stylesheet" href="/CookieAuth.dll?GetPic?formdir=3&image=logon.css">
</head>
<body class="owaLgnBdy">
<FORM action="/CookieAuth.dll?Logon" method="POST" name="logonForm" autocomplete="off">
<input type="hidden" name="curl" value="Z2Fowa">
<input type="hidden" name="flags" value="0">
<input type="hidden" name="forcedownlevel" value="0">
<input type="hidden" name="formdir" value="3">
<input type="hidden" name="trusted" value="0">
Domain\\user name: <input id="username" name="username" type="text">
Password: <input id="password" name="password" type="password">
</FORM>
</body>
</html>
"""

CRYPTOCARD_PAGE = b"""<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; CHARSET=utf-8">
<title>CRYPTOCard Authentication Form - Outlook Web Access</title>
</head>
<body>
<!-- CRYPTOCard Microsoft Exchange Plugin -->
<form action="/owa/auth/owaauth.dll" method="POST" name="logonForm" autocomplete="off">
<input type="hidden" name="destination" value="https://{{host}}/owa/">
Username: <input id="username" name="username" type="text">
Passcode: <input id="password" name="password" type="password">
</form>
</body>
</html>
"""

EX2003_LOGON_PAGE = b"""<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.0 Transitional//EN">
<HTML><HEAD>
<META HTTP-EQUIV="Content-Type" CONTENT="text/html; CHARSET=utf-8">
<TITLE>Microsoft Outlook Web Access</TITLE>
<link rel="stylesheet" href="/exchweb/6.5.7638.1/controls/lgnbotl.css">
</HEAD>
<BODY scroll="AUTO" bgColor="#3d5fa3" text="#000000" leftMargin=0 topMargin=0>
<FORM action="/exchweb/bin/auth/owaauth.dll" method="POST" name="logonForm" autocomplete="off">
<INPUT type="hidden" name="destination" value="https://{{host}}/exchange">
<INPUT type="hidden" name="flags" value="0">
Domain\\user name: <INPUT id="username" name="username" type="text">
Password: <INPUT id="password" name="password" type="password">
</FORM>
</BODY></HTML>
"""

NGINX_HOME = b"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Example Widgets Ltd</title></head>
<body><h1>Example Widgets Ltd</h1><p>Quality widgets since 1999. <a href="/contact">Contact us</a>.</p></body>
</html>
"""

NGINX_404 = b"""<html>
<head><title>404 Not Found</title></head>
<body>
<center><h1>404 Not Found</h1></center>
<hr><center>nginx/1.24.0</center>
</body>
</html>
"""

# ---------------------------------------------------------------------------------------------
# reply builders


def _h(*pairs: tuple[str, str] | None) -> Headers:
    return tuple(p for p in pairs if p is not None)


def _opt(name: str, value: str | None) -> tuple[str, str] | None:
    return (name, value) if value is not None else None


@dataclass(frozen=True)
class OnPrem:
    """Knobs of one on-premises Exchange server; :func:`onprem` turns them into a Backend."""

    gen: Literal["2007", "2010", "2013", "2016"]  # "2016" also covers 2019 and SE (same pages)
    owa_version: str | None  # X-OWA-Version on GET /owa/ (None: absent)
    logon_ver: str | None  # version folder in logon resource paths (None: stripped)
    exporttool: str | None = None  # export-tool manifest version (None: 404)
    token: str = "b1d1a6c45aa418ce"
    fe: str | None = "EX01"  # X-FEServer
    be: str | None = "ex01.corp.example.test"  # X-CalculatedBETarget
    server: str = "Microsoft-IIS/10.0"
    version_401: tuple[str, ...] = (AUTOD, EWS, EAS)  # which 401s carry X-OWA-Version
    version_401_value: str | None = None  # default: owa_version
    title: str | None = None
    extra: Headers = ()  # appended to every response (e.g. F5 cookie)
    lower_names: bool = False  # header names in lower case (seen behind HTTP/2 front ends)
    ver_header: str = "X-OWA-Version"
    export_reply: Reply | None = None  # override the export-tool answer (F5 block page, XML bomb)
    logon_destination: str | None = None


def _finish(cfg: OnPrem, headers: Headers) -> Headers:
    # extra headers go before Date/Content-Length, where a proxy would have inserted them
    tail = [h for h in headers if h[0] in ("Date", "Content-Length")]
    head = [h for h in headers if h[0] not in ("Date", "Content-Length")]
    out = tuple(head) + cfg.extra + tuple(tail)
    if cfg.lower_names:
        out = tuple((k.lower(), v) for k, v in out)
    return out


def not_found(server: str = "Microsoft-IIS/10.0") -> Reply:
    return Reply(
        404,
        "Not Found",
        _h(("Content-Type", "text/html"), ("Server", server), ("X-Powered-By", "ASP.NET"), DATE, LENGTH),
        IIS_404_BODY,
    )


def onprem(cfg: OnPrem) -> Backend:
    modern = cfg.gen in ("2013", "2016")
    v401 = cfg.version_401_value if cfg.version_401_value is not None else cfg.owa_version

    if cfg.gen == "2010":
        location = "https://{{host}}/owa/auth/logon.aspx?replaceCurrent=1&url=https%3a%2f%2f{{host_enc}}%2fowa%2f"
    else:
        location = OWA_LOCATION
    owa = Reply(
        302,
        "Found",
        _finish(
            cfg,
            _h(
                ("Cache-Control", "no-cache"),
                ("Pragma", "no-cache"),
                ("Location", location),
                ("Server", cfg.server),
                REQUEST_ID if modern else None,
                _opt("X-CalculatedBETarget", cfg.be if modern else None),
                _opt(cfg.ver_header, cfg.owa_version),
                _opt("X-FEServer", cfg.fe if modern else None),
                ("X-Powered-By", "ASP.NET"),
                DATE,
                ("Content-Length", "0"),
            ),
        ),
    )

    if cfg.gen == "2007":
        assert cfg.logon_ver
        page = logon_page_2007(cfg.logon_ver)
    elif cfg.gen == "2010":
        assert cfg.logon_ver
        page = logon_page_2010(cfg.logon_ver)
    elif cfg.gen == "2013":
        page = logon_page_2013plus(
            cfg.logon_ver, title=cfg.title or "Outlook Web App", font="Segoe UI WPC", destination=cfg.logon_destination
        )
    else:
        page = logon_page_2013plus(cfg.logon_ver, title=cfg.title or "Outlook", destination=cfg.logon_destination)
    logon = Reply(
        200,
        "OK",
        _finish(
            cfg,
            _h(
                ("Cache-Control", "no-cache, no-store"),
                ("Pragma", "no-cache"),
                HTML,
                ("Expires", "-1"),
                ("Server", cfg.server),
                REQUEST_ID if modern else None,
                ("X-Frame-Options", "SAMEORIGIN"),
                ("X-AspNet-Version", "4.0.30319"),
                ("X-Powered-By", "ASP.NET"),
                DATE,
                LENGTH,
            ),
        ),
        page,
    )

    if cfg.export_reply is not None:
        export = cfg.export_reply
    elif cfg.exporttool and modern:
        export = Reply(
            200,
            "OK",
            _finish(
                cfg,
                _h(
                    ("Content-Type", "application/x-ms-application"),
                    ("Last-Modified", "Tue, 28 Sep 2021 10:31:12 GMT"),
                    ("Accept-Ranges", "bytes"),
                    ("ETag", '"80b1c3c151b4d71:0"'),
                    ("Server", cfg.server),
                    REQUEST_ID,
                    _opt("X-CalculatedBETarget", cfg.be),
                    _opt("X-FEServer", cfg.fe),
                    ("X-Powered-By", "ASP.NET"),
                    DATE,
                    LENGTH,
                ),
            ),
            exporttool_manifest(cfg.exporttool, cfg.token),
        )
    else:
        export = Reply(404, "Not Found", _finish(cfg, not_found(cfg.server).headers), IIS_404_BODY)

    def unauthorized(path: str) -> Reply:
        version = v401 if path in cfg.version_401 else None
        return Reply(
            401,
            "Unauthorized",
            _finish(
                cfg,
                _h(
                    ("Cache-Control", "private") if path == AUTOD else None,
                    ("Server", cfg.server),
                    REQUEST_ID if modern else None,
                    _opt("X-CalculatedBETarget", cfg.be if modern else None),
                    ("X-AspNet-Version", "4.0.30319") if path == AUTOD else None,
                    _opt(cfg.ver_header, version),
                    ("WWW-Authenticate", "Negotiate"),
                    ("WWW-Authenticate", "NTLM"),
                    ("X-Powered-By", "ASP.NET"),
                    _opt("X-FEServer", cfg.fe if modern else None),
                    ("WWW-Authenticate", 'Basic realm="{{hostname}}"'),
                    DATE,
                    ("Content-Length", "0"),
                ),
            ),
        )

    if modern:
        # HTTPS "/" answers 302 to /owa/ with X-FEServer and no version (Lookback sample)
        root = Reply(
            302,
            "Found",
            _finish(
                cfg,
                _h(
                    ("Cache-Control", "no-cache"),
                    ("Pragma", "no-cache"),
                    ("Location", "https://{{host}}/owa/"),
                    ("Server", cfg.server),
                    _opt("X-FEServer", cfg.fe),
                    ("X-RequestId", "{{uuid}}"),
                    DATE,
                    ("Content-Length", "0"),
                ),
            ),
        )
    else:
        root = Reply(
            200,
            "OK",
            _finish(
                cfg,
                _h(
                    ("Content-Type", "text/html"),
                    ("Last-Modified", "Mon, 12 Jan 2015 08:00:00 GMT"),
                    ("Accept-Ranges", "bytes"),
                    ("Server", cfg.server),
                    ("X-Powered-By", "ASP.NET"),
                    DATE,
                    LENGTH,
                ),
            ),
            IIS_START_BODY,
        )
    owa_noslash = Reply(
        301,
        "Moved Permanently",
        _finish(
            cfg,
            _h(
                ("Content-Type", "text/html; charset=UTF-8"),
                ("Location", "https://{{host}}/owa/"),
                ("Server", cfg.server),
                DATE,
                ("Content-Length", "0"),
            ),
        ),
    )
    routes: list[tuple[str, Reply]] = [
        (OWA, owa),
        ("/owa", owa_noslash),
        (LOGON, logon),
        (EXPORT, export),
        (AUTOD, unauthorized(AUTOD)),
        (EWS, unauthorized(EWS)),
        (EAS, unauthorized(EAS)),
        (ROOT, root),
    ]
    return Backend(tuple(routes), Reply(404, "Not Found", _finish(cfg, not_found(cfg.server).headers), IIS_404_BODY))


def same_everywhere(reply: Reply) -> Backend:
    return Backend((), reply)


# ---------------------------------------------------------------------------------------------
# the registry

PROFILES: dict[str, Profile] = {}


def _add(p: Profile) -> None:
    assert p.name not in PROFILES, p.name
    PROFILES[p.name] = p


S = "tests/data/samples/exchange/"

_add(
    Profile(
        "exchange2007_sp3_ru21",
        "Exchange 2007 SP3 RU21: 4-part build only in /owa/8.3.485.1/ paths, no X-OWA-Version",
        (onprem(OnPrem("2007", None, "8.3.485.1", server="Microsoft-IIS/7.0", fe=None, be=None)),),
        true_build="8.3.485.1",
        expect_build="8.3.485.1",
        expect_exchange=True,
        expect_warning=None,
        source=S + "owa-version-strings_2007-2010-2013-2016-2019_greenbone-comments.txt (path); page synthetic",
        signals=((LOGON, "/owa/8.3.485.1/themes/base/logon.css"), (LOGON, "OwaPage = ASP.auth_logon_aspx")),
    )
)
_add(
    Profile(
        "exchange2010_sp3_ru32",
        "Exchange 2010 SP3 RU32: X-OWA-Version 14.3.513.0 and /owa/14.3.513.0/ paths",
        (onprem(OnPrem("2010", "14.3.513.0", "14.3.513.0", server="Microsoft-IIS/7.5", version_401=())),),
        true_build="14.3.513.0",
        expect_build="14.3.513.0",
        expect_exchange=True,
        expect_warning=None,
        source=S + "owa-version-strings_2007-2010-2013-2016-2019_greenbone-comments.txt (header, path); page synthetic",
        signals=(
            (OWA, "X-OWA-Version: 14.3.513.0"),
            (LOGON, "/owa/14.3.513.0/themes/resources/favicon.ico"),
            (LOGON, "<title>Outlook Web App</title>"),
        ),
    )
)
_add(
    Profile(
        "exchange2013_cu23_nov21su",
        "Exchange 2013 CU23 Nov21SU: X-OWA-Version 15.0.1497.26, title Outlook Web App",
        (
            onprem(
                OnPrem(
                    "2013",
                    "15.0.1497.26",
                    "15.0.1497",
                    exporttool="15.0.1497.26",
                    server="Microsoft-IIS/8.5",
                    fe="EX2013",
                    be="ex2013.corp.example.test",
                )
            ),
        ),
        true_build="15.0.1497.26",
        expect_build="15.0.1497.26",
        expect_exchange=True,
        expect_warning=None,
        source=S + "x-owa-version-header-lines_2013-cu23-nov21su_2016-cu20-jul21su.txt; page after "
        "owa-logon-page_exchange2013-cu21_15.0.1395_head_issue107.txt",
        signals=(
            (OWA, "X-OWA-Version: 15.0.1497.26"),
            (LOGON, "<title>Outlook Web App</title>"),
            (LOGON, "/owa/auth/15.0.1497/themes/resources/favicon.ico"),
            (EXPORT, 'version="15.0.1497.26"'),
            (AUTOD, "X-OWA-Version: 15.0.1497.26"),
            (EWS, "X-OWA-Version: 15.0.1497.26"),
        ),
    )
)
_add(
    Profile(
        "exchange2013_cu21_pathonly",
        "Exchange 2013 CU21 that only shows its CU (path 15.0.1395) on the logon page",
        (onprem(OnPrem("2013", None, "15.0.1395", server="Microsoft-IIS/8.5", fe="EX2013A", be=None)),),
        true_build=None,
        expect_build="15.0.1395",
        expect_exchange=True,
        expect_warning=None,
        source=S + "owa-logon-page_exchange2013-cu21_15.0.1395_head_issue107.txt",
        signals=(
            (LOGON, "/owa/auth/15.0.1395/themes/resources/segoeui-regular.ttf"),
            (LOGON, "<title>Outlook Web App</title>"),
            (LOGON, 'font-family: "Segoe UI WPC"'),
        ),
        notes="true build unknown in the sample (any 15.0.1395.x)",
    )
)
_add(
    Profile(
        "exchange2016_cu22_nov21su",
        "Exchange 2016 CU22 Nov21SU behind a front end that lower-cases header names",
        (
            onprem(
                OnPrem(
                    "2016",
                    "15.1.2375.17",
                    "15.1.2375",
                    exporttool="15.1.2375.17",
                    fe="EX2016",
                    be="ex2016.corp.example.test",
                    lower_names=True,
                )
            ),
        ),
        true_build="15.1.2375.17",
        expect_build="15.1.2375.17",
        expect_exchange=True,
        expect_warning=None,
        source=S + "x-owa-version-header-lines_2013-cu23-nov21su_2016-cu20-jul21su.txt (lower-case name); "
        "owa-302-location-and-derived-version_exchangefinder-readme.txt (CU22 Nov21SU, Location); "
        "exporttool-manifest_grep-version_15.1.2375.7.txt",
        signals=(
            (OWA, "x-owa-version: 15.1.2375.17"),
            (LOGON, "/owa/auth/15.1.2375/"),
            (EXPORT, 'version="15.1.2375.17"'),
            (EWS, "x-owa-version: 15.1.2375.17"),
        ),
    )
)
_add(
    Profile(
        "exchange2016_cu9_pathonly",
        "Exchange 2016 CU9, no version header: only the logon path 15.1.1466",
        (onprem(OnPrem("2016", None, "15.1.1466", fe="EX2016B", be=None)),),
        true_build=None,
        expect_build="15.1.1466",
        expect_exchange=True,
        expect_warning=None,
        source=S + "owa-logon-page_exchange2016-cu9_15.1.1466_excerpt.html",
        signals=(
            (LOGON, "/owa/auth/15.1.1466/themes/resources/favicon.ico"),
            (LOGON, "<title>Outlook</title>"),
            (LOGON, "var a_fEnbSMm = 0;"),
        ),
    )
)
_add(
    Profile(
        "exchange2016_cu20_exporttool",
        "Exchange 2016 CU20: no X-OWA-Version; export tool says 15.1.2242.5",
        (
            onprem(
                OnPrem(
                    "2016",
                    None,
                    "15.1.2242",
                    exporttool="15.1.2242.5",
                    token="deffc2c208a0af39",
                    fe="INTERNAL-EXCHANGE",
                    be="internal-exchange.contoso.com",
                    version_401=(),
                )
            ),
        ),
        true_build="15.1.2242.4",
        expect_build="15.1.2242.5",
        expect_exchange=True,
        expect_warning=None,
        source=S + "exporttool-assemblyIdentity_15.1.2242.5_and-fe-headers.txt",
        signals=(
            (EXPORT, 'name="microsoft.exchange.ediscovery.exporttool" version="15.1.2242.5"'),
            (EXPORT, "X-CalculatedBETarget: internal-exchange.contoso.com"),
            (LOGON, "/owa/auth/15.1.2242/"),
        ),
        notes="15.1.2242.5 is a file version, never published; the nearest published build is 15.1.2242.4 (CU20)",
    )
)
_add(
    Profile(
        "exchange2019_cu9_fileversion",
        "Exchange 2019 CU9: X-OWA-Version is the OWA file version 15.2.858.2",
        (onprem(OnPrem("2016", "15.2.858.2", "15.2.858", fe="WIN-12OUO7A66M7", be="win-12ouo7a66m7.thm.local")),),
        true_build="15.2.858.5",
        expect_build="15.2.858.2",
        expect_exchange=True,
        expect_warning=None,
        source=S + "owa-error-diagnostics_x-owa-version-15.2.858.2_userhasnomailbox.txt; logon page "
        "tests/data/samples/shodan/owa_exchange2019_15.2.858_logon_response_excerpt.http",
        signals=(
            (OWA, "X-OWA-Version: 15.2.858.2"),
            (LOGON, "/owa/auth/15.2.858/"),
            (ROOT, "X-FEServer: WIN-12OUO7A66M7"),
        ),
        notes="the published CU9 build is 15.2.858.5; the prober reports what it saw",
    )
)
_add(
    Profile(
        "exchange2019_cu11_exporttool",
        "Exchange 2019 CU11 with the OWASP header list stripped; export tool 15.2.986.5",
        (onprem(OnPrem("2016", None, "15.2.986", exporttool="15.2.986.5", fe=None, be=None)),),
        true_build="15.2.986.5",
        expect_build="15.2.986.5",
        expect_exchange=True,
        expect_warning=None,
        source=S + "exporttool-assemblyIdentity_15.2.986.5_metasploit-comment.txt; "
        "header-disclosure-removal-list_exchange.txt",
        signals=((EXPORT, 'version="15.2.986.5"'), (LOGON, "/owa/auth/15.2.986/")),
    )
)
_TS01 = (("Set-Cookie", "TS01a32329=014c63c9bb8e44d8d23faf280300687b2f9a4f6aad2aa85b15a4fe95ab95203d1098; Path=/"),)
_add(
    Profile(
        "exchange2019_cu14_f5",
        "Exchange 2019 CU14 Apr24HU behind an F5: only EWS and ActiveSync 401s carry the build",
        (
            onprem(
                OnPrem(
                    "2016",
                    None,
                    "15.2.1544",
                    fe="DUMMY01",
                    be=None,
                    version_401=(EWS, EAS),
                    version_401_value="15.2.1544.11",
                    extra=_TS01,
                    export_reply=Reply(
                        200,
                        "OK",
                        _h(
                            ("Content-Type", "text/html; charset=utf-8"),
                            ("Cache-Control", "no-cache"),
                            ("Pragma", "no-cache"),
                            ("Connection", "close"),
                            _TS01[0],
                            LENGTH,
                        ),
                        F5_ASM_BLOCK,
                    ),
                )
            ),
        ),
        true_build="15.2.1544.11",
        expect_build="15.2.1544.11",
        expect_exchange=True,
        expect_warning=None,
        source=S + "activesync-401-empty-bearer_x-owa-version-15.2.1544.11_f5-ts-cookie.txt",
        signals=(
            (EAS, "X-OWA-Version: 15.2.1544.11"),
            (EWS, "X-OWA-Version: 15.2.1544.11"),
            (OWA, "TS01a32329="),
            (EXPORT, "The requested URL was rejected"),
            (LOGON, "/owa/auth/15.2.1544/"),
        ),
        notes="the export tool is blocked by the F5 ASM (200 block page, not XML)",
    )
)
_add(
    Profile(
        "exchange2019_cu15_spoofed",
        "Exchange 2019 CU15 Aug25SU whose X-OWA-Version is rewritten to 15.02.2562.037",
        (
            onprem(
                OnPrem(
                    "2016",
                    "15.02.2562.037",
                    "15.2.1748",
                    exporttool="15.2.1748.36",
                    fe="MAIL.CA-IBM.ORG",
                    be=None,
                    ver_header="x-owa-version",
                )
            ),
        ),
        true_build="15.2.1748.36",
        expect_build="15.2.1748.36",
        expect_exchange=True,
        expect_warning="disagree",
        source=S + "x-owa-version-spoofed-by-iis-url-rewrite_15.02.2562.037.txt",
        signals=(
            (OWA, "x-owa-version: 15.02.2562.037"),
            (LOGON, "/owa/auth/15.2.1748/"),
            (EXPORT, 'version="15.2.1748.36"'),
            (AUTOD, "x-owa-version: 15.02.2562.037"),
        ),
        notes=(
            "the sample's companion page also strips the path; here the path is kept so the body contradicts the header"
        ),
    )
)
_add(
    Profile(
        "exchange_se_current",
        "Exchange SE RTM Sep26SUv2 (15.2.2562.53) on every signal",
        (
            onprem(
                OnPrem(
                    "2016",
                    "15.2.2562.53",
                    "15.2.2562",
                    exporttool="15.2.2562.53",
                    fe="EXSE01",
                    be="exse01.corp.example.test",
                )
            ),
        ),
        true_build="15.2.2562.53",
        expect_build="15.2.2562.53",
        expect_exchange=True,
        expect_warning=None,
        source="synthetic (structure of the 2019 samples)",
        signals=(
            (OWA, "X-OWA-Version: 15.2.2562.53"),
            (LOGON, "/owa/auth/15.2.2562/"),
            (EXPORT, 'version="15.2.2562.53"'),
            (AUTOD, "X-OWA-Version: 15.2.2562.53"),
            (EAS, "X-OWA-Version: 15.2.2562.53"),
        ),
    )
)
_add(
    Profile(
        "exchange_pool_mixed",
        "Load-balanced pool: requests alternate between 15.2.1748.36 and 15.2.1544.33",
        (
            onprem(
                OnPrem(
                    "2016",
                    "15.2.1748.36",
                    "15.2.1748",
                    exporttool="15.2.1748.36",
                    fe="EXPOOL01",
                    be="expool01.corp.example.test",
                )
            ),
            onprem(
                OnPrem(
                    "2016",
                    "15.2.1544.33",
                    "15.2.1544",
                    exporttool="15.2.1544.33",
                    fe="EXPOOL02",
                    be="expool02.corp.example.test",
                )
            ),
        ),
        true_build="15.2.1544.33",
        expect_build="15.2.1544.33",
        expect_exchange=True,
        expect_warning="disagree",
        source="synthetic (structure of the 2019 samples)",
        notes="round-robin over all requests to this profile, first request served by 15.2.1748.36; "
        "true_build is the weakest member",
    )
)
_add(
    Profile(
        "honeypot_owa",
        "joda32 OWA honeypot: 2016 CU9 page on every path, Server: Microsoft-IIS/7.5",
        (
            same_everywhere(
                Reply(
                    200,
                    "OK",
                    _h(
                        ("Content-Type", "text/html; charset=utf-8"),
                        ("Server", "Microsoft-IIS/7.5"),
                        ("X-Powered-By", "ASP.NET"),
                        DATE,
                        LENGTH,
                    ),
                    logon_page_2013plus("15.1.1466", title="Outlook", destination="https://webmail.example.org/owa/"),
                )
            ),
        ),
        true_build=None,
        expect_build="15.1.1466",
        expect_exchange=None,
        expect_warning="honeypot",
        source=S + "owa-logon-page_exchange2016-cu9_15.1.1466_excerpt.html (honeypot template)",
        signals=(
            (OWA, "Server: Microsoft-IIS/7.5"),
            (EXPORT, "/owa/auth/15.1.1466/"),
            (EWS, "OwaPage = ASP.auth_logon_aspx"),
        ),
        notes="IIS 7.5 cannot host Exchange 2016; 200 on EWS/ActiveSync without auth and HTML as the export tool",
    )
)
_EXO_HEADERS = _h(
    ("Server", "Microsoft-IIS/10.0"),
    REQUEST_ID,
    ("X-CalculatedFETarget", "GV3P280CU004.internal.outlook.com"),
    ("X-BackEndHttpStatus", "401"),
    ("X-CalculatedBETarget", "GV1P191MB2243.EURP191.PROD.OUTLOOK.COM"),
    ("X-BEServer", "GV1P191MB2243"),
    ("X-DiagInfo", "GV1P191MB2243"),
    ("X-ServerApplication", "Exchange/15.20.7918.024"),
    ("X-Powered-By", "ASP.NET"),
    ("X-FEServer", "MA1PR0101CA0031"),
    (
        "WWW-Authenticate",
        'Bearer client_id="00000002-0000-0ff1-ce00-000000000000", '
        'trusted_issuers="00000001-0000-0000-c000-000000000000@*", token_types="app_asserted_user_v1 '
        'service_asserted_app_v1", authorization_uri="https://login.microsoftonline.com/common/'
        'oauth2/authorize", error="invalid_token"',
    ),
    ("WWW-Authenticate", 'Basic Realm="",Basic Realm=""'),
    DATE,
    ("Content-Length", "0"),
)
_EXO_LOGIN = (
    "https://login.microsoftonline.com/common/oauth2/authorize?client_id=00000002-0000-0ff1-ce00-000000000000"
    "&redirect_uri=https%3a%2f%2f{{host_enc}}%2fowa%2f&resource=00000002-0000-0ff1-ce00-000000000000"
    "&response_mode=form_post&response_type=code+id_token&scope=openid&msafed=1"
)
_EXO_302 = Reply(
    302,
    "Found",
    _h(
        ("Cache-Control", "no-cache, no-store"),
        ("Pragma", "no-cache"),
        ("Location", _EXO_LOGIN),
        ("Server", "Microsoft-IIS/10.0"),
        REQUEST_ID,
        ("Strict-Transport-Security", "max-age=31536000; includeSubDomains; preload"),
        ("X-CalculatedBETarget", "GV1P191MB2243.EURP191.PROD.OUTLOOK.COM"),
        ("X-BackEndHttpStatus", "302"),
        ("X-OWA-Version", "15.20.7918.24"),
        ("X-BEServer", "GV1P191MB2243"),
        ("X-FEServer", "MA1PR0101CA0031"),
        ("X-Powered-By", "ASP.NET"),
        DATE,
        ("Content-Length", "0"),
    ),
)
_add(
    Profile(
        "exchange_online",
        "Exchange Online (outlook.office365.com-like): *.prod.outlook.com targets, 15.20 builds",
        (
            Backend(
                (
                    (OWA, _EXO_302),
                    (LOGON, _EXO_302),
                    (AUTOD, Reply(401, "Unauthorized", _EXO_HEADERS)),
                    (EWS, Reply(401, "Unauthorized", _EXO_HEADERS)),
                    (EAS, Reply(401, "Unauthorized", _EXO_HEADERS)),
                    (
                        ROOT,
                        Reply(
                            302,
                            "Found",
                            _h(
                                ("Location", "https://{{host}}/owa/"),
                                ("Server", "Microsoft-IIS/10.0"),
                                ("X-FEServer", "MA1PR0101CA0031"),
                                DATE,
                                ("Content-Length", "0"),
                            ),
                        ),
                    ),
                ),
                not_found(),
            ),
        ),
        true_build="15.20.7918.24",
        expect_build="15.20.7918.24",
        expect_exchange=True,
        expect_warning=None,
        source=S + "exchange-online_mapi-401_x-serverapplication-15.20.http; "
        "exchange-online_owa-service-svc-401_headers_msxfaq.txt (values synthetic)",
        signals=(
            (OWA, "X-CalculatedBETarget: GV1P191MB2243.EURP191.PROD.OUTLOOK.COM"),
            (OWA, "X-OWA-Version: 15.20.7918.24"),
            (EWS, "X-ServerApplication: Exchange/15.20.7918.024"),
            (EWS, "X-FEServer: MA1PR0101CA0031"),
        ),
        notes="15.20 = Exchange Online; bot.core.identify maps it to the product 'Exchange Online', no on-prem verdict",
    )
)
_add(
    Profile(
        "kemp_preauth",
        "KEMP LoadMaster ESP pre-authentication: its login page on every path, no version",
        (
            same_everywhere(
                Reply(
                    200,
                    "OK",
                    _h(
                        ("Content-Type", "text/html; charset=utf-8"),
                        ("Cache-Control", "no-cache"),
                        ("Pragma", "no-cache"),
                        DATE,
                        LENGTH,
                    ),
                    KEMP_ESP_PAGE,
                )
            ),
        ),
        true_build=None,
        expect_build=None,
        expect_exchange=True,
        expect_warning="pre-auth",
        source=S + "reverse-proxy-and-preauth-login-markers.txt (markers; page synthetic)",
        signals=(
            (OWA, "/lm_auth_proxy?LMLogon"),
            (LOGON, "To use LoadMaster ESP Login, javascript must be enabled"),
            (ROOT, "<title>Outlook Web App Login</title>"),
        ),
    )
)
_TMG_302 = Reply(
    302,
    "Moved Temporarily",
    _h(
        ("Location", "https://{{host}}/CookieAuth.dll?GetLogon?curl=Z2Fowa&reason=0&formdir=3"),
        ("Connection", "Keep-Alive"),
        ("Via", "1.1 TMG01"),
        ("Cache-Control", "no-cache"),
        ("Pragma", "no-cache"),
        ("Content-Type", "text/html"),
        ("Content-Length", "0"),
    ),
)
_add(
    Profile(
        "tmg_preauth",
        "Forefront TMG forms pre-authentication: 302 to /CookieAuth.dll, which serves the logon form",
        (
            Backend(
                (
                    (
                        "/cookieauth.dll",
                        Reply(
                            200,
                            "OK",
                            _h(
                                ("Via", "1.1 TMG01"),
                                ("Connection", "Keep-Alive"),
                                ("Cache-Control", "no-cache"),
                                ("Pragma", "no-cache"),
                                ("Content-Type", "text/html; charset=utf-8"),
                                LENGTH,
                            ),
                            TMG_FORM_PAGE,
                        ),
                    ),
                ),
                _TMG_302,
            ),
        ),
        true_build=None,
        expect_build=None,
        expect_exchange=True,
        expect_warning="pre-auth",
        source=S + "reverse-proxy-and-preauth-login-markers.txt (WhatWeb CookieAuth.dll marker; page synthetic)",
        signals=(
            (OWA, "Location: https://"),
            (OWA, "/CookieAuth.dll?GetLogon?curl=Z2Fowa"),
            ("/CookieAuth.dll?GetLogon?curl=Z2Fowa&reason=0&formdir=3", 'action="/CookieAuth.dll?Logon"'),
        ),
    )
)
_add(
    Profile(
        "cryptocard_preauth",
        "SafeNet/CRYPTOCard OWA agent: its own logon form at /owa/auth/logon.aspx",
        (
            Backend(
                (
                    (
                        OWA,
                        Reply(
                            302,
                            "Found",
                            _h(
                                (
                                    "Location",
                                    "https://{{host}}/owa/auth/logon.aspx?replaceCurrent=1&url="
                                    "https%3a%2f%2f{{host_enc}}%2fowa%2f",
                                ),
                                ("Server", "Microsoft-IIS/8.5"),
                                ("X-Powered-By", "ASP.NET"),
                                DATE,
                                ("Content-Length", "0"),
                            ),
                        ),
                    ),
                    (
                        LOGON,
                        Reply(
                            200,
                            "OK",
                            _h(HTML, ("Server", "Microsoft-IIS/8.5"), ("X-Powered-By", "ASP.NET"), DATE, LENGTH),
                            CRYPTOCARD_PAGE,
                        ),
                    ),
                ),
                not_found("Microsoft-IIS/8.5"),
            ),
        ),
        true_build=None,
        expect_build=None,
        expect_exchange=True,
        expect_warning="pre-auth",
        source=S + "reverse-proxy-and-preauth-login-markers.txt (markers; page synthetic)",
        signals=((LOGON, "CRYPTOCard Authentication Form - Outlook Web Access"),),
    )
)
_IIS6 = (("Server", "Microsoft-IIS/6.0"), ("MicrosoftOfficeWebServer", "5.0_Pub"), ("X-Powered-By", "ASP.NET"))
_add(
    Profile(
        "exchange2003_fba",
        "Exchange 2003 forms-based auth: /exchange redirects to /exchweb owalogon.asp, 440 elsewhere",
        (
            Backend(
                (
                    (
                        "/exchange*",
                        Reply(
                            302,
                            "Object Moved",
                            _h(
                                (
                                    "Location",
                                    "https://{{host}}/exchweb/bin/auth/owalogon.asp?url=https://{{host}}{{path}}&reason=0",
                                ),
                                *_IIS6,
                                ("Content-Type", "text/html"),
                                DATE,
                                ("Content-Length", "0"),
                            ),
                        ),
                    ),
                    (
                        "/exchweb/bin/auth/owalogon.asp",
                        Reply(200, "OK", _h(*_IIS6, DATE, HTML, LENGTH), EX2003_LOGON_PAGE),
                    ),
                ),
                Reply(440, "Login Timeout", _h(*_IIS6, DATE, ("Content-Type", "text/html"), ("Content-Length", "0"))),
            ),
        ),
        true_build="6.5.7638.1",
        expect_build=None,
        expect_exchange=None,
        expect_warning=None,
        source=S + "exchange2003-fba-redirect-and-440_notes.txt (behaviour; pages synthetic)",
        signals=(
            (OWA, "Server: Microsoft-IIS/6.0"),
            ("/exchange/", "/exchweb/bin/auth/owalogon.asp?url="),
            ("/exchweb/bin/auth/owalogon.asp?url=x&reason=0", "/exchweb/bin/auth/owaauth.dll"),
        ),
        notes="the probe paths only see 440 Login Timeout; /exchange (not probed) reveals the FBA redirect",
    )
)
_add(
    Profile(
        "errorfe_broken",
        "OWA in bad shape: logon.aspx 302 to /owa/auth/errorFE.aspx?httpCode=500",
        (
            Backend(
                (
                    (
                        OWA,
                        Reply(
                            302,
                            "Found",
                            _h(
                                ("Cache-Control", "no-cache"),
                                ("Pragma", "no-cache"),
                                ("Location", OWA_LOCATION),
                                ("Server", "Microsoft-IIS/10.0"),
                                REQUEST_ID,
                                ("X-FEServer", "EXBROKEN01"),
                                ("X-Powered-By", "ASP.NET"),
                                DATE,
                                ("Content-Length", "0"),
                            ),
                        ),
                    ),
                    (
                        LOGON,
                        Reply(
                            302,
                            "Found",
                            _h(
                                HTML,
                                ("Location", "/owa/auth/errorFE.aspx?httpCode=500"),
                                ("Server", "Microsoft-IIS/10.0"),
                                ("X-Powered-By", "ASP.NET"),
                                DATE,
                                LENGTH,
                            ),
                            OBJECT_MOVED_ERRORFE,
                        ),
                    ),
                    (
                        "/owa/auth/errorfe.aspx",
                        Reply(
                            500,
                            "Internal Server Error",
                            _h(HTML, ("Server", "Microsoft-IIS/10.0"), ("X-Powered-By", "ASP.NET"), DATE, LENGTH),
                            ERRORFE_BODY,
                        ),
                    ),
                    (
                        EXPORT,
                        Reply(
                            500,
                            "Internal Server Error",
                            _h(("Server", "Microsoft-IIS/10.0"), DATE, ("Content-Length", "0")),
                        ),
                    ),
                ),
                not_found(),
            ),
        ),
        true_build=None,
        expect_build=None,
        expect_exchange=True,
        expect_warning=None,
        source=S + "owa-logon-302-to-errorFE-httpCode500.http",
        signals=((LOGON, "Location: /owa/auth/errorFE.aspx?httpCode=500"), (LOGON, "Object moved to")),
    )
)
_add(
    Profile(
        "hardened_nover",
        "Real OWA with every version header and version path folder stripped",
        (onprem(OnPrem("2016", None, None, fe=None, be=None)),),
        true_build="15.2.1748.36",
        expect_build=None,
        expect_exchange=True,
        expect_warning=None,
        source=S + "x-owa-version-spoofed-by-iis-url-rewrite_15.02.2562.037.txt (path strip); "
        "header-disclosure-removal-list_exchange.txt",
        signals=((LOGON, "OwaPage = ASP.auth_logon_aspx"), (LOGON, "/owa/auth/themes/resources/favicon.ico")),
    )
)
_add(
    Profile(
        "not_exchange",
        "An nginx web site: home page on /, 404 on every Exchange path",
        (
            Backend(
                (
                    (
                        ROOT,
                        Reply(
                            200,
                            "OK",
                            _h(
                                ("Server", "nginx/1.24.0"),
                                DATE,
                                ("Content-Type", "text/html"),
                                LENGTH,
                                ("Last-Modified", "Mon, 06 May 2024 09:00:00 GMT"),
                                ("Connection", "keep-alive"),
                                ("ETag", '"6638a8f0-10f"'),
                                ("Accept-Ranges", "bytes"),
                            ),
                            NGINX_HOME,
                        ),
                    ),
                ),
                Reply(
                    404,
                    "Not Found",
                    _h(
                        ("Server", "nginx/1.24.0"),
                        DATE,
                        ("Content-Type", "text/html"),
                        LENGTH,
                        ("Connection", "keep-alive"),
                    ),
                    NGINX_404,
                ),
            ),
        ),
        true_build=None,
        expect_build=None,
        expect_exchange=False,
        expect_warning=None,
        source="synthetic",
        signals=((ROOT, "Example Widgets Ltd"), (OWA, "404 Not Found"), (OWA, "Server: nginx/1.24.0")),
    )
)
INJECTION = "<!channel> <@U123> &lt;script&gt;alert(1)&lt;/script&gt; *bold* `code` <https://evil.example|click>"
_add(
    Profile(
        "header_injection",
        "Exchange 2019 whose X-FEServer, BE target and title carry Slack/HTML payloads",
        (
            onprem(
                OnPrem(
                    "2016",
                    "15.2.1544.33",
                    "15.2.1544",
                    exporttool="15.2.1544.33",
                    fe=INJECTION,
                    be="evil.example<@U123>",
                    title=f"{INJECTION} Outlook",
                )
            ),
        ),
        true_build="15.2.1544.33",
        expect_build="15.2.1544.33",
        expect_exchange=True,
        expect_warning=None,
        source="synthetic (escaping test)",
        signals=((OWA, f"X-FEServer: {INJECTION}"), (LOGON, f"<title>{INJECTION} Outlook</title>")),
    )
)

# --- hostile ------------------------------------------------------------------------------------


def _hostile(
    name: str,
    description: str,
    backend: Backend,
    *,
    tls: Literal["normal", "stall"] = "normal",
    signals: tuple[tuple[str, str], ...] = (),
) -> Profile:
    """Hostile profiles: nothing to conclude (no build, Exchange unknown); a prober must only survive them."""
    return Profile(
        name,
        description,
        (backend,),
        true_build=None,
        expect_build=None,
        expect_exchange=None,
        expect_warning=None,
        source="synthetic",
        hostile=True,
        tls=tls,
        signals=signals,
    )


def _redirect(location: str) -> Reply:
    return Reply(
        302, "Found", _h(("Location", location), ("Server", "Microsoft-IIS/10.0"), DATE, ("Content-Length", "0"))
    )


_add(
    _hostile(
        "hang",
        "Accepts TCP and TLS, reads the request, never sends a byte until the client leaves",
        same_everywhere(Reply(0, "", kind="hang")),
    )
)
_add(
    _hostile(
        "slow_tls",
        "Accepts TCP, never completes the TLS handshake when chosen by SNI or as the default "
        "profile; reached through the Host header (after TLS) it behaves like 'hang'",
        same_everywhere(Reply(0, "", kind="hang")),
        tls="stall",
    )
)
_add(
    _hostile(
        "drip",
        "Valid status line and headers, then the body one byte per second",
        same_everywhere(
            Reply(
                200,
                "OK",
                _h(HTML, ("Server", "Microsoft-IIS/10.0"), DATE, ("Content-Length", "1000000")),
                kind="drip",
                size=1_000_000,
            )
        ),
    )
)
_add(
    _hostile(
        "huge_body",
        "Content-Length: 200 MB on every path, streamed from one shared chunk",
        same_everywhere(
            Reply(
                200, "OK", _h(HTML, ("Server", "Microsoft-IIS/10.0"), DATE, LENGTH), kind="huge", size=200 * 1024 * 1024
            )
        ),
    )
)
_add(
    _hostile(
        "redirect_loop",
        "/owa/ redirects to itself, logon.aspx to /owa/, the export tool to itself",
        Backend(
            (
                (OWA, _redirect("https://{{host}}/owa/")),
                (LOGON, _redirect("/owa/")),
                (EXPORT, _redirect("https://{{host}}" + EXPORT_REQUEST_PATH)),
            ),
            _redirect(OWA_LOCATION),
        ),
        signals=((OWA, "Location: https://"), (LOGON, "Location: /owa/")),
    )
)
_add(
    _hostile(
        "redirect_offhost",
        "Redirects to the cloud metadata address and to 127.0.0.1:1",
        Backend(
            ((OWA, _redirect("https://169.254.169.254/latest/meta-data/")), (LOGON, _redirect("http://127.0.0.1:1/"))),
            _redirect("https://169.254.169.254/latest/meta-data/iam/security-credentials/"),
        ),
        signals=(
            (OWA, "Location: https://169.254.169.254/latest/meta-data/"),
            (LOGON, "Location: http://127.0.0.1:1/"),
        ),
    )
)
_add(
    _hostile(
        "garbage",
        "Answers every request with 64 KB of random bytes, not HTTP",
        same_everywhere(Reply(0, "", kind="garbage", size=64 * 1024)),
    )
)
_add(
    _hostile(
        "huge_headers",
        "200 header lines of 8 KB each, then an empty body",
        same_everywhere(Reply(200, "OK", kind="huge_headers")),
    )
)

# XML attacks sit on an otherwise ordinary (header-less) 2019 CU14, so the logon path still gives 15.2.1544
_BOMB_BASE = OnPrem("2016", None, "15.2.1544", fe=None, be=None)
_XML_HEADERS = _h(("Content-Type", "application/x-ms-application"), ("Server", "Microsoft-IIS/10.0"), DATE, LENGTH)
_add(
    Profile(
        "xml_bomb",
        "Exchange 2019 whose export tool is a billion-laughs document (the version is the bomb)",
        (onprem(replace(_BOMB_BASE, export_reply=Reply(200, "OK", _XML_HEADERS, billion_laughs()))),),
        true_build=None,
        expect_build="15.2.1544",
        expect_exchange=True,
        expect_warning=None,
        source="synthetic",
        hostile=True,
        signals=((EXPORT, "<!ENTITY lol9"), (LOGON, "/owa/auth/15.2.1544/")),
    )
)
_add(
    Profile(
        "xml_xxe",
        "Exchange 2019 whose export tool declares an external entity to file:///etc/passwd",
        (onprem(replace(_BOMB_BASE, export_reply=Reply(200, "OK", _XML_HEADERS, external_entity_xml()))),),
        true_build=None,
        expect_build="15.2.1544",
        expect_exchange=True,
        expect_warning=None,
        source="synthetic",
        hostile=True,
        signals=((EXPORT, 'SYSTEM "file:///etc/passwd"'), (LOGON, "/owa/auth/15.2.1544/")),
    )
)

# --- a verdict the server cannot talk down -------------------------------------------------------
# Servers that try (or happen) to make a prober report a better verdict than their lowest on-premises
# build: look-alike Exchange Online names, a low version hidden behind many headers or a cap, values
# padded to be cut, partial answers, manifests that disagree with themselves. The exact verdict each
# must get is asserted in tests/test_verdict_trust.py.

LOW = "15.1.225.16"  # Exchange 2016 RTM: end of life, vulnerable to every named family
LOW3 = "15.1.225"
PATCHED = "15.2.2562.53"  # Exchange SE RTM Sep26SUv2: supported, patched against every named family
CU14 = "15.2.1544.4"  # Exchange 2019 CU14: end of life, patched against every named family
LOOKALIKE_NAMES = ("EXCHPR01", "EXPR01", "MAILPR1", "CASPR02", "NYCPR01")

for _fe in LOOKALIKE_NAMES:
    _add(
        Profile(
            f"lookalike_{_fe.lower()}",
            f"Exchange 2016 RTM whose front end is named {_fe} (an on-premises scheme, not Exchange Online)",
            (onprem(OnPrem("2016", LOW, LOW3, fe=_fe, be=f"{_fe.lower()}.corp.example.test")),),
            true_build=LOW,
            expect_build=LOW,
            expect_exchange=True,
            expect_warning=None,
            source="synthetic",
            signals=((OWA, f"X-FEServer: {_fe}"), (OWA, f"X-OWA-Version: {LOW}")),
        )
    )
_add(
    Profile(
        "lookalike_online_target",
        "Exchange 2016 RTM that names an Exchange Online back end and front end: judged on its own build",
        (onprem(OnPrem("2016", LOW, LOW3, fe="MA1PR0101CA0031", be="GV1P191MB2243.EURP191.PROD.OUTLOOK.COM")),),
        true_build=LOW,
        expect_build=LOW,
        expect_exchange=True,
        expect_warning="disagree",
        source="synthetic",
        signals=((OWA, "X-CalculatedBETarget: GV1P191MB2243.EURP191.PROD.OUTLOOK.COM"), (OWA, LOW)),
    )
)
_add(
    Profile(
        "lookalike_online_build",
        "Exchange 2016 RTM that also sends X-ServerApplication Exchange/15.20.7918.024 (an Exchange Online build)",
        (onprem(OnPrem("2016", LOW, LOW3, fe="EX01", extra=(("X-ServerApplication", "Exchange/15.20.7918.024"),))),),
        true_build=LOW,
        expect_build=LOW,
        expect_exchange=True,
        expect_warning="disagree",
        source="synthetic",
        signals=((OWA, "X-ServerApplication: Exchange/15.20.7918.024"), (OWA, LOW)),
    )
)


def _pads(n: int, width: int) -> Headers:
    return tuple((f"X-Pad-{i:04d}", "p" * width) for i in range(n))


def _headers_everywhere(*headers: tuple[str, str]) -> Backend:
    """Every path answers 200 with these headers, in this order, and an empty body."""
    return same_everywhere(
        Reply(200, "OK", _h(("Server", "Microsoft-IIS/10.0"), *headers, DATE, ("Content-Length", "0")))
    )


def _crafted(
    name: str,
    description: str,
    backend: Backend,
    expect_build: str | None,
    *,
    expect_exchange: bool | None = True,
    expect_warning: str | None = None,
    signals: tuple[tuple[str, str], ...] = (),
    hostile: bool = True,
) -> Profile:
    """A crafted answer with a build to find: the exact verdict is asserted by its own test. Not
    hostile (``hostile=False``) when the answer is odd but complete and should be judged cleanly."""
    return Profile(
        name,
        description,
        (backend,),
        true_build=None if hostile else expect_build,
        expect_build=expect_build,
        expect_exchange=expect_exchange,
        expect_warning=expect_warning,
        source="synthetic",
        hostile=hostile,
        signals=signals,
    )


_add(
    _crafted(
        "hidden_header_250",
        f"X-OWA-Version {CU14}, 250 unrelated headers (a few KB), then X-OWA-Version {LOW}",
        _headers_everywhere(("X-OWA-Version", CU14), *_pads(250, 4), ("X-OWA-Version", LOW)),
        LOW,
        expect_warning="disagree",
        signals=((OWA, f"X-OWA-Version: {LOW}"), (OWA, "X-Pad-0249: pppp")),
    )
)
_add(
    _crafted(
        "hidden_header_first",
        f"X-OWA-Version {LOW} first, 250 unrelated headers, then X-OWA-Version {CU14}",
        _headers_everywhere(("X-OWA-Version", LOW), *_pads(250, 4), ("X-OWA-Version", CU14)),
        LOW,
        expect_warning="disagree",
    )
)
_add(
    _crafted(
        "hidden_header_1500",
        f"1,500 short headers (about 20 KB, under the header byte cap), then X-OWA-Version {LOW}",
        _headers_everywhere(*_pads(1500, 1), ("X-OWA-Version", LOW)),
        LOW,
        hostile=False,
        signals=((OWA, "X-Pad-1499: p"), (OWA, f"X-OWA-Version: {LOW}")),
    )
)
_add(
    _crafted(
        "hidden_header_over_cap",
        f"3,000 headers (about 120 KB, over the header byte cap), then X-OWA-Version {LOW}",
        _headers_everywhere(*_pads(3000, 28), ("X-OWA-Version", LOW)),
        None,
        expect_exchange=None,
        expect_warning="headers larger than",
    )
)
_add(
    _crafted(
        "hidden_header_over_cap_patched_first",
        f"X-OWA-Version {PATCHED}, 3,000 headers over the header byte cap, then X-OWA-Version {LOW}",
        _headers_everywhere(("X-OWA-Version", PATCHED), *_pads(3000, 28), ("X-OWA-Version", LOW)),
        PATCHED,
        expect_warning="headers larger than",
    )
)
_add(
    _crafted(
        "value_cut",
        f"X-OWA-Version '{CU14}' + 60 spaces + 'junk' (a cut to 64 characters would leave a build)",
        onprem(OnPrem("2016", CU14 + " " * 60 + "junk", None, fe=None, be=None)),
        None,
        expect_warning="not a build number",
        signals=((OWA, CU14 + " " * 60 + "junk"),),
    )
)
_add(
    _crafted(
        "value_junk_suffix",
        f"X-OWA-Version '{CU14}junk'",
        onprem(OnPrem("2016", CU14 + "junk", None, fe=None, be=None)),
        None,
        expect_warning="not a build number",
    )
)
_add(
    _crafted(
        "value_cut_beside_path",
        f"X-OWA-Version '{PATCHED}' + 60 spaces + 'x', logon path {LOW3}: judged on the path",
        onprem(OnPrem("2016", PATCHED + " " * 60 + "x", LOW3, fe=None, be=None)),
        LOW3,
        expect_warning="not a build number",
    )
)
_add(
    _crafted(
        "value_padded",
        f"X-OWA-Version '{LOW}' padded with spaces and tabs on both sides (ordinary whitespace: trimmed)",
        _headers_everywhere(("X-OWA-Version", " \t " + LOW + " \t" + " " * 60)),
        LOW,
        hostile=False,
        signals=((OWA, LOW),),
    )
)
_add(
    _crafted(
        "drip_chunked",
        f"Status line and X-OWA-Version {LOW} at once, then a chunked body one byte per second",
        same_everywhere(
            Reply(
                200,
                "OK",
                _h(HTML, ("Server", "Microsoft-IIS/10.0"), ("X-OWA-Version", LOW), ("Transfer-Encoding", "chunked")),
                b"<html>",
                kind="drip_chunked",
            )
        ),
        LOW,
        expect_warning="incomplete response",
    )
)
_add(
    _crafted(
        "drip_chunked_patched",
        f"Status line and X-OWA-Version {PATCHED} at once, then a chunked body one byte per second",
        same_everywhere(
            Reply(
                200,
                "OK",
                _h(
                    HTML, ("Server", "Microsoft-IIS/10.0"), ("X-OWA-Version", PATCHED), ("Transfer-Encoding", "chunked")
                ),
                kind="drip_chunked",
            )
        ),
        PATCHED,
        expect_warning="incomplete response",
    )
)
_add(
    _crafted(
        "short_body",
        f"X-OWA-Version {LOW}, Content-Length: 1000, 3 bytes of body, then close",
        same_everywhere(
            Reply(
                200,
                "OK",
                _h(HTML, ("Server", "Microsoft-IIS/10.0"), ("X-OWA-Version", LOW), DATE, LENGTH),
                b"<ht",
                kind="short_body",
                size=1000,
            )
        ),
        LOW,
        expect_warning="incomplete response",
    )
)
_SHORT_PAGE = logon_page_2013plus(LOW3, title="Outlook")
_add(
    _crafted(
        "short_logon_page",
        f"The logon page (resource paths {LOW3}) declared in full, cut after 3,000 bytes by a close",
        same_everywhere(
            Reply(
                200,
                "OK",
                _h(HTML, ("Server", "Microsoft-IIS/10.0"), DATE, LENGTH),
                _SHORT_PAGE[:3000],
                kind="short_body",
                size=len(_SHORT_PAGE),
            )
        ),
        LOW3,
        expect_warning="incomplete response",
    )
)
_add(
    _crafted(
        "stall_head",
        f"Status line and X-OWA-Version {LOW}, then never the end of the headers",
        same_everywhere(
            Reply(
                200,
                "OK",
                _h(("Server", "Microsoft-IIS/10.0"), ("X-OWA-Version", LOW), ("X-Pad", "p")),
                kind="stall_head",
            )
        ),
        LOW,
        expect_warning="incomplete response",
    )
)


def _stripped(export: Reply) -> Backend:
    """Exchange SE with every version header and path stripped, but the given export-tool answer."""
    return onprem(OnPrem("2016", None, None, fe=None, be=None, export_reply=export))


_add(
    _crafted(
        "manifest_two_versions",
        f"An export-tool manifest whose deployment says {PATCHED} and whose dependent assembly says {CU14}",
        _stripped(Reply(200, "OK", _XML_HEADERS, exporttool_manifest(PATCHED, dependency_version=CU14))),
        CU14,
        expect_warning="disagree",
        signals=((EXPORT, f'version="{CU14}"'), (EXPORT, f'version="{PATCHED}"')),
    )
)
_add(
    _crafted(
        "manifest_two_versions_low_first",
        f"An export-tool manifest whose deployment says {CU14} and whose dependent assembly says {PATCHED}",
        _stripped(Reply(200, "OK", _XML_HEADERS, exporttool_manifest(CU14, dependency_version=PATCHED))),
        CU14,
        expect_warning="disagree",
    )
)
_add(
    _crafted(
        "manifest_oversize",
        f"X-OWA-Version {PATCHED}; the export-tool manifest is padded past the 64 KB read limit",
        onprem(
            OnPrem(
                "2016",
                PATCHED,
                None,
                fe=None,
                be=None,
                export_reply=Reply(200, "OK", _XML_HEADERS, exporttool_manifest(CU14, padding=80_000)),
            )
        ),
        PATCHED,
        expect_warning="65536-byte read limit",
    )
)
_add(
    Profile(
        "preauth_html_manifest",
        f"Exchange SE ({PATCHED}) whose export-tool path answers a pre-authentication login page (HTML)",
        (
            onprem(
                OnPrem(
                    "2016",
                    PATCHED,
                    "15.2.2562",
                    fe="EXSE02",
                    export_reply=Reply(
                        200, "OK", _h(HTML, ("Server", "Microsoft-IIS/10.0"), DATE, LENGTH), KEMP_ESP_PAGE
                    ),
                )
            ),
        ),
        true_build=PATCHED,
        expect_build=PATCHED,
        expect_exchange=True,
        expect_warning=None,
        source="synthetic (login page as in kemp_preauth)",
        signals=((EXPORT, "<!DOCTYPE html>"), (OWA, f"X-OWA-Version: {PATCHED}")),
    )
)
_CHAIN = ("/owa/auth/r1", "/owa/auth/r2", "/owa/auth/r3", "/owa/auth/r4")
_add(
    _crafted(
        "redirect_chain",
        f"X-OWA-Version {PATCHED} on /owa/; logon.aspx answers 302 with X-OWA-Version {LOW} into a chain of "
        "four more redirects (one past the prober's limit)",
        Backend(
            (
                (
                    OWA,
                    Reply(
                        302,
                        "Found",
                        _h(("Location", OWA_LOCATION), ("X-OWA-Version", PATCHED), DATE, ("Content-Length", "0")),
                    ),
                ),
                (
                    LOGON,
                    Reply(
                        302, "Found", _h(("Location", _CHAIN[0]), ("X-OWA-Version", LOW), DATE, ("Content-Length", "0"))
                    ),
                ),
                *(
                    (here, Reply(302, "Found", _h(("Location", nxt), DATE, ("Content-Length", "0"))))
                    for here, nxt in zip(_CHAIN, (*_CHAIN[1:], "/owa/auth/r5"), strict=True)
                ),
            ),
            not_found(),
        ),
        LOW,
        expect_warning="redirects",
    )
)

# names used in briefs and examples
ALIASES = {"exchange2019_cu9": "exchange2019_cu9_fileversion"}


def get_profile(name_or_profile: str | Profile) -> Profile:
    if isinstance(name_or_profile, Profile):
        return name_or_profile
    name = ALIASES.get(name_or_profile, name_or_profile)
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name_or_profile!r}; known: {', '.join(sorted(PROFILES))}") from None


def profile_table() -> str:
    """One line per profile with its ground truth, for humans (``python -m tests.fakes.exchange_profiles``)."""
    rows = [f"{'name':30} {'exchange':8} {'expect_build':14} {'warning':9} description"]
    for p in PROFILES.values():
        rows.append(
            f"{p.name:30} {p.expect_exchange!s:8} {p.expect_build or '-':14} {p.expect_warning or '-':9} "
            f"{p.description}"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(profile_table())
