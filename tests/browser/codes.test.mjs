// The 亮证码's life at the counter: a code replaced by 立即刷新 no longer works, a code is good
// for one scan, and a code whose time has passed is refused with advice to refresh. The holder
// (张伟) shows his own 特种设备作业人员证 at the Luohe counter for the crane matter.

import { describe, before, after, test } from "node:test";
import assert from "node:assert/strict";

import {
  CRANE_MATTER, NODES, OPERATOR_CERT, PEOPLE, TIMEOUT,
  desktopContext, errorGuard, launch, phoneContext, qrMarkup, readQr, shot, startDemo, story, waitForNewQr,
} from "./support/demo.mjs";
import { control, counterLogin, openCertificate, qrShown, scan, startCase, walletLogin } from "./support/flows.mjs";

const NAME = "codes";

describe("亮证码：刷新、重复使用与过期", { timeout: TIMEOUT.test * 3 }, () => {
  let demo, browser, guard, zhang, clerk, counter, phone;
  const it = story(test, { name: NAME, chain: false, pages: () => ({ phone, counter }) });

  before(async () => {
    demo = await startDemo(NAME);
    browser = await launch();
    guard = errorGuard();
    zhang = demo.resident(PEOPLE.ZHANG_WEI);
    clerk = demo.clerk(NODES.luohe.region);
    counter = guard.watch(await (await desktopContext(browser)).newPage(), "counter");
    await counterLogin(counter, demo.luohe, clerk);
  }, { timeout: TIMEOUT.start + 60_000 });

  after(async () => {
    try {
      guard?.assertNone(); // errors logged after the last step's own check
    } finally {
      await browser?.close();
      await demo?.stop();
    }
  });

  /** A new case for the crane matter, from the counter's start page. */
  async function freshCase() {
    await counter.goto(`${demo.luohe}/#/counter`);
    await startCase(counter, CRANE_MATTER.name);
  }

  /** The holder's phone, logged in, at his certificate's 亮证 view. */
  async function holderShowing(clock) {
    guard.disallowAll();
    await phone?.context().close();
    const ctx = await phoneContext(browser);
    const page = guard.watch(await ctx.newPage(), "holder");
    phone = page;
    await walletLogin(page, zhang.wallet, zhang);
    await openCertificate(page, zhang.wallet, OPERATOR_CERT);
    if (clock) {
      // The phone's clock runs two minutes behind: the code it makes has expired by the
      // time the counter sees it (lifetime 60 s, tolerance 30 s), without any real wait.
      await page.clock.install({ time: Date.now() - 120_000 });
      await page.reload();
      await control(page, "亮证").waitFor();
    }
    await control(page, "亮证").click();
    await page.waitForURL(/#\/wallet\/show\//);
    await qrShown(page);
    return page;
  }

  it("立即刷新后，旧的亮证码在窗口被拒绝，新的可用", async () => {
    await holderShowing(false);
    await phone.getByText(/调高屏幕亮度/).first().waitFor();
    const old = await readQr(phone);
    const before = await qrMarkup(phone);
    await phone.getByRole("button", { name: "立即刷新" }).click();
    await waitForNewQr(phone, before);
    const fresh = await readQr(phone);
    assert.notEqual(fresh, old, "立即刷新 did not change the 亮证码");
    await shot(phone, NAME, "holder-refreshed");

    await freshCase();
    guard.allowRefusals();
    await scan(counter, old);
    // Refused: an alert in plain Chinese, and no certificate shown.
    const alert = counter.getByRole("alert").first();
    const accepted = counter.getByText("印章核验通过").first();
    const outcome = await Promise.race([
      alert.waitFor({ timeout: TIMEOUT.step * 2 }).then(() => "refused"),
      accepted.waitFor({ timeout: TIMEOUT.step * 2 }).then(() => "accepted"),
    ]);
    await shot(counter, NAME, "counter-old-code");
    assert.equal(outcome, "refused", "the 亮证码 replaced by 立即刷新 was accepted at the counter");
    const message = (await alert.innerText()).trim();
    assert.ok(/刷新|重新出示|失效|已使用|过期/.test(message), `the refusal does not say what to do next: "${message}"`);
    guard.disallowAll();

    // The new one works.
    await freshCase();
    await scan(counter, fresh);
    await counter.getByText("印章核验通过").first().waitFor({ timeout: TIMEOUT.step * 2 });
    guard.assertNone();
  });

  it("同一亮证码扫第二次被拒绝（该亮证码已使用）", async () => {
    await holderShowing(false);
    const code = await readQr(phone);
    await freshCase();
    await scan(counter, code);
    await counter.getByText("印章核验通过").first().waitFor({ timeout: TIMEOUT.step * 2 });
    await freshCase();
    guard.allowRefusals();
    await scan(counter, code);
    await counter.getByText("该亮证码已使用，请让申请人刷新后重新出示").first().waitFor({ timeout: TIMEOUT.step * 2 });
    assert.equal(await counter.getByText("印章核验通过").count(), 0, "a replayed code still shows a certificate");
    await shot(counter, NAME, "counter-replayed");
    guard.disallowAll();
    guard.assertNone();
  });

  it("过期的亮证码在窗口被拒绝（亮证码已过期，请让申请人刷新）", async () => {
    await holderShowing(true);
    const code = await readQr(phone);
    await shot(phone, NAME, "holder-clock-behind");
    await freshCase();
    guard.allowRefusals();
    await scan(counter, code);
    await counter.getByText("亮证码已过期，请让申请人刷新").first().waitFor({ timeout: TIMEOUT.step * 2 });
    assert.equal(await counter.getByText("印章核验通过").count(), 0, "an expired code still shows a certificate");
    await shot(counter, NAME, "counter-expired");
    guard.disallowAll();
    guard.assertNone();
  });
});
