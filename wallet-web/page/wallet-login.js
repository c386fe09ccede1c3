// 登录 (实名: SMS code or password), 注册 (real-name registration bound to a phone), the 实人
// step (the demo liveness check) and 退出登录. The device key is created and registered right
// after the first login, so 亮证 and 授权 work from the first visit on.

import { h, field, api, session, notice, explain, titled, go, wasm } from "/app/app.js";
import {
  badge, busy, cache, ensureDevice, leaveTo, me, resetSession, showWho, takeFlash, warmUp,
} from "/app/wallet-state.js";

const PHONE = /^1[3-9]\d{9}$/;

/** Where to go after login: the `next` the login view was sent with, if it is a wallet route. */
function nextPath(query) {
  const next = query.get("next") ?? "";
  return next.startsWith("/") && !next.startsWith("/login") && !next.startsWith("/register") ? next : "/";
}

/**
 * The 获取验证码 button for a phone field: sends the code, shows the demo code on screen
 * (the demo sender sends no SMS) and counts down a minute before the next one.
 */
function otpButton(phoneInput, purpose, out) {
  let timer = null;
  const button = h("button", { type: "button", class: "otp-button" }, "获取验证码");
  const wait = (seconds) => {
    let left = seconds;
    button.disabled = true;
    button.textContent = `${left} 秒后重新获取`;
    timer = setInterval(() => {
      left -= 1;
      if (left > 0) {
        button.textContent = `${left} 秒后重新获取`;
        return;
      }
      clearInterval(timer);
      timer = null;
      button.disabled = false;
      button.textContent = "获取验证码";
    }, 1000);
  };
  button.addEventListener("click", async () => {
    const phone = phoneInput.value.trim();
    if (!PHONE.test(phone)) {
      out.replaceChildren(notice("bad", "请输入11位手机号码"));
      phoneInput.focus();
      return;
    }
    const sent = await busy(button, "正在发送…", () =>
      api("POST", "/api/wallet/otp", { body: { phone, purpose } }), out);
    if (!sent) return;
    out.replaceChildren(sent.demo_code
      ? h("div", { class: "notice info demo-code", role: "status" },
        badge("演示", "demo"), " 演示验证码：", h("strong", { class: "code" }, sent.demo_code),
        h("span", { class: "small muted" }, `（演示环境不发送短信，${Math.round(sent.expires_in / 60)} 分钟内有效）`))
      : notice("ok", `验证码已发送至 ${sent.sent_to}，${Math.round(sent.expires_in / 60)} 分钟内有效`));
    wait(60);
  });
  return { button, stop: () => timer && clearInterval(timer) };
}

/** A code input with its 获取验证码 button beside it. */
function codeRow(codeInput, otp) {
  const id = codeInput.id || (codeInput.id = "otp-code");
  return h("div", { class: "field" },
    h("label", { for: id }, "验证码"),
    h("div", { class: "otp-row" }, codeInput, otp.button));
}

/**
 * After any successful login or registration: keep the tokens, then create (first time) or
 * check the device key and register it. The next view shows what happened to the key.
 */
async function signedIn(tokens, status, next) {
  resetSession();
  session.set("citizen", tokens);
  warmUp();
  status.replaceChildren(notice("info", "登录成功，正在准备本机密钥…"));
  try {
    const { created } = await ensureDevice();
    leaveTo(next, "ok", created
      ? "登录成功。已在本机创建本机密钥并向省级系统登记，密钥只保存在本机浏览器中。"
      : "登录成功，本机密钥已登记。");
  } catch (err) {
    leaveTo(next, "bad", `登录成功，但本机密钥登记失败：${explain(err)}。亮证和授权前请在首页点击“登记本机密钥”重试。`);
  }
}

