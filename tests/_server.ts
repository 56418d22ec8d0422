/** Helpers shared by the service tests of the server (issue 11). */
import { assert, assertEquals } from "./_assert.ts";
import type { TestApp } from "../src/server/testing.ts";
import { json } from "../src/server/testing.ts";

/**
 * Expects `{error: {code, message}}` with `status` and `code` (and `includes` in the message);
 * returns the message.
 */
export async function expectError(
  res: Response | Promise<Response>,
  status: number,
  code: string,
  includes?: string,
): Promise<string> {
  const r = await res;
  const body = await r.json();
  assertEquals(r.status, status, `status for ${JSON.stringify(body)}`);
  assertEquals(Object.keys(body), ["error"]);
  assertEquals(body.error.code, code);
  assert(typeof body.error.message === "string" && body.error.message.length > 0);
  if (includes) {
    assert(body.error.message.includes(includes), `"${body.error.message}" lacks "${includes}"`);
  }
  return body.error.message;
}

/** Runs `fn` (which sends bad requests) and checks that the store did not change. */
export async function unchanged(t: TestApp, fn: () => Promise<void>): Promise<void> {
  const before = await t.snapshot();
  await fn();
  assertEquals(await t.snapshot(), before, "the store changed");
}

/** Stores a memory; returns its id. */
export async function store(t: TestApp, body: Record<string, unknown>): Promise<string> {
  const res = await t.app.request("/v1/memories", json(body));
  const out = await res.json();
  assertEquals(res.status, 201, JSON.stringify(out));
  return out.id;
}

/** GETs a JSON answer, checking the status. */
// deno-lint-ignore no-explicit-any
export async function getJson(t: TestApp, path: string, status = 200): Promise<any> {
  const res = await t.app.request(path);
  const body = await res.json();
  assertEquals(res.status, status, `${path}: ${JSON.stringify(body)}`);
  return body;
}
