// 企业证照: the certificates of the enterprises I act for, and the chain that lets others use
// them. The legal representative (法定代表人, from the market-supervision registry) appoints and
// removes certificate administrators (证照管理员) here; either of them shows the certificates or
// grants them to an agent (经办人). Loaded when first opened: most citizens act for no enterprise.

import { h, field, api, notice, explain, titled, fmtDate, wasm, advise } from "/app/app.js";
import { cache, certItem, badge, busy, maskId } from "/app/wallet-state.js";

const enc = encodeURIComponent;

advise({
  enterprise_query_invalid: "请输入统一社会信用代码或企业全称（不超过100个字）",
  legal_rep_only: "只有企业的法定代表人可以任命或移除证照管理员",
  admin_is_legal_rep: "法定代表人本人无需任命为证照管理员，请填写其他员工的姓名和身份证号",
  appointee_unverified: "管理员姓名与身份证号不一致（以公安人口信息为准），请按其身份证上的信息核对后重新填写",
  admin_exists: "该人员已是本企业的证照管理员，无需重复任命",
  admin_not_found: "该人员已不是本企业的证照管理员，可能已被移除，请刷新后查看",
  // The WebAssembly core's checks of the ID typed for an administrator.
  resident_id_length: "身份证号应为18位，请核对后重新输入",
  resident_id_charset: "身份证号只能是数字，最后一位可以是X，请核对后重新输入",
  resident_id_region: "身份证号前6位地区码无效，请核对后重新输入",
  resident_id_birth_date: "身份证号中的出生日期无效，请核对后重新输入",
  resident_id_check_digit: "身份证号校验位不符，可能输错了一位，请核对后重新输入",
});

const ROLE = {
  legal_rep: ["法定代表人", "ok"],
  admin: ["证照管理员", ""],
};
const roleBadge = (role) => (ROLE[role] ? badge(...ROLE[role]) : null);

/** A credit code typed in lower case is still the code; a name is sent as typed. */
const searchTerm = (text) => (/^[0-9a-z]{18}$/i.test(text) ? text.toUpperCase() : text);

/** #/wallet/enterprise?q=…: my enterprises to choose from, the search, and the chosen one's
 * certificates and administrators. */
export async function enterpriseView(_params, query) {
  // Without the list the search still works; a lapsed session still goes to 登录 (authed()).
  const mine = await api("GET", "/api/wallet/enterprises", { role: "citizen" }).then((list) => ({ list }), (err) => {
    if (err?.code === "unauthenticated") throw err;
    return { list: [], err };
  });
  const q = h("input", { value: query.get("q") ?? "", autocomplete: "organization", maxlength: "100" });
  const submit = h("button", { type: "submit", class: "primary" }, "查询");
  const out = h("div", { "aria-live": "polite" });
  const choices = new Map();

  /** Looks `text` up; `choice` is the enterprise button tapped, if that is how it was asked. */
  const search = async (text, choice) => {
    if (!text) return out.replaceChildren(notice("bad", "请输入统一社会信用代码或企业全称"));
    const ask = () => api("GET", `/api/wallet/enterprise?q=${enc(searchTerm(text))}`, { role: "citizen" });
    let res;
    if (choice) {
      // busy() would replace the button's text (name, role, code) with 正在查询….
      choice.disabled = true;
      choice.setAttribute("aria-busy", "true");
      out.replaceChildren(notice("info", "正在查询…"));
      try {
        res = await ask();
      } catch (err) {
        out.replaceChildren(notice("bad", explain(err)));
      } finally {
        choice.disabled = false;
        choice.removeAttribute("aria-busy");
      }
    } else {
      res = await busy(submit, "正在查询…", ask, out);
    }
    if (!res) return;
    // Keep the query in the address so 返回 from a certificate comes back to these results.
    history.replaceState(null, "", `#/wallet/enterprise?q=${enc(text)}`);
    for (const [code, b] of choices) b.setAttribute("aria-pressed", String(code === res.credit_code));
    for (const c of res.certificates) {
      cache.certs.set(c.id, c);
      cache.creditCodes.set(c.id, res.credit_code);
    }
    out.replaceChildren(enterpriseCard(res));
  };

  const picker = mine.err
    ? notice("bad", `暂时无法读取您可管理的企业：${explain(mine.err)}。您仍可在下方查询。`)
    : mine.list.length
      ? h("ul", { class: "plain ent-choices" }, mine.list.map((e) => {
        const b = h("button", { type: "button", class: "ent-choice", "aria-pressed": "false" },
          h("span", { class: "ent-choice-name" }, e.name),
          h("span", { class: "ent-choice-line" }, roleBadge(e.role), " ", h("span", { class: "mono" }, e.credit_code)));
        b.addEventListener("click", () => {
          q.value = e.credit_code;
          search(e.credit_code, b);
        });
        choices.set(e.credit_code, b);
        return h("li", {}, b);
      }))
      : notice("info", "您目前不是任何企业的法定代表人或证照管理员。法定代表人以市场监管部门的登记为准；证照管理员由法定代表人在本页任命。");

  const form = h("form", { novalidate: true, class: "search" },
    field("统一社会信用代码或企业全称", q), submit);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    search(q.value.trim());
  });
  if (q.value.trim()) queueMicrotask(() => search(q.value.trim()));
  return h("section", {},
    titled("企业证照", "/"),
    h("p", { class: "small" },
      "企业证照按这条链使用：法定代表人任命证照管理员，法定代表人或证照管理员再通过授权让经办人代为亮证办事（法定代表人 → 证照管理员 → 经办人（通过授权））。"),
    h("h3", {}, "我的企业"),
    picker,
    h("h3", {}, "查询企业证照"),
    form, out);
}

