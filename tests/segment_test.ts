// Paragraph and sentence spans tile any text exactly.
import { assert, assertEquals } from "./_assert.ts";
import { rng } from "./_rng.ts";
import { splitText } from "../src/model/segment.ts";

Deno.test("spans tile the text exactly, in order, for random texts", () => {
  const rand = rng(5);
  const alphabet = ["a", "b ", ". ", "! ", "? ", "\n", "\n\n", " \n \n", "🐈", "\t", "x."];
  for (let c = 0; c < 300; c++) {
    let text = "";
    const n = Math.floor(rand() * 60);
    for (let i = 0; i < n; i++) text += alphabet[Math.floor(rand() * alphabet.length)];
    const paragraphs = splitText(text, 8);
    let pos = 0;
    for (const p of paragraphs) {
      assertEquals(p.start, pos, `paragraph start in ${JSON.stringify(text)}`);
      let s = p.start;
      for (const sentence of p.sentences) {
        assertEquals(sentence.start, s);
        assert(sentence.end > sentence.start, "empty sentence");
        s = sentence.end;
      }
      assertEquals(s, p.end);
      pos = p.end;
    }
    assertEquals(pos, text.length);
  }
});

Deno.test("sentences end after punctuation and keep their trailing whitespace", () => {
  const text = "One. Two!\n\nThree? Four.\nFive";
  const parts = splitText(text).map((p) => p.sentences.map((s) => text.slice(s.start, s.end)));
  assertEquals(parts, [["One. ", "Two!\n\n"], ["Three? ", "Four.\n", "Five"]]);
});

Deno.test("long runs are cut near a space and never inside a surrogate pair", () => {
  const text = "🐈".repeat(300);
  for (const p of splitText(text, 50)) {
    for (const s of p.sentences) {
      assert(!/[\ud800-\udbff]$/.test(text.slice(s.start, s.end)), "cut inside a pair");
    }
  }
});
