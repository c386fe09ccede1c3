// 证照公示查询 (scenario 5): anyone, signed in or not, finds the permits an enterprise must
// disclose by part of its name. The node answers only the fields the catalog marks disclosable,
// for enterprises only, with the status as of the answer; this view shows exactly those and
// nothing of any person. Loaded on demand: few wallet visits are public searches.

import { h, field, notice, explain, advise, Problem, titled, fmtDate, fmtTime } from "/app/app.js";

const enc = encodeURIComponent;

advise({
  search_query_missing: "请输入企业名称中的关键词后再查询",
  search_query_too_short: "请至少输入企业名称中的两个字（例如企业的字号）后再查询",
  search_query_too_long: "输入的企业名称过长，请输入企业名称中最有辨识度的部分（不超过60个字）",
  search_query_wildcard: "查询条件不能包含 %、_、*、? 等通配符，请直接输入企业名称中的文字",
  search_too_broad: "匹配的企业过多，请输入更完整的企业名称（例如加上字号或所在地）",
  search_params_invalid: "查询条件有误，请刷新页面后重新输入企业名称查询",
  search_limit_invalid: "查询条件有误，请刷新页面后重新输入企业名称查询",
  search_type_invalid: "查询条件有误，请刷新页面后重新输入企业名称查询",
});

/** The public status → badge colour; the label comes with the answer (status_label). */
const STATUS = {
  valid: ["有效", "ok"],
  expiring: ["即将到期", "warn"],
  expired: ["已过期", "bad"],
  revoked: ["已注销", "bad"],
  not_yet_valid: ["尚未生效", ""],
};

/** Where to ask or complain; the same two numbers the node sends with every answer. */
const HOTLINES = [
  ["12345", "政务服务便民热线"],
  ["12369", "环保举报热线"],
];

/** The fields every card shows first, in this order; any other disclosable field follows. */
const SHOWN_FIRST = ["许可证编号", "单位名称", "有效期限", "发证机关"];

const badge = (text, kind) => h("span", { class: `badge ${kind}` }, text);

/**
 * GET /api/public/disclosures. Not app.js's api(): a refusal for searching too often carries
 * the wait in the Retry-After header, which api() does not keep, and this call has no session.
 * Rejects with a Problem; `retryAfter` (seconds) is set for rate_limited.
 */
async function search(text) {
  let res;
  try {
    res = await fetch(`/api/public/disclosures?q=${enc(text)}`, { headers: { accept: "application/json" } });
  } catch {
    throw new Problem(0, "network_unreachable", "网络连接失败");
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new Problem(res.status, data?.code ?? `http_${res.status}`, data?.title, data?.detail, data);
    const wait = Number.parseInt(res.headers.get("retry-after") ?? "", 10);
    if (wait > 0) err.retryAfter = wait;
    throw err;
  }
  return data;
}

/** #/public?q=…: the search field, the results as cards and the hotlines. No login needed. */
export function publicView(_params, query) {
  const q = h("input", {
    type: "search", value: query.get("q") ?? "", placeholder: "输入企业名称中的关键词",
    autocomplete: "organization", enterkeyhint: "search", maxlength: "80",
  });
  const submit = h("button", { type: "submit", class: "primary" }, "查询");
  const out = h("div", { class: "pub-out", "aria-live": "polite" });
  let timer = null;
  let waiting = false;

  /** After 429: the button stays off, counting down the seconds the node asked for. */
  const holdOff = (seconds) => {
    clearInterval(timer);
    let left = seconds;
    waiting = true;
    submit.disabled = true;
    const tick = () => {
      if (left <= 0) {
        clearInterval(timer);
        timer = null;
        waiting = false;
        submit.disabled = false;
        submit.textContent = "查询";
        return;
      }
      submit.textContent = `${left} 秒后可查询`;
      left -= 1;
    };
    tick();
    timer = setInterval(tick, 1000);
  };

  const run = async (text) => {
    if (waiting) return;
    if (!text) {
      q.setAttribute("aria-invalid", "true");
      out.replaceChildren(notice("bad", explain(new Problem(400, "search_query_missing"))));
      q.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "正在查询…";
    out.replaceChildren(notice("info", "正在向发证机关查询…"));
    let answer;
    try {
      answer = await search(text);
    } catch (err) {
      submit.disabled = false;
      submit.textContent = "查询";
      if (err.code === "rate_limited") {
        const wait = err.retryAfter ?? 60;
        out.replaceChildren(notice("bad", `查询过于频繁，请等待 ${wait} 秒后再查询。`));
        holdOff(wait);
        return;
      }
      // The node refuses what looks like an attempt to list the register; the field is what to fix.
      if (err.status === 400) q.setAttribute("aria-invalid", "true");
      out.replaceChildren(notice("bad", explain(err)));
      return;
    }
    submit.disabled = false;
    submit.textContent = "查询";
    q.removeAttribute("aria-invalid");
    // Keep the query in the address, so a reload or a shared link shows the same search.
    history.replaceState(null, "", `#/public?q=${enc(text)}`);
    out.replaceChildren(results(text, answer));
  };

  const form = h("form", { novalidate: true, class: "search", role: "search", "aria-label": "证照公示查询" },
    field("企业名称", q), submit);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run(q.value.trim());
  });
  q.addEventListener("input", () => q.removeAttribute("aria-invalid"));
  if (q.value.trim()) queueMicrotask(() => run(q.value.trim()));

  const node = h("div", {},
    h("section", {},
      titled("证照公示查询", "/"),
      h("p", { class: "small" },
        "查询企业依法公示的证照（如排污许可证）的许可证编号、单位名称、有效期限和发证机关，无需登录。"),
      form,
      h("p", { class: "muted small" }, "请输入企业名称中的至少两个字，例如字号；每次最多显示 20 条结果。"),
      out),
    hotlines());
  return { node, leave: () => clearInterval(timer) };
}

