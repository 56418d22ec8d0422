// Child process of bench/model.ts: load a model from a file and compress one message.
import { R3Mem } from "../mod.ts";

const r3 = await R3Mem.load({ weights: await Deno.readFile(Deno.args[0]) });
await r3.compress("Cold start: the first memory.");
console.log("done");
