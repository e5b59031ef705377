// A raw SMTP client for server tests: writes exactly what a test says and reads whole replies (multi-line included),
// so a test can pipeline, stall, or drop the connection mid-message.
import net from "node:net";

export async function talk(port, host = "127.0.0.1") {
  const socket = net.connect({ port, host });
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.setNoDelay(true);
  let buf = "";
  let closed = false;
  let waiter = null;
  socket.on("data", (d) => {
    buf += d.toString("latin1");
    waiter?.();
  });
  socket.on("close", () => {
    closed = true;
    waiter?.();
  });
  socket.on("error", () => {});
  /** The next whole reply: { code, lines: [...], text } or null when the connection closed. */
  async function reply(timeout = 5000) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const m = /^((?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n)/.exec(buf);
      if (m) {
        buf = buf.slice(m[1].length);
        const lines = m[1].trimEnd().split("\r\n");
        return { code: Number(lines[0].slice(0, 3)), lines: lines.map((l) => l.slice(4)), text: m[1] };
      }
      if (closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeout} ms; have ${JSON.stringify(buf)}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        waiter = () => {
          clearTimeout(t);
          waiter = null;
          resolve();
        };
      });
    }
  }
  return {
    socket,
    reply,
    send(text) {
      return new Promise((resolve) => socket.write(text.endsWith("\n") ? text : text + "\r\n", () => resolve()));
    },
    write(bytes) {
      return new Promise((resolve) => socket.write(bytes, () => resolve()));
    },
    async cmd(text, timeout) {
      await this.send(text);
      return reply(timeout);
    },
    closed: () => closed,
    async waitClosed(timeout = 5000) {
      const deadline = Date.now() + timeout;
      while (!closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return closed;
    },
    end() {
      socket.end();
    },
    destroy() {
      socket.destroy();
    },
  };
}

/** Reads a whole stream into a Buffer. */
export async function readAll(stream) {
  const chunks = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** A backend that records everything it is called with. */
export function recordingBackend(overrides = {}) {
  const log = [];
  const messages = [];
  const makeSession = (state, user) => ({
    mail(from, opts) {
      log.push(["mail", from, opts]);
    },
    rcpt(to) {
      log.push(["rcpt", to]);
    },
    async data(stream) {
      const body = await readAll(stream);
      messages.push({ user, body: body.toString("utf8"), state });
      log.push(["data", body.length]);
    },
    reset() {
      log.push(["reset"]);
    },
    logout() {
      log.push(["logout"]);
    },
    ...(overrides.session ?? {}),
  });
  const backend = {
    login(state, username, password) {
      log.push(["login", username]);
      if (password !== "secret") {
        const e = new Error("bad password");
        e.smtp = true;
        throw overrides.authError ?? e;
      }
      return makeSession(state, username);
    },
    anonymousLogin(state) {
      log.push(["anonymousLogin", state.remoteAddress]);
      return makeSession(state, null);
    },
    ...(overrides.backend ?? {}),
  };
  return { backend, log, messages };
}
