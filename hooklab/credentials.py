"""Which parts of a request are credentials, and the request with them hidden: the one rule
the live view (every tab, so saved widget state too), ``diff`` and the stream page follow.

Header values (``Authorization``, ``Cookie``, ``X-Amz-Security-Token``...: :func:`is_sensitive_header`), query and form fields (``password``,
``token``, ``client_secret``..., also as ``user[password]``), in urlencoded and multipart
forms, are shown as ``<hidden: N chars>`` until the person asks to see them; so are the values
of a JSON body's keys named so, at any depth (``password``, ``data.api_key``, inside lists too:
:func:`is_credential_key`, the rule ``lab.schema()`` hides examples by).

>>> from datetime import datetime
>>> c = Capture(id=1, received_at=datetime.now(), method="POST", path="/f", query={},
...             headers=[("Content-Type", "application/x-www-form-urlencoded")],
...             body=b"user=bob&client_secret=s3cr3t")
>>> hidden_form(c)
b'user=bob&client_secret=<hidden: 6 chars>'
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple
from urllib.parse import parse_qs, quote_plus, unquote_plus, urlsplit

from ._secretlike import looks_like_path_secret, looks_like_secret, shown_given
from .capture import Capture
from .formdata import MULTIPART, boundary_of, split_parts
from .jsonread import loads_json, section_coding

__all__ = [
    "CREDENTIAL_KEYS",
    "CREDENTIAL_NAMES",
    "CREDENTIAL_WORDS",
    "MULTIPART",
    "SENSITIVE_HEADERS",
    "SENSITIVE_QUERY",
    "URLENCODED",
    "URLENCODED_TYPES",
    "WHOLE_FORM",
    "WHOLE_JSON",
    "Part",
    "basic_authorization",
    "hidden_body",
    "hidden_form",
    "hidden_json",
    "hidden_value",
    "hidden_view",
    "hide_fields",
    "hide_json",
    "hide_json_text",
    "is_credential_key",
    "is_credential_option",
    "is_credential_query",
    "is_sensitive_field",
    "is_sensitive_header",
    "looks_like_secret",
    "multipart_fields",
    "scrubbed_text",
    "scrubbed_url",
    "shown_given",
    "shown_option_error",
    "shown_secret_file",
    "shown_url",
    "shown_words",
    "url_secrets",
]

#: header names whose values are credentials whatever their words say (``Authorization``,
#: ``Cookie``, Azure Functions' ``X-Functions-Key``): hidden unless the user asks to reveal
#: them, as is any header a query or form field of its name would be
#: (:func:`is_sensitive_header`)
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
        "x-api-token",
        "private-token",
        "x-webhook-secret",
        # Asana's shared secret: stored as [secret] on its handshake, as it came on any other
        # request (a GET, a trailer field), where it is still the secret
        "x-hook-secret",
        "x-shopify-access-token",
        # the shared secret tokens providers send as they are (the "token" scheme)
        "x-gitlab-token",
        "x-goog-channel-token",
        "dg-token",
        "x-telegram-bot-api-secret-token",
        # Azure Functions' function or host key ("functions" is no word of a credential's)
        "x-functions-key",
    }
)
SENSITIVE_QUERY = frozenset(
    {"token", "access_token", "api_key", "apikey", "password", "secret", "client_secret"}
)
#: more credential names of a URL's query (:func:`is_credential_query`), compared whole once
#: ``-``, ``_`` and ``.`` are left out (``api-key``, ``accessToken``, GitLab's
#: ``private_token``, a signed URL's ``sig`` or ``X-Amz-Signature``, ``hub.verify_token``)
CREDENTIAL_NAMES = frozenset(
    {"key", "apikey", "apitoken", "accesstoken", "authtoken", "auth", "privatetoken",
     "refreshtoken", "idtoken", "sessiontoken", "securitytoken", "secretkey", "clientsecret",
     "passwd", "pwd", "sig", "signature", "xamzsignature", "xamzsecuritytoken",
     "xamzcredential", "verifytoken", "hubverifytoken", "token", "password", "secret",
     "xapikey", "xgoogsignature", "xgoogcredential", "oauthtoken", "oauthsignature",
     "apisecret", "appsecret", "consumersecret", "accesskey", "privatekey", "webhooksecret",
     "bottoken", "authkey", "jwt", "hapikey", "subscriptionkey", "code",
     # a password, an HMAC, a session (PHP's, Java's) by their short or framework names
     "pass", "passphrase", "hmac", "session", "sessionid", "sessid", "sessionkey",
     "jsessionid", "phpsessid", "aspsessionid", "credential", "credentials", "accountkey",
     "sharedaccesskey", "signingkey", "signingsecret", "hmackey", "hmacsha1", "hmacsha256",
     "masterkey",
     # a header's credential put in a query (``?authorization=Bearer ...``, ``?bearer=``)
     "authorization", "bearer"}
)
#: a URL query field whose last word (split at ``-``, ``_``, ``.``, brackets and a lower-case
#: letter before a capital) is one of these holds a credential too: ``webhook_password``,
#: ``X-Hub-Signature``, ``shopHmac``, ``user_session``, ``pageToken``. The last word only:
#: ``token_count`` or ``max_tokens`` are no credentials, and ``key``, ``code``, ``sig``,
#: ``pass`` count only as the whole name (``sort_key``, ``status_code``, ``bypass`` stay)
CREDENTIAL_WORDS = frozenset(
    {"token", "secret", "password", "passwd", "passphrase", "pwd", "signature", "hmac",
     "session", "credential", "credentials", "apikey", "authorization"}
)
#: a query field whose last two words are one of these is a key that is a credential
#: (``aws_access_key``, ``Ocp-Apim-Subscription-Key``, ``rsa_private_key``, ``my_api_key``),
#: where a ``key`` after another word is not (``sort_key``, ``idempotency_key``)
CREDENTIAL_KEYS = frozenset(
    {("access", "key"), ("subscription", "key"), ("api", "key"), ("private", "key"),
     ("account", "key"), ("signing", "key"), ("master", "key"), ("auth", "key"),
     ("secret", "key")}
)
#: a query, form or payload field whose last word is one of these holds a credential as well as
#: :data:`SENSITIVE_QUERY`'s names do (``refresh_token``, ``auth_token``, ``db_password``,
#: ``webhook_secret``, ``signingSecret``, ``accessToken``): narrower than a URL's rule
#: (:data:`CREDENTIAL_WORDS`), as a body's ``signature``, ``session`` or ``credentials`` field
#: is data more often than not (``token_count``, ``max_tokens``, ``api_key_id`` stay shown)
FIELD_WORDS = frozenset({"token", "secret", "password", "passwd", "passphrase", "pwd", "apikey"})
#: what every credential name holds (:data:`SENSITIVE_QUERY`, :data:`FIELD_WORDS`,
#: :data:`CREDENTIAL_KEYS`), in lower case: the quick tests before a name, a body or a
#: multipart head is read word by word look for these, so they can never pass one by
CREDENTIAL_STEMS = ("token", "secret", "pass", "pwd", "key")
_SEPARATORS = re.compile(r"[-_.]")
#: the words of a field name: runs of letters and digits, a capital starting a new word
#: (``accessToken``), capitals together one word (``shopHMAC``, ``HMACKey``: HMAC, Key)
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def is_sensitive_header(name: str) -> bool:
    """Whether a header's value is a credential: one of :data:`SENSITIVE_HEADERS`, a name
    whose last word is ``authorization`` (``X-Amzn-Remapped-Authorization``), or a name a
    query or form field is hidden by (:func:`is_sensitive_field`: a last word ``token``,
    ``secret``, ``password``..., last two ``subscription key``, ``api key``...). The one
    rule of every tab, ``lab.diff`` and the stream page, so a header is hidden as the same
    name in the query is (``X-Amz-Security-Token``, ``Ocp-Apim-Subscription-Key``,
    ``X-Client-Secret``). Signatures stay shown, as a body's ``signature`` does (an HMAC
    of the body, not the secret: what a person checks), and so do ``Idempotency-Key``,
    ``X-Token-Type`` and the like, whose last word names no credential. Letter case says
    nothing in a header's name, so the name is read in lower case: words are split at
    ``-``, ``_``, ``.`` and digits only (``X-SessionToken`` is ``x-sessiontoken``, shown as
    a query field of that name is), and one header is judged alike however it is spelled
    (``lab.diff`` names headers in lower case).

    >>> [is_sensitive_header(n) for n in (" Authorization", "X-Amz-Security-Token",
    ...                                   "Ocp-Apim-Subscription-Key", "X-Functions-Key")]
    [True, True, True, True]
    >>> [is_sensitive_header(n) for n in ("Stripe-Signature", "X-Hub-Signature-256",
    ...                                   "Idempotency-Key", "X-Token-Type", "X-Request-Id")]
    [False, False, False, False, False]
    """
    low = name.strip().lower()
    if low in SENSITIVE_HEADERS:
        return True
    if "auth" in low and _WORDS.findall(low)[-1:] == ["authorization"]:
        return True
    return is_sensitive_field(low)


def is_sensitive_field(name: str) -> bool:
    """Whether a query, form or payload field holds a credential (:data:`SENSITIVE_QUERY`,
    letter case, spaces and control characters aside, or a last word of :data:`FIELD_WORDS`,
    a last two of :data:`CREDENTIAL_KEYS`; PHP / Rails names by any of their parts): the
    one rule of every tab.

    >>> [is_sensitive_field(n) for n in ("Password ", "user[password]", "a[b][token]", "user",
    ...                                  "password[]", "user[token][0]", "password[new]")]
    [True, True, True, False, True, True, True]
    >>> [is_sensitive_field(n) for n in ("refresh_token", "accessToken", "db_password",
    ...                                  "webhook_secret", "private_key", "user[auth_token]")]
    [True, True, True, True, True, True]
    >>> [is_sensitive_field(n) for n in ("token_count", "max_tokens", "api_key_id", "key",
    ...                                  "idempotency_key", "signature", "bypass")]
    [False, False, False, False, False, False, False]
    """
    seen = _INVISIBLE.sub("", name)  # (a NUL or a space in the name: still the name)
    if "[" not in seen:
        return seen.lower() in SENSITIVE_QUERY or _field_name(seen)
    # user[password], data[api][token], password[], password[new]: any part of the name
    return any(part.strip().lower() in SENSITIVE_QUERY or _field_name(part)
               for part in _BRACKETS.split(seen))


def _field_name(name: str) -> bool:
    """A field name whose last word is one of :data:`FIELD_WORDS` (``refresh_token``,
    ``db_password``, ``accessToken``) or whose last two are one of :data:`CREDENTIAL_KEYS`
    (``private_key``)."""
    low = name.lower()
    if not any(w in low for w in CREDENTIAL_STEMS):
        return False  # (most names: no word to split them into)
    words = [w.lower() for w in _WORDS.findall(name)]
    return bool(words) and (words[-1] in FIELD_WORDS or tuple(words[-2:]) in CREDENTIAL_KEYS)


def is_credential_key(name: str) -> bool:
    """Whether a JSON object key names a credential, so that its value (all of it, whatever
    its type) is hidden: any of its dotted parts is a name :func:`is_sensitive_field` hides
    (``[]`` aside). ``lab.schema()`` names a JSON field by its keys joined with ``.`` and
    hides the example of a field any of whose names is one
    (:func:`hooklab.explore.schema.is_credential_field`): the Tree, Details, Raw body, curl,
    ``diff`` and the stream page hide the same values. A key that only holds a word stays
    shown (``api_key_id``, ``token_count``).

    >>> [is_credential_key(k) for k in ("password", "API_KEY", "user.token", "pass word",
    ...                                 "user[password]", "api_key_id", "tokens", "key")]
    [True, True, True, True, True, False, False, False]
    """
    return any(is_sensitive_field(part.replace("[]", "")) for part in name.split("."))


def is_credential_query(name: str) -> bool:
    """Whether a URL's query field holds a credential, as a record of a URL the user gave
    (a forward target) hides it: :func:`is_sensitive_field`'s names,
    :data:`CREDENTIAL_NAMES` with ``-``, ``_`` and ``.`` left out (``api-key``,
    ``accessToken``, ``sig``, ``pass``, ``session_id``, ``authorization``), names whose last
    word is one of :data:`CREDENTIAL_WORDS` (``webhook_password``, ``shop_hmac``), with
    ``secret`` as any of their words (``aws_secret_access_key``), or whose last two words
    are one of :data:`CREDENTIAL_KEYS` (``Ocp-Apim-Subscription-Key``). PHP / Rails
    brackets aside: the name before them (``pass[]``, ``webhook_password[0]``) and each
    name inside them (``user[pass]``) is judged so. Payload fields are not judged by this
    wider rule: a Jira issue's ``key`` or a body's ``signature`` stay shown.

    >>> [is_credential_query(n) for n in ("api-key", "accessToken", "private_token", "sig",
    ...                                   "X-Amz-Signature", "hub.verify_token", "keys", "amount")]
    [True, True, True, True, True, True, False, False]
    >>> [is_credential_query(n) for n in ("pass", "hmac", "JSESSIONID", "shopHmac", "page",
    ...                                   "status_code", "token_count")]
    [True, True, True, True, False, False, False]
    >>> [is_credential_query(n) for n in ("pass[]", "bearer", "aws_secret_access_key",
    ...                                   "Ocp-Apim-Subscription-Key", "sort_key", "key_id")]
    [True, True, True, True, False, False]
    """
    if is_sensitive_field(name):
        return True
    seen = _INVISIBLE.sub("", name)
    # (brackets are PHP's and Rails' arrays and nesting: "pass[]" is a "pass", "user[pass]"
    # a user's "pass"; an index or nothing inside them names nothing)
    base, _, inside = seen.partition("[")
    names = [base, *(n for n in _BRACKETS.split(inside) if n.strip() and not n.isdigit())]
    return any(_credential_name(n) for n in names)


def _credential_name(name: str) -> bool:
    """:func:`is_credential_query` of one name without brackets."""
    if _SEPARATORS.sub("", name.lower()) in CREDENTIAL_NAMES:
        return True
    words = [w.lower() for w in _WORDS.findall(name)]
    return bool(words) and (words[-1] in CREDENTIAL_WORDS or "secret" in words
                            or tuple(words[-2:]) in CREDENTIAL_KEYS)


_BRACKETS = re.compile(r"[\[\]]")
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\xa0\u200b-\u200f\u2060\ufeff]+")


#: a character no header name (an RFC 9110 token) holds
_NOT_TOKEN = re.compile(r"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")
_COLON = re.compile(":")


def shown_header_name(name: str, *, strict: bool = False) -> str:
    """``name`` as an error message quotes a header's name: up to its first ``:`` (a whole
    ``"Authorization: Bearer ..."`` given as a name quotes ``'Authorization'`` only), at most
    100 characters. Messages about a header never quote its value (often a credential).

    >>> shown_header_name("Authorization: Bearer sk_live_1")
    "'Authorization' (what follows its ':' not shown)"
    >>> shown_header_name("Authorization Bearer sk_live_1", strict=True), shown_header_name("X A")
    ("'Authorization' (what follows a space not shown)", "'X A'")
    """
    # (strict: a name is a token, and what follows a space or a control character may be a
    # value pasted in too: "Authorization Bearer sk_...")
    cut = (_NOT_TOKEN if strict else _COLON).search(name)
    if cut is None:
        return repr(name[:100]) + (" (cut)" if len(name) > 100 else "")
    head, char = name[: cut.start()], cut.group()
    what = {":": "its ':'", " ": "a space", "\t": "a tab"}.get(char, f"U+{ord(char):04X}")
    return repr(head[:100]) + (" (cut)" if len(head) > 100 else "") + f" (what follows {what} not shown)"


def hidden_value(value: str) -> str:
    """What a hidden value shows instead: its length only.

    >>> hidden_value("hunter2")
    '<hidden: 7 chars>'
    """
    return f"<hidden: {len(value)} chars>"


#: webhook URLs whose path is their credential (each service's docs: whoever has the URL can
#: post): a host, and the path's part that is the secret (group ``s``)
_PATH_SECRETS = (
    (re.compile(r"hooks\.slack\.com"), re.compile(r"/(?:services|workflows|triggers)/(?P<s>.+)")),
    (re.compile(r"(?:(?:canary|ptb)\.)?discord(?:app)?\.com"),
     re.compile(r"/api(?:/v\d+)?/webhooks/[^/]+/(?P<s>[^/]+)")),
    # (Teams: the connector URLs, /webhookb2/ and the legacy outlook.office.com/webhook/)
    (re.compile(r"[a-z0-9-]+\.webhook\.office\.com|outlook\.office(?:365)?\.com"),
     re.compile(r"/webhookb?2?/(?P<s>.+)")),
    (re.compile(r"hooks\.zapier\.com"), re.compile(r"/hooks/catch/(?P<s>.+)")),
    (re.compile(r"api\.telegram\.org"), re.compile(r"/(?:file/)?(?P<s>bot[^/]+)")),
    # (IFTTT's Webhooks service: /trigger/EVENT/with/key/KEY, /trigger/EVENT/json/with/key/KEY)
    (re.compile(r"maker\.ifttt\.com"),
     re.compile(r"/(?:trigger/[^/]+/(?:json/)?with/key|use)/(?P<s>[^/]+)")),
)
#: a self-hosted incoming webhook's key after ``/hooks/``, on any host: Mattermost's
#: (``/hooks/<26 lowercase letters and digits>``)
_HOOKS_KEY = re.compile(r"[a-z0-9]{26}")


def _path_secrets(host: str | None, path: str) -> list[tuple[int, int]]:
    """Where the credentials are in ``path`` of a URL to ``host``, in order: the secret part
    of a listed service's webhook URL (:data:`_PATH_SECRETS`); on any host, what follows
    ``/hooks/`` when it is a key (Mattermost's ``/hooks/<key>``, Rocket.Chat's
    ``/hooks/<id>/<token>``: id and token; :func:`looks_like_secret`); and any segment that
    holds a credential as a path does (:func:`hooklab._secretlike.looks_like_path_secret`:
    a known key's beginning, a JSON Web Token, random base64 mixing cases; not a hash
    among folders, a UUID, an object id such as ``evt_1NqX...``, a word or a name).

    >>> p = "/hooks/6571c2/Yq3ZkP9sLw2RtX7vBn5MhJ4cFd8GaE6u"
    >>> [p[a:b] for a, b in _path_secrets("chat.example.test", p)]
    ['6571c2/Yq3ZkP9sLw2RtX7vBn5MhJ4cFd8GaE6u']
    """
    spans: list[tuple[int, int]] = []
    name = (host or "").lower().rstrip(".")
    for host_re, path_re in _PATH_SECRETS:
        if host_re.fullmatch(name):
            m = path_re.match(path)
            if m and m.group("s").strip("/"):
                spans.append(m.span("s"))
            break
    starts = [m.end() for m in re.finditer(r"/", path)]
    ends = [path.find("/", a) if "/" in path[a:] else len(path) for a in starts]
    # (path parameters, ";name=value", are hidden by their names: not judged here)
    segments = [path[a:b].partition(";")[0] for a, b in zip(starts, ends, strict=True)]
    for i, (a, segment) in enumerate(zip(starts, segments, strict=True)):
        if i and segments[i - 1] == "hooks":  # (where self-hosted services put keys)
            if _HOOKS_KEY.fullmatch(segment) or looks_like_secret(segment):
                spans.append((a, a + len(segment)))
            if i + 1 < len(segments) and looks_like_secret(segments[i + 1]):  # (id/token)
                spans.append((a, starts[i + 1] + len(segments[i + 1])))
        elif looks_like_path_secret(segment):
            spans.append((a, a + len(segment)))
    merged: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def _masked(path: str, spans: list[tuple[int, int]], mark: str) -> str:
    """``path`` with each of ``spans`` (in order, apart) replaced by ``mark``."""
    for a, b in reversed(spans):
        path = path[:a] + mark + path[b:]
    return path


def _span_values(path: str, spans: list[tuple[int, int]]) -> set[str]:
    """The credentials at ``spans`` of ``path``, as written and decoded: each whole and its
    last segment (the token itself: not the ids before it)."""
    from urllib.parse import unquote

    found: set[str] = set()
    for a, b in spans:
        secret = path[a:b]
        for value in (secret, *[seg for seg in secret.split("/") if seg][-1:]):
            found.update((value, unquote(value)))
    return found


def scrubbed_url(url: str, mark: str = "[secret]") -> str:
    """``url`` as a record of where something was sent keeps it: the password of its userinfo
    (or a user name alone: often a token), the values of credential query fields and path
    parameters (``/hook;token=...``; :func:`is_credential_query`) and the secret part of a
    path that is a credential itself (Slack, Discord, Teams, Zapier, Telegram webhook URLs)
    replaced by ``mark``; the rest exactly as written.

    >>> scrubbed_url("http://alice:pw@127.0.0.1:8000/hook?api_key=k1&q=a%20b")
    'http://alice:[secret]@127.0.0.1:8000/hook?api_key=[secret]&q=a%20b'
    >>> scrubbed_url("https://ghp_abc@example.test/x?user[token]=t")
    'https://[secret]@example.test/x?user[token]=[secret]'
    >>> scrubbed_url("https://hooks.slack.com/services/T0001/B0001/XXXXXXXXXXXXXXXXXXXXXXXX")
    'https://hooks.slack.com/services/[secret]'
    >>> scrubbed_url("http://127.0.0.1:8000/app;jsessionid=s1/hook;v=2;token=t1")
    'http://127.0.0.1:8000/app;jsessionid=[secret]/hook;v=2;token=[secret]'
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # ("http://[::1/x": no URL to take apart; its userinfo and its query's
        head, q, rest = url.partition("?")  # credentials hidden anyway)
        head = _hide_path_params(re.sub(r"//[^/?#]*@", f"//{mark}@", head), mark)
        return head + q + _hide_fields(rest, mark)
    if not parts.netloc:  # (a mistyped target, "http:/u:pw@host", or a path alone)
        return _scrubbed_loose(url, mark)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = _hidden_userinfo(userinfo, mark) + "@" + hostport
    query = _hide_fields(parts.query, mark) if parts.query else parts.query
    fragment = (_hide_fields(parts.fragment, mark) if "=" in parts.fragment  # (#access_token=)
                else parts.fragment)
    path = parts.path
    try:
        spans = _path_secrets(parts.hostname, path)
    except ValueError:
        spans = _path_secrets(None, path)
    path = _hide_path_params(_masked(path, spans, mark), mark)
    if (netloc, path, query, fragment) == (parts.netloc, parts.path, parts.query, parts.fragment):
        return url
    return parts._replace(netloc=netloc, path=path, query=query, fragment=fragment).geturl()


