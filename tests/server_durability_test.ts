// A memory answered with 201 survives `kill -9` of the server: the real server runs as a child
// process on a Deno KV file, is killed with SIGKILL and restarted on the same file.
import { assert, assertEquals } from "./_assert.ts";
import { spawnServer, writeRandomModel } from "../src/server/process.ts";

Deno.test({
  name: "server: stored memories survive SIGKILL and a restart",
  sanitizeResources: false, // fetch keeps idle connections to the child processes
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const env = {
      R3MEM_WEIGHTS: await writeRandomModel(dir),
      R3MEM_KV_PATH: `${dir}/data/r3mem.kv`,
      R3MEM_TOKENS: "tok-a:team-a",
      R3MEM_WORKERS: "1",
    };
    const auth = { Authorization: "Bearer tok-a" };
    const small = "Remember the milk.\n\nAnd the eggs.";
    // Big enough to need several KV chunks.
    // Numbers the document cache cannot predict keep the memory large whatever the model.
    const big = Array.from(
      { length: 700 },
      (_, i) => `Line ${i} of the long note, code ${(i * 7919) % 10007}-${(i * 104729) % 1009}.`,
    ).join(" ");
    const post = (url: string, text: string, metadata: unknown) =>
      fetch(`${url}/v1/memories`, {
        method: "POST",
        headers: { ...auth, "Content-Type": "application/json" },
        body: JSON.stringify({ text, metadata }),
      });
    let server = await spawnServer({ env });
    try {
      const a = await post(server.url, small, { kind: "groceries", n: 2 });
      const b = await post(server.url, big, { kind: "long" });
      assertEquals([a.status, b.status], [201, 201]);
      const idA = (await a.json()).id;
      const bodyB = await b.json();
      assert(bodyB.stats.bytes > 60_000, `big memory is ${bodyB.stats.bytes} bytes`);

      const status = await server.stop("SIGKILL");
      assertEquals(status.signal, "SIGKILL");

      server = await spawnServer({ env });
      const info = await (await fetch(`${server.url}/v1/memories/${idA}`, { headers: auth }))
        .json();
      assertEquals(info.metadata, { kind: "groceries", n: 2 });
      assertEquals(info.stats.nodes, { document: 1, paragraph: 2, sentence: 2 });
      const text = await (await fetch(`${server.url}/v1/memories/${idA}/text`, { headers: auth }))
        .json();
      assertEquals(text, { text: small });
      const textB = await (await fetch(`${server.url}/v1/memories/${bodyB.id}/text`, {
        headers: auth,
      })).json();
      assertEquals(textB.text === big, true, "the chunked memory came back exactly");
      const list = await (await fetch(`${server.url}/v1/memories`, { headers: auth })).json();
      assertEquals(list.memories.map((m: { id: string }) => m.id), [idA, bodyB.id]);
    } finally {
      await server.stop("SIGKILL");
      await Deno.remove(dir, { recursive: true });
    }
  },
});
