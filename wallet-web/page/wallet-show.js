// 亮证: a presentation signed on this phone by the device key, drawn as a large QR code that
// refreshes itself every minute. It has to appear at once: the tap that opens the view makes
// the presentation synchronously (`prepare`) with the WebAssembly core and the key loaded in
// advance (`warmUp`), so no network request stands between the tap and the code.

import { h, api, notice, explain, titled, go, now, fmtTime, wasm } from "/app/app.js";
import {
  LIFETIME, ready, keyReady, regionReady, cache, certById, badge, usable, me,
  loadGrants, grantState, registeredDevice, unusableReason, grantHolder, grantMatters,
} from "/app/wallet-state.js";

let pending = null;

/** Signs a presentation of `kind` (`certificate` / `grant`) now, if everything is at hand. */
function make(kind, id) {
  return ready.key.makePresentation(ready.region, kind, id, now(), LIFETIME);
}

/**
 * Called from the click that opens 亮证: signs the code in the click itself, so the view only
 * has to draw it. Falls back quietly (the view then waits for the key) if the key is not loaded.
 */
export function prepare(kind, id) {
  pending = null;
  if (!ready.key || !ready.region) return;
  try {
    pending = { kind, id, shown: make(kind, id) };
  } catch {
    pending = null;
  }
}

function takePending(kind, id) {
  const p = pending;
  pending = null;
  if (p && p.kind === kind && p.id === id && p.shown.expiresAt - now() > 5) return p.shown;
  return null;
}

let prebuilt = null;

/**
 * Opens 亮证 for a certificate or grant. With the key at hand the code is signed and the view
 * drawn in this very click, before the router hears of the new address (a hashchange is one
 * more task away, tens of milliseconds on a slow phone); the route then adopts that view.
 */
export function openShow(kind, id) {
  const path = kind === "grant"
    ? `/wallet/show-grant/${encodeURIComponent(id)}` : `/wallet/show/${encodeURIComponent(id)}`;
  // Signed already on pointerdown (see showButton) unless that was a while ago.
  if (!(pending && pending.kind === kind && pending.id === id && now() - pending.shown.issuedAt <= 5)) {
    prepare(kind, id);
  }
  if (pending) {
    const view = kind === "grant" ? grantShow({ id }) : certShow({ id });
    const mine = { path, view };
    prebuilt = mine;
    document.getElementById("view")?.replaceChildren(view instanceof Node ? view : view.node);
    // Should the router never adopt it (the person navigated elsewhere at once), stop its timers.
    setTimeout(() => {
      if (prebuilt === mine) {
        prebuilt = null;
        view.leave?.();
      }
    }, 2000);
  }
  go(path);
}

/**
 * A button that opens 亮证. The code is signed when the finger touches the screen, so the
 * tenth of a second between touch and click is not spent waiting.
 */
export function showButton(kind, id, label, props = {}) {
  const b = h("button", { type: "button", ...props }, label);
  b.addEventListener("pointerdown", () => prepare(kind, id));
  b.addEventListener("click", () => openShow(kind, id));
  return b;
}

function adopt(path) {
  const p = prebuilt;
  prebuilt = null;
  if (p && p.path === path) return p.view;
  p?.view.leave?.();
  return null;
}

/** #/wallet/show/<certId> */
export const showCertView = (params) =>
  adopt(`/wallet/show/${encodeURIComponent(params.id)}`) ?? certShow(params);

/** #/wallet/show-grant/<grantId> */
export const showGrantView = (params) =>
  adopt(`/wallet/show-grant/${encodeURIComponent(params.id)}`) ?? grantShow(params);

