"""Write and execute the example notebooks in ``notebooks/`` (outputs are stored for nbval).

    .venv/bin/python tools/build_notebooks.py [01 02 ...]

Each notebook is defined here as a list of cells; ``# NBVAL_IGNORE_OUTPUT`` marks cells whose
output is inherently variable (latencies, charts). Everything else is compared by nbval with
``notebooks/sanitize.cfg`` masking ports, ids and timestamps.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text.strip())


def code(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(text.strip())


QUICKSTART = [
    md("""
# hooklab quickstart

**hooklab** captures webhooks *inside* this notebook: a small HTTP server runs in the kernel
(in its own thread), every request sent to it is stored with its exact bytes, a live widget shows
each one as it lands, and the captures load into pandas.

Loading the extension starts the server and prints where it listens:
"""),
    code("%load_ext hooklab"),
    md("""
`hooklab.lab()` is the running lab. Captures go to `.hooklab/captures.sqlite3` next to this
notebook, so they survive a kernel restart. This tour starts from an empty database:
"""),
    code("""
import hooklab

lab = hooklab.lab()
lab.clear()
print(lab.url_for("github"))
"""),
    md("""
## Watch webhooks arrive

The live view updates while other cells run. Select a row to see its headers and body.
"""),
    code("lab.live()"),
    md("""
## Send a few webhooks

`hooklab.send` posts realistic sample events — here a signed GitHub pull request event, a signed
Stripe event and a plain JSON post. In real life a provider (or `curl`) sends them:

```console
curl -X POST -H 'X-GitHub-Event: push' -d @push.json http://127.0.0.1:8765/github
```
"""),
    code("""
hooklab.send(lab.url_for("github"), provider="github", event="pull_request.opened",
             secret="quickstart-secret")
hooklab.send(lab.url_for("stripe"), provider="stripe", event="payment_intent.succeeded",
             secret="whsec_cXVpY2tzdGFydA==")
hooklab.send(lab.url_for("hello"), payload={"hello": "world"})

captures = lab.wait(3, timeout=10)
print(f"{len(captures)} captures")
"""),
    md("## Inspect one capture"),
    code("""
pr = lab.captures[0]
print(pr.method, pr.path, pr.provider, pr.event_type)
print(pr.header("X-GitHub-Event"), pr.content_type)
print(pr.json()["pull_request"]["title"])
"""),
    md("The body is stored exactly as received, so the signature still checks out:"),
    code('pr.verify("quickstart-secret")'),
    code('pr.verify("not-the-secret").reason'),
    md("""
## Into pandas

One typed row per capture; `flatten=True` turns JSON payloads into `payload.*` columns.
"""),
    code("""
df = lab.dataframe()
df[["bin", "method", "provider", "event_type", "status"]]
"""),
    code("""
flat = lab.dataframe(flatten=True, provider="stripe")
flat[["event_type", "payload.data.object.amount", "payload.data.object.currency"]]
"""),
    md("""
Next: `02-analyse-webhooks.ipynb` (a burst of traffic analysed with pandas),
`03-signatures.ipynb`, `04-respond-replay-forward.ipynb`, `05-webhooks-vs-websockets.ipynb`.
"""),
]

ANALYSE = [
    md("""
# Analyse a burst of webhooks with pandas

We send ourselves a few hundred mixed events from several providers — including provider
retries, which repeat a delivery id — and analyse them like any other data set.
"""),
    code("""
%config HookLab.port = 0
%config HookLab.db = ":memory:"
%load_ext hooklab
"""),
    code("""
import random

import hooklab

lab = hooklab.lab()
rng = random.Random(2026)
events = [
    ("github", "push"), ("github", "pull_request.opened"), ("github", "issues.opened"),
    ("stripe", "payment_intent.succeeded"), ("stripe", "invoice.paid"),
    ("stripe", "charge.refunded"), ("shopify", "orders/create"),
    ("slack", "event_callback"),
]
start = 1_790_000_000  # provider-side creation times spread over two hours
for _ in range(300):
    provider, event = rng.choice(events)
    created = start + rng.randint(0, 7200)
    override = None
    if provider == "stripe":
        amount = rng.choice([500, 1200, 2000, 4999, 15000])
        override = {"created": created, "data": {"object": {"amount": amount}}}
    hooklab.send(lab.url_for(provider), provider=provider, event=event, payload=override)
