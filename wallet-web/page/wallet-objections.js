// 异议: the holder reports that a certificate's data is wrong (提出异议, from 证照详情) or that
// a certificate is missing (报告缺失证照), and follows each report in 我的异议 until the issuing
// department answers. The wallet node keeps every objection and forwards it to the node of the
// issuing department, so what is shown here never depends on that node being up; the steps
// (filed → received → corrected / issued / rejected, or undeliverable) come from the wallet node.
// Loaded on first use (prefetched after the first view): nobody files an objection at start-up.

import { h, api, notice, explain, advise, titled, fmtDate, fmtTime, now, session } from "/app/app.js";
import {
  cache, certById, statusBadges, badge, busy, leaveTo, takeFlash, effectiveStatus,
} from "/app/wallet-state.js";

const enc = encodeURIComponent;
/** The longest reason the node accepts (it counts characters; `length` counts at least as many). */
const MAX = 1000;
/** The department has this many days to answer, from filing (as the node sets the deadline). */
const DAYS = 15;

// Advice for codes only objections meet. Codes shared with other views (certificate_not_current,
// enterprise_not_found, tier_not_registered …) get their objection wording in `say()` instead,
// so 授权 keeps its own.
advise({
  objection_reason_invalid: `请填写异议内容（不超过${MAX}字）`,
  objection_kind_invalid: "请重新选择：证照信息有误请在证照详情中提出异议，查不到应有的证照请报告缺失证照",
  objection_issuer_missing: "请选择证照类型和应当发证的部门",
  objection_issuer_unknown: "未找到签发该类证照的部门，请刷新页面后重新选择",
  objection_holder_kind: "该类证照的持证主体与所选不符：企业证照请选择企业，个人证照不选企业。请刷新页面后重新选择",
  objection_waiting: "已有处理中的异议，请在“我的异议”中等待发证机关答复后再提出",
  objection_not_found: "未找到该异议，请返回“我的异议”刷新后查看",
});

/** Plain Chinese for a failure while filing, in the words of objections. */
function say(err, more = {}) {
  const local = {
    certificate_not_found: "未找到该证照，或该证照不属于您。请返回“我的证照”刷新后重试",
    certificate_not_current: "该证照已注销或已被更正，不能再对它提出异议。如更正后的新版本仍有误，请对新版本提出异议",
    enterprise_not_found:
      "未找到您可代表的企业。请核对统一社会信用代码或企业全称；只有企业的法定代表人或管理员可以为企业提出异议",
    // The title names the node ("未登记郑州市…，无法转发请求"); the advice says what to do.
    tier_not_registered: `${err?.title || "发证地系统暂未接入"}。请拨打12345或直接联系发证机关反映`,
    ...more,
  };
  return local[err?.code] ?? explain(err);
}

/** How each status reads, as a badge. */
const STATUS = {
  filed: ["已提交", ""],
  received: ["发证机关已受理", "warn"],
  corrected: ["已更正", "ok"],
  issued: ["已补发", "ok"],
  rejected: ["未予更正", "bad"],
  undeliverable: ["无法送达", "bad"],
};

/** Still waiting for the department's answer. */
const waiting = (o) => o.status === "filed" || o.status === "received";

const late = (o) => waiting(o) && o.deadline < now();

function statusBadge(o) {
  const [text, kind] = STATUS[o.status] ?? ["状态未知", ""];
  return [badge(text, kind), late(o) ? [" ", badge("已超期", "bad")] : null];
}

const kindName = (o) => (o.kind === "missing" ? "证照缺失" : "证照信息有误");

const when = (at) => h("time", { datetime: new Date(at * 1000).toISOString() }, fmtTime(at));

/**
 * Re-reads while an objection waits and redraws only what changed, so the holder sees
 * 发证机关已受理 and the answer arrive without reloading. Returns the route's `leave`.
 */
