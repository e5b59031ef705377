// Cloudflare Worker (run by `wrangler dev`): POST /run with the env as JSON runs the scenario inside workerd, with
// TCP through `cloudflare:sockets`, and answers { runtime, results }.
import * as lib from "smtp-wasm";

import { scenario } from "./scenario.mjs";

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/ping") return new Response("ok");
    if (url.pathname !== "/run" || request.method !== "POST") return new Response("not found", { status: 404 });
    const env = await request.json();
    const results = await scenario(lib, env, { runtime: "workerd", transport: "tcp" });
    return Response.json({ runtime: "workerd", results });
  },
};
