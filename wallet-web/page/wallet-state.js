// What the wallet views share: who is signed in, the pieces 亮证 needs ready before the tap
// (WebAssembly core, device key, the province's region code), the certificate cache, and the
// small renderers every list uses (status badges, validity, masked IDs, busy buttons).

import {
  h, api, session, wasm, deviceKey, forgetDeviceKey, notice, fmtDate, now, advise, go, here, explain,
} from "/app/app.js";

// Advice for the codes the wallet views meet; the server's own Chinese titles cover the rest.
advise({
  login_failed: "账号或密码错误，请核对后重试，或改用短信验证码登录",
  real_name_mismatch: "姓名与身份证号码不匹配，请按身份证上的信息重新填写",
  certificate_not_found: "未找到该证照，请返回“我的证照”刷新后重试",
  enterprise_not_found:
    "未找到您可查看的企业证照。请核对统一社会信用代码或企业全称；只有企业的法定代表人或管理员可以查询",
  grant_not_found: "未找到该授权，可能已被撤销，请刷新后查看",
  grant_signer_unknown: "本机密钥未登记，请退出后重新登录，再授权",
  grant_to_self: "不能授权给自己，请填写被授权人的信息",
  grant_exists: "该授权已提交，请在“我的授权”中查看",
  certificate_not_current: "证照已注销或已被更正，不能授权。请使用最新版本的证照",
  device_key_exists: "本机密钥已登记在其他账号下，请重新登录以创建新的本机密钥",
  liveness_failed: "实人认证未通过，请重试",
  objection_reason_invalid: "请填写异议理由（不超过1000字）",
  route_not_found: "当前系统暂不支持此功能，请稍后再试",
  presenter_key_unknown:
    "本机密钥未登记或已停用，窗口将无法识别此亮证码。请回到首页点击“登记本机密钥”，或退出后重新登录",
  presentation_superseded: "亮证码已刷新，请扫描手机上的最新亮证码",
  presentation_expired: "亮证码已过期，请刷新后重新出示",
  // The node refuses a code dated ahead of its clock: the phone's clock is off.
  presentation_not_yet_valid: "手机时间与标准时间相差较大，请在手机设置中开启“自动设置时间”后刷新亮证码",
  http_404: "当前系统暂不支持此功能，请稍后再试",
});

/** The presentation lifetime: the code refreshes itself after this many seconds. */
export const LIFETIME = 60;

/** Things 亮证 must have in hand before the tap, filled in as their promises settle. */
export const ready = { key: null, region: localStorage.getItem("ec.region") };

export const loggedIn = () => Boolean(session.get("citizen")?.access_token);

/** Sends a signed-out visitor to the login view, remembering where they were going. */
export function needLogin() {
  if (loggedIn()) return false;
  const next = here();
  location.replace("#/login" + (next && next !== "/" && !next.startsWith("/login")
    ? "?next=" + encodeURIComponent(next) : ""));
  return true;
}

/**
 * Who a device registration belongs to, as this browser remembers it: the masked resident ID
 * and name from /api/wallet/me (the token is opaque to the page). Records written before held
 * the full ID; masking it compares them the same way.
 */
const sameWho = (rec, person) =>
  Boolean(rec && person) && maskId(rec.who) === person.resident_id_masked &&
  (rec.name == null || rec.name === person.name);

let keyP = null;
/** The device key, loaded once; `ready.key` holds it for the synchronous 亮证 path. */
export function keyReady() {
  keyP ??= deviceKey().then((r) => {
    ready.key = r.key;
    return r;
  });
  keyP.catch(() => {
    keyP = null;
  });
  return keyP;
}

let regionP = null;
/** The region code of this node — the wallet province, where every presentation resolves. */
export function regionReady() {
  regionP ??= api("GET", "/healthz").then((hz) => {
    ready.region = String(hz.region);
    localStorage.setItem("ec.region", ready.region);
    return ready.region;
  });
  regionP.catch(() => {
    regionP = null;
  });
  // A region remembered from an earlier visit is good at once; the fetch only confirms it.
  return ready.region ? Promise.resolve(ready.region) : regionP;
}

