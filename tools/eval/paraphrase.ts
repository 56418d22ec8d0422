/**
 * The retrieval metric's second query set, one that word overlap cannot solve alone: each
 * paragraph's query sentence (the one `makeQuery` starts from) said in other words, as a
 * keyword query: every content word replaced by a WordNet synonym (a lemma of one of its three
 * most frequent senses, spelled differently and not sharing a stem with it, picked by the
 * seed), or, without one, by the first content word of its most frequent sense's definition; a
 * word with neither is dropped, and so are stopwords, numbers and words of one or two letters
 * (the sentence's function words alone pick its paragraph out of 300 — BM25 0.85 — so keeping
 * them would measure word overlap again). What overlap remains is a synonym that the paragraph
 * itself uses. WordNet 3.0 (Princeton's licence, free to
 * use and copy) is read from the Debian package `wordnet-base` (`/usr/share/wordnet`).
 *
 * @module
 */
import { isStopword, stem, terms } from "../../src/search/analyze.ts";
import { mulberry32 } from "../../src/prng.ts";

const POS = ["noun", "verb", "adj", "adv"] as const;
type Pos = typeof POS[number];

/** WordNet's default location (Debian `wordnet-base`). */
export const WORDNET_DIR = "/usr/share/wordnet";

/** The parts of WordNet the paraphraser reads. */
export interface WordNet {
  /** Per part of speech: lemma → synset offsets, most frequent sense first. */
  index: Record<Pos, Map<string, number[]>>;
  /** Per part of speech: the data file's bytes (synsets at their offsets). */
  data: Record<Pos, Uint8Array>;
  /** Per part of speech: irregular form → base forms (`*.exc`). */
  exceptions: Record<Pos, Map<string, string[]>>;
}

/**
 * Loads WordNet from a directory of the WordNet 3.0 database files; `null` when it is missing.
 *
 * @param dir Directory with `index.*`, `data.*` and `*.exc` (default {@link WORDNET_DIR}).
 */
export async function loadWordNet(dir = WORDNET_DIR): Promise<WordNet | null> {
  const index = {} as WordNet["index"], data = {} as WordNet["data"];
  const exceptions = {} as WordNet["exceptions"];
  try {
    for (const pos of POS) {
      const idx = new Map<string, number[]>();
      for (const line of (await Deno.readTextFile(`${dir}/index.${pos}`)).split("\n")) {
        if (!line || line.startsWith(" ")) continue;
        const f = line.trim().split(" ");
        const senses = Number(f[2]);
        idx.set(f[0], f.slice(f.length - senses).map(Number));
      }
      index[pos] = idx;
      data[pos] = await Deno.readFile(`${dir}/data.${pos}`);
      const exc = new Map<string, string[]>();
      for (const line of (await Deno.readTextFile(`${dir}/${pos}.exc`)).split("\n")) {
        const [form, ...bases] = line.trim().split(" ");
        if (form && bases.length) exc.set(form, bases);
      }
      exceptions[pos] = exc;
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  return { index, data, exceptions };
}

// Inflectional endings WordNet's morphy strips, per part of speech.
const ENDINGS: Record<Pos, [string, string][]> = {
  noun: [["s", ""], ["ses", "s"], ["xes", "x"], ["zes", "z"], ["ches", "ch"], ["shes", "sh"], [
    "men",
    "man",
  ], ["ies", "y"]],
  verb: [["s", ""], ["ies", "y"], ["es", "e"], ["es", ""], ["ed", "e"], ["ed", ""], ["ing", "e"], [
    "ing",
    "",
  ]],
  adj: [["er", ""], ["est", ""], ["er", "e"], ["est", "e"]],
  adv: [],
};

// The base forms of a word found in WordNet, with their part of speech.
function lemmas(wn: WordNet, word: string): { pos: Pos; lemma: string }[] {
  const out: { pos: Pos; lemma: string }[] = [];
  for (const pos of POS) {
    const forms = new Set([word, ...(wn.exceptions[pos].get(word) ?? [])]);
    for (const [end, repl] of ENDINGS[pos]) {
      if (word.endsWith(end) && word.length > end.length + 2) {
        forms.add(word.slice(0, -end.length) + repl);
      }
    }
    for (const f of forms) if (wn.index[pos].has(f)) out.push({ pos, lemma: f });
  }
  return out;
}

// A synset's words and its gloss.
function synset(wn: WordNet, pos: Pos, offset: number): { words: string[]; gloss: string } {
  const bytes = wn.data[pos];
  let end = offset;
  while (end < bytes.length && bytes[end] !== 10) end++;
  const line = new TextDecoder().decode(bytes.subarray(offset, end));
  const [head, gloss = ""] = line.split(" | ");
  const f = head.split(" ");
  const count = parseInt(f[3], 16);
  const words = Array.from(
    { length: count },
    (_, i) => f[4 + 2 * i].replace(/\(.*\)$/, "").replace(/_/g, " ").toLowerCase(),
  );
  return { words, gloss };
}

/**
 * A content word's replacement: a synonym (see the module), else a word of its definition;
 * `null` when WordNet has neither.
 *
 * @param wn WordNet.
 * @param word A lower-cased word.
 * @param rand The seeded choice among synonyms.
 */
export function replacement(wn: WordNet, word: string, rand: () => number): string | null {
  const own = new Set(terms(word).concat(stem(word)));
  const foreign = (w: string) => terms(w).every((t) => !own.has(t)) && w !== word;
  const found = lemmas(wn, word);
  for (const { pos, lemma } of found) {
    for (const offset of wn.index[pos].get(lemma)!.slice(0, 3)) {
      const candidates = synset(wn, pos, offset).words.filter((w) =>
        foreign(w) && terms(w).length > 0 && !terms(w).includes(stem(lemma))
      );
      if (candidates.length) return candidates[Math.floor(rand() * candidates.length)];
    }
  }
  for (const { pos, lemma } of found) {
    const gloss = synset(wn, pos, wn.index[pos].get(lemma)![0]).gloss.split(";")[0];
    const word2 = (gloss.toLowerCase().match(/[a-z]+/g) ?? []).find((w) =>
      w.length > 2 && !isStopword(w) && foreign(w) && stem(w) !== stem(lemma)
    );
    if (word2) return word2;
  }
  return null;
}

/**
 * The sentence's content words, each replaced (see the module), joined by spaces.
 * Deterministic for a seed.
 *
 * @param wn WordNet.
 * @param sentence The query sentence.
 * @param seed Picks among synonyms.
 */
export function paraphrase(wn: WordNet, sentence: string, seed: number): string {
  const rand = mulberry32(seed);
  const out: string[] = [];
  for (const w of sentence.toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? []) {
    if (w.length < 3 || isStopword(w) || /\p{N}/u.test(w)) continue;
    const r = replacement(wn, w, rand);
    if (r) out.push(r);
  }
  return out.join(" ");
}
