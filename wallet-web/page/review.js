// 后台审核: the fund centre's reviewers at the node that handles the withdrawal (漯河). The
// queue of online applications the wallet province delivered, one application with the form,
// the sharing platform's matched records, the two certificates (their seals checked again here
// in the browser with the WebAssembly core, as the counter checks them) and the three photos,
// and the decision, taken once, with a reason for a rejection. Reviewers only: a clerk is told
// to use a reviewer account. Photos come with the bearer token, so they are fetched and shown
// as blob URLs, revoked when the view is left.
// Entry module for `#/review…` (see index.html).

import { $, api, field, fmtDate, fmtTime, go, h, notice, Problem, route, session, show, start, titled } from "/app/app.js";
import { counterAdvice } from "/app/counter-advice.js";
import { checkSeal, forgetStaffMe, routeText, sealer, staffMe } from "/app/counter-state.js";
import { busy, failure, focusSoon, isCode, staffLoginView, staffLogout, staffWho } from "/app/staff-session.js";

// The back office is used on a desktop: the wide layout, and the header leads to the queue.
$("#view").classList.add("wide");
const home = $("#home-link");
if (home) {
  home.href = "#/review";
  home.textContent = "电子证照 · 后台审核";
}

function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

const CLERK_REFUSED = "后台审核需要使用审核人员账号，当前账号是窗口工作人员账号，请更换审核人员账号登录";

/** A message for the next view (after logout). */
let flash = null;

// ---------------------------------------------------------------------------------------------
// Login and the reviewer's bar.

function loginView(message) {
  return staffLoginView({
    level: "reviewer",
    title: "后台审核 · 审核人员登录",
    intro: "住房公积金提取网上申请的审核。请使用审核人员账号登录。",
    className: "review-login",
    refused: (level) => level === "clerk" ? CLERK_REFUSED : "后台审核需要使用审核人员账号，请更换账号登录",
    message,
  });
}

async function logout(button) {
  flash = await staffLogout(button);
  go("/review");
}

function deskBar(me) {
  const out = h("button", { type: "button", onclick: () => logout(out) }, "退出登录");
  return h("div", { class: "counter-desk no-print" }, staffWho(me), out);
}

/**
 * Runs a view that needs a reviewer's session, with the bar (who is reviewing, 退出登录). No
 * session, a lapsed one or a clerk's brings the login, saying why.
 */
