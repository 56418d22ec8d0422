// server.ts as an edge entry point: `deno serve server.ts` serves its default export (the model
// loads on the first request, memories go to Deno KV), and its `deno run` main block does not start
// a second server beside it.
import { assert, assertEquals } from "./_assert.ts";

const SERVER = new URL("../server.ts", import.meta.url).pathname;

Deno.test({
  name: "edge: deno serve server.ts answers health, compress, store and read back",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "r3mem-edge-" });
    const child = new Deno.Command(Deno.execPath(), {
      args: ["serve", "-A", "--port", "0", "--host", "127.0.0.1", SERVER],
      env: { R3MEM_KV_PATH: `${dir}/edge.kv`, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const decoder = new TextDecoder();
    let log = "";
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    const stdout = new Response(child.stdout).arrayBuffer();
    try {
      let port = 0;
      const deadline = Date.now() + 60_000;
      while (!port && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        log += value;
        port = Number(/Listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log)?.[1] ?? 0);
      }
      assert(port > 0, `deno serve did not listen:\n${log}`);
      const base = `http://127.0.0.1:${port}`;
      const health = await (await fetch(`${base}/healthz`)).json();
      assertEquals(health.ok, true);
      const text = "The edge keeps this.\n\nAnd this, exactly.";
      const created = await fetch(`${base}/v1/memories`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text }),
      });
      assertEquals(created.status, 201);
      const { id } = await created.json();
      const back = await (await fetch(`${base}/v1/memories/${id}/text`)).json();
      assertEquals(back.text, text);
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await reader.cancel().catch(() => {});
      const out = decoder.decode(await stdout);
      await Deno.remove(dir, { recursive: true });
      // The main block (deno run's server, with its own log line) did not run.
      assert(!out.includes("r3mem listening"), `server.ts started its own server too:\n${out}`);
    }
  },
});
