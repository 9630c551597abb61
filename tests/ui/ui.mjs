// Drives Debian's headless chromium (puppeteer-core) against quire serve --ui.
//
//   node tests/ui/ui.mjs BASE_URL OUT_DIR BOOK_ID HOSTILE_BOOK_ID
//
// Prints one line "ok NAME" or "fail NAME: why" per check and saves screenshots
// (desktop and phone widths) in OUT_DIR. Exits 1 when a check failed.
import puppeteer from "puppeteer-core";

const [base, out, book, hostile] = process.argv.slice(2);
let failed = 0;
const check = (name, ok, why = "") => {
  console.log(ok ? `ok ${name}` : `fail ${name}: ${why}`);
  if (!ok) failed++;
};
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage"],
  timeout: 60000,
});
const timer = setTimeout(() => {
  console.log("fail timeout: the browser checks took over 120 s");
  process.exit(1);
}, 120000);
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(30000);
  const dialogs = [];
  page.on("dialog", async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });

  // Overview, desktop.
  await page.setViewport({ width: 1280, height: 900 });
  let resp = await page.goto(`${base}/ui`, { waitUntil: "load" });
  check("overview answers 200", resp.status() === 200, `status ${resp.status()}`);
  const text = await page.evaluate(() => document.body.innerText);
  check("overview lists the books queue", /books/.test(text), text.slice(0, 200));
  check("overview lists the worker", (await page.$$("main table")).length === 3 && /idle|good|bad/.test(text), text.slice(0, 400));
  check("the hostile book id shows as text", text.includes(hostile), "not found in the page text");
  const injected = await page.evaluate(() => document.querySelectorAll("main img, main script, main iframe").length);
  check("the hostile book id injects no element", injected === 0, `${injected} element(s)`);
  await page.screenshot({ path: `${out}/serve-ui-overview-desktop.png`, fullPage: true });

  // A book's page and the history charts.
  resp = await page.goto(`${base}/ui/books/${book}`, { waitUntil: "load" });
  const btext = await page.evaluate(() => document.body.innerText);
  check("book page shows its job and stage times", resp.status() === 200 && /succeeded/.test(btext) && /compress/.test(btext), btext.slice(0, 300));
  const logTail = await page.evaluate(() => document.querySelector("main pre")?.innerText || "");
  check("book page shows the job's log tail", /"stage"/.test(logTail) && logTail.split("\n").length >= 2, logTail.slice(0, 200));
  resp = await page.goto(`${base}/ui/history`, { waitUntil: "load" });
  const bars = await page.evaluate(() => document.querySelectorAll("svg rect").length);
  check("history page draws its charts as inline SVG", resp.status() === 200 && bars >= 5, `${bars} bars`);
  await page.screenshot({ path: `${out}/serve-ui-history-desktop.png`, fullPage: true });

  // CSRF: the Retry form with its token removed, or replaced, is refused.
  const tamper = async (how) => {
    await page.goto(`${base}/ui`, { waitUntil: "load" });
    await page.evaluate((how) => {
      const input = document.querySelector("form[action$='/retry'] input[name=csrf]");
      if (how === "remove") input.remove();
      else input.value = "0".repeat(64);
    }, how);
    const [r] = await Promise.all([
      page.waitForNavigation({ waitUntil: "load" }),
      page.click("form[action$='/retry'] button"),
    ]);
    return r ? r.status() : 0;
  };
  const statuses = [await tamper("remove"), await tamper("replace")];
  check("Retry without the CSRF token, or with another, is refused (403)", statuses[0] === 403 && statuses[1] === 403, `statuses ${statuses}`);

  // Phone width: no horizontal overflow on any page.
  await page.setViewport({ width: 375, height: 740, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  for (const path of ["/ui", `/ui/books/${book}`, "/ui/history"]) {
    await page.goto(`${base}${path}`, { waitUntil: "load" });
    const [sw, iw] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    check(`phone width: ${path} has no horizontal overflow`, sw <= iw, `scrollWidth ${sw} > ${iw}`);
    if (path === "/ui") await page.screenshot({ path: `${out}/serve-ui-overview-phone.png`, fullPage: true });
  }

  // Retry: click the first failure's button; the form goes back to the overview.
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(`${base}/ui`, { waitUntil: "load" });
  const [nav] = await Promise.all([
    page.waitForNavigation({ waitUntil: "load" }),
    page.click("form[action$='/retry'] button"),
  ]);
  check("Retry is accepted and lands on the overview", nav && nav.status() === 200 && new URL(page.url()).pathname === "/ui", `${nav && nav.status()} ${page.url()}`);
  check("no script ran (no dialog)", dialogs.length === 0, dialogs.join(", "));
} catch (e) {
  check("browser run", false, String(e && e.stack ? e.stack : e));
} finally {
  clearTimeout(timer);
  await browser.close();
}
process.exit(failed ? 1 : 0);
