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
 * 授权他人使用 from the certificate's detail: grantee, 指定事项 (one matter: its checkbox, by
 * name or code, or typed into 事项编码 + 添加事项 when the view offers no checkbox for it) or
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
    assert.ok(main.includes(matter.name) || main.includes(matter.code),
      `the grant preview does not name the matter ${matter.name} / ${matter.code}`);
  }
  await sign.click();
  await visible(page.getByText(/授权成功/));
}

/** Fills the 授权他人使用 form (without previewing). */
export async function fillGrant(page, { name, residentId, matter, duration = "1 天" }) {
  await visible(page.getByLabel("被授权人姓名"));
  await page.getByLabel("被授权人姓名").fill(name);
  await page.getByLabel("被授权人身份证号").fill(residentId);
  if (matter) {
    await page.getByRole("radio", { name: "指定事项" }).check();
    const box = page.getByRole("checkbox", { name: new RegExp(`${matter.name}|${matter.code}`) }).first();
    if (await box.isVisible()) {
      await box.check();
    } else {
      // No checkbox for the matter (the view lists only matters the certificate was used
      // for): type its code as from the 办事指南.
      await page.getByLabel("事项编码").fill(matter.code);
      await page.getByRole("button", { name: "添加事项" }).click();
      const added = await visible(page.getByRole("checkbox", { name: new RegExp(`${matter.name}|${matter.code}`) }));
      assert.ok(await added.isChecked(), "the matter added by its code is not ticked");
    }
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
