// 公积金提取 全程网办 in the wallet: my applications, the online application (实人 session,
// three photos, the form the province's sharing platform checks) and one application's status
// with the certificates fetched for it, their seals checked here with the WebAssembly core, and
// the rating once it is decided. Loaded on demand: most visits to the wallet never come here.

import {
  h, field, api, session, notice, explain, advise, titled, go, wasm, now, fmtDate, fmtTime, Problem,
} from "/app/app.js";
import { badge, busy, cache, me, leaveTo, takeFlash } from "/app/wallet-state.js";

advise({
  real_person_required: "办理公积金提取需要先完成实人认证，请完成实人认证后再提交",
  upload_kind_invalid: "照片类别有误，请刷新页面后重新上传",
  upload_type_unsupported: "只能上传JPEG或PNG格式的照片，请重新选择",
  upload_empty: "所选照片是空文件，请重新拍摄或选择",
  upload_not_image: "所选文件不是JPEG或PNG图片，请重新选择照片",
  upload_type_mismatch: "照片格式与文件类型不符，请重新拍摄或选择照片",
  upload_content_invalid: "照片已损坏或不完整，请重新拍摄后上传",
  upload_dimensions_invalid: "照片尺寸不符合要求，请重新拍摄后上传",
  upload_too_large: "照片超过2MB，压缩后仍然过大，请重新拍摄清晰度较低的照片",
  upload_limit_reached: "未使用的照片过多，请先提交申请，或一天后再上传",
  upload_unavailable: "照片已失效或已用于其他申请，请重新上传照片后再提交",
  photo_unreadable: "无法读取所选文件，请选择JPEG或PNG格式的照片",
  consent_required: "请勾选同意查询本人的购房发票、契税及不动产、婚姻证照信息",
  matter_not_online: "该事项暂不支持网上办理，请到办事窗口办理",
  amount_invalid: "金额格式有误：单位为元，最多两位小数，请核对后重新填写",
  record_number_invalid: "发票号码或完税凭证号码有误：应为6至32位字母或数字，请核对后重新填写",
  debit_card_invalid: "银行卡号有误，请核对I类借记卡卡号（16至19位数字）",
  bank_invalid: "请填写开户银行全称（2至64个字）",
  sharing_mismatch: "填写的信息与共享平台记录不一致，请核对后重新提交",
  certificate_not_found_for_applicant: "未查到您名下办理所需的电子证照，请携带纸质材料到公积金中心窗口办理",
  certificate_not_applicants: "所需电子证照不属于您本人，请到公积金中心窗口办理",
  // Met here when the certificates are fetched; worded so they read right in any wallet view.
  certificate_not_found_here: "发证地系统未找到该证照，请稍后重试；如仍失败请到窗口办理",
  certificate_not_needed: "该证照与所办事项不符，请稍后重试；如仍失败请到窗口办理",
  certificate_revoked: "该证照已被发证机关注销，不能使用，请向发证机关咨询",
  certificate_superseded: "该证照已被更正，请稍后重试，系统将使用最新版本",
  certificate_expired: "该证照已过有效期，请到发证机关办理延续或换证",
  certificate_not_yet_valid: "该证照尚未生效，请在生效后再使用",
  consent_replayed: "本次调取已处理，请重新提交申请",
  routing_loop: "调取电子证照时转发异常，请稍后重试",
  hop_limit_exceeded: "调取电子证照时转发异常，请稍后重试",
  application_not_found: "未找到该申请，请返回“我的申请”刷新后查看",
  application_not_decided: "申请办结后才能评价，请等待审核结果",
  evaluation_exists: "该申请已评价，无需重复评价",
  score_invalid: "请选择1至5分的评分",
  comment_too_long: "评价内容不超过500字，请删减后再提交",
});

/** Status as the applicant reads it (the contract's words, not the node's status_name). */
const STATUS = {
  submitted: ["已提交，正在送达公积金中心", "", "申请已受理，正在送达公积金中心，送达后进入审核。"],
  under_review: ["审核中", "warn", "公积金中心正在审核，审核结果将在这里显示。"],
  approved: ["已通过", "ok", "审核已通过，提取的公积金将转入您登记的I类借记卡。"],
  rejected: ["未通过", "bad", "如有疑问请联系公积金中心，也可以修改后重新申请。"],
};
const statusOf = (a) => STATUS[a.status] ?? [a.status_name || "状态未知", "", ""];
const decided = (a) => a.status === "approved" || a.status === "rejected";

