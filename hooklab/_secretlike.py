"""Whether a value given where a name goes reads as a credential, and how an error quotes
it: the one rule of every error that echoes a value the user typed (``hooklab`` options,
``%hooklab``, an unknown provider). A leaf module (only :mod:`re`), so that the provider table
and the signature schemes can use it too; :mod:`hooklab.credentials` shows its names.

>>> shown_given("strpe"), shown_given("sk_live_51HxYzAbCdEfGh")
("'strpe'", '<hidden: 22 characters>')
"""

from __future__ import annotations

import re

__all__ = ["looks_like_secret", "shown_given"]

#: how well-known credentials begin (Stripe, Slack, GitHub, GitLab, AWS, Shopify, SendGrid,
#: Google...) and a JSON Web Token's shape
_SECRET_SHAPES = re.compile(
    r"(?:whsec_|[sr]k_(?:live|test)_|xox[abposre]-|xapp-|gh[pousr]_|github_pat_|glpat-"
    r"|AKIA|ASIA|shp(?:at|ss|ca|pa)_|SG\.|AIza|ya29\.|npm_|pypi-|sl\.|EAA[A-Za-z0-9])"
    r"|(?i:eyJ)[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.")
_HEX_RUN = re.compile(r"[0-9a-fA-F]{32,}")
#: a token's characters (base64, base64url, hex; no ``.`` or ``:``, which names, hosts and
#: URLs hold)
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-+/=]{20,}")


def looks_like_secret(text: str) -> bool:
    """Whether ``text``, given where a name goes (a provider, an event type, a command), reads
    as a credential pasted in the wrong place: a well-known key's beginning (``whsec_``,
    ``sk_live_``, ``xoxb-``, ``ghp_``...), a JSON Web Token, 32 hex digits or more, or 20
    token characters or more mixing letters and digits. Names never do: an error says
    those as given (to be fixed) and such values as their length only
    (:func:`shown_given`).

    >>> [looks_like_secret(t) for t in ("whsec_abc", "xoxb-1-2", "a" * 5 + "0" * 35, "strpe")]
    [True, True, True, False]
    >>> looks_like_secret("payment_intent.succeeded"), looks_like_secret("Zm9vYmFyYmF6cXV4MTIzNDU2")
    (False, True)
    """
    word = text.strip()
    if len(word) < 8:
        return False
    if _SECRET_SHAPES.match(word) or _HEX_RUN.search(word):
        return True
    return (_TOKEN_CHARS.fullmatch(word) is not None and any(c.isdigit() for c in word)
            and any(c.isalpha() for c in word))


def shown_given(text: str, limit: int = 60) -> str:
    """A value the user gave, as an error quotes it: ``repr``-quoted, escaped and cut to
    ``limit`` characters, or its length only when it looks like a credential
    (:func:`looks_like_secret`): ``--provider stripe=whsec_...`` put the secret where the
    provider's name goes, and standard error goes to terminals, CI logs and saved notebooks.

    >>> shown_given("strpe"), shown_given("whsec_TOPSECRET123456")
    ("'strpe'", '<hidden: 21 characters>')
    """
    if looks_like_secret(text):
        return f"<hidden: {len(text)} character{'s' if len(text) != 1 else ''}>"
    return repr(text[:limit]) + (f" (+{len(text) - limit} characters)" if len(text) > limit else "")
