// A small SMTP server core written in JavaScript with the interface of the wasm's WasmServerConnection
// (ts/server/core.ts): enough of the protocol (EHLO/LHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT, XCLIENT)
// to test the TypeScript driver (ordering of held replies, backpressure, errors, timeouts, shutdown) without the wasm.
// It is not the product's protocol engine: the real one is the Rust core, run by the same tests when it is built.

const enc = new TextEncoder();
const dec = new TextDecoder();

export function fakeCoreFactory(config) {
  return {
    created: [],
    create(peer, now) {
      const core = new FakeCore(config, peer, now);
      this.created.push(core);
      return core;
    },
  };
}

class FakeCore {
  constructor(config, peer, now) {
    this.config = config;
    this.peer = peer;
    this.buf = "";
    this.out = [];
    this.events = [];
    this.slots = []; // replies in command order: { id, text|null }
    this.nextId = 1;
    this.closed = false;
    this.closing = false;
    this.inData = null; // { id, size }
    this.helo = false;
    this.authed = false;
    this.mail = false;
    this.rcpts = [];
    this.lastInput = now;
    this.contentOutstanding = 0;
    this.slots.push({ id: 0, text: `220 ${config.domain} ESMTP fake\r\n` });
    this.flushSlots();
  }
  line(direction, text) {
    if (this.config.transcript) this.events.push({ type: "transcript", direction, text });
  }
  hold(event) {
    const id = this.nextId++;
    this.slots.push({ id, text: null, event });
    this.events.push({ ...event, id });
    return id;
  }
  now(text) {
    this.slots.push({ id: 0, text });
  }
  flushSlots() {
    while (this.slots.length > 0 && this.slots[0].text !== null) {
      const s = this.slots.shift();
      this.out.push(enc.encode(s.text));
      this.line("server", s.text.trimEnd());
      if (s.close) this.close(s.closeReason ?? "421");
    }
  }
  close(reason) {
    if (this.closed) return;
    this.closed = true;
    this.slots = [];
    this.events.push({ type: "closed", reason });
  }
  handleInput(bytes, now) {
    if (this.closed) return;
    this.lastInput = now;
    this.buf += dec.decode(bytes, { stream: true });
    let i;
    while (!this.closed && (i = this.buf.indexOf("\r\n")) >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      if (this.inData) this.dataLine(line);
      else this.command(line);
    }
    this.flushSlots();
  }
  dataLine(line) {
    if (line === ".") {
      const { size } = this.inData;
      this.inData = null;
      if (this.config.lmtp) {
        const id = this.nextId++;
        this.slots.push({ id, text: null, lmtp: this.rcpts.slice() });
        this.events.push({ type: "lmtp-data-end", id, size, recipients: this.rcpts.slice() });
      } else this.hold({ type: "data-end", size });
      this.mail = false;
      this.rcpts = [];
      return;
    }
    const text = (line.startsWith(".") ? line.slice(1) : line) + "\r\n";
    const chunk = enc.encode(text);
    this.inData.size += chunk.length;
    this.contentOutstanding += chunk.length;
    this.contentEmitted = (this.contentEmitted ?? 0) + chunk.length;
    this.events.push({ type: "content", chunk });
  }
  command(line) {
    this.line("client", /^AUTH /i.test(line) ? line.split(" ").slice(0, 2).join(" ") + " [redacted]" : line);
    const [verbRaw, ...rest] = line.split(" ");
    const verb = verbRaw.toUpperCase();
    const arg = rest.join(" ");
    switch (verb) {
      case "EHLO":
      case "HELO":
      case "LHLO": {
        this.helo = true;
        this.mail = false;
        this.rcpts = [];
        this.events.push({ type: "hello", kind: verb, name: arg });
        const caps = ["PIPELINING", "8BITMIME", `SIZE ${this.config.maxMessageBytes}`];
        if (this.config.authMechanisms.length > 0 && !this.config.authDisabled) caps.push(`AUTH ${this.config.authMechanisms.join(" ")}`);
        if (this.config.xclient) caps.push("XCLIENT ADDR NAME HELO LOGIN");
        const lines = [this.config.domain, ...caps];
        this.now(lines.map((l, i) => `250${i === lines.length - 1 ? " " : "-"}${l}\r\n`).join(""));
        return;
      }
      case "AUTH": {
        const [mech, initial] = rest;
        if (!this.peer.secureNet && !this.config.allowInsecureAuth && !this.peer.implicitTls) {
          return this.now("538 5.7.11 Encryption required for requested authentication mechanism\r\n");
        }
        if ((mech ?? "").toUpperCase() !== "PLAIN" || !initial) return this.now("504 5.5.4 unsupported\r\n");
        const [, username, password] = Buffer.from(initial, "base64").toString("utf8").split("\0");
        this.hold({ type: "auth", mechanism: "PLAIN", username, password });
        return;
      }
      case "MAIL": {
        const m = /^FROM:<([^>]*)>/i.exec(arg);
        if (!m) return this.now("501 5.5.4 syntax\r\n");
        this.mail = true;
        this.hold({ type: "mail", from: m[1], options: { requireTls: false, utf8: false } });
        return;
      }
      case "RCPT": {
        const m = /^TO:<([^>]*)>/i.exec(arg);
        if (!m) return this.now("501 5.5.4 syntax\r\n");
        if (!this.mail) return this.now("503 5.5.1 need MAIL\r\n");
        this.rcpts.push(m[1]);
        this.hold({ type: "rcpt", to: m[1], options: {} });
        return;
      }
      case "DATA": {
        if (this.rcpts.length === 0) return this.now("503 5.5.1 need RCPT\r\n");
        this.inData = { size: 0 };
        this.now("354 Go ahead\r\n");
        this.events.push({ type: "data-start", bdat: false });
        return;
      }
      case "RSET":
        this.mail = false;
        this.rcpts = [];
        this.hold({ type: "reset" });
        return;
      case "NOOP":
        return this.now("250 2.0.0 OK\r\n");
      case "QUIT":
        this.events.push({ type: "quit" });
        this.slots.push({ id: 0, text: "221 2.0.0 Bye\r\n", close: true, closeReason: "quit" });
        return;
      case "XCLIENT": {
        if (!this.config.xclient) return this.now("550 5.7.0 not authorized\r\n");
        const attributes = {};
        for (const kv of rest) {
          const [k, v] = kv.split("=");
          attributes[k.toLowerCase()] = k.toUpperCase().endsWith("PORT") ? Number(v) : v;
        }
        this.hold({ type: "xclient", attributes });
        return;
      }
      default:
        return this.now("500 5.5.2 unknown command\r\n");
    }
  }
  handleEof() {
    if (this.inData) this.events.push({ type: "data-aborted", reason: "eof" });
    this.close("eof");
  }
  handleTimeout(now) {
    if (this.closed || this.config.readTimeout === 0) return;
    if (now - this.lastInput >= this.config.readTimeout) {
      this.out.push(enc.encode("421 4.4.2 idle timeout\r\n"));
      if (this.inData) this.events.push({ type: "data-aborted", reason: "timeout" });
      this.close("timeout");
    }
  }
  pollTransmit() {
    return this.out.shift();
  }
  pollEvent() {
    return this.events.shift();
  }
  pollTimeout() {
    if (this.closed || this.config.readTimeout === 0) return undefined;
    return this.lastInput + this.config.readTimeout;
  }
  fill(id, text) {
    const slot = this.slots.find((s) => s.id === id);
    if (!slot) throw new Error(`no pending command ${id}`);
    slot.text = text;
    if (slot.event?.type === "mail" && !text.startsWith("2")) this.mail = false;
    if (slot.event?.type === "rcpt" && !text.startsWith("2")) this.rcpts = this.rcpts.filter((r) => r !== slot.event.to);
    this.flushSlots();
  }
  format(reply) {
    const lines = reply.text.split("\n");
    const e = reply.enhancedCode ? `${reply.enhancedCode.join(".")} ` : "";
    return lines.map((l, i) => `${reply.code}${i === lines.length - 1 ? " " : "-"}${e}${l}\r\n`).join("");
  }
  accept(id, reply) {
    const slot = this.slots.find((s) => s.id === id);
    const type = slot?.event?.type;
    const text = reply
      ? this.format(reply)
      : type === "auth"
          ? "235 2.7.0 Authentication successful\r\n"
          : type === "xclient"
            ? `220 ${this.config.domain} ESMTP fake\r\n`
            : "250 2.0.0 OK\r\n";
    this.fill(id, text);
    return true;
  }
  reject(id, reply) {
    this.fill(id, this.format(reply));
    return true;
  }
  answerRecipients(id, replies) {
    this.fill(id, replies.map((r) => (r ? this.format(r) : "250 2.0.0 OK\r\n")).join(""));
  }
  contentRead(n) {
    this.contentOutstanding -= n;
  }
  wantsInput() {
    return !this.closed && !this.slots.some((s) => s.text === null);
  }
  shutdown(now, reply) {
    if (this.closed) return;
    this.slots = [];
    this.out.push(enc.encode(reply ? this.format(reply) : `421 4.3.2 ${this.config.domain} Service shutting down\r\n`));
    if (this.inData) this.events.push({ type: "data-aborted", reason: "shutdown" });
    this.close("shutdown");
  }
  isClosed() {
    return this.closed;
  }
}
