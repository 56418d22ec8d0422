/**
 * The playground served at `GET /`: one self-contained page (inline CSS and JS, nothing loaded
 * from elsewhere) to compress text, see the memory's size and levels, reconstruct it (streamed),
 * store it and search what is stored.
 *
 * @module
 */

/**
 * The playground page.
 *
 * @param options `auth`: whether the server wants a bearer token (shows the token field).
 * @returns HTML.
 *
 * @example
 * ```ts
 * import { playgroundHtml } from "./playground.ts";
 * const html = playgroundHtml({ auth: false });
 * console.log(html.includes("<textarea"), /src=["']https?:/.test(html)); // true false
 * ```
 */
export function playgroundHtml(options: { auth: boolean }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>r3mem playground</title>
<link rel="icon" href="data:,">
<style>
:root{--fg:#1d2330;--mute:#6b7385;--line:#dde1e8;--accent:#3558d4;--bg:#f7f8fa}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
header{padding:14px 24px;background:#fff;border-bottom:1px solid var(--line);display:flex;gap:16px;align-items:baseline}
header h1{margin:0;font-size:20px}header span{color:var(--mute)}header a{margin-left:auto;color:var(--accent)}
main{display:grid;grid-template-columns:1fr 1fr;gap:16px;padding:16px 24px;max-width:1200px;margin:auto}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 16px}
.card h2{margin:0 0 10px;font-size:15px;text-transform:uppercase;letter-spacing:.04em;color:var(--mute)}
textarea,input[type=text],input[type=password]{width:100%;font:inherit;padding:8px;border:1px solid var(--line);border-radius:6px}
textarea{height:190px;resize:vertical;font-family:ui-monospace,Menlo,monospace;font-size:13px}
button{font:inherit;padding:6px 14px;border:0;border-radius:6px;background:var(--accent);color:#fff;cursor:pointer}
button.alt{background:#e8ecf7;color:var(--accent)}button:disabled{opacity:.5;cursor:default}
.row{display:flex;gap:8px;align-items:center;margin-top:10px;flex-wrap:wrap}
dl{display:grid;grid-template-columns:auto 1fr;gap:4px 14px;margin:0}dt{color:var(--mute)}dd{margin:0;font-variant-numeric:tabular-nums}
.bar{display:flex;height:10px;border-radius:5px;overflow:hidden;margin-top:10px;background:#eee}
.bar i{display:block}.lv-d{background:#3558d4}.lv-p{background:#41a36b}.lv-s{background:#e0a030}
pre{white-space:pre-wrap;word-break:break-word;background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:8px;min-height:60px;margin:10px 0 0;font-size:13px}
#status{color:var(--mute);font-size:13px}#status.err{color:#c0392b}
ol{padding-left:20px;margin:10px 0 0}li{margin-bottom:6px}.score{color:var(--mute);font-size:12px}
.ok{color:#2e9d4e}.wide{grid-column:1/-1}.row input[type=text]{flex:1;width:auto}
@media(max-width:800px){main{grid-template-columns:1fr}}
</style></head>
<body>
<header><h1>r3mem</h1><span>reversible compressed memory</span><a href="/docs">API docs</a></header>
<main>
<section class="card">
  <h2>Text</h2>
  ${
    options.auth
      ? `<input id="token" type="password" placeholder="Bearer token" autocomplete="off">`
      : ""
  }
  <textarea id="text" spellcheck="false" placeholder="Paste text here">Meeting moved to Friday at 10.
Bring the slides and the budget.

The launch is planned for March. Marketing wants a demo.</textarea>
  <div class="row">
    <label><input id="lossless" type="checkbox" checked> lossless</label>
    <label>slots <select id="slots"><option value="">default</option><option value="code">code (compact memory)</option><option value="all">all nodes</option><option value="document">document</option><option value="none">none (compact)</option></select></label>
    <button id="compress">Compress</button>
    <button id="save" class="alt">Store</button>
    <span id="status"></span>
  </div>
</section>
<section class="card">
  <h2>Memory</h2>
  <dl id="stats"><dt>size</dt><dd>—</dd></dl>
  <div class="bar" id="bar"></div>
  <div class="row"><button id="reconstruct" disabled>Reconstruct</button><span id="match"></span></div>
  <pre id="output"></pre>
</section>
<section class="card wide">
  <h2>Search stored memories</h2>
  <div class="row"><input id="query" type="text" placeholder="What to look for" value="When is the meeting?">
  <button id="search">Search</button></div>
  <ol id="hits"></ol>
</section>
<section class="card wide">
  <h2>Conversation</h2>
  <div class="row"><select id="role"><option>user</option><option>assistant</option></select>
  <input id="turn" type="text" placeholder="A turn" value="I am allergic to peanuts.">
  <button id="append">Append turn</button><span id="convinfo" class="score"></span></div>
  <ol id="turns" start="0"></ol>
</section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let memory = null;
let sourceText = "";
function headers(extra) {
  const h = Object.assign({}, extra);
  const t = $("token");
  if (t && t.value) h.Authorization = "Bearer " + t.value;
  return h;
}
function status(msg, err) { $("status").textContent = msg; $("status").className = err ? "err" : ""; }
async function call(path, body, extra) {
  const res = await fetch(path, { method: "POST", headers: headers(Object.assign({ "Content-Type": "application/json" }, extra)), body: JSON.stringify(body) });
  if (!res.ok) {
    let msg = res.status + " " + res.statusText;
    try { const e = await res.json(); msg = e.error.code + ": " + e.error.message; } catch (_) {}
    throw new Error(msg);
  }
  return res;
}
function fmtBytes(n) { return n < 1024 ? n + " B" : (n / 1024).toFixed(1) + " KiB"; }
function showStats(s) {
  const rows = [["size", fmtBytes(s.bytes)], ["text", fmtBytes(s.textBytes)], ["ratio", s.ratio.toFixed(2) + "×"],
    ["residual", fmtBytes(s.residualBytes)], ["slots", s.slots],
    ["levels", s.nodes.document + " document · " + s.nodes.paragraph + " paragraphs · " + s.nodes.sentence + " sentences"]];
  $("stats").innerHTML = "";
  for (const [k, v] of rows) {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = String(v);
    $("stats").append(dt, dd);
  }
  const total = s.nodes.document + s.nodes.paragraph + s.nodes.sentence;
  $("bar").innerHTML = "";
  for (const [n, cls] of [[s.nodes.document, "lv-d"], [s.nodes.paragraph, "lv-p"], [s.nodes.sentence, "lv-s"]]) {
    const i = document.createElement("i"); i.className = cls; i.style.width = (100 * n / total) + "%"; $("bar").append(i);
  }
}
async function run(button, fn) {
  button.disabled = true;
  try { await fn(); } catch (e) { status(e.message, true); } finally { button.disabled = false; }
}
$("compress").onclick = () => run($("compress"), async () => {
  status("compressing…");
  sourceText = $("text").value;
  const t0 = performance.now();
  const res = await call("/v1/compress", { text: sourceText, lossless: $("lossless").checked, slots: $("slots").value || undefined });
  const body = await res.json();
  memory = body.memory;
  showStats(body.stats);
  $("output").textContent = ""; $("match").textContent = "";
  $("reconstruct").disabled = false;
  status("compressed in " + Math.round(performance.now() - t0) + " ms");
});
$("reconstruct").onclick = () => run($("reconstruct"), async () => {
  if (!memory) return;
  status("reconstructing…");
  $("output").textContent = ""; $("match").textContent = "";
  const res = await call("/v1/reconstruct", { memory }, { Accept: "text/event-stream" });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += value;
    let at;
    while ((at = buf.indexOf("\\n\\n")) >= 0) {
      const block = buf.slice(0, at); buf = buf.slice(at + 2);
      let event = "message", data = "";
      for (const line of block.split("\\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (event === "text") $("output").textContent += JSON.parse(data).text;
      else if (event === "error") throw new Error(JSON.parse(data).error.message);
    }
  }
  const exact = $("output").textContent === sourceText;
  $("match").textContent = exact ? "✓ identical to the input" : "≈ approximate (lossy)";
  $("match").className = exact ? "ok" : "";
  status("reconstructed");
});
$("save").onclick = () => run($("save"), async () => {
  status("storing…");
  const res = await call("/v1/memories", { text: $("text").value, lossless: $("lossless").checked, slots: $("slots").value || undefined, metadata: { source: "playground" } });
  const body = await res.json();
  showStats(body.stats);
  status("stored as " + body.id);
});
$("search").onclick = () => run($("search"), async () => {
  status("searching…");
  const res = await call("/v1/search", { query: $("query").value, k: 5 });
  const { hits } = await res.json();
  $("hits").innerHTML = "";
  for (const h of hits) {
    const li = document.createElement("li");
    const s = document.createElement("span"); s.className = "score";
    s.textContent = " " + h.level + " · " + h.score.toFixed(3) + " · " + h.id.slice(0, 8);
    li.append(document.createTextNode(h.text), s);
    $("hits").append(li);
  }
  status(hits.length ? hits.length + " hits" : "no stored memories yet: press Store");
});
let conversation = null;
$("append").onclick = () => run($("append"), async () => {
  status("appending…");
  if (!conversation) conversation = (await (await call("/v1/conversations", {})).json()).id;
  await call("/v1/conversations/" + conversation + "/turns", { role: $("role").value, text: $("turn").value });
  const res = await fetch("/v1/conversations/" + conversation + "?text=true&limit=100", { headers: headers() });
  const conv = await res.json();
  $("turns").innerHTML = "";
  for (const t of conv.turns) {
    const li = document.createElement("li");
    const s = document.createElement("span"); s.className = "score"; s.textContent = t.role + ": ";
    li.append(s, document.createTextNode(t.text));
    $("turns").append(li);
  }
  $("convinfo").textContent = conv.turnCount + " turns · memory " + fmtBytes(conv.stateBytes) + " whatever the length";
  $("role").value = $("role").value === "user" ? "assistant" : "user";
  status("turn " + (conv.turnCount - 1) + " appended");
});
</script>
</body></html>`;
}
