"""Whether a value given where a name goes reads as a credential, and how an error quotes
it: the one rule of every error that echoes a value the user typed (``hooklab`` options,
``%hooklab``, an unknown provider, an unrecognized argument). A leaf module (only :mod:`re`),
so that the provider table and the signature schemes can use it too;
:mod:`hooklab.credentials` shows its names.

>>> shown_given("strpe"), shown_given("sk_live_51HxYzAbCdEfGh")
("'strpe'", '<hidden: 22 characters>')
>>> shown_given("stripe:whsec_MfKQ9r8GKYqrTwjUPD8I"), shown_given("evt_1NqXyZ2eZvKYlo2C0abc1234")
('<hidden: 33 characters>', "'evt_1NqXyZ2eZvKYlo2C0abc1234'")
"""

from __future__ import annotations

import re

__all__ = ["looks_like_path_secret", "looks_like_secret", "shown_given"]

#: what a value is cut into words at: a secret pasted after ``stripe:``, ``BIN=NAME ``,
#: ``Bearer``, a comma or inside quotes is a word of its own
_BREAKS = re.compile(r"[\s:=,;'\"`()\[\]{}<>]+")

#: how credentials begin as their issuers document them (Stripe, Slack, GitHub, GitLab,
#: Shopify, npm, PyPI, OpenAI, Anthropic, Square, Paddle), and those whose beginning is also a
#: name's only with the length that follows it (AWS access key ids, SendGrid, Google, Dropbox,
#: Meta, Twilio's key and account ids, Resend's ``re_`` + 8 + ``_`` + 24), and a JSON Web Token
#: (``{"`` in base64url, then two dots). Found at the beginning of any word, or after a ``-``,
#: ``_``, ``.`` or ``/`` within one.
_KNOWN = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"whsec_|[sr]k_(?:live|test)_|xox[abposre]-|xapp-|gh[pousr]_|github_pat_|glpat-|gloas-"
    r"|glptt-|shp(?:at|ss|ca|pa)_|npm_[A-Za-z0-9]{30}|pypi-[A-Za-z0-9_-]{30}|sk-(?:ant|proj)-"
    r"|sq0(?:atp|csp|idp)-|pdl_(?:ntfset|live|sdbx)_|re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}"
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])|SG\.[\w-]{16,}\.[\w-]{16,}|AIza[\w-]{30,}"
    r"|ya29\.[\w-]{20,}|sl\.[\w-]{20,}|EAA[A-Za-z0-9]{20,}|(?:SK|AC)[0-9a-fA-F]{32}"
    r"|eyJ[\w-]*\.[\w-]*\.)")
_HEX_RUN = re.compile(r"[0-9a-fA-F]{32,}")
#: a UUID (GitHub's delivery id, Shopify's webhook id...): an id to be shown, not a token
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
#: an object id as APIs write them, its beginning naming the kind of object: Stripe's
#: (``evt_1NqXyZ...``, ``ch_``, ``cus_``, ``pi_``, ``in_``, ``sub_``...), Svix's and the Standard
#: Webhooks' (``msg_2KWP...``, ``ep_``, ``app_``), Paddle's (``ctm_``, ``txn_``, ``ntf_``...),
#: Clerk's and WorkOS's (``user_``, ``org_``...), then 6 to 34 letters and digits. Only these:
#: ``re_`` (Resend's API keys, and Stripe's refunds), ``sk_``, ``pk_``, ``tok_``, ``ac_`` or any
#: other word before ``_`` begins keys as well, and is judged as any token is.
_OBJECT_ID = re.compile(
    r"(?:evt|ch|cus|pi|pm|py|in|ii|il|sub|si|acct|txn|price|prod|po|tr|src|card|ba|seti|dp|du"
    r"|cn|fee|fr|file|cbtxn|plink|promo|msg|ep|app|ctm|ntf|add|adj|biz|dsc|pri|pro|user|org"
    r"|sess|conn|event)_[A-Za-z0-9]{6,34}")