function certShow({ id }) {
  const c = cache.certs.get(id);
  if (c && !usable(c)) {
    return h("section", {}, titled("亮证", `/wallet/cert/${encodeURIComponent(id)}`),
      notice("bad", unusableReason(c)));
  }
  const info = h("div", { class: "show-info" });
  const fill = (cert) => info.replaceChildren(
    h("strong", {}, cert.type_name ?? "电子证照"),
    h("span", { class: "small muted" },
      cert.holder_kind === "enterprise" ? cert.enterprise_name ?? "" : cache.me?.name ?? ""));
  const view = presenter("certificate", id, info, `/wallet/cert/${encodeURIComponent(id)}`);
  // Opened directly (a bookmark, a reload): drawn at once, the certificate looked up after.
  if (c) fill(c);
  else {
    certById(id).then((cert) => {
      fill(cert);
      if (!usable(cert)) view.stop(notice("bad", unusableReason(cert)));
    }, (err) => {
      // Only a certificate that is not mine stops the code; a network failure does not.
      if (err.code === "certificate_not_found") view.stop(notice("bad", explain(err)));
    });
  }
  return view;
}

/** The grantee shows a code for the holder's certificate. */
function grantShow({ id }) {
  const info = h("div", { class: "show-info" });
  const fill = (g) => {
    const state = grantState(g.row);
    info.replaceChildren(
      h("strong", {}, g.typeName ?? "电子证照"), " ", badge("代为出示", "warn"),
      h("span", { class: "small muted" }, `持证人 ${grantHolder(g.row)} 授权，有效至 ${fmtTime(g.row.not_after)}`),
      h("span", { class: "small muted" }, g.row.matters?.length ? `仅限事项：${grantMatters(g.row)}` : "可用于全部事项"));
    return state;
  };
  const view = presenter("grant", id, info, "/wallet/received");
  const check = (g) => {
    if (!g) return view.stop(notice("bad", "未找到该授权，可能已被撤销。请返回“授权给我的证照”刷新后查看。"));
    const state = fill(g);
    if (state === "revoked") view.stop(notice("bad", "持证人已撤销该授权，不能再代为亮证。"));
    else if (state === "expired") view.stop(notice("bad", "该授权已过期或次数已用完，请联系持证人重新授权。"));
    else if (state === "pending") view.stop(notice("warn", `该授权尚未生效，请在 ${fmtTime(g.row.not_before)} 后再亮证。`));
  };
  const known = cache.received.get(id);
  // Known from the list: checked before drawing. Opened directly: drawn at once, checked after.
  // A list read a while ago is checked again too: the holder may have revoked since.
  if (known) check(known);
  if (!known) loadGrants().then(() => check(cache.received.get(id)), () => {});
  else if (now() - cache.receivedAt > 10) {
    // After the code is on screen: the tap draws first, the check follows.
    requestAnimationFrame(() => setTimeout(() => loadGrants().then(() => check(cache.received.get(id)), () => {}), 0));
  }
  return view;
}

/**
 * The 亮证 view itself: the QR, the countdown and its timers. Returns `{ node, leave }` for the
 * router, plus `stop(message)` to replace the code with a message (a revoked grant).
 */
