// Opens the dashboard at URL in Debian's headless Chromium and prints, as
// JSON, the "data N s old" banner each task shows (null if none) and the
// page's status line: what an operator sees while the node cannot read the chain.
// Usage: node stale.mjs URL
import { chromium } from "playwright-core";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node stale.mjs URL");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForSelector("section.task", { timeout: 15_000 });
  const seen = await page.evaluate(() => ({
    banners: [...document.querySelectorAll("section.task")].map((section) => {
      const banner = section.querySelector("[data-stale]");
      return banner ? { seconds: Number(banner.getAttribute("data-stale")), text: banner.textContent } : null;
    }),
    status: document.getElementById("status").textContent,
  }));
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
