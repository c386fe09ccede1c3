// 窗口受理: the clerk's views at a city counter. Log in, choose the matter, scan what the
// applicant shows (a keyboard-wedge scanner types the code and Enter; the camera where the
// browser can read QR codes), check the certificate's seal here in the browser with the
// WebAssembly core, attach it once the applicant confirms, print the archive copy, finish the
// case and take the applicant's rating. The case is read from the server every time it is
// shown, so a reload, another tab or another PC of the same clerk sees the same case.
// Entry module for `#/counter…` (see index.html).

import { $, api, field, fmtDate, fmtTime, go, h, notice, now, Problem, route, session, show, start, titled } from "/app/app.js";
import { counterAdvice, retryable } from "/app/counter-advice.js";
import { archiveView } from "/app/counter-archive.js";
import { cameraScanner } from "/app/counter-camera.js";
import { fundPanel, usesSharing } from "/app/counter-fund.js";
import { checkSeal, consentName, currentCase, forgetStaffMe, routeText, sealer, staffMe } from "/app/counter-state.js";
import { busy, failure, focusSoon, isCode, staffLoginView, staffLogout, staffWho } from "/app/staff-session.js";

// The counter is used on a desktop: the wide layout, and the header leads back to the counter
// rather than to the wallet (whose views this entry module does not load).
$("#view").classList.add("wide");
const home = $("#home-link");
if (home) {
  home.href = "#/counter";
  home.textContent = "电子证照 · 窗口受理";
}

/** A message for the next view this tab shows (after logout, or a case re-read). */
let flash = null;
function takeFlash() {
  const f = flash;
  flash = null;
  return f;
}

// ---------------------------------------------------------------------------------------------
// Login. Only clerks may use the counter; a reviewer is told so instead of getting a page that
// refuses every call.

function loginView(message) {
  return staffLoginView({
    level: "clerk",
    title: "窗口受理 · 工作人员登录",
    className: "counter-login",
    refused: (level) => level === "reviewer"
      ? "该账号是后台审核账号。窗口受理需要使用窗口工作人员账号登录，请更换账号"
      : "该账号不是窗口工作人员账号，请使用窗口工作人员账号登录",
    message,
  });
}

async function logout(button) {
  flash = await staffLogout(button, "如在公用电脑上操作，请在网络恢复后重新登录再退出一次。");
  currentCase.clear();
  go("/counter");
}

function deskBar() {
  return h("div", { class: "counter-desk no-print" });
}

function fillDesk(desk, me) {
  const logoutBtn = h("button", { type: "button", onclick: () => logout(logoutBtn) }, "退出登录");
  desk.replaceChildren(staffWho(me), logoutBtn);
}

/**
 * Runs a view that needs the clerk's session, with the desk bar (who is at the counter, and
 * 退出登录) filled from /api/staff/me. A lapsed session brings back the login.
 */
