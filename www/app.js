// The demo page: composes a plain RFC 5322 message and sends it with smtp-wasm (the package's browser entrypoint,
// unchanged) through a WebSocket-to-TCP bridge. TLS happens here, inside the wasm.
import { SmtpClient, connectWebSocket, init } from "smtp-wasm";

const $ = (id) => document.getElementById(id);
const form = $("form");
const ui = {
  bridge: $("bridge"), tls: $("tls"), serverName: $("serverName"), username: $("username"), password: $("password"),
  ca: $("ca"), from: $("from"), to: $("to"), subject: $("subject"), body: $("body"),
  send: $("send"), cancel: $("cancel"), state: $("state"), error: $("error"),
  badge: $("tls-badge"), progressWrap: $("progress-wrap"), progress: $("progress"), progressText: $("progress-text"),
  resultsWrap: $("results-wrap"), results: $("results"), final: $("final"), transcript: $("transcript"),
  inbox: $("inbox"), inboxEmpty: $("inbox-empty"), refresh: $("refresh"),
};

let config = null; // from the demo server's /api/config, when served by it
let running = null; // AbortController of the send in progress

function setState(state, text) {
  document.body.dataset.state = state;
  ui.state.textContent = text;
}

// ------------------------------------------------------------------------------------------------ transcript
function addLine(kind, text) {
  const li = document.createElement("li");
  li.className = kind;
  li.textContent = text;
  ui.transcript.append(li);
  ui.transcript.scrollTop = ui.transcript.scrollHeight;
}

// ------------------------------------------------------------------------------------------------ message
function encodeHeaderWord(text) {
  // RFC 2047 encoded-word for non-ASCII header text.
  if (/^[\x20-\x7e]*$/.test(text)) return text;
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `=?UTF-8?B?${btoa(bin)}?=`;
}

function rfc5322Date(d) {
  return d.toUTCString().replace(/GMT$/, "+0000");
}

function randomId() {
  const a = new Uint8Array(12);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function composeMessage({ from, to, subject, body }) {
  const domain = from.split("@")[1] || "localhost";
  const headers = [
    `From: ${from}`,
    `To: ${to.join(", ")}`,
    `Subject: ${encodeHeaderWord(subject)}`,
    `Date: ${rfc5322Date(new Date())}`,
    `Message-ID: <${randomId()}@${domain}>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "User-Agent: smtp-wasm demo page",
  ];
  const text = body.replace(/\r\n|\r|\n/g, "\r\n");
  return `${headers.join("\r\n")}\r\n\r\n${text}${text.endsWith("\r\n") ? "" : "\r\n"}`;
}

function recipients() {
  return ui.to.value.split(/[\s,;]+/).map((s) => s.trim()).filter((s) => s !== "");
}

// ------------------------------------------------------------------------------------------------ errors
/**
 * Keeps the transport's own error (a WebSocket close code and reason from the bridge, say) for the error message:
 * the client reports "connection closed", the bridge's reason says why.
 */
function tapDuplex(duplex, seen) {
  const reader = duplex.readable.getReader();
  const readable = new ReadableStream({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        seen.transportError = error;
        controller.error(error);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { readable, writable: duplex.writable, close: () => duplex.close() };
}

/** One human sentence (and a hint) for the typical failures. */
export function explain(error, ctx) {
  const name = error?.name && error.name !== "Error" ? error.name : error?.constructor?.name ?? "Error";
  const msg = String(error?.message ?? error);
  const all = `${msg} ${error?.cause?.message ?? ""} ${ctx.transportError?.message ?? ""}`;
  if (error?.name === "AbortError" || /aborted/i.test(msg) && running?.signal.aborted) {
    return { title: "Cancelled.", detail: "" };
  }
  if (name === "TlsError") {
    const kinds = {
      "unknown-issuer": `The server's certificate is not signed by a trusted authority. Add its CA under ` +
        `"Trusted certificate authority" (the demo fills in its test CA).`,
      "self-signed": "The server's certificate is self-signed and not trusted.",
      "name-mismatch": `The server's certificate is not valid for "${ctx.serverName}". Check "Certificate name".`,
      expired: "The server's certificate has expired.",
      "not-yet-valid": "The server's certificate is not valid yet (check the clock).",
      "starttls-not-offered": "The server does not offer STARTTLS, and this page requires it. Pick implicit TLS if " +
        "the server speaks TLS from the first byte.",
      "not-tls": "The server did not answer with TLS. Is this an implicit-TLS port? Try STARTTLS.",
      "starttls-injection": "Someone injected data after the server's STARTTLS reply (an attack): stopped.",
    };
    return { title: "TLS failed.", detail: `${kinds[error.tlsKind] ?? ""} (${msg})`.trim() };
  }
  if (name === "SmtpError") {
    const cmd = String(error.command ?? "");
    const reply = `${error.code}${error.enhancedCode ? " " + error.enhancedCode.join(".") : ""} ${msg}`;
    if (cmd.startsWith("AUTH")) {
      return { title: "The server refused the username or password.", detail: reply };
    }
    if (cmd.startsWith("RCPT")) return { title: "The server refused every recipient.", detail: reply };
    if (cmd.startsWith("MAIL")) return { title: "The server refused the sender.", detail: reply };
    return { title: `The server refused ${cmd || "a command"}.`, detail: reply };
  }
  if (/code 4502/.test(all)) {
    const reason = /code 4502: ([^)]*)/.exec(all)?.[1] ?? msg;
    return {
      title: "The bridge is up, but it could not reach the SMTP server behind it.",
      detail: `Is the SMTP server running? (bridge: ${reason})`,
    };
  }
  if (/could not open the WebSocket|closed while opening|code 1006/.test(all) && ctx.phase === "connect") {
    return {
      title: `Could not reach the bridge at ${ctx.bridge}.`,
      detail: "Is it running, and does it allow this page's origin? Start everything with scripts/demo.sh, or run " +
        "npx smtp-wasm bridge --allow HOST:PORT --origin " + location.origin + ". (" + msg + ")",
    };
  }
  if (name === "ConnectionClosedError" && ctx.phase === "greeting") {
    return {
      title: "The connection closed before the server greeted.",
      detail: `The bridge probably could not reach the SMTP server behind it. (${msg})`,
    };
  }
  if (name === "TimeoutError") return { title: "The server did not answer in time.", detail: msg };
  if (name === "InvalidInputError" || name === "UsageError") return { title: "Check the form.", detail: msg };
  if (name === "ConnectionClosedError") return { title: "The connection closed unexpectedly.", detail: msg };
  return { title: `${name}:`, detail: msg };
}