#: a run of token characters (base64, base64url); ``.`` and ``:`` end one (hosts, names)
_TOKEN_RUN = re.compile(r"[A-Za-z0-9+/_-]{20,}=*")
#: the pieces a person writes names of: a word (``Webhook``, ``data``, ``EU``) or a number
_PIECE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
#: a password's punctuation (``P@ssw0rd-2024!``); URLs' own (``/ . ? & % #``) is not counted
_PASSWORD_MARKS = re.compile(r"[!@$^*]")
_CREDENTIAL_WORD = re.compile(r"pass(?:word|wd|phrase)|secret", re.IGNORECASE)


def _choppy(run: str) -> bool:
    """Whether a run of token characters reads as base64 drawn at random: 20 letters and
    digits or more mixing upper and lower case, in pieces shorter than a name's (random base64
    changes between upper case, lower case and digits every second character or so: fewer
    than 3 characters a piece, 2.5 without digits; ``MyWebhookHandler2024`` has 5, and
    ``/Users/Me/Projects`` and ``stripe-prod-2024-eu-west`` are words)."""
    chars = sum(c.isalnum() for c in run)
    if chars < 20 or not (any(c.isupper() for c in run) and any(c.islower() for c in run)):
        return False
    digits = any(c.isdigit() for c in run)
    return chars / max(len(_PIECE.findall(run)), 1) < (3.0 if digits else 2.5)


#: a run of consonants (``y`` is none), as in no name: ``eventsstripe`` has 6 between words
_CONSONANTS = re.compile(r"[b-df-hj-np-tv-xz]{7,}", re.IGNORECASE)


def _random_part(part: str) -> bool:
    """Whether a part (between ``-``, ``_``, ``/`` and ``+``) of 20 letters and digits or more,
    all of one case, both letters and digits, is drawn at random rather than words run
    together: hex (``4f7890604024d3f45b3bb91f``, a key or a digest), or with no word's
    structure: digits in 3 places or more, 7 consonants in a row, or fewer than a quarter of
    its letters vowels (``hof5gwx0su6owfnys0yan9c87zr6t``; ``mywebhookhandler2024`` is words)."""
    if len(part) < 20 or not part.isalnum() or not part.isascii() or part.isdigit() \
            or part.isalpha() or not (part.islower() or part.isupper()):
        return False
    letters = [c for c in part.lower() if c.isalpha()]
    return (all(c in "abcdef" for c in letters) or len(re.findall(r"[0-9]+", part)) >= 3
            or _CONSONANTS.search(part) is not None
            or sum(c in "aeiouy" for c in letters) < len(letters) / 4)


def _random_run(run: str) -> bool:
    """Whether a run of token characters reads as drawn at random (:func:`_choppy`,
    :func:`_random_part`), unless it is an object id (``evt_1NqXyZ...``)."""
    if _OBJECT_ID.fullmatch(run):
        return False
    return _choppy(run) or any(_random_part(part) for part in re.split(r"[-_/+]", run))


def _random_path(path: str) -> bool:
    """Whether a path holds a token: its folders are names, and a hash among them
    (``/nix/store/6m1n...-python3``, ``.git/objects/4f/7890...``) one too; random base64 in
    a folder, or the whole path so (``/+QERKaBrMRPc+/eU2IR4/...``, a key that begins with
    ``/``), is not."""
    return any(_choppy(run) for run in _TOKEN_RUN.findall(path) + path.split("/"))


def _secret_word(word: str) -> bool:
    if len(word) < 8:
        return False
    if _KNOWN.search(word):
        return True
    if word.startswith(("/", "~", "./", "../")):
        return _random_path(word)
    if _HEX_RUN.search(word):
        return True
    if _CREDENTIAL_WORD.search(word) and re.fullmatch(r"[A-Za-z0-9]{10,}", word):
        return True  # (mysupersecretpassword)
    if (_PASSWORD_MARKS.search(word) and "/" not in word and "." not in word
            and any(c.isalpha() for c in word) and any(c.isdigit() for c in word)):
        return True  # (P@ssw0rd-2024!)
    return any(_random_run(run) for run in _TOKEN_RUN.findall(_UUID.sub("-", word)))


