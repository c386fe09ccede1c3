// 打印存档: the archive copy of an attached certificate, found by its verification code
// (GET /api/archive/{code}, open to anyone holding the code). It stands on the record alone:
// the seal is checked again in this browser from the sealed certificate and the issuer keys in
// the record, so whoever opens the copy later sees the same check the counter saw. Laid out for
// A4, black on white; the print rules are in index.html's counter block.

import { api, fmtDate, fmtTime, h, notice, now, Problem, session, wasm } from "/app/app.js";
import { counterAdvice } from "/app/counter-advice.js";
import { checkSeal, consentName, currentCase, routeText, sealer } from "/app/counter-state.js";

function rows(pairs) {
  return h("table", { class: "archive-table" },
    h("tbody", {}, pairs.filter(Boolean).map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v)))));
}

/** A QR code of this copy's address, so whoever holds the paper can open the record. */
async function linkQr(url) {
  try {
    const core = await wasm();
    const box = h("div", { class: "archive-qr", role: "img", "aria-label": "存档记录二维码" });
    // The SVG comes from the WebAssembly core, never from the server.
    box.innerHTML = core.qrSvg(url, 112);
    return box;
  } catch {
    return null;
  }
}

/** Whether the core refused the record (a coded error: bad seal, bytes or keys), as opposed
 * to the check not running at all (the WebAssembly module failed to load). */
const sealRefused = (err) => typeof err?.code === "string";

/** Where the copy leads back to: the clerk's case, the counter, or nowhere for the public. */
function backLink(rec) {
  if (currentCase.get() === rec.case_id && session.get("staff")?.access_token) {
    return h("a", { class: "button", href: `#/counter/case/${encodeURIComponent(rec.case_id)}` }, "返回办件");
  }
  if (session.get("staff")?.access_token) {
    return h("a", { class: "button", href: "#/counter" }, "返回窗口受理");
  }
  return null;
}

export async function archiveView({ code }) {
  let rec;
  try {
    rec = await api("GET", `/api/archive/${encodeURIComponent(code.trim())}`);
  } catch (err) {
    const a = counterAdvice(err);
    return h("section", {},
      h("h2", {}, "电子证照调阅存档"),
      notice("bad", a.text),
      err instanceof Problem && err.code === "archive_not_found"
        ? h("p", { class: "muted small" }, `查询的核验码：${code}`)
        : null,
      session.get("staff")?.access_token
        ? h("div", { class: "actions" }, h("a", { class: "button", href: "#/counter" }, "返回窗口受理"))
        : null);
  }
  const [check, qr] = await Promise.all([
    checkSeal(rec),
    linkQr(`${location.origin}/#/counter/archive/${encodeURIComponent(rec.verification_code)}`),
  ]);
  const v = check.ok ? check.view : null;
  const printBtn = h("button", { type: "button", class: "primary", onclick: () => window.print() }, "打印");
  const seal = check.ok
    ? h("div", { class: "counter-seal ok archive-seal", role: "status" },
      h("p", {}, `✓ 印章核验通过（${sealer(check)}）`),
      h("p", { class: "small" }, `本页于 ${fmtTime(check.at)} 在本机重新核验了电子印章（印章密钥由发证地系统提供）。`))
    : sealRefused(check.err)
      ? h("div", { class: "counter-seal bad archive-seal", role: "alert" },
        h("p", {}, "✗ 印章核验未通过"),
        h("p", { class: "small" }, "存档记录中的证照与发证机关的电子印章不符，内容可能被改动，不能作为依据。请联系受理窗口核实。"))
      // The check could not run (the WebAssembly core did not load): no verdict either way.
      : h("div", { class: "counter-seal bad archive-seal", role: "alert" },
        h("p", {}, "本页未能完成印章核验"),
        h("p", { class: "small" }, `${counterAdvice(check.err).text}。请刷新页面重试。`));
  return h("div", { class: "archive-page" },
    h("div", { class: "actions no-print" }, printBtn, backLink(rec)),
    h("article", { class: "archive", "aria-label": "存档副本" },
      h("header", { class: "archive-head" },
        h("div", {},
          h("h2", {}, "电子证照调阅存档"),
          h("p", { class: "archive-sub" }, "本页为窗口受理时调阅电子证照的存档副本，凭核验码可查询调阅记录。")),
        qr),
      h("div", { class: "archive-code" },
        h("span", { class: "archive-code-label" }, "核验码"),
        h("span", { class: "archive-code-value" }, rec.verification_code)),
      seal,
      h("h3", {}, "受理信息"),
      rows([
        ["办件编号", rec.case_id],
        ["办理事项", rec.matter_name ? `${rec.matter_name}（${rec.matter}）` : rec.matter],
        ["受理窗口", rec.counter || "—"],
        ["调阅时间", fmtTime(rec.retrieved_at)],
        ["申请人确认时间", fmtTime(rec.confirmed_at)],
        ["调阅流水号", rec.correlation_id],
        ["调阅路径", routeText(rec)],
        ["授权核验", consentName(rec)],
        ["出示方式", rec.grant_id ? `经持证人授权代为出示（授权编号 ${rec.grant_id}）` : "持证人本人出示"],
      ]),
      h("h3", {}, "电子证照"),
      // Once the seal verified, what is shown is what the seal covers; otherwise the record's
      // claims, under the failure above.
      rows([
        ["证照类型", v ? v.typeName : rec.type_name],
        ["证照编号", v ? v.id : rec.cert_id],
        ["持证人", v
          ? `${v.holderName}（${v.holderIdMasked}）`
          : `${rec.holder_name}${rec.holder_id_masked ? `（${rec.holder_id_masked}）` : ""}`],
        ["发证机关", v ? v.issuerName : rec.issuer_name],
        ["有效期", v
          ? `${fmtDate(v.validFrom)} 至 ${v.validUntil === undefined ? "长期有效" : fmtDate(v.validUntil)}`
          : rec.valid_until == null ? "长期有效" : `至 ${fmtDate(rec.valid_until)}`],
        ["替代材料", rec.material],
        ["电子印章", check.ok ? `核验通过（${sealer(check)}）` : sealRefused(check.err) ? "核验未通过" : "未能核验"],
        ...(v ? v.fieldNames.map((n, i) => [n, v.fieldValues[i]]) : rec.fields.map(([k, val]) => [k, val])),
      ]),
      h("p", { class: "archive-foot" }, `打印时间 ${fmtTime(now())}`)));
}