function showError({ title, detail }) {
  ui.error.replaceChildren();
  const strong = document.createElement("strong");
  strong.textContent = title;
  ui.error.append(strong, document.createTextNode(detail));
  ui.error.hidden = false;
  ui.error.scrollIntoView({ block: "nearest" });
}

// ------------------------------------------------------------------------------------------------ TLS badge
function showTls(info) {
  if (!info) return;
  // The names and the expiry come from the core (tlsInfo), which reads the certificate: the page parses no DER.
  $("tls-version").textContent = info.protocolVersion;
  $("tls-cipher").textContent = info.cipherSuite;
  $("tls-subject").textContent = info.subject ?? "(unreadable)";
  $("tls-issuer").textContent = info.issuer ?? "(unreadable)";
  $("tls-expiry").textContent =
    info.notAfter !== null && info.notAfter !== undefined
      ? new Date(info.notAfter).toISOString().replace("T", " ").slice(0, 16) + " UTC"
      : "?";
  $("tls-name").textContent = `${info.serverName} · chain of ${info.peerCertificates?.length ?? 0}`;
  ui.badge.hidden = false;
  addLine("note", `TLS up: ${info.protocolVersion} ${info.cipherSuite}; from here on the bridge relays only ciphertext`);
}

// ------------------------------------------------------------------------------------------------ send
function resetSession() {
  ui.error.hidden = true;
  ui.badge.hidden = true;
  ui.progressWrap.hidden = true;
  ui.resultsWrap.hidden = true;
  ui.results.replaceChildren();
  ui.final.textContent = "";
  ui.transcript.replaceChildren();
}

