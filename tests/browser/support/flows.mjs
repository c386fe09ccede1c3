// What people do in the page, by role and visible Chinese label (the visible-text contract in
// the views), shared by the tests and the budget script.

import assert from "node:assert/strict";

import { QR, TIMEOUT } from "./demo.mjs";

/** A control people tap by its text, whether the view made it a button or a link. */
export function control(page, name) {
  const opts = { name, exact: true };
  return page.getByRole("button", opts).or(page.getByRole("link", opts)).first();
}

async function visible(locator, timeout = TIMEOUT.step) {
  await locator.first().waitFor({ state: "visible", timeout });
  return locator.first();
}

/**
 * 短信验证码登录 at the wallet node: phone, 获取验证码, the demo code shown on screen (演示验证码),
 * 登录; resolves once the wallet home's 我的证照 is visible.
 */
export async function walletLogin(page, walletUrl, person) {
  await page.goto(`${walletUrl}/#/login`);
  await visible(page.getByRole("heading", { name: "登录", exact: true }));
  const smsTab = page
    .getByRole("tab", { name: "短信验证码登录" })
    .or(page.getByRole("button", { name: "短信验证码登录" }))
    .or(page.getByRole("radio", { name: "短信验证码登录" }))
    .first();
  if (await smsTab.isVisible()) await smsTab.click();
  await page.getByLabel("手机号", { exact: true }).fill(person.phone);
  await page.getByRole("button", { name: "获取验证码" }).click();
  const shown = await visible(page.getByText("演示验证码"));
  // The code as printed on screen: the six digits beside 演示验证码.
  const text = await shown.evaluate((el) => (el.closest("p, div, section, output, span") ?? el).textContent);
  const code = /演示验证码\D*(\d{6})/.exec(text)?.[1] ?? /(?<!\d)(\d{6})(?!\d)/.exec(text)?.[1];
  assert.ok(code, `no six-digit demo code on screen beside 演示验证码: "${text}"`);
  await page.getByLabel("验证码", { exact: true }).fill(code);
  await page.getByRole("button", { name: "登录", exact: true }).click();
  await visible(page.getByRole("link", { name: "我的证照" }), TIMEOUT.step * 2);
}

