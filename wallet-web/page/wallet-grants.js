// 授权他人使用 (a grant signed on this phone, shown to the holder before signing), 我的授权
// (active, expired, revoked; revoke with confirmation) and 授权给我的证照 (show on the
// holder's behalf).

import { h, field, api, notice, explain, titled, fmtTime, now, wasm } from "/app/app.js";
import {
  certById, usable, keyReady, ensureDevice, maskId, badge, busy, me, mattersFor, typeCodeOf,
  loadGrants, grantState, statusBadges, leaveTo, takeFlash, unusableReason, grantHolder, grantMatters,
} from "/app/wallet-state.js";
import { showButton } from "/app/wallet-show.js";

const enc = encodeURIComponent;
const HOUR = 3600;
const DAY = 24 * HOUR;
const MAX_WINDOW = 30 * DAY;
/** The most matters one grant may name (wallet-core's limit). */
const MAX_MATTERS = 16;
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

/** The holder a grant names, as the node gave it with the certificate: my own resident ID
 * for a personal certificate, the credit code for an enterprise's. */
const holderOf = (c) => ({ kind: c.holder_kind === "enterprise" ? "enterprise" : "person", id: c.holder_id });

let seq = 0;

/**
 * 授权事项: 全部事项, or 指定事项 chosen by name from the province's matter directory — the
 * matters where this type of certificate replaces a material. `value()` gives the checked
 * matters as `{ code, name }` (empty for all); it throws a plain-Chinese message.
 */
function matterScope(matters, failure, retry) {
  const n = ++seq;
  const checks = matters.map((m, i) => {
    const nameId = `matter-${n}-${i}`;
    return h("label", { class: "choice matter" },
      h("input", {
        type: "checkbox", name: "matter", value: m.code,
        "aria-labelledby": nameId, "aria-describedby": `${nameId}-by`,
      }),
      h("span", { class: "matter-text" },
        h("span", { id: nameId }, m.name),
        h("span", { id: `${nameId}-by`, class: "sub-line" }, `办理地：${m.region_name}`)));
  });
  const named = h("div", { class: "named matter-list", hidden: true },
    h("p", { class: "muted small" }, "可选择的事项来自本省政务服务事项目录中可用此证照替代材料的事项。"),
    checks);
  const choices = matters.length
    ? [radio("scope", "all", "全部事项", true), radio("scope", "named", "指定事项", false), named]
    : [radio("scope", "all", "全部事项", true),
      failure
        ? h("div", { class: "notice warn", role: "status" },
          `事项目录暂时无法读取（${failure}），现在只能授权全部事项。如需指定事项，请重新读取。`,
          h("button", { type: "button", class: "block", onclick: (e) => retry(e.currentTarget) }, "重新读取事项目录"))
        : h("p", { class: "muted small" }, "本省事项目录中暂无可用此证照替代材料的事项，只能授权全部事项。")];
  const node = h("fieldset", {}, h("legend", {}, "授权事项"), choices);
  node.addEventListener("change", (e) => {
    if (e.target.name === "scope") named.hidden = e.target.value !== "named";
  });
  return {
    node,
    value() {
      if (node.querySelector("input[name=scope]:checked").value === "all") return [];
      const picked = checks.map((l) => l.querySelector("input")).filter((i) => i.checked);
      if (!picked.length) throw new Error("请至少选择一个事项，或选择“全部事项”");
      if (picked.length > MAX_MATTERS) throw new Error(`指定事项最多${MAX_MATTERS}项`);
      return picked.map((i) => matters.find((m) => m.code === i.value));
    },
  };
}