function presenter(kind, id, info, back) {
  const qr = h("div", { class: "qr", role: "img", "aria-label": "亮证码二维码" });
  const bar = h("div", { class: "qr-bar" }, h("span", {}));
  const countdown = h("p", { class: "countdown", "aria-live": "polite", "aria-atomic": "true" });
  const warn = h("div", { "aria-live": "polite" });
  const refreshButton = h("button", { type: "button", class: "block" }, "立即刷新");
  const stage = h("div", { class: "qr-stage" }, qr, bar, countdown, refreshButton);
  let expiresAt = 0;
  let timer = null;
  let issuedAt = 0;
  let lock = null;
  let stopped = false;

  // Each new code is reported to the province as the current one, so the codes before it are
  // refused at the counter at once instead of when their minute runs out. In the background,
  // after the code is drawn, and one call at a time: the node keeps the newest it hears of, but
  // two codes signed in the same second could cross on the way. A failed call is retried with
  // the next code; until then the older codes stay good for their minute, and the page says so.
  const sync = h("div", { class: "sync-note", "aria-live": "polite" });
  let newest = null;
  let sending = false;
  const announce = (text) => {
    newest = text;
    if (sending) return;
    sending = true;
    // After the frame that shows the code: nothing of this call runs before the QR is on screen.
    requestAnimationFrame(() => setTimeout(send, 0));
  };
  const send = async () => {
    if (stopped) {
      sending = false;
      return;
    }
    const text = newest;
    let failure = null;
    try {
      await api("POST", "/api/wallet/presentations/current", { role: "citizen", body: { text } });
    } catch (err) {
      failure = err;
    }
    // A newer code was drawn meanwhile: that one is what counts now (and the retry, if this failed).
    if (newest !== text && !stopped) return send();
    sending = false;
    if (stopped) return;
    if (!failure) return sync.replaceChildren();
    // The node found the code just drawn already expired or not yet valid: this phone's clock
    // is off, and every code it draws will be refused at the counter too.
    if (failure.code === "presentation_expired" || failure.code === "presentation_not_yet_valid") {
      sync.replaceChildren();
      warn.replaceChildren(notice("bad", "手机时间与标准时间相差较大，窗口将无法识别亮证码。请在手机设置中开启“自动设置时间”后刷新亮证码。"));
      return;
    }
    if (failure.code === "presenter_key_unknown") {
      sync.replaceChildren();
      warn.replaceChildren(notice("warn", explain(failure)));
      return;
    }
    sync.replaceChildren(h("p", { class: "small muted" },
      `未能通知省级系统亮证码已刷新（${explain(failure)}）。之前出示的亮证码在过期前（最长 ${LIFETIME} 秒）仍可使用；下次刷新时将自动重试。`));
  };

  const paint = (s) => {
    // The SVG comes from the WebAssembly core (wallet-core's QR renderer), never from the server.
    qr.innerHTML = s.svg;
    qr.dataset.text = s.text;
    expiresAt = s.expiresAt;
    issuedAt = s.issuedAt;
    tick();
    announce(s.text);
  };
  const fresh = () => {
    if (stopped) return;
    try {
      paint(make(kind, id));
    } catch (err) {
      stop(notice("bad", explain(err)));
    }
  };
  const tick = () => {
    // Nothing drawn yet (the key is still loading): nothing to count down or refresh.
    if (stopped || !expiresAt) return;
    const left = Math.ceil(expiresAt - Date.now() / 1000);
    if (left <= 0) return fresh();
    const text = `${left} 秒后自动刷新`;
    if (countdown.textContent !== text) countdown.textContent = text;
    bar.firstChild.style.width = `${Math.max(0, Math.min(100, (left / (expiresAt - issuedAt)) * 100))}%`;
  };
  const stop = (message) => {
    stopped = true;
    clearInterval(timer);
    stage.replaceChildren(message);
  };
  refreshButton.addEventListener("click", fresh);
  // Timers sleep while the phone is locked or the tab hidden: on return, refresh at once if due.
  const onVisible = () => {
    if (document.visibilityState !== "visible") return;
    tick();
    keepAwake();
  };
  const keepAwake = () => {
    if (!("wakeLock" in navigator) || lock) return;
    navigator.wakeLock.request("screen").then((l) => {
      if (stopped) return l.release().catch(() => {});
      lock = l;
      l.addEventListener("release", () => (lock = null));
    }, () => {});
  };
  document.addEventListener("visibilitychange", onVisible);

  const first = takePending(kind, id);
  if (first) paint(first);
  else {
    countdown.textContent = "正在生成亮证码…";
    Promise.all([wasm(), keyReady(), regionReady()]).then(fresh, (err) => stop(notice("bad", explain(err))));
  }
  timer = setInterval(tick, 250);
  keepAwake();
  // A code signed by a key the province does not know is refused at the counter: say so here.
  Promise.all([keyReady(), me()]).then(() => {
    if (!registeredDevice() && !warn.firstChild) {
      warn.replaceChildren(notice("warn", "本机密钥尚未登记，窗口将无法识别此亮证码。请回到首页点击“登记本机密钥”。"));
    }
  }, () => {});

  const node = h("section", { class: "show" },
    titled("亮证", back),
    info,
    warn,
    stage,
    sync,
    h("p", { class: "hint" }, "请调高屏幕亮度，将二维码对准窗口扫码设备。"),
    h("p", { class: "muted small" },
      `亮证码由本机密钥签名，${LIFETIME} 秒内有效，窗口扫码一次后即作废。请当面出示，不要截图转发给他人。`));
  return {
    node,
    stop,
    leave() {
      stopped = true;
      clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
      lock?.release().catch(() => {});
      lock = null;
    },
  };
}
