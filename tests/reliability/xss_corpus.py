"""XSS payloads for browser tests of the live view and the stream page.

    from xss_corpus import PAYLOADS, MARKER, header_safe, path_safe   # tests/reliability on sys.path

Every payload, if it ever executes, sets ``window.__hooklab_xss = 1`` (or navigates to a
``javascript:`` URL that does), so a browser test sends them in paths, query strings, headers
and bodies, renders the live view / stream page, clicks around, and asserts
``window.__hooklab_xss`` is undefined and no ``dialog`` event fired. ``MARKER`` is that name.

Bodies can carry every payload as is; ``header_safe`` / ``path_safe`` give the ones that can
travel in a header value (no CR/LF/NUL) or a request target (percent-encoded).
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["MARKER", "PAYLOADS", "header_safe", "path_safe"]

MARKER = "__hooklab_xss"
_JS = f"window.{MARKER}=1"

PAYLOADS: list[str] = [
    # script elements
    f"<script>{_JS}</script>",
    f"<ScRiPt>{_JS}</sCrIpT>",
    f"<script src=\"data:text/javascript,{_JS}\"></script>",
    f"</title></textarea></style></script><script>{_JS}</script>",
    f"<script>/*</script><script>*/{_JS}</script>",
    # event handlers
    f"<img src=x onerror=\"{_JS}\">",
    f"<img src=x onerror={_JS}>",
    f"<svg onload=\"{_JS}\">",
    f"<svg><script>{_JS}</script></svg>",
    f"<body onload=\"{_JS}\">",
    f"<iframe srcdoc=\"<script>parent.{_JS}</script>\"></iframe>",
    f"<details open ontoggle=\"{_JS}\">",
    f"<input autofocus onfocus=\"{_JS}\">",
    f"<video><source onerror=\"{_JS}\"></video>",
    f"<marquee onstart=\"{_JS}\">x</marquee>",
    f"<div onmouseover=\"{_JS}\" style=\"position:fixed;inset:0\">hover</div>",
    f"<math><mtext><img src=x onerror=\"{_JS}\"></mtext></math>",
    # attribute break-outs
    f"\"><img src=x onerror=\"{_JS}\">",
    f"'><img src=x onerror='{_JS}'>",
    f"\" onmouseover=\"{_JS}\" x=\"",
    f"' onfocus='{_JS}' autofocus x='",
    f"`><img src=x onerror=\"{_JS}\">",
    # javascript: and friends in link-like places
    f"javascript:{_JS}",
    f"JaVaScRiPt:{_JS}",
    f" javascript:{_JS}",
    f"java\tscript:{_JS}",
    f"&#106;avascript:{_JS}",
    f"<a href=\"javascript:{_JS}\">click</a>",
    f"<a href=\"&#x6A;avascript:{_JS}\">click</a>",
    f"data:text/html,<script>{_JS}</script>",
    f"<form action=\"javascript:{_JS}\"><button>go</button></form>",
    f"<object data=\"javascript:{_JS}\"></object>",
    f"<embed src=\"javascript:{_JS}\">",
    f"<meta http-equiv=\"refresh\" content=\"0;url=javascript:{_JS}\">",
    # template / markup injection
    "{{constructor.constructor('" + _JS + "')()}}",
    "${" + _JS + "}",
    f"<template><img src=x onerror=\"{_JS}\"></template>",
    f"<noscript><p title=\"</noscript><img src=x onerror={_JS}>\">",
    f"<style>@import 'javascript:{_JS}';</style>",
    f"<link rel=stylesheet href=\"javascript:{_JS}\">",
    # JSON / string context break-outs
    f"</script><script>{_JS}</script>",
    f"\\u003cimg src=x onerror={_JS}\\u003e",
    "\\\"};" + _JS + ";//",
    f"';{_JS};//",
    f"\";{_JS};//",
    # encoding tricks
    f"%3Cscript%3E{_JS}%3C/script%3E",
    f"&lt;script&gt;{_JS}&lt;/script&gt;",
    f"\\u003cscript\\u003e{_JS}\\u003c/script\\u003e",  # escaped form, as JSON might carry it
    f"<scr<script>ipt>{_JS}</scr</script>ipt>",
    f"<img src=x onerror=\"&#119;indow.{MARKER}=1\">",
    f"<svg><a xlink:href=\"javascript:{_JS}\"><text y=20>x</text></a></svg>",
]


def header_safe(payloads: list[str] | None = None) -> list[str]:
    """Payloads that can be sent as a header value (latin-1, no CR, LF or NUL)."""
    out = []
    for p in PAYLOADS if payloads is None else payloads:
        if any(c in p for c in "\r\n\0"):
            continue
        try:
            p.encode("latin-1")
        except UnicodeEncodeError:
            continue
        out.append(p)
    return out


def path_safe(payloads: list[str] | None = None) -> list[str]:
    """Payloads percent-encoded for a request path segment (``/`` kept out of the segment)."""
    return [quote(p, safe="") for p in (PAYLOADS if payloads is None else payloads)]