/** Starts everything 亮证 needs, so the first QR appears without waiting. Never rejects. */
export function warmUp() {
  wasm().catch(() => {});
  regionReady().catch(() => {});
  if (loggedIn()) keyReady().catch(() => {});
}

/**
 * Makes sure this browser's device key is registered for the signed-in person. A key this
 * browser never registered is registered at once; one it registered before is looked up among
 * the person's live keys. A key that belongs to someone else (a shared browser) or was revoked
 * is replaced by a new one: one key, one person. Returns `{ keyId, created }`, `created` when
 * the key was registered now.
 */
export async function ensureDevice() {
  // Who I am is needed to remember the registration; asked for alongside the key work.
  const person = me();
  person.catch(() => {});
  let { key } = await keyReady();
  const last = lastRegistration();
  if (last?.keyId === key.keyId()) {
    const [mine, who] = await Promise.all([api("GET", "/api/wallet/devices", { role: "citizen" }), person]);
    if (mine.some((d) => d.key_id === key.keyId() && !d.revoked_at)) return remember(key, false, who);
    // Someone else's key (a shared browser): a new key, not a refused registration.
    if (!sameWho(last, who)) ({ key } = await newKey());
  }
  const register = () =>
    api("POST", "/api/wallet/devices", { role: "citizen", body: { public_key: key.publicKey() } });
  try {
    await register();
  } catch (err) {
    if (err.code !== "device_key_exists") throw err;
    ({ key } = await newKey());
    await register();
  }
  return remember(key, true, await person);
}

/** Replaces this browser's device key with a new one (the old one stays with its account). */
async function newKey() {
  await forgetDeviceKey();
  keyP = null;
  ready.key = null;
  return keyReady();
}

function lastRegistration() {
  try {
    return JSON.parse(localStorage.getItem("ec.device") ?? "null");
  } catch {
    return null;
  }
}

function remember(key, created, person) {
  const rec = { keyId: key.keyId(), who: person.resident_id_masked, name: person.name, at: now() };
  localStorage.setItem("ec.device", JSON.stringify(rec));
  return { keyId: rec.keyId, created };
}

/** The device key registered at the last login of the signed-in person, if any. Needs
 * `cache.me` (every signed-in view loads it) and the key; without them, null. */
export function registeredDevice() {
  const rec = lastRegistration();
  return sameWho(rec, cache.me) && rec.keyId === ready.key?.keyId() ? rec : null;
}

// ---------------------------------------------------------------------------------------------
// Per-session caches. Cleared on login and logout so one person never sees another's data.

export const cache = {
  me: null,
  /** Certificates by id, from the list, the detail and 企业证照. */
  certs: new Map(),
  /** Enterprise certificates' holder credit codes, learnt from 企业证照. */
  creditCodes: new Map(),
  /** Grants received, by id: `{ row, typeName }`; `receivedAt` when they were read. */
  received: new Map(),
  receivedAt: 0,
  /** A one-shot message for the next view (after login, logout). */
  flash: null,
};

export function resetSession() {
  cache.me = null;
  cache.certs.clear();
  cache.creditCodes.clear();
  cache.received.clear();
  primed = null;
  // The list index.html fetched before login belongs to whoever was signed in then.
  if (window.__early) window.__early.certificates = null;
}

export async function me() {
  cache.me ??= await api("GET", "/api/wallet/me", { role: "citizen" });
  return cache.me;
}

/** Shows the signed-in person's name in the page header. */
export function showWho(name) {
  const who = document.getElementById("who");
  if (who) who.textContent = name ?? "";
}

let primed = null;
let primedAt = 0;

/** Fetches 我的证照; the very first call uses the request index.html started early. */
export function fetchCerts() {
  const early = window.__early?.certificates ?? undefined;
  if (window.__early) window.__early.certificates = null;
  return api("GET", "/api/wallet/certificates", { role: "citizen", early }).then((list) => {
    for (const c of list) cache.certs.set(c.id, c);
    return list;
  });
}