def shown_url(url: str, limit: int = 400, *, quote: bool = True, shown: str | None = None) -> str:
    """``url`` as an error quotes it: without its credentials (:func:`scrubbed_url`; or
    ``shown``, the caller's own scrubbed form of it), ``repr``-quoted (``quote=False``: as it
    is) and cut to ``limit`` characters; or, when a word of what is left still reads as a
    credential (:func:`looks_like_secret`: a key under a name that says nothing,
    ``?k=sk_live_...``, in a fragment, a query without names), the URL's length only. Every
    message that quotes a URL, a forward or replay target or ``send``'s, says it so: standard
    error goes to terminals, CI logs and saved notebooks.

    >>> shown_url("http://127.0.0.1:9/x?api_key=k1&q=a")
    "'http://127.0.0.1:9/x?api_key=[secret]&q=a'"
    >>> shown_url("http://127.0.0.1:9/x?k=sk_live_51HxYzAbCdEf"), shown_url("ftp://h/x", quote=False)
    ('<hidden: 43 characters>', 'ftp://h/x')
    """
    text = scrubbed_url(url) if shown is None else shown
    # (a query's and a fragment's pieces judged as words of their own: "x?P4ss-w0rd!" too)
    if any(looks_like_secret(piece) for piece in re.split(r"[?&#]", text)):
        return _characters(len(url))
    if not quote:
        return text[:limit] + (f" (+{len(text) - limit} characters)" if len(text) > limit else "")
    return shown_given(text, limit)


