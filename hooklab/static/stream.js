// hooklab stream page: shows captures pushed over /_hooklab/ws.
// Every value from a capture is untrusted: it reaches the DOM only through textContent.
(function () {
  "use strict";
  var MAX_ROWS = 500;
  var BACKLOG = 100;
  var params = new URLSearchParams(location.search);
  var rows = document.getElementById("rows");
  var status = document.getElementById("status");
  var count = document.getElementById("count");
  var binInput = document.getElementById("bin");
  var providerInput = document.getElementById("provider");
  var pauseButton = document.getElementById("pause");
  var reveal = document.getElementById("reveal");
  var shown = [];  // the captures of the rows, newest first (drawn again when reveal changes)
  binInput.value = params.get("bin") || "";
  providerInput.value = params.get("provider") || "";
  var lastId = null;
  var socket = null;
  var retry = 0;
  var paused = false;
  var held = [];

  function setStatus(text, cls) {
    status.textContent = text;
    status.className = cls || "";
  }

  // Control, bidi and zero-width characters, shown as \xNN / \uNNNN as the live view shows
  // them (hooklab/widget/_render.py visible(), the same classes): drawn raw, U+202E (RIGHT-TO-
  // LEFT OVERRIDE) displays "evil" as "live" and "\u202e0001" as "1000", ZWSP/BOM are unseen.
  // The multi-line set keeps tab, LF and CR: a body's layout, a header's tab (a one-line cell
  // draws each as a space).
  // (also the rest of Unicode's Default_Ignorable_Code_Point set, the Arabic letter mark,
  // interlinear annotation, Egyptian format controls, line/paragraph separators and tag
  // characters; a variation selector at the start or after another one: a run of them
  // hides bytes after a visible character, one alone writes an emoji or CJK variant)
  var HIDDEN = "\\u00ad\\u034f\\u061c\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f\\u200b-\\u200f" +
               "\\u2028-\\u202e\\u2060-\\u206f\\u3164\\ufeff\\uffa0\\ufff0-\\ufffb" +
               "\\u{13430}-\\u{1343f}\\u{1bca0}-\\u{1bca3}\\u{1d173}-\\u{1d17a}" +
               "\\u{e0000}-\\u{e00ff}\\u{e01f0}-\\u{e0fff}";
  var VS = "\\ufe00-\\ufe0f\\u{e0100}-\\u{e01ef}";
  var VS_RUN = "|(?:^|(?<=[" + VS + "]))[" + VS + "]";
  var INVISIBLE = new RegExp("[\\x00-\\x1f\\x7f-\\x9f" + HIDDEN + "]" + VS_RUN, "gu");
  var INVISIBLE_ML = new RegExp("[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f" + HIDDEN + "]" + VS_RUN, "gu");

  function visible(text, multiline) {
    return text.replace(multiline ? INVISIBLE_ML : INVISIBLE, function (ch) {
      var c = ch.codePointAt(0);
      return c < 0x100 ? "\\x" + ("0" + c.toString(16)).slice(-2)
           : c < 0x10000 ? "\\u" + ("000" + c.toString(16)).slice(-4)
           : "\\U" + ("0000000" + c.toString(16)).slice(-8);
    });
  }

  // A header value as its sender wrote it (as_sent() in the live view): header bytes arrive
  // as Latin-1, so UTF-8 text is read as UTF-8 where its bytes are UTF-8 ("JosÃ©" is "José",
  // and a UTF-8 U+202E is that character, escaped, not three Latin-1 ones). A path too: its
  // bytes are kept a character a byte, so a path sent as raw UTF-8 reads as UTF-8 likewise.
  var utf8 = new TextDecoder("utf-8", {fatal: true, ignoreBOM: true});  // (keeps a BOM: shown)

  function asSent(value) {
    if (!/[^\x00-\x7f]/.test(value) || /[^\x00-\xff]/.test(value)) return value;
    var bytes = new Uint8Array(value.length);
    for (var i = 0; i < value.length; i++) bytes[i] = value.charCodeAt(i);
    try { return utf8.decode(bytes); } catch (err) { return value; }  // (Latin-1 indeed)
  }

  // A path as its bytes read, as serve's lines and the live view show it
  // (hooklab.capture.target_as_sent): its UTF-8 as characters, any other byte as %XX ("/é%FF/x",
  // a lone 0xE9 "%E9", never a Latin-1 character a byte); an escape sent stays as sent.
  function pathAsSent(value) {
    if (!/[^\x00-\x7f]/.test(value) || /[^\x00-\xff]/.test(value)) return value;
    var out = "", i = 0, n = value.length;
    while (i < n) {
      var b = value.charCodeAt(i);
      if (b < 0x80) { out += value[i]; i++; continue; }
      var len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
      if (len && i + len <= n) {
        var bytes = new Uint8Array(len), ok = true;
        for (var k = 0; k < len; k++) {
          bytes[k] = value.charCodeAt(i + k);
          if (k && (bytes[k] & 0xc0) !== 0x80) ok = false;
        }
        if (ok) {
          try { out += utf8.decode(bytes); i += len; continue; } catch (err) { /* (overlong) */ }
        }
      }
      out += "%" + (b < 16 ? "0" : "") + b.toString(16).toUpperCase();
      i++;
    }
    return out;
  }

  // Every cell's text (and so its tooltip) goes through visible(); `multiline` for the body
  // and the headers.
  function cell(tr, text, cls, multiline) {
    var td = document.createElement("td");
    td.textContent = text == null ? "" : visible(String(text), multiline);
    td.title = td.textContent.slice(0, 2000);
    if (cls) td.className = cls;
    tr.appendChild(td);
  }

  // Where a capture's trailer fields (sent after a chunked body) start among its headers:
  // `trailers_at` of its message (only there when some came), else none.
  function trailersAt(c, n) {
    var at = c.trailers_at;
    return (typeof at === "number" && Math.floor(at) === at && at >= 0 && at < n) ? at : n;
  }

  function fieldsText(fields) {
    return fields.map(function (h) { return h[0] + ": " + asSent(h[1]); }).join(" | ");
  }

  // The headers cell: the header section, then the trailer fields apart, in a span of their
  // own after " ‖ trailers (M): " (receivers and the signature checks read only the header
  // section). `fields` are the capture's headers, or their view with credentials hidden
  // (the same fields in the same order: trailers hidden by the same rule).
  // (a header value may hold a tab, which HTTP allows: the multi-line set keeps it as sent)
  function headersCell(tr, c, fields) {
    var at = trailersAt(c, fields.length);
    var td = document.createElement("td");
    td.className = "headers";
    td.textContent = visible(fieldsText(fields.slice(0, at)), true);
    if (at < fields.length) {
      var trailers = fields.slice(at);
      var span = document.createElement("span");
      span.className = "trailers";
      span.textContent = visible(" \u2016 trailers (" + trailers.length + "): " +
                                 fieldsText(trailers), true);
      td.appendChild(span);
    }
    td.title = td.textContent.slice(0, 2000);
    tr.appendChild(td);
  }

  function render(c) {
    shown.unshift(c);
    if (shown.length > MAX_ROWS) shown.pop();
    rows.insertBefore(row(c), rows.firstChild);
    while (rows.childNodes.length > MAX_ROWS) rows.removeChild(rows.lastChild);
    count.textContent = rows.childNodes.length + " shown";
  }

  function row(c) {
    // credentials (Authorization, a form's password...) as the server hid them, unless asked
    var view = (c.hidden && !reveal.checked) ? c.hidden : {};
    var tr = document.createElement("tr");
    tr.className = c.kind === "ws" ? "ws" : "http";
    tr.dataset.id = String(c.id);
    cell(tr, c.id);
    cell(tr, (c.received_at || "").slice(11, 23));
    cell(tr, c.kind);
    cell(tr, c.method);
    cell(tr, pathAsSent(c.path));  // (a raw UTF-8 path: "/été/x", not "/Ã©tÃ©/x"; escapes kept)
    cell(tr, c.provider);
    // (an event type from a header, read as UTF-8 by the server as the live view and serve
    // read it: "café", not "cafÃ©"; bytes that are no UTF-8 a character a byte, escaped)
    cell(tr, c.event_read != null ? c.event_read : c.event_type);
    cell(tr, c.size);
    headersCell(tr, c, view.headers || c.headers || []);
    var text = "body_text" in view ? view.body_text : c.body_text;
    var body = text != null ? text : "(" + c.size + " bytes binary)";
    cell(tr, body.slice(0, 500), "body", true);  // (cut before escaping: no half "\u202e")
    return tr;
  }

  reveal.addEventListener("change", function () {
    rows.textContent = "";
    shown.slice().reverse().forEach(function (c) { rows.insertBefore(row(c), rows.firstChild); });
  });

  function wsUrl(since) {
    var u = new URL("ws", location.href);
    u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    // the page was opened with the lab's read token (lab.page_url); the stream needs it too
    if (params.get("token")) u.searchParams.set("token", params.get("token"));
    u.searchParams.set("since", String(since));
    if (binInput.value) u.searchParams.set("bin", binInput.value);
    if (providerInput.value) u.searchParams.set("provider", providerInput.value);
    return u.toString();
  }

  function connect(since) {
    setStatus("connecting…");
    var s = new WebSocket(wsUrl(since));
    socket = s;
    s.onopen = function () { retry = 0; setStatus("live", "live"); };
    s.onmessage = function (e) {
      if (s !== socket) return;
      var c;
      try { c = JSON.parse(e.data); } catch (err) { return; }
      if (c.update === "status") {  // (a shown capture's answered status changed: no capture)
        shown.concat(held).forEach(function (x) { if (x.id === c.id) x.status = c.status; });
        return;
      }
      lastId = c.id;
      if (paused) { held.push(c); if (held.length > MAX_ROWS) held.shift(); return; }
      render(c);
    };
    s.onclose = function (e) {
      if (s !== socket) return;
      retry = Math.min(retry + 1, 6);
      var wait = 250 * Math.pow(2, retry - 1);
      setStatus("disconnected (" + e.code + (e.reason ? " " + e.reason : "") + "), retrying", "down");
      // a browser does not say why a WebSocket was refused: ask the API with the same token.
      // A lab started again (a restarted kernel) has a new token: retrying cannot help.
      var probe = new URL("api/captures", location.href);
      probe.searchParams.set("limit", "1");
      if (params.get("token")) probe.searchParams.set("token", params.get("token"));
      fetch(probe, {cache: "no-store"}).then(function (r) {
        if (s !== socket) return;
        if (r.status === 401 || r.status === 403) {
          socket = null;  // (no more retries)
          setStatus("this page's read token is no longer valid: the lab was started again " +
                    "(a restarted kernel) or stopped. Open lab.page_url again.", "down");
          return;
        }
        setTimeout(function () { if (s === socket) connect(lastId !== null ? lastId : since); }, wait);
      }, function () {  // (nothing answers: the lab is down, perhaps for a moment)
        setStatus("disconnected (" + e.code + "): the lab does not answer, retrying", "down");
        setTimeout(function () { if (s === socket) connect(lastId !== null ? lastId : since); }, wait);
      });
    };
  }

  function start() {
    if (socket) { var old = socket; socket = null; old.close(); }
    var since = params.get("since");
    if (since !== null && lastId === null) { connect(Number(since) || 0); return; }
    fetch(new URL("health", location.href)).then(function (r) { return r.json(); })
      .then(function (h) { connect(Math.max(0, (h.last_id || 0) - BACKLOG)); })
      .catch(function () { connect(0); });
  }

  document.getElementById("apply").addEventListener("click", function () {
    rows.textContent = "";
    shown = [];
    held = [];
    count.textContent = "0 shown";
    lastId = null;
    start();
  });
  pauseButton.addEventListener("click", function () {
    paused = !paused;
    pauseButton.textContent = paused ? "resume" : "pause";
    if (!paused) { held.forEach(render); held = []; }
  });
  document.getElementById("clear").addEventListener("click", function () {
    rows.textContent = "";
    shown = [];
    count.textContent = "0 shown";
  });
  start();
})();