const PHOTOS = [
  ["debit_card", "借记卡照片"],
  ["invoice", "购房发票照片"],
  ["deed_tax", "契税完税凭证照片"],
];
const MAX_SIDE = 1600;
const MAX_BYTES = 2 * 1024 * 1024;
const AMOUNT = /^\d{1,10}(\.\d{1,2})?$/;
const RECORD = /^[A-Za-z0-9]{6,32}$/;
const NEW = "/wallet/fund/new";

/** A matter the online form serves: the sharing platform supplies its invoice and deed tax. */
const online = (m) => ["tax_invoice", "deed_tax"].every((k) => m.materials.some((x) => x.sharing === k));

/** "1280000.00" → "1,280,000.00 元", as amounts are read. */
const yuan = (amount) => `${String(amount).replace(/^\d+/, (d) => d.replace(/\B(?=(\d{3})+$)/g, ","))} 元`;

const kv = (rows) => h("dl", { class: "kv" },
  rows.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));

/** Where someone without a 实人 session goes, and comes back to the form from. */
const livenessLink = (cls) =>
  h("a", { href: "#/wallet/liveness?next=" + encodeURIComponent(NEW), class: cls }, "去实人认证");

const loginAgain = () => h("div", { class: "notice bad", role: "alert" },
  "登录已过期，请重新登录。 ", h("a", { href: "#/login?next=" + encodeURIComponent(NEW) }, "重新登录"));

/** #/wallet/fund: my applications, newest first, and 新建申请. */
export async function fundListView() {
  const list = await api("GET", "/api/wallet/fund/applications", { role: "citizen" });
  const create = h("button", { type: "button", class: "primary block" }, "新建申请");
  create.addEventListener("click", () => go(NEW));
  return h("section", {},
    titled("公积金提取", "/"),
    takeFlash(),
    h("p", { class: "muted small" },
      "购买住房提取住房公积金，全程网上办理：购房发票和契税由共享平台核对，不动产权证书、结婚证由系统调取电子证照，无需提交纸质材料。"),
    h("h3", {}, "我的申请"),
    list.length
      ? h("ul", { class: "list certs" }, list.map((a) => {
        const [name, kind] = statusOf(a);
        return h("li", {},
          h("a", { class: "cert-card", href: `#/wallet/fund/${encodeURIComponent(a.id)}` },
            h("span", { class: "cert-head" }, h("strong", {}, a.matter_name), " ", badge(name, kind),
              decided(a) && !a.evaluated ? badge("待评价", "warn") : null),
            h("span", { class: "cert-line" }, "申请编号：", a.id),
            h("span", { class: "cert-line" }, "提交时间：", fmtTime(a.submitted_at))));
      }))
      : notice("info", "暂无申请。点击下方“新建申请”开始办理。"),
    create);
}

// ---------------------------------------------------------------------------------------------
// Photos: shrunk and re-encoded here (a phone photo is several MB; re-encoding also drops the
// EXIF location), then sent as raw bytes, which api() (JSON only) does not do.

async function decode(file) {
  if (window.createImageBitmap) {
    try {
      const bmp = await createImageBitmap(file, { imageOrientation: "from-image" });
      return { pic: bmp, w: bmp.width, h: bmp.height, done: () => bmp.close() };
    } catch {
      // Some browsers decode only through <img>; try that below.
    }
  }
  const url = URL.createObjectURL(file);
  const img = new Image();
  img.src = url;
  try {
    await img.decode();
  } catch {
    URL.revokeObjectURL(url);
    throw new Problem(0, "photo_unreadable");
  }
  return { pic: img, w: img.naturalWidth, h: img.naturalHeight, done: () => URL.revokeObjectURL(url) };
}

/** The photo as a JPEG with its longest side at most 1600 px and under the node's 2 MiB. */
async function shrink(file) {
  const d = await decode(file);
  try {
    const scale = Math.min(1, MAX_SIDE / Math.max(d.w, d.h));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(d.w * scale));
    canvas.height = Math.max(1, Math.round(d.h * scale));
    const ctx = canvas.getContext("2d");
    // JPEG has no transparency: a transparent PNG would otherwise turn black.
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(d.pic, 0, 0, canvas.width, canvas.height);
    for (const quality of [0.8, 0.65, 0.5]) {
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
      if (!blob) throw new Problem(0, "photo_unreadable");
      if (blob.size <= MAX_BYTES) return blob;
    }
    throw new Problem(413, "upload_too_large");
  } finally {
    d.done();
  }
}

