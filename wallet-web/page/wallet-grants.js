// 授权他人使用 (a grant signed on this phone, shown to the holder before signing), 我的授权
// (active, expired, revoked; revoke with confirmation) and 授权给我的证照 (show on the
// holder's behalf).

import { h, field, api, notice, explain, titled, fmtTime, now, wasm } from "/app/app.js";
import {
  cache, certById, usable, keyReady, ensureDevice, myResidentId, maskId, badge, busy,
  loadGrants, grantState, statusBadges, leaveTo, takeFlash, unusableReason,
} from "/app/wallet-state.js";
import { showButton } from "/app/wallet-show.js";

const enc = encodeURIComponent;
const HOUR = 3600;
const DAY = 24 * HOUR;
const MAX_WINDOW = 30 * DAY;
const MATTER_CODE = /^[A-Za-z0-9._-]{1,64}$/;
const PRESETS = [
  ["1h", "1 小时", HOUR],
  ["1d", "1 天", DAY],
  ["7d", "7 天", 7 * DAY],
  ["custom", "自定义", 0],
];

/** `2026-11-26T09:30` for a datetime-local input, in local time. */
function localInput(sec) {
  const d = new Date(sec * 1000);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

const radio = (name, value, label, checked) =>
  h("label", { class: "choice" }, h("input", { type: "radio", name, value, checked }), label);

/** The holder a grant names: me for a personal certificate, the enterprise for its own. */
async function holderOf(c) {
  if (c.holder_kind !== "enterprise") return { kind: "person", id: myResidentId() };
  let code = cache.creditCodes.get(c.id);
  if (!code && c.enterprise_name) {
    const ent = await api("GET", `/api/wallet/enterprise?q=${enc(c.enterprise_name)}`, { role: "citizen" });
    code = ent.credit_code;
    cache.creditCodes.set(c.id, code);
  }
  return { kind: "enterprise", id: code };
}

/** #/wallet/grant/<certId>: 授权他人使用. */
export async function grantView({ id }) {
  const [c, usage, core] = await Promise.all([
    certById(id),
    api("GET", "/api/wallet/usage", { role: "citizen" }).catch(() => []),
    wasm(),
  ]);
  const back = `/wallet/cert/${enc(id)}`;
  if (!usable(c)) {
    return h("section", {}, titled("授权他人使用", back),
      notice("bad", unusableReason(c)));
  }
  const holder = await holderOf(c);
  const out = h("div", { "aria-live": "polite" });

  const name = h("input", { maxlength: "30", autocomplete: "off", required: true });
  const rid = h("input", { maxlength: "18", autocomplete: "off", required: true });
  const ent = h("input", { maxlength: "18", autocomplete: "off" });

  // Matters: no citizen-readable matter list exists, so the choices are the matters this
  // certificate was already used for, plus any code the person types from the 办事指南.
  const known = [...new Set(usage.filter((r) => r.cert_id === c.id).map((r) => r.matter))];
  const checks = h("div", { class: "matter-list" });
  const addMatter = (code, checked) => {
    const existing = [...checks.querySelectorAll("input")].find((i) => i.value === code);
    if (existing) {
      existing.checked ||= checked;
      return;
    }
    checks.append(h("label", { class: "choice" },
      h("input", { type: "checkbox", name: "matter", value: code, checked }), code));
  };
  known.forEach((m) => addMatter(m, false));
  const codeInput = h("input", { maxlength: "64", autocomplete: "off", class: "mono" });
  const addButton = h("button", { type: "button" }, "添加事项");
  addButton.addEventListener("click", () => {
    const code = codeInput.value.trim();
    if (!MATTER_CODE.test(code)) {
      out.replaceChildren(notice("bad", "事项编码由字母、数字和“-”“_”“.”组成，请按办事指南上的编码填写"));
      return;
    }
    addMatter(code, true);
    codeInput.value = "";
    out.replaceChildren();
  });
  const named = h("div", { class: "named", hidden: true },
    known.length ? null : h("p", { class: "muted small" }, "此证照还没有用于办事的记录。"),
    checks,
    h("div", { class: "field" },
      h("label", { for: "matter-code" }, "事项编码"),
      h("div", { class: "otp-row" }, Object.assign(codeInput, { id: "matter-code" }), addButton),
      h("p", { class: "muted small" }, "事项编码可在办事指南或窗口查询。")));
  const scope = h("fieldset", {},
    h("legend", {}, "授权事项"),
    radio("scope", "all", "全部事项", true),
    radio("scope", "named", "指定事项", false),
    named);
  scope.addEventListener("change", () => {
    named.hidden = scope.querySelector("input[name=scope]:checked").value !== "named";
  });

  const from = h("input", { type: "datetime-local", id: "grant-from" });
  const until = h("input", { type: "datetime-local", id: "grant-until" });
  const custom = h("div", { class: "custom", hidden: true },
    field("开始时间", from), field("结束时间", until, "最长30天"));
  const period = h("fieldset", {},
    h("legend", {}, "授权期限"),
    h("div", { class: "presets" }, PRESETS.map(([v, label]) => radio("period", v, label, v === "1d"))),
    custom);
  period.addEventListener("change", (e) => {
    if (e.target.name !== "period") return;
    const isCustom = e.target.value === "custom";
    custom.hidden = !isCustom;
    if (isCustom && !from.value) {
      from.value = localInput(now());
      until.value = localInput(now() + DAY);
    }
  });
  const limit = h("input", { type: "number", min: "1", max: "100", inputmode: "numeric" });

  const preview = h("button", { type: "submit", class: "primary block" }, "预览授权");
  const summary = h("div", { "aria-live": "polite" });
  const form = h("form", { novalidate: true },
    field("被授权人姓名", name),
    field("被授权人身份证号", rid),
    field("被授权人所在企业统一社会信用代码（选填）", ent, "被授权人代表企业办事时填写"),
    scope, period,
    field("使用次数上限（选填）", limit, "不填则在授权期限内不限次数"),
    preview);

  /** Reads and checks the form; throws a plain-Chinese message. */
  const read = () => {
    const granteeName = name.value.trim();
    if (!granteeName) throw new Error("请填写被授权人姓名");
    let granteeId;
    try {
      granteeId = core.checkResidentId(rid.value.trim().toUpperCase());
    } catch (err) {
      throw new Error(explain(err));
    }
    if (granteeId === myResidentId()) throw new Error("不能授权给自己，请填写被授权人的信息");
    let enterprise = "";
    if (ent.value.trim()) {
      try {
        enterprise = core.checkCreditCode(ent.value.trim().toUpperCase());
      } catch (err) {
        throw new Error(explain(err));
      }
    }
    const all = scope.querySelector("input[name=scope]:checked").value === "all";
    const matters = all ? [] : [...checks.querySelectorAll("input:checked")].map((i) => i.value);
    if (!all && !matters.length) throw new Error("请至少选择一个事项，或选择“全部事项”");
    if (matters.length > 16) throw new Error("指定事项最多16项");
    const p = period.querySelector("input[name=period]:checked").value;
    const preset = PRESETS.find(([v]) => v === p);
    let window;
    if (p === "custom") {
      const a = Math.floor(new Date(from.value).getTime() / 1000);
      const b = Math.floor(new Date(until.value).getTime() / 1000);
      if (!from.value || !until.value || Number.isNaN(a) || Number.isNaN(b)) throw new Error("请填写开始时间和结束时间");
      if (b <= a) throw new Error("结束时间须晚于开始时间");
      if (b - a > MAX_WINDOW) throw new Error("授权期限最长30天");
      if (b <= now()) throw new Error("结束时间须晚于现在");
      window = () => ({ notBefore: a, notAfter: b });
    } else {
      // A preset runs from the moment of signing, so the grantee gets the whole period.
      window = () => {
        const t = now();
        return { notBefore: t, notAfter: t + preset[2] };
      };
    }
    const uses = limit.value.trim() ? Number(limit.value) : 0;
    if (!Number.isInteger(uses) || uses < 0 || uses > 100) throw new Error("使用次数上限请填写1到100之间的整数");
    return { granteeName, granteeId, enterprise, matters, period: preset, window, uses };
  };

  const describe = (t, w) => h("div", { class: "summary card-inner" },
    h("h3", {}, "请确认授权内容"),
    h("dl", { class: "kv" },
      h("dt", {}, "被授权人"), h("dd", {}, `${t.granteeName}（${maskId(t.granteeId)}）`,
        t.enterprise ? ` 代表企业 ${t.enterprise}` : ""),
      h("dt", {}, "授权证照"), h("dd", {}, c.type_name ?? "电子证照",
        c.holder_kind === "enterprise" ? `（${c.enterprise_name ?? holder.id}）` : ""),
      h("dt", {}, "授权事项"), h("dd", {}, t.matters.length ? t.matters.join("、") : "全部事项"),
      h("dt", {}, "授权期限"), h("dd", {}, t.period[0] === "custom"
        ? `${fmtTime(w.notBefore)} 至 ${fmtTime(w.notAfter)}`
        : `自签署时起 ${t.period[1]}（约至 ${fmtTime(w.notAfter)}）`),
      h("dt", {}, "使用次数"), h("dd", {}, t.uses ? `最多 ${t.uses} 次` : "不限")),
    h("p", {}, `授权后，${t.granteeName}可以：`, h("strong", {}, "代您出示此证照办理上述事项"),
      "（在办事窗口出示亮证码，由窗口向发证地系统调阅证照）。"),
    h("p", { class: "muted small" },
      `${t.granteeName}不能修改证照，也不能再授权给他人。授权用本机密钥签名，您可随时在“我的授权”中撤销，撤销后立即失效。`));

  const submitGrant = async (token) => {
    try {
      return await api("POST", "/api/wallet/grants", { role: "citizen", body: { grant: token } });
    } catch (err) {
      // The key was never registered (or was replaced): register it and send the same grant once more.
      if (err.code !== "grant_signer_unknown") throw err;
      await ensureDevice();
      return api("POST", "/api/wallet/grants", { role: "citizen", body: { grant: token } });
    }
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    let terms;
    try {
      terms = read();
    } catch (err) {
      summary.replaceChildren();
      out.replaceChildren(notice("bad", err.message));
      return;
    }
    out.replaceChildren();
    const sign = h("button", { type: "button", class: "primary" }, "确认并签署授权");
    const edit = h("button", { type: "button" }, "返回修改");
    const card = describe(terms, terms.window());
    summary.replaceChildren(card, h("div", { class: "actions" }, sign, edit));
    edit.addEventListener("click", () => {
      summary.replaceChildren();
      name.focus();
    });
    sign.addEventListener("click", async () => {
      const w = terms.window();
      const row = await busy(sign, "正在签署…", async () => {
        const { key } = await keyReady();
        const token = key.signGrant(c.id, holder.kind, holder.id, terms.granteeId, terms.granteeName,
          terms.enterprise, terms.matters, w.notBefore, w.notAfter, terms.uses);
        return submitGrant(token);
      }, out);
      if (!row) return;
      form.remove();
      summary.replaceChildren(
        notice("ok", `授权成功：${terms.granteeName}可在 ${fmtTime(row.not_after)} 前代您出示此证照。`),
        describe(terms, { notBefore: row.not_before, notAfter: row.not_after }),
        h("div", { class: "actions" },
          h("a", { class: "button primary", href: "#/wallet/grants" }, "查看我的授权"),
          h("a", { class: "button", href: `#${back}` }, "返回证照详情")));
      summary.scrollIntoView?.({ block: "start" });
    });
    card.scrollIntoView?.({ block: "start", behavior: "smooth" });
  });

  return h("section", {},
    titled("授权他人使用", back),
    h("p", {}, h("strong", {}, c.type_name ?? "电子证照"), " ", statusBadges(c)),
    h("p", { class: "muted small" }, "授权他人在限定时间内，为指定事项代您出示此证照。被授权人须用本人实名账号登录后代为亮证。"),
    form, out, summary);
}