/** Starts the list from the home view so 我的证照 opens without waiting. */
export function primeCerts() {
  if (!primed) {
    primed = fetchCerts();
    primedAt = now();
    primed.catch(() => {
      primed = null;
    });
  }
  return primed;
}

/** The list for 我的证照: the primed request if it is fresh, else a new one. */
export function certsForList() {
  const p = primed && now() - primedAt < 30 ? primed : fetchCerts();
  primed = null;
  return p;
}

export async function certById(id) {
  const c = await api("GET", `/api/wallet/certificates/${encodeURIComponent(id)}`, { role: "citizen" });
  cache.certs.set(c.id, c);
  return c;
}

let trustP = null;
/** This node's trust list as the WebAssembly core's TrustList, fetched once. */
export function trustList() {
  trustP ??= Promise.all([wasm(), api("GET", "/api/trust-list")]).then(([core, tl]) => {
    const list = new core.TrustList();
    for (const e of tl.entries ?? []) {
      list.add(e.issuer, e.issuer_name, e.key, e.not_before, e.not_after ?? undefined);
    }
    return list;
  });
  trustP.catch(() => {
    trustP = null;
  });
  return trustP;
}

let catalogP = null;
/** Type code → type name from this node's catalog (证照目录). */
export function typeNames() {
  catalogP ??= api("GET", "/api/catalog").then((types) => new Map(types.map((t) => [t.code, t.name])));
  catalogP.catch(() => {
    catalogP = null;
  });
  return catalogP;
}

/** The type code inside a certificate identifier (GB/T 36904: 1.2.156.3005.2.<type>.…). */
export const typeCodeOf = (certId) => String(certId).split(".")[5] ?? "";

// ---------------------------------------------------------------------------------------------
// Renderers.

export const badge = (text, kind = "") => h("span", { class: `badge ${kind}` }, text);

const STATUS = {
  valid: ["有效", "ok"],
  disputed: ["有异议", "warn"],
  expired: ["已过期", "bad"],
  revoked: ["已注销", "bad"],
  superseded: ["已更正", "bad"],
};
const DAY = 86400;

/** The status as the wallet treats it: a valid certificate past its end counts as expired. */
export function effectiveStatus(c) {
  if ((c.status === "valid" || c.status === "disputed") && c.valid_until != null && c.valid_until <= now()) {
    return "expired";
  }
  return c.status;
}

/** A certificate that can still be shown or granted. */
export const usable = (c) => ["valid", "disputed"].includes(effectiveStatus(c));

/** Why a certificate cannot be shown or granted, in words for its holder. */
export function unusableReason(c) {
  switch (effectiveStatus(c)) {
    case "expired": return "该证照已过有效期，不能亮证或授权他人使用。请到发证机关办理延续或换证。";
    case "revoked": return "该证照已被发证机关注销，不能亮证或授权他人使用。";
    case "superseded": return "该证照已被更正，请在“我的证照”中使用更正后的新版本。";
    default: return "该证照当前不可使用，请联系发证机关。";
  }
}

export function nearExpiry(c) {
  const left = c.valid_until == null ? Infinity : c.valid_until - now();
  return usable(c) && left > 0 && left <= 30 * DAY;
}

export function statusBadges(c) {
  const [text, kind] = STATUS[effectiveStatus(c)] ?? ["状态未知", ""];
  return [badge(text, kind), nearExpiry(c) ? badge("即将到期", "warn") : null];
}

export function validity(c) {
  const until = c.valid_until == null ? "长期有效" : fmtDate(c.valid_until);
  const left = nearExpiry(c) ? `（还剩 ${Math.max(1, Math.ceil((c.valid_until - now()) / DAY))} 天）` : "";
  return `${fmtDate(c.valid_from)} 至 ${until}${left}`;
}

