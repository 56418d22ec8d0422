// The CLI as a user runs it: a real subprocess, files and pipes, exit codes, one-line errors.
import { assert, assertEquals } from "./_assert.ts";
import { buildRandomModel } from "../src/model/random_model.ts";

const dir = await Deno.makeTempDir();
const weights = `${dir}/model.r3w`;
await Deno.writeFile(weights, await buildRandomModel({ seed: 3 }));
const CLI = new URL("../tools/cli.ts", import.meta.url).pathname;

async function cli(args: string[], stdin?: Uint8Array) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args, "--weights", weights],
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("cli: compress, inspect, reconstruct through files and pipes", async () => {
  const text = "CLI round trip. 🐈\n\nSecond paragraph, second sentence. Third.";
  await Deno.writeTextFile(`${dir}/in.txt`, text);
  const c = await cli(["compress", `${dir}/in.txt`, `${dir}/m.r3m`]);
  assertEquals(c.code, 0, c.stderr);
  const i = await cli(["inspect", `${dir}/m.r3m`]);
  assertEquals(i.code, 0, i.stderr);
  const summary = JSON.parse(new TextDecoder().decode(i.stdout));
  assertEquals(summary.nodes, { document: 1, paragraph: 2, sentence: 4 });
  assert(summary.residualBytes > 0 && summary.lossless === true);
  const r = await cli(["reconstruct", `${dir}/m.r3m`]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(new TextDecoder().decode(r.stdout), text);
  // stdin → stdout, lossy
  const p = await cli(["compress", "-", "-", "--lossy"], new TextEncoder().encode(text));
  assertEquals(p.code, 0, p.stderr);
  const j = await cli(["inspect", "-"], p.stdout);
  assertEquals(JSON.parse(new TextDecoder().decode(j.stdout)).lossless, false);
  // --compact: the slot-less archive in the compact container, smaller, still exact
  const k = await cli(["compress", `${dir}/in.txt`, `${dir}/k.r3m`, "--compact"]);
  assertEquals(k.code, 0, k.stderr);
  const ki = JSON.parse(new TextDecoder().decode((await cli(["inspect", `${dir}/k.r3m`])).stdout));
  assertEquals([ki.container, ki.slots, ki.lossless], ["compact", 0, true]);
  assert(ki.bytes < summary.bytes, `${ki.bytes} vs ${summary.bytes}`);
  const kr = await cli(["reconstruct", `${dir}/k.r3m`]);
  assertEquals(new TextDecoder().decode(kr.stdout), text);
});

Deno.test("cli: bad input and usage exit 1 with one error line, no stack trace", async () => {
  await Deno.writeFile(`${dir}/junk.r3m`, new Uint8Array([1, 2, 3, 4, 5]));
  await Deno.writeFile(`${dir}/latin1.txt`, new Uint8Array([0x63, 0x61, 0x66, 0xe9]));
  const cases: [string[], string][] = [
    [[], "no command"],
    [["frobnicate"], "unknown command"],
    [["compress", `${dir}/in.txt`], "needs IN and OUT"],
    [["reconstruct", `${dir}/junk.r3m`], ".r3m"],
    [["inspect", `${dir}/missing.r3m`], "not found"],
    [["compress", `${dir}/latin1.txt`, `${dir}/x.r3m`], "UTF-8"],
    [["compress", `${dir}/in.txt`, `${dir}/x.r3m`, "--bogus"], "unknown option"],
    [["compress", `${dir}/in.txt`, `${dir}/x.r3m`, "--lossy", "--compact"], "lossless"],
    [["compress", `${dir}/in.txt`, `${dir}/x.r3m`, "--refine", "many"], "number of steps"],
    [["compress", `${dir}/in.txt`, `${dir}/x.r3m`, "--compact", "--refine", "5"], "slots"],
    [["compress", `${dir}/in.txt`, `${dir}/x.r3m`, "--refine"], "needs a value"],
  ];
  for (const [args, want] of cases) {
    const r = await cli(args);
    assertEquals(r.code, 1, `${args.join(" ")}: exit code`);
    const lines = r.stderr.trim().split("\n");
    assertEquals(lines.length, 1, `${args.join(" ")}: stderr was ${r.stderr}`);
    assert(lines[0].startsWith("error: "), lines[0]);
    assert(lines[0].includes(want), `${args.join(" ")}: "${lines[0]}" lacks "${want}"`);
  }
});

Deno.test("cli: --refine stores refined slots; --greedy decodes them from the memory alone", async () => {
  const text = "Refine me. Then decode me greedily.";
  await Deno.writeTextFile(`${dir}/refine.txt`, text);
  const c = await cli([
    "compress",
    `${dir}/refine.txt`,
    `${dir}/r.r3m`,
    "--lossy",
    "--refine",
    "3",
  ]);
  assertEquals(c.code, 0, c.stderr);
  const i = await cli(["inspect", `${dir}/r.r3m`]);
  const summary = JSON.parse(new TextDecoder().decode(i.stdout));
  assertEquals(summary.lossless, false);
  assertEquals(summary.nodes, { document: 1, paragraph: 1, sentence: 2 });
  const r = await cli(["reconstruct", `${dir}/r.r3m`, "--greedy"]);
  assertEquals(r.code, 0, r.stderr);
  assert(r.stdout.length > 0, "greedy decoding gave nothing");
  // a lossless memory with --greedy ignores its residual: not the exact text (random model)
  const l = await cli(["compress", `${dir}/refine.txt`, `${dir}/l.r3m`, "--refine", "2"]);
  assertEquals(l.code, 0, l.stderr);
  const exact = await cli(["reconstruct", `${dir}/l.r3m`]);
  assertEquals(new TextDecoder().decode(exact.stdout), text);
});
