// A scripted fake SMTP server over an in-memory Duplex, for testing the TypeScript driver without real servers.
//
// Scripts read like the RFCs' examples:
//
//   S: 220 mx.example.org ESMTP
//   C: EHLO localhost
//   S: 250-mx.example.org
//   S: 250 PIPELINING
//
// Consecutive `S:` lines go out as one write (or byte by byte with `split: true`). Each `C:` line must be the next
// line the client sends, exactly. `S: <close>` ends the server's side (EOF to the client); `C: <eof>` expects the
// client to close its side. A script line `S: <wait N>` pauses N ms. When the script is over (or the client strays from
// it) the server closes its side, unless the script ends with `S: <hold>`, so a test never hangs on a wrong script.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Parses a script (template string) into steps. Blank lines and lines starting with # are ignored. */
export function parseScript(text) {
  const steps = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/^\s+/, "");
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([SC]): ?(.*)$/.exec(line);
    if (!m) throw new Error(`bad script line: ${raw}`);
    steps.push({ who: m[1], text: m[2] });
  }
  return steps;
}

/**
 * Starts a fake server running `script`. Returns `{ duplex, done, chunks, closedByClient }`:
 * - `duplex`: the client's side, to hand to SmtpClient.connect / sendMail's `connect`;
 * - `done`: resolves with `{ errors, received }` when the script is over (errors is empty when every C: matched);
 * - `chunks`: every write the client made, as strings (to check pipelined flights are coalesced).
 */
export function fakeServer(script, { split = false, readDelay = 0, onBytes } = {}) {
  const steps = typeof script === "string" ? parseScript(script) : script;
  const chunks = [];
  const toClient = new TransformStream();
  let serverInbox = [];
  let inboxWaiter;
  let clientEnded = false;
  let consumed = 0;

  const clientWritable = new WritableStream(
    {
      async write(chunk) {
        const copy = new Uint8Array(chunk);
        chunks.push(decoder.decode(copy));
        serverInbox.push(copy);
        inboxWaiter?.();
        if (readDelay > 0) await new Promise((r) => setTimeout(r, readDelay));
      },
      close() {
        clientEnded = true;
        inboxWaiter?.();
      },
      abort() {
        clientEnded = true;
        inboxWaiter?.();
      },
    },
    { highWaterMark: 1 },
  );

  let duplexClosed = false;
  const duplex = {
    readable: toClient.readable,
    writable: clientWritable,
    async close() {
      duplexClosed = true;
      clientEnded = true;
      inboxWaiter?.();
    },
  };

  const serverWriter = toClient.writable.getWriter();
  let pending = "";

  async function nextLine() {
    for (;;) {
      const at = pending.indexOf("\n");
      if (at >= 0) {
        const line = pending.slice(0, at).replace(/\r$/, "");
        pending = pending.slice(at + 1);
        return line;
      }
      if (serverInbox.length > 0) {
        const chunk = serverInbox.shift();
        consumed += chunk.byteLength;
        onBytes?.(consumed);
        pending += decoder.decode(chunk);
        continue;
      }
      if (clientEnded) return null;
      await new Promise((resolve) => {
        inboxWaiter = resolve;
      });
      inboxWaiter = undefined;
    }
  }

  async function send(lines) {
    const bytes = encoder.encode(lines.map((l) => `${l}\r\n`).join(""));
    if (split) {
      for (const b of bytes) await serverWriter.write(new Uint8Array([b]));
    } else {
      await serverWriter.write(bytes);
    }
  }

  let hold = false;
  const done = (async () => {
    const errors = [];
    const received = [];
    let i = 0;
    while (i < steps.length) {
      const step = steps[i];
      if (step.who === "S") {
        if (step.text === "<close>") {
          await serverWriter.close().catch(() => {});
          i++;
          continue;
        }
        if (step.text === "<hold>") {
          hold = true;
          i++;
          continue;
        }
        const wait = /^<wait (\d+)>$/.exec(step.text);
        if (wait) {
          await new Promise((r) => setTimeout(r, Number(wait[1])));
          i++;
          continue;
        }
        const flight = [];
        while (i < steps.length && steps[i].who === "S" && !steps[i].text.startsWith("<")) {
          flight.push(steps[i].text);
          i++;
        }
        await send(flight).catch((e) => errors.push(`server write failed: ${e}`));
        continue;
      }
      // C:
      const line = await nextLine();
      if (step.text === "<eof>") {
        if (line !== null) errors.push(`expected the client to close, got ${JSON.stringify(line)}`);
        i++;
        continue;
      }
      if (line === null) {
        errors.push(`expected C: ${step.text}, but the client closed`);
        break;
      }
      received.push(line);
      if (line !== step.text) {
        errors.push(`expected C: ${JSON.stringify(step.text)}, got ${JSON.stringify(line)}`);
        break;
      }
      i++;
    }
    if (!hold || errors.length > 0) await serverWriter.close().catch(() => {});
    return { errors, received, duplexClosed: () => duplexClosed, rest: async () => drain() };
  })();

  // After the script: what else did the client send (used to check nothing was written)?
  async function drain() {
    const extra = [];
    for (;;) {
      if (pending.length > 0 || serverInbox.length > 0) {
        const line = await nextLine();
        if (line === null) break;
        extra.push(line);
      } else break;
    }
    return extra;
  }

  return {
    duplex,
    done,
    chunks,
    serverWriter,
    get closedByClient() {
      return duplexClosed;
    },
    get consumed() {
      return consumed;
    },
  };
}

/** A greeting plus EHLO exchange advertising `extensions`. */
export function ehlo(extensions = ["PIPELINING"], name = "localhost") {
  const lines = ["mx.example.org", ...extensions];
  return [
    `C: EHLO ${name}`,
    ...lines.map((l, i) => `S: 250${i === lines.length - 1 ? " " : "-"}${l}`),
  ].join("\n");
}
