// 一证通办 at the counter, for a matter whose materials come from the province's sharing
// platform (the housing-fund withdrawal): the applicant shows only the ID card. The clerk
// records the resident ID (checked here first with the WebAssembly core, so a typo is named
// before anything is sent) and the applicant's consent; only then does the node accept scans
// for the case. The node asks the sharing platform for the applicant's invoices and deed-tax
// records, the applicant confirms each on screen, and the clerk records the I类借记卡. 办结
// waits until the server says nothing is missing. The case's state is the server's (GET
// /api/counter/cases/{id}/fund); this module only shows it and sends the steps.

import { api, field, fmtDate, fmtTime, h, notice, Problem, wasm } from "/app/app.js";
import { busy, failure } from "/app/staff-session.js";

/** Whether a matter runs this flow: materials that name the sharing platform. */
export const usesSharing = (matter) => matter.materials.some((m) => m.sharing);

/** The server's `missing` entries, as the clerk reads them (before any, the ID card step). */
const STEP = {
  applicant: "录入申请人身份证号并取得同意",
  sharing_query: "查询共享数据",
  invoice_confirmation: "申请人确认购房发票",
  deed_tax_confirmation: "申请人确认契税完税凭证",
  debit_card: "登记I类借记卡",
};
const stepText = (code) => STEP[code] ?? code;

/** `fund_case_incomplete` names what is left in its detail: `sharing_query, debit_card`. */
export const missingFromDetail = (detail) =>
  String(detail ?? "").split(",").map((s) => s.trim()).filter(Boolean);

/** A bank card number passes the Luhn check (ISO/IEC 7812), as the server checks it too. */
function luhn(digits) {
  let sum = 0;
  [...digits].reverse().forEach((c, i) => {
    let d = Number(c);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  });
  return sum % 10 === 0;
}

function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

let seq = 0;

/**
 * The 一证通办 panel of a case. `finished()` tells whether the case is closed; `onChange()` is
 * called after every step so the case view updates its checklist and 办结. Resolves once the
 * case's state has been read. Returns:
 * - `node`: the panel;
 * - `tick(material)`: `{ done, text }` for the materials this flow supplies, else null;
 * - `missing()`: what the server still needs before 办结 (empty when ready);
 * - `reload()`: reads the state again (after a refused 办结);
 * - `render()`: redraws (after 办结).
 */
