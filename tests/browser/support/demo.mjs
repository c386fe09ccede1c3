// The browser tests' harness: one demo federation per test file (`server demo`), the browser
// and its phone/desktop contexts, a console-error guard, screenshots into target/browser/, and
// reading the 亮证码 back from pixels the way a counter's scanner does.

import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

import { chromium } from "playwright-core";
import jsQR from "jsqr";
import { PNG } from "pngjs";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const SHOTS = path.join(REPO, "target", "browser");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Node regions and their port offsets, as in server/src/demo/mod.rs `NODES`. */
export const NODES = {
  national: { region: "100000", offset: 0 },
  henan: { region: "410000", offset: 410 },
  zhengzhou: { region: "410100", offset: 411 },
  luohe: { region: "411100", offset: 412 },
  hubei: { region: "420000", offset: 420 },
  wuhan: { region: "420100", offset: 421 },
};
const OFFSETS = Object.values(NODES).map((n) => n.offset);

/** Generous timeouts: the machine has two cores shared with a Rust build. */
export const TIMEOUT = {
  start: 120_000, // the demo's first start generates keys and seeds six databases
  step: 30_000, // one visible outcome in the page (a cross-node retrieval included)
  test: 600_000,
};

// ---------------------------------------------------------------------------------------------
// Ports.

function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A base port whose six node ports (base+0, +410, +411, +412, +420, +421) are all free. */
export async function freeBase() {
  for (let i = 0; i < 200; i++) {
    // Random, so parallel runs (and a stale demo) rarely collide; below the ephemeral range.
    const base = 20000 + Math.floor(Math.random() * 1500) * 10;
    const ports = OFFSETS.map((o) => base + o);
    const free = await Promise.all(ports.map(portFree));
    if (free.every(Boolean)) return base;
  }
  throw new Error("no base port with six free ports found");
}

// ---------------------------------------------------------------------------------------------
// The banner (server/src/demo/mod.rs `banner()`).

/**
 * Parses the demo's start-up banner: node URLs, resident accounts
 * (`  张伟（演示） <id>  <phone>  <password>  钱包 <url>/ — <role>`) and staff accounts
 * (`  王芳（演示）窗口 <id>  <password>  <node name>  <counter>`).
 */
export function parseBanner(text) {
  const nodes = {};
  const nodeByName = {};
  const residents = {};
  const staff = {};
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    let m = /^\s+(\d{6})\s+(\S+)\s+(http:\/\/\S+?)\/?$/.exec(line);
    if (m) {
      nodes[m[1]] = { region: m[1], name: m[2], url: m[3] };
      nodeByName[m[2]] = m[1];
      continue;
    }
    m = /^\s+(\S+?)（演示） (\d{17}[\dX])\s+(\d{11})\s+(\S+)\s+钱包 (http:\/\/\S+?)\/? — (.*)$/.exec(line);
    if (m) {
      residents[m[1]] = {
        name: m[1],
        residentId: m[2],
        phone: m[3],
        password: m[4],
        wallet: m[5],
        role: m[6],
      };
      continue;
    }
    m = /^\s+(\S+?)（演示）(窗口|后台审核) (\S+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(line);
    if (m) {
      staff[m[3]] = {
        name: m[1],
        role: m[2] === "窗口" ? "clerk" : "reviewer",
        id: m[3],
        password: m[4],
        nodeName: m[5],
        region: nodeByName[m[5]] ?? null,
        counter: m[6].trim(),
      };
    }
  }
  return { nodes, residents, staff };
}

// ---------------------------------------------------------------------------------------------
// The demo federation.