function showResults(accepted, rejected, reply) {
  ui.results.replaceChildren();
  for (const r of accepted) {
    const li = document.createElement("li");
    li.className = "ok";
    li.dataset.recipient = r;
    li.innerHTML = `✓ <span class="addr"></span> accepted`;
    li.querySelector(".addr").textContent = r;
    ui.results.append(li);
  }
  for (const { recipient, error } of rejected) {
    const li = document.createElement("li");
    li.className = "bad";
    li.dataset.recipient = recipient;
    li.innerHTML = `✗ <span class="addr"></span> refused: <span class="why"></span>`;
    li.querySelector(".addr").textContent = recipient;
    const text = String(error.message ?? error);
    li.querySelector(".why").textContent = error.code && !text.includes(String(error.code)) ? `${error.code} ${text}` : text;
    ui.results.append(li);
  }
  if (reply) ui.final.textContent = `Server's final reply: ${reply.code} ${reply.lines.join(" ")}`;
  ui.resultsWrap.hidden = false;
}

async function send(event) {
  event.preventDefault();
  if (running) return;
  const to = recipients();
  const ctx = { bridge: ui.bridge.value.trim(), serverName: ui.serverName.value.trim() || "localhost", phase: "connect" };
  resetSession();
  if (!ctx.bridge || !/^wss?:\/\//.test(ctx.bridge)) {
    showError({ title: "Check the form.", detail: "The bridge URL must start with ws:// or wss://." });
    ui.bridge.focus();
    return;
  }
  if (to.length === 0) {
    showError({ title: "Check the form.", detail: "Give at least one recipient." });
    ui.to.focus();
    return;
  }
  const mode = ui.tls.value;
  if (mode === "none" && ui.username.value !== "") {
    // The password would cross the bridge and the network in clear text: the page never does that.
    showError({
      title: "AUTH needs TLS.",
      detail: "Without TLS the password would travel in clear text. Pick STARTTLS or implicit TLS, or leave the " +
        "user empty to send without AUTH.",
    });
    setState("error", "Not sent.");
    ui.tls.focus();
    return;
  }
  const message = composeMessage({ from: ui.from.value.trim(), to, subject: ui.subject.value, body: ui.body.value });
  const total = new TextEncoder().encode(message).length;
  running = new AbortController();
  const signal = running.signal;
  ui.send.disabled = true;
  ui.cancel.disabled = false;
  setState("sending", "Connecting to the bridge…");
  addLine("note", `WebSocket to ${ctx.bridge}`);
  if (matchMedia("(max-width: 820px)").matches) $("session-h").scrollIntoView({ block: "start" });
  $("progress-label").textContent = "Sending the message";
  let client = null;
  try {
    const duplex = tapDuplex(await connectWebSocket(ctx.bridge, ["binary"], { timeout: 10_000, signal }), ctx);
    ctx.phase = "greeting";
    setState("sending", "Waiting for the server's greeting…");
    const ca = ui.ca.value.trim();
    client = await SmtpClient.connect(duplex, {
      serverName: ctx.serverName,
      implicitTls: mode === "implicit",
      localName: "smtp-wasm.demo",
      ...(ca && { rootCertificates: ca }),
      timeouts: { greeting: 20_000, command: 20_000, dataEnd: 60_000 },
      debug: (line) => addLine(line.direction, line.text),
      signal,
    });
    ctx.phase = "session";
    if (mode === "implicit") showTls(client.tlsInfo());
    if (mode === "starttls") {
      setState("sending", "TLS handshake…");
      await client.startTls();
      showTls(client.tlsInfo());
    }
    if (ui.username.value !== "") {
      setState("sending", "Authenticating…");
      await client.auth({ username: ui.username.value, password: ui.password.value });
    }
    setState("sending", "Sending the message…");
    ui.progress.value = 0;
    ui.progressText.textContent = `0 of ${total} bytes`;
    ui.progressWrap.hidden = false;
    const result = await client.sendMail({
      from: ui.from.value.trim(),
      to,
      message,
      onProgress: (sent) => {
        ui.progress.value = Math.min(1, sent / total);
        ui.progressText.textContent = `${Math.min(sent, total)} of ${total} bytes`;
      },
    });
    ui.progress.value = 1;
    ui.progressText.textContent = `${total} of ${total} bytes`;
    $("progress-label").textContent = "Message sent";
    showResults(result.accepted, result.rejected, result.reply);
    await client.quit().catch(() => {});
    client = null;
    const partial = result.rejected.length > 0;
    setState("done", partial
      ? `Sent to ${result.accepted.length} of ${to.length} recipients.`
      : `Sent to ${result.accepted.length} recipient${result.accepted.length === 1 ? "" : "s"}.`);
    refreshInbox();
  } catch (error) {
    console.error(error);
    if (error?.command?.startsWith?.("RCPT") && error.code) {
      showResults([], to.map((r) => ({ recipient: r, error })), null);
    }
    showError(explain(error, ctx));
    addLine("note", `failed: ${error?.message ?? error}`);
    setState("error", "Not sent.");
    if (client) await client.close().catch(() => {});
  } finally {
    running = null;
    ui.send.disabled = false;
    ui.cancel.disabled = true;
  }
}