print(len(lab.wait(300, timeout=60)), "captures")
"""),
    md("""
## Retries

Providers retry deliveries that fail or time out, with the same delivery id. Let's replay 12
stored captures to the lab itself — exactly what a retry looks like — and let hooklab flag them.
"""),
    code("""
retried = rng.sample(list(lab.captures), 12)
for cap in retried:
    lab.replay(cap, to=lab.url_for(cap.bin))
df = lab.dataframe(flatten=True)
print(len(df), "captures,", int(df["duplicate"].sum()), "flagged as duplicates")
"""),
    md("## Events per provider and type"),
    code("""
df.groupby(["provider", "event_type"], observed=True).size().rename("events").to_frame()
"""),
    md("""
## Events per 10 minutes

Stripe events carry the time the provider created them (`created`); bucket them by 10 minutes.
"""),
    code("""
import pandas as pd

stripe = df[df["provider"] == "stripe"].copy()
stripe["created"] = pd.to_datetime(stripe["payload.created"], unit="s", utc=True)
per_10min = stripe.set_index("created").resample("10min").size()
per_10min.head(6)
"""),
    code("""
# NBVAL_IGNORE_OUTPUT
labels = per_10min.set_axis(per_10min.index.strftime("%H:%M"))
ax = labels.plot(kind="bar", figsize=(9, 3), rot=45, title="Stripe events per 10 minutes (UTC)")
"""),
    md("## Payload fields, flattened"),
    code("""
amounts = df.loc[df["provider"] == "stripe", ["event_type", "payload.data.object.amount"]]
amounts.groupby("event_type", observed=True)["payload.data.object.amount"].agg(["count", "min", "max"])
"""),
    md("## Sizes"),
    code("""
# NBVAL_IGNORE_OUTPUT
# sizes vary by a few bytes from run to run: samples carry fresh ids and numbers
sizes = df.groupby("provider", observed=True)["size"].agg(["count", "min", "median", "max"])
sizes.astype(int)
"""),
    md("All of this also works on a saved database: `hooklab.open(path).dataframe()`."),
    code("%unload_ext hooklab"),
]

SIGNATURES = [
    md("""
# Signatures: verify what the providers sign

hooklab keeps the exact bytes of every request, so signatures can be checked long after the
fact. `hooklab.verify_signature` never raises; it says *why* a check failed.
"""),
    code("""
import json

import hooklab
from hooklab.providers.samples import sample
from hooklab.signatures import sign

NOW = 1_790_000_000  # a fixed clock makes this notebook reproducible
"""),
    md("## Stripe, GitHub, Slack and Standard Webhooks"),
    code("""
cases = {
    "stripe": "whsec_c3RyaXBlLWRlbW8=",
    "github": "It's a Secret to Everybody",
    "slack": "8f742231b10e8888abcd99yyyzzz85a5",
    "standardwebhooks": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}
signed = {}
for provider, secret in cases.items():
    event = {"stripe": "invoice.paid", "github": "push", "slack": "event_callback",
             "standardwebhooks": "invoice.paid"}[provider]
    s = sample(provider, event)
    headers = [("Content-Type", "application/json")] + list(
        sign(provider, secret, s.body, timestamp=NOW).items()
    )
    signed[provider] = (headers, s.body)
    v = hooklab.verify_signature(provider, secret, headers, s.body, now=NOW + 5)
    print(f"{provider:17} valid={v.valid}  {v.reason}")
"""),
    md("""
## The classic failures

**1. The body was re-serialised.** Frameworks often parse JSON and hand you a dict; dumping it
again changes spacing and key order, and the signature no longer matches.
"""),
    code("""
headers, body = signed["github"]
reserialised = json.dumps(json.loads(body), indent=2).encode()
print(len(body), "bytes received,", len(reserialised), "bytes after json.dumps")
hooklab.verify_signature("github", cases["github"], headers, reserialised).reason
"""),
    md("**2. The wrong secret** (for example the one of another endpoint, or test vs live mode):"),
    code("""
headers, body = signed["stripe"]
hooklab.verify_signature("stripe", "whsec_b3RoZXItZW5kcG9pbnQ=", headers, body, now=NOW + 5).reason
"""),
    md("**3. A stale timestamp** — a replayed request, or a clock that is off:"),
    code("""
