// One contract, two stores (memories and conversations): the cases of tests/_store_contract.ts
// run against the Deno KV store (src/server/store.ts, in memory) and the PostgreSQL store
// (src/server/postgres/store.ts, on a throwaway cluster that tests/_postgres.ts starts; without
// PostgreSQL 15 installed that part fails and says so).
import { startPostgres } from "./_postgres.ts";
import { runStoreContract } from "./_store_contract.ts";
import { PgStore } from "../src/server/postgres/store.ts";
import { MemoryStore } from "../src/server/store.ts";

Deno.test("store contract: Deno KV (MemoryStore)", async (t) => {
  await runStoreContract(t, () => MemoryStore.open(":memory:"));
});

Deno.test({
  name: "store contract: PostgreSQL (PgStore)",
  sanitizeResources: false, // the client's sockets close after the test's last step
  sanitizeOps: false,
  fn: async (t) => {
    const pg = await startPostgres();
    let n = 0;
    try {
      await runStoreContract(
        t,
        async () => PgStore.open(await pg.createDatabase(`contract_${n++}`)),
      );
    } finally {
      await pg.destroy();
    }
  },
});
