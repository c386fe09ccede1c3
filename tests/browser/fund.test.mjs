// Scenario 2 of the pilot notice (场景二, 购买二手自住住房提取住房公积金) online (全程网办): 刘洋
// applies in the wallet on his phone (实人认证, the form, three photos, the sharing platform's
// check sending a wrong amount back to the form, the certificates fetched by resident ID and
// checked in the browser), the application travels from the province to the fund centre at
// Luohe, a reviewer approves it in the back office (#/review) on a desktop, and the applicant
// sees 已通过 after 刷新状态 and rates it. The numbers are the sharing platform's records of the
// demo (server/src/demo/issued.rs `sharing_records`).

import { describe, before, after, test } from "node:test";
import assert from "node:assert/strict";

import { PNG } from "pngjs";

import {
  FUND_MATTER, NODES, PEOPLE, TIMEOUT,
  assertControlsNamed, assertNoHorizontalScroll, desktopContext, errorGuard, launch, phoneContext, shot, startDemo, story,
} from "./support/demo.mjs";
import { control, reviewLogin, until, walletLogin } from "./support/flows.mjs";

const NAME = "fund";

// ---------------------------------------------------------------------------------------------
// The purchase as the tax authority recorded it (issued.rs `sharing_records`): the invoice and
// the deed tax of 刘洋's home, dated 210 days before the demo was seeded, which is today.

const DAY = 86_400;
const CST = 8 * 3600;
/** The year (China time) of the property's registration: seeding day minus 210 days. */
function registrationYear(nowSec) {
  const today = Math.floor((nowSec + CST) / DAY) * DAY - CST;
  return new Date((today - 210 * DAY + CST) * 1000).getUTCFullYear();
}
function purchase(nowSec = Math.floor(Date.now() / 1000)) {
  const yy = String(registrationYear(nowSec) % 100).padStart(2, "0");
  return {
    invoiceNumber: `${yy}412000000031415926`,
    invoiceAmount: "1280000.00",
    deedTaxNumber: `341046${yy}0312345678`,
    deedTaxAmount: "12800.00",
  };
}

/** A bank card number that passes the Luhn check, as every real one does. */
function cardNumber(body = "622202171100001234") {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return body + ((10 - (sum % 10)) % 10);
}

// ---------------------------------------------------------------------------------------------
// Photos made here: a PNG from pngjs, a JPEG from the browser's own canvas encoder.

