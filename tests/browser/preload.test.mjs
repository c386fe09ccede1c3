// The first view's module graph, without a browser. index.html's start-up script preloads each
// entry module with everything it imports, so the browser fetches them in one parallel round
// instead of discovering them import by import (each discovery costs a round trip, half a
// second on 3G). That list is kept by hand: a static import added to a view module and not to
// the list silently adds a round trip. Here the start-up script runs in a sandbox for each kind
// of first view, and what it preloads is compared with the static `import … from "/app/…"`
// closure of the entry module (dynamic `import()` loads later and is left out). Also: every
// static import in wallet-web/page names a module that exists, for names that module exports
// (a missing one is a SyntaxError that stops the whole page), and every module loaded on
// demand exists.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { fileURLToPath } from "node:url";

import * as acorn from "acorn";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const PAGE = path.join(REPO, "wallet-web", "page");
const INDEX = path.join(REPO, "index.html");

// ---------------------------------------------------------------------------------------------
// index.html's start-up script.

/** The inline classic script in <head> that sets up the preloads (the first <script> without attributes). */
function startupScript(html) {
  const m = /<script>([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, "index.html has no inline start-up <script> (the one that preloads the first view's modules)");
  return m[1];
}

/**
 * Runs the start-up script as the browser would for `hash`, with `citizen` as the stored
 * citizen session (or none); returns the module URLs it preloads, in order, and its entry.
 */
function preloads(script, hash, citizen = null) {
  const links = [];
  const store = new Map(citizen ? [["ec.citizen", JSON.stringify(citizen)]] : []);
  const window = {};
  const sandbox = {
    window,
    location: { hash, pathname: "/", search: "" },
    localStorage: { getItem: (k) => store.get(k) ?? null, setItem: () => {}, removeItem: () => {} },
    document: {
      createElement: (tag) => ({ tagName: tag.toUpperCase() }),
      head: { appendChild: (el) => links.push(el) },
    },
    // The early certificate fetch: started, never awaited here.
    fetch: () => new Promise(() => {}),
    Date,
    JSON,
  };
  window.window = window;
  vm.runInNewContext(script, sandbox, { filename: "index.html <script>", timeout: 1000 });
  const mods = links.filter((l) => l.tagName === "LINK" && l.rel === "modulepreload").map((l) => l.href);
  return { mods, entry: window.__entry };
}

// ---------------------------------------------------------------------------------------------
// The page's modules.

/** "/app/x.js" → the file wallet-web/page/x.js (the server serves wallet-web/page at /app). */
const fileOf = (url) => path.join(PAGE, url.replace(/^\/app\//, ""));

const parsed = new Map();
/**
 * A module's static imports (`import … from`, `import "…"`, `export … from`) with the names
 * each imports, its literal dynamic `import("…")`s, and its export names.
 */
function moduleInfo(url) {
  if (parsed.has(url)) return parsed.get(url);
  const file = fileOf(url);
  assert.ok(fs.existsSync(file), `${url} does not exist (${path.relative(REPO, file)})`);
  const ast = acorn.parse(fs.readFileSync(file, "utf8"), { ecmaVersion: "latest", sourceType: "module" });
  const statics = [];
  const dynamics = [];
  const exports = new Set();
  let starExports = [];
  for (const node of ast.body) {
    if (node.type === "ImportDeclaration") {
      const names = node.specifiers
        .filter((s) => s.type === "ImportSpecifier")
        .map((s) => (s.imported.type === "Identifier" ? s.imported.name : s.imported.value));
      if (node.specifiers.some((s) => s.type === "ImportDefaultSpecifier")) names.push("default");
      statics.push({ source: node.source.value, names });
    } else if (node.type === "ExportNamedDeclaration") {
      if (node.source) {
        statics.push({
          source: node.source.value,
          names: node.specifiers.map((s) => (s.local.type === "Identifier" ? s.local.name : s.local.value)),
        });
      }
      if (node.declaration) {
        const d = node.declaration;
        if (d.id) exports.add(d.id.name);
        for (const v of d.declarations ?? []) {
          for (const id of bound(v.id)) exports.add(id);
        }
      }
      for (const s of node.specifiers) exports.add(s.exported.type === "Identifier" ? s.exported.name : s.exported.value);
    } else if (node.type === "ExportDefaultDeclaration") {
      exports.add("default");
    } else if (node.type === "ExportAllDeclaration") {
      statics.push({ source: node.source.value, names: [] });
      if (node.exported) exports.add(node.exported.type === "Identifier" ? node.exported.name : node.exported.value);
      else starExports.push(node.source.value);
    }
  }
  // Modules loaded later: `import("/app/…")`, or a constant holding the path that a helper
  // imports (wallet.js `later(LOGIN, …)`): every string naming an /app module.
  const declared = new Set(ast.body.map((n) => n.source).filter(Boolean));
  walk(ast, (n) => {
    if (declared.has(n)) return;
    if (n.type === "Literal" && typeof n.value === "string" && /^\/app\/[\w.-]+\.js$/.test(n.value)) {
      dynamics.push(n.value);
    }
  });
  const info = { url, statics, dynamics, exports, starExports };
  parsed.set(url, info);
  return info;
}

/** The identifiers a declaration pattern binds (`const { a, b: [c] } = …` → a, c). */
function bound(p) {
  if (!p) return [];
  switch (p.type) {
    case "Identifier": return [p.name];
    case "ObjectPattern": return p.properties.flatMap((q) => bound(q.type === "RestElement" ? q.argument : q.value));
    case "ArrayPattern": return p.elements.flatMap((e) => bound(e));
    case "RestElement": return bound(p.argument);
    case "AssignmentPattern": return bound(p.left);
    default: return [];
  }
}

function walk(node, visit) {
  if (!node || typeof node.type !== "string") return;
  visit(node);
  for (const v of Object.values(node)) {
    if (Array.isArray(v)) for (const c of v) walk(c, visit);
    else if (v && typeof v === "object" && typeof v.type === "string") walk(v, visit);
  }
}

/** What `url` exports, `export * from` included. */
function exportsOf(url, seen = new Set()) {
  if (seen.has(url)) return new Set();
  seen.add(url);
  const info = moduleInfo(url);
  const all = new Set(info.exports);
  for (const s of info.starExports) {
    if (s.startsWith("/app/")) for (const e of exportsOf(s, seen)) if (e !== "default") all.add(e);
  }
  return all;
}

/** The /app modules loading `entry` fetches before it runs: the static-import closure. */
function staticClosure(entry) {
  const out = new Set();
  const visit = (url) => {
    if (out.has(url)) return;
    out.add(url);
    for (const s of moduleInfo(url).statics) if (s.source.startsWith("/app/")) visit(s.source);
  };
  visit(entry);
  return out;
}

const sorted = (xs) => [...xs].sort();

// ---------------------------------------------------------------------------------------------

describe("首屏模块预加载（无浏览器）", () => {
  const html = fs.readFileSync(INDEX, "utf8");
  const script = startupScript(html);
  const fresh = { access_token: "t", refresh_token: "r", expires_in: 900, at: Math.floor(Date.now() / 1000) };

  // Each kind of first view: the route, the stored session, the entry module index.html must
  // choose, and what that first view needs besides the entry's static imports (the 登录 view,
  // which wallet.js imports on demand, is the first view of a citizen not signed in).
  const CASES = [
    { what: "钱包（已登录，#/wallet/certs）", hash: "#/wallet/certs", citizen: fresh, entry: "/app/wallet.js", also: [] },
    { what: "钱包首页（已登录，#/）", hash: "#/", citizen: fresh, entry: "/app/wallet.js", also: [] },
    { what: "钱包（未登录，首屏为登录）", hash: "", citizen: null, entry: "/app/wallet.js", also: ["/app/wallet-login.js"] },
    { what: "窗口受理（#/counter）", hash: "#/counter", citizen: null, entry: "/app/counter.js", also: [] },
    { what: "后台审核（#/review）", hash: "#/review", citizen: null, entry: "/app/review.js", also: [] },
  ];

  for (const c of CASES) {
    test(`${c.what}：预加载的模块恰好是首屏静态导入的模块`, () => {
      const { mods, entry } = preloads(script, c.hash, c.citizen);
      assert.equal(entry, c.entry, `index.html loads ${entry} for ${c.hash || "(no hash)"}, expected ${c.entry}`);
      assert.equal(new Set(mods).size, mods.length, `a module is preloaded twice: ${mods.join(", ")}`);
      const want = new Set(staticClosure(c.entry));
      for (const m of c.also) for (const x of staticClosure(m)) want.add(x);
      const missing = sorted([...want].filter((m) => !mods.includes(m)));
      const extra = sorted(mods.filter((m) => !want.has(m)));
      assert.deepEqual({ missing, extra }, { missing: [], extra: [] },
        `index.html's preload graph for ${c.hash || "(no hash)"} is out of step with the static imports of ${c.entry}` +
        `${c.also.length ? ` and ${c.also.join(", ")}` : ""}: ` +
        `missing (each costs a round trip before the first view): ${missing.join(", ") || "none"}; ` +
        `extra (fetched though the first view does not import it): ${extra.join(", ") || "none"}`);
    });
  }

  test("入口模块由 index.html 的模块脚本导入（window.__entry）", () => {
    const modules = [...html.matchAll(/<script type="module">([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    assert.ok(modules.some((m) => /import\(\s*window\.__entry\s*\)/.test(m)),
      "index.html has no module script importing window.__entry");
  });

  test("wallet-web/page 中每个静态导入都指向存在的模块及其导出", () => {
    const problems = [];
    const files = fs.readdirSync(PAGE).filter((f) => f.endsWith(".js")).sort();
    for (const f of files) {
      const url = `/app/${f}`;
      let info;
      try {
        info = moduleInfo(url);
      } catch (e) {
        problems.push(`${url}: does not parse as a module: ${e.message}`);
        continue;
      }
      for (const s of info.statics) {
        if (!s.source.startsWith("/app/")) {
          // The page imports only its own modules statically (pkg/ loads on demand via wasm()).
          problems.push(`${url}: static import of ${s.source}, outside /app/`);
          continue;
        }
        if (!fs.existsSync(fileOf(s.source))) {
          problems.push(`${url}: imports ${s.source}, which does not exist`);
          continue;
        }
        let have;
        try {
          have = exportsOf(s.source);
        } catch (e) {
          problems.push(`${url}: imports ${s.source}, which does not parse: ${e.message}`);
          continue;
        }
        for (const n of s.names) if (!have.has(n)) problems.push(`${url}: imports { ${n} } from ${s.source}, which does not export it`);
      }
      for (const d of info.dynamics) {
        if (!fs.existsSync(fileOf(d))) problems.push(`${url}: loads ${d} on demand, which does not exist`);
      }
    }
    assert.deepEqual(problems, [], `broken imports in wallet-web/page:\n${problems.join("\n")}`);
  });
});