async function staffOnly(render) {
  if (!session.get("staff")?.access_token) return loginView(takeFlash());
  const desk = deskBar();
  try {
    const who = staffMe().catch((err) => {
      if (isCode(err, "unauthenticated") || isCode(err, "forbidden")) throw err;
      return null;
    });
    const [me, out] = await Promise.all([who, render(desk)]);
    if (me && me.role !== "clerk") throw new Problem(403, "forbidden");
    fillDesk(desk, me);
    return out;
  } catch (err) {
    if (isCode(err, "unauthenticated")) {
      forgetStaffMe();
      return loginView("登录已过期，请重新登录");
    }
    if (isCode(err, "forbidden")) {
      session.clear("staff");
      forgetStaffMe();
      return loginView("当前账号不能办理窗口业务，请使用窗口工作人员账号登录");
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Choosing the matter (办理事项) and opening the case.

const materialBadge = (m) => m.cert_type
  ? h("span", { class: "badge ok" }, "可用电子证照")
  : m.sharing
    ? h("span", { class: "badge ok" }, "共享平台获取")
    : h("span", { class: "badge" }, "纸质材料");

function materialsList(matter) {
  const replaced = matter.materials.filter((m) => m.cert_type).length;
  return [
    h("ul", { class: "list counter-materials" },
      matter.materials.map((m) => h("li", {}, h("div", {}, h("span", {}, m.name), " ", materialBadge(m))))),
    h("p", { class: "muted small" },
      `共 ${matter.materials.length} 项材料，其中 ${replaced} 项可用电子证照代替，申请人无需提交纸质件。`),
  ];
}

/** The case this tab was handling, if the server still has it unfinished or unrated. */
async function pendingCase() {
  const id = currentCase.get();
  if (!id) return null;
  try {
    const c = await api("GET", `/api/counter/cases/${encodeURIComponent(id)}`, { role: "staff" });
    if (c.case.status === "open" || !c.evaluated) return c;
    currentCase.drop(id);
    return null;
  } catch (err) {
    if (isCode(err, "case_not_found")) currentCase.drop(id);
    if (isCode(err, "unauthenticated")) throw err;
    return null;
  }
}

async function matterView(desk, query) {
  const [matters, open] = await Promise.all([
    api("GET", "/api/counter/matters", { role: "staff" }),
    pendingCase(),
  ]);
  const select = h("select", {},
    h("option", { value: "" }, "请选择办理事项"),
    matters.map((m) => h("option", { value: m.code }, m.name)));
  const wanted = query.get("matter");
  if (wanted && matters.some((m) => m.code === wanted)) select.value = wanted;
  const detail = h("div", { "aria-live": "polite" });
  const status = h("div", { "aria-live": "polite" });
  const render = () => {
    const m = matters.find((x) => x.code === select.value);
    detail.replaceChildren(...(m
      ? [h("h3", {}, "所需材料"),
        h("p", { class: "muted small" }, `事项编码 ${m.code}`),
        ...materialsList(m)]
      : []));
  };
  select.addEventListener("change", () => {
    status.replaceChildren();
    render();
  });
  render();
  focusSoon(select);
  const startBtn = h("button", {
    class: "primary block",
    type: "button",
    onclick: async () => {
      if (!select.value) {
        status.replaceChildren(notice("bad", "请先选择办理事项"));
        select.focus();
        return;
      }
      try {
        const opened = await busy(startBtn, "正在受理…", () =>
          api("POST", "/api/counter/cases", { role: "staff", body: { matter: select.value } }));
        currentCase.set(opened.case.id);
        go(`/counter/case/${encodeURIComponent(opened.case.id)}`);
      } catch (err) {
        if (isCode(err, "unauthenticated")) return show();
        status.replaceChildren(failure(err));
      }
    },
  }, "开始受理");
  const flashed = takeFlash();
  return h("div", {},
    desk,
    flashed ? notice(flashed.kind, flashed.text) : null,
    open
      ? h("section", {},
        notice("warn", open.case.status === "open"
          ? `办件 ${open.case.id}（${open.matter.name}）尚未办结。`
          : `办件 ${open.case.id}（${open.matter.name}）已办结，申请人尚未评价。`),
        h("a", { class: "button", href: `#/counter/case/${encodeURIComponent(open.case.id)}` }, "继续办理该办件"))
      : null,
    h("section", {},
      titled("选择办理事项"),
      matters.length
        ? [field("办理事项", select), detail, startBtn, status]
        : notice("warn", "本窗口暂无可受理的事项，请联系系统管理员配置事项")));
}

// ---------------------------------------------------------------------------------------------
// The case (办件): scan, check, confirm, print, finish, rate.

/** A fresh scan's answer in the shape the case read gives (GET /api/counter/cases/{id}). */
function fromScan(r) {
  return {
    ...r,
    cert_id: r.receipt?.terms?.cert_id ?? "",
    retrieved_at: r.receipt?.terms?.retrieved_at ?? now(),
    consent_by_name: consentName(r),
    attachment: null,
  };
}

// The owner's status comes only with a fresh scan (the case read does not carry it).
const STATUS = {
  valid: ["ok", "有效"],
  disputed: ["warn", "有异议"],
  revoked: ["bad", "已注销"],
  superseded: ["bad", "已更正"],
};

function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

/** What the case view shows of one retrieval: the record and this browser's seal check. */
const entryOf = async (rec) => ({ rec, check: await checkSeal(rec) });

const holderText = (e) => e.check.ok
  ? `${e.check.view.holderName}（${e.check.view.holderIdMasked}）`
  : `${e.rec.holder_name}${e.rec.holder_id_masked ? `（${e.rec.holder_id_masked}）` : ""}`;

const typeText = (e) => (e.check.ok ? e.check.view.typeName : e.rec.type_name);

const archiveHref = (a) => `#/counter/archive/${encodeURIComponent(a.verification_code)}`;

async function caseView(desk, { id }) {
  let data;
  try {
    data = await api("GET", `/api/counter/cases/${encodeURIComponent(id)}`, { role: "staff" });
  } catch (err) {
    if (!isCode(err, "case_not_found")) throw err;
    currentCase.drop(id);
    return h("div", {}, desk, h("section", {},
      titled("办件", "/counter"),
      notice("warn", `未找到办件 ${id}。办件只能由受理它的工作人员查看，请核对办件编号，或重新受理。`),
      h("a", { class: "button primary", href: "#/counter" }, "重新受理")));
  }
  const state = {
    case: data.case,
    matter: data.matter,
    evaluated: data.evaluated,
    // Oldest first, as the server lists them; every seal checked again in this browser.
    entries: await Promise.all(data.retrievals.map(entryOf)),
  };
  const finished = () => state.case.status !== "open";
  // Remembered while something is left to do, so 窗口受理 offers to continue it.
  if (!finished() || !state.evaluated) currentCase.set(state.case.id);
  else currentCase.drop(state.case.id);
  const { matter } = state;
  // 一证通办 (matters with sharing-platform materials): the ID card step, the platform's
  // records and the debit card, in their own panel; it ticks materials and holds back 办结.
  const fund = usesSharing(matter)
    ? await fundPanel({ caseId: state.case.id, finished, onChange: () => (renderLists(), renderClosing()) })
    : null;
  const caseUrl = (x) => `/api/counter/cases/${encodeURIComponent(state.case.id)}/${x}`;
  /** Another tab or PC changed the case: read it again and say why. */
  const reread = (text) => {
    flash = { kind: "warn", text };
    show();
  };

  // The scan field: what a keyboard-wedge scanner types, then Enter.
  const input = h("input", {
    type: "text",
    autocomplete: "off",
    autocapitalize: "off",
    spellcheck: "false",
    enterkeyhint: "go",
    class: "counter-scan-input",
  });
  const submit = h("button", { type: "submit", class: "primary" }, "调阅");
  const status = h("div", { class: "counter-status", "aria-live": "polite" });
  const result = h("div", { class: "counter-result" });
  const materials = h("section", { class: "counter-checklist" });
  const history = h("section", { class: "counter-history" });
  const closing = h("section", { class: "counter-closing" });
  let running = false;
  let lastText = "";
  // The retrieval shown in the result card: the latest, or one picked in 本件调阅记录. Once
  // the case is finished, what counts is what was attached, so the latest attached one leads.
  let shown = (finished() && state.entries.findLast((e) => e.rec.attachment)) || (state.entries.at(-1) ?? null);

  async function retrieve(raw) {
    const text = String(raw ?? "").trim();
    if (!text || running || finished()) return;
    running = true;
    lastText = text;
    input.value = "";
    // readOnly, not disabled: the field keeps the focus, so the next scan lands in it, while
    // what a scanner types meanwhile is not submitted twice.
    input.readOnly = true;
    input.setAttribute("aria-busy", "true");
    submit.disabled = true;
    submit.textContent = "正在调阅…";
    status.replaceChildren(notice("info", "正在调阅…"));
    try {
      const r = await api("POST", caseUrl("retrievals"), { role: "staff", body: { text } });
      const entry = await entryOf(fromScan(r));
      entry.status = r.status;
      state.entries.push(entry);
      shown = entry;
      status.replaceChildren();
      renderCard();
      renderLists();
      renderClosing();
    } catch (err) {
      if (isCode(err, "unauthenticated")) {
        status.replaceChildren(notice("bad", "登录已过期，请重新登录后再扫描"), h("a", { href: "#/counter" }, "重新登录"));
        return;
      }
      if (isCode(err, "case_closed")) {
        reread("该办件已在其他页面办结，不能再调阅。以下为办件的最新状态。");
        return;
      }
      const retry = retryable(err)
        ? h("button", { type: "button", onclick: () => retrieve(lastText) }, "重试")
        : null;
      status.replaceChildren(failure(err, retry ? h("div", { class: "actions" }, retry) : null));
    } finally {
      running = false;
      input.readOnly = false;
      input.removeAttribute("aria-busy");
      submit.disabled = finished();
      submit.textContent = "调阅";
      if (!finished() && input.isConnected) input.focus();
    }
  }

  const camera = cameraScanner((text) => retrieve(text), (msg) => status.replaceChildren(notice("bad", msg)));
  const form = h("form", {
    class: "counter-scan",
    novalidate: true,
    onsubmit: (e) => {
      e.preventDefault();
      retrieve(input.value);
    },
  },
  field("亮证码", input, "用扫码枪扫描申请人手机上的亮证码（扫码枪输入后自动回车），也可粘贴亮证码文字后按回车。"),
  h("div", { class: "actions" }, submit, camera?.button));
  const scanClosed = h("p", { class: "muted", hidden: true }, "办件已办结，不能再调阅。");

  const attachedNote = (e) => h("div", { class: "notice ok", role: "status" },
    h("p", {}, `已关联：${e.rec.material}已由电子证照代替，核验码 ${e.rec.attachment.verification_code}`),
    h("p", { class: "small" }, `申请人确认时间 ${fmtTime(e.rec.attachment.confirmed_at)}`),
    h("a", { class: "button", href: archiveHref(e.rec.attachment) }, "打印存档"));

  function cardActions(e) {
    if (e.rec.attachment) return attachedNote(e);
    if (!e.check.ok) return null;
    if (finished()) return notice("warn", "办件已办结，不能再关联");
    const confirmStatus = h("div", { "aria-live": "polite" });
    const confirm = h("button", {
      type: "button",
      class: "primary",
      onclick: async () => {
        confirmStatus.replaceChildren();
        try {
          const { attachment } = await busy(confirm, "正在关联…", () =>
            api("POST", `/api/counter/retrievals/${encodeURIComponent(e.rec.retrieval_id)}/confirm`, { role: "staff" }));
          e.rec.attachment = attachment;
          status.replaceChildren();
          renderCard();
          renderLists();
          renderClosing();
          input.focus();
        } catch (err) {
          if (isCode(err, "case_closed")) {
            reread("该办件已在其他页面办结，不能再关联。以下为办件的最新状态。");
            return;
          }
          confirmStatus.replaceChildren(failure(err));
        }
      },
    }, "申请人确认");
    return h("div", {}, h("div", { class: "actions" }, confirm), confirmStatus);
  }

  function renderCard() {
    const e = shown;
    if (!e) {
      result.replaceChildren();
      return;
    }
    const { rec, check } = e;
    const v = check.ok ? check.view : null;
    // The owner's word on the status counts only with a seal that verified.
    const st = v && e.status ? STATUS[e.status] ?? ["warn", e.status] : null;
    const latest = e === state.entries.at(-1);
    result.replaceChildren(h("article", {
      class: `card counter-card ${check.ok ? "" : "counter-card-bad"}`,
      "aria-label": "调阅结果",
    },
    h("div", { class: "counter-card-head" },
      h("h3", {}, typeText(e)),
      st ? h("span", { class: `badge ${st[0]}` }, st[1]) : null),
    h("p", { class: "muted small" },
      `${latest ? "" : "较早的调阅 · "}调阅时间 ${fmtTime(rec.retrieved_at)} · 调阅流水号 ${rec.correlation_id}`),
    check.ok
      ? h("p", { class: "counter-seal ok", role: "status" }, `✓ 印章核验通过（${sealer(check)}）`)
      : h("div", { class: "counter-seal bad", role: "alert" },
        h("p", {}, "✗ 印章核验未通过：本机核验电子印章失败"),
        h("p", {}, counterAdvice(check.err).text),
        h("p", { class: "small" }, "该证照不能作为办理依据，不能关联到办件。")),
    e.status === "disputed"
      ? notice("warn", "该证照有异议，正在由发证部门处理，请谨慎使用并按规定留存说明")
      : null,
    v && !v.inForce ? notice("warn", "该证照当前不在有效期内，请申请人提供其他有效材料") : null,
    kv([
      ["持证人", holderText(e)],
      ["发证机关", v ? v.issuerName : rec.issuer_name],
      ["证照编号", v ? v.id : rec.cert_id],
      v ? ["有效期", `${fmtDate(v.validFrom)} 至 ${v.validUntil === undefined ? "长期有效" : fmtDate(v.validUntil)}`] : null,
      ["替代材料", rec.material],
      ["调阅路径", h("span", {}, routeText(rec), h("br"),
        h("span", { class: "muted small" }, `授权核验：${consentName(rec)}`))],
      ["出示方式", rec.grant_id ? `经持证人授权代为出示（授权编号 ${rec.grant_id}）` : "持证人本人出示"],
    ]),
    v && v.fieldNames.length
      ? [h("h4", {}, "调阅的证照信息"),
        kv(v.fieldNames.map((n, i) => [n, v.fieldValues[i]])),
        v.withheldFields
          ? h("p", { class: "muted small" }, `另有 ${v.withheldFields} 项信息本事项不需要，未调阅。`)
          : null]
      : null,
    cardActions(e)));
  }

  function renderLists() {
    // The server's checklist (GET case: each material with the e-certificate that replaced it);
    // a confirmation made in this tab since then counts at once, by the server's own rule: the
    // first attached retrieval for a material an e-certificate may replace.
    const attachedFor = (m) => state.entries.find((e) => e.rec.material === m.name && e.rec.attachment);
    const replacedBy = (m) => {
      if (!m.cert_type) return null;
      if (m.replaced_by) return m.replaced_by;
      const a = attachedFor(m);
      return a ? { retrieval_id: a.rec.retrieval_id, cert_id: a.rec.cert_id, verification_code: a.rec.attachment.verification_code } : null;
    };
    const list = data.materials ?? matter.materials;
    const done = list.filter(replacedBy).length;
    materials.replaceChildren(
      h("h3", {}, "材料清单"),
      h("ul", { class: "list counter-materials" }, list.map((m) => {
        const f = fund?.tick(m);
        if (f) {
          return h("li", { class: f.done ? "done" : "" },
            h("span", { class: "counter-tick", "aria-hidden": "true" }, f.done ? "✓" : "○"),
            h("div", {}, h("span", { class: "counter-mat" }, m.name), " ",
              h("span", { class: `badge ${f.done ? "ok" : ""}` }, f.text)));
        }
        const r = replacedBy(m);
        return h("li", { class: r ? "done" : "" },
          h("span", { class: "counter-tick", "aria-hidden": "true" }, r ? "✓" : "○"),
          h("div", {}, h("span", { class: "counter-mat" }, m.name), " ", r
            ? [h("span", { class: "badge ok" }, "已由电子证照替代"), " ",
              h("a", { class: "small", href: archiveHref(r) }, `核验码 ${r.verification_code}`)]
            : m.cert_type
              ? h("span", { class: "badge" }, "可用电子证照，待调阅")
              : h("span", { class: "badge" }, "请收取纸质材料")));
      })),
      h("p", { class: "muted small" },
        `电子证照已关联 ${done} / ${list.filter((m) => m.cert_type).length} 项`),
      // replaceChildren, unlike h(), would print a null.
      done > 0
        ? h("p", { class: "notice ok counter-fewer", role: "status" },
          `本事项已由电子证照替代 ${done} 项材料，比以前少交 ${done} 个材料`)
        : "");
    history.replaceChildren(
      h("h3", {}, "本件调阅记录"),
      state.entries.length
        ? h("ul", { class: "list" }, state.entries.slice().reverse().map((e) => {
          const label = `${fmtTime(e.rec.retrieved_at)} ${typeText(e)}`;
          return h("li", { class: e === shown ? "counter-shown" : "" },
            h("div", {}, label),
            h("div", { class: "muted small" }, `${holderText(e)} · 替代 ${e.rec.material}`),
            h("div", { class: "counter-history-row" },
              e.rec.attachment
                ? h("span", { class: "badge ok" }, "已关联")
                : e.check.ok
                  ? h("span", { class: "badge warn" }, finished() ? "未关联" : "待申请人确认")
                  : h("span", { class: "badge bad" }, "印章核验未通过"),
              e === shown
                ? h("span", { class: "muted small" }, "正在显示")
                : h("button", {
                  type: "button",
                  class: "counter-link",
                  "aria-label": `查看调阅结果：${label}`,
                  onclick: () => {
                    shown = e;
                    renderCard();
                    renderLists();
                    result.scrollIntoView({ block: "nearest" });
                  },
                }, "查看")));
        }))
        : h("p", { class: "muted small" }, "尚未调阅电子证照。"));
  }

  function renderClosing() {
    if (!finished()) {
      const finishStatus = h("div", { "aria-live": "polite" });
      const pending = state.entries.some((e) => e.check.ok && !e.rec.attachment);
      const left = fund?.missing() ?? [];
      const finish = h("button", {
        type: "button",
        class: "primary block",
        disabled: left.length > 0,
        onclick: async () => {
          finishStatus.replaceChildren();
          try {
            await busy(finish, "正在办结…", () => api("POST", caseUrl("finish"), { role: "staff" }));
            state.case = { ...state.case, status: "finished", finished_at: now() };
            shown = state.entries.findLast((x) => x.rec.attachment) ?? shown;
            closeScan();
            fund?.render();
            renderCard();
            renderLists();
            renderClosing();
            closing.querySelector("input")?.focus();
          } catch (err) {
            if (isCode(err, "case_closed")) {
              reread("该办件已在其他页面办结。以下为办件的最新状态。");
              return;
            }
            if (fund && isCode(err, "fund_case_incomplete")) {
              // Another tab or PC changed the steps: show what the server says is left.
              await fund.reload();
              renderLists();
              renderClosing();
              return;
            }
            finishStatus.replaceChildren(failure(err));
          }
        },
      }, "办结");
      closing.replaceChildren(h("h3", {}, "办结"));
      if (pending) closing.append(notice("warn", "有调阅结果尚未经申请人确认，办结后将不能再关联。"));
      if (left.length) closing.append(notice("warn", `办结前还需：${fund.missingText(left)}`));
      closing.append(finish, finishStatus);
      return;
    }
    closing.replaceChildren(
      notice("ok", `办件已办结${state.case.finished_at ? `（${fmtTime(state.case.finished_at)}）` : ""}`),
      state.evaluated ? evaluatedNote() : evaluationForm());
  }

  const evaluatedNote = () => h("div", {},
    notice("ok", "评价已提交，感谢申请人的评价"),
    h("a", { class: "button primary block", href: "#/counter" }, "受理下一件"));

  function evaluationForm() {
    const labels = ["非常不满意", "不满意", "基本满意", "满意", "非常满意"];
    const name = `score-${state.case.id}`;
    const radios = labels.map((l, i) => {
      const r = h("input", { type: "radio", name, value: String(i + 1), id: `${name}-${i + 1}` });
      return h("label", { class: "choice counter-score", for: r.id }, r, `${i + 1} 分 · ${l}`);
    }).reverse();
    const comment = h("textarea", { rows: 3, maxlength: 500 });
    const evalStatus = h("div", { "aria-live": "polite" });
    const send = h("button", { type: "submit", class: "primary block" }, "提交评价");
    const rated = () => {
      state.evaluated = true;
      currentCase.drop(state.case.id);
      renderClosing();
    };
    return h("form", {
      class: "counter-evaluation",
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        const picked = closing.querySelector(`input[name="${name}"]:checked`);
        if (!picked) {
          evalStatus.replaceChildren(notice("bad", "请申请人选择一个评价等级"));
          return;
        }
        try {
          await busy(send, "正在提交…", () => api("POST", caseUrl("evaluation"), {
            role: "staff",
            body: { score: Number(picked.value), comment: comment.value.trim() },
          }));
          rated();
        } catch (err) {
          // Rated meanwhile from another tab: the rating stands, nothing to redo.
          if (isCode(err, "evaluation_exists")) return rated();
          evalStatus.replaceChildren(failure(err));
        }
      },
    },
    h("fieldset", { class: "counter-fieldset" },
      h("legend", {}, "评价：请申请人为本次办事体验打分"),
      radios),
    field("评价内容（选填，不超过500字）", comment),
    send,
    evalStatus);
  }

  function closeScan() {
    form.hidden = true;
    scanClosed.hidden = false;
    camera?.stop();
  }

  // A scanner types into whatever has the focus: when the clerk last clicked a button, the
  // typed characters go to the scan field instead of being lost.
  const redirect = (e) => {
    // A space keeps its meaning on a focused button; a code never starts with one.
    if (finished() || e.ctrlKey || e.metaKey || e.altKey || e.key.length !== 1 || e.key === " ") return;
    const a = document.activeElement;
    if (a && (a.matches("input, textarea, select, [contenteditable]") || a.closest("dialog"))) return;
    if (!input.isConnected || input.readOnly) return;
    e.preventDefault();
    input.focus();
    input.value += e.key;
  };
  document.addEventListener("keydown", redirect);

  renderCard();
  renderLists();
  renderClosing();
  if (finished()) closeScan();
  const flashed = takeFlash();
  if (flashed) status.replaceChildren(notice(flashed.kind, flashed.text));
  const node = h("div", {},
    desk,
    titled(`受理：${matter.name}`, "/counter"),
    h("p", { class: "muted small counter-meta" },
      `办件编号 ${state.case.id} · ${state.case.counter || "窗口"} · 受理时间 ${fmtTime(state.case.opened_at)}`),
    h("div", { class: "counter-grid" },
      h("div", { class: "counter-main" },
        fund?.node,
        h("section", {}, h("h3", {}, "扫描亮证码"), form, scanClosed, camera?.panel, status),
        result,
        closing),
      h("div", { class: "counter-side" }, materials, history)));
  if (!finished()) focusSoon(input);
  return {
    node,
    leave: () => {
      document.removeEventListener("keydown", redirect);
      camera?.stop();
    },
  };
}

route("/counter", (p, q) => staffOnly((desk) => matterView(desk, q)), { title: "窗口受理" });
route("/counter/case/:id", (p) => staffOnly((desk) => caseView(desk, p)), { title: "办件" });
route("/counter/archive/:code", archiveView, { title: "存档" });
start();
