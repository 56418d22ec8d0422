/**
 * Reconstructed text as a response: JSON `{text}`, or — when the client sends
 * `Accept: text/event-stream` — Server-Sent Events as the text is decoded (Hono's SSE helper).
 *
 * Events: `text` with data `{"text": piece}` for each decoded piece, then `done` with data `{}`;
 * a failure after the stream started is an `error` event with data `{"error": {code, message}}`.
 * Failures before the first piece (damaged memory, unknown node) are ordinary error responses.
 *
 * @module
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { toErrorResponse } from "./errors.ts";

/**
 * Whether the request asks for an event stream.
 *
 * @example
 * ```ts
 * import { wantsEventStream } from "./sse.ts";
 * const req = new Request("http://x/", { headers: { Accept: "text/event-stream" } });
 * console.log(wantsEventStream(req)); // true
 * ```
 */
export function wantsEventStream(req: Request): boolean {
  return /(^|,)\s*text\/event-stream\b/i.test(req.headers.get("accept") ?? "");
}

/**
 * Answers with the pieces of a text: streamed as SSE when asked for, else JSON `{text}`.
 *
 * @param c The request's context.
 * @param pieces The text, piece by piece. Errors thrown before the first piece propagate (and
 *   become an ordinary error response); later ones end the stream with an `error` event.
 * @returns The response.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { textResponse } from "./sse.ts";
 * async function* pieces() { yield "Hello, "; yield "world."; }
 * const app = new Hono().get("/t", (c) => textResponse(c, pieces()));
 * const res = await app.request("/t", { headers: { Accept: "text/event-stream" } });
 * console.log((await res.text()).includes('data: {"text":"world."}')); // true
 * ```
 */
export async function textResponse(c: Context, pieces: AsyncIterable<string>): Promise<Response> {
  const it = pieces[Symbol.asyncIterator]();
  const first = await it.next(); // validation errors surface here, before any status is sent
  if (!wantsEventStream(c.req.raw)) {
    let text = first.done ? "" : first.value;
    for (let r = await it.next(); !r.done; r = await it.next()) text += r.value;
    return c.json({ text }, 200);
  }
  return streamSSE(c, async (stream) => {
    stream.onAbort(() => void it.return?.());
    try {
      if (!first.done) {
        await stream.writeSSE({ event: "text", data: JSON.stringify({ text: first.value }) });
      }
      for (let r = await it.next(); !r.done && !stream.aborted; r = await it.next()) {
        await stream.writeSSE({ event: "text", data: JSON.stringify({ text: r.value }) });
      }
      if (!stream.aborted) await stream.writeSSE({ event: "done", data: "{}" });
    } catch (err) {
      if (!stream.aborted) {
        await stream.writeSSE({ event: "error", data: JSON.stringify(toErrorResponse(err).body) });
      }
    } finally {
      await it.return?.();
    }
  });
}
