// The measuring side of `npm run bench:ext`, run in ONE worker_threads worker (as actions are):
// binds titan-bench-ext exactly as a Titan worker does (core addon → `extLoad` →
// `attachExtension` from core-runtime/dist/extensions.js) and loads napi-direct next to it,
// then times each case on both, alternating, and posts the figures back to the main thread.

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { parentPort, workerData } from "node:worker_threads";
import { CASES } from "./cases.mjs";

const { coreNative, coreExtensionsJs, titanLibrary, napiAddon, rounds, timePerRoundMs, warmupMs, caseKeys } = workerData;
const require = createRequire(import.meta.url);

const progress = (text) => parentPort.postMessage({ type: "progress", text });

/** Fails the bench with a message for the user (the main thread prints it). */
class SetupError extends Error {}

function load() {
  let native;
  try {
    native = require(coreNative);
  } catch (error) {
    throw new SetupError(`the Titan core addon (${coreNative}) did not load: ${error.message}\nRebuild it with \`npm run build\` at the repo root.`);
  }
  if (typeof native.extLoad !== "function" || typeof native.extBind !== "function") {
    throw new SetupError("the Titan core addon has no extLoad/extBind: it predates native extensions; rebuild it with `npm run build` at the repo root.");
  }
  return import(pathToFileURL(coreExtensionsJs).href).then(({ attachExtension }) => {
    let info;
    try {
      info = native.extLoad(titanLibrary, "null");
    } catch (error) {
      throw new SetupError(`extLoad(${titanLibrary}) failed: ${error.message}\nIf the ABI changed, rebuild both sides: \`npm run build\` at the repo root (the bench rebuilds titan-bench-ext itself).`);
    }
    // Exactly what the host hands a worker (host.ts loadExtensions) and what the worker runs.
    const bound = {
      id: info.id,
      name: info.name,
      namespace: "bench",
      entry: null,
      functions: info.functions.map((f) => ({ name: f.name, arity: f.arity })),
    };
    const titan = attachExtension(native, bound, 1);
    let direct;
    try {
      direct = require(napiAddon);
    } catch (error) {
      throw new SetupError(`the napi-direct addon (${napiAddon}) did not load: ${error.message}`);
    }
    return { titan, direct, extension: { name: info.name, version: info.version, sdkVersion: info.sdkVersion, functions: bound.functions } };
  });
}

/** A loop of `n` calls with its own call site (so V8 sees one target there, as in an action). */
function makeLoop(arity) {
  const params = ["a0", "a1", "a2", "a3"].slice(0, arity);
  // eslint-disable-next-line no-new-func
  return new Function("fn", ...params, "n", `let r; for (let i = 0; i < n; i++) r = fn(${params.join(", ")}); return r;`);
}

function timeLoop(side, n) {
  const start = process.hrtime.bigint();
  side.loop(side.fn, ...side.args, n);
  return Number(process.hrtime.bigint() - start);
}

/** Warms the loop up (so it runs optimized), then picks the calls per round for ~timePerRoundMs. */
function calibrate(side) {
  const warmupNs = warmupMs * 1e6;
  let n = 64;
  let spent = 0;
  let last = 0;
  while (spent < warmupNs || last < 20e6) {
    last = timeLoop(side, n);
    spent += last;
    if (last < 20e6) n *= 2;
  }
  const nsPerCall = last / n;
  return Math.max(1000, Math.round((timePerRoundMs * 1e6) / nsPerCall));
}

const normalize = (value) => (value === undefined ? null : value);

async function main() {
  const { titan, direct, extension } = await load();
  parentPort.postMessage({ type: "extension", extension });
  const results = [];
  const cases = CASES.filter((c) => caseKeys.includes(c.key));
  for (const [i, c] of cases.entries()) {
    const args = c.args();
    const sides = {
      titan: { fn: titan[c.titan], name: `t.bench.${c.titan}` },
      napi: { fn: direct[c.napi], name: `napi-direct.${c.napi}` },
    };
    for (const side of Object.values(sides)) {
      if (typeof side.fn !== "function") {
        throw new SetupError(`${side.name} is not a function: titan-bench-ext and napi-direct must export the functions bench/ext/cases.mjs names (rebuild them, or fix cases.mjs).`);
      }
      side.args = args;
      side.loop = makeLoop(args.length);
    }

    // Sanity: both sides agree, with each other and with what the case expects. (`()` is
    // `null` from Titan and `undefined` from napi-rs; both count as null.)
    const got = {};
    for (const [key, side] of Object.entries(sides)) {
      try {
        got[key] = normalize(side.fn(...args));
      } catch (error) {
        throw new SetupError(`${side.name}(${c.label}) threw before timing: ${error.message}`);
      }
    }
    if (!isDeepStrictEqual(got.titan, c.expect) || !isDeepStrictEqual(got.napi, c.expect)) {
      const show = (v) => (typeof v === "string" && v.length > 40 ? `${JSON.stringify(v.slice(0, 40))}… (${v.length} chars)` : JSON.stringify(v));
      throw new SetupError(`${c.label}: Titan returned ${show(got.titan)}, napi-rs ${show(got.napi)}, expected ${show(c.expect)}: the two crates' bodies have drifted apart (bench/ext/titan-bench-ext, bench/ext/napi-direct).`);
    }

    progress(`[${i + 1}/${cases.length}] ${c.label}: warming up…`);
    for (const side of Object.values(sides)) side.calls = calibrate(side);

    const ns = { titan: [], napi: [] };
    for (let round = 0; round < rounds; round++) {
      // Alternate who goes first, so neither always runs right after the other's garbage.
      const order = round % 2 === 0 ? ["titan", "napi"] : ["napi", "titan"];
      for (const key of order) ns[key].push(timeLoop(sides[key], sides[key].calls) / sides[key].calls);
    }
    const result = {
      key: c.key,
      label: c.label,
      goal: c.goal,
      titanFunction: `t.bench.${c.titan}`,
      napiFunction: c.napi,
      titan: { nsPerCallByRound: ns.titan, callsPerRound: sides.titan.calls },
      napi: { nsPerCallByRound: ns.napi, callsPerRound: sides.napi.calls },
    };
    results.push(result);
    parentPort.postMessage({ type: "case", index: i, total: cases.length, result });
  }
  parentPort.postMessage({ type: "done", results });
}

main().catch((error) => {
  parentPort.postMessage({ type: "error", message: error instanceof SetupError ? error.message : error.stack, setup: error instanceof SetupError });
});