headers, body = signed["slack"]
hooklab.verify_signature("slack", cases["slack"], headers, body, now=NOW + 3600).reason
"""),
    code("""
headers, body = signed["standardwebhooks"]
hooklab.verify_signature("standardwebhooks", cases["standardwebhooks"], headers, body,
                         now=NOW + 3600).reason
"""),
    md("**4. A missing header** — the request did not come from the provider at all:"),
    code("""
hooklab.verify_signature("stripe", cases["stripe"], [("Content-Type", "application/json")], b"{}").reason
"""),
    md("""
## Verify on arrival

Register a secret for a bin and every capture to it is checked as it lands; the result is the
`verified` column. The secret stays in memory: never in the database, the widget or exports.
"""),
    code("""
%config HookLab.port = 0
%config HookLab.db = ":memory:"
%load_ext hooklab
lab = hooklab.lab()
lab.secret("stripe", cases["stripe"])
hooklab.send(lab.url_for("stripe"), provider="stripe", event="invoice.paid", secret=cases["stripe"])
hooklab.send(lab.url_for("stripe"), provider="stripe", event="invoice.paid", secret="whsec_d3Jvbmc=")
lab.wait(2)
lab.dataframe()[["id", "provider", "event_type", "verified"]]
"""),
    code("""
for cap in lab.captures:
    print(cap.id, cap.verified, cap.verify_reason)
"""),
    code("%unload_ext hooklab"),
]

RESPOND = [
    md("""
# Respond, forward, replay, export

Drive webhook flows from the notebook: choose what the capture server answers, relay deliveries
to your local app (like `stripe listen --forward-to`), replay stored deliveries and export them.
"""),
    code("""
%config HookLab.port = 0
%config HookLab.db = ":memory:"
%load_ext hooklab
"""),
    md("""
## A tiny local app

Our "app" is a Tornado handler on a free port, in its own thread. It records what it receives.
"""),
    code("""
import asyncio
import threading

import tornado.httpserver
import tornado.netutil
import tornado.web

import hooklab

received = []

class Webhook(tornado.web.RequestHandler):
    def post(self):
        received.append((self.request.headers.get("X-GitHub-Event"), self.request.body))
        self.write({"handled": True})

sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")  # any free port on loopback
app_port = sockets[0].getsockname()[1]

def run_app():
    async def main():
        server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/webhook", Webhook)]))
        server.add_sockets(sockets)
        await asyncio.Event().wait()
    asyncio.run(main())

threading.Thread(target=run_app, daemon=True).start()
APP = f"http://127.0.0.1:{app_port}/webhook"
lab = hooklab.lab()
"""),
    md("""
## "503 twice, then 200"

Providers retry failed deliveries. Make the `orders` bin fail twice and watch a retrying sender
(here a simple loop standing in for the provider) get through on the third try:
"""),
    code("""
lab.respond("orders", status=[503, 503, 200])
for attempt in range(1, 6):
    r = hooklab.send(lab.url_for("orders"), provider="shopify", event="orders/create")
    print(f"attempt {attempt}: {r.status}")
    if r.status < 300:
        break
"""),
    code("""
[(c.id, c.status) for c in lab.captures]
"""),
    md("""
## Forward to the local app

Each new capture of the `github` bin is relayed with its method, headers and exact body, so the
app could verify the signature too. The capture never waits for the app.
"""),
    code("""
import time

lab.forward("github", to=APP)
hooklab.send(lab.url_for("github"), provider="github", event="push", secret="s3cret")
hooklab.send(lab.url_for("github"), provider="github", event="issues.opened", secret="s3cret")
lab.wait(2, bin="github")

deadline = time.monotonic() + 10
while len(lab.forwards()) < 2 and time.monotonic() < deadline:
    time.sleep(0.05)
sorted((f["capture_id"], f["status"], f["error"]) for f in lab.forwards())  # (sent side by side)
"""),
    code("sorted(event for event, _ in received)"),
    md("## Replay a stored delivery"),
    code("""
push = lab.captures[-2]
(result,) = lab.replay(push, to=APP)
print(result.status, received[-1][1] == push.body)
"""),
    md("""
## Export

HAR 1.2 opens in browser dev tools and HTTP tools; binary bodies are base64 so they round-trip
exactly. `hooklab.load_har` turns a HAR file back into captures you can analyse.
"""),
    code("""