def _hidden_userinfo(userinfo: str, mark: str) -> str:
    """A URL's ``userinfo`` as :func:`scrubbed_url` shows it: ``user:mark`` when it has a
    password; ``mark`` when it is a user name alone, with no password or an empty one
    (``curl -u sk_live_...:``, Stripe's documented form: the key is the user name)."""
    user, colon, password = userinfo.partition(":")
    return f"{user}:{mark}" if colon and (password or not user) else mark


def _userinfo_secret(userinfo: str) -> str:
    """The credential of a URL's ``userinfo`` (:func:`_hidden_userinfo`): its password, or
    its user name when it has no password."""
    user, colon, password = userinfo.partition(":")
    return password if colon and password else user


#: the authority of a URL as browsers and curl read one that :func:`urlsplit` finds none in
#: (WHATWG URL: for http(s) the slashes after ``scheme:`` may be missing, one, three, or
#: backslashes): ``http:/u:pw@host``, ``http:u:pw@host``, ``http:///u:pw@host``,
#: ``http:/\u:pw@host``, a mistyped target still sent with its credentials somewhere
_LOOSE_AUTHORITY = re.compile(r"[\x00-\x20]*(?:[A-Za-z][A-Za-z0-9+.\-]*:)?[/\\\t\n\r]*"
                              r"(?P<a>[^/\\?#]*)")


