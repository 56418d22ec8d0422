/**
 * Conversations over HTTP (issue 11): `POST /v1/conversations`, `POST
 * /v1/conversations/{id}/turns`, `GET /v1/conversations/{id}`, `GET
 * /v1/conversations/{id}/turns/{n}/text` (JSON or Server-Sent Events) and `DELETE
 * /v1/conversations/{id}`. Turns are appended through `R3Mem.append` (`../append.ts`, via the
 * engine) and stored by `./conversation_store.ts`: atomically, one number per turn. Mounted by
 * `createApp` (`./app.ts`).
 *
 * @module
 */
import type { R3MemApp } from "./auth.ts";
import {
  appendTurnRoute,
  createConversationRoute,
  deleteConversationRoute,
  getConversationRoute,
  MAX_TURN_TEXT_BYTES,
  turnTextRoute,
} from "./conversation_schemas.ts";
import type { ConversationStore, TurnRecord } from "./conversation_store.ts";
import type { Engine } from "./engine.ts";
import { ApiError } from "./errors.ts";
import { checkMetadata } from "./memory_info.ts";
import { textResponse } from "./sse.ts";

/** What the conversation routes work with. */
export interface ConversationDeps {
  /** The model. */
  engine: Engine;
  /** Where conversations live (the memory store's `conversations`). */
  conversations: ConversationStore;
}

/**
 * Adds the conversation routes to the app.
 *
 * @param app The app (its error handling and middleware already set).
 * @param deps Engine and conversation store.
 *
 * @example
 * ```ts
 * import { createTestApp, json } from "./testing.ts";
 * const t = await createTestApp(); // createApp mounts these routes
 * const { id } = await (await t.app.request("/v1/conversations", json({}))).json();
 * await t.app.request(`/v1/conversations/${id}/turns`, json({ role: "user", text: "Hi!" }));
 * const res = await t.app.request(`/v1/conversations/${id}/turns/0/text`);
 * console.log(await res.json()); // { text: "Hi!" }
 * t.close();
 * ```
 */
export function mountConversationRoutes(app: R3MemApp, deps: ConversationDeps): void {
  const { engine } = deps;
  const store = deps.conversations;
  const mustGet = async (ns: string, id: string) => {
    const rec = await store.get(ns, id);
    if (!rec) throw new ApiError(404, "not_found", `No conversation with id ${id}`);
    if (rec.model !== engine.fingerprint) {
      throw new ApiError(
        422,
        "model_mismatch",
        `Conversation ${id} was written by model ${rec.model.slice(0, 12)}…, ` +
          `this server runs ${engine.fingerprint.slice(0, 12)}…`,
      );
    }
    return rec;
  };
  const turnText = async (ns: string, id: string, n: number, signal?: AbortSignal) => {
    const found = await store.turn(ns, id, n);
    if (!found) throw new ApiError(404, "not_found", `Conversation ${id} has no turn ${n}`);
    return engine.reconstruct(found.bytes, { signal });
  };

  app.openapi(createConversationRoute, async (c) => {
    const body = c.req.header("content-length") === "0" || !c.req.header("content-type")
      ? {}
      : c.req.valid("json") ?? {};
    checkMetadata(body.metadata);
    const rec = await store.create(c.get("namespace"), body.metadata ?? {}, engine.fingerprint);
    c.header("Location", `/v1/conversations/${rec.id}`);
    return c.json({ id: rec.id, createdAt: rec.createdAt }, 201);
  });

  app.openapi(appendTurnRoute, async (c) => {
    const ns = c.get("namespace");
    const { id } = c.req.valid("param");
    const { role, text, metadata } = c.req.valid("json");
    checkMetadata(metadata);
    const bytes = new TextEncoder().encode(text).length;
    if (bytes > MAX_TURN_TEXT_BYTES) {
      throw new ApiError(
        413,
        "too_large",
        `The turn is ${bytes} bytes; a turn holds at most ${MAX_TURN_TEXT_BYTES}`,
      );
    }
    await mustGet(ns, id);
    const signal = c.get("signal");
    const turn = await store.append(
      ns,
      id,
      role,
      metadata ?? {},
      (state) => engine.append(state, text, { signal }),
    );
    c.header("Location", `/v1/conversations/${id}/turns/${turn.n}/text`);
    return c.json(turnInfo(turn), 201);
  });

  app.openapi(getConversationRoute, async (c) => {
    const ns = c.get("namespace");
    const { id } = c.req.valid("param");
    const { from = 0, limit = 20, text } = c.req.valid("query");
    const rec = await mustGet(ns, id);
    const page = await store.turns(ns, id, from, limit);
    const turns = await Promise.all(page.turns.map(async (t) => {
      if (text !== "true") return turnInfo(t);
      let s = "";
      for await (const piece of await turnText(ns, id, t.n, c.get("signal"))) s += piece;
      return { ...turnInfo(t), text: s };
    }));
    return c.json({
      id: rec.id,
      createdAt: rec.createdAt,
      updatedAt: rec.updatedAt,
      metadata: rec.metadata,
      turnCount: rec.turns,
      stateBytes: rec.state?.length ?? 0,
      turns,
      next: page.next,
    }, 200);
  });

  app.openapi(turnTextRoute, async (c) => {
    const ns = c.get("namespace");
    const { id, n } = c.req.valid("param");
    await mustGet(ns, id);
    return await textResponse(c, await turnText(ns, id, n, c.get("signal")));
  });

  app.openapi(deleteConversationRoute, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await store.delete(c.get("namespace"), id))) {
      throw new ApiError(404, "not_found", `No conversation with id ${id}`);
    }
    return c.body(null, 204);
  });
}

// A turn as the API shows it (the store's chunk count left out).
function turnInfo(t: TurnRecord) {
  return {
    n: t.n,
    role: t.role,
    metadata: t.metadata,
    createdAt: t.createdAt,
    textBytes: t.textBytes,
    bytes: t.bytes,
  };
}