async function healthy(url, deadline) {
  for (;;) {
    try {
      const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
      if (r.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url}/healthz did not answer`);
    await new Promise((r) => setTimeout(r, 200)); // polling interval, not synchronisation
  }
}

/**
 * Starts `server demo` on free ports with a fresh data directory; resolves once the banner is
 * printed and every node's /healthz answers. `stop()` kills it and removes the data.
 */
export async function startDemo(label = "demo") {
  const bin = process.env.SERVER_BIN ?? path.join(REPO, "target", "debug", "server");
  if (!fs.existsSync(bin)) throw new Error(`demo server binary not found: ${bin} (set SERVER_BIN)`);
  fs.mkdirSync(SHOTS, { recursive: true });
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const base = await freeBase();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `ec-browser-${label}-`));
    const logPath = path.join(SHOTS, `${slug(label)}-server.log`);
    const log = fs.createWriteStream(logPath);
    const child = spawn(bin, ["demo", "--base-port", String(base), "--data-dir", dataDir], {
      cwd: REPO,
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let exited = null;
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (d) => {
      out += d;
      log.write(d);
    });
    child.stderr.on("data", (d) => log.write(d));
    child.on("exit", (code, signal) => {
      exited = { code, signal };
    });
    const stop = async () => {
      if (exited === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await once(child, "exit").catch(() => {});
        clearTimeout(timer);
      }
      log.end();
      fs.rmSync(dataDir, { recursive: true, force: true });
    };
    try {
      const deadline = Date.now() + TIMEOUT.start;
      // The banner's last line comes after every node is bound and seeded.
      await new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`server demo printed no banner; see ${logPath}`)),
          TIMEOUT.start,
        );
        const check = () => {
          if (out.includes("演示数据目录")) done(resolve);
        };
        const gone = () => done(() => reject(new Error(`server demo exited (${JSON.stringify(exited)}); see ${logPath}`)));
        const done = (f) => {
          clearTimeout(timer);
          child.stdout.off("data", check);
          child.off("exit", gone);
          f();
        };
        child.stdout.on("data", check);
        child.on("exit", gone);
        if (exited) gone();
        else check();
      });
      const banner = parseBanner(out);
      const urls = OFFSETS.map((o) => `http://127.0.0.1:${base + o}`);
      await Promise.all(urls.map((u) => healthy(u, deadline)));
      const url = (region) => {
        const n = Object.values(NODES).find((x) => x.region === region);
        return `http://127.0.0.1:${base + n.offset}`;
      };
      assert.ok(Object.keys(banner.residents).length > 0, "the banner lists no resident accounts");
      assert.ok(Object.keys(banner.staff).length > 0, "the banner lists no staff accounts");
      return {
        base,
        dataDir,
        logPath,
        banner,
        ...banner,
        url,
        wallet: url(NODES.henan.region),
        luohe: url(NODES.luohe.region),
        /** A resident by name (张伟) as the banner printed it. */
        resident(name) {
          const r = banner.residents[name];
          assert.ok(r, `resident ${name} is not in the demo banner`);
          return r;
        },
        /** The first reviewer (后台审核) of a node (411100 → lh-review-01). */
        reviewer(region) {
          const s = Object.values(banner.staff).find((x) => x.region === region && x.role === "reviewer");
          assert.ok(s, `no reviewer for node ${region} in the demo banner`);
          return s;
        },
        /** The first clerk of a node (411100 → lh-clerk-01). */
        clerk(region) {
          const s = Object.values(banner.staff).find((x) => x.region === region && x.role === "clerk");
          assert.ok(s, `no clerk for node ${region} in the demo banner`);
          return s;
        },
        stop,
      };
    } catch (e) {
      lastError = e;
      await stop();
      // A port taken between our check and the bind: try another base.
      if (!/listen on|Address already in use/i.test(fs.readFileSync(logPath, "utf8"))) break;
    }
  }
  throw lastError;
}

/** Demo people by their constant names in server/src/demo/people.rs. */
export const PEOPLE = {
  ZHANG_WEI: "张伟",
  LI_NA: "李娜",
  LIU_YANG: "刘洋",
  SUN_LI: "孙丽",
  ZHOU_MIN: "周敏",
};
export const CRANE_MATTER = { code: "411100-JS-0042", name: "建筑起重机械设备使用登记" };
export const OPERATOR_CERT = "特种设备作业人员证";
export const FUND_MATTER = { code: "411100-GJJ-0011", name: "购买二手自住住房提取住房公积金" };

// ---------------------------------------------------------------------------------------------
// Browser and contexts.

export function launch() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox"],
  });
}

/** A phone: 360×740 CSS px at 2× density, touch, Chinese locale and China's time zone. */
export async function phoneContext(browser, extra = {}) {
  const ctx = await browser.newContext({
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: "zh-CN",
    timezoneId: "Asia/Shanghai",
    ...extra,
  });
  ctx.setDefaultTimeout(TIMEOUT.step);
  return ctx;
}

/** The counter's desktop. */
export async function desktopContext(browser, extra = {}) {
  const ctx = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    locale: "zh-CN",
    timezoneId: "Asia/Shanghai",
    ...extra,
  });
  ctx.setDefaultTimeout(TIMEOUT.step);
  return ctx;
}

// ---------------------------------------------------------------------------------------------
// Console errors.