def _loose_parts(url: str) -> tuple[str, str, str, str]:
    """``url`` (one :func:`urlsplit` finds no authority in) taken apart as
    :data:`_LOOSE_AUTHORITY` reads it: what comes before its authority, the authority, its
    path, and the rest (``?query#fragment``), each as written."""
    before, hash_, fragment = url.partition("#")
    head, q, query = before.partition("?")
    m = _LOOSE_AUTHORITY.match(head)
    start, end = m.span("a") if m is not None else (0, 0)
    return head[:start], head[start:end], head[end:], q + query + hash_ + fragment


def _loose_secrets(url: str) -> list[str]:
    """The credentials of ``url`` (one :func:`urlsplit` finds no authority in) in its
    authority as :data:`_LOOSE_AUTHORITY` reads it, as written and decoded: the userinfo's,
    and a path that is a credential under that host (its query's are found as they are)."""
    from urllib.parse import unquote

    _, authority, path, _ = _loose_parts(url)
    found: set[str] = set()
    if "@" in authority:
        value = _userinfo_secret(authority.rpartition("@")[0])
        found.update((value, unquote(value)))
    found |= _span_values(path, _loose_path_secrets(authority, path))
    return sorted((v for v in found if v), key=lambda v: (-len(v), v))


def _loose_path_secrets(authority: str, path: str) -> list[tuple[int, int]]:
    try:
        host = urlsplit("//" + authority).hostname if authority else None
    except ValueError:  # ("[::1": no host to tell)
        host = None
    return _path_secrets(host, path)


def _scrubbed_loose(url: str, mark: str) -> str:
    """:func:`scrubbed_url` of a URL :func:`urlsplit` finds no authority in, read as a
    browser reads it (:data:`_LOOSE_AUTHORITY`), every character but the credentials as
    written."""
    head, authority, path, rest = _loose_parts(url)
    path = _masked(path, _loose_path_secrets(authority, path), mark)
    if "@" in authority:
        userinfo, _, hostport = authority.rpartition("@")
        authority = _hidden_userinfo(userinfo, mark) + "@" + hostport
    before, hash_, fragment = rest.partition("#")
    q, query = before[:1], before[1:]
    if "=" in fragment:  # (#access_token=)
        fragment = _hide_fields(fragment, mark)
    # (a path alone, "/hook;token=t1", is read as an authority: its parameters hidden too)
    return (head + _hide_path_params(authority + path, mark) + q + _hide_fields(query, mark)
            + hash_ + fragment)


def _hide_fields(text: str, mark: str) -> str:
    """``name=value`` pairs of a query (``&`` or ``;`` between them) with the values of
    credential names (:func:`is_credential_query`) replaced by ``mark``."""
    pairs = re.split(r"([&;])", text)  # (";" separates too, for some frameworks)
    for i in range(0, len(pairs), 2):
        name, eq, _ = pairs[i].partition("=")
        if eq and is_credential_query(unquote_plus(name)):
            pairs[i] = f"{name}={mark}"
    return "".join(pairs)


def _hide_path_params(path: str, mark: str) -> str:
    """``path`` with the values of credential path parameters (``;name=value`` after a
    segment, RFC 3986's "matrix" parameters: Java's ``;jsessionid=``, ``/hook;token=``)
    replaced by ``mark``."""
    if ";" not in path:
        return path
    segments = path.split("/")
    for i, segment in enumerate(segments):
        head, semicolon, params = segment.partition(";")
        if semicolon:
            segments[i] = head + semicolon + _hide_fields(params, mark)
    return "/".join(segments)


def _path_params(path: str) -> list[str]:
    """The ``name=value`` pairs of ``path``'s path parameters (:func:`_hide_path_params`)."""
    return [pair for segment in path.split("/") if ";" in segment
            for pair in re.split(r"[&;]", segment.partition(";")[2])]


def basic_authorization(url: str) -> str | None:
    """The ``Authorization`` value a request to ``url`` carries for its ``user:password@``
    (``Basic`` and the base64 of the two, percent-escapes undone, as curl sends them), or
    ``None`` when it has none. :func:`scrubbed_text` hides its base64 too: an app that
    echoes the request (a bad status line) shows the password so encoded.

    >>> basic_authorization("http://admin:S3KRETPW@127.0.0.1:5000/h")
    'Basic YWRtaW46UzNLUkVUUFc='
    >>> basic_authorization("http://127.0.0.1:5000/h") is None
    True
    """
    import base64
    from urllib.parse import unquote

    parts = urlsplit(url)
    if parts.username is None:
        return None
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def url_secrets(url: str) -> list[str]:
    """The credentials :func:`scrubbed_url` hides in ``url``, as written and decoded (longest
    first): what must not reach a message that quotes the URL some other way (an error of
    the HTTP client quoting only its path).

    >>> url_secrets("http://u:p%40ss@h/x?token=abc+d&q=1")
    ['p%40ss', 'abc d', 'abc+d', 'p@ss']
    >>> url_secrets("http://h/x;sig=s%2F1;v=2")
    ['s%2F1', 's/1']
    """
    from urllib.parse import unquote

    found: set[str] = set()
    try:
        parts = urlsplit(url)
        userinfo, fields = parts.netloc.rpartition("@")[0], parts.query + "&" + parts.fragment
        params = _path_params(parts.path)
        if not parts.netloc:  # (a mistyped target: its authority as a browser reads it)
            found.update(_loose_secrets(url))
        try:
            host = parts.hostname
        except ValueError:
            host = None
        found |= _span_values(parts.path, _path_secrets(host, parts.path))
    except ValueError:  # (no URL to take apart, e.g. NFKC trouble: its secrets still known)
        m = re.search(r"//([^/?#]*)@", url)
        userinfo, fields = (m.group(1) if m else ""), url.partition("?")[2].replace("#", "&")
        params = _path_params(url.partition("?")[0].partition("#")[0])
    if userinfo:
        value = _userinfo_secret(userinfo)
        found.update((value, unquote(value)))
    for pair in re.split(r"[&;]", fields):
        name, eq, value = pair.partition("=")
        if eq and value and is_credential_query(unquote_plus(name)):
            found.update((value, unquote_plus(value)))
    for pair in params:  # (a path's value: "+" is a plus there, not a space)
        name, eq, value = pair.partition("=")
        if eq and value and is_credential_query(unquote(name)):
            found.update((value, unquote(value)))
    return sorted((v for v in found if v), key=lambda v: (-len(v), v))


def scrubbed_text(text: str, url: str, mark: str = "[secret]") -> str:
    """``text`` (an error message about ``url``) with the URL's credentials replaced by
    ``mark``, however the message quotes them (:func:`url_secrets`).

    >>> scrubbed_text("InvalidURL: '/h?token=S3CR3T&q=a b'", "http://h/h?token=S3CR3T&q=a b")
    "InvalidURL: '/h?token=[secret]&q=a b'"
    >>> scrubbed_text("[Errno 111] Connection refused", "http://h/x?key=1&sig=e")
    '[Errno 111] Connection refused'
    >>> scrubbed_text("InvalidURL: '/h?token=S3\\x7f'", "http://h/h?token=S3\x7f")
    "InvalidURL: '/h?token=[secret]'"

    The ``Authorization: Basic`` a request sends for the URL's ``user:password@``
    (:func:`basic_authorization`) is hidden too: an app may echo the request it got.

    >>> scrubbed_text("BadStatusLine: Basic YWRtaW46cHc=", "http://admin:pw@h/")
    'BadStatusLine: Basic [secret]'
    """
    values = url_secrets(url)
    if values:  # (a URL with user:password@ has a secret: its password, or its user name)
        try:
            basic = basic_authorization(url)
        except ValueError:  # (no URL urlsplit takes apart: no Basic credentials were sent)
            basic = None
        if basic is not None:
            values = [basic.removeprefix("Basic "), *values]
    return _hide_values(text, values, mark)


def _hide_values(text: str, values: list[str], mark: str) -> str:
    """``text`` with each of ``values`` (longest first), as written or as ``repr()`` quotes
    it, replaced by ``mark`` where it stands whole: not inside a longer run of letters and
    digits, but after a percent-escape (``%3Dt0k``: a URL quoted percent-encoded).

    >>> _hide_values("next=%2Fb%3Ftoken%3Dt0k; [Errno 111]", ["t0k", "1"], "[secret]")
    'next=%2Fb%3Ftoken%3D[secret]; [Errno 111]'
    """
    for value in values:
        for spelling in dict.fromkeys((value, repr(value)[1:-1])):  # (as repr() quotes it too)
            # whole values only: a key "1" must not turn "[Errno 111]" into "[Errno [secret]..."
            text = re.sub(_WHOLE_BEFORE + re.escape(spelling) + r"(?![A-Za-z0-9])", mark, text)
    return text


