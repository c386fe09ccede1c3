// The citizen wallet (电子证照钱包), served by the wallet province's node: the entry module
// index.html loads for every route outside the counter. It registers the wallet's routes and
// draws the home view. On a 3G phone bandwidth decides how soon the first view appears, so only
// what the certificate list needs loads first; the WebAssembly core, the device key and the
// other views follow once the first view is on screen, well before anyone taps 亮证.

import { h, route, start, notice, explain, session } from "/app/app.js";
import {
  cache, me, needLogin, showWho, warmUp, primeCerts, nearExpiry, takeFlash, registeredDevice,
  ensureDevice, busy, badge, leaveTo, keyReady,
} from "/app/wallet-state.js";
import {
  certsView, certView, usageView,
} from "/app/wallet-certs.js";

/** A view from a module loaded when first needed (prefetched after the first view). */
const later = (path, name) => async (params, query) => (await import(path))[name](params, query);
const LOGIN = "/app/wallet-login.js";
const GRANTS = "/app/wallet-grants.js";
const SHOW = "/app/wallet-show.js";
const FUND = "/app/wallet-fund.js";

/** A view for signed-in citizens: others go to 登录 and come back here afterwards. */
function authed(render) {
  return async (params, query) => {
    if (needLogin()) return h("section", {}, h("p", { class: "muted" }, "正在转到登录…"));
    if (cache.me) showWho(cache.me.name);
    else me().then((m) => showWho(m.name), () => {});
    try {
      return await render(params, query);
    } catch (err) {
      // api() already dropped a session the node refused; send the person to log in again.
      if (err?.code === "unauthenticated" && !session.get("citizen")) {
        leaveTo("/login", "warn", "登录已过期，请重新登录");
        return h("section", {});
      }
      throw err;
    }
  };
}

/** #/: the wallet home. */
async function homeView() {
  // The device key is local and normally loaded by now; its line needs it.
  const [person] = await Promise.all([me(), keyReady().catch(() => null)]);
  showWho(person.name);
  const summary = h("p", { class: "muted small", "aria-live": "polite" }, "正在读取证照…");
  primeCerts().then((list) => {
    const soon = list.filter(nearExpiry).length;
    summary.replaceChildren(`您名下有 ${list.length} 张电子证照`, soon ? `，其中 ${soon} 张即将到期` : "", "。");
  }, (err) => summary.replaceChildren(explain(err)));

  const out = h("div", { "aria-live": "polite" });
  const device = registeredDevice();
  const deviceLine = h("p", { class: "small" });
  const showDevice = (rec) => deviceLine.replaceChildren(
    badge("已登记", "ok"), ` 本机密钥已登记（编号 ${rec.keyId.slice(0, 8)}…），私钥只保存在本机浏览器中。`);
  if (device) showDevice(device);
  else {
    const register = h("button", { type: "button" }, "登记本机密钥");
    register.addEventListener("click", async () => {
      const done = await busy(register, "正在登记…", () => ensureDevice(), out);
      if (done) {
        showDevice(registeredDevice());
        out.replaceChildren(notice("ok", "本机密钥已登记，可以亮证和授权他人使用了。"));
      }
    });
    deviceLine.replaceChildren(badge("未登记", "warn"), " 本机密钥尚未登记，登记后才能亮证和授权。 ", register);
  }

  const realPerson = person.level === "real_person";
  const logoutButton = h("button", { type: "button", class: "block" }, "退出登录");
  logoutButton.addEventListener("click", async () => (await import(LOGIN)).logout(logoutButton, out));

  return h("div", {},
    takeFlash(),
    h("section", {},
      h("h2", {}, `${person.name}，您好`),
      h("p", { class: "small" },
        badge("实名认证", "ok"), " ",
        realPerson ? badge("实人认证", "ok") : null,
        h("span", { class: "muted" }, ` 身份证号 ${person.resident_id_masked}`)),
      summary),
    h("nav", { class: "grid wallet-nav", "aria-label": "钱包功能" },
      h("a", { href: "#/wallet/certs" }, "我的证照"),
      h("a", { href: "#/wallet/grants" }, "我的授权"),
      h("a", { href: "#/wallet/received" }, "授权给我的证照"),
      h("a", { href: "#/wallet/enterprise" }, "企业证照"),
      h("a", { href: "#/wallet/usage" }, "用证记录"),
      h("a", { href: "#/wallet/objections" }, "我的异议"),
      h("a", { href: "#/wallet/fund" }, "公积金提取"),
      h("a", { href: "#/public" }, "证照公示查询")),
    h("section", {},
      h("h3", {}, "账号与安全"),
      deviceLine,
      h("p", { class: "small" },
        realPerson
          ? [badge("已完成", "ok"), " 本次登录已完成实人认证。"]
          : [badge("未认证", ""), " 办理要求“实名+实人”的事项前，请先完成",
            h("a", { href: "#/wallet/liveness" }, "实人认证"), "。"]),
      out,
      logoutButton));
}

function loginOnly(render) {
  // Someone already signed in who opens 登录 lands on the home view instead.
  return (params, query) => {
    if (session.get("citizen")?.access_token) {
      location.replace("#/");
      return h("section", {});
    }
    showWho("");
    return render(params, query);
  };
}

route("/login", loginOnly(later(LOGIN, "loginView")));
route("/register", loginOnly(later(LOGIN, "registerView")));
route("/", authed(homeView));
route("/wallet/certs", authed(certsView));
route("/wallet/cert/:id", authed(certView));
route("/wallet/show/:id", authed(later(SHOW, "showCertView")));
route("/wallet/show-grant/:id", authed(later(SHOW, "showGrantView")));
route("/wallet/grant/:id", authed(later(GRANTS, "grantView")));
route("/wallet/grants", authed(later(GRANTS, "grantsView")));
route("/wallet/received", authed(later(GRANTS, "receivedView")));
route("/wallet/enterprise", authed(later("/app/wallet-enterprise.js", "enterpriseView")));
route("/wallet/usage", authed(usageView));
route("/wallet/object/:id", authed(later("/app/wallet-objections.js", "objectView")));
route("/wallet/objections", authed(later("/app/wallet-objections.js", "objectionsView")));
route("/wallet/objections/missing", authed(later("/app/wallet-objections.js", "missingView")));
route("/wallet/objections/:id", authed(later("/app/wallet-objections.js", "objectionView")));
route("/wallet/liveness", authed(later(LOGIN, "livenessView")));
// "new" is registered before ":id" so it is not read as an application id.
route("/wallet/fund", authed(later(FUND, "fundListView")));
route("/wallet/fund/new", authed(later(FUND, "fundNewView")));
route("/wallet/fund/:id", authed(later(FUND, "fundView")));
// 证照公示查询 is public: anyone may search without logging in, so it is not authed().
route("/public", later("/app/wallet-public.js", "publicView"));

start().finally(() => {
  warmUp();
  import(SHOW).catch(() => {});
  import(GRANTS).catch(() => {});
  import(LOGIN).catch(() => {});
  // 异议 and 公积金提取 are rare visits: they load when opened, not on every first view.
});