import os
import tempfile

with tempfile.TemporaryDirectory() as folder:  # (removed afterwards: load_har keeps the captures)
    path = os.path.join(folder, "captures.har")
    print(lab.export_har(path), "entries written")
    again = hooklab.load_har(path)
again.dataframe()[["method", "path", "provider", "event_type", "status"]]
"""),
    code("""
from hooklab.export import to_curl

print(to_curl(lab.captures[0], url="http://127.0.0.1:5000/webhook").split(" -H ")[0])
"""),
    code("%unload_ext hooklab"),
]

WS = [
    md("""
# Webhooks vs WebSockets, measured

Webhooks and WebSockets are complementary: a webhook brings an event *to your server*; a
WebSocket pushes it on *to a client* that keeps a connection open. The classic comparison table
uses adjectives ("higher latency", "real-time"). Here we measure, on loopback, with one clock:

- **webhook, new connection** — connect, POST, close, per event (what most providers do);
- **webhook, keep-alive** — the same POSTs over one persistent HTTP/1.1 connection;
- **websocket push** — the server pushes each event over one open WebSocket;
- **hooklab webhook→ws** — the whole pipeline: a webhook into hooklab, stored in SQLite,
  pushed to a `/_hooklab/ws` client.

Numbers vary from machine to machine (and run to run), so those cells are not compared by
nbval; the shape of the result is stable.
"""),
    code("""
import pandas as pd

from hooklab.latency import compare, format_table

results = compare(n=500)
modes = ["webhook, new connection", "webhook, keep-alive", "websocket push", "hooklab webhook->ws"]
print(f"{len(modes)} modes x {results['websocket push']['n']} events measured")
"""),
    md("## Per-event latency distributions"),
    code("""
# NBVAL_IGNORE_OUTPUT
samples = pd.DataFrame({m: pd.Series(results[m]["samples_ms"]) for m in modes})
ax = samples.plot(kind="box", vert=False, logx=True, figsize=(9, 3.5), showfliers=False,
                  title="latency per event on loopback (ms, log scale)")
"""),
    code("""
# NBVAL_IGNORE_OUTPUT
samples.describe(percentiles=[0.5, 0.9, 0.99]).T[["50%", "90%", "99%", "max"]].round(3)
"""),
    md("""
## The comparison table, with numbers instead of adjectives
"""),
    code("""
# NBVAL_IGNORE_OUTPUT
table = pd.DataFrame(
    {
        "direction": ["provider → your server", "provider → your server",
                      "your server → client", "provider → hooklab → client"],
        "connection": ["new TCP connection per event", "one persistent HTTP connection",
                       "one open WebSocket", "keep-alive POST + WebSocket"],
        "p50 latency (ms)": [results[m]["p50_ms"] for m in modes],
        "p99 latency (ms)": [results[m]["p99_ms"] for m in modes],
        "events/s (sequential)": [results[m]["per_second"] for m in modes],
    },
    index=modes,
).round(3)
table
"""),
    md("Which is faster is not a matter of opinion:"),
    code("""
p50 = {m: results[m]["p50_ms"] for m in modes}
print("WebSocket push beats a new-connection webhook at p50:",
      p50["websocket push"] < p50["webhook, new connection"])
print("keep-alive beats a new connection per event at p50:",
      p50["webhook, keep-alive"] < p50["webhook, new connection"])
"""),
    code("""
# NBVAL_IGNORE_OUTPUT
print(format_table({m: results[m] for m in modes}))
"""),
    md("""
What this does not show: on the internet, a new connection per event also pays a TLS handshake
and round trips (tens to hundreds of ms), which widens the gap; webhooks still win when the
receiver is a server that cannot hold a connection open to every sender.
"""),
]

EXPLORE = [
    md("""
# Explore payloads: which fields, how often, since when, what changed

Facing hundreds of deliveries of unfamiliar event types, the questions are always the same:
*which fields does `invoice.paid` carry, how often, of which types, since when?* and *what
changed between these two deliveries?* hooklab answers each in one call:
`lab.schema()`, `lab.json_schema()`, `lab.diff()` and read-only SQL with `lab.sql()`.

We send ourselves a few hundred mixed deliveries over loopback and explore them.
"""),
    code("""
