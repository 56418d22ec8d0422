/**
 * Route definitions and validators of the conversation API (`./conversations.ts`): the same
 * objects validate requests and generate `/openapi.json`.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import { bearer, errors, Metadata, TextStream } from "./schemas.ts";

/** Largest page of turns. */
export const MAX_TURNS_PAGE = 100;
/** Largest turn, in UTF-8 bytes of text. */
export const MAX_TURN_TEXT_BYTES = 256 * 1024;

const ConvParams = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" } }),
});

const TurnParams = ConvParams.extend({
  n: z.coerce.number({ error: "n must be a turn number" }).int("n must be an integer").min(0)
    .openapi({ param: { name: "n", in: "path" }, description: "The turn's number, from 0" }),
});

const TurnSchema = z.object({
  n: z.number().int().openapi({ description: "Turn number, from 0" }),
  role: z.string().openapi({ example: "user" }),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  textBytes: z.number().int(),
  bytes: z.number().int().openapi({ description: "Size of the turn's stored memory" }),
  text: z.string().optional().openapi({ description: "With ?text=true: the exact text" }),
}).openapi("ConversationTurn");

/** `POST /v1/conversations`. */
export const createConversationRoute = createRoute({
  method: "post",
  path: "/v1/conversations",
  summary: "Start a conversation (an unbounded history in a memory of fixed size)",
  security: bearer,
  request: {
    body: {
      required: false,
      content: {
        "application/json": {
          schema: z.object({ metadata: Metadata.optional() }, {
            error: "The body must be a JSON object",
          }),
        },
      },
    },
  },
  responses: {
    201: {
      description: "Created",
      content: {
        "application/json": { schema: z.object({ id: z.string(), createdAt: z.string() }) },
      },
    },
    ...errors(400, 401, 413),
  },
});

/** `POST /v1/conversations/{id}/turns`. */
export const appendTurnRoute = createRoute({
  method: "post",
  path: "/v1/conversations/{id}/turns",
  summary: "Append a turn (the conversation's memory is updated, nothing stored is re-read)",
  security: bearer,
  request: {
    params: ConvParams,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({
            role: z.string({ error: "role must be a string" }).regex(
              /^[A-Za-z0-9_.:-]{1,64}$/,
              "role must be 1-64 letters, digits, '_', '.', ':' or '-'",
            ).openapi({ example: "user" }),
            text: z.string({ error: "text must be a string" }).min(1, "text must not be empty"),
            metadata: Metadata.optional(),
          }, { error: "The body must be a JSON object" }),
        },
      },
    },
  },
  responses: {
    201: { description: "Appended", content: { "application/json": { schema: TurnSchema } } },
    ...errors(400, 401, 404, 409, 413, 422, 503, 504),
  },
});

/** `GET /v1/conversations/{id}`. */
export const getConversationRoute = createRoute({
  method: "get",
  path: "/v1/conversations/{id}",
  summary: "A conversation and a page of its turns",
  security: bearer,
  request: {
    params: ConvParams,
    query: z.object({
      from: z.coerce.number({ error: "from must be a turn number" }).int().min(0).optional()
        .openapi({ param: { name: "from", in: "query" }, description: "First turn (default 0)" }),
      limit: z.coerce.number({ error: "limit must be a number" }).int().min(1).max(
        MAX_TURNS_PAGE,
      ).optional().openapi({
        param: { name: "limit", in: "query" },
        description: `Turns per page, 1…${MAX_TURNS_PAGE} (default 20)`,
      }),
      text: z.enum(["true", "false"], { error: 'text must be "true" or "false"' }).optional()
        .openapi({
          param: { name: "text", in: "query" },
          description: "Also reconstruct each turn's exact text",
        }),
    }),
  },
  responses: {
    200: {
      description: "Found",
      content: {
        "application/json": {
          schema: z.object({
            id: z.string(),
            createdAt: z.string(),
            updatedAt: z.string(),
            metadata: z.record(z.string(), z.unknown()),
            turnCount: z.number().int(),
            stateBytes: z.number().int().openapi({
              description: "Size of the conversation's recurrent memory (constant)",
            }),
            turns: z.array(TurnSchema),
            next: z.number().int().nullable().openapi({
              description: "`from` of the next page; null on the last",
            }),
          }),
        },
      },
    },
    ...errors(400, 401, 404, 422, 503, 504),
  },
});

/** `GET /v1/conversations/{id}/turns/{n}/text`. */
export const turnTextRoute = createRoute({
  method: "get",
  path: "/v1/conversations/{id}/turns/{n}/text",
  summary: "The exact text of one turn, reconstructed from its own memory",
  security: bearer,
  request: { params: TurnParams },
  responses: {
    200: {
      description: "The text",
      content: { "application/json": { schema: z.object({ text: z.string() }) }, ...TextStream },
    },
    ...errors(400, 401, 404, 422, 503, 504),
  },
});

/** `DELETE /v1/conversations/{id}`. */
export const deleteConversationRoute = createRoute({
  method: "delete",
  path: "/v1/conversations/{id}",
  summary: "Delete a conversation and its turns",
  security: bearer,
  request: { params: ConvParams },
  responses: {
    204: { description: "Deleted" },
    ...errors(401, 404),
  },
});