/** The answer: how many matched, a warning for any issuing system that could not be asked,
 * and one card per certificate, best match first. */
function results(text, answer) {
  const list = answer.results ?? [];
  if (!list.length) {
    return notice("info", `未找到名称包含“${text}”的企业的公示证照。请核对企业名称后重试。`);
  }
  const head = answer.truncated
    ? `共有 ${answer.total} 条匹配，显示最相关的 ${list.length} 条。请输入更完整的企业名称以缩小范围。`
    : `找到 ${list.length} 条公示证照。`;
  return h("div", {},
    h("p", { class: "small pub-count" }, head),
    (answer.unavailable ?? []).map((u) => notice("warn",
      `${u.name}暂时无法访问，其证照信息来自省级目录的副本，可能不是最新状态。`)),
    h("ul", { class: "plain pub-results", "aria-label": "查询结果" }, list.map(card)));
}

/** One certificate: its disclosable fields, the status badge beside the validity, and where
 * the data came from. */
function card(c) {
  const [fallbackLabel, kind] = STATUS[c.status] ?? [c.status, ""];
  const fields = c.fields ?? {};
  const validity = fields["有效期限"] ??
    (c.valid_until != null ? `自${fmtDate(c.valid_from)}至${fmtDate(c.valid_until - 1)}` : `自${fmtDate(c.valid_from)}起长期有效`);
  const left = c.status === "expiring" && c.days_left != null ? `还有 ${c.days_left} 天到期` : null;
  const rows = [
    ["许可证编号", c.permit_number ?? fields["许可证编号"], "mono"],
    ["单位名称", c.enterprise_name],
    ["有效期限", [validity, " ", badge(c.status_label ?? fallbackLabel, kind), left ? [" ", h("span", { class: "muted small" }, left)] : null]],
    ["发证机关", c.issuer_name ?? fields["发证机关"]],
    // Whatever else the catalog makes public for this type, as sealed.
    ...Object.entries(fields).filter(([k]) => !SHOWN_FIRST.includes(k)).map(([k, v]) => [k, v]),
  ].filter(([, v]) => v !== undefined && v !== null && v !== "");
  const fromIndex = c.source === "index";
  return h("li", { class: `card-inner pub-card${fromIndex ? " pub-stale" : ""}` },
    h("div", { class: "cert-title" }, h("h3", {}, c.enterprise_name)),
    h("p", { class: "muted small pub-type" }, c.type_name),
    h("dl", { class: "kv" }, rows.map(([k, v, cls]) => [h("dt", {}, k), h("dd", { class: cls }, v)])),
    fromIndex
      ? h("p", { class: "small pub-source warn-text" },
        `${c.held_by}暂时无法访问，本条来自省级目录的副本（${fmtTime(c.as_of)} 更新），可能不是最新状态。`)
      : h("p", { class: "muted small pub-source" }, `数据来自发证机关，截至查询时（${fmtTime(c.as_of)}）。`));
}

/** Where to ask about a permit or report a polluter: tappable on a phone. */
function hotlines() {
  return h("section", { class: "pub-foot", "aria-labelledby": "pub-foot-title" },
    h("h3", { id: "pub-foot-title" }, "咨询与举报"),
    h("p", { class: "small" }, "对公示信息有疑问，或发现企业无证、超期排污等问题，请拨打："),
    h("ul", { class: "plain pub-lines" }, HOTLINES.map(([number, name]) =>
      h("li", {}, h("a", { href: `tel:${number}`, class: "button block" }, `${number} ${name}`)))));
}