const STATE_BADGE = {
  active: ["生效中", "ok"],
  pending: ["未生效", "warn"],
  expired: ["已过期", ""],
  revoked: ["已撤销", "bad"],
};

function scopeText(view) {
  if (!view) return "";
  return view.matters.length ? `事项：${view.matters.join("、")}` : "事项：全部事项";
}

function windowText(row) {
  return `${fmtTime(row.not_before)} 至 ${fmtTime(row.not_after)}`;
}

function usesText(row) {
  return row.use_limit != null ? `已使用 ${row.uses}/${row.use_limit} 次` : `已使用 ${row.uses} 次`;
}

/** #/wallet/grants: 我的授权. */
export async function grantsView() {
  const { given } = await loadGrants();
  const groups = { active: [], expired: [], revoked: [] };
  for (const g of given) {
    const s = grantState(g.row);
    groups[s === "pending" ? "active" : s].push(g);
  }
  const item = (g) => {
    const s = grantState(g.row);
    const [text, kind] = STATE_BADGE[s];
    const who = g.view ? `${g.view.granteeName}（${g.view.granteeIdMasked}）` : maskId(g.row.grantee_id);
    const li = h("li", {},
      h("div", { class: "cert-head" }, h("strong", {}, g.typeName ?? "电子证照"), " ", badge(text, kind)),
      h("p", { class: "small" }, "被授权人：", who),
      h("p", { class: "small muted" }, scopeText(g.view)),
      h("p", { class: "small muted" }, "期限：", windowText(g.row), "；", usesText(g.row)),
      g.row.revoked_at != null ? h("p", { class: "small muted" }, `撤销于 ${fmtTime(g.row.revoked_at)}`) : null);
    if (s === "active" || s === "pending") {
      const revoke = h("button", { type: "button", class: "danger" }, "撤销授权");
      const slot = h("div", {});
      revoke.addEventListener("click", () => {
        revoke.hidden = true;
        const confirm = h("button", { type: "button", class: "danger" }, "确认撤销");
        const cancel = h("button", { type: "button" }, "取消");
        const box = h("div", { class: "confirm", role: "group", "aria-label": "确认撤销授权" },
          h("p", {}, `确定撤销对 ${g.view?.granteeName ?? "被授权人"} 的授权吗？撤销后，对方出示的亮证码将立即失效。`),
          h("div", { class: "actions" }, confirm, cancel));
        slot.replaceChildren(box);
        cancel.addEventListener("click", () => {
          slot.replaceChildren();
          revoke.hidden = false;
          revoke.focus();
        });
        confirm.addEventListener("click", async () => {
          const done = await busy(confirm, "正在撤销…", async () => {
            await api("POST", `/api/wallet/grants/${enc(g.row.id)}/revoke`, { role: "citizen" });
            return true;
          }, slot);
          if (!done) return;
          leaveTo("/wallet/grants", "ok", `已撤销对 ${g.view?.granteeName ?? "被授权人"} 的授权，对方将不能再代为亮证。`);
        });
      });
      li.append(h("div", { class: "actions" }, revoke), slot);
    }
    return li;
  };
  const group = (title, list, empty) => h("div", { class: "group" },
    h("h3", {}, `${title}（${list.length}）`),
    list.length ? h("ul", { class: "list" }, list.map(item)) : h("p", { class: "muted small" }, empty));
  return h("section", {},
    titled("我的授权", "/"),
    takeFlash(),
    given.length ? null : notice("info", "您还没有授权他人使用证照。可在证照详情中点击“授权他人使用”。"),
    group("生效中", groups.active, "没有生效中的授权。"),
    group("已过期", groups.expired, "没有已过期的授权。"),
    group("已撤销", groups.revoked, "没有已撤销的授权。"));
}