#: where a value :func:`_hide_values` hides may begin: not after a letter or digit, unless
#: they end a percent-escape (``%3D``, ``%253D``)
_WHOLE_BEFORE = r"(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2})|(?<=%25[0-9A-Fa-f]{2}))"


def hide_fields(fields: Any, hide: Callable[[str], bool] = is_sensitive_field) -> Any:
    """Form ``fields`` (name -> value, or a list of values) with the values of the names
    ``hide`` picks (credentials: :func:`is_sensitive_field`) replaced by
    :func:`hidden_value`, as the Details tab shows them.

    >>> hide_fields({"user": "bob", "Password": ["a", "bc"]})
    {'user': 'bob', 'Password': ['<hidden: 1 chars>', '<hidden: 2 chars>']}
    """
    if not isinstance(fields, dict):
        return fields

    def hidden(v: Any) -> Any:
        if isinstance(v, list):
            return [hidden(x) for x in v]
        return hidden_value(v if isinstance(v, str) else json.dumps(v))

    return {k: hidden(v) if hide(str(k)) else v for k, v in fields.items()}


def _per_capture(fn: Callable[[Capture], Any]) -> Callable[[Capture], Any]:
    """``fn`` remembering its result for the last two capture objects: one selection in the
    live view reads a capture's form in several tabs, and a Tree click reads it again."""
    import threading

    recent: list[tuple[Capture, Any]] = []
    lock = threading.Lock()

    def remembered(cap: Capture) -> Any:
        with lock:
            for seen, result in recent:
                if seen is cap:
                    return result
        result = fn(cap)
        with lock:
            recent.insert(0, (cap, result))
            del recent[2:]  # (this capture and the one it is compared with: big bodies)
        return result

    remembered.__doc__ = fn.__doc__
    remembered.__name__ = fn.__name__
    remembered.__wrapped__ = fn  # type: ignore[attr-defined]
    return remembered


@_per_capture
def hidden_form(cap: Capture) -> bytes | None:
    """A form body (``application/x-www-form-urlencoded`` or ``multipart/form-data``) with the
    values of its credential fields (``password``, ``client_secret``, ``token``...:
    :data:`SENSITIVE_QUERY`) replaced by placeholders, as the Details tab shows them;
    ``None`` when it holds none. A form whose fields cannot be told apart (compressed, in
    UTF-16, a multipart body whose parts are not found) is hidden whole
    (:data:`WHOLE_FORM`) where it may hold one.

    >>> from datetime import datetime
    >>> c = Capture(id=1, received_at=datetime.now(), method="POST", path="/f", query={},
    ...             headers=[("Content-Type", "application/x-www-form-urlencoded")],
    ...             body=b"user=bob&Password=hunter2&x=1")
    >>> hidden_form(c)
    b'user=bob&Password=<hidden: 7 chars>&x=1'
    """
    ctype = cap.content_type or ""
    multipart = ctype.startswith(MULTIPART)  # (as Tornado reads it: "...urlencodedx" too)
    if not (multipart or ctype.startswith(URLENCODED_TYPES)) or not cap.body:
        return None
    encoding = _coded(cap)
    boundary = _boundary(cap) if multipart else None
    found = _parts(cap.body, boundary) if boundary is not None else None
    if (encoding is not None or cap.charset.strip().lower() not in _ASCII_LIKE
            or (multipart and found is None)):
        # compressed, in a charset whose bytes are not ASCII's (UTF-16), or a multipart body
        # whose parts cannot be told apart: the fields can only be hidden by hiding it all,
        # where it may hold some (or cannot be read to tell)
        try:
            decoded = cap.decoded_body()  # (ValueError: it cannot be read to tell)
        except (ValueError, LookupError):
            return _whole(cap, encoding)
        # read as the charset says and as the bytes are (a body labelled UTF-16 whose bytes
        # are ASCII shows its fields in the Raw body tab)
        texts = [cap.text, decoded.decode("latin-1")]
        if multipart:  # (no parts: a credential's name in any Content-Disposition hides all)
            if not any(_disposition_lines(t, credential=True) for t in texts):
                return None
        elif not any(is_sensitive_field(n) or any(_json_field_hidden(v) for v in vs)
                     for t in texts for n, vs in parse_qs(t, keep_blank_values=True).items()):
            return None
        return _whole(cap, encoding)
    if found is not None:
        out, at = [], 0
        for part in found:
            if part.sensitive:
                value = cap.body[part.start : part.end].decode("utf-8", "replace")
                out += [cap.body[at : part.start], hidden_value(value).encode()]
                at = part.end
        return b"".join([*out, cap.body[at:]]) if out else None
    parts = re.split(rb"([&;])", cap.body)  # (";" too: some frameworks split on it)
    changed = False
    for i in range(0, len(parts), 2):
        key, eq, value = parts[i].partition(b"=")
        if not eq:
            continue
        text = unquote_plus(value.decode("utf-8", "replace"))
        if is_sensitive_field(unquote_plus(key.decode("utf-8", "replace"))):
            parts[i] = key + b"=" + hidden_value(text).encode()
            changed = True
        elif (inner := _json_field_hidden(text)) is not None:
            parts[i] = key + b"=" + quote_plus(inner).encode()  # (still one field of the form)
            changed = True
    return b"".join(parts) if changed else None


def _json_field_hidden(value: str) -> str | None:
    """A form field's value that is JSON (Slack's ``payload=``, its interactive requests: the
    verification ``token`` inside) with its credential keys' values hidden
    (:func:`hide_json_text`); ``None`` for any other value, or JSON without one."""
    if value.lstrip()[:1] not in ("{", "["):
        return None
    return hide_json_text(value)


def _mentions_credential(text: str) -> bool:
    """Whether a credential's field name appears anywhere in ``text`` (letter case, quotes,
    backslashes, white space and percent-encoding aside; RFC 2231 continuations such as
    ``name*0="pass"; name*1="word"`` count too): what hides a multipart form whole when its
    parts cannot be told apart, or a part whose headers do not read alike in every parser."""
    low = text.lower()
    if "%" in low:
        low += "\n" + unquote_plus(low)
    squeezed = re.sub(r'["\\\s]|;\s*name\*\d+\*?=', "", low)
    return any(word in low or word in squeezed for word in CREDENTIAL_STEMS)


# -- JSON bodies ----------------------------------------------------------------------------
def _hidden_json_value(value: Any) -> str:
    """What a credential key's JSON value shows instead: a string's length as a form value's
    (:func:`hidden_value`), any other value's as :func:`hide_fields` counts it (its
    ``json.dumps`` text), so that every view says the same length."""
    if isinstance(value, str):
        return hidden_value(value)
    try:
        return hidden_value(json.dumps(value))
    except (TypeError, ValueError, RecursionError):  # (nested past what json.dumps writes)
        return "<hidden>"


def hide_json(value: Any) -> Any:
    """A parsed JSON ``value`` with the value of every key named like a credential
    (:func:`is_credential_key`), at any depth and inside lists, replaced by a
    ``<hidden: N chars>`` string; ``value`` itself (the same object) when it has none. Only
    the objects and lists on the way to a hidden value are copied: ``value`` is not changed.
    The Details and Tree tabs and ``diff`` show this.

    >>> hide_json({"data": {"api_key": "k_123"}, "items": [{"token": 7}], "id": 1})
    {'data': {'api_key': '<hidden: 5 chars>'}, 'items': [{'token': '<hidden: 1 chars>'}], 'id': 1}
    >>> v = {"id": 1}; hide_json(v) is v
    True
    """
    if not isinstance(value, (dict, list)):
        return value
    names: dict[str, bool] = {}  # (keys repeat: each judged once)
    parents: dict[int, tuple[Any, Any]] = {}  # id(container) -> (its container, its key there)
    hits: list[tuple[dict[Any, Any], Any]] = []
    stack: list[Any] = [value]  # (no recursion: JSON may be nested 1,024 levels deep)
    while stack:  # (bounded: each container of the value is popped once)
        node = stack.pop()
        is_dict = isinstance(node, dict)
        for k, v in (node.items() if is_dict else enumerate(node)):
            if is_dict and isinstance(k, str):
                hit = names.get(k)
                if hit is None:
                    hit = names[k] = is_credential_key(k)
                if hit:
                    hits.append((node, k))
                    continue  # (all of it hidden: nothing inside to look at)
            if isinstance(v, (dict, list)) and v:
                parents[id(v)] = (node, k)
                stack.append(v)
    if not hits:
        return value
    copies: dict[int, Any] = {}

    def copy_of(node: Any) -> Any:
        """The copy of ``node``, made (with the copies of its containers up to one copied
        already, each put into its container's copy) when there is none yet."""
        chain = []
        while id(node) not in copies:
            chain.append(node)
            if node is value:
                break
            node = parents[id(node)][0]
        for n in reversed(chain):  # (top down: a container's copy is there for its child)
            copies[id(n)] = dict(n) if isinstance(n, dict) else list(n)
            if n is not value:
                up, key = parents[id(n)]
                copies[id(up)][key] = copies[id(n)]
        return copies[id(chain[0])] if chain else copies[id(node)]

    for node, k in hits:
        copy_of(node)[k] = _hidden_json_value(node[k])
    return copies[id(value)]


