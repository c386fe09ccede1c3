// 我的证照, 证照详情 (with the seal checked in this browser) and 用证记录. 企业证照 lives in
// wallet-enterprise.js and 异议 in wallet-objections.js, loaded when first needed.

import { h, field, api, notice, explain, titled, fmtDate, fmtTime, now, wasm } from "/app/app.js";
import {
  cache, certById, certsForList, certItem, statusBadges, validity, badge,
  trustList, usable, me, typeCodeOf, nearExpiry, unusableReason, fetchCerts, effectiveStatus,
  maskId, typeNames,
} from "/app/wallet-state.js";

const enc = encodeURIComponent;

/** #/wallet/certs */
export async function certsView() {
  const list = await certsForList();
  const soon = list.filter(nearExpiry).length;
  return h("section", {},
    titled("我的证照", "/"),
    list.length
      ? [
        soon ? notice("warn", `有 ${soon} 张证照即将到期，请及时到发证机关办理延续或换证。`) : null,
        h("ul", { class: "list certs" }, list.map(certItem)),
      ]
      : notice("info", "暂未关联到您名下的电子证照。证照由发证机关签发后会自动出现在这里。"),
    h("p", { class: "small muted" }, "企业的证照请在", h("a", { href: "#/wallet/enterprise" }, "企业证照"), "中查询。"));
}

/**
 * The seal as this browser sees it: verified against the issuer's keys that came with the copy
 * (the keys the holding node vouched for), or this node's trust list; without a copy, where it
 * is kept and why it could not be read.
 */
async function sealPanel(c) {
  if (!c.sealed) {
    return {
      line: c.copy_unavailable
        ? h("span", {}, "暂时无法从", c.held_by, "读取证照原件（", c.copy_unavailable, "），请稍后再试。")
        : h("span", {}, "盖章原件保存在", c.held_by, "；办事时由受理系统调取并核验电子印章。"),
      verified: null,
    };
  }
  try {
    const [core, trust] = await Promise.all([wasm(), c.issuer_keys ? keysOf(c.issuer_keys) : trustList()]);
    const view = core.verifySealedCertificate(c.sealed, trust, now());
    return {
      line: h("span", {}, badge("印章有效", "ok"), ` ${view.sealedBy || "发证机关"}于 ${fmtDate(view.sealedAt)} 加盖电子印章，本机已核验。`),
      verified: view,
      broken: false,
    };
  } catch (err) {
    return {
      line: h("span", {}, badge("印章核验未通过", "bad"), ` ${explain(err)}。请勿使用此证照办事，并向发证机关反映。`),
      verified: null,
      broken: true,
    };
  }
}

/** The issuer keys sent with a certificate as the WebAssembly core's TrustList. */
async function keysOf(entries) {
  const core = await wasm();
  const list = new core.TrustList();
  for (const e of entries) list.add(e.issuer, e.issuer_name, e.key, e.not_before, e.not_after ?? undefined);
  return list;
}

