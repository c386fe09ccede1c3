// Scenario 1 of the pilot notice (场景一, 特种设备作业人员证 for 建筑起重机械设备使用登记 in
// Luohe), as people do it, in three browser contexts: the holder's phone (张伟), the staffer's
// phone (李娜, 漯河市安达建筑机械有限公司's 经办人) and the Luohe counter's desktop (王芳).
// Step numbers (1)–(7) are those of the notice's 业务流程说明 for scenario 1.

import { describe, before, after, test } from "node:test";
import assert from "node:assert/strict";

import {
  CRANE_MATTER, NODES, OPERATOR_CERT, PEOPLE, TIMEOUT,
  desktopContext, errorGuard, launch, phoneContext, readQr, shot, startDemo, story, waitForNewQr, qrMarkup,
} from "./support/demo.mjs";
import {
  control, counterLogin, grant, openCertificate, scan, showReceived, startCase, walletLogin,
} from "./support/flows.mjs";

const NAME = "scenario1";

describe("场景一：授权他人使用，窗口扫码调阅（郑州颁发 → 漯河受理）", { timeout: TIMEOUT.test * 3 }, () => {
  let demo, browser, holder, staffer, counter, guard;
  let zhang, li, clerk;
  let firstCode;
  const step = story(test, { name: NAME, pages: () => ({ holder, staffer, counter }) });

  before(async () => {
    demo = await startDemo(NAME);
    browser = await launch();
    guard = errorGuard();
    zhang = demo.resident(PEOPLE.ZHANG_WEI);
    li = demo.resident(PEOPLE.LI_NA);
    clerk = demo.clerk(NODES.luohe.region);
    holder = guard.watch(await (await phoneContext(browser)).newPage(), "holder");
    staffer = guard.watch(await (await phoneContext(browser)).newPage(), "staffer");
    counter = guard.watch(await (await desktopContext(browser)).newPage(), "counter");
  }, { timeout: TIMEOUT.start + 60_000 });

  after(async () => {
    try {
      guard?.assertNone(); // errors logged after the last step's own check
    } finally {
      await browser?.close();
      await demo?.stop();
    }
  });

  step("持证人登录钱包（短信验证码），并限时授权李娜办理建筑起重机械设备使用登记", async () => {
    // Before (2): 持证人实名登录“豫事办”后，关联其特种设备作业人员证，通过“授权他人使用”
    // 限时授权给企业办事人员 — here for the crane matter only, for 1 天.
    await walletLogin(holder, zhang.wallet, zhang);
    await openCertificate(holder, zhang.wallet, OPERATOR_CERT);
    await grant(holder, { name: li.name, residentId: li.residentId, matter: CRANE_MATTER, duration: "1 天" });
    await shot(holder, NAME, "holder-grant-done");
    guard.assertNone();
  });

  step("(1) 窗口受理：工作人员登录，选择建筑起重机械设备使用登记，材料清单标明可用电子证照", async () => {
    // (1) The applicant applies at the Luohe hall; the materials list marks the operator
    // certificate as replaced by the e-certificate (one material fewer).
    await counterLogin(counter, demo.luohe, clerk);
    await startCase(counter, CRANE_MATTER.name);
    await shot(counter, NAME, "counter-case-open");
    guard.assertNone();
  });

  step("(2) 被授权人登录自己的钱包，在授权给我的证照中代为亮证", async () => {
    // (2) 申请人登录自己的“豫事办”，出示持证人授权自己应用的证照，点出“亮证码”.
    await walletLogin(staffer, li.wallet, li);
    await showReceived(staffer, li.wallet, OPERATOR_CERT);
    await staffer.getByText(/秒后自动刷新/).first().waitFor();
    firstCode = await readQr(staffer);
    assert.match(firstCode, /^EC1:/i, `the decoded 亮证码 is not a presentation: ${firstCode.slice(0, 40)}`);
    await shot(staffer, NAME, "staffer-show-grant");
    guard.assertNone();
  });

  step("(3)–(7) 窗口扫码：证照经漯河→河南省→郑州调阅，印章核验通过，申请人确认后关联，打印存档", async () => {
    // (3) The scanner reads the QR (decoded from the staffer's screen) and types it + Enter.
    await scan(counter, firstCode);
    // (4)–(6) 漯河市 → 河南省 → 郑州市 (A 市): the result names the nodes on the path.
    const card = counter.getByText("印章核验通过").first();
    await card.waitFor({ state: "visible", timeout: TIMEOUT.step * 2 });
    await counter.getByText(OPERATOR_CERT).first().waitFor();
    await counter.getByText("调阅路径").first().waitFor();
    const body = await counter.locator("main").innerText();
    const at = body.indexOf("调阅路径");
    const pathText = body.slice(at);
    const order = ["漯河市", "河南省", "郑州市"].map((n) => pathText.indexOf(n));
    assert.ok(order.every((i) => i >= 0) && order[0] < order[1] && order[1] < order[2],
      `调阅路径 does not read 漯河市 → 河南省 → 郑州市: ${pathText.slice(0, 200)}`);
    assert.ok(body.includes(PEOPLE.ZHANG_WEI) || /张\*|张\S*伟/.test(body),
      `the holder's name is not on the result card: ${body.slice(0, 300)}`);
    await shot(counter, NAME, "counter-retrieved");
    // (7) 经申请人当场确认后关联引用.
    await counter.getByRole("button", { name: "申请人确认" }).click();
    const attached = counter.getByText(/已关联/).first();
    await attached.waitFor();
    // The verification code the counter announces, to find again on the archive copy.
    const noted = /核验码\s*[:：]?\s*([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})/.exec(await attached.innerText())?.[1] ?? null;
    // 需要纸质存档的可自动打印存档: the archive copy carries the verification code.
    const popup = counter.context().waitForEvent("page", { timeout: TIMEOUT.step }).catch(() => null);
    await control(counter, "打印存档").click();
    const archive = await Promise.race([
      counter.waitForURL(/#\/counter\/archive\//, { timeout: TIMEOUT.step }).then(() => counter),
      popup.then((p) => p ?? new Promise(() => {})),
    ]);
    if (archive !== counter) guard.watch(archive, "archive");
    await archive.waitForURL(/#\/counter\/archive\//);
    await archive.getByText("核验码", { exact: true }).first().waitFor();
    const archiveText = await archive.locator("main").innerText();
    const code = /核验码\s*[:：]?\s*([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})/.exec(archiveText)?.[1];
    assert.ok(code, `no verification code beside 核验码 on the archive copy: ${archiveText.slice(0, 300)}`);
    if (noted) assert.equal(code, noted, "the archive copy's 核验码 differs from the one announced at 已关联");
    assert.ok(archiveText.includes(OPERATOR_CERT), "the archive copy does not name the certificate");
    await shot(archive, NAME, "counter-archive");
    if (archive !== counter) await archive.close();
    guard.assertNone();
  });

  step("办结并由申请人评价", async () => {
    // Back at the case: 办结, then the applicant's evaluation, then the next applicant.
    await counter.goBack();
    await counter.waitForURL(/#\/counter\/case\//);
    await counter.getByRole("button", { name: "办结" }).click();
    await counter.getByText(/办件已办结/).first().waitFor();
    await counter.getByRole("radio", { name: /5 分/ }).check();
    await counter.getByRole("button", { name: "提交评价" }).click();
    await counter.getByText(/评价已提交/).first().waitFor();
    await shot(counter, NAME, "counter-finished");
    guard.assertNone();
  });

  step("持证人撤销授权；被授权人刷新后的亮证码在窗口被拒绝（该授权已被撤销）", async () => {
    await holder.goto(`${zhang.wallet}/#/`);
    await holder.getByRole("link", { name: "我的授权" }).click();
    await holder.getByRole("button", { name: "撤销授权" }).first().click();
    await holder.getByRole("button", { name: "确认撤销" }).click();
    await holder.getByText(/已撤销/).first().waitFor();
    await shot(holder, NAME, "holder-revoked");

    // The staffer's phone does not know yet; after a refresh it shows a new QR.
    const before = await qrMarkup(staffer);
    await staffer.getByRole("button", { name: "立即刷新" }).click();
    await waitForNewQr(staffer, before);
    const code = await readQr(staffer);
    assert.notEqual(code, firstCode, "立即刷新 showed the same 亮证码");
    await shot(staffer, NAME, "staffer-after-revocation");

    // The next scan at the counter: a fresh case for the same matter.
    await counter.goto(`${demo.luohe}/#/counter`);
    await startCase(counter, CRANE_MATTER.name);
    guard.allowRefusals();
    await scan(counter, code);
    await counter.getByText("该授权已被撤销").first().waitFor({ timeout: TIMEOUT.step * 2 });
    assert.equal(await counter.getByText("印章核验通过").count(), 0, "a revoked grant still shows a certificate");
    await shot(counter, NAME, "counter-revoked-grant");
    guard.disallowAll();
    guard.assertNone();
  });
});