/** #/login: 短信验证码登录 or 密码登录. */
export function loginView(_params, query) {
  const next = nextPath(query);
  const out = h("div", { "aria-live": "polite" });
  const status = h("div", { "aria-live": "polite" });

  const phone = h("input", { type: "tel", inputmode: "numeric", autocomplete: "tel", maxlength: "11", required: true });
  const code = h("input", { inputmode: "numeric", autocomplete: "one-time-code", maxlength: "6", required: true });
  const otp = otpButton(phone, "login", out);
  const smsSubmit = h("button", { type: "submit", class: "primary block" }, "登录");
  const smsForm = h("form", { novalidate: true },
    field("手机号", phone),
    codeRow(code, otp),
    smsSubmit);

  const rid = h("input", { autocomplete: "username", maxlength: "18", required: true });
  const password = h("input", { type: "password", autocomplete: "current-password", required: true });
  const pwSubmit = h("button", { type: "submit", class: "primary block" }, "登录");
  const pwForm = h("form", { novalidate: true, hidden: true },
    field("身份证号", rid),
    field("密码", password),
    pwSubmit);

  const tabSms = h("button", { type: "button", class: "tab", "aria-pressed": "true" }, "短信验证码登录");
  const tabPw = h("button", { type: "button", class: "tab", "aria-pressed": "false" }, "密码登录");
  const pick = (sms) => {
    tabSms.setAttribute("aria-pressed", String(sms));
    tabPw.setAttribute("aria-pressed", String(!sms));
    smsForm.hidden = !sms;
    pwForm.hidden = sms;
    out.replaceChildren();
    (sms ? phone : rid).focus();
  };
  tabSms.addEventListener("click", () => pick(true));
  tabPw.addEventListener("click", () => pick(false));

  smsForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!PHONE.test(phone.value.trim())) return out.replaceChildren(notice("bad", "请输入11位手机号码"));
    if (!/^\d{6}$/.test(code.value.trim())) return out.replaceChildren(notice("bad", "请输入6位短信验证码"));
    const tokens = await busy(smsSubmit, "正在登录…", () => api("POST", "/api/wallet/login", {
      body: { phone: phone.value.trim(), code: code.value.trim() },
    }), out);
    if (tokens) await signedIn(tokens, status, next);
  });
  pwForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!rid.value.trim() || !password.value) return out.replaceChildren(notice("bad", "请输入身份证号和密码"));
    const tokens = await busy(pwSubmit, "正在登录…", () => api("POST", "/api/wallet/login", {
      body: { resident_id: rid.value.trim().toUpperCase(), password: password.value },
    }), out);
    if (tokens) await signedIn(tokens, status, next);
  });

  const node = h("section", {},
    titled("登录"),
    takeFlash(),
    h("p", { class: "muted small" }, "使用实名注册的手机号或身份证号登录电子证照钱包。"),
    h("div", { class: "tabs", role: "group", "aria-label": "登录方式" }, tabSms, tabPw),
    smsForm, pwForm, out, status,
    h("p", { class: "small" }, "还没有账号？", h("a", { href: "#/register" }, "注册")),
    h("p", { class: "small" }, "查询企业公示的证照信息无需登录：", h("a", { href: "#/public" }, "证照公示查询")));
  return { node, leave: otp.stop };
}