#: a JSON string, to its closing quote or to the end of a text cut short inside it (so that
#: no search starts again inside it), and ``:`` after it when it is an object's key
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.S)
_JSON_KEY = re.compile(_JSON_STRING.pattern + r"([ \t\n\r]*:)?", re.S)
_JSON_WS = re.compile(r"[ \t\n\r]*")
_JSON_NESTING = re.compile(r'["\[\]{}]')
_JSON_SCALAR = re.compile(r"[^,\]} \t\n\r]*")
#: the escapes (in lower case) that may spell a credential's name: a letter, ``_``, a bracket,
#: an invisible character (a Kelvin sign is a ``k`` in lower case)
_JSON_NAME_ESCAPE = re.compile(r"\\u(?:00[0-2][0-9a-f]|00[4-9a][0-9a-f]|200[b-f]|2060|feff|212a)")
#: :data:`_INVISIBLE`'s characters, for ``str.translate`` (many times faster on megabytes)
_INVISIBLE_TABLE = dict.fromkeys([*range(0x21), *range(0x7F, 0xA1), *range(0x200B, 0x2010),
                                  0x2060, 0xFEFF])


def _may_name_credential(text: str, utf8: bool = False) -> bool:
    """A quick test before :func:`_credential_spans` reads ``text`` key by key: whether any
    credential name could be spelled in it (escapes undone, letter case, invisible
    characters and ``[]`` aside, as :func:`is_credential_key` reads a key). False means no
    key of it is a credential's; True, that one may be. ``utf8``: as in
    :func:`_credential_spans` (read as UTF-8 here: a Kelvin sign is a ``k`` in lower case)."""
    if utf8:
        text = text.encode("latin-1").decode("utf-8", "replace")
    low = text.lower()
    if "\\" in low:  # (a key may spell "pass\u0077ord" or "pass\tword": the short escapes
        for esc in ("\\t", "\\n", "\\r", "\\b", "\\f"):  # are invisible characters)
            low = low.replace(esc, "")
        low = _JSON_NAME_ESCAPE.sub(lambda m: chr(int(m.group()[2:], 16)).lower(), low)
    low = low.translate(_INVISIBLE_TABLE).replace("[]", "")
    return any(word in low for word in CREDENTIAL_STEMS)


def _value_end(text: str, at: int) -> int:
    """Where the JSON value starting at ``at`` ends (strings skipped whole, brackets counted);
    the end of ``text`` when it is cut short there."""
    n = len(text)
    if at >= n:
        return n
    if text[at] == '"':
        m = _JSON_STRING.match(text, at)
        return m.end() if m else n
    if text[at] not in "{[":
        return _JSON_SCALAR.match(text, at).end()  # type: ignore[union-attr]
    depth = 0
    while True:  # (bounded: ``at`` moves forward each pass)
        m = _JSON_NESTING.search(text, at)
        if m is None:
            return n
        if m.group() == '"':
            s = _JSON_STRING.match(text, m.start())
            if s is None:  # (a string never closed: the value runs to the end)
                return n
            at = s.end()
            continue
        depth += 1 if m.group() in "{[" else -1
        at = m.end()
        if depth <= 0:
            return at


def _credential_spans(text: str, utf8: bool = False) -> list[tuple[int, int, str]]:
    """``(start, end, shown)`` of each value of a key named like a credential in JSON
    ``text`` (an object's key is a string followed by ``:``), at any depth, in order, with the
    JSON string it shows instead; none inside a value hidden whole. ``utf8``: ``text`` is
    UTF-8 bytes read as Latin-1 (one character per byte: the spans are byte offsets).

    Read string by string (each once), not parsed: what lies between the spans stays as it
    was, and a body cut short or several JSON documents one after another (JSON Lines) are
    read too."""
    spans: list[tuple[int, int, str]] = []
    names: dict[str, bool] = {}
    skip = 0  # (the strings inside a value hidden whole are not looked at)
    for m in _JSON_KEY.finditer(text):  # (bounded: each string of the text once)
        if m.group(1) is None or m.start() < skip:
            continue
        raw = text[m.start() : m.start(1)]
        hit = names.get(raw)
        if hit is None:
            hit = names[raw] = is_credential_key(_json_str(raw, utf8))
        if not hit:
            continue
        start = _JSON_WS.match(text, m.end()).end()  # type: ignore[union-attr]
        end = _value_end(text, start)
        if end > start:
            shown = text[start:end]
            try:
                value = loads_json(shown.encode("latin-1") if utf8 else shown)
            except (ValueError, RecursionError):  # (cut short: counted as written)
                value = shown.strip()
            spans.append((start, end, json.dumps(_hidden_json_value(value))))
        skip = end
    return spans


def _json_str(raw: str, utf8: bool) -> str:
    """The text of a JSON string token ``raw`` (quotes included), escapes undone; as written
    where they are not JSON's."""
    if utf8:
        raw = raw.encode("latin-1").decode("utf-8", "replace")
    if "\\" not in raw:
        return raw[1:-1]
    try:
        return json.loads(raw, strict=False)  # type: ignore[no-any-return]
    except ValueError:
        return raw[1:-1]


def hide_json_text(text: str) -> str | None:
    """JSON ``text`` (or the start of it, or JSON Lines) with the value of every key named
    like a credential (:func:`is_credential_key`) replaced by a ``"<hidden: N chars>"``
    string, everything else as it was; ``None`` when it has none.

    >>> hide_json_text('{"user": "bob",\\n "pass\\\\u0077ord": "hunter2", "n": [{"token": 12}]}')
    '{"user": "bob",\\n "pass\\\\u0077ord": "<hidden: 7 chars>", "n": [{"token": "<hidden: 2 chars>"}]}'
    """
    if not _may_name_credential(text):
        return None
    spans = _credential_spans(text)
    if not spans:
        return None
    return _spliced(text, spans)


def _spliced(text: str, spans: list[tuple[int, int, str]]) -> str:
    out, at = [], 0
    for start, end, shown in spans:
        out += [text[at:start], shown]
        at = end
    return "".join([*out, text[at:]])


def _json_texts(cap: Capture, raw: bytes) -> list[tuple[str, bool, str]]:
    """How a body (``raw``, its ``Content-Encoding`` undone) may be read as JSON: as JSON
    reads bytes (UTF-8 as Latin-1, one character per byte, or UTF-16 / 32), and as its
    ``charset`` says when that is not ASCII's (:attr:`Capture.text`); only the readings that
    start with an object or a list (the only JSON with keys): ``(text, utf8, encoding)``."""
    enc = json.detect_encoding(raw)
    utf8 = enc in ("utf-8", "utf-8-sig")
    out = [(raw.decode("latin-1") if utf8 else raw.decode(enc, "replace"), utf8, enc)]
    if cap.charset.strip().lower() not in _ASCII_LIKE:
        out.append((cap.text, False, cap.charset))
    return [(t, u, e) for t, u, e in out
            if t.lstrip(" \t\n\r\ufeff").removeprefix("\xef\xbb\xbf").lstrip(" \t\n\r")[:1]
            in ("{", "[")]