/** The chosen enterprise: how I act for it, its certificates and its administrators. */
function enterpriseCard(res) {
  return h("div", { class: "card-inner" },
    h("div", { class: "cert-title" }, h("h3", {}, res.name), " ", roleBadge(res.role)),
    h("p", { class: "muted small" }, "统一社会信用代码：", h("span", { class: "mono" }, res.credit_code)),
    h("h4", {}, "企业名下的电子证照"),
    res.certificates.length
      ? h("ul", { class: "list certs" }, res.certificates.map(certItem))
      : notice("info", "该企业暂无电子证照。"),
    res.certificates.length
      ? h("p", { class: "muted small" }, "点开证照可亮证，或授权经办人在指定事项中代为亮证。")
      : null,
    adminsPanel(res));
}

/**
 * 证照管理员: the legal representative sees them in full, appoints and removes them; an
 * administrator sees who else administers the enterprise (masked IDs).
 */
function adminsPanel(res) {
  const lead = res.role === "legal_rep";
  const list = h("div", {});
  const status = h("div", { "aria-live": "polite" });
  // The appointment's outcome under its own button, where the eye is after tapping it.
  const appointed = h("div", { "aria-live": "polite" });
  const draw = (admins) => list.replaceChildren(admins.length
    ? h("ul", { class: "list ent-admins" }, admins.map((a) => adminItem(a)))
    : h("p", { class: "muted small" }, "尚未任命证照管理员。"));

  const adminItem = (a) => {
    const nameId = `adm-${a.resident_id}`;
    const who = a.name ?? "姓名未登记";
    const li = h("li", {},
      h("div", { class: "ent-admin" },
        h("div", { class: "ent-admin-who" },
          h("strong", { id: nameId }, who),
          h("span", { class: "sub-line mono" }, `身份证号 ${a.resident_id}`),
          h("span", { class: "sub-line" },
            a.appointed_at != null ? `任命于 ${fmtDate(a.appointed_at)}` : "任命时间未记录"))));
    if (!lead) return li;
    const remove = h("button", { type: "button", class: "danger", "aria-describedby": nameId }, "移除");
    const slot = h("div", {});
    li.firstChild.append(remove);
    li.append(slot);
    remove.addEventListener("click", () => {
      remove.hidden = true;
      status.replaceChildren();
      appointed.replaceChildren();
      const confirm = h("button", { type: "button", class: "danger" }, "确认移除");
      const cancel = h("button", { type: "button" }, "取消");
      const failed = h("div", { "aria-live": "polite" });
      slot.replaceChildren(h("div", { class: "confirm", role: "group", "aria-label": `确认移除证照管理员${who}` },
        h("p", {}, `确定移除证照管理员 ${who} 吗？移除后，其以本企业证照签署的授权将全部撤销，经办人将不能再代为亮证。`),
        h("div", { class: "actions" }, confirm, cancel),
        failed));
      confirm.focus();
      cancel.addEventListener("click", () => {
        slot.replaceChildren();
        remove.hidden = false;
        remove.focus();
      });
      confirm.addEventListener("click", async () => {
        const done = await busy(confirm, "正在移除…", () => api("POST",
          `/api/wallet/enterprise/${enc(res.credit_code)}/admins/${enc(a.resident_id)}/remove`,
          { role: "citizen" }), failed);
        if (!done) return;
        res.admins = done.admins;
        draw(done.admins);
        const n = done.revoked_grants?.length ?? 0;
        status.replaceChildren(notice("ok", n
          ? `已移除证照管理员 ${who}。已撤销其签署的${n}项授权，相关经办人将不能再代为亮证。`
          : `已移除证照管理员 ${who}。其没有仍在生效的授权。`));
      });
    });
    return li;
  };

  draw(res.admins ?? []);
  return h("div", { class: "ent-admin-panel" },
    h("h4", {}, "证照管理员"),
    lead
      ? h("p", { class: "muted small" }, "证照管理员可以查询、亮证并授权经办人使用本企业的证照。只有法定代表人可以任命或移除。")
      : h("p", { class: "muted small" }, "证照管理员由企业法定代表人任命和移除。"),
    list, status,
    lead ? appointForm(res, draw, status, appointed) : null);
}

