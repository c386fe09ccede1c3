// Every view at a phone's 360 px: no sideways scroll, every control named, no console errors,
// and a screenshot of each into target/browser/. The wallet views are seen by 张伟 with his
// certificate and a grant to 李娜 present (李娜 sees the received side); the counter's at
// 360 px too, since a clerk may use a tablet or a narrow window.

import { describe, before, after, test } from "node:test";
import assert from "node:assert/strict";

import {
  CRANE_MATTER, NODES, OPERATOR_CERT, PEOPLE, TIMEOUT,
  assertControlsNamed, assertNoHorizontalScroll, errorGuard, launch, phoneContext, readQr, shot, startDemo, story,
} from "./support/demo.mjs";
import {
  control, counterLogin, fillGrant, openCertificate, qrShown, scan, showReceived, shownPairs, startCase, walletLogin,
} from "./support/flows.mjs";

const NAME = "views-360";
const ANDA = "漯河市安达建筑机械有限公司";
/** 张伟's 特种设备作业人员证 as Zhengzhou issued it (server/src/demo/issued.rs `certificates`). */
const OPERATOR_FIELDS = {
  持证人: /^张伟（410102\*+0313）$/,
  颁发机构: "郑州市市场监督管理局",
  证照所在: /^郑州市/,
  电子印章: /印章有效/,
  作业项目: "起重机司机",
  项目代号: "Q2",
  证书编号: /^TZ4101\d{4}000318$/,
  发证日期: /^\d{4}-\d{2}-\d{2}$/,
  复审日期: /^\d{4}-\d{2}-\d{2}$/,
  住址: "郑州市中原区建设路12号院",
};

