// The playground page (src/server/playground.ts) in headless Chromium: compress, see the
// memory's size and levels, reconstruct (streamed), store, search. Writes a screenshot to
// test-output/playground.png. Skipped when /usr/bin/chromium is absent.
import { assert, assertEquals } from "./_assert.ts";
import { createTestApp } from "../src/server/testing.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
if (!hasChromium) {
  console.warn(
    `server_playground_test: SKIPPED — ${CHROMIUM} not found (apt-get install -y chromium)`,
  );
}

Deno.test({
  name: "playground: compress, reconstruct, store and search in headless Chromium",
  ignore: !hasChromium,
  sanitizeOps: false, // the browser's pipes and timers belong to playwright
  sanitizeResources: false,
  fn: async () => {
    // deno-lint-ignore no-import-prefix
    const { chromium } = await import("npm:playwright-core@1.65.1");
    const t = await createTestApp();
    const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, t.app.fetch);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 820 } });
      const external: string[] = [];
      const consoleErrors: string[] = [];
      page.on("request", (r) => {
        if (!r.url().startsWith(`http://127.0.0.1:${server.addr.port}/`)) external.push(r.url());
      });
      page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
      page.on("pageerror", (e) => consoleErrors.push(String(e)));
      await page.goto(`http://127.0.0.1:${server.addr.port}/`);
      assertEquals(await page.title(), "r3mem playground");

      const text = "Meeting moved to Friday at 10. Bring the slides.\n\n" +
        "The launch is planned for March. Marketing wants a demo.";
      await page.fill("#text", text);
      await page.click("#compress");
      await page.waitForSelector("#stats dd:nth-of-type(6)");
      const levels = await page.textContent("#stats dd:nth-of-type(6)");
      assertEquals(levels, "1 document · 2 paragraphs · 4 sentences");

      await page.click("#reconstruct");
      await page.waitForSelector("#match:not(:empty)");
      assertEquals(await page.textContent("#output"), text);
      assert((await page.textContent("#match"))?.includes("identical"));

      // A compact archive: no slots, one node, still exact.
      await page.selectOption("#slots", "none");
      await page.click("#compress");
      await page.locator("#stats dd", { hasText: /^1 document · 0 paragraphs · 0 sentences$/ })
        .waitFor();
      assertEquals(await page.textContent("#stats dd:nth-of-type(5)"), "0");
      await page.click("#reconstruct");
      await page.waitForSelector("#match:not(:empty)");
      assertEquals(await page.textContent("#output"), text);
      await page.selectOption("#slots", "all");

      await page.click("#save");
      await page.locator("#status", { hasText: /^stored as / }).waitFor();
      await page.fill("#query", "When is the meeting?");
      await page.click("#search");
      await page.waitForSelector("#hits li");
      // Hybrid search (the default): one hit per best-matching node of the key ranking (the
      // four sentences: their paragraphs and the document owe their scores to them), and a node
      // BM25 ranks for its own words, up to k = 5.
      const hits = await page.locator("#hits li").count();
      assert(hits >= 4 && hits <= 5, `${hits} hits`);

      // A conversation: turns appended with alternating roles, read back exactly.
      for (const turn of ["I am allergic to peanuts.", "Noted: no peanuts."]) {
        await page.fill("#turn", turn);
        await page.click("#append");
        await page.locator("#status", { hasText: /appended$/ }).last().waitFor();
        await page.locator("#turns li", { hasText: turn }).waitFor();
      }
      assertEquals(await page.locator("#turns li").allTextContents(), [
        "user: I am allergic to peanuts.",
        "assistant: Noted: no peanuts.",
      ]);

      await Deno.mkdir("test-output", { recursive: true });
      await page.screenshot({ path: "test-output/playground.png", fullPage: true });
      assertEquals(external, [], "the page loaded something from elsewhere");
      assertEquals(consoleErrors, []);
    } finally {
      await browser.close();
      await server.shutdown();
      t.close();
    }
  },
});