/** #/register: 实名注册 with name, resident ID and a phone that receives the code. */
export function registerView() {
  const out = h("div", { "aria-live": "polite" });
  const status = h("div", { "aria-live": "polite" });
  const name = h("input", { autocomplete: "name", maxlength: "30", required: true });
  const rid = h("input", { maxlength: "18", autocomplete: "off", required: true });
  const phone = h("input", { type: "tel", inputmode: "numeric", autocomplete: "tel", maxlength: "11", required: true });
  const code = h("input", { inputmode: "numeric", autocomplete: "one-time-code", maxlength: "6", required: true });
  const password = h("input", { type: "password", autocomplete: "new-password", minlength: "8" });
  const otp = otpButton(phone, "register", out);
  const submit = h("button", { type: "submit", class: "primary block" }, "注册");
  const form = h("form", { novalidate: true },
    field("姓名", name),
    field("身份证号", rid),
    field("手机号", phone, "账号将绑定此手机号，用于接收验证码"),
    codeRow(code, otp),
    field("设置密码（选填）", password, "至少8位；不设置也可以用短信验证码登录"),
    submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!name.value.trim()) return out.replaceChildren(notice("bad", "请填写姓名"));
    let id;
    try {
      id = (await wasm()).checkResidentId(rid.value.trim().toUpperCase());
    } catch (err) {
      return out.replaceChildren(notice("bad", explain(err)));
    }
    if (!PHONE.test(phone.value.trim())) return out.replaceChildren(notice("bad", "请输入11位手机号码"));
    if (!/^\d{6}$/.test(code.value.trim())) return out.replaceChildren(notice("bad", "请先获取并输入6位短信验证码"));
    if (password.value && password.value.length < 8) return out.replaceChildren(notice("bad", "密码至少8位"));
    const tokens = await busy(submit, "正在注册…", () => api("POST", "/api/wallet/register", {
      body: {
        name: name.value.trim(),
        resident_id: id,
        phone: phone.value.trim(),
        code: code.value.trim(),
        password: password.value || undefined,
      },
    }), out);
    if (tokens) await signedIn(tokens, status, "/");
  });
  const node = h("section", {},
    titled("注册", "/login"),
    h("p", { class: "muted small" }, "实名注册：姓名和身份证号将与人口信息核对，核对一致后开通电子证照钱包。"),
    form, out, status,
    h("p", { class: "small" }, "已有账号？", h("a", { href: "#/login" }, "登录")));
  return { node, leave: otp.stop };
}

/** #/wallet/liveness: the 实人 step, raising the session to real_person; `?next=` is where
 * the person was going (e.g. the fund application) and returns to afterwards. */
export async function livenessView(_params, query) {
  const next = query.get("next")?.startsWith("/wallet/liveness") ? "/" : nextPath(query);
  const person = await me();
  const out = h("div", { "aria-live": "polite" });
  const done = person.level === "real_person";
  const start = h("button", { type: "button", class: "primary block", disabled: done }, "开始实人认证（演示）");
  start.addEventListener("click", async () => {
    const tokens = await busy(start, "正在认证…", () => api("POST", "/api/wallet/liveness", {
      role: "citizen", body: { evidence: "demo-liveness-confirmed" },
    }), out);
    if (!tokens) return;
    session.set("citizen", tokens);
    cache.me = null;
    leaveTo(next, "ok", "实人认证已通过，本次登录已升级为“实名+实人”认证。");
  });
  return h("section", {},
    titled("实人认证", next),
    h("p", {}, badge("演示", "demo"), " 本演示系统不采集人脸图像，点击下方按钮即视为活体检测通过。正式环境将调用人脸识别服务。"),
    h("p", { class: "muted small" },
      "实人认证用于办理要求“实名+实人”的事项（如住房公积金线上提取）。认证结果只对本次登录有效，退出后需重新认证。"),
    done ? notice("ok", "本次登录已完成实人认证。") : null,
    done && next !== "/" ? h("a", { href: "#" + next, class: "button block" }, "继续办理") : null,
    start, out);
}

/** 退出登录: ends the session at the node, forgets the tokens, keeps the device key. */
export async function logout(button, out) {
  await busy(button, "正在退出…", async () => {
    try {
      await api("POST", "/api/wallet/logout", { role: "citizen" });
    } catch (err) {
      // A session that already ended is as good as logged out; anything else is worth saying,
      // but the tokens are dropped either way so this browser is signed out.
      if (err.code !== "unauthenticated") {
        cache.flash = { kind: "warn", text: `已在本机退出，但未能通知服务器：${explain(err)}` };
      }
    }
  }, out);
  session.clear("citizen");
  resetSession();
  showWho("");
  if (!cache.flash) cache.flash = { kind: "ok", text: "已退出登录。本机密钥仍保留在本机，下次登录可直接使用。" };
  go("/login");
}