/** #/wallet/cert/<id> */
export async function certView({ id }) {
  const [c, mine] = await Promise.all([
    certById(id),
    api("GET", "/api/wallet/objections", { role: "citizen" }).catch(() => []),
  ]);
  const seal = await sealPanel(c);
  const v = seal.verified;
  // An objection waits from filing until the department answers; the certificate's own status
  // turns 有异议 only once the issuer's node has received it and pushed the change.
  const about = mine.filter((o) => o.cert_id === c.id);
  const open = about.find((o) => o.status === "filed" || o.status === "received");
  const answered = about.find((o) => o.new_cert_id && (o.status === "corrected" || o.status === "issued"));
  const status = effectiveStatus(c);
  const current = status !== "revoked" && status !== "superseded";
  const holder = c.holder_kind === "enterprise"
    ? c.enterprise_name ?? (v ? v.holderName : "")
    : v ? `${v.holderName}（${v.holderIdMasked}）` : (await me()).name;
  // A copy whose seal fails here is not shown as valid and not offered for use.
  const ok = usable(c) && !seal.broken;
  // 亮证 lives in its own module, loaded after the first view (it is needed only from here on).
  const { showButton } = await import("/app/wallet-show.js");
  const show = showButton("certificate", c.id, "亮证", { class: "primary", disabled: !ok });
  const fields = v ? v.fieldNames.map((n, i) => [n, v.fieldValues[i]]) : [];
  const issuer = c.issuer_name || v?.issuerName;
  return h("section", {},
    titled("证照详情", cache.creditCodes.has(c.id)
      ? `/wallet/enterprise?q=${enc(cache.creditCodes.get(c.id))}` : "/wallet/certs"),
    h("div", { class: "cert-title" }, h("h3", {}, c.type_name ?? v?.typeName ?? "电子证照"), " ",
      seal.broken ? badge("印章核验未通过", "bad") : statusBadges(c),
      open && status !== "disputed" ? badge("有异议", "warn") : null),
    open ? h("div", { class: "notice warn", role: "status" },
      `您对此证照提出的异议${open.status === "filed" ? "已提交，正在送交发证机关" : "发证机关已受理"}，答复期限为 ${fmtDate(open.deadline)}。处理期间证照仍可正常使用。`,
      h("a", { href: `#/wallet/objections/${enc(open.id)}` }, "查看异议进度")) : null,
    answered && !current ? h("p", { class: "notice info" }, "发证机关已根据您的异议更正此证照。",
      h("a", { href: `#/wallet/cert/${enc(answered.new_cert_id)}` }, "查看更正后的证照")) : null,
    ok || seal.broken ? null : notice("bad", unusableReason(c)),
    h("dl", { class: "kv" },
      h("dt", {}, c.holder_kind === "enterprise" ? "持证企业" : "持证人"), h("dd", {}, holder),
      issuer ? [h("dt", {}, "颁发机构"), h("dd", {}, issuer)] : null,
      h("dt", {}, "有效期"), h("dd", {}, validity(c)),
      h("dt", {}, "证照所在"), h("dd", {}, c.held_by),
      h("dt", {}, "电子印章"), h("dd", {}, seal.line),
      h("dt", {}, "证照标识"), h("dd", { class: "mono small" }, c.id),
      fields.map(([n, val]) => [h("dt", {}, n), h("dd", {}, val)])),
    v && v.withheldFields ? h("p", { class: "muted small" }, `另有 ${v.withheldFields} 项信息未在此显示。`) : null,
    c.sealed || c.copy_unavailable ? null : h("p", { class: "muted small" }, "证照的详细内容保存在发证地系统，亮证后由窗口工作人员调阅。"),
    h("div", { class: "actions" },
      show,
      ok ? h("a", { class: "button", href: `#/wallet/grant/${enc(c.id)}` }, "授权他人使用") : null,
      // The node refuses objections to a revoked or superseded version.
      current ? h("a", { class: "button", href: `#/wallet/object/${enc(c.id)}` }, "提出异议") : null),
    h("p", { class: "small" }, h("a", { href: `#/wallet/usage?cert=${enc(c.id)}` }, "查看此证照的用证记录")));
}

/**
 * #/wallet/usage[?cert=<id>][&holder=<id>]: 用证记录 — mine and those of the enterprises I act
 * for, each row labelled with whose certificate it was, filtered by 本人 or one enterprise.
 */