async function reviewerOnly(render) {
  if (!session.get("staff")?.access_token) {
    const f = flash;
    flash = null;
    return loginView(f);
  }
  try {
    const me = await staffMe();
    if (me.role !== "reviewer") return loginView({ kind: "bad", text: CLERK_REFUSED });
    return await render(deskBar(me));
  } catch (err) {
    if (isCode(err, "unauthenticated")) {
      forgetStaffMe();
      return loginView("登录已过期，请重新登录");
    }
    if (isCode(err, "forbidden")) return loginView({ kind: "bad", text: CLERK_REFUSED });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// The queue.

const TABS = [
  ["under_review", "待审核"],
  ["approved", "已通过"],
  ["rejected", "未通过"],
];
const EMPTY = {
  under_review: "暂无待审核的申请。",
  approved: "暂无已通过的申请。",
  rejected: "暂无未通过的申请。",
};
const BADGE = { under_review: "warn", approved: "ok", rejected: "bad" };

async function queueView(desk, query) {
  const status = TABS.some(([k]) => k === query.get("status")) ? query.get("status") : "under_review";
  const list = await api("GET", `/api/review/fund/applications?status=${status}`, { role: "staff" });
  const tabs = h("div", { class: "tabs review-tabs", role: "group", "aria-label": "申请状态" },
    TABS.map(([k, label]) => h("button", {
      type: "button",
      class: "tab",
      "aria-pressed": String(k === status),
      onclick: () => go(k === "under_review" ? "/review" : `/review?status=${k}`),
    }, label)));
  const refresh = h("button", { type: "button", onclick: () => busy(refresh, "正在刷新…", show) }, "刷新");
  return h("div", {},
    desk,
    h("section", {},
      titled("住房公积金提取 · 网上申请审核", null, refresh),
      tabs,
      h("p", { class: "muted small" },
        status === "under_review" ? `待审核 ${list.length} 件，按提交时间先后排列。` : `共 ${list.length} 件。`),
      list.length
        ? h("ul", { class: "list review-queue" }, list.map((a) => h("li", {},
          h("a", { class: "review-item", href: `#/review/${encodeURIComponent(a.id)}` },
            h("span", { class: "review-item-head" },
              h("strong", {}, `${a.applicant_name}（${a.applicant_id_masked}）`),
              h("span", { class: `badge ${BADGE[a.status] ?? ""}` }, a.status_name),
              a.evaluated ? h("span", { class: "badge" }, "申请人已评价") : null),
            h("span", { class: "review-item-line" }, a.matter_name),
            h("span", { class: "review-item-line" },
              `提交时间 ${fmtTime(a.submitted_at)}`,
              a.received_at ? ` · 送达时间 ${fmtTime(a.received_at)}` : "",
              a.decided_at ? ` · 审核时间 ${fmtTime(a.decided_at)}` : ""),
            h("span", { class: "review-item-line mono" }, `申请编号 ${a.id}`)))))
        : h("p", { class: "muted" }, EMPTY[status])));
}

// ---------------------------------------------------------------------------------------------
// One application.

const PHOTOS = [
  ["debit_card", "借记卡照片"],
  ["invoice", "购房发票照片"],
  ["deed_tax", "契税完税凭证照片"],
];

/** A photo through the reviewer's own route, as a blob URL the caller revokes. */
async function photoUrl(appId, kind) {
  const token = session.get("staff")?.access_token;
  let res;
  try {
    res = await fetch(`/api/review/fund/applications/${encodeURIComponent(appId)}/uploads/${kind}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  } catch {
    throw new Problem(0, "network_unreachable", "网络连接失败");
  }
  if (!res.ok) {
    const data = await res.json().catch(() => null);
    throw new Problem(res.status, data?.code ?? (res.status === 401 ? "unauthenticated" : `http_${res.status}`), data?.title);
  }
  return URL.createObjectURL(await res.blob());
}

function photoFigure(app, kind, label, blobs) {
  const meta = app.uploads.find((u) => u.kind === kind);
  const fig = h("figure", { class: "review-photo" });
  const caption = h("figcaption", {}, label,
    meta ? h("span", { class: "muted small" }, ` · ${meta.width}×${meta.height} · ${Math.max(1, Math.round(meta.size / 1024))} KB`) : null);
  if (!meta) {
    fig.append(h("div", { class: "review-photo-box" }, notice("warn", "申请人未上传该照片")), caption);
    return fig;
  }
  const box = h("div", { class: "review-photo-box", "aria-busy": "true" }, h("p", { class: "muted small" }, "正在加载照片…"));
  fig.append(box, caption);
  photoUrl(app.id, kind).then((url) => {
    // A photo that arrives after the view was left is let go at once.
    if (blobs.left) {
      URL.revokeObjectURL(url);
      return;
    }
    blobs.urls.push(url);
    const img = h("img", { src: url, alt: label });
    box.replaceChildren(h("a", { href: url, target: "_blank", rel: "noopener", title: `在新窗口查看${label}原图` }, img));
    box.removeAttribute("aria-busy");
  }).catch((err) => {
    box.removeAttribute("aria-busy");
    box.replaceChildren(isCode(err, "unauthenticated")
      ? notice("bad", "登录已过期，请重新登录后查看照片")
      : failure(err));
  });
  return fig;
}

/** The sharing platform's records beside what the applicant typed. */
function sharingSection(app) {
  const f = app.form;
  const s = app.sharing;
  const same = (a, b) => String(a).trim().toUpperCase() === String(b).trim().toUpperCase();
  const mark = (ok) => ok ? h("span", { class: "badge ok" }, "一致") : h("span", { class: "badge bad" }, "不一致");
  const invoiceOk = same(f.invoice_number, s.invoice.invoice_number) && same(f.invoice_amount, s.invoice.amount);
  const deedOk = same(f.deed_tax_number, s.deed_tax.certificate_number) && same(f.deed_tax_amount, s.deed_tax.amount);
  return h("section", { class: "review-sharing" },
    h("h3", {}, "共享平台比对"),
    invoiceOk && deedOk
      ? notice("ok", `✓ 申请填写的发票和完税凭证与省级共享平台记录一致（比对时间 ${fmtTime(s.checked_at)}）`)
      : notice("bad", "申请填写的信息与共享平台记录不一致，请核对后审核"),
    h("div", { class: "review-cols" },
      h("div", { class: "card-inner" },
        h("h4", {}, "购房发票 ", mark(invoiceOk)),
        kv([
          ["发票号码", h("span", { class: "mono" }, s.invoice.invoice_number)],
          ["购买方", s.invoice.buyer_name],
          ["销售方", s.invoice.seller_name],
          ["房屋坐落", s.invoice.property_address],
          ["金额（元）", s.invoice.amount],
          ["开票日期", fmtDate(s.invoice.issued_at)],
        ])),
      h("div", { class: "card-inner" },
        h("h4", {}, "契税完税凭证 ", mark(deedOk)),
        kv([
          ["完税凭证号码", h("span", { class: "mono" }, s.deed_tax.certificate_number)],
          ["纳税人", s.deed_tax.payer_name],
          ["房屋坐落", s.deed_tax.property_address],
          ["契税金额（元）", s.deed_tax.amount],
          ["缴税日期", fmtDate(s.deed_tax.paid_at)],
          ["征收机关", s.deed_tax.tax_authority],
        ]))));
}

const CERT_STATUS = {
  valid: ["ok", "有效"],
  disputed: ["warn", "有异议"],
  revoked: ["bad", "已注销"],
  superseded: ["bad", "已更正"],
};

/** One certificate, its seal checked here; what the owner disclosed only with a valid seal. */
function certificateCard(cert, check) {
  const v = check.ok ? check.view : null;
  const st = v ? CERT_STATUS[cert.status] ?? ["warn", String(cert.status)] : null;
  return h("article", { class: `card-inner counter-card ${check.ok ? "" : "counter-card-bad"}` },
    h("div", { class: "counter-card-head" },
      h("h4", {}, v ? v.typeName : cert.type_name),
      st ? h("span", { class: `badge ${st[0]}` }, st[1]) : null),
    check.ok
      ? h("p", { class: "counter-seal ok" }, `✓ 印章核验通过（${sealer(check)}）`)
      : h("div", { class: "counter-seal bad", role: "alert" },
        h("p", {}, "✗ 印章核验未通过：本机核验电子印章失败"),
        h("p", {}, counterAdvice(check.err).text),
        h("p", { class: "small" }, "该证照不能作为审核依据。")),
    v && !v.inForce ? notice("warn", "该证照当前不在有效期内") : null,
    cert.status === "disputed" ? notice("warn", "该证照有异议，正在由发证部门处理，请谨慎审核") : null,
    kv([
      ["持证人", v ? `${v.holderName}（${v.holderIdMasked}）` : `${cert.holder_name}（${cert.holder_id_masked}）`],
      ["发证机关", v ? v.issuerName : cert.issuer_name],
      ["证照编号", h("span", { class: "mono" }, v ? v.id : cert.cert_id)],
      v ? ["有效期", `${fmtDate(v.validFrom)} 至 ${v.validUntil === undefined ? "长期有效" : fmtDate(v.validUntil)}`] : null,
      ["替代材料", cert.material],
      ["调阅路径", routeText(cert)],
      ["调阅时间", fmtTime(cert.retrieved_at)],
    ]),
    v && v.fieldNames.length
      ? [h("h5", {}, "调阅的证照信息"),
        kv(v.fieldNames.map((n, i) => [n, v.fieldValues[i]])),
        v.withheldFields ? h("p", { class: "muted small" }, `另有 ${v.withheldFields} 项信息本事项不需要，未调阅。`) : null]
      : null);
}

function decisionSection(app, onDecided) {
  const box = h("section", { class: "review-decision" }, h("h3", {}, "审核结论"));
  if (app.status !== "under_review") {
    box.append(
      notice(app.status === "approved" ? "ok" : app.status === "rejected" ? "bad" : "info", app.status_name),
      kv([
        app.decided_at ? ["审核时间", fmtTime(app.decided_at)] : null,
        app.reason ? [app.status === "rejected" ? "不通过原因" : "审核意见", app.reason] : null,
      ]),
      app.evaluation
        ? h("div", { class: "card-inner" },
          h("h4", {}, "申请人评价"),
          kv([
            ["评分", `${app.evaluation.score} 分`],
            app.evaluation.comment ? ["评价内容", app.evaluation.comment] : null,
            ["评价时间", fmtTime(app.evaluation.at)],
          ]))
        : h("p", { class: "muted small" }, "申请人尚未评价。"));
    return box;
  }
  const status = h("div", { "aria-live": "polite" });
  const step = h("div", {});
  const approve = h("button", { type: "button", class: "primary", onclick: () => ask("approve") }, "通过");
  const reject = h("button", { type: "button", class: "danger", onclick: () => ask("reject") }, "不通过");

  /** The confirmation step: what will happen, the reason for a rejection, 确认提交. */
  function ask(decision) {
    status.replaceChildren();
    approve.setAttribute("aria-pressed", String(decision === "approve"));
    reject.setAttribute("aria-pressed", String(decision === "reject"));
    const reason = h("textarea", { rows: 4, maxlength: 500 });
    const count = h("span", { class: "muted small", "aria-live": "off" }, "0 / 500");
    reason.addEventListener("input", () => {
      count.textContent = `${reason.value.length} / 500`;
      reason.removeAttribute("aria-invalid");
    });
    const submit = h("button", { type: "submit", class: "primary" }, "确认提交");
    const cancel = h("button", {
      type: "button",
      onclick: () => {
        step.replaceChildren();
        status.replaceChildren();
        approve.removeAttribute("aria-pressed");
        reject.removeAttribute("aria-pressed");
        approve.focus();
      },
    }, "取消");
    const form = h("form", {
      class: `confirm review-confirm ${decision === "approve" ? "review-confirm-ok" : ""}`,
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        status.replaceChildren();
        const text = reason.value.trim();
        if (decision === "reject" && !text) {
          status.replaceChildren(notice("bad", "请填写不通过原因，原因将告知申请人"));
          reason.setAttribute("aria-invalid", "true");
          reason.focus();
          return;
        }
        try {
          const decided = await busy(submit, "正在提交…", () =>
            api("POST", `/api/review/fund/applications/${encodeURIComponent(app.id)}/decision`, {
              role: "staff",
              body: { decision, reason: text },
            }));
          onDecided(decided, decision === "approve"
            ? { kind: "ok", text: "已通过：审核结果已发送给申请人" }
            : { kind: "ok", text: "已退回：不通过原因已发送给申请人" });
        } catch (err) {
          if (isCode(err, "decision_exists")) {
            onDecided(null, { kind: "warn", text: "该申请已由其他审核人员审核，以下为最新结论。" });
            return;
          }
          if (isCode(err, "reason_required")) reason.setAttribute("aria-invalid", "true");
          status.replaceChildren(failure(err));
        }
      },
    },
    decision === "approve"
      ? [h("p", {}, "确认通过该提取申请？结果将发送给申请人。"),
        field("审核意见（选填，不超过500字）", reason)]
      : [h("p", {}, "确认不通过该提取申请？原因将发送给申请人，请写明需要补正的内容。"),
        field("不通过原因", reason)],
    count,
    h("div", { class: "actions" }, submit, cancel));
    step.replaceChildren(form);
    focusSoon(decision === "approve" ? submit : reason);
  }

  box.append(
    h("p", { class: "muted small" }, "核对申请信息、共享平台比对结果、电子证照和照片后作出审核结论。"),
    h("div", { class: "actions review-buttons" }, approve, reject),
    step,
    status);
  return box;
}

async function applicationView(desk, { id }) {
  let app;
  try {
    app = await api("GET", `/api/review/fund/applications/${encodeURIComponent(id)}`, { role: "staff" });
  } catch (err) {
    if (!isCode(err, "application_not_found")) throw err;
    return h("div", {}, desk, h("section", {},
      titled("申请详情", "/review"),
      failure(err),
      h("a", { class: "button", href: "#/review" }, "返回列表")));
  }
  const blobs = { urls: [], left: false };
  const checks = await Promise.all(app.certificates.map(checkSeal));
  const outcome = h("div", { "aria-live": "polite" });
  const back = app.status === "under_review" ? "/review" : `/review?status=${app.status}`;
  const page = h("div", { class: "review-page" });

  /** After a decision: redraw with the application as the server now has it, and say so. */
  async function decided(next, message) {
    try {
      app = next ?? await api("GET", `/api/review/fund/applications/${encodeURIComponent(app.id)}`, { role: "staff" });
    } catch {
      // The decision stands; the page shows it from the next read.
    }
    draw();
    outcome.replaceChildren(notice(message.kind, message.text));
    outcome.scrollIntoView({ block: "nearest" });
  }

  function draw() {
    const f = app.form;
    page.replaceChildren(
      desk,
      titled(`审核：${app.applicant_name}的提取申请`, back),
      outcome,
      h("section", {},
        h("div", { class: "counter-card-head" },
          h("h3", {}, app.matter_name),
          h("span", { class: `badge ${BADGE[app.status] ?? ""}` }, app.status_name)),
        kv([
          ["申请编号", h("span", { class: "mono" }, app.id)],
          ["申请人", `${app.applicant_name}（${app.applicant_id_masked}）`],
          ["提交时间", fmtTime(app.submitted_at)],
          app.received_at ? ["送达时间", `${fmtTime(app.received_at)}（${app.handled_by_name}）`] : null,
          ["同意查询时间", fmtTime(app.consented_at)],
        ]),
        h("h3", {}, "申请信息"),
        kv([
          ["开户银行", f.bank],
          ["I类借记卡", h("span", { class: "mono" }, f.debit_card_masked)],
          ["购房发票号码", h("span", { class: "mono" }, f.invoice_number)],
          ["购房发票金额（元）", f.invoice_amount],
          ["契税完税凭证号码", h("span", { class: "mono" }, f.deed_tax_number)],
          ["契税金额（元）", f.deed_tax_amount],
          ["配偶共同办理", f.spouse_participates ? "是" : "否"],
        ])),
      sharingSection(app),
      h("section", {},
        h("h3", {}, "电子证照"),
        h("p", { class: "muted small" }, "凭申请人的查询授权按身份证号调阅，电子印章已在本机重新核验。"),
        app.certificates.length
          ? h("div", { class: "review-cols" }, app.certificates.map((c, i) => certificateCard(c, checks[i])))
          : notice("warn", "本申请未调阅电子证照")),
      photos,
      decisionSection(app, decided));
  }

  // The photos are fetched once; the figures survive a redraw after the decision.
  const photos = h("section", {},
    h("h3", {}, "申请材料照片"),
    h("div", { class: "review-photos" }, PHOTOS.map(([kind, label]) => photoFigure(app, kind, label, blobs))));
  draw();
  return {
    node: page,
    leave: () => {
      blobs.left = true;
      for (const u of blobs.urls.splice(0)) URL.revokeObjectURL(u);
    },
  };
}

route("/review", (p, q) => reviewerOnly((desk) => queueView(desk, q)), { title: "后台审核" });
route("/review/:id", (p) => reviewerOnly((desk) => applicationView(desk, p)), { title: "申请详情" });
start();