@_per_capture
def hidden_json(cap: Capture) -> bytes | None:
    """A JSON body (whatever its content type says, starting with an object or a list) with
    the value of every key named like a credential (:func:`is_credential_key`: ``password``,
    ``data.api_key``, in lists too, ``"pass\\u0077ord"`` spelled with escapes) replaced by a
    ``"<hidden: N chars>"`` string, every other byte as received, as the Raw body tab and
    Copy as curl show it; ``None`` when it holds none. A body whose bytes cannot be shown so
    (compressed, in UTF-16 or 32, in a charset whose bytes are not ASCII's) is hidden whole
    (:data:`WHOLE_JSON`) where it holds one; one that cannot be decompressed shows only
    compressed bytes and is left as it is.

    >>> from datetime import datetime
    >>> c = Capture(id=1, received_at=datetime.now(), method="POST", path="/j", query={},
    ...             headers=[("Content-Type", "application/json")],
    ...             body=b'{"user": "bob", "data": {"api_key": "k_123"}}')
    >>> hidden_json(c)
    b'{"user": "bob", "data": {"api_key": "<hidden: 5 chars>"}}'
    """
    if not cap.body:  # (a form's body starts with a field or a boundary, not "{" or "[")
        return None
    encoding = _coded(cap)
    try:
        raw = cap.decoded_body()
    except (ValueError, LookupError):  # (shown only as the compressed bytes it is)
        return None
    for text, utf8, enc in _json_texts(cap, raw):
        if not _may_name_credential(text, utf8):
            continue
        spans = _credential_spans(text, utf8)
        if not spans:
            continue
        if utf8 and encoding is None:  # the bytes as received, but the values
            return _spliced(text, spans).encode("latin-1")
        # compressed, or in a charset whose bytes are not ASCII's: the values can only be
        # hidden by hiding it all
        why = encoding or enc
        return WHOLE_JSON + f" ({cap.size} bytes, {why}): tick 'show credentials'>".encode()
    return None


#: how :func:`hidden_json` starts when it hides a JSON body whole (its bytes cannot be shown
#: with only the credentials hidden)
WHOLE_JSON = b"<JSON body hidden"


def hidden_body(cap: Capture) -> bytes | None:
    """``cap``'s body with its credentials hidden (a form's fields: :func:`hidden_form`; a
    JSON body's keys: :func:`hidden_json`), or ``None`` when it holds none: what the Raw
    body tab, Copy as curl and the stream page show.

    >>> from datetime import datetime
    >>> c = Capture(id=1, received_at=datetime.now(), method="POST", path="/j", query={},
    ...             headers=[("Content-Type", "application/json")], body=b'[{"token": "t1"}]')
    >>> hidden_body(c)
    b'[{"token": "<hidden: 2 chars>"}]'
    """
    form = hidden_form(cap)
    return form if form is not None else hidden_json(cap)


def hidden_view(cap: Capture, *, body: bool = True) -> dict[str, Any] | None:
    """What a page shows of ``cap`` while credentials are hidden: ``headers`` (as
    ``[name, value]`` lists) with credential values replaced, and (``body``) ``body_text``
    with a form's or a JSON body's credential fields replaced (:func:`hidden_body`); ``None``
    when nothing is hidden. The stream page
    (``/_hooklab/``) shows it unless "show credentials" is ticked.

    >>> from datetime import datetime
    >>> c = Capture(id=1, received_at=datetime.now(), method="POST", path="/f", query={},
    ...             headers=[("Authorization", "Bearer abc"), ("X-Id", "7")], body=b"{}")
    >>> hidden_view(c)
    {'headers': [['Authorization', '<hidden: 10 chars>'], ['X-Id', '7']]}
    """
    out: dict[str, Any] = {}
    if any(is_sensitive_header(k) for k, _ in cap.headers):
        out["headers"] = [[k, hidden_value(v) if is_sensitive_header(k) else v]
                          for k, v in cap.headers]
    hidden = hidden_body(cap) if body else None
    if hidden is not None:
        out["body_text"] = hidden.decode("utf-8", "replace")
    return out or None


#: a part's Content-Disposition header line, and the lines folded into it
_DISPOSITION = re.compile(r"(?i)content-disposition[ \t]*:[^\r\n]*(?:(?:\r\n|\r|\n)[ \t][^\r\n]*)*")


def _disposition_lines(text: str, *, credential: bool = False) -> list[tuple[int, int]]:
    """Where ``Content-Disposition`` header lines are in ``text`` (anywhere: a part other
    parsers find where this one does not), only those naming a credential with
    ``credential=True``."""
    return [(m.start(), m.end()) for m in _DISPOSITION.finditer(text)
            if not credential or _mentions_credential(m.group())]


def _coded(cap: Capture) -> str | None:
    """What makes a body's bytes other than its content, as a hidden body says it:
    ``Content-Encoding gzip``, or its transfer codings (``Transfer-Encoding gzip, chunked``:
    stored as received, the gzip bytes; :func:`hooklab.jsonread.body_coding`); ``None``."""
    encoding = (cap.header("content-encoding", trailers=False) or "").strip().lower()
    if encoding not in ("", "identity"):
        return f"Content-Encoding {encoding}"
    if "\n" in (section_coding(cap.header_section) or ""):
        return "Transfer-Encoding " + ", ".join(
            v for k, v in cap.header_section if k.lower() == "transfer-encoding")
    return None


def _whole(cap: Capture, encoding: str | None) -> bytes:
    why = (encoding if encoding is not None
           else cap.charset if cap.charset.strip().lower() not in _ASCII_LIKE
           else "its parts not found")
    return WHOLE_FORM + f" ({cap.size} bytes, {why}): tick 'show credentials'>".encode()


#: how :func:`hidden_form` starts when it hides a form whole (its fields cannot be told apart)
WHOLE_FORM = b"<form body hidden"
URLENCODED = "application/x-www-form-urlencoded"
#: the content types frameworks read as urlencoded forms (Werkzeug takes the second too)
URLENCODED_TYPES = (URLENCODED, "application/x-url-encoded")


class Part(NamedTuple):
    """One part of a ``multipart/form-data`` body: its field ``name`` and ``filename`` (from
    ``Content-Disposition``; ``None`` where absent), its ``content_type``, and where its
    content lies in the body (``start``, ``end``); ``names``: every ``name`` it gives (a
    part naming itself twice is a credential's if either name is); ``flagged``: a
    credential's name appears in its headers (hidden, whatever the name parsed)."""

    name: str | None
    filename: str | None
    content_type: str | None
    start: int
    end: int
    names: tuple[str, ...] = ()
    flagged: bool = False
    head: int = 0  # where its headers start in the body

    @property
    def sensitive(self) -> bool:
        """Whether the part holds a credential: :func:`is_sensitive_field` of any name, or
        (``flagged``) a credential's name anywhere in its headers."""
        return self.flagged or any(is_sensitive_field(n) for n in self.names)


def _boundary(cap: Capture) -> bytes | None:
    """The ``boundary`` parameter of a multipart capture's Content-Type (RFC 2046: 1 to 70
    characters), or ``None``."""
    return boundary_of(cap.header("content-type", trailers=False))


def _parts(body: bytes, boundary: bytes) -> list[Part] | None:
    """:func:`_split_parts`, or ``None`` also when a credential's ``Content-Disposition``
    lies outside the headers of the parts that hide it (a part another parser finds inside
    this one's content): such a form is hidden whole."""
    parts = _split_parts(body, boundary)
    if parts is None:
        return None
    hidden = [(p.head, p.start) for p in parts if p.sensitive]
    for a, _ in _disposition_lines(body.decode("latin-1"), credential=True):
        if not any(h <= a < s for h, s in hidden):
            return None
    return parts


def _split_parts(body: bytes, boundary: bytes) -> list[Part] | None:
    """The parts of a multipart ``body`` (:func:`hooklab.formdata.split_parts`), each flagged
    when a credential's name appears anywhere in its headers (a junk line before them, a
    space before the colon, a backslash in the name: other parsers still read it)."""
    found = split_parts(body, boundary)
    if found is None:
        return None
    return [Part(p.name, p.filename, p.content_type, p.start, p.end, p.names,
                 _mentions_credential(p.head_text), p.head) for p in found]


@_per_capture
def multipart_fields(cap: Capture) -> list[Part] | None:
    r"""The parts of a ``multipart/form-data`` capture (:class:`Part`), or ``None`` (another
    content type, compressed, too large, no parts found).

    >>> from datetime import datetime
    >>> c = Capture(id=1, received_at=datetime.now(), method="POST", path="/f", query={},
    ...             headers=[("Content-Type", "multipart/form-data; boundary=XyZ")],
    ...             body=b'--XyZ\r\nContent-Disposition: form-data; name="to"\r\n\r\n'
    ...                  b'a@b.c\r\n--XyZ--\r\n')
    >>> [(p.name, c.body[p.start:p.end]) for p in multipart_fields(c)]
    [('to', b'a@b.c')]
    """
    if not (cap.content_type or "").startswith(MULTIPART) or not cap.body:
        return None
    if _coded(cap) is not None:
        return None
    boundary = _boundary(cap)
    return _parts(cap.body, boundary) if boundary is not None else None


