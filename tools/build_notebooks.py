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
## Events per minute

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
from hooklab.samples import sample
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
[(f["capture_id"], f["status"], f["error"]) for f in lab.forwards()]
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

path = os.path.join(tempfile.mkdtemp(), "captures.har")
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

NOTEBOOKS = {
    "01": ("01-quickstart.ipynb", QUICKSTART),
    "02": ("02-analyse-webhooks.ipynb", ANALYSE),
    "03": ("03-signatures.ipynb", SIGNATURES),
    "04": ("04-respond-replay-forward.ipynb", RESPOND),
    "05": ("05-webhooks-vs-websockets.ipynb", WS),
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