%config HookLab.port = 0
%config HookLab.db = ":memory:"
%load_ext hooklab
"""),
    md("""
## A few hundred deliveries

Stripe, GitHub, Shopify and Slack samples. Stripe amounts vary, and about a third of the
`invoice.paid` deliveries carry a discount.
"""),
    code("""
import random

import hooklab

lab = hooklab.lab()
rng = random.Random(2026)
events = [
    ("stripe", "invoice.paid"), ("stripe", "charge.refunded"),
    ("stripe", "payment_intent.succeeded"), ("github", "push"),
    ("github", "pull_request.opened"), ("github", "issues.opened"),
    ("shopify", "orders/create"), ("slack", "event_callback"),
]
start = 1_790_000_000  # when the provider created the events (seconds)
for i in range(300):
    provider, event = rng.choice(events)
    override = None
    if provider == "stripe":
        key = "amount_paid" if event == "invoice.paid" else "amount"
        obj = {key: rng.randint(5, 500) * 100}
        if event == "invoice.paid" and rng.random() < 0.3:
            obj["discount"] = {"coupon": rng.choice(["SPRING", "VIP"]), "percent_off": 10}
        override = {"created": start + 7 * i, "data": {"object": obj}}
    hooklab.send(lab.url_for(provider), provider=provider, event=event, payload=override)
lab.wait(300, timeout=60)
print(len(lab.captures), "deliveries")
"""),
    md("""
## Which fields does each event type carry?

`lab.schema()` has one row per provider, event type and field: the JSON `types` seen, the
fraction of the event type's deliveries that have the field (`present`), how many values were
seen (`count`), how many `distinct` ones, an `example`, and when the field was first and last
seen. Nested fields are dotted paths; `[]` stands for the items of an array.
"""),
    code("""
schema = lab.schema()
schema.groupby(["provider", "event_type"]).size().rename("fields").to_frame()
"""),
    code("""
invoice = lab.schema(provider="stripe", event_type="invoice.paid")
invoice[["field", "types", "present"]]
"""),
    md("""
Arrays: a GitHub `push` lists its commits, and each commit its added, removed and modified
files.
"""),
    code("""
push = lab.schema(event_type="push")
push.loc[push["field"].str.contains("[]", regex=False), ["field", "types", "present"]]
"""),
    md("""
## Presence heat map

Which `data.object` fields do the Stripe event types share? 1.0: every delivery has it.
"""),
    code("""
stripe = schema[schema["provider"] == "stripe"]
heat = stripe.pivot_table(index="field", columns="event_type", values="present", fill_value=0.0)
heat = heat.loc[heat.index.str.startswith("data.object.")]
heat.loc[heat.index.str.contains("amount")].round(2)
"""),
    code("""
# NBVAL_IGNORE_OUTPUT
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 7), dpi=72)
ax.imshow(heat.values, cmap="Blues", vmin=0, vmax=1, aspect="auto")
ax.set_xticks(range(len(heat.columns)), heat.columns, rotation=30, ha="right")
ax.set_yticks(range(len(heat.index)), [f.removeprefix("data.object.") for f in heat.index])
ax.set_title("fraction of deliveries with the field")
fig.tight_layout()
"""),
    md("""
## Drift after a provider upgrade

The provider moves to a new API version: `invoice.paid` gains `payment_details`, and
`billing_reason` may now be `null`. Fields whose `first_seen` is after the upgrade are new;
fields whose `last_seen` is before it are gone; a field with two types changed.
"""),
    code("""
upgrade = lab.captures[-1].received_at
for i in range(20):
    hooklab.send(lab.url_for("stripe"), provider="stripe", event="invoice.paid", payload={
        "api_version": "2026-11-01", "created": start + 5000 + i,
        "data": {"object": {"amount_paid": 1234 + i, "billing_reason": None,
                            "payment_details": {"type": "card", "network": "visa"}}},
    })
lab.wait(320, timeout=30)
invoice = lab.schema(provider="stripe", event_type="invoice.paid")
print("new:    ", invoice.loc[invoice["first_seen"] > upgrade, "field"].tolist())
print("gone:   ", invoice.loc[invoice["last_seen"] <= upgrade, "field"].tolist())
print("changed:", invoice.loc[invoice["types"].str.contains("|", regex=False),
                              ["field", "types"]].values.tolist())
"""),
    md("""
