// What the two staff entry modules (窗口受理 in counter.js, 后台审核 in review.js) share about
// a staff member's session: the login form, which refuses an account of the other kind before
// it leaves a session behind; logging out, which ends the session here even when the server
// cannot be told; and the bar naming who is signed in. A browser keeps one staff session.

import { api, explain, field, h, notice, Problem, session, show } from "/app/app.js";
import { counterAdvice } from "/app/counter-advice.js";
import { forgetStaffMe } from "/app/counter-state.js";

export const isCode = (err, code) => err instanceof Problem && err.code === code;

/** Focuses a control once the router has put the view into the page. */
export const focusSoon = (el) => setTimeout(() => el.isConnected && !el.disabled && el.focus(), 0);

/** A button's busy state during a request: disabled, saying what is happening. */
export async function busy(button, text, work) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = text;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

/** Ends a staff session at the server, best effort: the token lapses on its own anyway. */
export function endStaffSession(token) {
  fetch("/api/staff/logout", { method: "POST", headers: { authorization: `Bearer ${token}` } })
    .catch(() => {});
}

/**
 * The staff login form for the views of one staff `level` ("clerk" or "reviewer"). An account
 * of another level is told `refused(level)` and its new session is ended at once, since every
 * route of these views would refuse it. `message` (a string, or `{ kind, text }`) says why the
 * login is shown.
 */
export function staffLoginView({ level, title, intro, className, refused, message }) {
  const id = h("input", { autocomplete: "username", autocapitalize: "off", spellcheck: "false" });
  const pw = h("input", { type: "password", autocomplete: "current-password" });
  const status = h("div", { "aria-live": "polite" });
  const submit = h("button", { class: "primary block", type: "submit" }, "登录");
  const form = h("form", {
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      const staffId = id.value.trim();
      if (!staffId || !pw.value) {
        status.replaceChildren(notice("bad", "请输入工号和密码"));
        (staffId ? pw : id).focus();
        return;
      }
      status.replaceChildren();
      try {
        const tokens = await busy(submit, "正在登录…", () =>
          api("POST", "/api/staff/login", { body: { id: staffId, password: pw.value } }));
        if (tokens.level !== level) {
          endStaffSession(tokens.access_token);
          status.replaceChildren(notice("bad", refused(tokens.level)));
          pw.value = "";
          id.focus();
          return;
        }
        // One staff session per browser: one left behind (the other view's) ends at the server.
        const old = session.get("staff")?.access_token;
        if (old) endStaffSession(old);
        session.set("staff", tokens);
        forgetStaffMe();
        show();
      } catch (err) {
        status.replaceChildren(failure(err));
        pw.select();
      }
    },
  }, field("工号", id), field("密码", pw), submit);
  focusSoon(id);
  const msg = typeof message === "string" ? { kind: "warn", text: message } : message;
  return h("section", { class: className },
    h("h2", {}, title),
    intro ? h("p", { class: "muted small" }, intro) : null,
    msg ? notice(msg.kind, msg.text) : null,
    form,
    status);
}

/** An error in plain Chinese with the next step (a tier's error names the tier). */
export function failure(err, ...extra) {
  const a = counterAdvice(err);
  return h("div", { class: "notice bad", role: "alert" },
    h("p", {}, a.text),
    a.more ? h("p", { class: "small" }, a.more) : null,
    ...extra);
}

/**
 * Ends the staff session at the server, then here; here even when the server cannot be told.
 * Returns the message for the login view that follows. `publicPcHint` is added when the server
 * could not be told (the counter's PCs are shared).
 */
export async function staffLogout(button, publicPcHint = "") {
  let failed = null;
  try {
    await busy(button, "正在退出…", () => api("POST", "/api/staff/logout", { role: "staff" }));
  } catch (err) {
    // A session the server already ended is as good as a logout.
    if (!isCode(err, "unauthenticated")) failed = err;
  }
  session.clear("staff");
  forgetStaffMe();
  return failed
    ? {
      kind: "warn",
      text: `已在本机退出登录，但未能通知服务器结束会话（${explain(failed)}）。该会话将在到期后自动失效。` +
        publicPcHint,
    }
    : { kind: "ok", text: "已退出登录" };
}

/** Who is signed in: name and number, counter and department; `me` null when it could not be read. */
export function staffWho(me) {
  return me
    ? h("div", { class: "counter-who" },
      h("span", { class: "counter-who-name" }, `${me.name}（工号 ${me.id}）`),
      h("span", { class: "muted small" },
        [me.counter, me.department_name || me.department].filter(Boolean).join(" · ")))
    : h("span", { class: "muted small" }, "暂时无法读取工作人员信息，请稍后刷新页面");
}
