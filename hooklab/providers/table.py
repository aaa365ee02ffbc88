"""The provider table: one entry per webhook sender.

Each :class:`Provider` says how to recognise a delivery (headers or payload shape), where its
event type and delivery id are, how it is signed (a scheme name plus that scheme's parameters,
implemented in :mod:`hooklab.signatures`), which endpoint handshake it performs, which sample
events :func:`hooklab.send` can make, where its documentation is and which official SDK the
test suite checks it against.

>>> TABLE["github"].scheme, TABLE["github"].sig["header"]
('hmac', 'X-Hub-Signature-256')
>>> TABLE["clerk"].family
'svix'

Adding a provider whose scheme is a common one is one entry here: an HMAC over the body or over
``timestamp.body`` (``scheme="hmac"`` with ``header``, ``algo``, ``enc``, ``prefix``, ``msg``...),
Standard Webhooks (``scheme="standardwebhooks"``) or a shared token (``scheme="token"``).
Formats follow each provider's public documentation and official SDK sources (``docs``, ``sdk``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["DEFAULT_TOLERANCE", "PROVIDERS", "TABLE", "Provider"]

#: seconds a signed timestamp may differ from ``now`` unless a provider says otherwise (``0``
#: disables the check); ``hooklab.signatures.DEFAULT_TOLERANCE`` is this
DEFAULT_TOLERANCE = 300


@dataclass(frozen=True)
class Provider:
    """One webhook sender.

    ``detect``: lower-case header names; any present marks a delivery as this provider
    (checked in table order, so specific entries come before generic ones); ``agent``: a
    ``User-Agent`` prefix that marks it too (unsigned deliveries). ``shape``: a
    predicate on the parsed JSON payload, for senders recognised by their body (alone, or
    together with ``detect`` when several providers share a header); ``shape_alone``: the
    ``shape`` marks it without any ``detect`` header too (a provider whose signing is optional
    sends unsigned deliveries, which carry none); ``hint``: bytes a body
    must contain before it is parsed for ``shape`` (keeps detection cheap). ``event`` / ``delivery``:
    alternatives tried in order; each is ``"h:<header>"`` (``"h:<header>=<value>"``: that
    value, only when the header has it: Twitch's ``revocation`` message), ``"j:<dotted.path>"``
    (``"j:<dotted.path>=<value>"``: that value, only when the field has it),
    ``"q:<query param>"``, ``"k:<glob>"`` (the name of a matching top-level key),
    ``"xml:<form field>/<tag>"`` (a tag of base64 XML in a form field), ``"c:<text>"`` (that
    text: an event type no field names) or ``"if:<dotted.path>"`` (nothing, but the
    alternative holds only when the path is in the payload), or several joined by ``+``
    (joined with ``.``; for ``event`` parts after the first may be missing, for ``delivery``
    every part must be there: an id short of a part could name two deliveries).
    ``event_names``: event values renamed (Discord's interaction types are numbers).
    A delivery id names one delivery, the same on the sender's retries and never on another
    delivery: an event's, notification's or request's own id, or else the event type, the
    object and a time the payload carries (never the object's id alone: every event of one
    order, message or run has it), or none (then no capture is flagged ``duplicate``).
    ``scheme`` names the signature family and ``sig`` its parameters
    (see :mod:`hooklab.signatures`). ``handshake``: the endpoint check this provider performs
    (see :mod:`hooklab.providers.handshake`). ``events``: sample event names (the first is the
    default). ``family``: the generic provider whose format this one shares. ``tolerance``:
    seconds a signed timestamp may be older than its arrival, as the provider's docs and
    official SDK say (300 s, as most do, where they say nothing; ``0``, no window, where the
    provider's own verifier checks no age, as Sanity's); ``ahead``: seconds it may be ahead
    of it (``None``: ``tolerance``, the same window both ways; ``math.inf``: not checked, where
    the provider's verifier refuses old ones only, as Stripe's).

    >>> TABLE["paddle"].tolerance, TABLE["stripe"].ahead, TABLE["box"].ahead
    (5, inf, 0)
    """

    id: str
    name: str
    scheme: str
    sig: Mapping[str, Any] = field(default_factory=dict)
    detect: tuple[str, ...] = ()
    agent: str = ""
    shape: Callable[[Any], bool] | None = None
    event: tuple[str, ...] = ()
    delivery: tuple[str, ...] = ()
    hint: bytes = b""
    shape_alone: bool = False
    event_names: Mapping[str, str] = field(default_factory=dict)
    handshake: str | None = None
    events: tuple[str, ...] = ()
    family: str | None = None
    secret: str = "the webhook signing secret"
    docs: str = ""
    sdk: str = ""
    tolerance: float = DEFAULT_TOLERANCE
    ahead: float | None = None

    @property
    def timestamped(self) -> bool:
        """Whether the signature covers a timestamp (so stale deliveries can be refused)."""
        s = self.sig
        if self.scheme == "hmac":
            return any(k in s for k in ("ts", "kv", "positional", "ts_json"))
        if self.scheme == "jwt" or self.scheme == "jws":
            return "max_age" in s
        return self.scheme in ("standardwebhooks", "ed25519", "ecdsa", "hubspot", "mailgun",
                               "paypal")  # (not sns: a retry keeps the first Timestamp)

    @property
    def binds_body(self) -> bool:
        """Whether the signature covers the whole body (a token or a signature over a few
        fields, a timestamp or the URL alone does not)."""
        if self.scheme in ("jwt", "jws"):
            return "body_claim" in self.sig
        return self.scheme not in ("token", "basic", "mailgun", "plivo", "adyen", "sns")


def _d(**kw: Any) -> Mapping[str, Any]:
    return MappingProxyType(kw)


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(obj, list) and part.isdigit():
            obj = obj[int(part)] if int(part) < len(obj) else None
        elif isinstance(obj, dict):
            obj = obj.get(part)
        else:
            return None
    return obj


def _has(*paths: str) -> Callable[[Any], bool]:
    """A shape predicate: every dotted path is present in the payload."""
    return lambda d: isinstance(d, dict) and all(_get(d, p) is not None for p in paths)


def _auth0_shape(d: Any) -> bool:
    """An Auth0 log stream's delivery: a JSON array of log events, or one event (the stream's
    "JSON array" / "JSON object" formats), each ``{"log_id": ..., "data": {...}}``."""
    first = d[0] if isinstance(d, list) and d else d
    return isinstance(first, dict) and "log_id" in first and isinstance(first.get("data"), dict)


#: the ``object`` of Meta's webhook payloads (Graph API webhooks reference: the topics an
#: app subscribes to), enough on their own beside an ``entry`` list
_META_OBJECTS = frozenset({"page", "user", "permissions", "payments", "application", "instagram",
                           "whatsapp_business_account", "certificate_transparency"})


def _meta_shape(d: Any) -> bool:
    """A Meta delivery: ``object`` and an ``entry`` list whose first entry has an ``id`` and
    ``changes`` (Graph API, WhatsApp, Instagram), ``messaging`` or ``standby`` (Messenger);
    an ``object`` Meta names (``page``, ``whatsapp_business_account``...) is enough. Any JSON
    with ``object`` and ``entry`` was Meta's before, ``{"object": "thing", "entry": [...]}``
    too."""
    if not isinstance(d, dict) or not isinstance(d.get("object"), str) \
            or not isinstance(d.get("entry"), list):
        return False
    if d["object"] in _META_OBJECTS:
        return True
    first = d["entry"][0] if d["entry"] else None
    return isinstance(first, dict) and "id" in first and any(
        isinstance(first.get(k), list) for k in ("changes", "messaging", "standby"))


def _sendgrid_shape(d: Any) -> bool:
    """A SendGrid Event Webhook POST: a JSON array of events, each with ``email``, ``event``
    and ``sg_event_id`` (twilio.com/docs/sendgrid event webhook reference); signing it is
    optional, so an unsigned one carries no header of SendGrid's."""
    first = d[0] if isinstance(d, list) and d else None
    return isinstance(first, dict) and all(
        isinstance(first.get(k), str) for k in ("email", "event", "sg_event_id"))


#: the keys beside ``webhook_id`` and ``event`` that name what a ClickUp event is about
#: (developer.clickup.com task, list, folder, space and goal webhook payloads)
_CLICKUP_OBJECTS = ("history_items", "task_id", "list_id", "folder_id", "space_id", "goal_id",
                    "key_result_id")


def _clickup_shape(d: Any) -> bool:
    """A ClickUp delivery: ``webhook_id``, ``event`` and the object it is about; ``webhook_id``
    and ``event`` alone are common words (``{"webhook_id", "event", "data"}`` was ClickUp's)."""
    return isinstance(d, dict) and isinstance(d.get("webhook_id"), str) \
        and isinstance(d.get("event"), str) and any(k in d for k in _CLICKUP_OBJECTS)


def _adyen_shape(d: Any) -> bool:
    items = d.get("notificationItems") if isinstance(d, dict) else None
    return isinstance(items, list) and bool(items) and isinstance(items[0], dict) \
        and "NotificationRequestItem" in items[0]


#: the keys of Postmark's inbound webhook besides ``MessageID`` (postmarkapp.com/developer/
#: webhooks/inbound-webhook; the official client's ``InboundMessage``): the parsed email
_POSTMARK_INBOUND = ("From", "To", "Subject", "OriginalRecipient", "MailboxHash")


def _postmark_shape(d: Any) -> bool:
    """A Postmark delivery: a message event (``RecordType`` and ``MessageID``: Delivery,
    Bounce, Open...), or an inbound email, which has no ``RecordType``: its ``MessageID``,
    ``FromFull`` (an object with its ``Email``), ``ToFull`` (a list) and the parsed email's
    :data:`_POSTMARK_INBOUND` keys; another sender's parsed email (Mailgun's, SendGrid's,
    Mailjet's...) names its fields otherwise."""
    if not isinstance(d, dict) or d.get("MessageID") is None:
        return False
    if "RecordType" in d:
        return d["RecordType"] is not None
    sender = d.get("FromFull")
    return isinstance(d["MessageID"], str) and isinstance(sender, dict) and "Email" in sender \
        and isinstance(d.get("ToFull"), list) and all(k in d for k in _POSTMARK_INBOUND)


def _pipedrive_shape(d: Any) -> bool:
    """A Pipedrive delivery: ``meta`` with an ``action`` and, in v1, ``object`` and ``current``
    or, in v2 (the default since 2025), ``entity`` and ``data``; ``current`` / ``data`` is null
    when the object was deleted, so only its key is required."""
    meta = d.get("meta") if isinstance(d, dict) else None
    return isinstance(meta, dict) and "action" in meta and (
        ("object" in meta and "current" in d) or ("entity" in meta and "data" in d))


def _msgraph_shape(d: Any) -> bool:
    """A Graph notification collection: ``value[0]`` has ``subscriptionId`` and, as the
    changeNotification resource requires, ``changeType`` and ``resource`` (a change
    notification) or ``lifecycleEvent`` (a lifecycle notification); any ``value`` list of
    objects with a ``subscriptionId`` was Graph's before."""
    v = d.get("value") if isinstance(d, dict) else None
    first = v[0] if isinstance(v, list) and v else None
    return isinstance(first, dict) and "subscriptionId" in first and (
        ("changeType" in first and "resource" in first) or "lifecycleEvent" in first)




def _swh_entry(pid: str, name: str, prefix: str, *, shape: Callable[[Any], bool] | None = None,
               events: tuple[str, ...], docs: str, sdk: str = "", secret: str = "",
               event: tuple[str, ...] = ("j:type",), delivery: tuple[str, ...] | None = None,
               ) -> Provider:
    family = "svix" if prefix == "svix" else "standardwebhooks"
    return Provider(
        pid, name, "standardwebhooks", _d(prefix=prefix), detect=(f"{prefix}-id",), shape=shape,
        event=event,
        delivery=delivery or (f"h:{prefix}-id",), events=events,
        family=None if pid == family else family,
        # (the official SDK's endpoint verification: a webhook-challenge header)
        handshake="standardwebhooks" if pid == "standardwebhooks" else None,
        secret=secret or "the endpoint's signing secret (whsec_...)", docs=docs, sdk=sdk)


#: the most X-DocuSign-Signature-<n> headers looked at (a bound, not a documented limit:
#: DocuSign's docs say one header per active HMAC key; third-party guides say up to 100)
_DOCUSIGN_KEYS = 100


# Order matters for detection: providers with their own headers first, then those recognised
# by headers they share with others plus a payload shape, then the generic families.
_ENTRIES: tuple[Provider, ...] = (
    # -- source control, CI, developer tools ---------------------------------------------------
    # (before GitHub: a Gitea delivery carries X-GitHub-Event too)
    # (services/webhook/deliver.go: the same HMAC-SHA256 hex in X-Gitea-Signature and
    # X-Gogs-Signature, GitHub's two headers beside; each empty without a secret)
    Provider("gitea", "Gitea / Forgejo", "hmac",
             _d(header="X-Gitea-Signature",
                copies=(("X-Gogs-Signature", "", "sha256"), ("X-Hub-Signature", "sha1=", "sha1"),
                        ("X-Hub-Signature-256", "sha256=", "sha256"))),
             detect=("x-gitea-event",), event=("h:x-gitea-event",), delivery=("h:x-gitea-delivery",),
             events=("push",), docs="https://docs.gitea.com/usage/webhooks"),
    Provider("github", "GitHub", "hmac",
             _d(header="X-Hub-Signature-256", prefix="sha256=", legacy=("X-Hub-Signature", "sha1=", "sha1"),
                copies=(("X-Hub-Signature", "sha1=", "sha1"),),  # (sent beside, legacy)
                missing_hint="(was the webhook created without a secret?)"),
             detect=("x-github-event",), event=("h:x-github-event+j:action",),
             delivery=("h:x-github-delivery",),
             events=("push", "pull_request.opened", "issues.opened", "ping"),
             docs="https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries"),
    Provider("gitlab", "GitLab", "token",
             # signed: GitLab's signing token (GitLab 19, MR 230944; whsec_<base64 of 32 bytes>)
             # signs as Standard Webhooks: webhook-id (= Idempotency-Key), webhook-timestamp,
             # webhook-signature "v1,<base64>"; checked when webhook-signature comes
             _d(header="X-Gitlab-Token", signed="webhook",
                missing_hint="(was the webhook created without a secret token?)"),
             detect=("x-gitlab-event", "x-gitlab-token"),
             event=("h:x-gitlab-event", "j:object_kind"),
             # Idempotency-Key (17.4+) is the same on a retry; X-Gitlab-Event-UUID is shared by
             # the webhooks an earlier webhook triggered (docs' delivery headers): older GitLab only
             delivery=("h:idempotency-key", "h:x-gitlab-event-uuid", "h:x-gitlab-webhook-uuid"),
             events=("push",),
             secret="the webhook's secret token",
             docs="https://docs.gitlab.com/user/project/integrations/webhooks/"),
    Provider("bitbucket", "Bitbucket Cloud", "hmac", _d(header="X-Hub-Signature", prefix="sha256="),
             # (Data Center and Server send X-Request-Id, "a unique UUID for each webhook
             # request", where Cloud sends X-Request-UUID)
             detect=("x-event-key",), event=("h:x-event-key",),
             delivery=("h:x-request-uuid", "h:x-request-id"),
             events=("repo:push",),
             docs="https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/"),
    Provider("jira", "Jira Cloud", "hmac",
             _d(header="X-Hub-Signature", prefix="sha256=",
                jwt_hint="the Authorization header carries a JWT instead, as Jira signs "
                         "webhooks that OAuth 2.0 and Connect apps register (with the app's "
                         "secret); hooklab checks X-Hub-Signature, which only admin webhooks "
                         "created with a secret carry"),
             detect=("x-atlassian-webhook-identifier",), event=("j:webhookEvent",),
             delivery=("h:x-atlassian-webhook-identifier",), events=("jira:issue_created",),
             docs="https://developer.atlassian.com/cloud/jira/platform/webhooks/"),
    Provider("circleci", "CircleCI", "hmac", _d(header="circleci-signature", prefix="v1=", multi=","),
             detect=("circleci-signature", "circleci-event-type"),
             event=("h:circleci-event-type", "j:type"), delivery=("j:id",),
             events=("workflow-completed",),
             docs="https://circleci.com/docs/webhooks/"),
    Provider("buildkite", "Buildkite", "hmac",
             _d(header="X-Buildkite-Signature", kv=",", ts_key="timestamp", sig_key="signature",
                msg="{ts}.{body}", token="X-Buildkite-Token"),
             detect=("x-buildkite-event",), event=("h:x-buildkite-event", "j:event"),
             delivery=("h:x-buildkite-request",),
             events=("build.finished",), docs="https://buildkite.com/docs/apis/webhooks"),
    Provider("terraform", "HCP Terraform", "hmac",
             _d(header="X-TFE-Notification-Signature", algo="sha512"),
             detect=("x-tfe-notification-signature",), event=("j:notifications.0.trigger",),
             # no notification id; run_id is the run's, in every stage's notification: the
             # trigger and the time the run reached it make one (a verification has no run)
             delivery=("j:notifications.0.trigger+j:run_id+j:notifications.0.run_updated_at",),
             events=("run:completed",),
             docs="https://developer.hashicorp.com/terraform/cloud-docs/api-docs/notification-configurations"),
    Provider("sentry", "Sentry", "hmac", _d(header="Sentry-Hook-Signature"),
             detect=("sentry-hook-resource", "sentry-hook-signature"),
             event=("h:sentry-hook-resource+j:action",),
             # not Request-ID: Sentry makes a new one for each attempt. Per resource, from its
             # payload: an error's (or alerted event's) event_id (with the rule: one event may
             # trip several), a comment's id and change time, an installation's uuid, issue
             # created and metric alert resolved (once per issue, per incident); none for other
             # issue actions, metric alerts critical / warning and seer, which can repeat on one
             # object with nothing in the payload to tell them apart
             delivery=("h:sentry-hook-resource=error+j:action+j:data.error.event_id",
                       "h:sentry-hook-resource=event_alert+j:action+j:data.event.event_id"
                       "+j:data.triggered_rule",
                       "h:sentry-hook-resource=comment+j:action+j:data.comment_id+j:data.timestamp",
                       "h:sentry-hook-resource=installation+j:action+j:data.installation.uuid",
                       "h:sentry-hook-resource=issue+j:action=created+j:data.issue.id",
                       "h:sentry-hook-resource=metric_alert+j:action=resolved"
                       "+j:data.metric_alert.id"),
             events=("issue.created",), secret="the integration's client secret",
             docs="https://docs.sentry.io/organization/integrations/integration-platform/webhooks/"),
    Provider("vercel", "Vercel", "hmac", _d(header="x-vercel-signature", algo="sha1"),
             detect=("x-vercel-signature",), event=("j:type",), delivery=("j:id",),
             events=("deployment.succeeded",),
             docs="https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks"),
    Provider("netlify", "Netlify", "jws",
             _d(header="X-Webhook-Signature", alg="HS256", iss="netlify", body_claim="sha256",
                body_enc="hex"),
             detect=("x-netlify-event",), event=("h:x-netlify-event",),
             # the body is the deploy (or form submission) itself: its id is in every event
             # of one deploy, and each event happens once per deploy
             delivery=("h:x-netlify-event+j:id",), events=("deploy_created",), secret="the JWS secret token of the notification", sdk="PyJWT",
             docs="https://docs.netlify.com/site-deploys/deploy-notifications/#payload-signature"),
    Provider("launchdarkly", "LaunchDarkly", "hmac", _d(header="X-LD-Signature"),
             detect=("x-ld-signature",), event=("j:kind+j:titleVerb",), delivery=("j:_id",),
             events=("flag",), docs="https://launchdarkly.com/docs/home/connect/webhooks"),
    Provider("linear", "Linear", "hmac",
             _d(header="Linear-Signature", ts_json="webhookTimestamp"), tolerance=60,
             detect=("linear-delivery", "linear-signature"),
             event=("h:linear-event+j:action", "j:type+j:action"),
             delivery=("h:linear-delivery",), events=("Issue.create",),
             docs="https://linear.app/developers/webhooks"),
    Provider("pagerduty", "PagerDuty", "hmac",
             _d(header="X-PagerDuty-Signature", prefix="v1=", multi=","),
             detect=("x-pagerduty-signature", "x-webhook-subscription"),
             event=("j:event.event_type",), delivery=("j:event.id",),
             events=("incident.triggered",),
             docs="https://developer.pagerduty.com/docs/webhooks-v3-overview"),
    # -- commerce and payments -------------------------------------------------------------------
    Provider("stripe", "Stripe", "hmac",
             _d(header="Stripe-Signature", kv=",", ts_key="t", sig_key="v1", msg="{ts}.{body}",
                hint="(Stripe endpoint secrets start with whsec_)", hint_unless="whsec_"),
             # stripe Webhook.construct_event: DEFAULT_TOLERANCE 300, old ones only
             ahead=math.inf,
             detect=("stripe-signature",), agent="Stripe/", event=("j:type",),
             delivery=("j:id",),
             events=("payment_intent.succeeded", "checkout.session.completed", "invoice.paid",
                     "charge.refunded"),
             secret="the endpoint's signing secret (whsec_...)",
             docs="https://docs.stripe.com/webhooks#verify-manually", sdk="stripe"),
    # webhooks send X-Shopify-*; Events deliveries (shopify.dev/docs/apps/build/events:
    # verify-deliveries, delivery-structure) the same headers without the X- prefix
    # (Shopify-Hmac-Sha256, Shopify-Topic, Shopify-Webhook-Id...; @shopify/shopify-api's
    # WEBHOOK_HEADER_NAMES.events); an Events topic is a resource (Product), the body's
    # "action" (always there) what happened to it: the event type is "Product.update"
    Provider("shopify", "Shopify", "hmac",
             _d(header="X-Shopify-Hmac-Sha256", enc="b64", also=("Shopify-Hmac-Sha256",),
                missing_hint="(nor Shopify-Hmac-Sha256, as Shopify's Events send it)",
                hint="(Shopify signs with the app's client secret, not an access token)"),
             detect=("x-shopify-topic", "x-shopify-hmac-sha256", "shopify-topic",
                     "shopify-hmac-sha256"),
             event=("h:x-shopify-topic", "h:shopify-topic+j:action"),
             delivery=("h:x-shopify-webhook-id", "h:shopify-webhook-id"), events=("orders/create",),
             secret="the app's client secret",
             docs="https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-2-validate-the-origin-of-your-webhook-to-ensure-its-coming-from-shopify"),
    Provider("paddle", "Paddle Billing", "hmac",
             _d(header="Paddle-Signature", kv=";", ts_key="ts", sig_key="h1", msg="{ts}:{body}",
                unsupported=(b"p_signature", "Paddle Classic p_signature (RSA) is not "
                             "supported; only Paddle Billing's Paddle-Signature header")),
             detect=("paddle-signature",), event=("j:event_type",), delivery=("j:event_id",),
             events=("transaction.completed",),
             secret="the notification destination's secret key (pdl_ntfset_...)",
             # "The SDK helper methods enforce a five-second timestamp tolerance by default"
             # (the docs); paddle_billing Verifier(maximum_variance=5): both ways
             tolerance=5,
             docs="https://developer.paddle.com/webhooks/signature-verification",
             sdk="paddle-python-sdk"),
    Provider("square", "Square", "hmac",
             _d(header="x-square-hmacsha256-signature", enc="b64", msg="{url}{body}",
                legacy=("x-square-signature", "", "sha1")),
             detect=("x-square-hmacsha256-signature", "x-square-signature"), event=("j:type",),
             delivery=("j:event_id",), events=("payment.updated",),
             secret="the subscription's signature key",
             docs="https://developer.squareup.com/docs/webhooks/step3validate", sdk="squareup"),
    Provider("hubspot", "HubSpot", "hubspot", _d(),
             detect=("x-hubspot-signature-v3", "x-hubspot-signature"),
             event=("j:0.subscriptionType",),
             # eventId "is not guaranteed to be unique" (HubSpot's payload reference): with
             # the subscription, the account and the time, all the same on a retry
             # (attemptNumber is the one field a retry changes)
             delivery=("j:0.eventId+j:0.subscriptionId+j:0.portalId+j:0.occurredAt",),
             events=("contact.creation",), secret="the app's client secret",
             # "Reject the request if the timestamp is older than 5 minutes" (v3; the docs);
             # hubspot-api-client Signature MAX_ALLOWED_TIMESTAMP 300: old ones only
             ahead=math.inf,
             docs="https://developers.hubspot.com/docs/api/webhooks/validating-requests",
             sdk="hubspot-api-client"),
    Provider("woocommerce", "WooCommerce", "hmac", _d(header="X-WC-Webhook-Signature", enc="b64"),
             detect=("x-wc-webhook-topic", "x-wc-webhook-signature"),
             # (the ping a webhook's creation sends, WC_Webhook::deliver_ping: the form
             # "webhook_id=<id>" with its User-Agent only, unsigned)
             agent="WooCommerce/",
             event=("h:x-wc-webhook-topic", "if:webhook_id+c:ping"),
             delivery=("h:x-wc-webhook-delivery-id",),
             events=("order.created",),
             docs="https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks"),
    Provider("lemonsqueezy", "Lemon Squeezy", "hmac", _d(header="X-Signature"),
             detect=("x-event-name",), event=("h:x-event-name", "j:meta.event_name"),
             # no event id (meta has the event's name, custom data and the webhook's id);
             # data is the object, in each of its events: the event, the object and the time
             # it was updated make one
             delivery=("j:meta.event_name+j:data.type+j:data.id+j:data.attributes.updated_at",),
             events=("order_created",),
             docs="https://docs.lemonsqueezy.com/help/webhooks/signing-requests"),
    Provider("razorpay", "Razorpay", "hmac", _d(header="X-Razorpay-Signature"),
             detect=("x-razorpay-signature",), event=("j:event",),
             delivery=("h:x-razorpay-event-id",), events=("payment.captured",),
             docs="https://razorpay.com/docs/webhooks/validate-test/", sdk="razorpay"),
    Provider("coinbase", "Coinbase Commerce", "hmac", _d(header="X-CC-Webhook-Signature"),
             detect=("x-cc-webhook-signature",), event=("j:event.type",),
             delivery=("j:event.id",), events=("charge:confirmed",),
             secret="the webhook shared secret",
             docs="https://docs.cdp.coinbase.com/commerce/docs/webhooks-security",
             sdk="coinbase-commerce"),
    Provider("gocardless", "GoCardless", "hmac", _d(header="Webhook-Signature"),
             detect=("webhook-signature",), shape=_has("events", "meta.webhook_id"),
             event=("j:events.0.resource_type+j:events.0.action",),
             delivery=("j:meta.webhook_id",), events=("payments.confirmed",),
             docs="https://developer.gocardless.com/getting-started/staying-up-to-date-with-webhooks",
             sdk="gocardless-pro"),
    Provider("recurly", "Recurly", "hmac",
             _d(header="recurly-signature", positional=True, ts_unit="ms", msg="{ts}.{body}"),
             detect=("recurly-signature",), event=("j:object_type+j:event_type",),
             delivery=("h:recurly-notification-id", "j:id"), events=("subscription.created",),
             docs="https://docs.recurly.com/recurly-subscriptions/docs/signature-verification"),
    Provider("adyen", "Adyen", "adyen", _d(),
             shape=_adyen_shape, hint=b"notificationItems", event=("j:notificationItems.0.NotificationRequestItem.eventCode",),
             # Adyen's "handle webhook events": a duplicate has the same eventCode and
             # pspReference (its eventDate may differ); success tells the outcomes apart
             delivery=("j:notificationItems.0.NotificationRequestItem.eventCode"
                       "+j:notificationItems.0.NotificationRequestItem.pspReference"
                       "+j:notificationItems.0.NotificationRequestItem.success",),
             events=("AUTHORISATION",), secret="the HMAC key (hex) of the webhook",
             docs="https://docs.adyen.com/development-resources/webhooks/verify-hmac-signatures",
             sdk="Adyen"),
    Provider("braintree", "Braintree", "braintree", _d(),
             shape=_has("bt_signature", "bt_payload"), hint=b"bt_signature",
             event=("xml:bt_payload/kind",),
             events=("subscription_charged_successfully",),
             secret="the private key, or 'public_key:private_key'",
             docs="https://developer.paypal.com/braintree/docs/guides/webhooks/parse", sdk="braintree"),
    Provider("paypal", "PayPal", "paypal", _d(),
             detect=("paypal-transmission-sig",), event=("j:event_type",),
             # the event's id (WH-...), as Stripe's: PayPal resends an event by that id, and
             # PAYPAL-TRANSMISSION-ID names one HTTP transmission (whether a retry keeps it,
             # PayPal's docs do not say), so a resent event would not show as a duplicate
             delivery=("j:id", "h:paypal-transmission-id"), events=("PAYMENT.CAPTURE.COMPLETED",),
             secret="the webhook ID, plus the PEM certificate from PAYPAL-CERT-URL to verify offline",
             docs="https://developer.paypal.com/api/rest/webhooks/rest/"),
    Provider("plaid", "Plaid", "jwt",
             _d(header="Plaid-Verification", alg="ES256", body_claim="request_body_sha256",
                body_enc="hex", max_age=300),
             detect=("plaid-verification",), event=("j:webhook_type+j:webhook_code",),
             # none: a webhook carries no id of its own nor a time, and item_id is the
             # Item's, in all of its webhooks (SYNC_UPDATES_AVAILABLE comes again and again)
             events=("TRANSACTIONS.SYNC_UPDATES_AVAILABLE",),
             secret="the JWK (JSON) from /webhook_verification_key/get for the token's kid",
             sdk="PyJWT",
             docs="https://plaid.com/docs/api/webhooks/webhook-verification/"),
    # -- communication ---------------------------------------------------------------------------
    Provider("slack", "Slack", "hmac",
             _d(header="X-Slack-Signature", ts="X-Slack-Request-Timestamp", prefix="v0=",
                msg="v0:{ts}:{body}"),
             detect=("x-slack-signature", "x-slack-request-timestamp"), agent="Slackbot",
             event=("j:event.type", "j:type", "j:command"),
             # (retries repeat event_id; slash commands and interactions, never retried, have a
             # trigger_id each: the request timestamp, whole seconds, is no delivery's id)
             delivery=("j:event_id", "j:trigger_id"), handshake="slack",
             events=("event_callback", "url_verification"), secret="the app's signing secret",
             docs="https://api.slack.com/authentication/verifying-requests-from-slack",
             sdk="slack_sdk"),
    Provider("twilio", "Twilio", "twilio", _d(),
             detect=("x-twilio-signature",), event=("j:SmsStatus", "j:CallStatus", "j:EventType"),
             # I-Twilio-Idempotency-Token: one per webhook request, kept on Twilio's retries;
             # without it, a message's or call's Sid is in each of its status callbacks
             # (sent, delivered...): with the status (and a call's SequenceNumber) it is one
             delivery=("h:i-twilio-idempotency-token", "j:MessageSid+j:MessageStatus",
                       "j:MessageSid+j:SmsStatus", "j:CallSid+j:CallStatus+j:SequenceNumber"),
             events=("sms",), secret="the account's Auth Token",
             docs="https://www.twilio.com/docs/usage/webhooks/webhooks-security", sdk="twilio"),
    Provider("sendgrid", "Twilio SendGrid", "ecdsa",
             _d(header="X-Twilio-Email-Event-Webhook-Signature",
                ts="X-Twilio-Email-Event-Webhook-Timestamp"),
             detect=("x-twilio-email-event-webhook-signature",), event=("j:0.event",),
             shape=_sendgrid_shape, shape_alone=True, hint=b'"sg_event_id"',
             delivery=("j:0.sg_event_id",), events=("delivered",),
             secret="the verification key (base64 public key) to verify; the private key to sign",
             # no age: sendgrid EventWebhook.verify_signature checks none and the docs give
             # none (a replay is told by sg_event_id, as SendGrid's docs advise for retries)
             tolerance=0,
             docs="https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features",
             sdk="sendgrid"),
    Provider("mailgun", "Mailgun", "mailgun", _d(),
             shape=lambda d: isinstance(d, dict) and isinstance(d.get("signature"), dict)
             and isinstance(d.get("event-data"), dict), hint=b'"event-data"',
             # (event: the legacy webhooks' form field too: event=delivered&timestamp=...&token=...)
             event=("j:event-data.event", "j:event"), delivery=("j:event-data.id",),
             events=("delivered",),
             secret="the HTTP webhook signing key",
             # mailgun security.verify_webhook(max_age_seconds=900): 15 minutes both ways
             # (the docs give no figure; they advise caching the token against replays)
             tolerance=900,
             docs="https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks",
             sdk="mailgun"),
    Provider("mandrill", "Mandrill", "mandrill", _d(),
             detect=("x-mandrill-signature",), event=("j:mandrill_events.0.event",),
             events=("send",), secret="the webhook key",
             docs="https://mailchimp.com/developer/transactional/guides/track-respond-activity-webhooks/"),
    Provider("postmark", "Postmark", "basic", _d(),
             shape=_postmark_shape, hint=b'"MessageID"',
             event=("j:RecordType", "if:OriginalRecipient+c:Inbound"),
             # no webhook id; MessageID is the message's, in its Delivery, Open, Click...
             # (several Opens, too): a Bounce's or SpamComplaint's own ID, else the record
             # type, the message and the time of that event; an inbound email is one message,
             # posted once (and retried up to 10 times): its MessageID
             delivery=("j:RecordType+j:ID", "j:RecordType+j:MessageID+j:DeliveredAt",
                       "j:RecordType+j:MessageID+j:ReceivedAt",
                       "j:RecordType+j:MessageID+j:ChangedAt", "if:OriginalRecipient+j:MessageID"),
             events=("Delivery", "Inbound"),
             secret="'user:password' of the basic auth in the webhook URL",
             docs="https://postmarkapp.com/developer/webhooks/webhooks-overview"),
    Provider("plivo", "Plivo", "plivo", _d(),
             detect=("x-plivo-signature-v2",), event=("j:Status", "j:Event"),
             # a message's (a call's) UUID is in each of its status callbacks: with the status
             delivery=("j:MessageUUID+j:Status", "j:CallUUID+j:CallStatus"),
             events=("message.delivered",),
             secret="the account's Auth Token",
             docs="https://www.plivo.com/docs/messaging/concepts/signature-validation", sdk="plivo"),
    Provider("telnyx", "Telnyx", "ed25519",
             _d(header="telnyx-signature-ed25519", ts="telnyx-timestamp", msg="{ts}|{body}",
                enc="b64", key_enc="b64", key_name="Telnyx public key"),
             detect=("telnyx-signature-ed25519",), event=("j:data.event_type",),
             delivery=("j:data.id",), events=("message.received",),
             secret="the account's public key (base64) to verify; the private key to sign",
             docs="https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks",
             sdk="telnyx"),
    Provider("pusher", "Pusher Channels", "hmac", _d(header="X-Pusher-Signature", key_header="X-Pusher-Key"),
             # no delivery id: the time (ms) two channels' events may share, with the event
             detect=("x-pusher-signature",), event=("j:events.0.name",),
             delivery=("j:time_ms+j:events.0.name+j:events.0.channel",),
             events=("channel_occupied",), secret="the app secret",
             docs="https://pusher.com/docs/channels/server_api/webhooks/", sdk="pusher"),
    Provider("customerio", "Customer.io", "hmac",
             _d(header="X-CIO-Signature", ts="X-CIO-Timestamp", msg="v0:{ts}:{body}"),
             detect=("x-cio-signature",), event=("j:object_type+j:metric",),
             delivery=("j:event_id",), events=("email.delivered",),
             docs="https://docs.customer.io/journeys/webhooks/#securely-verify-requests"),
    Provider("intercom", "Intercom", "hmac", _d(header="X-Hub-Signature", prefix="sha1=", algo="sha1"),
             shape=lambda d: isinstance(d, dict) and d.get("type") == "notification_event",
             hint=b'"notification_event"',
             event=("j:topic",), delivery=("j:id",), events=("conversation.user.created",),
             secret="the app's client secret",
             docs="https://developers.intercom.com/docs/references/webhooks/webhook-models"),
    Provider("helpscout", "Help Scout", "hmac",
             _d(header="X-HelpScout-Signature", algo="sha1", enc="b64"),
             detect=("x-helpscout-event",), event=("h:x-helpscout-event",),
             events=("convo.created",),
             docs="https://developer.helpscout.com/webhooks/"),
    Provider("zendesk", "Zendesk", "hmac",
             _d(header="X-Zendesk-Webhook-Signature", ts="X-Zendesk-Webhook-Signature-Timestamp",
                ts_unit="iso", enc="b64", msg="{ts}{body}"),
             detect=("x-zendesk-webhook-signature",), event=("j:type",),
             delivery=("h:x-zendesk-webhook-invocation-id", "j:id"),
             events=("zen:event-type:ticket.created",),
             docs="https://developer.zendesk.com/documentation/webhooks/verifying/"),
    Provider("front", "Front", "hmac",
             _d(header="X-Front-Signature", ts="X-Front-Request-Timestamp", enc="b64",
                msg="{ts}:{body}", ts_unit="ms",
                untimed=("sha1", "{body}", "rule webhook: SHA-1 of the body, no timestamp")),
             detect=("x-front-signature", "x-front-challenge"), event=("j:type",),
             # application webhooks: {"type", "payload": the event}; rule webhooks POST the
             # event itself (its id at the top, beside emitted_at, which no other body has)
             delivery=("j:payload.id", "if:emitted_at+j:id"), handshake="front", events=("inbound_message", "challenge"),
             docs="https://dev.frontapp.com/docs/application-webhooks"),
    # -- meetings, calendars, productivity ---------------------------------------------------------
    Provider("zoom", "Zoom", "hmac",
             _d(header="x-zm-signature", ts="x-zm-request-timestamp", prefix="v0=",
                msg="v0:{ts}:{body}"),
             detect=("x-zm-signature", "x-zm-request-timestamp"), event=("j:event",),
             delivery=("h:x-zm-trackingid",), handshake="zoom",
             events=("meeting.started", "endpoint.url_validation"),
             secret="the event subscription's Secret Token",
             docs="https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events"),
    Provider("calendly", "Calendly", "hmac",
             _d(header="Calendly-Webhook-Signature", kv=",", ts_key="t", sig_key="v1",
                msg="{ts}.{body}"),
             detect=("calendly-webhook-signature",), event=("j:event",),
             # no event id; payload.uri is the invitee's, in invitee.created and
             # invitee.canceled alike: the event, it and the event's created_at make one
             delivery=("j:event+j:payload.uri+j:created_at",), events=("invitee.created",),
             secret="the webhook signing key",
             docs="https://developer.calendly.com/api-docs/4c305798a61d3-webhook-signatures"),
    Provider("calcom", "Cal.com", "hmac", _d(header="X-Cal-Signature-256"),
             detect=("x-cal-signature-256",), event=("j:triggerEvent",),
             # no event id; payload.uid is the booking's, in each of its triggers
             delivery=("j:triggerEvent+j:payload.uid+j:createdAt",), events=("BOOKING_CREATED",),
             docs="https://cal.com/docs/developing/guides/automation/webhooks"),
    Provider("google", "Google push notifications (Calendar, Drive)", "token",
             _d(header="X-Goog-Channel-Token"),
             detect=("x-goog-channel-id", "x-goog-resource-state"),
             # X-Goog-Message-Number numbers the messages of one channel (sync is always 1)
             event=("h:x-goog-resource-state",),
             delivery=("h:x-goog-channel-id+h:x-goog-message-number",),
             handshake="google", events=("exists", "sync"),
             secret="the channel token given to the watch request",
             docs="https://developers.google.com/workspace/calendar/api/guides/push"),
    Provider("msgraph", "Microsoft Graph change notifications", "token",
             _d(json="value.*.clientState"),
             shape=_msgraph_shape, hint=b'"subscriptionId"',
             event=("j:value.0.changeType", "j:value.0.lifecycleEvent"),
             # changeNotification.id: "Unique ID for the notification" (optional: without it,
             # none), with what changed should an id come twice; subscriptionId is in every
             # notification of the subscription
             delivery=("j:value.0.id+j:value.0.changeType+j:value.0.resource",
                       "j:value.0.id+j:value.0.lifecycleEvent"), handshake="msgraph",
             events=("created", "validation"), secret="the subscription's clientState",
             docs="https://learn.microsoft.com/graph/change-notifications-delivery-webhooks"),
    Provider("dropbox", "Dropbox", "hmac", _d(header="X-Dropbox-Signature"),
             detect=("x-dropbox-signature",), event=("k:list_folder",),
             handshake="dropbox", events=("list_folder", "challenge"), secret="the app secret",
             docs="https://www.dropbox.com/developers/reference/webhooks"),
    Provider("box", "Box", "hmac",
             _d(header="BOX-SIGNATURE-PRIMARY", also=("BOX-SIGNATURE-SECONDARY",),
                ts="BOX-DELIVERY-TIMESTAMP", ts_unit="iso", enc="b64", msg="{body}{ts}",
                extra={"BOX-SIGNATURE-VERSION": "1", "BOX-SIGNATURE-ALGORITHM": "HmacSHA256"}),
             detect=("box-delivery-id", "box-signature-primary"), event=("j:trigger",),
             # the body's id names the event: BOX-DELIVERY-ID "will change" when Box retries,
             # "while the ID in the payload body remains the same" (webhooks v2, payload headers)
             delivery=("j:id", "h:box-delivery-id"), events=("FILE.UPLOADED",),
             secret="the primary (or secondary) signature key",
             # "10 minutes" (the docs); box_sdk_gen WebhooksManager.validate_message(max_age=600)
             # refuses a BOX-DELIVERY-TIMESTAMP older than that or ahead of now at all
             tolerance=600, ahead=0,
             docs="https://developer.box.com/guides/webhooks/v2/signatures-v2/", sdk="boxsdk"),
    Provider("asana", "Asana", "hmac", _d(header="X-Hook-Signature"),
             detect=("x-hook-signature", "x-hook-secret"),
             event=("j:events.0.resource.resource_type+j:events.0.action",),
             handshake="asana", events=("task.changed", "handshake"),
             secret="the X-Hook-Secret of the handshake (kept automatically)",
             docs="https://developers.asana.com/docs/webhooks-guide"),
    Provider("smartsheet", "Smartsheet", "hmac", _d(header="Smartsheet-Hmac-SHA256"),
             detect=("smartsheet-hmac-sha256", "smartsheet-hook-challenge"),
             # the callback's nonce, a random string per callback; webhookId is the webhook's
             event=("j:scope+j:events.0.eventType",), delivery=("j:nonce",),
             handshake="smartsheet", events=("sheet.updated", "challenge"),
             secret="the webhook's sharedSecret",
             docs="https://developers.smartsheet.com/api/smartsheet/guides/webhooks/webhook-verification"),
    Provider("trello", "Trello", "hmac",
             _d(header="X-Trello-Webhook", algo="sha1", enc="b64", msg="{body}{url}",
                text="binary"),
             detect=("x-trello-webhook",), event=("j:action.type",), delivery=("j:action.id",),
             handshake="trello", events=("updateCard", "head"),
             secret="the application's OAuth secret",
             docs="https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/"),
    Provider("monday", "monday.com", "jwt",
             # aud: the endpoint the token is for ("Check that the aud field matches your
             # integration app's endpoint", developer.monday.com/apps/docs/authorization-header)
             _d(header="Authorization", alg="HS256", aud="url"),
             shape=lambda d: isinstance(d, dict) and isinstance(d.get("event"), dict)
             and "boardId" in d["event"], hint=b'"boardId"',
             event=("j:event.type",), delivery=("j:event.triggerUuid",), handshake="monday",
             events=("update_column_value", "challenge"),
             secret="the app's signing secret", sdk="PyJWT",
             docs="https://developer.monday.com/api-reference/docs/webhooks"),
    Provider("clickup", "ClickUp", "hmac", _d(header="X-Signature"),
             shape=_clickup_shape, hint=b'"webhook_id"', event=("j:event",),
             delivery=("j:history_items.0.id",), events=("taskCreated",),
             secret="the webhook's secret (from the create call)",
             docs="https://developer.clickup.com/docs/webhooksignature"),
    Provider("notion", "Notion", "hmac", _d(header="X-Notion-Signature", prefix="sha256="),
             detect=("x-notion-signature",),
             event=("j:type",), delivery=("j:id",), handshake="notion",
             events=("page.created", "verification"),
             secret="the verification_token of the subscription (kept automatically)",
             docs="https://developers.notion.com/reference/webhooks"),
    Provider("airtable", "Airtable", "hmac",
             _d(header="X-Airtable-Content-MAC", prefix="hmac-sha256=", key="b64"),
             # every delivery is a notification ping ({base, webhook, timestamp}: fetch the
             # payloads after it); the webhook's id is no event type
             detect=("x-airtable-content-mac",), event=("if:webhook.id+c:ping",),
             delivery=("j:webhook.id+j:timestamp",), events=("ping",),
             secret="macSecretBase64 from the webhook create call",
             docs="https://airtable.com/developers/web/api/webhooks-overview"),
    Provider("typeform", "Typeform", "hmac",
             _d(header="Typeform-Signature", prefix="sha256=", enc="b64"),
             detect=("typeform-signature",), event=("j:event_type",), delivery=("j:event_id",),
             # signing is optional (a webhook without a secret sends no Typeform-Signature)
             shape=_has("event_id", "event_type", "form_response"), shape_alone=True,
             hint=b'"form_response"', events=("form_response",),
             docs="https://www.typeform.com/developers/webhooks/secure-your-webhooks/"),
    Provider("docusign", "DocuSign Connect", "hmac",
             # one X-DocuSign-Signature-<n> per active Connect HMAC key, numbered from 1 (any
             # one matching verifies): every one up to _DOCUSIGN_KEYS is looked at, each
             # compared with the one HMAC of the body
             _d(header="X-DocuSign-Signature-1", enc="b64",
                also=tuple(f"X-DocuSign-Signature-{i}" for i in range(2, _DOCUSIGN_KEYS + 1))),
             detect=("x-docusign-signature-1",), event=("j:event",),
             # no event id; data.envelopeId is in every event of the envelope: the event, it
             # and the message's generatedDateTime make one (a retry counts in retryCount)
             delivery=("j:event+j:data.envelopeId+j:generatedDateTime",),
             events=("envelope-completed",),
             secret="one of the Connect HMAC keys",
             docs="https://developers.docusign.com/platform/webhooks/connect/hmac/"),
    Provider("webflow", "Webflow", "hmac",
             _d(header="x-webflow-signature", ts="x-webflow-timestamp", ts_unit="ms",
                msg="{ts}:{body}"),
             ahead=math.inf,  # (Webflow's docs: refuse old ones only)
             # payload.id is the item's for collection-item triggers (every change of it):
             # with the trigger and the change's (submission's) time
             detect=("x-webflow-signature",), event=("j:triggerType",),
             delivery=("j:triggerType+j:payload.id+j:payload.lastUpdated",
                       "j:triggerType+j:payload.id+j:payload.submittedAt"),
             events=("form_submission",), secret="the OAuth app's client secret (or webhook secret)",
             docs="https://developers.webflow.com/data/docs/working-with-webhooks"),
    Provider("sanity", "Sanity", "hmac",
             _d(header="sanity-webhook-signature", kv=",", ts_key="t", sig_key="v1",
                msg="{ts}.{body}", enc="b64url", ts_unit="ms"),
             detect=("sanity-webhook-signature",), event=("h:sanity-operation+j:_type",),
             # without the idempotency key: the document with its revision (its _id alone is in
             # every change of it)
             delivery=("h:idempotency-key", "j:_id+j:_rev"), events=("create",),
             # the official verifier (@sanity/webhook, sanity-io/webhook-toolkit signature.ts)
             # checks no age: a correctly signed old delivery is valid there, so here too
             tolerance=0,
             docs="https://www.sanity.io/docs/webhooks"),
    Provider("figma", "Figma", "token", _d(json="passcode"),
             shape=_has("passcode", "event_type", "webhook_id"), hint=b'"passcode"', event=("j:event_type",),
             delivery=("j:webhook_id+j:timestamp",), handshake="figma",
             events=("FILE_UPDATE", "PING"), secret="the webhook's passcode",
             docs="https://developers.figma.com/docs/rest-api/webhooks-security/"),
    Provider("onfleet", "Onfleet", "hmac",
             _d(header="X-Onfleet-Signature", algo="sha512", key="hex"),
             detect=("x-onfleet-signature",), event=("j:triggerName", "j:triggerId"),
             # actionContext.id is whoever acted (a worker's every action): the trigger, the
             # task and the event's time (ms) name one delivery
             delivery=("j:triggerId+j:taskId+j:time",), handshake="onfleet",
             events=("taskCompleted", "check"), secret="the organization's webhook secret (hex)",
             docs="https://docs.onfleet.com/reference/secrets"),
    Provider("nylas", "Nylas", "hmac", _d(header="X-Nylas-Signature"),
             detect=("x-nylas-signature",), event=("j:type",), delivery=("j:id",),
             handshake="nylas", events=("message.created", "challenge"),
             secret="the webhook_secret of the destination",
             docs="https://developer.nylas.com/docs/v3/notifications/webhooks/"),
    Provider("strava", "Strava", "token", _d(json="subscription_id", as_int=True),
             shape=_has("aspect_type", "object_type", "subscription_id"), hint=b'"aspect_type"',
             event=("j:object_type+j:aspect_type",),
             # no event id; object_id is the activity's (or athlete's), in all of its events
             delivery=("j:object_type+j:aspect_type+j:object_id+j:event_time",),
             handshake="strava", events=("activity.create", "subscribe"),
             secret="the push subscription's id (Strava does not sign deliveries: the id in each "
                    "event is the only check)",
             docs="https://developers.strava.com/docs/webhooks/"),
    # -- identity ---------------------------------------------------------------------------------
    Provider("okta", "Okta event hooks", "token", _d(header="Authorization", any_header=True,
                                                     basic=True),
             shape=lambda d: isinstance(d, dict) and d.get("eventType") == "com.okta.event_hook",
             hint=b"com.okta.event_hook",
             event=("j:data.events.0.eventType",), delivery=("j:eventId",), handshake="okta",
             events=("user.lifecycle.create", "verification"),
             secret="the header value configured on the event hook (authScheme.value; in "
                    "Authorization unless authScheme.key names another header; for Basic "
                    "either 'Basic <base64>' or 'user:password')",
             docs="https://developer.okta.com/docs/concepts/event-hooks/"),
    Provider("auth0", "Auth0 log streams", "token", _d(header="Authorization"),
             shape=_auth0_shape, hint=b'"log_id"',
             event=("j:0.data.type", "j:data.type"), delivery=("j:0.log_id", "j:log_id"),
             events=("s",),
             secret="the Authorization token configured on the log stream",
             docs="https://auth0.com/docs/customize/log-streams/custom-log-streams"),
    Provider("fusionauth", "FusionAuth", "jwt",
             _d(header="X-FusionAuth-Signature-JWT", alg="HS256", body_claim="request_body_sha256",
                body_enc="b64"),
             detect=("x-fusionauth-signature-jwt",), event=("j:event.type",),
             delivery=("j:event.id",), events=("user.create",),
             secret="the HMAC key chosen as the webhook's signing key", sdk="PyJWT",
             docs="https://fusionauth.io/docs/extend/events-and-webhooks/signing"),
    Provider("workos", "WorkOS", "hmac",
             _d(header="WorkOS-Signature", kv=",", ts_key="t", sig_key="v1", msg="{ts}.{body}",
                ts_unit="ms", kv_join=", "),
             detect=("workos-signature",), event=("j:event",), delivery=("j:id",),
             events=("user.created",),
             # workos Webhooks.verify_header: DEFAULT_TOLERANCE 180, abs(): both ways
             tolerance=180,
             docs="https://workos.com/docs/events/data-syncing/webhooks", sdk="workos"),
    Provider("persona", "Persona", "hmac",
             _d(header="Persona-Signature", kv=",", ts_key="t", sig_key="v1", msg="{ts}.{body}",
                kv_sets=" "),
             detect=("persona-signature",), event=("j:data.attributes.name",),
             delivery=("j:data.id",), events=("inquiry.completed",),
             docs="https://docs.withpersona.com/docs/webhooks-best-practices"),
    # -- social, media, AI ------------------------------------------------------------------------
    Provider("meta", "Meta (Facebook, Instagram, WhatsApp, Messenger)", "hmac",
             _d(header="X-Hub-Signature-256", prefix="sha256=",
                legacy=("X-Hub-Signature", "sha1=", "sha1")),
             shape=_meta_shape, hint=b'"entry"', event=("j:object+j:entry.0.changes.0.field",),
             # no delivery id: entry.0.id is the page's or business account's, in every
             # delivery; a WhatsApp message's wamid, a status of one (sent, delivered, read)
             # or a Messenger message's mid names one, other changes get none
             delivery=("j:entry.0.changes.0.value.messages.0.id",
                       "j:entry.0.changes.0.value.statuses.0.id"
                       "+j:entry.0.changes.0.value.statuses.0.status",
                       "j:entry.0.messaging.0.message.mid"),
             handshake="meta",
             events=("whatsapp.messages", "subscribe"), secret="the App Secret",
             docs="https://developers.facebook.com/docs/graph-api/webhooks/getting-started"),
    Provider("x", "X (Twitter) Account Activity", "hmac",
             _d(header="x-twitter-webhooks-signature", prefix="sha256=", enc="b64"),
             detect=("x-twitter-webhooks-signature",), event=("k:*_events",),
             handshake="x", events=("tweet_create_events", "crc"),
             secret="the app's consumer secret (API secret key)",
             docs="https://docs.x.com/x-api/enterprise-gnip-2.0/fundamentals/account-activity"),
    Provider("twitch", "Twitch EventSub", "hmac",
             _d(header="Twitch-Eventsub-Message-Signature", prefix="sha256=",
                ts="Twitch-Eventsub-Message-Timestamp", ts_unit="iso",
                id="Twitch-Eventsub-Message-Id", msg="{id}{ts}{body}"),
             detect=("twitch-eventsub-message-type",),
             # a notification is its subscription's event; the other message types (the docs'
             # webhook_callback_verification and revocation) are about the subscription itself:
             # their own name, as Graph's lifecycle notifications
             event=("h:twitch-eventsub-message-type=revocation",
                    "h:twitch-eventsub-message-type=webhook_callback_verification",
                    "h:twitch-eventsub-subscription-type"),
             delivery=("h:twitch-eventsub-message-id",), handshake="twitch",
             events=("channel.follow", "webhook_callback_verification"),
             secret="the secret given when creating the subscription",
             tolerance=600,  # "isn't older than 10 minutes" (guarding against replay attacks)
             docs="https://dev.twitch.tv/docs/eventsub/handling-webhook-events/"),
    Provider("discord", "Discord interactions", "ed25519",
             _d(header="X-Signature-Ed25519", ts="X-Signature-Timestamp", msg="{ts}{body}",
                key_name="application's Ed25519 public key"),
             detect=("x-signature-ed25519",), event=("j:event.type", "j:type"),
             # interaction types (discord.com/developers/docs/interactions/receiving-and-responding)
             event_names=MappingProxyType({"1": "ping", "2": "application_command",
                                           "3": "message_component",
                                           "4": "application_command_autocomplete",
                                           "5": "modal_submit"}),
             delivery=("j:id",), handshake="discord", events=("application_command", "ping"),
             secret="the application's public key (hex) to verify; the private key to sign",
             # no age: discord-interactions verify_key checks none and Discord's docs give none
             # (an interaction's id and 15-minute token are what a replay cannot renew)
             tolerance=0,
             docs="https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers",
             sdk="discord-interactions"),
    Provider("tiktok", "TikTok", "hmac",
             _d(header="Tiktok-Signature", kv=",", ts_key="t", sig_key="s", msg="{ts}.{body}"),
             detect=("tiktok-signature",), event=("j:event",), delivery=("j:event+j:user_openid+j:create_time",),
             events=("video.publish.complete",), secret="the app's client secret",
             docs="https://developers.tiktok.com/doc/webhooks-verification"),
    Provider("mux", "Mux", "hmac",
             _d(header="Mux-Signature", kv=",", ts_key="t", sig_key="v1", msg="{ts}.{body}"),
             ahead=math.inf,  # (Mux's docs: refuse old ones only)
             detect=("mux-signature",), event=("j:type",), delivery=("j:id",),
             events=("video.asset.ready",),
             docs="https://www.mux.com/docs/core/verify-webhook-signatures"),
    Provider("elevenlabs", "ElevenLabs", "hmac",
             _d(header="ElevenLabs-Signature", kv=",", ts_key="t", sig_key="v0",
                msg="{ts}.{body}"),
             detect=("elevenlabs-signature",), event=("j:type",),
             # one conversation has a transcription and an audio callback: with the type
             delivery=("j:type+j:data.conversation_id",), events=("post_call_transcription",),
             # elevenlabs WebhooksClient.construct_event: only older than 30 minutes refused
             tolerance=1800, ahead=math.inf,
             docs="https://elevenlabs.io/docs/product-guides/administration/webhooks",
             sdk="elevenlabs"),
    Provider("alchemy", "Alchemy Notify", "hmac", _d(header="X-Alchemy-Signature"),
             detect=("x-alchemy-signature",), event=("j:type",), delivery=("j:id",),
             events=("ADDRESS_ACTIVITY",), secret="the webhook's signing key",
             docs="https://www.alchemy.com/docs/reference/notify-api-quickstart"),
    Provider("deepgram", "Deepgram callbacks", "token", _d(header="dg-token"),
             # the body is the response of the request made with callback=: a transcription
             # (/v1/listen: its metadata lists the models, by UUID: no event type); none for
             # the others (text intelligence's /v1/read has no metadata.models)
             detect=("dg-token",), event=("if:metadata.models+c:transcription",),
             delivery=("j:metadata.request_id",),
             events=("transcription",), secret="the API key identifier (dg-token)",
             docs="https://developers.deepgram.com/docs/callback"),
    # -- cloud ------------------------------------------------------------------------------------
    Provider("sns", "Amazon SNS", "sns", _d(),
             detect=("x-amz-sns-message-type",),
             event=("h:x-amz-sns-message-type", "j:Type"),
             delivery=("h:x-amz-sns-message-id", "j:MessageId"), handshake="sns",
             events=("Notification", "SubscriptionConfirmation"),
             secret="the signing certificate (PEM) from SigningCertURL, to verify offline",
             docs="https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html"),
    Provider("eventgrid", "Azure Event Grid", "token", _d(header="Authorization"),
             # the Event Grid schema is an array of events with eventType; the CloudEvents 1.0
             # schema one event (an object) or, batched, an array, with type (cloud-event-schema)
             detect=("aeg-event-type",), event=("j:0.eventType", "j:0.type", "j:type"),
             delivery=("j:0.id", "j:id"), handshake="eventgrid",
             events=("Microsoft.Storage.BlobCreated", "SubscriptionValidation"),
             secret="the static Authorization value set as a delivery property",
             docs="https://learn.microsoft.com/azure/event-grid/webhook-event-delivery"),
    Provider("heroku", "Heroku app webhooks", "hmac",
             _d(header="Heroku-Webhook-Hmac-SHA256", enc="b64"),
             detect=("heroku-webhook-hmac-sha256",), event=("j:resource+j:action",),
             delivery=("h:heroku-webhook-id", "j:id"), events=("api:release.create",),
             docs="https://devcenter.heroku.com/articles/app-webhooks"),
    Provider("easypost", "EasyPost", "hmac",
             _d(header="X-Hmac-Signature", prefix="hmac-sha256-hex=", key="nfkd"),
             detect=("x-hmac-signature",), event=("j:description",), delivery=("j:id",),
             events=("tracker.updated",), secret="the webhook secret",
             docs="https://docs.easypost.com/guides/webhooks-guide#hmac-validation", sdk="easypost"),
    Provider("xero", "Xero", "hmac", _d(header="x-xero-signature", enc="b64"),
             detect=("x-xero-signature",), event=("j:events.0.eventCategory+j:events.0.eventType",),
             # no event id; resourceId is the contact's or invoice's, in each of its events:
             # with the event and its eventDateUtc it is one (intent to receive: none)
             delivery=("j:events.0.eventCategory+j:events.0.eventType+j:events.0.resourceId"
                       "+j:events.0.eventDateUtc",), handshake="xero",
             events=("INVOICE.UPDATE", "intent_to_receive"), secret="the webhook key",
             docs="https://developer.xero.com/documentation/guides/webhooks/overview"),
    Provider("chargebee", "Chargebee", "basic", _d(),
             shape=_has("event_type", "api_version", "content"), hint=b'"api_version"', event=("j:event_type",),
             delivery=("j:id",), events=("subscription_created",),
             secret="'user:password' of the webhook's basic authentication",
             docs="https://www.chargebee.com/docs/billing/2.0/site-configuration/webhook_settings"),
    Provider("pipedrive", "Pipedrive", "basic", _d(),
             shape=_pipedrive_shape, hint=b'"meta"',
             # v1 "updated.deal" (meta.object), v2 "change.deal" (meta.entity): one of the two
             event=("j:meta.action+j:meta.object+j:meta.entity",),
             # v1's meta.id is the object's id (every update of a deal has it) and v1 has no
             # event id: its time, webhook, action and object make one; v2's meta.id is the
             # event's id (and v2 has no timestamp_micro)
             delivery=("j:meta.timestamp_micro+j:meta.webhook_id+j:meta.action+j:meta.object"
                       "+j:meta.id", "j:meta.id"),
             events=("create.deal", "change.deal", "delete.deal", "added.deal", "updated.deal"),
             secret="'user:password' set as http_auth_user / http_auth_password",
             docs="https://pipedrive.readme.io/docs/guide-for-webhooks-v2"),
    # -- Standard Webhooks family (detected by shape, else as their family) -------------------------
    _swh_entry("clerk", "Clerk", "svix", shape=_has("object", "type", "event_attributes"),
               events=("user.created",), docs="https://clerk.com/docs/webhooks/sync-data"),
    _swh_entry("resend", "Resend", "svix", shape=_has("type", "data.email_id"),
               events=("email.delivered",), docs="https://resend.com/docs/webhooks/verify-webhooks-requests",
               sdk="resend"),
    _swh_entry("openai", "OpenAI", "webhook",
               shape=lambda d: isinstance(d, dict) and d.get("object") == "event"
               and str(d.get("id", "")).startswith("evt_"),
               events=("response.completed",), docs="https://platform.openai.com/docs/guides/webhooks",
               sdk="openai"),
    _swh_entry("replicate", "Replicate", "webhook", shape=_has("version", "status", "urls"),
               event=("j:status",), events=("prediction.succeeded",),
               docs="https://replicate.com/docs/topics/webhooks/verify-webhook", sdk="replicate"),
    _swh_entry("supabase", "Supabase Auth hooks", "webhook", shape=_has("user", "claims"),
               event=("j:type",), events=("custom_access_token",),
               secret="the hook secret (v1,whsec_...)",
               docs="https://supabase.com/docs/guides/auth/auth-hooks"),
    _swh_entry("polar", "Polar", "webhook", shape=_has("type", "timestamp", "data.organization_id"),
               events=("order.paid",), docs="https://docs.polar.sh/integrate/webhooks/delivery",
               sdk="polar-sdk"),
    _swh_entry("svix", "Svix", "svix", events=("invoice.paid", "user.created", "contact.created"),
               docs="https://docs.svix.com/receiving/verifying-payloads/how-manual", sdk="svix"),
    _swh_entry("standardwebhooks", "Standard Webhooks", "webhook",
               events=("invoice.paid", "user.created", "contact.created"),
               docs="https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md",
               sdk="standardwebhooks"),
)

#: provider id -> its entry, in detection order
TABLE: Mapping[str, Provider] = MappingProxyType({p.id: p for p in _ENTRIES})

#: every provider id hooklab knows (lower case, sorted)
PROVIDERS: tuple[str, ...] = tuple(sorted(TABLE))
