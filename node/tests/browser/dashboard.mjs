// Opens the Gradual dashboard at URL in Debian's headless Chromium, reads
// every figure it shows (from the data-* attributes the page sets), watches
// the slot move, saves a screenshot, and prints what it read as JSON.
// Usage: node dashboard.mjs URL SCREENSHOT.png
import { chromium } from "playwright-core";

const [url, screenshot] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error("usage: node dashboard.mjs URL SCREENSHOT.png");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
  // Any request off this host would mean the page needs the internet.
  const requested = [];
  page.on("request", (request) => requested.push(request.url()));

  await page.goto(url);
  const expected = Number(process.env.TASKS || 1);
  await page.waitForFunction((count) => document.querySelectorAll("section.task [data-field=slot]").length >= count,
    expected, { timeout: 30_000 });

  const read = () => page.evaluate(() => {
    const value = (node) => node.getAttribute("data-value");
    const fields = (scope) => Object.fromEntries([...scope.querySelectorAll("[data-field]")]
      .map((node) => [node.getAttribute("data-field"), value(node)]));
    return [...document.querySelectorAll("section.task")].map((section) => {
      const own = section.querySelector("[data-own]");
      const header = section.querySelector("dl.figures");
      return {
        task: section.getAttribute("data-task"),
        name: section.querySelector("h2").getAttribute("data-value"),
        fields: fields(header),
        windows: [...section.querySelectorAll("[data-window]")].map((node) => ({
          name: node.getAttribute("data-window"), start: Number(node.getAttribute("data-start")),
          end: Number(node.getAttribute("data-end")), open: node.classList.contains("open") })),
        rounds: [...section.querySelectorAll("[data-table=rounds] tr[data-round]")]
          .map((row) => fields(row)),
        audits: [...section.querySelectorAll("[data-table=audits] tr[data-audit-round]")]
          .map((row) => Object.assign({ target: row.getAttribute("data-target") }, fields(row))),
        chart: [...section.querySelectorAll("[data-chart=rewards] rect[data-node]")].map((bar) => ({
          round: Number(bar.getAttribute("data-round")), node: bar.getAttribute("data-node"),
          amount: Number(value(bar)) })),
        table: [...section.querySelectorAll("[data-table=rewards] td[data-reward-round]")]
          .filter((cell) => value(cell) !== "")
          .map((cell) => ({ round: Number(cell.getAttribute("data-reward-round")),
            node: cell.closest("tr").getAttribute("data-node"), amount: Number(value(cell)) })),
        own: own && {
          node: own.getAttribute("data-own"),
          fields: fields(own.querySelector("dl.figures") || own),
          rounds: [...own.querySelectorAll("tr[data-own-round]")].map((row) => fields(row)),
          alerts: [...own.querySelectorAll("li.alert")].map((item) => item.textContent),
        },
      };
    });
  });

  const first = await read();
  const firstSlot = Number(first[0].fields.slot);
  // Live: the page shows later slots without a reload.
  await page.waitForFunction((slot) => Number(document.querySelector("section.task [data-field=slot]")
    .getAttribute("data-value")) > slot, firstSlot, { timeout: 15_000 });
  const tasks = await read();
  await page.screenshot({ path: screenshot, fullPage: true });
  const offHost = requested.filter((address) => new URL(address).host !== new URL(url).host);
  const scriptRan = await page.evaluate(() => window.p === 1);
  console.log(JSON.stringify({ first_slot: firstSlot, tasks, errors, off_host_requests: offHost, script_ran: scriptRan }));
} finally {
  await browser.close();
}
