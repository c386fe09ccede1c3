#!/usr/bin/env node
// The browser crypto bench, in headless Chromium, all in one page (bench-crypto.html):
//
//   warm  our WebAssembly core's presentation sign + QR, decode + verify, QR alone and grant
//         signing, against @noble/ed25519 (pure JS, @noble/hashes' SHA-512) and WebCrypto's
//         Ed25519 signing and verifying the same bytes; WebCrypto is the reference
//   cold  in a fresh context (empty HTTP and code caches): importing and instantiating
//         pkg/wallet_web.js + its WebAssembly, then the first presentation signed and drawn
//
// The page is served from a static server of its own on 127.0.0.1 (no demo federation needed),
// cross-origin isolated so that performance.now() is fine-grained. CPU not throttled.
// Prints a table and one `BENCH {json}` line per figure (scripts/bench-report.mjs reads them).
// `--smoke`: short batches, one cold load. BENCH_REPS=N repeats the warm run and the cold loads.

import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import process from "node:process";

import { REPO, launch } from "./support/demo.mjs";

const SMOKE = process.argv.includes("--smoke");
const REPS = Math.max(1, Number(process.env.BENCH_REPS ?? 1) || 1);
const TIMING = SMOKE ? { batchMs: 5, samples: 3 } : { batchMs: 100, samples: 11 };
const COLD = SMOKE ? 1 : 3;
const HERE = path.join(REPO, "tests", "browser");

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".wasm": "application/wasm" };

/** Serves the page, pkg/ and the two noble packages; nothing else. */
function serve() {
  const roots = [
    ["/pkg/", path.join(REPO, "pkg")],
    ["/node_modules/@noble/", path.join(HERE, "node_modules", "@noble")],
  ];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    let file = null;
    if (url.pathname === "/") file = path.join(HERE, "bench-crypto.html");
    for (const [prefix, dir] of roots) {
      if (url.pathname.startsWith(prefix)) {
        const f = path.normalize(path.join(dir, url.pathname.slice(prefix.length)));
        if (f.startsWith(dir + path.sep)) file = f;
      }
    }
    if (!file || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream",
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
      "Cache-Control": "no-store",
    });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function emit(section, rep, name, value, unit, ref) {
  const line = { bench: "browser-crypto", section, name, value, unit, rep };
  if (ref) line.ref = ref;
  console.log(`BENCH ${JSON.stringify(line)}`);
}

async function openPage(browser, url) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 });
  if (!(await page.evaluate(() => crossOriginIsolated))) console.log("note: the page is not cross-origin isolated: timers are coarse");
  return { ctx, page, errors };
}

async function main() {
  const server = await serve();
  const url = `http://127.0.0.1:${server.address().port}/`;
  let browser;
  try {
    browser = await launch();
    console.log(`## Browser crypto${SMOKE ? " (--smoke)" : ""}: headless Chromium ${browser.version()}, CPU not throttled\n`);
    const SIGN = "WebCrypto Ed25519 sign";
    const VERIFY = "WebCrypto Ed25519 verify";
    const refOf = (name) => (/verify/.test(name) ? VERIFY : SIGN);
    for (let rep = 0; rep < REPS; rep++) {
      const { ctx, page, errors } = await openPage(browser, url);
      const r = await page.evaluate((t) => window.bench.warm(t), TIMING);
      await ctx.close();
      if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
      if (r.grantError) console.log(`note: WASM grant sign not timed: ${r.grantError}`);
      console.log(`### Warm, repetition ${rep + 1} of ${REPS} (${r.textBytes}-byte message; median of ${TIMING.samples} batches of ~${TIMING.batchMs} ms)\n`);
      console.log("| operation | µs per operation | ÷ WebCrypto |");
      console.log("|---|---:|---:|");
      for (const [name, x] of Object.entries(r.results)) {
        const ref = name === refOf(name) ? null : refOf(name);
        const ratio = ref ? `${(x.us / r.results[ref].us).toFixed(2)}×` : "reference";
        console.log(`| ${name} | ${x.us.toFixed(1)} | ${ratio} |`);
        emit("warm, CPU ×1", rep, name, x.us, "µs", ref);
      }
      console.log("");
    }
    console.log(`### Cold: fresh context, import + instantiate pkg/, then the first signed QR\n`);
    console.log("| load | instantiate ms | first signed QR ms | total ms |");
    console.log("|---:|---:|---:|---:|");
    for (let i = 0; i < COLD * REPS; i++) {
      const { ctx, page, errors } = await openPage(browser, url);
      const c = await page.evaluate(() => window.bench.cold());
      await ctx.close();
      if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
      console.log(`| ${i + 1} | ${c.instantiateMs.toFixed(1)} | ${c.firstQrMs.toFixed(1)} | ${c.totalMs.toFixed(1)} |`);
      emit("cold start, CPU ×1", i, "WASM import + instantiate", c.instantiateMs, "ms");
      emit("cold start, CPU ×1", i, "first signed QR after instantiate", c.firstQrMs, "ms", "WASM import + instantiate");
      emit("cold start, CPU ×1", i, "instantiate + first signed QR", c.totalMs, "ms", "WASM import + instantiate");
    }
  } finally {
    await browser?.close();
    server.close();
  }
}

main().catch((e) => {
  console.error(`bench-crypto: could not measure: ${e?.stack ?? e}`);
  process.exit(1);
});