/** 我的证照 → the certificate of `typeName` → 证照详情; returns its id from the route. */
export async function openCertificate(page, walletUrl, typeName) {
  await page.goto(`${walletUrl}/#/wallet/certs`);
  const link = await visible(page.getByRole("link", { name: new RegExp(typeName) }));
  await link.click();
  await page.waitForURL(/#\/wallet\/cert\/[^/]+$/);
  await visible(control(page, "亮证"));
  return decodeURIComponent(new URL(page.url()).hash.replace(/^#\/wallet\/cert\//, ""));
}

/**
 * 授权他人使用 from the certificate's detail: grantee, 指定事项 (one matter, ticked by its name) or
 * 全部事项, a duration radio (1 小时 / 1 天 / 7 天), 预览授权, 确认并签署授权, 授权成功.
 * `matter` is `{ code, name }` or null for all matters.
 */
export async function grant(page, { name, residentId, matter, duration = "1 天" }) {
  await control(page, "授权他人使用").click();
  await fillGrant(page, { name, residentId, matter, duration });
  await page.getByRole("button", { name: "预览授权" }).click();
  // The preview says who may do what, before anything is signed.
  const sign = await visible(page.getByRole("button", { name: "确认并签署授权" }));
  const main = await page.locator("main").innerText();
  assert.ok(main.includes(name), `the grant preview does not name the grantee ${name}`);
  if (matter) {
    assert.ok(main.includes(matter.name), `the grant preview does not name the matter ${matter.name}`);
  }
  await sign.click();
  await visible(page.getByText(/授权成功/));
}

/**
 * Fills the 授权他人使用 form (without previewing). 指定事项 lists the matters of the province's
 * directory where this certificate type replaces a material, each a checkbox named by the
 * matter's name (as the 办事指南 names it), never by its code.
 */
export async function fillGrant(page, { name, residentId, matter, duration = "1 天" }) {
  await visible(page.getByLabel("被授权人姓名"));
  await page.getByLabel("被授权人姓名").fill(name);
  await page.getByLabel("被授权人身份证号").fill(residentId);
  if (matter) {
    await page.getByRole("radio", { name: "指定事项" }).check();
    const box = await visible(page.getByRole("checkbox", { name: matter.name, exact: true }));
    await box.check();
  } else {
    await page.getByRole("radio", { name: "全部事项" }).check();
  }
  await page.getByRole("radio", { name: duration, exact: true }).check();
}

/** The QR element of a 亮证 view, once its SVG is drawn. */
export async function qrShown(page) {
  await page.locator(`${QR} svg`).first().waitFor({ state: "visible", timeout: TIMEOUT.step });
  return page.locator(QR).first();
}

/** 授权给我的证照 → 代为亮证 for the grant on `typeName`; resolves with the QR on screen. */
export async function showReceived(page, walletUrl, typeName) {
  await page.goto(`${walletUrl}/#/wallet/received`);
  await visible(control(page, "代为亮证"));
  // The grant on that certificate type when the list names it, else the first one.
  const item = page.locator("li").filter({ hasText: typeName }).filter({ has: control(page, "代为亮证") });
  await ((await item.count()) ? control(item.first(), "代为亮证") : control(page, "代为亮证")).click();
  await page.waitForURL(/#\/wallet\/show-grant\//);
  return qrShown(page);
}

// ---------------------------------------------------------------------------------------------
// The counter.

/** Clerk login at the counter page (工号, 密码, 登录); resolves at the matter choice. */
export async function counterLogin(page, nodeUrl, clerk) {
  await page.goto(`${nodeUrl}/#/counter`);
  await page.getByLabel("工号").fill(clerk.id);
  await page.getByLabel("密码", { exact: true }).fill(clerk.password);
  await page.getByRole("button", { name: "登录", exact: true }).click();
  await visible(page.getByLabel("办理事项"));
}

/** 办理事项 → the matter (by name), its materials with 可用电子证照, 开始受理 → the case view. */
export async function startCase(page, matterName) {
  const select = await visible(page.getByLabel("办理事项"));
  const value = await select.evaluate(
    (sel, name) => [...sel.options].find((o) => o.textContent.includes(name))?.value ?? null,
    matterName,
  );
  assert.ok(value !== null, `办理事项 has no option named ${matterName}`);
  await select.selectOption(value);
  await visible(page.getByText("可用电子证照"));
  await page.getByRole("button", { name: "开始受理" }).click();
  await visible(page.getByLabel("亮证码", { exact: true }));
}

/** Types the decoded 亮证码 into the 亮证码 field and presses Enter, as a keyboard-wedge scanner does. */
export async function scan(page, text) {
  const input = page.getByLabel("亮证码", { exact: true });
  await input.waitFor({ state: "visible" });
  await input.fill("");
  await input.focus();
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

// ---------------------------------------------------------------------------------------------
// The 亮证 page's reports to the province.

const CURRENT = "/api/wallet/presentations/current";

/**
 * Watches what a 亮证 page tells the province (POST /api/wallet/presentations/current: "this
 * code is now the current one"). Start it before the code appears; `answered(text)` resolves
 * with the HTTP status once the node has answered the report of that exact code, so a test
 * knows the older codes are dead before it scans one (instead of sleeping).
 */
export function presentationReports(page) {
  const answers = new Map(); // code text → status
  const waiting = new Map(); // code text → [resolve]
  page.on("response", (res) => {
    const req = res.request();
    if (req.method() !== "POST" || new URL(res.url()).pathname !== CURRENT) return;
    let text = null;
    try {
      text = req.postDataJSON()?.text ?? null;
    } catch {
      return;
    }
    answers.set(text, res.status());
    for (const resolve of waiting.get(text) ?? []) resolve(res.status());
    waiting.delete(text);
  });
  return {
    answered(text, timeout = TIMEOUT.step) {
      if (answers.has(text)) return Promise.resolve(answers.get(text));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the 亮证 page did not report its code to the province within ${timeout} ms (${CURRENT})`)),
          timeout,
        );
        const list = waiting.get(text) ?? [];
        list.push((status) => {
          clearTimeout(timer);
          resolve(status);
        });
        waiting.set(text, list);
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// What a view shows.

/**
 * The label → value pairs of the view's definition lists (证照详情's 持证人, 作业项目, …), as
 * a person reads them: each term with the description that follows it.
 */
export async function shownPairs(page) {
  return page.locator("main").evaluate((main) => {
    const out = {};
    for (const dt of main.querySelectorAll("dt")) {
      const dd = dt.nextElementSibling;
      if (dd?.tagName === "DD" && dt.checkVisibility() && dd.checkVisibility()) {
        out[dt.innerText.trim()] = dd.innerText.trim();
      }
    }
    return out;
  });
}

// ---------------------------------------------------------------------------------------------
// The fund centre's back office.

/** Reviewer login at `#/review` (工号, 密码, 登录); resolves at the queue (待审核). */
export async function reviewLogin(page, nodeUrl, reviewer) {
  await page.goto(`${nodeUrl}/#/review`);
  await page.getByLabel("工号").fill(reviewer.id);
  await page.getByLabel("密码", { exact: true }).fill(reviewer.password);
  await page.getByRole("button", { name: "登录", exact: true }).click();
  await visible(control(page, "待审核"));
}

/**
 * Repeats `attempt` (which does what a person does to look again, e.g. taps 刷新状态, and
 * returns a truthy value once the awaited outcome is on screen) until it succeeds or `timeout`
 * passes. For outcomes that depend on another node's background delivery; `interval` only
 * spaces the looks, it synchronises nothing.
 */
export async function until(what, attempt, { timeout = TIMEOUT.step * 2, interval = 500 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await attempt();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, interval));
  }
}