The JSON Schema (draft 2020-12) of what arrived since the upgrade, for the new field:
"""),
    code("""
after = lab.json_schema("invoice.paid", provider="stripe", since=upgrade)
after["properties"]["data"]["properties"]["object"]["properties"]["payment_details"]
"""),
    md("""
## What changed between two deliveries

A retry is the same delivery again: same bytes, same delivery id, flagged as a duplicate.
Replaying a stored delivery to the lab is exactly that, and `lab.diff` finds nothing.
"""),
    code("""
original = lab.query(provider="stripe", event_type="invoice.paid")[0]
last = lab.captures[-1].id
lab.replay(original, to=lab.url_for("stripe"))
(retry,) = lab.wait(1, timeout=10, since=last)
print("duplicate:", retry.duplicate)
lab.diff(original, retry, headers=True)
"""),
    md("""
Providers sign each attempt anew: the same body with a new signature header. `headers=True`
shows it (credential headers such as `Authorization` stay hidden unless `reveal=True`).
"""),
    code("""
last = lab.captures[-1].id
same = [(k, v) for k, v in original.headers if k.lower() not in ("host", "content-length")]
hooklab.send(lab.url_for("stripe"), payload=original.body,
             headers=[*same, ("Stripe-Signature", "t=1790009999,v1=" + "b" * 64)])
(resigned,) = lab.wait(1, timeout=10, since=last)
lab.diff(original, resigned, headers=True)[["field", "change", "b"]]
"""),
    md("""
And two different invoices, one from before and one from after the upgrade:
"""),
    code("""
before = next(c for c in lab.query(provider="stripe", event_type="invoice.paid")
              if "discount" not in c.json()["data"]["object"])
newest = lab.query(provider="stripe", event_type="invoice.paid", since=upgrade)[0]
lab.diff(before, newest)[["field", "change"]]
"""),
    md("""
## Search and SQL

`search=` finds text anywhere in path, query, headers or body, wherever filters are accepted.
`lab.sql` runs read-only SQL over a `captures` view (the DataFrame's columns plus the body as
JSON text in `payload`), also as a cell magic.
"""),
    code("""
spring = lab.dataframe(search="SPRING")
print(len(spring), "deliveries mention SPRING, all", spring["event_type"].unique().tolist())
"""),
    code("""
%%hooklab sql
SELECT event_type,
       count(*) AS deliveries,
       sum(coalesce(json_extract(payload, '$.data.object.amount_paid'),
                    json_extract(payload, '$.data.object.amount'))) AS amount
FROM captures
WHERE provider = 'stripe'
GROUP BY event_type
ORDER BY event_type
"""),
    code("""
try:
    lab.sql("DELETE FROM captures")
except PermissionError as exc:
    print(exc)
"""),
    md("""
## In the live view

`lab.live()` shows each delivery's body as a collapsible tree (**Tree** tab): click a field to
see its dotted path, the `flatten=True` column that holds it and its schema row. **Diff with
previous** compares the selected delivery with the previous one of its event type.
"""),
    code("""
# NBVAL_IGNORE_OUTPUT
lab.live(provider="stripe")
"""),
    code("""
%unload_ext hooklab
"""),
]

NOTEBOOKS = {
    "01": ("01-quickstart.ipynb", QUICKSTART),
    "02": ("02-analyse-webhooks.ipynb", ANALYSE),
    "03": ("03-signatures.ipynb", SIGNATURES),
    "04": ("04-respond-replay-forward.ipynb", RESPOND),
    "05": ("05-webhooks-vs-websockets.ipynb", WS),
    "06": ("06-explore-payloads.ipynb", EXPLORE),
}


def build(key: str) -> Path:
    name, cells = NOTEBOOKS[key]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.from_dict(dict(c)) for c in cells]
    for i, cell in enumerate(nb.cells):
        cell.id = f"{key}-{i:02d}"  # stable ids: rebuilding changes only what really changed
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(NB_DIR)}},
    ).execute()
    # keep outputs free of run-specific widget state (nbval compares text/plain only)
    nb.metadata.pop("widgets", None)
    path = NB_DIR / name
    nbformat.write(nb, path)
    return path


if __name__ == "__main__":
    keys = sys.argv[1:] or list(NOTEBOOKS)
    for k in keys:
        print("built", build(k))
