// The 亮证码's life at the counter: a code replaced by 立即刷新 no longer works, a code is good
// for one scan, and a code whose time has passed is refused with advice to refresh. The holder
// (张伟) shows his own 特种设备作业人员证 at the Luohe counter for the crane matter.

import { describe, before, after, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

import {
  CRANE_MATTER, NODES, OPERATOR_CERT, PEOPLE, REPO, TIMEOUT,
  desktopContext, errorGuard, launch, phoneContext, qrMarkup, readQr, shot, startDemo, story, waitForNewQr,
} from "./support/demo.mjs";
import {
  control, counterLogin, openCertificate, presentationReports, qrShown, scan, startCase, walletLogin,
} from "./support/flows.mjs";

const NAME = "codes";

/**
 * What the counter says for a code the phone has replaced (`presentation_superseded`): the
 * counter's own advice when counter-advice.js has one, else the node's title for that refusal
 * (server/src/federation/resolve.rs), which `explain()` shows when no advice is registered.
 */
const SUPERSEDED = (() => {
  const advice = fs.readFileSync(path.join(REPO, "wallet-web", "page", "counter-advice.js"), "utf8");
  return /\bpresentation_superseded:\s*"([^"]+)"/.exec(advice)?.[1] ?? "亮证码已刷新，请扫描申请人手机上的最新亮证码";
})();

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

  /**
   * The holder's phone, logged in, at his certificate's 亮证 view; `reports` sees what the view
   * tells the province about each code it draws. With `clock` the phone runs two minutes behind.
   */
  async function holderShowing(clock) {
    guard.disallowAll();
    // With the clock behind, the phone's own report of its (already expired) code is refused
    // too, and the browser logs that 400: only that one is expected.
    if (clock) guard.allow(/status of 400 .*\/api\/wallet\/presentations\/current/);
    await phone?.context().close();
    const ctx = await phoneContext(browser);
    const page = guard.watch(await ctx.newPage(), "holder");
    phone = page;
    const reports = presentationReports(page);
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
    return { page, reports };
  }

  it("立即刷新后，旧的亮证码在窗口被拒绝（亮证码已刷新），新的可用", async () => {
    const { reports } = await holderShowing(false);
    await phone.getByText(/调高屏幕亮度/).first().waitFor();
    const old = await readQr(phone);
    assert.equal(await reports.answered(old), 204, "the province refused the first 亮证码 the phone reported");
    const before = await qrMarkup(phone);
    await phone.getByRole("button", { name: "立即刷新" }).click();
    await waitForNewQr(phone, before);
    const fresh = await readQr(phone);
    assert.notEqual(fresh, old, "立即刷新 did not change the 亮证码");
    // The page tells the province about the new code in the background; once the province
    // has taken it, the old one is dead although its minute has not run out.
    assert.equal(await reports.answered(fresh), 204, "the province refused the refreshed 亮证码");
    await shot(phone, NAME, "holder-refreshed");

    await freshCase();
    guard.allowRefusals();
    await scan(counter, old);
    // Refused with the superseded advice, and no certificate shown.
    const refusal = counter.getByRole("alert").filter({ hasText: SUPERSEDED }).first();
    const accepted = counter.getByText("印章核验通过").first();
    const outcome = await Promise.race([
      refusal.waitFor({ timeout: TIMEOUT.step * 2 }).then(() => "refused"),
      accepted.waitFor({ timeout: TIMEOUT.step * 2 }).then(() => "accepted"),
    ]).catch(async () => `neither: ${(await counter.locator("main").innerText()).replace(/\s+/g, " ").slice(0, 300)}`);
    await shot(counter, NAME, "counter-old-code");
    assert.equal(outcome, "refused",
      `the 亮证码 replaced by 立即刷新 was not refused with "${SUPERSEDED}" at the counter`);
    assert.equal(await accepted.count(), 0, "a superseded code still shows a certificate");
    guard.disallowAll();

    // The new one works.
    await freshCase();
    await scan(counter, fresh);
    await counter.getByText("印章核验通过").first().waitFor({ timeout: TIMEOUT.step * 2 });
    guard.assertNone();
  });

  it("同一亮证码扫第二次被拒绝（该亮证码已使用）", async () => {
    const { reports } = await holderShowing(false);
    const code = await readQr(phone);
    assert.equal(await reports.answered(code), 204, "the province refused the 亮证码 the phone reported");
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
    const { page, reports } = await holderShowing(true);
    const code = await readQr(page);
    assert.equal(await reports.answered(code), 400, "the province took an expired 亮证码 as the current one");
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