#: charsets whose bytes for ``=``, ``&`` and letters are ASCII's (a form is split as bytes)
_ASCII_LIKE = frozenset({"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1",
                         "windows-1252", "cp1252"})


#: options whose value is no text to show in an error: an unknown ``--header``, ``--token``,
#: ``--secret-file``... (a terminal's scrollback, a CI log and a saved notebook keep it)
_SECRET_OPTION = re.compile(r"header|secret|token|auth|key|pass|pwd|cookie|sign|credential",
                            re.IGNORECASE)


def shown_words(words: list[str], options: Iterable[str] = ()) -> str:
    r"""Command-line words a parser did not recognise, as an error says them (``%hooklab``'s
    and ``hooklab``'s "unrecognized arguments"): escaped, and the value of an option that may
    carry a credential (``--header "Authorization: Bearer ..."``, ``--token sk_...``) as its
    length only; so is the value of a beginning of one of the parser's ``options`` that
    does (``--sec=...`` of ``--secret``, ``--resig`` of ``--resign-file``: an abbreviation,
    which the parser does not take).

    >>> shown_words(["--colour", "red", "--header", "Authorization: Bearer sk_1", "x"])
    '--colour red --header <hidden: 26 characters> <hidden: 1 character>'
    >>> shown_words(["--token=abc", "\x1b[2J"])
    '--token=<hidden: 3 characters> \\x1b[2J'
    >>> shown_words(["b", "Authorization: Bearer sk_1", "Bearer", "t", "X-Api-Key:", "k1", "x"])
    'b Authorization: <hidden: 11 characters> Bearer <hidden: 1 character> <hidden: 10 characters> <hidden: 2 characters> <hidden: 1 character>'
    >>> shown_words(["--sec=abc", "--res", "abc"], options=["--secret", "--resign-file"])
    '--sec=<hidden: 3 characters> --res <hidden: 3 characters>'

    Any other word, or an option's ``=value``, is said as its length when it holds a
    credential (:func:`looks_like_secret`: ``hooklab serve whsec_...``, ``--bin=ghp_...``):

    >>> shown_words(["sreve", "whsec_MfKQ9r8GKYqrTwjU", "--bin=ghp_aBcD1234"])
    'sreve <hidden: 22 characters> --bin=<hidden: 12 characters>'
    """
    from .capture import printable

    secret_options = [o for o in options if is_credential_option(o)]
    shown, hide = [], False
    for word in words:
        if word.startswith("-") and len(word) > 1:
            name, eq, value = word.partition("=")
            secret = is_credential_option(name) or (
                name.startswith("--") and len(name) > 2
                and any(o.startswith(name) for o in secret_options))
            if looks_like_secret(name):  # (``--ghp_...``: a token typed with dashes)
                shown.append(_characters(len(word)))
                hide = False
                continue
            shown.append(printable(name, 60) + (
                "=" + _characters(len(value)) if eq and (secret or looks_like_secret(value))
                else eq + printable(value, 60)))
            hide = secret and not eq  # (the words after it are its value)
        elif hide:
            shown.append(_characters(len(word)))
        else:  # a header pasted without its option ("Authorization: Bearer sk_..." as words)
            name, colon, value = word.partition(":")
            if colon and _SECRET_OPTION.search(name) and " " not in name.strip():
                shown.append(printable(name, 60) + ":" + (
                    " " + _characters(len(value.strip())) if value.strip() else ""))
                hide = not value.strip()  # ("Authorization:" alone: its value is what follows)
            else:  # (a stray word: a secret pasted without its option, said as its length)
                shown.append(_characters(len(word)) if looks_like_secret(word)
                             else printable(word, 60))
                hide = word.lower() in ("bearer", "basic", "token")
    return " ".join(shown)


def is_credential_option(name: str) -> bool:
    """Whether a command-line option's name says its value may be a credential (``--secret``,
    ``--secret-file``, ``--resign``, ``--token``, ``--header``...): an error names such an
    option but says its value as its length only (:func:`shown_words`).

    >>> is_credential_option("--resign-file"), is_credential_option("--port")
    (True, False)
    """
    return _SECRET_OPTION.search(name) is not None


def _characters(n: int) -> str:
    return f"<hidden: {n} character{'s' if n != 1 else ''}>"


#: a Python string literal as ``repr`` writes it (argparse quotes a value with ``%r``)
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.S)


def shown_option_error(message: str) -> str:
    """A command-line parser's error ``message`` as it can be shown: for an option whose name
    says credential (:func:`is_credential_option`), argparse's ``argument --resign: ignored
    explicit argument 'whsec_...'`` quotes the value, which is said as its length instead.
    Any other option's message is returned as it is, but for a value that looks like a
    credential (below).

    >>> shown_option_error("argument --resign: ignored explicit argument 'whsec_1'")
    'argument --resign: ignored explicit argument <hidden: 7 characters>'
    >>> shown_option_error("argument --port: invalid value: 'x'")
    "argument --port: invalid value: 'x'"

    Any other option's value is said as its length when it looks like a credential
    (:func:`looks_like_secret`: ``--port sk_live_...``, ``--format whsec_...``):

    >>> shown_option_error("argument --format: invalid choice: 'whsec_1234567' (choose from 'har')")
    "argument --format: invalid choice: <hidden: 13 characters> (choose from 'har')"

    A command that is no command is shown when it reads as a mistyped one (a word), else as
    its length (``hooklab --secret whsec_...`` quoted the secret as the "invalid choice"):

    >>> shown_option_error("argument COMMAND: invalid choice: 'sreve' (choose from 'serve')")
    "argument COMMAND: invalid choice: 'sreve' (choose from 'serve')"
    >>> shown_option_error("argument COMMAND: invalid choice: 'whsec_1x' (choose from 'serve')")
    "argument COMMAND: invalid choice: <hidden: 8 characters> (choose from 'serve')"

    argparse's "unrecognized arguments" says each word that holds a credential as its length:

    >>> shown_option_error("unrecognized arguments: --colour whsec_1234567")
    'unrecognized arguments: --colour <hidden: 13 characters>'
    """
    import ast

    def hidden(m: re.Match[str]) -> str:
        try:
            return _characters(len(str(ast.literal_eval(m.group()))))
        except (ValueError, SyntaxError):
            return "<hidden>"

    head, sep, rest = message.partition(": ")
    if sep and head == "argument COMMAND" and rest.startswith("invalid choice: "):
        choice = _QUOTED.match(rest, len("invalid choice: "))
        if choice is None or (re.fullmatch(r"['\"][A-Za-z][A-Za-z-]{0,19}['\"]", choice.group())
                              and not looks_like_secret(choice.group()[1:-1])):
            return message  # (a word: a command mistyped, named to be fixed)
        return head + sep + rest[:choice.start()] + hidden(choice) + rest[choice.end():]
    if head == "unrecognized arguments" and sep:  # (argparse's own: the words as typed)
        return head + sep + " ".join(_characters(len(w)) if looks_like_secret(w) else w
                                     for w in rest.split(" "))
    if not sep or not head.startswith("argument "):
        return message
    if is_credential_option(head):
        return head + sep + _QUOTED.sub(hidden, rest)

    def hidden_if_secret(m: re.Match[str]) -> str:
        try:
            value = str(ast.literal_eval(m.group()))
        except (ValueError, SyntaxError):
            return m.group()
        return _characters(len(value)) if looks_like_secret(value) else m.group()

    return head + sep + _QUOTED.sub(hidden_if_secret, rest)


#: a file name's extension (``.key``, ``.sec``, ``.txt``, ``.pem``): what a secret rarely ends with
_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,7}\Z")


def shown_secret_file(path: str) -> str:
    """The value of an option that names a secret's file (``--secret-file``,
    ``--resign-file``) as an error may quote it: as it is when it names something on disk or
    reads as a file's path (a name with an extension, ``stripe.key``; a folder that exists,
    ``~/keys/stripe``), else its length only. A value that is neither is as likely the
    secret itself, given in place of its file (``--secret-file whsec_...``), and standard
    error goes to terminals and CI logs.

    >>> shown_secret_file("missing.key"), shown_secret_file("-")
    ('missing.key', '-')
    >>> shown_secret_file("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    '<hidden: 38 characters>'
    """
    import os

    if path == "-":
        return path
    try:
        if os.path.lexists(path):
            return path
        folder, name = os.path.split(path)
        if _EXTENSION.search(name) or (folder and os.path.isdir(folder)):
            return path
    except (OSError, ValueError):  # (a NUL in it, a name too long: no file's path)
        pass
    return _characters(len(path))