/** #/wallet/grant/<certId>: 授权他人使用. */
export async function grantView({ id }) {
  const [c, directory, core, person] = await Promise.all([
    certById(id),
    // The type code is part of the identifier, so the directory is asked at the same time.
    mattersFor(typeCodeOf(id)).then((list) => ({ list }), (err) => ({ list: [], failure: explain(err) })),
    wasm(),
    me(),
  ]);
  const back = `/wallet/cert/${enc(id)}`;
  if (!usable(c)) {
    return h("section", {}, titled("授权他人使用", back),
      notice("bad", unusableReason(c)));
  }
  const holder = holderOf(c);
  if (!holder.id) {
    // A node that does not say whose certificate it is cannot have a grant signed for it.
    return h("section", {}, titled("授权他人使用", back),
      notice("bad", "暂时无法读取此证照的持证主体，不能授权。请返回“我的证照”刷新后重试。"));
  }
  const out = h("div", { "aria-live": "polite" });

  const name = h("input", { maxlength: "30", autocomplete: "off", required: true });
  const rid = h("input", { maxlength: "18", autocomplete: "off", required: true });
  const ent = h("input", { maxlength: "18", autocomplete: "off" });

  // Read again on request after a failure; the form reads whichever scope is in place.
  let scope;
  const retry = (button) => busy(button, "正在读取…", async () => {
    const next = matterScope(await mattersFor(typeCodeOf(id)), null, retry);
    scope.node.replaceWith(next.node);
    scope = next;
  }, out);
  scope = matterScope(directory.list, directory.failure, retry);

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
    scope.node, period,
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
    // A personal certificate names me in full; for an enterprise's, my masked ID and name.
    const self = holder.kind === "person"
      ? granteeId === holder.id
      : maskId(granteeId) === person.resident_id_masked && granteeName === person.name;
    if (self) throw new Error("不能授权给自己，请填写被授权人的信息");
    let enterprise = "";
    if (ent.value.trim()) {
      try {
        enterprise = core.checkCreditCode(ent.value.trim().toUpperCase());
      } catch (err) {
        throw new Error(explain(err));
      }
    }
    const matters = scope.value();
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
      h("dt", {}, "授权事项"), h("dd", {}, t.matters.length
        ? h("ul", { class: "plain" }, t.matters.map((m) => h("li", {}, m.name, h("span", { class: "sub-line" }, `办理地：${m.region_name}`))))
        : "全部事项"),
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
          terms.enterprise, terms.matters.map((m) => m.code), w.notBefore, w.notAfter, terms.uses);
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

/** The grant in one line, the way people say it: who · which matters · until when. */
const terms = (who, row) => `${who} · 事项：${grantMatters(row)} · 至 ${fmtTime(row.not_after)}`;

function sinceText(row) {
  const uses = row.use_limit != null ? `已使用 ${row.uses}/${row.use_limit} 次` : `已使用 ${row.uses} 次`;
  return `自 ${fmtTime(row.not_before)} 起；${uses}`;
}

/** A grant of an enterprise's certificate names the enterprise (a credit code, not an ID). */
const forEnterprise = (row) => !/^\d{17}[\dX]$/.test(String(row.holder_id ?? ""));

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
    const r = g.row;
    const grantee = r.grantee_name ?? "被授权人";
    const li = h("li", {},
      h("div", { class: "cert-head" }, h("strong", {}, g.typeName ?? "电子证照"), " ", badge(text, kind)),
      forEnterprise(r) ? h("p", { class: "small" }, `持证企业 ${grantHolder(r)}`) : null,
      h("p", { class: "small" }, terms(`被授权人 ${grantee}（${r.grantee_id_masked ?? maskId(r.grantee_id)}）`, r)),
      h("p", { class: "small muted" }, sinceText(r)),
      g.row.revoked_at != null ? h("p", { class: "small muted" }, `撤销于 ${fmtTime(g.row.revoked_at)}`) : null);
    if (s === "active" || s === "pending") {
      const revoke = h("button", { type: "button", class: "danger" }, "撤销授权");
      const slot = h("div", {});
      revoke.addEventListener("click", () => {
        revoke.hidden = true;
        const confirm = h("button", { type: "button", class: "danger" }, "确认撤销");
        const cancel = h("button", { type: "button" }, "取消");
        const box = h("div", { class: "confirm", role: "group", "aria-label": "确认撤销授权" },
          h("p", {}, `确定撤销对 ${grantee} 的授权吗？撤销后，对方出示的亮证码将立即失效。`),
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
          leaveTo("/wallet/grants", "ok", `已撤销对 ${grantee} 的授权，对方将不能再代为亮证。`);
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
        const r = g.row;
        return h("li", {},
          h("div", { class: "cert-head" }, h("strong", {}, g.typeName ?? "电子证照"), " ", badge(text, kind)),
          h("p", { class: "small" }, terms(`${forEnterprise(r) ? "持证企业" : "持证人"} ${grantHolder(r)}`, r)),
          h("p", { class: "small muted" }, sinceText(r)),
          s === "active" ? h("div", { class: "actions" }, show) : null);
      }))
      : notice("info", "暂时没有他人授权给您的证照。"));
}