/** A 960×600 PNG: a light card with coloured bands, like a photographed document. */
function pngPhoto(seed) {
  const png = new PNG({ width: 960, height: 600 });
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const i = (png.width * y + x) << 2;
      const band = Math.floor(y / 60) % 3;
      png.data[i] = 230 - band * 40 + (seed * 17) % 25;
      png.data[i + 1] = 235 - ((x >> 4) % 2) * 20;
      png.data[i + 2] = 240 - band * 30;
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/** A 1200×800 JPEG drawn and encoded by the page's canvas (the test writes no JPEG encoder). */
async function jpegPhoto(page, title) {
  const dataUrl = await page.evaluate((text) => {
    const c = document.createElement("canvas");
    c.width = 1200;
    c.height = 800;
    const g = c.getContext("2d");
    g.fillStyle = "#fbf7ee";
    g.fillRect(0, 0, c.width, c.height);
    g.strokeStyle = "#b22";
    g.lineWidth = 8;
    g.strokeRect(40, 40, c.width - 80, c.height - 80);
    g.fillStyle = "#222";
    g.font = "64px sans-serif";
    g.fillText(text, 120, 200);
    for (let i = 0; i < 8; i++) g.fillRect(120, 300 + i * 50, 600 + (i % 3) * 150, 16);
    return c.toDataURL("image/jpeg", 0.85);
  }, title);
  const buffer = Buffer.from(dataUrl.replace(/^data:image\/jpeg;base64,/, ""), "base64");
  assert.equal(buffer.subarray(0, 3).toString("hex"), "ffd8ff", "the canvas did not give a JPEG");
  return buffer;
}

// ---------------------------------------------------------------------------------------------

describe("场景二：公积金提取全程网办（河南钱包 → 漯河公积金中心后台审核）", { timeout: TIMEOUT.test * 3 }, () => {
  let demo, browser, guard, liu, reviewer, clerk;
  let phone, office;
  let appId;
  const numbers = purchase();
  const step = story(test, { name: NAME, pages: () => ({ phone, office }) });

  before(async () => {
    demo = await startDemo(NAME);
    browser = await launch();
    guard = errorGuard();
    liu = demo.resident(PEOPLE.LIU_YANG);
    reviewer = demo.reviewer(NODES.luohe.region);
    clerk = demo.clerk(NODES.luohe.region);
    phone = guard.watch(await (await phoneContext(browser)).newPage(), "applicant");
    office = guard.watch(await (await desktopContext(browser)).newPage(), "reviewer");
  }, { timeout: TIMEOUT.start + 60_000 });

  after(async () => {
    try {
      guard?.assertNone(); // errors logged after the last step's own check
    } finally {
      await browser?.close();
      await demo?.stop();
    }
  });

  /** What every view of the phone must be: no sideways scroll, controls named, no errors. */
  async function fits(page, view) {
    await page.locator("#view[aria-busy]").waitFor({ state: "detached" });
    await assertNoHorizontalScroll(page, view);
    await assertControlsNamed(page, view);
    await shot(page, NAME, view);
    guard.assertNone();
  }

  /** The application's status badge as the applicant reads it. */
  const statusShown = (name) => phone.getByText(name, { exact: true });

  /** 刷新状态, once: resolves when the page has the node's answer and the button is back. */
  async function refreshStatus() {
    const answer = phone.waitForResponse((r) =>
      r.request().method() === "GET" && new URL(r.url()).pathname === `/api/wallet/fund/applications/${appId}`);
    await phone.getByRole("button", { name: "刷新状态" }).click();
    await answer;
    await phone.getByRole("button", { name: "刷新状态" }).and(phone.locator(":enabled")).waitFor();
  }

  step("申请人登录钱包，从首页进入公积金提取；新建申请先要求实人认证，认证后回到申请表", async () => {
    await walletLogin(phone, liu.wallet, liu);
    await phone.getByRole("link", { name: "公积金提取" }).click();
    await phone.waitForURL(/#\/wallet\/fund$/);
    await phone.getByText("我的申请").first().waitFor();
    await fits(phone, "fund-list-empty");
    await control(phone, "新建申请").click();
    await phone.waitForURL(/#\/wallet\/fund\/new$/);
    await phone.getByText(/需要先完成实人认证/).first().waitFor();
    await fits(phone, "fund-new-needs-liveness");
    await control(phone, "去实人认证").click();
    await phone.waitForURL(/#\/wallet\/liveness/);
    await phone.getByRole("heading", { name: "实人认证" }).waitFor();
    await phone.getByRole("button", { name: /实人认证/ }).click();
    // Back at the form, now at 实人 level.
    await phone.waitForURL(/#\/wallet\/fund\/new$/);
    await phone.getByLabel("办理事项").waitFor();
    assert.equal(await phone.getByText(/需要先完成实人认证/).count(), 0, "the form still asks for 实人认证 after it passed");
  });

  step("填写申请表：办理事项已预选，上传生成的借记卡、发票、完税凭证照片（各显示已上传）", async () => {
    const matter = phone.getByLabel("办理事项");
    const chosen = await matter.evaluate((s) => s.selectedOptions[0]?.textContent ?? "");
    assert.ok(chosen.includes(FUND_MATTER.name), `办理事项 is not preselected as ${FUND_MATTER.name}: "${chosen}"`);
    await phone.getByLabel("开户银行").fill("中国工商银行漯河分行");
    await phone.getByLabel("I类借记卡卡号").fill(cardNumber());
    await phone.getByLabel("购房发票号码").fill(numbers.invoiceNumber);
    // Wrong on purpose: 1,200,000.00 instead of the invoice's 1,280,000.00.
    await phone.getByLabel("购房发票金额（元）").fill("1200000.00");
    await phone.getByLabel("契税完税凭证号码").fill(numbers.deedTaxNumber);
    await phone.getByLabel("契税金额（元）").fill(numbers.deedTaxAmount);
    await phone.getByRole("checkbox", { name: "配偶共同办理" }).check();

    const photos = [
      ["借记卡照片", { name: "debit-card.png", mimeType: "image/png", buffer: pngPhoto(1) }],
      ["购房发票照片", { name: "invoice.jpg", mimeType: "image/jpeg", buffer: await jpegPhoto(phone, "增值税发票") }],
      ["契税完税凭证照片", { name: "deed-tax.png", mimeType: "image/png", buffer: pngPhoto(2) }],
    ];
    const uploaded = phone.getByText("已上传", { exact: true });
    for (const [i, [label, file]] of photos.entries()) {
      const sent = phone.waitForResponse((r) => r.request().method() === "POST" && /\/api\/wallet\/fund\/uploads\//.test(r.url()));
      await phone.getByLabel(label, { exact: true }).setInputFiles(file);
      const res = await sent;
      assert.equal(res.status(), 201, `uploading ${label} was refused (${res.status()})`);
      await uploaded.nth(i).waitFor();
    }
    assert.equal(await uploaded.count(), 3, "not every photo shows 已上传");
    await phone.getByRole("checkbox", { name: "我同意查询本人的购房发票、契税及不动产、婚姻证照信息" }).check();
    await fits(phone, "fund-new-filled");
  });

  step("金额与共享平台记录不一致：表单保留，提示列出购房发票金额并标记该栏；改正后提交成功", async () => {
    guard.allow(/status of 422 .*\/api\/wallet\/fund\/applications/);
    const refused = phone.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/api/wallet/fund/applications");
    await phone.getByRole("button", { name: "提交申请" }).click();
    assert.equal((await refused).status(), 422, "the wrong invoice amount was not sent back by the sharing platform's check");
    const alert = phone.getByRole("alert").filter({ hasText: "以下信息与共享平台记录不一致" }).first();
    await alert.waitFor();
    const listed = await alert.innerText();
    assert.ok(listed.includes("购房发票金额"), `the mismatch notice does not list 购房发票金额: "${listed}"`);
    for (const other of ["购房发票号码", "契税完税凭证号码", "契税金额"]) {
      assert.ok(!listed.includes(other), `the mismatch notice lists ${other}, which matches the records: "${listed}"`);
    }
    const amount = phone.getByLabel("购房发票金额（元）");
    assert.equal(await amount.getAttribute("aria-invalid"), "true", "购房发票金额（元） is not marked aria-invalid");
    for (const other of ["购房发票号码", "契税完税凭证号码", "契税金额（元）", "开户银行", "I类借记卡卡号"]) {
      assert.notEqual(await phone.getByLabel(other).getAttribute("aria-invalid"), "true", `${other} is marked invalid although it matches`);
    }
    // The form is kept: what was typed and the three photos.
    assert.equal(await phone.getByLabel("契税完税凭证号码").inputValue(), numbers.deedTaxNumber, "the form lost what was typed");
    assert.equal(await amount.inputValue(), "1200000.00", "the form lost the amount to correct");
    assert.equal(await phone.getByText("已上传", { exact: true }).count(), 3, "the photos were lost after the mismatch");
    await fits(phone, "fund-new-mismatch");
    guard.disallowAll();

    await amount.fill(numbers.invoiceAmount);
    // The request is held on its way until the busy state has been seen, then let through.
    const isApply = (url) => new URL(url).pathname === "/api/wallet/fund/applications";
    let release;
    const held = new Promise((resolve) => {
      release = resolve;
    });
    await phone.route(isApply, async (route) => {
      await held;
      await route.continue();
    });
    try {
      const stored = phone.waitForResponse((r) => r.request().method() === "POST" && isApply(r.url()));
      await phone.getByRole("button", { name: "提交申请" }).click();
      const busy = phone.getByRole("button", { name: "正在提交…" });
      await busy.waitFor();
      assert.ok(await busy.isDisabled(), "the submit button is not disabled while 正在提交…");
      release();
      assert.equal((await stored).status(), 201, "the corrected application was not accepted");
    } finally {
      release();
      await phone.unroute(isApply);
    }
    await phone.waitForURL(/#\/wallet\/fund\/(?!new$)[^/]+$/);
    appId = decodeURIComponent(new URL(phone.url()).hash.replace(/^#\/wallet\/fund\//, ""));
    assert.notEqual(appId, "new", "after 提交申请 the page stayed on the form");
    guard.assertNone();
  });

  step("申请详情：已提交/审核中，两张电子证照本机印章核验通过，显示共享数据；刷新状态直到审核中", async () => {
    const submitted = statusShown("已提交，正在送达公积金中心");
    const review = statusShown("审核中");
    await submitted.or(review).first().waitFor();
    // 不动产权证书 (Zhengzhou) and, the spouse taking part, 结婚证 (Luohe), fetched by ID number.
    const sealOk = phone.getByText(/印章核验通过/);
    await sealOk.nth(1).waitFor();
    assert.equal(await sealOk.count(), 2, "not both certificates show 印章核验通过");
    for (const type of ["不动产权证书", "结婚证"]) await phone.getByRole("heading", { name: type }).first().waitFor();
    const text = await phone.locator("main").innerText();
    for (const shown of [numbers.invoiceNumber, numbers.deedTaxNumber, "1,280,000.00", "郑州市金水区文化路88号院3号楼2单元1202号"]) {
      assert.ok(text.includes(shown), `the application does not show the sharing data ${shown}`);
    }
    await fits(phone, "fund-application-submitted");
    // The province hands the application to the fund centre in the background; 刷新状态 shows
    // when Luohe has it.
    await until("审核中 after 刷新状态", async () => {
      if (await review.count()) return true;
      await refreshStatus();
      return (await review.count()) > 0;
    });
    await fits(phone, "fund-application-under-review");
  });

  step("后台审核：窗口工作人员账号被告知需使用审核人员账号", async () => {
    await office.goto(`${demo.luohe}/#/review`);
    await office.getByLabel("工号").fill(clerk.id);
    await office.getByLabel("密码", { exact: true }).fill(clerk.password);
    await office.getByRole("button", { name: "登录", exact: true }).click();
    await office.getByText(/后台审核需要使用审核人员账号/).first().waitFor();
    await shot(office, NAME, "review-clerk-refused");
    guard.assertNone();
  });

  step("后台审核（漯河）：审核人员在待审核中打开刘洋的申请，核对比对结果、证照和照片后通过", async () => {
    await reviewLogin(office, demo.luohe, reviewer);
    const item = office.getByRole("link", { name: new RegExp(liu.name) }).filter({ hasText: "提交时间" }).first();
    await item.waitFor();
    await shot(office, NAME, "review-queue");
    await item.click();
    await office.waitForURL(/#\/review\/[^/]+$/);
    assert.equal(decodeURIComponent(new URL(office.url()).hash.replace(/^#\/review\//, "")), appId,
      "the queue's entry for 刘洋 opens another application");
    await office.getByText("共享平台比对").first().waitFor();
    const sealOk = office.getByText(/印章核验通过/);
    await sealOk.nth(1).waitFor();
    assert.equal(await sealOk.count(), 2, "the reviewer does not see both certificates with 印章核验通过");
    // The photos, fetched with the reviewer's token and shown from blob URLs.
    for (const alt of ["借记卡照片", "购房发票照片", "契税完税凭证照片"]) {
      const img = office.getByRole("img", { name: alt, exact: true });
      await img.waitFor();
      await office.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
      assert.match(await img.getAttribute("src"), /^blob:/, `${alt} is not loaded as a blob URL`);
    }
    const text = await office.locator("main").innerText();
    assert.ok(text.includes(numbers.invoiceNumber) && text.includes("1280000.00"),
      "the reviewer does not see the invoice as the applicant typed it");
    await assertNoHorizontalScroll(office, "review-application");
    await assertControlsNamed(office, "review-application");
    await shot(office, NAME, "review-application");

    await office.getByRole("button", { name: "通过", exact: true }).click();
    await office.getByRole("button", { name: "确认提交" }).waitFor();
    await assertControlsNamed(office, "review-confirm");
    await office.getByRole("button", { name: "确认提交" }).click();
    await office.getByText(/已通过/).first().waitFor();
    await office.getByRole("button", { name: "确认提交" }).waitFor({ state: "detached" });
    await shot(office, NAME, "review-approved");
    guard.assertNone();
  });

  step("申请人刷新状态看到已通过，并评价（5 分）", async () => {
    const approved = statusShown("已通过");
    await until("已通过 after 刷新状态", async () => {
      await refreshStatus();
      return (await approved.count()) > 0;
    });
    await phone.getByRole("radio", { name: "5 分" }).check();
    await phone.getByLabel("评价内容").fill("全程网上办理，无需跑腿，很方便。");
    await fits(phone, "fund-application-approved");
    await phone.getByRole("button", { name: "提交评价" }).click();
    await phone.getByText(/评价已提交/).first().waitFor();
    assert.equal(await phone.getByRole("button", { name: "提交评价" }).count(), 0, "the rating form is still offered after rating");
    await fits(phone, "fund-application-rated");
  });
});
