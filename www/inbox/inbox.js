// The web inbox of `smtp-wasm serve`: the list (live through server-sent events), one message's text, HTML (in a
// sandboxed frame whose CSP blocks every remote load), headers, raw source and attachments, and delete.
const $ = (id) => document.getElementById(id);
const list = $("messages");
let messages = [];
let selected = null;
let tab = "text";

function fmtSize(n) {
  return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} kB` : `${(n / 1048576).toFixed(1)} MB`;
}

function item(m, fresh) {
  const li = document.createElement("li");
  li.dataset.id = m.id;
  if (fresh) li.classList.add("new");
  if (m.id === selected) li.classList.add("selected");
  const subject = document.createElement("div");
  subject.className = "m-subject";
  subject.textContent = m.subject || "(no subject)";
  const meta = document.createElement("div");
  meta.className = "m-meta";
  const parts = [m.fromHeader || m.from || "<>", `to ${m.to.join(", ")}`, new Date(m.receivedAt).toLocaleString(), fmtSize(m.size)];
  for (const p of parts) {
    const s = document.createElement("span");
    s.textContent = p;
    meta.append(s);
  }
  if (m.tls) {
    const b = document.createElement("span");
    b.className = "badge";
    b.textContent = "TLS";
    meta.append(b);
  }
  if (m.user) {
    const b = document.createElement("span");
    b.className = "badge";
    b.textContent = `AUTH ${m.user}`;
    meta.append(b);
  }
  li.append(subject, meta);
  li.addEventListener("click", () => open(m.id));
  return li;
}

function render(freshId) {
  list.replaceChildren(...messages.map((m) => item(m, m.id === freshId)));
  $("empty").hidden = messages.length > 0;
  $("count").textContent = `${messages.length} message${messages.length === 1 ? "" : "s"}`;
}

function show(name) {
  tab = name;
  for (const b of document.querySelectorAll(".tab")) b.classList.toggle("active", b.dataset.tab === name);
  for (const p of document.querySelectorAll(".pane")) p.classList.toggle("active", p.id === `pane-${name}`);
  const id = encodeURIComponent(selected);
  if (name === "html") $("pane-html").src = `/api/messages/${id}/html`;
  if (name === "raw" && !$("pane-raw").dataset.loaded) {
    fetch(`/api/messages/${id}/raw`).then((r) => r.text()).then((t) => {
      $("pane-raw").textContent = t;
      $("pane-raw").dataset.loaded = "1";
    });
  }
}

async function open(id) {
  selected = id;
  for (const li of list.children) li.classList.toggle("selected", li.dataset.id === id);
  const r = await fetch(`/api/messages/${encodeURIComponent(id)}`);
  if (!r.ok) return;
  const m = await r.json();
  $("view").hidden = false;
  $("subject").textContent = m.subject || "(no subject)";
  const env = $("envelope");
  env.replaceChildren();
  const rows = [["From", m.fromHeader || ""], ["Envelope from", `<${m.from}>`], ["Envelope to", m.to.join(", ")],
    ["Date", m.date || ""], ["Received", new Date(m.receivedAt).toLocaleString()], ["Size", fmtSize(m.size)],
    ["TLS", m.tls ? "yes" : "no"], ["AUTH", m.user || "none"]];
  for (const [k, v] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    env.append(dt, dd);
  }
  const att = $("attachments");
  att.replaceChildren(...m.attachments.map((a) => {
    const li = document.createElement("li");
    const link = document.createElement("a");
    link.href = `/api/messages/${encodeURIComponent(id)}/attachments/${a.index}`;
    link.textContent = `${a.filename} (${a.contentType}, ${fmtSize(a.size)})`;
    li.append(link);
    return li;
  }));
  $("pane-text").textContent = m.text ?? "(no text/plain part)";
  const table = $("pane-headers");
  table.replaceChildren(...m.headers.map((h) => {
    const tr = document.createElement("tr");
    const a = document.createElement("td");
    a.textContent = h.name;
    const b = document.createElement("td");
    b.textContent = h.value;
    tr.append(a, b);
    return tr;
  }));
  $("pane-raw").textContent = "";
  delete $("pane-raw").dataset.loaded;
  $("pane-html").src = "about:blank";
  $("download").href = `/api/messages/${encodeURIComponent(id)}/raw`;
  $("download").download = `${id.replace(/[^\w.-]/g, "_")}.eml`;
  document.querySelector('[data-tab="html"]').disabled = !m.hasHtml;
  show(tab === "html" && !m.hasHtml ? "text" : tab);
}

for (const b of document.querySelectorAll(".tab")) b.addEventListener("click", () => show(b.dataset.tab));
$("delete").addEventListener("click", async () => {
  if (!selected) return;
  await fetch(`/api/messages/${encodeURIComponent(selected)}`, { method: "DELETE", headers: { "X-Smtp-Wasm": "1" } });
});

async function load() {
  messages = await (await fetch("/api/messages")).json();
  render();
}

function live() {
  const es = new EventSource("/api/events");
  es.addEventListener("open", () => {
    $("status").textContent = "live";
    $("status").classList.add("live");
    load();
  });
  es.addEventListener("error", () => {
    $("status").textContent = "reconnecting…";
    $("status").classList.remove("live");
  });
  es.addEventListener("message", (e) => {
    const m = JSON.parse(e.data);
    messages = [m, ...messages.filter((x) => x.id !== m.id)];
    render(m.id);
  });
  es.addEventListener("delete", (e) => {
    const { id } = JSON.parse(e.data);
    messages = messages.filter((x) => x.id !== id);
    if (selected === id) {
      selected = null;
      $("view").hidden = true;
    }
    render();
  });
}

live();
