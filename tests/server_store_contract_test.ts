// The Store contract (tests/_store_contract.ts) on the Deno KV MemoryStore.
import { storeContract } from "./_store_contract.ts";
import { MemoryStore } from "../src/server/store.ts";

storeContract("deno-kv", () => MemoryStore.open(":memory:"));