def looks_like_path_secret(segment: str) -> bool:
    """Whether a segment of a URL's path holds a credential, as :func:`looks_like_secret`
    judges a path: a well-known key's beginning or a JSON Web Token, or random base64 (mixing
    cases in short pieces); a hash among folders (hex, one case: a git object, a Nix store
    entry), a UUID, an object id or a name does not.

    >>> [looks_like_path_secret(s) for s in ("Yq3ZkP9sLw2RtX7vBn5MhJ4cFd8GaE6u", "xoxb-1-2-abc",
    ...                                      "6m1n6sj0ql5v7ckfm2wg7yfvg1n7xq8l-python3", "github",
    ...                                      "evt_1NqXyZ2eZvKYlo2C0abc1234")]
    [True, True, False, False, False]
    """
    if len(segment) < 8 or _OBJECT_ID.fullmatch(segment):
        return False
    return _KNOWN.search(segment) is not None or _random_path(segment)


def looks_like_secret(text: str) -> bool:
    """Whether ``text``, given where a name goes (a provider, an event type, a command, a
    bin, a host, a time), holds a credential pasted in the wrong place. ``text`` is cut into
    words at whitespace, ``:``, ``=``, ``,`` and quotes, and any word counts: a well-known
    key's beginning (``whsec_``, ``sk_live_``, ``xoxb-``, ``ghp_``, ``glpat-``, ``AKIA``...), a
    JSON Web Token, 20 hex digits or more (mixing letters and digits; 32 or more in any case),
    a password's shape (letters, digits and ``!@$``..., or ``password``/``secret`` inside one
    run of letters), or a run of 20 letters and digits or more drawn at random: mixing cases
    in short pieces, or of one case with no word in it. Names, API object ids (a UUID,
    ``evt_1NqX...``, ``msg_...``; not any ``word_``: ``re_`` begins Resend's keys), times,
    hosts and paths (a hash among their folders too) do not: an error says those as given
    (to be fixed) and such values as their length only (:func:`shown_given`).

    >>> [looks_like_secret(t) for t in ("whsec_abc", "stripe:whsec_abc", "orders=stripe xoxb-1-2")]
    [True, True, True]
    >>> looks_like_secret("Zm9vYmFyYmF6cXV4MTIzNDU2"), looks_like_secret("P@ssw0rd-2024!")
    (True, True)
    >>> [looks_like_secret(t) for t in ("re_c1tpEyD8NKFusih9vKVQknRAQfmFcWCv",
    ...                                 "4f7890604024d3f45b3bb91f", "hof5gwx0su6owfnys0yan9c87zr6t")]
    [True, True, True]
    >>> [looks_like_secret(t) for t in ("strpe", "123e4567-e89b-12d3-a456-426614174000",
    ...                                 "hooklab-7d4b9c8f6-x2k9p", "2026-12-07T06-08-04Z",
    ...                                 "/nix/store/6m1n6sj0ql5v7ckfm2wg7yfvg1n7xq8l-python3")]
    [False, False, False, False, False]
    """
    return any(_secret_word(word) for word in _BREAKS.split(text))


def shown_given(text: str, limit: int = 60) -> str:
    """A value the user gave, as an error quotes it: ``repr``-quoted, escaped and cut to
    ``limit`` characters, or its length only when it holds a credential
    (:func:`looks_like_secret`): ``--provider stripe=whsec_...`` put the secret where the
    provider's name goes, and standard error goes to terminals, CI logs and saved notebooks.

    >>> shown_given("strpe"), shown_given("whsec_TOPSECRET123456")
    ("'strpe'", '<hidden: 21 characters>')
    """
    if looks_like_secret(text):
        return f"<hidden: {len(text)} character{'s' if len(text) != 1 else ''}>"
    return repr(text[:limit]) + (f" (+{len(text) - limit} characters)" if len(text) > limit else "")