/**
 * Collects console errors and uncaught page errors of every page given to `watch`. `allow(re)`
 * tolerates messages the step provokes on purpose (the browser logs a refused API call, e.g. a
 * 409 for a revoked grant, as "Failed to load resource"); `assertNone()` fails the test.
 */
export function errorGuard() {
  const seen = [];
  const allowed = [];
  const tolerated = [];
  const record = (where, text) => {
    if (allowed.some((re) => re.test(text))) tolerated.push(`${where}: ${text}`);
    else seen.push(`${where}: ${text}`);
  };
  return {
    watch(page, name = "page") {
      page.on("console", (msg) => {
        if (msg.type() !== "error") return;
        const loc = msg.location();
        record(name, `${msg.text()}${loc?.url ? ` (${loc.url}:${loc.lineNumber})` : ""}`);
      });
      page.on("pageerror", (err) => record(name, `uncaught ${err.name}: ${err.message}`));
      return page;
    },
    allow(re) {
      allowed.push(re);
    },
    /** Tolerates the network-layer log of refused API calls (4xx), and only those. */
    allowRefusals() {
      allowed.push(/Failed to load resource: the server responded with a status of 4\d\d/);
    },
    disallowAll() {
      allowed.length = 0;
    },
    errors: seen,
    tolerated,
    assertNone() {
      assert.deepEqual(seen, [], `console or page errors:\n${seen.join("\n")}`);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Screenshots.

export function slug(s) {
  return String(s)
    .normalize("NFKC")
    .replace(/[^\p{L}\p{N}]+/gu, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 80);
}

/** Writes target/browser/<test>--<view>.png (full page) and returns its path. */
export async function shot(page, test, view, opts = {}) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${slug(test)}--${slug(view)}.png`);
  await page.screenshot({ path: file, fullPage: true, ...opts });
  return file;
}

// ---------------------------------------------------------------------------------------------
// Reading the 亮证码 from pixels.

export const QR = '[role="img"][aria-label="亮证码二维码"]';

function decodePng(buffer) {
  const png = PNG.sync.read(buffer);
  const found = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length),
    png.width, png.height, { inversionAttempts: "dontInvert" });
  return found?.data ?? null;
}

/**
 * Decodes the 亮证码 shown on `page` from a screenshot — the QR element with a margin (its quiet
 * zone), or the whole viewport as a fallback — never from the DOM. Optionally saves the image.
 */
export async function readQr(page, { save } = {}) {
  const el = page.locator(QR).first();
  await el.locator("svg").first().waitFor({ state: "visible" });
  await el.scrollIntoViewIfNeeded();
  const box = await el.boundingBox();
  assert.ok(box, "the 亮证码 has no box on screen");
  const vp = page.viewportSize();
  const m = 16;
  const x = Math.max(0, box.x - m);
  const y = Math.max(0, box.y - m);
  const clip = {
    x,
    y,
    width: Math.min(vp.width - x, box.width + 2 * m),
    height: Math.min(vp.height - y, box.height + 2 * m),
  };
  const png = await page.screenshot({ clip });
  if (save) fs.writeFileSync(save, png);
  let text = decodePng(png);
  if (!text) text = decodePng(await page.screenshot());
  assert.ok(text, "no QR code could be decoded from the screenshot of the 亮证 page");
  return text;
}

/** A fingerprint of the QR on screen, to wait for 立即刷新 to have drawn a new one. */
export async function qrMarkup(page) {
  return page.locator(QR).first().evaluate((el) => el.getAttribute("data-text") ?? el.innerHTML);
}
export async function waitForNewQr(page, before) {
  await page.waitForFunction(
    ([sel, prev]) => {
      const el = document.querySelector(sel);
      if (!el || !el.querySelector("svg")) return false;
      return (el.getAttribute("data-text") ?? el.innerHTML) !== prev;
    },
    [QR, before],
    { timeout: TIMEOUT.step },
  );
}

// ---------------------------------------------------------------------------------------------
// Layout and labels.

/**
 * Fails when the page scrolls sideways at its current width. On an emulated phone (isMobile)
 * Chromium widens the layout viewport to fit overflowing content, so `innerWidth` grows with
 * the overflow and `scrollWidth <= innerWidth` alone would always hold: the width compared
 * against is the smallest of innerWidth, the root's clientWidth and the context's viewport.
 */
export async function assertNoHorizontalScroll(page, what) {
  const viewport = page.viewportSize()?.width ?? Infinity;
  const m = await page.evaluate(() => {
    const vw = Math.min(window.innerWidth, document.documentElement.clientWidth);
    // Name the widest offender, so a failure says what to fix.
    let widest = null;
    for (const el of document.querySelectorAll("body *")) {
      const r = el.getBoundingClientRect();
      if (r.width && r.right > vw + 0.5 && (!widest || r.right > widest.right)) {
        widest = { right: Math.round(r.right), tag: el.tagName.toLowerCase(), cls: el.className?.toString?.() ?? "",
          text: (el.textContent ?? "").trim().slice(0, 40) };
      }
    }
    return {
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      clientWidth: document.documentElement.clientWidth,
      widest,
    };
  });
  const limit = Math.min(m.innerWidth, m.clientWidth, viewport);
  assert.ok(
    m.scrollWidth <= limit,
    `${what}: horizontal scroll (scrollWidth ${m.scrollWidth} > ${limit}; innerWidth ${m.innerWidth}, clientWidth ${m.clientWidth}, viewport ${viewport}); widest: ${JSON.stringify(m.widest)}`,
  );
}

const CONTROL_ROLES = new Set([
  "textbox", "searchbox", "combobox", "listbox", "button", "checkbox", "radio", "spinbutton",
  "slider", "switch", "menuitem", "tab",
]);

/**
 * Every form control on the page has an accessible name, as Chromium's accessibility tree
 * computes it (label for, aria-label, aria-labelledby, content). Returns the controls checked.
 */
export async function assertControlsNamed(page, what) {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send("Accessibility.enable");
    const { nodes } = await cdp.send("Accessibility.getFullAXTree");
    const unnamed = [];
    let checked = 0;
    for (const n of nodes) {
      if (n.ignored) continue;
      const role = n.role?.value;
      if (!CONTROL_ROLES.has(role)) continue;
      checked++;
      const name = (n.name?.value ?? "").trim();
      if (name) continue;
      let html = "";
      if (n.backendDOMNodeId) {
        try {
          const { object } = await cdp.send("DOM.resolveNode", { backendNodeId: n.backendDOMNodeId });
          const r = await cdp.send("Runtime.callFunctionOn", {
            objectId: object.objectId,
            functionDeclaration: "function () { return this.outerHTML.slice(0, 160); }",
            returnByValue: true,
          });
          html = r.result.value;
        } catch {
          // the node went away; the role alone still says what is wrong
        }
      }
      unnamed.push(`${role}: ${html}`);
    }
    // Also the DOM's own controls, in case the tree left one out.
    const domUnnamed = await page.evaluate(() => {
      const out = [];
      for (const el of document.querySelectorAll("input, select, textarea, button")) {
        if (el.type === "hidden" || !el.getClientRects().length) continue;
        const labelled =
          (el.labels && [...el.labels].some((l) => l.textContent.trim())) ||
          el.getAttribute("aria-label")?.trim() ||
          (el.getAttribute("aria-labelledby") ?? "").split(/\s+/).some((id) => document.getElementById(id)?.textContent.trim()) ||
          (el.tagName === "BUTTON" && el.textContent.trim()) ||
          (el.type === "submit" || el.type === "button" ? el.value?.trim() : "") ||
          el.getAttribute("title")?.trim();
        if (!labelled) out.push(el.outerHTML.slice(0, 160));
      }
      return out;
    });
    const all = [...unnamed, ...domUnnamed.map((h) => `dom: ${h}`)];
    assert.deepEqual(all, [], `${what}: controls without an accessible name:\n${all.join("\n")}`);
    return checked;
  } finally {
    await cdp.detach().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// Sequential steps of one story.

/**
 * Steps of one story, run in order as node:test tests; once a step fails the later ones are
 * skipped (and say which step broke), instead of failing for a reason that is not theirs
 * (`chain: false` runs them all). A failing step leaves screenshots of every page.
 */
export function story(test, { name = "story", pages = () => ({}), chain = true } = {}) {
  let broken = null;
  return (title, fn) =>
    test(title, { timeout: TIMEOUT.test }, async (t) => {
      if (broken) {
        t.skip(`skipped: an earlier step failed (${broken})`);
        return;
      }
      try {
        await fn(t);
      } catch (e) {
        if (chain) broken = title;
        await failureShots(name, title, pages());
        throw e;
      }
    });
}

/** On a failure, what every page of the test showed, into target/browser/<test>--FAILED-…png. */
export async function failureShots(test, step, pages) {
  for (const [who, page] of Object.entries(pages)) {
    if (!page || page.isClosed()) continue;
    await shot(page, test, `FAILED-${step.slice(0, 24)}-${who}`).catch(() => {});
  }
}