function follow(data, load, redraw) {
  let last = JSON.stringify(data);
  let timer = null;
  let stopped = false;
  const list = (d) => (Array.isArray(d) ? d : [d]);
  // Delivery to the issuer's node takes seconds; a decision takes the department days.
  const delay = (d) => (list(d).some((o) => o.status === "filed") ? 3000
    : list(d).some((o) => o.status === "received") ? 10000 : 0);
  const schedule = (d) => {
    const ms = delay(d);
    if (ms && !stopped) timer = setTimeout(() => tick(d), ms);
  };
  const tick = async (d) => {
    if (!document.hidden) {
      try {
        d = await load();
        const key = JSON.stringify(d);
        if (stopped) return;
        if (key !== last) {
          last = key;
          redraw(d);
        }
      } catch (err) {
        // Signed out meanwhile: the next view asks to log in; stop asking the node.
        if (err?.code === "unauthenticated" || !session.get("citizen")) return;
      }
    }
    schedule(d);
  };
  schedule(data);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

let seq = 0;

/** 异议内容: a textarea with its hint and a live count against the node's limit. */
function reasonField(hint) {
  const n = ++seq;
  const ids = { input: `objection-reason-${n}`, hint: `objection-hint-${n}`, count: `objection-count-${n}` };
  const input = h("textarea", {
    id: ids.input, rows: "6", maxlength: String(MAX), required: true,
    "aria-describedby": `${ids.hint} ${ids.count}`,
  });
  const count = h("span", { id: ids.count }, `已输入 0/${MAX} 字`);
  // Announced once, when the limit is reached, not at every keystroke.
  const full = h("span", { class: "objection-full", "aria-live": "polite" });
  const update = () => {
    const len = input.value.length;
    count.textContent = `已输入 ${len}/${MAX} 字`;
    full.textContent = len >= MAX ? `已达到${MAX}字上限` : "";
  };
  input.addEventListener("input", update);
  return {
    node: h("div", { class: "field" },
      h("label", { for: ids.input }, "异议内容"),
      input,
      h("p", { class: "small muted right" }, full, " ", count),
      h("p", { id: ids.hint, class: "muted small" }, hint)),
    /** The trimmed reason, or throws the Chinese message for an empty or over-long one. */
    value() {
      const text = input.value.trim();
      if (!text) throw new Error("请填写异议内容");
      if (text.length > MAX) throw new Error(`异议内容不能超过${MAX}字，请精简后再提交`);
      return text;
    },
    focus: () => input.focus(),
  };
}

/** Runs a filing: the button shows 正在提交…, failures go to `out` in the words of `say`. */
async function submitWith(button, out, work, more, text = "正在提交…") {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = text;
  try {
    return await work();
  } catch (err) {
    out.replaceChildren(notice("bad", err instanceof Error && !("code" in err) ? err.message : say(err, more)));
    return undefined;
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

const mine = () => api("GET", "/api/wallet/objections", { role: "citizen" });

/** #/wallet/object/<certId>: the certificate's data is wrong. */
export async function objectView({ id }) {
  const [c, rows] = await Promise.all([
    cache.certs.get(id) ?? certById(id),
    mine().catch(() => []),
  ]);
  const open = rows.find((o) => o.cert_id === c.id && waiting(o));
  const status = effectiveStatus(c);
  const about = h("div", { class: "card-inner" },
    h("div", { class: "cert-title" }, h("h3", {}, c.type_name ?? "电子证照"), " ", statusBadges(c)),
    h("dl", { class: "kv small" },
      c.holder_kind === "enterprise" && c.enterprise_name
        ? [h("dt", {}, "持证企业"), h("dd", {}, c.enterprise_name)] : null,
      h("dt", {}, "颁发机构"), h("dd", {}, c.issuer_name || "发证机关"),
      c.held_by ? [h("dt", {}, "证照所在"), h("dd", {}, c.held_by)] : null));
  const head = [titled("提出异议", `/wallet/cert/${enc(c.id)}`), about];

  if (open) {
    return h("section", {}, head,
      notice("warn", `您对此证照提出的异议正在处理（${STATUS[open.status][0]}），发证机关将在 ${fmtDate(open.deadline)} 前答复。答复前不能再次提出。`),
      h("a", { class: "button block", href: `#/wallet/objections/${enc(open.id)}` }, "查看异议进度"));
  }
  if (status === "revoked" || status === "superseded") {
    return h("section", {}, head,
      notice("bad", say({ code: "certificate_not_current" })),
      h("a", { class: "button block", href: "#/wallet/certs" }, "返回我的证照"));
  }

  const reason = reasonField("请写明哪一项信息有误、正确的内容是什么，以及可以证明的材料（如户口簿、原纸质证书）。");
  const submit = h("button", { type: "submit", class: "primary block" }, "提交异议");
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { novalidate: true }, reason.node, out, submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    out.replaceChildren();
    const row = await submitWith(submit, out, () => api("POST", "/api/wallet/objections", {
      role: "citizen", body: { cert_id: c.id, reason: reason.value() },
    }), { objection_waiting: "您对此证照已有处理中的异议，请在“我的异议”中查看进度" });
    if (!row) return;
    // The certificate is now disputed: the next detail must come from the node.
    cache.certs.delete(c.id);
    leaveTo(`/wallet/objections/${enc(row.id)}`, "ok",
      `异议已提交，将送交${row.issuer_name}处理，答复期限为 ${fmtDate(row.deadline)}。处理期间证照仍可正常使用。`);
  });
  return h("section", {}, head,
    h("p", { class: "muted small" },
      `发现证照信息有误时，可向发证机关提出异议。发证机关须在${DAYS}日内答复：更正后的新证照会出现在“我的证照”中，不予更正时会说明理由。处理期间证照标记为“有异议”，仍可正常使用。`),
    form);
}

/** One objection in 我的异议: the whole card is the link to its detail. */
function objectionItem(o) {
  return h("li", {},
    h("a", { class: "cert-card", href: `#/wallet/objections/${enc(o.id)}` },
      h("span", { class: "cert-head" }, h("strong", {}, o.type_name || "电子证照"), " ", statusBadge(o)),
      h("span", { class: "cert-line" }, "异议类型：", kindName(o)),
      o.enterprise_name ? h("span", { class: "cert-line" }, "持证企业：", o.enterprise_name) : null,
      h("span", { class: "cert-line" }, "发证机关：", o.issuer_name),
      h("span", { class: "cert-line" }, "提交时间：", fmtTime(o.filed_at)),
      waiting(o)
        ? h("span", { class: "cert-line" }, "答复期限：", fmtDate(o.deadline))
        : o.decided_at ? h("span", { class: "cert-line" }, "答复时间：", fmtTime(o.decided_at)) : null));
}

/** #/wallet/objections: 我的异议, mine and my enterprises', newest first. */
export async function objectionsView() {
  const rows = await mine();
  const body = h("div", {});
  const draw = (list) => body.replaceChildren(list.length
    ? h("ul", { class: "list certs" }, list.map(objectionItem))
    : notice("info", "您还没有提出过异议。发现证照信息有误时，可在证照详情中点击“提出异议”。"));
  draw(rows);
  const node = h("section", {},
    titled("我的异议", "/"),
    takeFlash(),
    h("p", { class: "muted small" },
      `证照信息有误，可在证照详情中提出异议；应有的证照在钱包中查不到，可报告缺失证照。发证机关须在${DAYS}日内答复。`),
    h("a", { class: "button block", href: "#/wallet/objections/missing" }, "报告缺失证照"),
    body);
  return { node, leave: follow(rows, mine, draw) };
}

/** The steps as a timeline, with the one still to come while the objection waits. */
function timeline(o) {
  const missing = o.kind === "missing";
  const item = (kind, title, at, ...more) => h("li", { class: `step ${kind}` },
    h("span", { class: "step-title" }, title),
    at ? h("span", { class: "step-time" }, when(at)) : null,
    more);
  const steps = o.steps.map((s) => {
    switch (s.step) {
      case "filed":
        return item("done", missing ? "已报告缺失证照" : "已提交异议", s.at,
          h("p", { class: "small muted" }, o.status === "filed" ? `正在送交${o.handled_by}` : `已送交${o.handled_by}`));
      case "received":
        return item("done", "发证机关已受理", s.at,
          h("p", { class: "small muted" }, `${o.handled_by}已确认收到，交${o.issuer_name}处理`));
      case "corrected":
      case "issued":
        return item("ok", s.step === "issued" ? "已补发" : "已更正", s.at,
          h("p", { class: "small" }, s.step === "issued"
            ? `${o.issuer_name}已签发该证照，并加盖电子印章。`
            : `${o.issuer_name}已更正证照信息，并重新加盖电子印章。原证照已被新版本取代，请使用新版本办事。`),
          s.new_cert_id ? h("p", { class: "small" }, h("a", { href: `#/wallet/cert/${enc(s.new_cert_id)}` },
            s.step === "issued" ? "查看补发的证照" : "查看更正后的证照")) : null);
      case "rejected":
        return item("bad", missing ? "未予补发" : "未予更正", s.at,
          h("p", { class: "small" }, "发证机关的理由：", h("span", { class: "reason" }, s.reason ?? "未说明")));
      case "undeliverable":
        return item("bad", "无法送达", s.at,
          h("p", { class: "small" }, `${o.handled_by}未能接收此异议`, s.reason ? ["：", s.reason] : "", "。"));
      default:
        return item("done", s.step, s.at);
    }
  });
  if (waiting(o)) {
    steps.push(item("next", "等待发证机关答复", null,
      h("p", { class: "small muted" }, `答复期限 ${fmtDate(o.deadline)}`, late(o) ? [" ", badge("已超期", "bad")] : null)));
  }
  return h("ol", { class: "timeline", "aria-label": "处理进度" }, steps);
}

/** What the holder can do now that the objection is answered (or cannot be delivered). */
function outcome(o) {
  switch (o.status) {
    case "corrected":
    case "issued":
      return [
        notice("ok", o.status === "issued"
          ? "发证机关已补发该证照，可在“我的证照”中查看和使用。"
          : "发证机关已更正证照，请使用更正后的新版本办事。"),
        o.new_cert_id ? h("a", { class: "button primary block", href: `#/wallet/cert/${enc(o.new_cert_id)}` },
          o.status === "issued" ? "查看补发的证照" : "查看更正后的证照") : null,
      ];
    case "rejected":
      return notice("warn", `发证机关未予${o.kind === "missing" ? "补发" : "更正"}，理由见下方处理进度。如仍有疑问，可携带相关材料到${o.issuer_name}咨询，或拨打12345反映。`);
    case "undeliverable":
      return notice("bad", `此异议未能送达${o.handled_by}，发证机关没有收到。请拨打12345或直接联系${o.issuer_name}反映。`);
    default:
      return null;
  }
}

function detail(o) {
  return [
    h("div", { class: "cert-title" }, h("h3", {}, o.type_name || "电子证照"), " ", statusBadge(o)),
    outcome(o),
    h("dl", { class: "kv" },
      h("dt", {}, "异议类型"), h("dd", {}, kindName(o)),
      o.cert_id ? [h("dt", {}, "证照"), h("dd", {}, h("a", { href: `#/wallet/cert/${enc(o.cert_id)}` }, "查看原证照"))] : null,
      o.enterprise_name ? [h("dt", {}, "持证企业"), h("dd", {}, o.enterprise_name,
        o.enterprise ? h("span", { class: "sub-line mono" }, o.enterprise) : null)] : null,
      h("dt", {}, "发证机关"), h("dd", {}, o.issuer_name),
      h("dt", {}, "受理系统"), h("dd", {}, o.handled_by),
      h("dt", {}, "提交时间"), h("dd", {}, when(o.filed_at)),
      h("dt", {}, "答复期限"), h("dd", {}, fmtDate(o.deadline)),
      h("dt", {}, "异议内容"), h("dd", { class: "reason" }, o.reason)),
    h("h3", {}, "处理进度"),
    timeline(o),
  ];
}

/** #/wallet/objections/<id>: one objection, its steps and the department's answer. */
export async function objectionView({ id }) {
  const load = () => api("GET", `/api/wallet/objections/${enc(id)}`, { role: "citizen" });
  const o = await load();
  const body = h("div", {});
  const refresh = h("button", { type: "button", class: "block" }, "刷新进度");
  const out = h("div", { "aria-live": "polite" });
  const flash = takeFlash();
  const draw = (d) => {
    body.replaceChildren(h("div", {}, detail(d)));
    refresh.hidden = !waiting(d);
  };
  draw(o);
  const redraw = (d) => {
    // The message about the filing is old news once the objection has moved on.
    flash?.remove();
    draw(d);
  };
  refresh.addEventListener("click", async () => {
    const d = await busy(refresh, "正在刷新…", load, out);
    if (d) {
      out.replaceChildren();
      redraw(d);
    }
  });
  const node = h("section", {},
    titled("异议详情", "/wallet/objections"),
    flash,
    body, out, refresh);
  return { node, leave: follow(o, load, redraw) };
}

/** The issuer code inside a certificate identifier (GB/T 36904: 1.2.156.3005.2.<type>.<issuer>.…). */
const issuerOf = (certId) => String(certId).split(".")[6] ?? "";

/** #/wallet/objections/missing: a certificate I should have is not in my wallet. */
export async function missingView() {
  const [issuers, certs] = await Promise.all([
    api("GET", "/api/catalog/issuers"),
    api("GET", "/api/wallet/certificates", { role: "citizen" }).catch(() => []),
  ]);
  const back = "/wallet/objections";
  if (!issuers.length) {
    return h("section", {}, titled("报告缺失证照", back),
      notice("info", "本省证照目录暂无可报告的证照类型。请拨打12345或联系发证机关反映。"));
  }

  // One option per type, by name; the departments issuing it come after the type is chosen.
  const types = new Map();
  for (const e of issuers) {
    if (!types.has(e.type_code)) types.set(e.type_code, { name: e.type_name, kind: e.holder_kind, depts: [] });
    types.get(e.type_code).depts.push(e);
  }
  const byName = [...types].sort((a, b) => a[1].name.localeCompare(b[1].name, "zh-CN"));
  const typeSel = h("select", { id: `missing-type-${++seq}`, required: true },
    h("option", { value: "" }, "请选择证照类型"),
    byName.map(([code, t]) => h("option", { value: code }, t.kind === "enterprise" ? `${t.name}（企业证照）` : t.name)));
  const deptSel = h("select", { id: `missing-dept-${seq}`, required: true, disabled: true },
    h("option", { value: "" }, "请先选择证照类型"));
  const deptNote = h("p", { class: "muted small", id: `missing-dept-note-${seq}` });
  deptSel.setAttribute("aria-describedby", deptNote.id);

  // The enterprise, for enterprise types: found the way 企业证照 finds it (credit code or full
  // name; only its legal representative or an administrator finds it).
  const known = new Map();
  for (const c of [...certs, ...cache.certs.values()]) {
    if (c.holder_kind === "enterprise" && c.enterprise_name) known.set(c.enterprise_name, c.holder_id);
  }
  const listId = `missing-ent-list-${seq}`;
  const entInput = h("input", {
    id: `missing-ent-${seq}`, autocomplete: "organization", maxlength: "100",
    list: known.size ? listId : null, "aria-describedby": `missing-ent-found-${seq}`,
  });
  const entFound = h("p", { class: "small", id: `missing-ent-found-${seq}`, "aria-live": "polite" });
  const entFind = h("button", { type: "button" }, "查询企业");
  let enterprise = null;
  // The form's own messages; the enterprise lookup clears a refusal it answers.
  const out = h("div", { "aria-live": "polite" });
  const findEnterprise = async () => {
    const text = entInput.value.trim();
    if (!text) throw new Error("请填写企业的统一社会信用代码或企业全称");
    // A credit code typed in lower case is still the code; a name is sent as typed.
    const term = /^[0-9a-z]{18}$/i.test(text) ? text.toUpperCase() : text;
    const res = await api("GET", `/api/wallet/enterprise?q=${enc(term)}`, { role: "citizen" });
    enterprise = { code: res.credit_code, name: res.name };
    entFound.replaceChildren(badge("已选择", "ok"), ` ${res.name}（${res.credit_code}）`);
    return enterprise;
  };
  entInput.addEventListener("input", () => {
    enterprise = null;
    entFound.replaceChildren();
    entOut.replaceChildren();
  });
  const entOut = h("div", { "aria-live": "polite" });
  entFind.addEventListener("click", async () => {
    entOut.replaceChildren();
    // An earlier refusal of the form is answered once the enterprise is found.
    if (await submitWith(entFind, entOut, findEnterprise, {}, "正在查询…")) out.replaceChildren();
  });
  const entBox = h("div", { hidden: true },
    h("div", { class: "field" },
      h("label", { for: entInput.id }, "企业（统一社会信用代码或企业全称）"),
      h("div", { class: "otp-row" }, entInput, entFind),
      known.size ? h("datalist", { id: listId }, [...known.keys()].map((n) => h("option", { value: n }))) : null,
      entFound, entOut),
    h("p", { class: "muted small" }, "只有企业的法定代表人或企业管理员可以为企业报告缺失证照。"));

  const have = h("div", { "aria-live": "polite" });
  const chosenType = () => types.get(typeSel.value);
  const chosenDept = () => chosenType()?.depts.find((d) => d.issuer_code === deptSel.value);
  const showHave = () => {
    const d = chosenDept();
    const held = d && certs.find((c) => c.type_code === d.type_code && issuerOf(c.id) === d.issuer_code
      && !["revoked", "superseded"].includes(c.status));
    have.replaceChildren(held
      ? h("div", { class: "notice info", role: "status" },
        `您的证照中已有一张${held.type_name}（${held.issuer_name}颁发）。如其中信息有误，请在`,
        h("a", { href: `#/wallet/cert/${enc(held.id)}` }, "证照详情"), "中提出异议。")
      : "");
  };
  typeSel.addEventListener("change", () => {
    const t = chosenType();
    deptSel.replaceChildren(
      h("option", { value: "" }, t ? "请选择发证部门" : "请先选择证照类型"),
      ...(t?.depts ?? []).map((d) => h("option", { value: d.issuer_code }, d.issuer_name)));
    deptSel.disabled = !t;
    // Most types have one issuing department here: chosen for the holder.
    if (t?.depts.length === 1) deptSel.value = t.depts[0].issuer_code;
    entBox.hidden = t?.kind !== "enterprise";
    deptSel.dispatchEvent(new Event("change"));
  });
  deptSel.addEventListener("change", () => {
    const d = chosenDept();
    deptNote.textContent = d ? `报告将送交${d.region_name}，由${d.issuer_name}处理。` : "";
    showHave();
  });

  const reason = reasonField("请写明您在何时、何地申领或办理了该证照，以及受理编号等可以证明的信息。");
  const submit = h("button", { type: "submit", class: "primary block" }, "提交异议");
  const form = h("form", { novalidate: true },
    h("div", { class: "field" }, h("label", { for: typeSel.id }, "证照类型"), typeSel),
    h("div", { class: "field" }, h("label", { for: deptSel.id }, "发证部门"), deptSel, deptNote),
    have,
    entBox,
    reason.node, out, submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    out.replaceChildren();
    const row = await submitWith(submit, out, async () => {
      const t = chosenType();
      if (!t) throw new Error("请选择证照类型");
      const d = chosenDept();
      if (!d) throw new Error("请选择发证部门");
      const text = reason.value();
      const body = { kind: "missing", type_code: d.type_code, issuer_code: d.issuer_code, reason: text };
      if (t.kind === "enterprise") body.enterprise = (enterprise ?? await findEnterprise()).code;
      return api("POST", "/api/wallet/objections", { role: "citizen", body });
    }, { objection_waiting: "您已报告过该证照缺失，正在等待发证部门答复，请在“我的异议”中查看进度" });
    if (!row) return;
    leaveTo(`/wallet/objections/${enc(row.id)}`, "ok",
      `已报告缺失证照，将送交${row.issuer_name}处理，答复期限为 ${fmtDate(row.deadline)}。`);
  });
  return h("section", {},
    titled("报告缺失证照", back),
    h("p", { class: "muted small" },
      `已经办理的证照在钱包中查不到时，请选择证照类型和应当发证的部门并说明情况。发证部门须在${DAYS}日内答复：补发的证照会出现在“我的证照”中，不予补发时会说明理由。`),
    form);
}
