// `deno task train` end to end on a small generated corpus: tokenizer, both stages, export, a
// model the runtime loads and that round-trips text; and --stop-after / --resume giving the same
// files as an uninterrupted run.
import { formatCorpusDocument } from "../tools/corpus/text.ts";
import { R3Mem } from "../mod.ts";
import { loadWeightsFrom } from "../src/model/weights_format.ts";
import { assert, assertEquals } from "./_assert.ts";
import { rng } from "./_rng.ts";

const WORDS = ("the memory keeps every word of a text and gives it back when the network runs " +
  "backward through its blocks so nothing is lost while the model learns which tokens follow " +
  "others in long documents about rivers mountains trains and small towns").split(" ");

function corpusText(seed: number, docs: number): string {
  const rnd = rng(seed);
  let out = "";
  for (let d = 0; d < docs; d++) {
    const paras: string[] = [];
    for (let p = 0; p < 3; p++) {
      const sentences: string[] = [];
      for (let s = 0; s < 4; s++) {
        const n = 5 + Math.floor(rnd() * 8);
        const w = Array.from({ length: n }, () => WORDS[Math.floor(rnd() * WORDS.length)]);
        sentences.push(w[0][0].toUpperCase() + w.join(" ").slice(1) + ".");
      }
      paras.push(sentences.join(" "));
    }
    out += formatCorpusDocument({ id: `gen/${seed}-${d}`, text: paras.join("\n\n") });
  }
  return out;
}

async function train(dir: string, extra: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "tools/train.ts",
      "--config",
      "tiny",
      "--vocab",
      "300",
      "--steps",
      "6",
      "--workers",
      "1",
      "--corpus",
      `${dir}/corpus`,
      "--out",
      `${dir}/out`,
      "--work",
      `${dir}/work`,
      "--checkpoint-every",
      "2",
      ...extra,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  assert(out.success, `train ${extra.join(" ")} failed:\n${log.slice(-3000)}`);
}

Deno.test("deno task train: a tiny run exports a working model; --resume gives the same files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "r3mem-train-" });
  try {
    await Deno.mkdir(`${dir}/corpus`);
    await Deno.writeTextFile(`${dir}/corpus/train.txt`, corpusText(1, 40));
    await Deno.writeTextFile(`${dir}/corpus/valid.txt`, corpusText(2, 6));
    await train(dir, []);
    const model = await Deno.readFile(`${dir}/out/r3mem-default.r3w`);
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/out/r3mem-default.json`));
    assertEquals([manifest.history.stage1.steps, manifest.history.stage2.steps], [6, 6]);
    assert(Number.isFinite(manifest.history.stage2.valid.rec), "no stage-2 validation");
    const r3 = await R3Mem.load({ weights: model });
    const text = "The memory keeps every word.\n\nNothing is lost while rivers run backward.";
    assertEquals(await r3.reconstruct(await r3.compress(text)), text);

    // Interrupted after 4 steps of stage 1, then resumed: the same model, byte for byte.
    const dir2 = `${dir}/again`;
    await Deno.mkdir(dir2);
    await Deno.symlink(`${dir}/corpus`, `${dir2}/corpus`);
    await train(dir2, ["--stop-after", "4"]);
    await train(dir2, ["--resume"]);
    // (the files' metadata differ: times and durations; every tensor must be the same)
    const a = await loadWeightsFrom(model);
    const b = await loadWeightsFrom(await Deno.readFile(`${dir2}/out/r3mem-default.r3w`));
    assertEquals([...b.tensors.keys()], [...a.tensors.keys()]);
    for (const [name, t] of a.tensors) {
      const u = b.tensors.get(name)!;
      const same = (x: ArrayLike<number> | undefined, y: ArrayLike<number> | undefined) =>
        x?.length === y?.length && Array.from(x ?? []).every((v, i) => Object.is(v, y![i]));
      const scales = (x: typeof t) => ("scales" in x ? x.scales : undefined);
      assert(same(t.data, u.data) && same(scales(t), scales(u)), `tensor ${name} differs`);
    }
    assertEquals(manifest.history.parts.length, 1);
    const parts2 = JSON.parse(await Deno.readTextFile(`${dir2}/out/r3mem-default.json`))
      .history.parts;
    assertEquals(parts2.map((p: { to: { step: number } }) => p.to.step), [4, 6]);

    // A new machine: the checkpoint is gone, the master (with loop state) carries the run on,
    // with fresh optimizer moments. The run finishes and records both parts.
    const dir3 = `${dir}/moved`;
    await Deno.mkdir(dir3);
    await Deno.symlink(`${dir}/corpus`, `${dir3}/corpus`);
    await train(dir3, ["--stop-after", "4"]);
    await Deno.remove(`${dir3}/work/checkpoint.r3w`);
    await train(dir3, ["--resume"]);
    const m3 = JSON.parse(await Deno.readTextFile(`${dir3}/out/r3mem-default.json`));
    assertEquals(m3.history.parts.length, 2);
    assertEquals(m3.history.parts[1].resumedFrom, `${dir3}/work/master.r3w`);
    assertEquals([m3.history.stage1.steps, m3.history.stage2.steps], [6, 6]);
    const r3b = await R3Mem.load({ weights: await Deno.readFile(`${dir3}/out/r3mem-default.r3w`) });
    assertEquals(await r3b.reconstruct(await r3b.compress(text)), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