/** 任命管理员: name and ID as on the appointee's ID card; the ID is checked here first. */
function appointForm(res, draw, shared, status) {
  const name = h("input", { autocomplete: "off", maxlength: "50" });
  const rid = h("input", { autocomplete: "off", inputmode: "text", maxlength: "18", autocapitalize: "characters", spellcheck: "false" });
  const submit = h("button", { type: "submit", class: "primary" }, "任命管理员");
  const mark = (...bad) => {
    for (const el of [name, rid]) {
      if (bad.includes(el)) el.setAttribute("aria-invalid", "true");
      else el.removeAttribute("aria-invalid");
    }
  };
  const form = h("form", { novalidate: true, class: "ent-appoint", "aria-labelledby": "ent-appoint-title" },
    h("h4", { id: "ent-appoint-title" }, "任命新管理员"),
    field("管理员姓名", name),
    field("管理员身份证号", rid, "请按被任命人身份证上的姓名和号码填写，系统将与公安人口信息核对。"),
    submit,
    status);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    shared.replaceChildren();
    status.replaceChildren();
    const who = name.value.trim();
    if (!who) {
      mark(name);
      status.replaceChildren(notice("bad", "请填写管理员姓名"));
      name.focus();
      return;
    }
    let id;
    try {
      id = (await wasm()).checkResidentId(rid.value.trim().toUpperCase());
    } catch (err) {
      mark(rid);
      status.replaceChildren(notice("bad", explain(err)));
      rid.focus();
      return;
    }
    // The legal representative sees every administrator's full ID: a repeat needs no request.
    if ((res.admins ?? []).some((a) => a.resident_id === id)) {
      mark(rid);
      status.replaceChildren(notice("bad", explain({ code: "admin_exists", message: "" })));
      return;
    }
    mark();
    let done;
    submit.disabled = true;
    submit.textContent = "正在任命…";
    try {
      done = await api("POST", `/api/wallet/enterprise/${enc(res.credit_code)}/admins`,
        { role: "citizen", body: { resident_id: id, name: who } });
    } catch (err) {
      // The registry decides whether name and ID belong together: both are marked for checking.
      if (err.code === "appointee_unverified") mark(name, rid);
      else if (err.code === "admin_is_legal_rep" || err.code === "admin_exists") mark(rid);
      status.replaceChildren(notice("bad", explain(err)));
      return;
    } finally {
      submit.disabled = false;
      submit.textContent = "任命管理员";
    }
    res.admins = done.admins;
    draw(done.admins);
    name.value = "";
    rid.value = "";
    status.replaceChildren(notice("ok",
      `已任命 ${who}（${maskId(id)}）为证照管理员。其登录钱包后即可在“企业证照”中查询、亮证并授权经办人使用本企业的证照。`));
  });
  return form;
}