// ------------------------------------------------------------------------------------------------ inbox
async function refreshInbox() {
  let messages;
  try {
    const res = await fetch("api/messages", { cache: "no-store" });
    if (!res.ok) throw new Error(String(res.status));
    messages = await res.json();
  } catch {
    ui.inboxEmpty.textContent = "No inbox here: this page is not served by the demo server (scripts/demo.sh).";
    return;
  }
  ui.inbox.replaceChildren();
  ui.inboxEmpty.hidden = messages.length > 0;
  for (const m of messages) {
    const li = document.createElement("li");
    li.dataset.id = m.id;
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    const subj = document.createElement("span");
    subj.className = "subj";
    subj.textContent = m.subject ?? "(no subject)";
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = `${m.from} → ${m.to.join(", ")} · ${m.size} bytes · ` +
      `${m.tls ? `TLS ${m.tlsVersion ?? ""}` : "cleartext"} · AUTH ${m.user ?? "none"} · ` +
      new Date(m.receivedAt).toLocaleTimeString();
    summary.append(subj, meta);
    const pre = document.createElement("pre");
    pre.textContent = m.message + (m.truncated ? "\n[… truncated]" : "");
    details.append(summary, pre);
    li.append(details);
    ui.inbox.append(li);
  }
}

// ------------------------------------------------------------------------------------------------ setup
function targetUrl(base, target) {
  const u = new URL(base);
  u.search = "";
  return `${u.toString()}?target=${target}`;
}

async function loadConfig() {
  const q = new URLSearchParams(location.search);
  try {
    const res = await fetch("api/config", { cache: "no-store" });
    if (res.ok) config = await res.json();
  } catch {
    config = null;
  }
  if (config) {
    ui.bridge.value = targetUrl(config.bridgeUrl, config.targets.starttls);
    ui.serverName.value = config.serverName;
    ui.username.value = config.username;
    ui.password.value = config.password;
    ui.ca.value = config.ca.trim();
    ui.from.value = config.from;
    ui.to.value = config.to.join(", ");
  } else {
    $("ca-hint").textContent = "Paste the CA that signed the server's certificate, unless a public CA did.";
  }
  // Query parameters override (bridge, tls, user, from, to, name). Never the password: a URL ends up in the history,
  // in logs and in Referer headers.
  if (q.has("bridge")) ui.bridge.value = q.get("bridge");
  if (q.has("tls")) ui.tls.value = q.get("tls");
  if (q.has("name")) ui.serverName.value = q.get("name");
  if (q.has("user")) ui.username.value = q.get("user");
  if (q.has("from")) ui.from.value = q.get("from");
  if (q.has("to")) ui.to.value = q.get("to");
}

ui.tls.addEventListener("change", () => {
  // With the demo's own bridge, switch the target port along with the TLS mode.
  if (!config) return;
  try {
    const u = new URL(ui.bridge.value);
    const known = Object.values(config.targets);
    const current = u.searchParams.get("target");
    const demoBridge = new URL(config.bridgeUrl);
    if (u.origin === demoBridge.origin && (current === null || known.includes(current))) {
      const want = ui.tls.value === "implicit" ? config.targets.implicit : config.targets.starttls;
      ui.bridge.value = targetUrl(ui.bridge.value, want);
    }
  } catch {
    // Leave a hand-written URL alone.
  }
});
ui.cancel.addEventListener("click", () => running?.abort(new DOMException("Cancelled", "AbortError")));
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && running) running.abort(new DOMException("Cancelled", "AbortError"));
});
ui.refresh.addEventListener("click", refreshInbox);
form.addEventListener("submit", send);

setState("loading", "Loading the WebAssembly module…");
ui.send.disabled = true;
await loadConfig();
refreshInbox();
try {
  await init();
  setState("idle", "Ready.");
  ui.send.disabled = false;
} catch (error) {
  setState("error", "Could not load smtp-wasm.");
  showError({ title: "Could not load the WebAssembly module.", detail: String(error?.message ?? error) });
}
