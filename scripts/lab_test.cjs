// Drives JupyterLab in headless Chromium for scripts/lab_test.py (which starts the server and
// writes the notebook). Steps and checks:
//   1. Run All. While the training cell (cell 3) runs, the live view's pictures must be replaced
//      at least 3 times. A screenshot of the view is saved.
//   2. The stop button (interrupt): evcxr restarts the process that holds the variables.
//   3. Run All again: the kept trainer says it resumed at a saved step, and the training cell
//      finishes the call it had started (cell 4 prints the call's last step).
const { chromium } = require("playwright-core");

const url = process.env.LAB_URL, token = process.env.LAB_TOKEN, steps = Number(process.env.LAB_STEPS);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(`[lab-test ${((Date.now() - t0) / 1000).toFixed(1)} s]`, ...a);
const t0 = Date.now();

function fail(message) {
  console.error(`lab-test: FAILED: ${message}`);
  process.exit(1);
}

// Polls `check` (an async function in Node) until it returns something truthy.
async function waitFor(what, check, timeoutMs) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => null);
    if (value) return value;
    if (Date.now() > end) fail(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

// The text of cell i's output area.
const cellText = (page, i) => page.evaluate((i) => {
  const cell = document.querySelectorAll(".jp-Notebook .jp-Cell")[i];
  const out = cell && cell.querySelector(".jp-OutputArea");
  return out ? out.innerText : "";
}, i);
const kernelIdle = (page) => page.evaluate(() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return kernel && kernel.status === "idle";
});
// Starts a JupyterLab command without waiting for it (Run All's promise settles when the last
// cell has run).
const command = (page, name) => page.evaluate((name) => { window.jupyterapp.commands.execute(name); return true; }, name);

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ["--no-sandbox"] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on("pageerror", (e) => log("page error:", e.message));
  await page.goto(`${url}/lab/tree/live.ipynb?token=${token}`);
  await waitFor("the notebook's kernel", () => kernelIdle(page), 180000);
  log("kernel idle; Run All");
  await command(page, "notebook:run-all-cells");

  // 1. The live view while the training cell runs.
  await waitFor("the live view (cell 2)", () => page.evaluate(() => !!document.querySelector("img[data-gans-live]")), 600000);
  log("live view shown; the training cell has printed:", JSON.stringify((await cellText(page, 3)).trim().split("\n").slice(-1)));
  await waitFor("training to start (cell 3 prints)", () => cellText(page, 3), 600000);
  const versions = new Set();
  const end = Date.now() + 120000;
  while (versions.size < 4 && Date.now() < end) {
    const v = await page.evaluate(() => {
      const img = document.querySelector("img[data-gans-live]");
      const src = img && img.getAttribute("src");
      const m = src && src.match(/[?&]v=(\d+)/);
      return m && img.complete && img.naturalWidth > 0 ? m[1] : null;
    });
    if (v && !versions.has(v)) {
      versions.add(v);
      log(`the live view shows version ${v}`);
    }
    if (await cellText(page, 4)) fail(`the training cell ended before the live view changed 3 times (${versions.size} versions seen): raise LAB_TEST_STEPS`);
    await sleep(200);
  }
  // The first version seen may be one drawn before the cell: 3 changes need 4 versions.
  if (versions.size < 4) fail(`the live view changed ${Math.max(0, versions.size - 1)} times during the training cell, not 3`);
  log(`the live view changed ${versions.size - 1} times during the training cell`);

  // 2. The stop button, after at least one save.
  await sleep(4000);
  const before = await cellText(page, 3);
  log("interrupt; cell 3 said so far:", JSON.stringify(before.trim().split("\n").slice(-2)));
  await command(page, "notebook:interrupt-kernel");
  await sleep(3000);
  await waitFor("the kernel after the stop", () => kernelIdle(page), 120000);

  // 3. Run All again: resumed, and the training cell finishes its call.
  log("Run All again");
  await command(page, "notebook:run-all-cells");
  const resumed = await waitFor("cell 1 to say it resumed",
    async () => { const t = await cellText(page, 1); return /resumed at step/.test(t) && t; }, 600000);
  log("cell 1:", JSON.stringify(resumed.trim()));
  const done = await waitFor("cell 4 to print the last step",
    async () => { const t = await cellText(page, 4); return /done at step/.test(t) && t; }, 900000);
  log("cell 4:", JSON.stringify(done.trim()));
  const view = await page.$("[id^=gans-live-]");
  await view.scrollIntoViewIfNeeded();
  await sleep(2500);
  await view.screenshot({ path: process.env.SCREENSHOT });
  const cell3 = await cellText(page, 3);
  log("cell 3:", JSON.stringify(cell3.trim().split("\n").slice(0, 2)));
  if (!/picked up at step/.test(cell3)) fail(`the training cell did not say where it picked up:\n${cell3}`);
  if (!done.includes(`done at step ${steps}`)) fail(`after the stop the run should end at step ${steps}: ${done}`);

  // 4. The view's cost: steps per second of the same training without a view (cells 6, 8, 10)
  //    and with this page showing one (cells 7, 9, 11), from each call's closing progress line.
  await waitFor("the last measuring cell", async () => /steps\/s/.test(await cellText(page, 11)), 900000);
  const rate = async (i) => {
    const lines = (await cellText(page, i)).split("\n").filter((l) => /steps\/s/.test(l));
    const m = lines.length && lines[lines.length - 1].match(/([0-9.]+) steps\/s/);
    if (!m) fail(`cell ${i} printed no rate`);
    return Number(m[1]);
  };
  const mean = async (cells) => { let sum = 0; for (const i of cells) sum += await rate(i); return sum / cells.length; };
  const without = await mean([6, 8, 10]), withView = await mean([7, 9, 11]);
  const cost = 100 * (without / withView - 1);
  log(`steps/s without a view ${without.toFixed(1)}, with the view open ${withView.toFixed(1)}: the view costs ${cost.toFixed(1)} %`);
  if (cost > 5) fail(`the live view slows training by ${cost.toFixed(1)} %, more than 5 %`);
  log("passed");
  await browser.close();
})().catch((e) => fail(e.stack || String(e)));