/** #/wallet/received: 授权给我的证照. */
export async function receivedView() {
  const { received } = await loadGrants();
  const order = { active: 0, pending: 1, expired: 2, revoked: 3 };
  received.sort((a, b) => order[grantState(a.row)] - order[grantState(b.row)] || b.row.created_at - a.row.created_at);
  return h("section", {},
    titled("授权给我的证照", "/"),
    h("p", { class: "muted small" }, "他人授权您代为出示的证照。代为亮证时请用本人账号，只能办理授权范围内的事项。"),
    received.length
      ? h("ul", { class: "list" }, received.map((g) => {
        const s = grantState(g.row);
        const [text, kind] = STATE_BADGE[s];
        const show = showButton("grant", g.row.id, "代为亮证", { class: "primary" });
        return h("li", {},
          h("div", { class: "cert-head" }, h("strong", {}, g.typeName ?? "电子证照"), " ", badge(text, kind)),
          h("p", { class: "small" }, "持证人：", g.view ? maskId(g.view.holderId) : "—"),
          h("p", { class: "small muted" }, scopeText(g.view)),
          h("p", { class: "small muted" }, "期限：", windowText(g.row), "；", usesText(g.row)),
          s === "active" && g.view ? h("div", { class: "actions" }, show) : null);
      }))
      : notice("info", "暂时没有他人授权给您的证照。"));
}
