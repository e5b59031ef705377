/**
 * Attachments given by `path`: a file read in bounded pieces into one reused buffer, on the runtimes that have a
 * filesystem (Node and Bun through `node:fs/promises`, Deno through `Deno.open`). Elsewhere (browsers, Workers) a
 * path is refused with a {@link UsageError} that says to pass the content instead.
 * @module
 */

import { UsageError } from "./errors.js";

/** How much of the file is read at a time (and the size of the one buffer it is read into). */
export const FILE_CHUNK = 64 * 1024;

/** An open file: `read` fills the buffer from the current position (0 at the end); `close` releases it. */
interface OpenFile {
  read(buffer: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

interface DenoFile {
  read(buffer: Uint8Array): Promise<number | null>;
  close(): void;
}

interface DenoFs {
  open(path: string | URL, options: { read: true }): Promise<DenoFile>;
  stat(path: string | URL): Promise<{ isFile: boolean }>;
}

interface NodeFileHandle {
  read(buffer: Uint8Array, offset: number, length: number, position: null): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

interface NodeFs {
  open(path: string | URL, flags: "r"): Promise<NodeFileHandle>;
  stat(path: string | URL): Promise<{ isFile(): boolean }>;
}

interface Globals {
  Deno?: DenoFs;
  process?: { versions?: { node?: string } };
}

type Files = { kind: "deno"; fs: DenoFs } | { kind: "node"; fs: NodeFs };

let files: Promise<Files> | undefined;

/** This runtime's filesystem, or a UsageError saying there is none. */
function runtimeFiles(): Promise<Files> {
  files ??= (async (): Promise<Files> => {
    const g = globalThis as unknown as Globals;
    if (g.Deno !== undefined && typeof g.Deno.open === "function") return { kind: "deno", fs: g.Deno };
    if (typeof g.process?.versions?.node === "string") {
      try {
        return { kind: "node", fs: (await import(/* webpackIgnore: true */ "node:fs/promises")) as unknown as NodeFs };
      } catch {
        // A runtime that looks like Node without its filesystem module: the error below.
      }
    }
    throw new UsageError(
      "attachment path needs a filesystem (Node, Deno or Bun); in this runtime give the content instead " +
        "(a Uint8Array, a string or a ReadableStream)",
    );
  })();
  return files;
}

/** The error for a file that cannot be attached: the path and the system's reason. */
function unreadable(path: string | URL, cause: unknown): UsageError {
  const code = (cause as { code?: unknown })?.code;
  const why = typeof code === "string" ? code : cause instanceof Error ? cause.message : String(cause);
  return new UsageError(`cannot read attachment ${String(path)}: ${why}; nothing was sent`, { cause });
}

/**
 * Checks that `path` names a readable regular file (before anything is sent: a typo in a path must not cost a
 * half-sent message). Throws a UsageError otherwise.
 */
export async function checkFile(path: string | URL): Promise<void> {
  const runtime = await runtimeFiles();
  let isFile: boolean;
  try {
    const stat = await runtime.fs.stat(path);
    isFile = typeof stat.isFile === "function" ? stat.isFile() : stat.isFile;
  } catch (cause) {
    throw unreadable(path, cause);
  }
  if (!isFile) throw unreadable(path, new Error("not a regular file"));
}

async function open(path: string | URL): Promise<OpenFile> {
  const runtime = await runtimeFiles();
  try {
    if (runtime.kind === "deno") {
      const file = await runtime.fs.open(path, { read: true });
      return {
        read: async (buffer) => (await file.read(buffer)) ?? 0,
        close: async () => file.close(),
      };
    }
    const handle = await runtime.fs.open(path, "r");
    return {
      read: async (buffer) => (await handle.read(buffer, 0, buffer.byteLength, null)).bytesRead,
      close: () => handle.close(),
    };
  } catch (cause) {
    throw unreadable(path, cause);
  }
}

/**
 * The file's bytes, {@link FILE_CHUNK} at a time, each chunk a view of the same buffer: valid until the generator
 * resumes (the composer copies it into its own memory first), so reading makes no garbage per chunk. Opened when
 * the first chunk is asked for, closed at the end or when the consumer stops early.
 */
export async function* fileChunks(path: string | URL): AsyncGenerator<Uint8Array> {
  const file = await open(path);
  const buffer = new Uint8Array(FILE_CHUNK);
  try {
    for (;;) {
      let n: number;
      try {
        n = await file.read(buffer);
      } catch (cause) {
        throw unreadable(path, cause);
      }
      if (n === 0) return;
      yield buffer.subarray(0, n);
    }
  } finally {
    await file.close();
  }
}

/** The last segment of a path or file: URL (the attachment's default filename). */
export function baseName(path: string | URL): string {
  const text = path instanceof URL ? decodeURIComponent(path.pathname) : path;
  const parts = text.split(/[\\/]/);
  return parts[parts.length - 1] ?? text;
}
