#!/usr/bin/env node
// npx smtp-wasm send | probe | bridge   (see --help)
import { main } from "../node/cli.js";

process.exitCode = await main();
