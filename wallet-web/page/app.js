// The page's shared core: routing, the HTTP client with session handling, the WebAssembly
// module, the device key, and small DOM helpers. The wallet views (wallet.js) and the counter
// and back-office views (counter.js) build on it; every signature, verification and QR comes
// from pkg/ (wallet-core compiled to WebAssembly), never from JavaScript.


// ---------------------------------------------------------------------------------------------
// DOM helpers. Text always goes in through text nodes: no server string is ever parsed as HTML.

/** Builds an element: `h("button", { class: "primary", onclick }, "确定")`. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** A labelled form field; the label is a real `<label for>` so every control has a name. */
let fieldSeq = 0;
export function field(label, input, hint) {
  const id = input.id || `f${++fieldSeq}`;
  input.id = id;
  return h("div", { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("p", { class: "muted small" }, hint) : null);
}

const pad = (n) => String(n).padStart(2, "0");
/** Unix seconds → 2026-11-26 (local time). */
export function fmtDate(sec) {
  if (sec === null || sec === undefined) return "长期有效";
  const d = new Date(sec * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
/** Unix seconds → 2026-11-26 09:30. */
export function fmtTime(sec) {
  const d = new Date(sec * 1000);
  return `${fmtDate(sec)} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
export const now = () => Math.floor(Date.now() / 1000);

/** A status line for work in progress, errors and successes; announced to screen readers. */
export function notice(kind, text) {
  return h("div", { class: `notice ${kind}`, role: kind === "bad" ? "alert" : "status" }, text);
}

// ---------------------------------------------------------------------------------------------
// Errors. Every failure the page shows is a Problem with a stable code; `explain` turns it into
// plain Chinese that says what to do next.

export class Problem extends Error {
  /** `body` is the whole problem+json body, for codes that carry more (sharing_mismatch). */
  constructor(status, code, title, detail, body) {
    super(title || code);
    this.status = status;
    this.code = code;
    this.title = title;
    this.detail = detail;
    this.body = body ?? null;
  }
}

/** Advice per stable error code, written for the person in front of the screen. Views add
 * their own with `advise({...})`. */
const ADVICE = {
  network_unreachable: "网络连接失败，请检查网络后重试",
  unauthenticated: "登录已过期，请重新登录",
  forbidden: "当前账号无权进行此操作",
  rate_limited: "操作过于频繁，请稍后再试",
  request_timeout: "系统响应超时，请稍后重试",
  internal: "系统繁忙，请稍后重试",
  payload_too_large: "提交的内容过大，请精简后重试",
};
export function advise(more) {
  Object.assign(ADVICE, more);
}
export function explain(err) {
  if (err instanceof Problem) return ADVICE[err.code] ?? err.title ?? "操作失败，请稍后重试";
  if (err && typeof err === "object" && "code" in err && "message" in err) {
    // An error from the WebAssembly core: { code, message (Chinese), detail }.
    return ADVICE[err.code] ?? err.message;
  }
  return "操作失败，请稍后重试";
}

// ---------------------------------------------------------------------------------------------
// Sessions: the citizen's and the staff member's are kept apart, as the server keeps them apart.

const KEYS = { citizen: "ec.citizen", staff: "ec.staff" };

export const session = {
  get(role) {
    try {
      return JSON.parse(localStorage.getItem(KEYS[role]) ?? "null");
    } catch {
      return null;
    }
  },
  set(role, tokens) {
    localStorage.setItem(KEYS[role], JSON.stringify({ ...tokens, at: now() }));
  },
  clear(role) {
    localStorage.removeItem(KEYS[role]);
  },
};

let refreshing = null;
async function refresh(role) {
  const s = session.get(role);
  if (!s?.refresh_token) return false;
  refreshing ??= fetch("/api/wallet/refresh", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: s.refresh_token }),
  })
    .then(async (r) => {
      if (!r.ok) {
        session.clear(role);
        return false;
      }
      session.set(role, await r.json());
      return true;
    })
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/**
 * Calls the node's API. `role` ("citizen" or "staff") adds that session's bearer token and
 * refreshes it once on a 401. Resolves to the parsed JSON (or null for 204); rejects with a
 * Problem. `early` may hold a fetch already started for this call (see index.html).
 */
export async function api(method, path, { body, role, early } = {}) {
  const send = () => {
    const headers = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    const token = role ? session.get(role)?.access_token : null;
    if (token) headers.authorization = `Bearer ${token}`;
    return fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  };
  let res;
  try {
    res = await (early ?? send());
    if (res.status === 401 && role && (await refresh(role))) res = await send();
  } catch {
    throw new Problem(0, "network_unreachable", "网络连接失败");
  }
  if (res.status === 204) return null;
  const type = res.headers.get("content-type") ?? "";
  const data = type.includes("json") ? await res.json().catch(() => null) : null;
  if (!res.ok) {
    if (res.status === 401 && role) session.clear(role);
    throw new Problem(
      res.status,
      data?.code ?? (res.status === 401 ? "unauthenticated" : "http_" + res.status),
      data?.title,
      data?.detail,
      data,
    );
  }
  return data;
}

// ---------------------------------------------------------------------------------------------
// The WebAssembly core and the device key.

let ready = null;
/** The initialised pkg/ module (wallet-core in WebAssembly), loaded on first use: the first view
 * of either page needs none of it, and on HTTP/1.1 every request at start-up competes for the
 * browser's six connections. */
export function wasm() {
  ready ??= import("/pkg/wallet_web.js").then(async (core) => {
    await core.default();
    return core;
  });
  ready.catch(() => {
    ready = null;
  });
  return ready;
}

function openStore() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open("e-cert-wallet", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("keys");
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function idb(db, mode, op) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction("keys", mode);
    const r = op(tx.objectStore("keys"));
    tx.oncomplete = () => resolve(r.result);
    tx.onerror = () => reject(tx.error);
  });
}

/**
 * The device key, created on first use and kept in IndexedDB. Its secret never leaves this
 * browser: only the public key is registered with the node. `{ created }` says whether it is new.
 */
export async function deviceKey() {
  const { WalletKey } = await wasm();
  const db = await openStore();
  const stored = await idb(db, "readonly", (s) => s.get("device"));
  if (stored) return { key: WalletKey.fromSecret(new Uint8Array(stored)), created: false };
  const key = WalletKey.generate();
  await idb(db, "readwrite", (s) => s.put(key.secretBytes(), "device"));
  return { key, created: true };
}

/** Forgets the device key (after the node revoked it, or on 退出并清除本机密钥). */
export async function forgetDeviceKey() {
  const db = await openStore();
  await idb(db, "readwrite", (s) => s.delete("device"));
}

// ---------------------------------------------------------------------------------------------
// Routing: views by hash route (`#/wallet/cert/<id>`), so every node serves one static page.

const routes = [];
let current = null;

/**
 * Registers a view. `pattern` is a path with `:name` parameters; `render(params, query)`
 * returns the view's node (or a promise of it) and may return `{ node, leave }` to be told when
 * the person navigates away (timers, camera).
 */
export function route(pattern, render, { title } = {}) {
  const names = [];
  const re = new RegExp(
    "^" + pattern.replace(/:([a-z_]+)/g, (_, n) => (names.push(n), "([^/]+)")) + "$",
  );
  routes.push({ re, names, render, title });
}

export function go(path) {
  if (location.hash === "#" + path) show();
  else location.hash = "#" + path;
}

/** The current route's path without the leading `#`. */
export function here() {
  return location.hash.slice(1) || "/";
}

export async function show() {
  const [path, qs] = here().split("?");
  const query = new URLSearchParams(qs ?? "");
  const view = $("#view");
  current?.leave?.();
  current = null;
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    const params = Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
    const token = {};
    current = token;
    view.setAttribute("aria-busy", "true");
    let out;
    try {
      out = await r.render(params, query);
    } catch (err) {
      out = h("section", {}, notice("bad", explain(err)));
    }
    if (current !== token) {
      out?.leave?.();
      return;
    }
    const node = out instanceof Node ? out : out?.node;
    token.leave = out instanceof Node ? null : out?.leave;
    view.replaceChildren(node ?? "");
    view.removeAttribute("aria-busy");
    const heading = view.querySelector("h1, h2");
    document.title = heading ? `${heading.textContent} · 电子证照` : "电子证照";
    window.scrollTo(0, 0);
    return;
  }
  view.replaceChildren(h("section", {}, h("h2", {}, "页面不存在"), h("a", { href: "#/" }, "返回首页")));
}

/** Starts routing once the view modules have registered their routes; resolves when the first
 * view is on screen. */
export function start() {
  window.addEventListener("hashchange", show);
  return show();
}

/** A page header row inside a view: back link and title. */
export function titled(title, back, ...rest) {
  return h("div", { class: "title-row" },
    back ? h("a", { href: "#" + back, class: "back", "aria-label": "返回" }, "‹") : null,
    h("h2", {}, title),
    ...rest);
}