export async function fundPanel({ caseId, finished, onChange }) {
  const base = `/api/counter/cases/${encodeURIComponent(caseId)}`;
  const node = h("section", { class: "counter-fund", "aria-labelledby": `fund-h-${++seq}` });
  const heading = h("h3", { id: `fund-h-${seq}` }, "一证通办");
  /** The server's state, or null before the ID card step. */
  let state = null;
  let loadError = null;

  async function load() {
    try {
      const got = await api("GET", `${base}/fund`, { role: "staff" });
      // Before the ID card step the server answers a state without an applicant: step 1.
      state = got?.applicant_id_masked ? got : null;
      loadError = null;
    } catch (err) {
      // An older node answered 409 before the ID card step: that is step 1 as well.
      if (err instanceof Problem && err.code === "applicant_required") {
        state = null;
        loadError = null;
      } else {
        if (err instanceof Problem && err.code === "unauthenticated") throw err;
        loadError = err;
      }
    }
  }

  /** Takes a new state from a step's answer and redraws everything that depends on it. */
  function take(next) {
    state = next;
    render();
    onChange();
  }

  // -------------------------------------------------------------------------------------------
  // Step 1: the ID card and the consent.

  function applicantStep() {
    if (state) {
      return h("div", { class: "fund-step done" },
        h("h4", {}, "① 申请人身份证"),
        kv([
          state.person_name ? ["申请人", state.person_name] : null,
          ["身份证号", state.applicant_id_masked],
          ["同意查询时间", fmtTime(state.consented_at)],
        ]));
    }
    if (finished()) {
      return h("div", { class: "fund-step" }, h("h4", {}, "① 申请人身份证"),
        notice("warn", "办件已办结，未录入申请人。"));
    }
    const id = h("input", {
      autocomplete: "off",
      autocapitalize: "characters",
      spellcheck: "false",
      maxlength: 18,
      class: "fund-id-input",
    });
    const consent = h("input", { type: "checkbox", id: `fund-consent-${seq}` });
    const status = h("div", { "aria-live": "polite" });
    const submit = h("button", { type: "submit", class: "primary" }, "确认申请人");
    const form = h("form", {
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        status.replaceChildren();
        id.removeAttribute("aria-invalid");
        if (!id.value.trim()) {
          status.replaceChildren(notice("bad", "请输入申请人身份证号（可读取身份证芯片）"));
          id.setAttribute("aria-invalid", "true");
          id.focus();
          return;
        }
        let residentId;
        try {
          // The core's own check: length, region, birth date, check digit, named in Chinese.
          const core = await wasm();
          residentId = core.checkResidentId(id.value);
        } catch (err) {
          status.replaceChildren(failure(err));
          id.setAttribute("aria-invalid", "true");
          id.focus();
          return;
        }
        if (!consent.checked) {
          status.replaceChildren(notice("bad", "请先向申请人说明将查询的信息，并在取得同意后勾选"));
          consent.focus();
          return;
        }
        try {
          const next = await busy(submit, "正在确认…", () =>
            api("POST", `${base}/applicant`, { role: "staff", body: { resident_id: residentId, consent: true } }));
          take(next);
          node.querySelector(".fund-query")?.focus();
        } catch (err) {
          if (err instanceof Problem && err.code === "applicant_exists") {
            // Recorded meanwhile from another tab: show what the server holds.
            await load();
            render();
            onChange();
            return;
          }
          status.replaceChildren(failure(err));
        }
      },
    },
    field("申请人身份证号", id, "核对申请人出示的身份证，录入18位身份证号（末位X可大写或小写）。"),
    h("label", { class: "choice fund-consent", for: consent.id }, consent, "申请人已同意查询共享数据"),
    h("p", { class: "muted small" },
      "即查询申请人本人的购房发票、契税完税记录，以及不动产权证书、结婚证等电子证照信息，仅用于本次提取。"),
    h("div", { class: "actions" }, submit),
    status);
    return h("div", { class: "fund-step" },
      h("h4", {}, "① 申请人身份证"),
      form,
      h("p", { class: "muted small" }, "录入申请人后，才能扫描亮证码和查询共享数据。"));
  }

  // -------------------------------------------------------------------------------------------
  // Step 2: the sharing platform's records, each confirmed by the applicant.

  function recordCard(kind, rec) {
    const invoice = kind === "invoice";
    const number = invoice ? rec.invoice_number : rec.certificate_number;
    const confirmed = invoice ? state.invoice_confirmed : state.deed_tax_confirmed;
    const isConfirmed = confirmed === number;
    const numberId = `fund-rec-${++seq}`;
    const status = h("div", { "aria-live": "polite" });
    const label = invoice ? "确认发票" : "确认完税凭证";
    let action = null;
    if (isConfirmed) {
      const at = invoice ? state.invoice_confirmed_at : state.deed_tax_confirmed_at;
      action = h("p", { class: "badge ok" }, `✓ 申请人已确认${at ? `（${fmtTime(at)}）` : ""}`);
    } else if (!finished()) {
      const button = h("button", {
        type: "button",
        class: "primary",
        "aria-describedby": numberId,
        onclick: async () => {
          status.replaceChildren();
          try {
            take(await busy(button, "正在确认…", () =>
              api("POST", `${base}/sharing/confirm`, { role: "staff", body: { kind, number } })));
          } catch (err) {
            status.replaceChildren(failure(err));
          }
        },
      }, label);
      action = h("div", { class: "actions" }, button);
    }
    return h("li", { class: `fund-record ${isConfirmed ? "done" : ""}` },
      invoice
        ? kv([
          ["发票号码", h("span", { id: numberId, class: "mono" }, number)],
          ["购买方", rec.buyer_name],
          ["销售方", rec.seller_name],
          ["房屋坐落", rec.property_address],
          ["金额（元）", rec.amount],
          ["开票日期", fmtDate(rec.issued_at)],
        ])
        : kv([
          ["完税凭证号码", h("span", { id: numberId, class: "mono" }, number)],
          ["纳税人", rec.payer_name],
          ["房屋坐落", rec.property_address],
          ["契税金额（元）", rec.amount],
          ["缴税日期", fmtDate(rec.paid_at)],
          ["征收机关", rec.tax_authority],
        ]),
      action,
      status);
  }

  function sharingStep() {
    const status = h("div", { "aria-live": "polite" });
    const query = h("button", {
      type: "button",
      class: "primary fund-query",
      onclick: async () => {
        status.replaceChildren(notice("info", "正在查询省级共享平台…"));
        try {
          take(await busy(query, "正在查询…", () => api("POST", `${base}/sharing`, { role: "staff" })));
        } catch (err) {
          status.replaceChildren(failure(err));
        }
      },
    }, state?.sharing ? "重新查询" : "查询共享数据");
    const out = [h("h4", {}, "② 共享平台数据（购房发票、契税完税凭证）")];
    if (!state) {
      out.push(h("p", { class: "muted small" }, "录入申请人后查询。"));
      return h("div", { class: "fund-step" }, out);
    }
    const s = state.sharing;
    if (!s) {
      if (finished()) out.push(notice("warn", "办件已办结，未查询共享数据。"));
      else {
        out.push(
          h("p", { class: "muted small" }, "向省级共享平台查询申请人本人的购房发票和契税完税记录，申请人无需提交纸质件。"),
          h("div", { class: "actions" }, query),
          status);
      }
      return h("div", { class: "fund-step" }, out);
    }
    out.push(h("p", { class: "muted small" },
      `查询时间 ${fmtTime(state.queried_at)}${s.person_name ? ` · 人口库姓名 ${s.person_name}` : ""}。请申请人核对后逐项确认。`));
    out.push(h("h5", {}, "购房发票"));
    out.push(s.invoices.length
      ? h("ul", { class: "list fund-records" }, s.invoices.map((r) => recordCard("invoice", r)))
      : notice("warn", "共享平台未查到申请人名下的购房发票记录。请核对身份证号；如确已购房，请申请人向税务部门核实后再办理。"));
    out.push(h("h5", {}, "契税完税凭证"));
    out.push(s.deed_taxes.length
      ? h("ul", { class: "list fund-records" }, s.deed_taxes.map((r) => recordCard("deed_tax", r)))
      : notice("warn", "共享平台未查到申请人名下的契税完税记录。请申请人向税务部门核实后再办理。"));
    // Asking again replaces the records and clears the confirmations: offered only while
    // something is still unconfirmed (a record that was missing may have arrived since).
    if (!finished() && (!state.invoice_confirmed || !state.deed_tax_confirmed)) {
      out.push(h("div", { class: "actions fund-requery" }, query), status);
    }
    return h("div", { class: "fund-step" }, out);
  }

  // -------------------------------------------------------------------------------------------
  // Step 3: the I类借记卡 the withdrawal is paid to.

  function debitStep(editing = false) {
    const box = h("div", { class: "fund-step" }, h("h4", {}, "③ I类借记卡"));
    if (!state) {
      box.append(h("p", { class: "muted small" }, "录入申请人后登记。"));
      return box;
    }
    const recorded = state.debit_card_masked;
    if (recorded && !editing) {
      box.append(kv([
        ["开户银行", state.debit_bank],
        ["卡号", h("span", { class: "mono" }, recorded)],
        state.debit_recorded_at ? ["登记时间", fmtTime(state.debit_recorded_at)] : null,
      ]));
      if (!finished()) {
        box.append(h("div", { class: "actions" }, h("button", {
          type: "button",
          onclick: () => {
            const form = debitStep(true);
            box.replaceWith(form);
            form.querySelector("input")?.focus();
          },
        }, "重新登记")));
      }
      return box;
    }
    if (finished()) {
      box.append(notice("warn", "办件已办结，未登记借记卡。"));
      return box;
    }
    const bank = h("input", { autocomplete: "off", maxlength: 64 });
    if (editing && state.debit_bank) bank.value = state.debit_bank;
    const number = h("input", { inputmode: "numeric", autocomplete: "off", maxlength: 23, class: "mono" });
    const status = h("div", { "aria-live": "polite" });
    const submit = h("button", { type: "submit", class: "primary" }, "登记借记卡");
    box.append(h("form", {
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        status.replaceChildren();
        bank.removeAttribute("aria-invalid");
        number.removeAttribute("aria-invalid");
        const b = bank.value.trim();
        const digits = number.value.replace(/\s/g, "");
        if (b.length < 2) {
          status.replaceChildren(notice("bad", "请填写开户银行，如：中国工商银行漯河分行"));
          bank.setAttribute("aria-invalid", "true");
          bank.focus();
          return;
        }
        if (!/^\d{16,19}$/.test(digits) || !luhn(digits)) {
          status.replaceChildren(notice("bad", "银行卡号有误，请核对申请人I类借记卡上的16至19位卡号"));
          number.setAttribute("aria-invalid", "true");
          number.focus();
          return;
        }
        try {
          const next = await busy(submit, "正在登记…", () =>
            api("POST", `${base}/debit-card`, { role: "staff", body: { bank: b, number: digits } }));
          // The full number is not kept on screen once the server has it.
          number.value = "";
          take(next);
        } catch (err) {
          status.replaceChildren(failure(err));
        }
      },
    },
    field("开户银行", bank),
    field("I类借记卡卡号", number, "提取金额将转入该卡，请核对申请人本人名下的I类借记卡。"),
    h("div", { class: "actions" },
      submit,
      editing ? h("button", { type: "button", onclick: () => box.replaceWith(debitStep(false)) }, "取消") : null),
    status));
    return box;
  }

  function render() {
    if (loadError) {
      const retry = h("button", {
        type: "button",
        onclick: async () => {
          await busy(retry, "正在读取…", load);
          render();
          onChange();
        },
      }, "重新读取");
      node.replaceChildren(heading, failure(loadError), h("div", { class: "actions" }, retry));
      return;
    }
    node.replaceChildren(
      heading,
      h("p", { class: "muted small" },
        "申请人只需出示身份证：电子证照扫亮证码调阅，购房发票和契税完税凭证由省级共享平台提供。"),
      applicantStep(),
      sharingStep(),
      debitStep());
  }

  await load();
  render();

  return {
    node,
    reload: async () => {
      await load();
      render();
    },
    render,
    missing: () => (state ? state.missing : loadError ? [] : ["applicant"]),
    missingText: (codes) => codes.map(stepText).join("、"),
    tick(m) {
      if (m.sharing === "tax_invoice") {
        return state?.invoice_confirmed
          ? { done: true, text: "共享平台数据，申请人已确认" }
          : { done: false, text: "共享平台获取，待确认" };
      }
      if (m.sharing === "deed_tax") {
        return state?.deed_tax_confirmed
          ? { done: true, text: "共享平台数据，申请人已确认" }
          : { done: false, text: "共享平台获取，待确认" };
      }
      // The paper materials this flow takes over, by the names the matter gives them.
      if (m.name.includes("借记卡")) {
        return state?.debit_card_masked
          ? { done: true, text: `已登记 ${state.debit_card_masked}` }
          : { done: false, text: "待登记卡号" };
      }
      if (m.name === "身份证") {
        return state
          ? { done: true, text: `已核验 ${state.applicant_id_masked}` }
          : { done: false, text: "待录入身份证号" };
      }
      return null;
    },
  };
}