export async function usageView(_params, query) {
  const only = query.get("cert");
  const [rows, enterprises, person, catalog] = await Promise.all([
    api("GET", "/api/wallet/usage", { role: "citizen" }),
    // Enterprise names label their rows; without them the rows still show, by credit code.
    api("GET", "/api/wallet/enterprises", { role: "citizen" }).catch(() => []),
    me(),
    // Type names: my certificates first, the catalog for an enterprise's.
    typeNames().catch(() => new Map()),
    cache.certs.size ? null : fetchCerts().catch(() => null),
  ]);
  const names = new Map(enterprises.map((e) => [e.credit_code, e.name]));
  // Whose certificate a row used: the node says (holder_id); an older node did not, and then the
  // certificate as this wallet knows it does. My own ID means 本人; any other holder is an
  // enterprise, by name where I still act for it.
  const holderOf = (r) => r.holder_id ?? cache.certs.get(r.cert_id)?.holder_id ?? null;
  const holderKey = (r) => {
    const id = holderOf(r);
    return !id || maskId(id) === person.resident_id_masked ? "self" : id;
  };
  const holderLabel = (key) => key === "self"
    ? "本人"
    : names.get(key) ?? cache.certs.get(rows.find((r) => holderOf(r) === key)?.cert_id)?.enterprise_name ?? `企业（${key}）`;
  const name = (id) => cache.certs.get(id)?.type_name ?? catalog.get(typeCodeOf(id)) ?? `证照（类型代码 ${typeCodeOf(id)}）`;
  const base = only ? rows.filter((r) => r.cert_id === only) : rows;

  // The holders present, 本人 first, then the enterprises in the order the node lists them.
  const counts = new Map();
  for (const r of base) counts.set(holderKey(r), (counts.get(holderKey(r)) ?? 0) + 1);
  const keys = [...counts.keys()].sort((a, b) => (a === "self" ? -1 : b === "self" ? 1 : 0));
  const list = h("div", { "aria-live": "polite" });
  const draw = (key) => {
    const shown = key ? base.filter((r) => holderKey(r) === key) : base;
    list.replaceChildren(shown.length
      ? h("ul", { class: "list" }, shown.map((r) => usageItem(r, holderKey(r))))
      : notice("info", "暂无用证记录。"));
  };
  const usageItem = (r, key) => h("li", {},
    h("div", { class: "cert-head" }, h("strong", {}, name(r.cert_id)), " ",
      key === "self" ? badge("本人证照") : badge("企业证照", "ok"), " ",
      r.grant_id ? badge("经授权代为出示", "warn") : badge(key === "self" ? "本人出示" : "法定代表人或管理员出示")),
    h("dl", { class: "kv small" },
      h("dt", {}, key === "self" ? "持证人" : "持证企业"), h("dd", {}, holderLabel(key)),
      h("dt", {}, "时间"), h("dd", {}, fmtTime(r.at)),
      h("dt", {}, "办理事项"), h("dd", {},
        r.matter_name ?? "",
        h("span", { class: "sub-line mono" }, r.matter_name ? `事项编码 ${r.matter}` : r.matter)),
      h("dt", {}, "窗口"), h("dd", {}, r.counter),
      h("dt", {}, "经办人"), h("dd", {}, r.clerk)));

  // The filter appears once there is more than one holder to tell apart.
  let picked = query.get("holder");
  if (picked !== "self" && !counts.has(picked)) picked = "";
  const filter = keys.length > 1 || (keys.length === 1 && keys[0] !== "self")
    ? h("select", {},
      h("option", { value: "" }, `全部（${base.length}）`),
      keys.map((k) => h("option", { value: k }, `${holderLabel(k)}（${counts.get(k)}）`)))
    : null;
  if (filter) {
    filter.value = picked;
    filter.addEventListener("change", () => {
      // Kept in the address, so a reload or 返回 shows the same selection.
      const qs = new URLSearchParams();
      if (only) qs.set("cert", only);
      if (filter.value) qs.set("holder", filter.value);
      history.replaceState(null, "", `#/wallet/usage${qs.size ? `?${qs}` : ""}`);
      draw(filter.value);
    });
  }
  draw(filter ? picked : "");
  return h("section", {},
    titled("用证记录", "/"),
    h("p", { class: "muted small" }, "您的证照和您所代表企业的证照，每一次被调阅都记录在这里：时间、事项、窗口和经办人。如有不认可的记录，请拨打12345反映。"),
    only ? h("p", { class: "small" }, `仅显示：${name(only)}。`, h("a", { href: "#/wallet/usage" }, "查看全部")) : null,
    filter ? field("按持证主体筛选", filter) : null,
    list);
}