/** 颁发机构 as the node names it (the certificate's own issuer). */
export const issuerName = (c) => c.issuer_name || "发证机关";

/** 410102198503120315 → 410102********0315, as the server masks. */
export function maskId(id) {
  const s = String(id ?? "");
  return /^\d{17}[\dX]$/.test(s) ? `${s.slice(0, 6)}********${s.slice(14)}` : s;
}

/** One certificate in a list: the whole card is the link to its detail. */
export function certItem(c) {
  return h("li", {},
    h("a", { class: "cert-card", href: `#/wallet/cert/${encodeURIComponent(c.id)}` },
      h("span", { class: "cert-head" }, h("strong", {}, c.type_name ?? "电子证照"), " ", statusBadges(c)),
      c.holder_kind === "enterprise" && c.enterprise_name
        ? h("span", { class: "cert-line" }, "持证企业：", c.enterprise_name) : null,
      h("span", { class: "cert-line" }, "颁发机构：", issuerName(c)),
      h("span", { class: "cert-line" }, "有效期：", validity(c)),
      h("span", { class: "cert-line cert-where" }, "证照所在：", c.held_by)));
}

/**
 * Runs `work` with `button` disabled and showing `text` (正在…); restores it afterwards.
 * Errors go to `out` (an element) in plain Chinese; returns the result or undefined.
 */
export async function busy(button, text, work, out) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = text;
  try {
    return await work();
  } catch (err) {
    if (out) out.replaceChildren(notice("bad", explain(err)));
    return undefined;
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

/** Shows (and consumes) the one-shot message left for this view. */
export function takeFlash() {
  const f = cache.flash;
  cache.flash = null;
  return f ? notice(f.kind, f.text) : null;
}

export function leaveTo(path, kind, text) {
  cache.flash = { kind, text };
  go(path);
}

// ---------------------------------------------------------------------------------------------
// Grants.

/** `active`, `pending` (not yet in force), `expired` (over or used up) or `revoked`. */
export function grantState(row) {
  const t = now();
  if (row.revoked_at != null) return "revoked";
  if (row.not_after <= t || (row.use_limit != null && row.uses >= row.use_limit)) return "expired";
  if (row.not_before > t) return "pending";
  return "active";
}

/**
 * GET /api/wallet/grants, each grant as the lists show it: the node's row (grantee, holder,
 * type and matters by name) plus a type name looked up here where the node had none. Fills
 * `cache.received`; returns `{ given, received }` as lists of `{ row, typeName }`.
 */
export async function loadGrants() {
  const [lists, names] = await Promise.all([
    api("GET", "/api/wallet/grants", { role: "citizen" }),
    typeNames().catch(() => new Map()),
  ]);
  const read = (row) => ({
    row,
    typeName: row.type_name ?? cache.certs.get(row.cert_id)?.type_name ?? names.get(typeCodeOf(row.cert_id)) ?? null,
  });
  const given = lists.given.map(read);
  const received = lists.received.map(read);
  cache.received.clear();
  for (const g of received) cache.received.set(g.row.id, g);
  cache.receivedAt = now();
  return { given, received };
}

/** Whose certificate a grant shows: the enterprise, or the person's masked name (张*). */
export function grantHolder(row) {
  return row.holder_name || maskId(row.holder_id) || "—";
}

/** The matters a grant covers, by name ("全部事项" when it names none). */
export function grantMatters(row) {
  const list = row.matters ?? [];
  return list.length ? list.map((m) => m.name || m.code).join("、") : "全部事项";
}

const directory = new Map();
/**
 * The matters of the province's directory (its own counters and its cities') where a
 * certificate of `typeCode` replaces a material: GET /api/matters?cert_type=…, public, cached.
 */
export function mattersFor(typeCode) {
  let p = directory.get(typeCode);
  if (!p) {
    p = api("GET", `/api/matters?cert_type=${encodeURIComponent(typeCode)}`);
    directory.set(typeCode, p);
    p.catch(() => directory.delete(typeCode));
  }
  return p;
}