describe("每个视图在 360 px 宽：无横向滚动、控件有名称、无控制台错误", { timeout: TIMEOUT.test * 6 }, () => {
  let demo, browser, guard, zhang, li, clerk;
  let holder, staffer, counter;
  let certId, grantShown;

  before(async () => {
    demo = await startDemo(NAME);
    browser = await launch();
    guard = errorGuard();
    zhang = demo.resident(PEOPLE.ZHANG_WEI);
    li = demo.resident(PEOPLE.LI_NA);
    clerk = demo.clerk(NODES.luohe.region);
    holder = guard.watch(await (await phoneContext(browser)).newPage(), "holder");
    staffer = guard.watch(await (await phoneContext(browser)).newPage(), "staffer");
    counter = guard.watch(await (await phoneContext(browser)).newPage(), "counter");
  }, { timeout: TIMEOUT.start + 60_000 });

  after(async () => {
    try {
      guard?.assertNone(); // errors logged after the last step's own check
    } finally {
      await browser?.close();
      await demo?.stop();
    }
  });

  /** The checks every view gets, then its screenshot. */
  async function check(page, view) {
    await page.locator("#view[aria-busy]").waitFor({ state: "detached" });
    await assertNoHorizontalScroll(page, view);
    await assertControlsNamed(page, view);
    await shot(page, NAME, view);
    guard.assertNone();
  }
  const view = story(test, { name: NAME, chain: false, pages: () => ({ holder, staffer, counter }) });

  view("#/login 登录（未登录）", async () => {
    await holder.goto(`${zhang.wallet}/#/login`);
    await holder.getByRole("heading", { name: "登录", exact: true }).waitFor();
    await holder.getByLabel("手机号", { exact: true }).waitFor();
    await check(holder, "wallet-login");
  });

  view("#/login 密码登录", async () => {
    await holder.goto(`${zhang.wallet}/#/login`);
    await holder.getByRole("button", { name: "密码登录" }).click();
    await holder.getByLabel("身份证号").waitFor();
    await holder.getByLabel("密码", { exact: true }).waitFor();
    await check(holder, "wallet-login-password");
  });

  view("#/register 注册", async () => {
    await holder.goto(`${zhang.wallet}/#/register`);
    await holder.getByRole("heading", { name: "注册" }).waitFor();
    await check(holder, "wallet-register");
  });

  view("#/ 钱包首页", async () => {
    await walletLogin(holder, zhang.wallet, zhang);
    for (const name of ["我的证照", "我的授权", "授权给我的证照", "企业证照", "用证记录"]) {
      await holder.getByRole("link", { name }).first().waitFor();
    }
    await holder.getByRole("button", { name: "退出登录" }).waitFor();
    await check(holder, "wallet-home");
  });

  view("#/wallet/certs 我的证照", async () => {
    await holder.goto(`${zhang.wallet}/#/wallet/certs`);
    await holder.getByRole("link", { name: new RegExp(OPERATOR_CERT) }).first().waitFor();
    await check(holder, "wallet-certs");
  });

  view("#/wallet/cert/<id> 证照详情：郑州持有的原件，本机核验印章，显示证照内容", async () => {
    certId = await openCertificate(holder, zhang.wallet, OPERATOR_CERT);
    for (const name of ["亮证", "授权他人使用", "提出异议"]) await control(holder, name).waitFor();
    // The province fetched the holder's copy from Zhengzhou, the node that keeps it; the seal
    // is checked here in the browser (WebAssembly) before the fields are shown.
    await holder.getByText("印章有效", { exact: true }).first().waitFor();
    assert.equal(await holder.getByText("印章核验未通过").count(), 0, "the detail shows a failed seal check");
    const shown = await shownPairs(holder);
    const want = OPERATOR_FIELDS;
    for (const [label, value] of Object.entries(want)) {
      const got = shown[label];
      assert.ok(got !== undefined, `证照详情 does not show ${label}; it shows: ${JSON.stringify(shown)}`);
      assert.ok(value instanceof RegExp ? value.test(got) : got === value, `证照详情 ${label}: "${got}", expected ${value}`);
    }
    // 复审 four years after issue (server/src/demo/issued.rs `operator`).
    const days = (Date.parse(shown["复审日期"]) - Date.parse(shown["发证日期"])) / 86_400_000;
    assert.equal(days, 4 * 365, `复审日期 ${shown["复审日期"]} is not four years after 发证日期 ${shown["发证日期"]}`);
    await check(holder, "wallet-cert-detail");
  });

  view("#/wallet/cert/<id> 证照详情：原件被改动时显示印章核验未通过，不显示被改的内容", async () => {
    // The copy as the node sends it, with one field changed on the way (起重机司机 → 起重机指挥,
    // the same number of bytes): only a seal check in the browser can notice.
    const path = `/api/wallet/certificates/${encodeURIComponent(certId)}`;
    const tampered = (url) => new URL(url).pathname === path;
    let changed = false;
    await holder.route(tampered, async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      const raw = Buffer.from(body.sealed ?? "", "base64url");
      const at = raw.indexOf(Buffer.from("起重机司机"));
      if (at >= 0) {
        Buffer.from("起重机指挥").copy(raw, at);
        body.sealed = raw.toString("base64url");
        changed = true;
      }
      await route.fulfill({ response: res, json: body });
    });
    try {
      await holder.goto(`${zhang.wallet}/#/wallet/certs`);
      await holder.goto(`${zhang.wallet}/#/wallet/cert/${encodeURIComponent(certId)}`);
      await holder.getByText("印章核验未通过").first().waitFor();
      assert.ok(changed, "the certificate's copy as sent to the page has no 作业项目 起重机司机 to change");
      assert.equal(await holder.getByText("印章有效", { exact: true }).count(), 0, "a changed copy still shows 印章有效");
      assert.equal(await holder.getByText("起重机指挥").count(), 0, "the changed field is shown as if it were sealed");
      await check(holder, "wallet-cert-detail-tampered");
    } finally {
      await holder.unroute(tampered);
    }
  });

  view("#/wallet/grant/<certId> 授权他人使用（预览）", async () => {
    // Through the list: the tampered detail above is still on screen, and going to the same
    // address again would not draw it anew.
    await holder.goto(`${zhang.wallet}/#/wallet/certs`);
    await holder.goto(`${zhang.wallet}/#/wallet/cert/${encodeURIComponent(certId)}`);
    await holder.getByText("印章有效", { exact: true }).first().waitFor();
    await control(holder, "授权他人使用").click();
    await holder.waitForURL(/#\/wallet\/grant\//);
    // 指定事项 offers the matters by name, as the 办事指南 names them: no code as a label.
    await holder.getByRole("radio", { name: "指定事项" }).check();
    await holder.getByRole("checkbox", { name: CRANE_MATTER.name, exact: true }).waitFor();
    const codeNamed = holder.getByRole("checkbox", { name: /\d{6}-[A-Z]+-\d{4}/ });
    assert.equal(await codeNamed.count(), 0, "a 指定事项 checkbox is named by a matter code instead of its name");
    await fillGrant(holder, { name: li.name, residentId: li.residentId, matter: CRANE_MATTER, duration: "1 天" });
    await check(holder, "wallet-grant-form");
    await holder.getByRole("button", { name: "预览授权" }).click();
    await holder.getByRole("button", { name: "确认并签署授权" }).waitFor();
    await check(holder, "wallet-grant-preview");
    await holder.getByRole("button", { name: "确认并签署授权" }).click();
    await holder.getByText(/授权成功/).first().waitFor();
    await check(holder, "wallet-grant-done");
  });

  view("#/wallet/show/<certId> 亮证", async () => {
    await holder.goto(`${zhang.wallet}/#/wallet/show/${encodeURIComponent(certId)}`);
    await qrShown(holder);
    await holder.getByText(/秒后自动刷新/).first().waitFor();
    await holder.getByRole("button", { name: "立即刷新" }).waitFor();
    await holder.getByText(/调高屏幕亮度/).first().waitFor();
    await readQr(holder); // the QR must be readable at a phone's size
    await check(holder, "wallet-show");
  });

  view("#/wallet/grants 我的授权", async () => {
    await holder.goto(`${zhang.wallet}/#/wallet/grants`);
    await holder.getByText("生效中").first().waitFor();
    await holder.getByRole("button", { name: "撤销授权" }).first().waitFor();
    await check(holder, "wallet-grants");
    await holder.getByRole("button", { name: "撤销授权" }).first().click();
    await holder.getByRole("button", { name: "确认撤销" }).waitFor();
    await check(holder, "wallet-grants-confirm");
    // Leave the grant in force for the received side below.
    await holder.goto(`${zhang.wallet}/#/wallet/grants`);
  });

  view("#/wallet/enterprise 企业证照", async () => {
    await holder.goto(`${zhang.wallet}/#/wallet/enterprise`);
    await holder.getByLabel("统一社会信用代码或企业全称").waitFor();
    await holder.getByRole("button", { name: "查询" }).waitFor();
    await check(holder, "wallet-enterprise");
  });

  view("#/wallet/object/<certId> 提出异议", async () => {
    await holder.goto(`${zhang.wallet}/#/wallet/cert/${encodeURIComponent(certId)}`);
    await control(holder, "提出异议").click();
    await holder.waitForURL(/#\/wallet\/object\//);
    await holder.getByRole("heading", { name: "提出异议" }).waitFor();
    await check(holder, "wallet-object");
  });

  view("#/wallet/objections 我的异议", async () => {
    await holder.goto(`${zhang.wallet}/#/wallet/objections`);
    await holder.getByRole("heading", { name: "我的异议" }).waitFor();
    await check(holder, "wallet-objections");
  });

  view("#/wallet/liveness 实人认证", async () => {
    await holder.goto(`${zhang.wallet}/#/wallet/liveness`);
    await holder.getByRole("heading", { name: "实人认证" }).waitFor();
    await check(holder, "wallet-liveness");
  });

  view("#/wallet/usage 用证记录", async () => {
    await holder.goto(`${zhang.wallet}/#/wallet/usage`);
    await holder.getByRole("heading", { name: /用证记录/ }).first().waitFor();
    await check(holder, "wallet-usage");
  });

  view("#/wallet/received 授权给我的证照（李娜）", async () => {
    await walletLogin(staffer, li.wallet, li);
    await staffer.goto(`${li.wallet}/#/wallet/received`);
    await control(staffer, "代为亮证").waitFor();
    await check(staffer, "wallet-received");
  });

  view("#/wallet/received 授权给我的证照 names the certificate type (李娜 must know what she shows)", async () => {
    await staffer.goto(`${li.wallet}/#/wallet/received`);
    await control(staffer, "代为亮证").waitFor();
    const item = staffer.locator("li").filter({ has: control(staffer, "代为亮证") }).first();
    const text = await item.innerText();
    assert.ok(text.includes(OPERATOR_CERT), `the received grant does not name ${OPERATOR_CERT}: "${text.replace(/\s+/g, " ")}"`);
  });

  view("#/wallet/enterprise 企业证照查询结果（李娜，安达的经办人）", async () => {
    await staffer.goto(`${li.wallet}/#/wallet/enterprise`);
    await staffer.getByLabel("统一社会信用代码或企业全称").fill(ANDA);
    await staffer.getByRole("button", { name: "查询" }).click();
    await staffer.getByRole("heading", { name: ANDA }).waitFor();
    await check(staffer, "wallet-enterprise-result");
  });

  view("#/wallet/show-grant/<grantId> 代为亮证（李娜）", async () => {
    await showReceived(staffer, li.wallet, OPERATOR_CERT);
    grantShown = await readQr(staffer);
    await check(staffer, "wallet-show-grant");
  });

  view("#/counter 窗口登录", async () => {
    await counter.goto(`${demo.luohe}/#/counter`);
    await counter.getByLabel("工号").waitFor();
    await check(counter, "counter-login");
  });

  view("#/counter 选择办理事项", async () => {
    await counterLogin(counter, demo.luohe, clerk);
    await check(counter, "counter-matter");
  });

  view("#/counter 受理（调阅结果）", async () => {
    await startCase(counter, CRANE_MATTER.name);
    await check(counter, "counter-case");
    await scan(counter, grantShown);
    await counter.getByText("印章核验通过").first().waitFor({ timeout: TIMEOUT.step * 2 });
    await check(counter, "counter-retrieved");
    await counter.getByRole("button", { name: "申请人确认" }).click();
    await counter.getByText(/已关联/).first().waitFor();
    await check(counter, "counter-attached");
  });

  view("#/counter/archive/<code> 打印存档", async () => {
    const popup = counter.context().waitForEvent("page", { timeout: TIMEOUT.step }).catch(() => null);
    await control(counter, "打印存档").click();
    const archive = await Promise.race([
      counter.waitForURL(/#\/counter\/archive\//, { timeout: TIMEOUT.step }).then(() => counter),
      popup.then((p) => p ?? new Promise(() => {})),
    ]);
    if (archive !== counter) guard.watch(archive, "archive");
    await archive.getByText("核验码").first().waitFor();
    await check(archive, "counter-archive");
    if (archive !== counter) await archive.close();
  });

  view("#/review 后台审核登录", async () => {
    const ctx = await phoneContext(browser);
    try {
      const page = guard.watch(await ctx.newPage(), "review");
      await page.goto(`${demo.luohe}/#/review`);
      await page.getByLabel("工号").waitFor();
      await page.getByLabel("密码", { exact: true }).waitFor();
      await page.getByRole("button", { name: "登录", exact: true }).waitFor();
      await check(page, "review-login");
    } finally {
      await ctx.close();
    }
  });
});
