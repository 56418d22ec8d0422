// Filters (src/server/filters.ts, pure) and their validation (src/server/filter_schema.ts).
import { assert, assertEquals } from "./_assert.ts";
import { type Filter, matchesFilter, scopedFilter } from "../src/server/filters.ts";
import { expiryOf, parseFilter } from "../src/server/filter_schema.ts";

const rec = {
  user_id: "alice",
  agent_id: "planner",
  createdAt: "2026-12-01T10:00:00.000Z",
  updatedAt: "2026-12-03T10:00:00.000Z",
  metadata: { topic: "food", stars: 4, nested: { kind: "note" }, draft: false, none: null },
};

Deno.test("filters: equality, in, nin, ne, exists on scope ids and metadata", () => {
  const yes: Filter[] = [
    { user_id: { eq: "alice" } },
    { user_id: { in: ["bob", "alice"] } },
    { user_id: { ne: "bob" } },
    { run_id: { exists: false } },
    { run_id: { ne: "x" } },
    { metadata: { topic: { eq: "food" }, stars: { in: [3, 4] } } },
    { metadata: { "nested.kind": { eq: "note" } } },
    { metadata: { draft: { eq: false }, none: { eq: null } } },
    { metadata: { missing: { exists: false }, topic: { nin: ["work"] } } },
  ];
  for (const f of yes) assert(matchesFilter(rec, f), `should match ${JSON.stringify(f)}`);
  const no: Filter[] = [
    { user_id: { eq: "bob" } },
    { run_id: { in: ["r1"] } },
    { agent_id: { nin: ["planner"] } },
    { metadata: { stars: { eq: "4" } } }, // same value, other type
    { metadata: { "nested.kind": { eq: "task" } } },
    { metadata: { topic: { exists: false } } },
  ];
  for (const f of no) assert(!matchesFilter(rec, f), `should not match ${JSON.stringify(f)}`);
});

Deno.test("filters: date ranges, numeric ranges, and / or / not", () => {
  assert(matchesFilter(rec, { createdAt: { gte: "2026-12-01", lt: "2026-12-02" } }));
  assert(!matchesFilter(rec, { createdAt: { gt: "2026-12-01T10:00:00Z" } }));
  assert(matchesFilter(rec, { updatedAt: { gt: "2026-12-02T00:00:00+01:00" } }));
  assert(matchesFilter(rec, { metadata: { stars: { gte: 4, lt: 5 } } }));
  assert(!matchesFilter(rec, { metadata: { topic: { gt: 3 } } })); // string vs number: no order
  assert(
    matchesFilter(rec, { or: [{ user_id: { eq: "bob" } }, { metadata: { stars: { gt: 3 } } }] }),
  );
  assert(!matchesFilter(rec, { and: [{ user_id: { eq: "alice" } }, { agent_id: { eq: "x" } }] }));
  assert(!matchesFilter(rec, { not: { user_id: { eq: "alice" } } }));
  assert(matchesFilter(rec, undefined));
  assertEquals(scopedFilter({ user_id: "a", run_id: "r" }), {
    and: [{ user_id: { eq: "a" } }, { run_id: { eq: "r" } }],
  });
});

Deno.test("filter validation: short forms are expanded; each mistake is named with its place", () => {
  assertEquals(parseFilter({ user_id: "a", metadata: { t: ["x", 1] } }, "filter"), {
    user_id: { eq: "a" },
    metadata: { t: { in: ["x", 1] } },
  });
  const cases: [unknown, string][] = [
    [{ colour: "red" }, 'unknown filter field "colour"'],
    [{ createdAt: { gte: "yesterday" } }, "filter.createdAt.gte: must be an ISO 8601 date"],
    [{ createdAt: { after: "2026-12-01" } }, 'filter.createdAt: unknown operator "after"'],
    [{ createdAt: "2026-12-01" }, "filter.createdAt: must be an object of gt, gte, lt, lte"],
    [{ user_id: 3 }, "filter.user_id.eq"],
    [{ user_id: {} }, "filter.user_id: needs one of eq"],
    [{ and: [] }, "filter.and"],
    [{ or: [{ bad: 1 }] }, 'filter.or.0: unknown filter field "bad"'],
    [{ metadata: { k: { gt: {} } } }, "filter.metadata.k.gt: must be a number or a string"],
    [{ metadata: { k: { in: [{}] } } }, "filter.metadata.k.in.0"],
    [[1], "filter: a filter must be an object"],
    ["{}", "filter: a filter must be an object"], // a string in a body is not parsed
  ];
  for (const [raw, includes] of cases) {
    let message = "";
    try {
      parseFilter(raw, "filter");
    } catch (e) {
      assertEquals((e as { status?: number }).status, 400);
      message = (e as Error).message;
    }
    assert(message.includes(includes), `${JSON.stringify(raw)}: "${message}" lacks "${includes}"`);
  }
  let deep: Filter = { user_id: "a" } as unknown as Filter;
  for (let i = 0; i < 12; i++) deep = { not: deep };
  let refused = "";
  try {
    parseFilter(deep, "filter");
  } catch (e) {
    refused = (e as Error).message;
  }
  assert(refused.includes("nested 10 deep"), refused);
  let notJson = "";
  try {
    parseFilter("{nope", "filter", true);
  } catch (e) {
    notJson = (e as Error).message;
  }
  assertEquals(notJson, "Invalid request: filter: must be JSON");
});

Deno.test("expiry: ttl or expiresAt, not both, never in the past", () => {
  const now = Date.UTC(2026, 11, 1);
  assertEquals(expiryOf({ ttl: 60 }, now), "2026-12-01T00:01:00.000Z");
  assertEquals(expiryOf({ expiresAt: "2026-12-02" }, now), "2026-12-02T00:00:00.000Z");
  assertEquals(expiryOf({ expiresAt: null }, now), null);
  assertEquals(expiryOf({}, now), undefined);
  for (const bad of [{ ttl: 5, expiresAt: "2026-12-02" }, { expiresAt: "2026-11-30" }]) {
    let status = 0;
    try {
      expiryOf(bad, now);
    } catch (e) {
      status = (e as { status: number }).status;
    }
    assertEquals(status, 400, JSON.stringify(bad));
  }
});