/** POST /api/wallet/fund/uploads/{kind} with the citizen's token; 201 → the upload's record. */
async function sendPhoto(kind, blob) {
  const post = () => fetch(`/api/wallet/fund/uploads/${kind}`, {
    method: "POST",
    headers: {
      "content-type": blob.type,
      authorization: `Bearer ${session.get("citizen")?.access_token ?? ""}`,
    },
    body: blob,
  });
  let res;
  try {
    res = await post();
    if (res.status === 401) {
      // api() refreshes an expired session once; if that worked, the photo goes again. If not,
      // it throws `unauthenticated` and the view asks the person to log in again.
      await api("GET", "/api/wallet/me", { role: "citizen" });
      res = await post();
    }
  } catch (err) {
    if (err instanceof Problem) throw err;
    throw new Problem(0, "network_unreachable", "网络连接失败");
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    if (res.status === 401) session.clear("citizen");
    throw new Problem(res.status, data?.code ?? (res.status === 401 ? "unauthenticated" : "http_" + res.status),
      data?.title, data?.detail, data);
  }
  return data;
}

const sizeText = (n) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`);

/** One photo's file input: shrinks and uploads on choice, shows 已上传 with a preview. */
function photoField(kind, label, onError) {
  const input = h("input", { type: "file", accept: "image/jpeg,image/png,image/*", class: "fund-file" });
  const state = h("p", { class: "small fund-photo-state", "aria-live": "polite" }, badge("未上传"));
  const photo = { kind, label, input, id: null };
  let preview = null;
  photo.reset = (why) => {
    photo.id = null;
    state.replaceChildren(badge(why ?? "未上传", why ? "bad" : ""));
  };
  input.addEventListener("change", async () => {
    const file = input.files?.[0];
    if (!file) return;
    photo.id = null;
    input.disabled = true;
    input.removeAttribute("aria-invalid");
    try {
      state.replaceChildren(badge("正在处理照片…"));
      const blob = await shrink(file);
      state.replaceChildren(badge("正在上传…"));
      const up = await sendPhoto(kind, blob);
      photo.id = up.id;
      if (preview) URL.revokeObjectURL(preview);
      preview = URL.createObjectURL(blob);
      state.replaceChildren(
        h("img", { class: "fund-thumb", src: preview, alt: `${label}预览` }),
        h("span", {}, badge("已上传", "ok"), ` ${up.width}×${up.height}，${sizeText(up.size)}`));
    } catch (err) {
      photo.reset("上传失败");
      state.append(" ", explain(err));
      // A session that ended needs the way back, which the form's message area gives.
      if (["unauthenticated", "real_person_required"].includes(err?.code)) onError(err);
    } finally {
      input.disabled = false;
    }
  });
  photo.node = field(label, input);
  photo.node.append(state);
  return photo;
}

// ---------------------------------------------------------------------------------------------
// The form.

/** Whether the digits pass the Luhn check, as every bank card number does. */
function luhn(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/** A text field with its own error line, marked with aria-invalid when something is wrong. */
function checkedField(label, props, hint) {
  const input = h("input", { autocomplete: "off", ...props });
  const node = field(label, input, hint);
  const error = h("p", { class: "small field-error", id: `${input.id}-err`, hidden: true });
  node.append(error);
  const mark = (text) => {
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", error.id);
    error.textContent = text;
    error.hidden = false;
  };
  const clear = () => {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
    error.hidden = true;
  };
  input.addEventListener("input", clear);
  return { input, node, mark, clear, label };
}

/** #/wallet/fund/new: the online application (实人 session required). */
export async function fundNewView() {
  const person = await me();
  if (person.level !== "real_person") {
    return h("section", {},
      titled("新建公积金提取申请", "/wallet/fund"),
      h("div", { class: "notice warn", role: "status" },
        h("p", {}, "办理公积金提取需要先完成实人认证（刷脸），以确认是本人在办理。"),
        livenessLink("button primary block")),
      h("p", { class: "muted small" },
        "认证后请准备：I类借记卡、购房发票、契税完税凭证（号码、金额及照片）。"));
  }
  const matters = (await api("GET", "/api/matters")).filter(online);
  if (!matters.length) {
    return h("section", {}, titled("新建公积金提取申请", "/wallet/fund"),
      notice("info", "暂无可网上办理的公积金提取事项，请到公积金中心窗口办理。"));
  }

  const out = h("div", { "aria-live": "polite" });
  const matter = h("select", { required: true },
    matters.length > 1 ? h("option", { value: "" }, "请选择办理事项") : null,
    matters.map((m) => h("option", { value: m.code }, m.name)));
  const materials = h("p", { class: "muted small" });
  const showMaterials = () => {
    const m = matters.find((x) => x.code === matter.value);
    materials.replaceChildren(m ? `所需材料：${m.materials.map((x) => x.name + (x.cert_type
      ? "（调取电子证照）" : x.sharing ? "（共享平台核对，另附照片）" : "")).join("、")}。` : "");
  };
  matter.addEventListener("change", showMaterials);
  showMaterials();

  const bank = checkedField("开户银行", { maxlength: "64" }, "例如：中国工商银行漯河分行");
  const card = checkedField("I类借记卡卡号", { inputmode: "numeric", maxlength: "23" }, "提取的公积金转入此卡");
  const invoiceNo = checkedField("购房发票号码", { maxlength: "32", autocapitalize: "characters" });
  const invoiceAmt = checkedField("购房发票金额（元）", { inputmode: "decimal", maxlength: "13" });
  const deedNo = checkedField("契税完税凭证号码", { maxlength: "32", autocapitalize: "characters" });
  const deedAmt = checkedField("契税金额（元）", { inputmode: "decimal", maxlength: "13" });
  const byField = {
    "debit_card.bank": bank, "debit_card.number": card,
    "invoice.number": invoiceNo, "invoice.amount": invoiceAmt,
    "deed_tax.number": deedNo, "deed_tax.amount": deedAmt,
  };
  const texts = Object.values(byField);
  const spouse = h("input", { type: "checkbox" });
  const consent = h("input", { type: "checkbox" });
  const report = (err) => out.replaceChildren(problemNotice(err));
  const photos = PHOTOS.map(([kind, label]) => photoField(kind, label, report));
  const submit = h("button", { type: "submit", class: "primary block" }, "提交申请");

  function failed(err) {
    if (err?.code === "sharing_mismatch") {
      const differ = err.body?.mismatches ?? [];
      for (const m of differ) byField[m.field]?.mark("与共享平台记录不一致");
      out.replaceChildren(h("div", { class: "notice bad", role: "alert" },
        h("p", {}, "以下信息与共享平台记录不一致，请对照购房发票和契税完税凭证核对后重新提交："),
        h("ul", { class: "fund-differ" }, differ.map((m) => h("li", {}, m.label)))));
      byField[differ[0]?.field]?.input.focus();
      return;
    }
    // A field the node refused names itself in `detail` (amounts, record numbers).
    const target = err?.code === "debit_card_invalid" ? card
      : err?.code === "bank_invalid" ? bank
        : ["amount_invalid", "record_number_invalid"].includes(err?.code) ? byField[err.detail] : null;
    if (target) {
      target.mark(explain(err));
      target.input.focus();
    }
    if (err?.code === "upload_unavailable") {
      for (const p of photos) if (err.detail === p.kind || err.detail === "any") p.reset("请重新上传");
    }
    out.replaceChildren(problemNotice(err));
  }

  /** The form's own checks, so a typo is caught before the node is asked. */
  function check() {
    const wrong = [];
    const need = (ok, f, text) => {
      if (!ok) {
        f.mark(text);
        wrong.push(text);
      }
    };
    const digits = card.input.value.replace(/\s/g, "");
    const b = bank.input.value.trim().length;
    need(b >= 2 && b <= 64, bank, "请填写开户银行");
    need(/^\d{16,19}$/.test(digits) && luhn(digits), card, "卡号应为16至19位数字，请核对I类借记卡卡号");
    need(RECORD.test(invoiceNo.input.value.trim()), invoiceNo, "发票号码应为6至32位字母或数字");
    need(AMOUNT.test(invoiceAmt.input.value.trim()) && Number(invoiceAmt.input.value) > 0, invoiceAmt,
      "请填写发票金额，单位为元，最多两位小数");
    need(RECORD.test(deedNo.input.value.trim()), deedNo, "完税凭证号码应为6至32位字母或数字");
    need(AMOUNT.test(deedAmt.input.value.trim()) && Number(deedAmt.input.value) > 0, deedAmt,
      "请填写契税金额，单位为元，最多两位小数");
    if (!matter.value) wrong.unshift("请选择办理事项");
    for (const p of photos) {
      if (!p.id) {
        p.input.setAttribute("aria-invalid", "true");
        wrong.push(`请上传${p.label}`);
      }
    }
    if (!consent.checked) wrong.push("请勾选同意查询本人的相关信息");
    return wrong;
  }

  const form = h("form", { novalidate: true },
    field("办理事项", matter),
    materials,
    h("fieldset", {}, h("legend", {}, "收款账户"), bank.node, card.node),
    h("fieldset", {}, h("legend", {}, "购房发票"), invoiceNo.node, invoiceAmt.node),
    h("fieldset", {}, h("legend", {}, "契税完税凭证"), deedNo.node, deedAmt.node),
    h("label", { class: "choice" }, spouse, "配偶共同办理"),
    h("p", { class: "muted small" }, "勾选后将同时调取您的结婚证，供公积金中心审核。"),
    h("fieldset", {}, h("legend", {}, "上传照片"),
      h("p", { class: "muted small" }, "请拍摄清晰的原件照片，上传前将在本机压缩；照片仅供公积金中心审核使用。"),
      photos.map((p) => p.node)),
    h("label", { class: "choice fund-consent" }, consent, "我同意查询本人的购房发票、契税及不动产、婚姻证照信息"),
    submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    for (const t of texts) t.clear();
    const wrong = check();
    if (wrong.length) {
      out.replaceChildren(h("div", { class: "notice bad", role: "alert" },
        h("p", {}, "请先完善以下内容："), h("ul", {}, wrong.map((w) => h("li", {}, w)))));
      texts.find((t) => t.input.hasAttribute("aria-invalid"))?.input.focus();
      return;
    }
    out.replaceChildren();
    const body = {
      matter: matter.value,
      debit_card: { bank: bank.input.value.trim(), number: card.input.value.replace(/\s/g, "") },
      invoice: { number: invoiceNo.input.value.trim().toUpperCase(), amount: invoiceAmt.input.value.trim() },
      deed_tax: { number: deedNo.input.value.trim().toUpperCase(), amount: deedAmt.input.value.trim() },
      spouse_participates: spouse.checked,
      uploads: Object.fromEntries(photos.map((p) => [p.kind, p.id])),
      consent: true,
    };
    const label = submit.textContent;
    submit.disabled = true;
    submit.textContent = "正在提交…";
    form.setAttribute("aria-busy", "true");
    try {
      const a = await api("POST", "/api/wallet/fund/applications", { role: "citizen", body });
      leaveTo(`/wallet/fund/${encodeURIComponent(a.id)}`, "ok", `申请已提交，申请编号 ${a.id}。`);
    } catch (err) {
      failed(err);
    } finally {
      submit.disabled = false;
      submit.textContent = label;
      form.removeAttribute("aria-busy");
    }
  });
  photos.forEach((p) => p.input.addEventListener("change", () => p.input.removeAttribute("aria-invalid")));

  return h("section", {},
    titled("新建公积金提取申请", "/wallet/fund"),
    h("p", { class: "small" }, badge("实人认证", "ok"), " ", person.name, "，请如实填写以下信息。"),
    form, out);
}

/** A failure as the fund views show it: plain advice, and the way out where there is one. */
function problemNotice(err) {
  if (err?.code === "unauthenticated") return loginAgain();
  if (err?.code === "real_person_required") {
    return h("div", { class: "notice bad", role: "alert" }, explain(err), " ", livenessLink());
  }
  // A tier's title names the node that failed; nothing was submitted, so trying again is safe.
  if (/^tier_/.test(err?.code ?? "") && err.title) {
    return notice("bad", `${err.title.replace(/[。.]$/, "")}。您的申请尚未提交，表单已保留，稍后可直接重新提交。`);
  }
  return notice("bad", explain(err));
}

// ---------------------------------------------------------------------------------------------
// One application.

/** The seal as this browser checks it, against the issuer keys the owner vouched for. */
async function checkSeal(c) {
  try {
    const core = await wasm();
    const trust = new core.TrustList();
    for (const e of c.issuer_keys ?? []) {
      trust.add(e.issuer, e.issuer_name, e.key, e.not_before, e.not_after ?? undefined);
    }
    return { ok: true, view: core.verifySealedCertificate(c.sealed, trust, now()) };
  } catch (err) {
    return { ok: false, err };
  }
}

function certificateCard(c, check) {
  const v = check.ok ? check.view : null;
  return h("article", { class: "card-inner fund-cert", "aria-label": c.type_name },
    h("div", { class: "cert-title" }, h("h3", {}, v?.typeName ?? c.type_name),
      c.status === "disputed" ? badge("有异议", "warn") : badge("有效", "ok")),
    check.ok
      ? h("p", { class: "fund-seal ok", role: "status" }, `✓ 印章核验通过（${v.sealedBy || v.issuerName}）`)
      : h("div", { class: "fund-seal bad", role: "alert" },
        h("p", {}, "✗ 印章核验未通过"),
        h("p", { class: "small" }, `${explain(check.err)}。该证照未通过本机核验，请联系公积金中心。`)),
    kv([
      ["替代材料", c.material],
      ["持证人", v ? `${v.holderName} ${v.holderIdMasked}` : `${c.holder_name} ${c.holder_id_masked}`],
      ["发证机关", v?.issuerName ?? c.issuer_name],
      ["有效期至", fmtDate(v ? v.validUntil : c.valid_until)],
      ["调阅路径", (c.path_names ?? []).join(" → ")],
      ["调阅时间", fmtTime(c.retrieved_at)],
    ]),
    v && v.fieldNames.length
      ? [h("p", { class: "small muted" }, "调取的证照信息："), kv(v.fieldNames.map((n, i) => [n, v.fieldValues[i]]))]
      : null);
}

function sharingPart(s) {
  return h("div", { class: "card-inner" },
    h("div", { class: "cert-title" }, h("h3", {}, "共享平台比对"), badge("信息一致", "ok")),
    h("p", { class: "muted small" }, `比对时间 ${fmtTime(s.checked_at)}，以下为税务部门共享的记录。`),
    h("h4", {}, "购房发票"),
    kv([
      ["发票号码", s.invoice.invoice_number],
      ["购房人", s.invoice.buyer_name],
      ["售房人", s.invoice.seller_name],
      ["房屋坐落", s.invoice.property_address],
      ["发票金额", yuan(s.invoice.amount)],
      ["开票日期", fmtDate(s.invoice.issued_at)],
    ]),
    h("h4", {}, "契税完税凭证"),
    kv([
      ["凭证号码", s.deed_tax.certificate_number],
      ["纳税人", s.deed_tax.payer_name],
      ["房屋坐落", s.deed_tax.property_address],
      ["契税金额", yuan(s.deed_tax.amount)],
      ["缴税日期", fmtDate(s.deed_tax.paid_at)],
      ["税务机关", s.deed_tax.tax_authority],
    ]));
}

function statusPart(a) {
  const [name, kind, text] = statusOf(a);
  return [
    h("p", { class: "fund-status" }, h("span", { class: "muted small" }, "办理状态"), " ", badge(name, kind)),
    a.status === "rejected"
      ? notice("bad", `未通过原因：${a.reason || "公积金中心未说明原因，请联系公积金中心"}`)
      : a.reason ? h("p", { class: "small" }, "审核意见：", a.reason) : null,
    h("p", { class: "small" }, text),
  ];
}

const SCORE_WORDS = { 5: "非常满意", 4: "满意", 3: "一般", 2: "不满意", 1: "非常不满意" };

/** 评价: once the application is decided, one rating (it goes to the fund centre as well). */
function evaluationPart(a, reload) {
  if (!decided(a)) return null;
  if (a.evaluation) {
    return h("div", { class: "card-inner" }, h("h3", {}, "评价"),
      h("p", {}, `您的评价：${a.evaluation.score} 分（${SCORE_WORDS[a.evaluation.score] ?? ""}）`),
      a.evaluation.comment ? h("p", { class: "small" }, a.evaluation.comment) : null,
      h("p", { class: "muted small" }, `评价时间 ${fmtTime(a.evaluation.at)}`));
  }
  const out = h("div", { "aria-live": "polite" });
  const comment = h("textarea", { rows: "3", maxlength: "500" });
  const send = h("button", { type: "submit", class: "primary block" }, "提交评价");
  const form = h("form", { novalidate: true },
    h("fieldset", {}, h("legend", {}, "满意度"),
      h("p", { class: "muted small" }, "5 分为非常满意，1 分为非常不满意"),
      h("div", { class: "fund-scores" }, [5, 4, 3, 2, 1].map((n) =>
        h("label", { class: "choice" }, h("input", { type: "radio", name: "fund-score", value: String(n) }), `${n} 分`)))),
    field("评价内容", comment, "选填，不超过500字"),
    send);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const score = Number(form.querySelector("input[name=fund-score]:checked")?.value ?? 0);
    if (!score) return out.replaceChildren(notice("bad", "请选择评分"));
    let failure = null;
    const done = await busy(send, "正在提交…", async () => {
      try {
        await api("POST", `/api/wallet/fund/applications/${encodeURIComponent(a.id)}/evaluation`, {
          role: "citizen", body: { score, comment: comment.value.trim() },
        });
        return true;
      } catch (err) {
        failure = err;
        return false;
      }
    });
    if (done) {
      cache.flash = { kind: "ok", text: "评价已提交，感谢您的评价。" };
      return reload();
    }
    if (failure?.code === "evaluation_exists") {
      cache.flash = { kind: "info", text: explain(failure) };
      return reload();
    }
    out.replaceChildren(problemNotice(failure));
  });
  return h("div", { class: "card-inner" }, h("h3", {}, "评价"),
    h("p", { class: "small" }, "请对本次办理进行评价，评价结果将同时送达公积金中心。"), form, out);
}

/** #/wallet/fund/<id>: status, the fetched certificates with this browser's seal check, the
 * sharing data, 刷新状态 and 评价. */
export async function fundView({ id }) {
  const path = `/api/wallet/fund/applications/${encodeURIComponent(id)}`;
  const flash = h("div", { "aria-live": "polite" }, takeFlash());
  const status = h("div", { role: "status", "aria-live": "polite" });
  const rating = h("div");
  const details = h("div");
  const refresh = h("button", { type: "button", class: "block" }, "刷新状态");
  const seals = new Map();
  let shown = null;

  async function draw(a) {
    // Seals are checked once per certificate; a refresh only asks the node for the status.
    await Promise.all(a.certificates.map(async (c) => {
      if (!seals.has(c.cert_id + c.correlation_id)) seals.set(c.cert_id + c.correlation_id, await checkSeal(c));
    }));
    status.replaceChildren(h("div", {}, statusPart(a)));
    // A half-written rating survives a refresh that changed nothing about it.
    const key = `${decided(a)}|${Boolean(a.evaluation)}`;
    if (key !== shown) {
      rating.replaceChildren(evaluationPart(a, reload) ?? "");
      shown = key;
    }
    const f = a.form;
    details.replaceChildren(h("div", {},
      h("div", { class: "card-inner" }, h("h3", {}, "申请信息"),
        kv([
          ["申请编号", a.id],
          ["申请人", `${a.applicant_name} ${a.applicant_id_masked}`],
          ["开户银行", f.bank],
          ["I类借记卡", f.debit_card_masked],
          ["发票号码", f.invoice_number],
          ["发票金额", yuan(f.invoice_amount)],
          ["完税凭证号码", f.deed_tax_number],
          ["契税金额", yuan(f.deed_tax_amount)],
          ["配偶共同办理", f.spouse_participates ? "是" : "否"],
          ["已上传照片", (a.uploads ?? []).map((u) => PHOTOS.find(([k]) => k === u.kind)?.[1] ?? u.kind).join("、") || "无"],
          ["提交时间", fmtTime(a.submitted_at)],
          a.received_at ? ["送达时间", fmtTime(a.received_at)] : null,
          a.decided_at ? ["办结时间", fmtTime(a.decided_at)] : null,
        ])),
      h("h3", {}, "调取的电子证照"),
      a.certificates.length
        ? a.certificates.map((c) => certificateCard(c, seals.get(c.cert_id + c.correlation_id)))
        : h("p", { class: "muted small" }, "无"),
      sharingPart(a.sharing)));
  }

  async function reload() {
    flash.replaceChildren(takeFlash() ?? "");
    const a = await busy(refresh, "正在刷新…", () => api("GET", path, { role: "citizen" }), flash);
    if (a) await draw(a);
  }
  refresh.addEventListener("click", async () => {
    flash.replaceChildren();
    await reload();
  });

  const a = await api("GET", path, { role: "citizen" });
  await draw(a);
  return h("section", {},
    titled("申请详情", "/wallet/fund"),
    flash,
    h("p", { class: "small muted" }, a.matter_name),
    status,
    refresh,
    rating,
    details);
}
