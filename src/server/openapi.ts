/**
 * The OpenAPI description's header and a self-contained HTML page that renders the document
 * generated from the route definitions (`./schemas.ts`): no CDN, nothing loaded from outside.
 *
 * @module
 */

/**
 * The OpenAPI document's header (the paths come from the routes).
 *
 * @example
 * ```ts
 * import { OPENAPI_INFO } from "./openapi.ts";
 * console.log(OPENAPI_INFO.info.title); // "r3mem"
 * ```
 */
export const OPENAPI_INFO = {
  openapi: "3.1.0",
  info: {
    title: "r3mem",
    version: "0.1.0",
    description: "Compress text into a small hierarchical memory with a reversible transformer, " +
      "store it per tenant, reconstruct it exactly, search it. Errors are " +
      "`{error: {code, message}}`. With tokens configured, `/v1` needs " +
      "`Authorization: Bearer <token>`.",
    license: { name: "MIT", identifier: "MIT" },
  },
} as const;

/**
 * Each operation's `operationId` (the name client generators give its function), by
 * `"<method> <path>"`. An operation missing here gets one made from its method and path.
 */
export const OPERATION_IDS: Readonly<Record<string, string>> = {
  "get /healthz": "getHealth",
  "post /v1/compress": "compress",
  "post /v1/reconstruct": "reconstruct",
  "post /v1/memories": "createMemory",
  "get /v1/memories": "listMemories",
  "get /v1/memories/{id}": "getMemory",
  "delete /v1/memories/{id}": "deleteMemory",
  "get /v1/memories/{id}/text": "getMemoryText",
  "post /v1/search": "search",
  "put /v1/memories/{id}": "updateMemory",
  "get /v1/memories/{id}/history": "getMemoryHistory",
  "get /v1/memories/{id}/versions/{version}/text": "getMemoryVersionText",
  "delete /v1/memories": "deleteMemories",
  "get /v1/export": "exportMemories",
  "post /v1/import": "importMemories",
  "post /v1/conversations": "createConversation",
  "post /v1/conversations/{id}/turns": "appendConversationTurn",
  "get /v1/conversations/{id}": "getConversation",
  "get /v1/conversations/{id}/turns/{n}/text": "getConversationTurnText",
  "delete /v1/conversations/{id}": "deleteConversation",
};

const METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

/**
 * Completes the document generated from the routes for client tooling (Redocly's recommended
 * rules, openapi-typescript, openapi-fetch): a `servers` entry (where it is served from), an
 * `operationId` on every operation, and `security: []` stated on the operations that need no
 * token (the others name the `bearer` scheme).
 *
 * @param doc The generated document (changed in place).
 * @param serverUrl The server's base URL, e.g. `http://127.0.0.1:8787`.
 * @returns The same document.
 *
 * @example
 * ```ts
 * import { finishOpenApiDocument, type OpenApiDoc } from "./openapi.ts";
 * const doc: OpenApiDoc = {
 *   info: { title: "r3mem", version: "0.1.0" },
 *   paths: { "/healthz": { get: { responses: {} } }, "/v1/things/{id}": { get: { responses: {} } } },
 * };
 * finishOpenApiDocument(doc, "http://127.0.0.1:8787");
 * console.log(doc.servers); // [ { url: "http://127.0.0.1:8787" } ]
 * console.log(doc.paths?.["/healthz"].get); // { responses: {}, operationId: "getHealth", security: [] }
 * console.log(doc.paths?.["/v1/things/{id}"].get); // { responses: {}, operationId: "getV1ThingsById", … }
 * ```
 */
export function finishOpenApiDocument(doc: OpenApiDoc, serverUrl: string): OpenApiDoc {
  doc.servers = [{ url: serverUrl }];
  const used = new Set<string>();
  for (const [path, methods] of Object.entries(doc.paths ?? {})) {
    for (const [method, raw] of Object.entries(methods)) {
      if (!METHODS.has(method) || typeof raw !== "object" || raw === null) continue;
      const op = raw as Operation & { operationId?: string };
      let id = op.operationId ?? OPERATION_IDS[`${method} ${path}`] ?? derivedId(method, path);
      while (used.has(id)) id += "_";
      used.add(id);
      op.operationId = id;
      op.security ??= [];
    }
  }
  return doc;
}

/** `get /v1/memories/{id}/text` → `getV1MemoriesByIdText`. */
function derivedId(method: string, path: string): string {
  const words = path.split("/").filter(Boolean).map((part) =>
    part.startsWith("{") ? `By${cap(part.slice(1, -1))}` : cap(part.replace(/[^A-Za-z0-9]+/g, ""))
  );
  return method + words.join("");
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The parts of an OpenAPI document the docs page reads. */
export interface OpenApiDoc {
  /** Title, version, description. */
  info: { title: string; version: string; description?: string };
  /** Path → method → operation. */
  paths?: Record<string, Record<string, unknown>>;
  /** Named schemas. */
  components?: { schemas?: Record<string, unknown> };
  /** Where the API is served. */
  servers?: { url: string; description?: string }[];
}

interface Operation {
  summary?: string;
  description?: string;
  security?: unknown[];
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<
    string,
    { description?: string; content?: Record<string, { schema?: unknown }> }
  >;
}

/**
 * Renders an OpenAPI document as a static HTML page: one section per operation with its
 * parameters, request bodies and responses (schemas as JSON).
 *
 * @param doc The document (`app.getOpenAPI31Document(...)`).
 * @returns The page.
 *
 * @example
 * ```ts
 * import { renderDocsPage } from "./openapi.ts";
 * const html = renderDocsPage({
 *   info: { title: "r3mem", version: "0.1.0" },
 *   paths: { "/healthz": { get: { summary: "Liveness", responses: { 200: { description: "OK" } } } } },
 * });
 * console.log(html.includes("GET") && html.includes("/healthz")); // true
 * ```
 */
export function renderDocsPage(doc: OpenApiDoc): string {
  const ops: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths ?? {})) {
    for (const [method, raw] of Object.entries(methods)) {
      const op = raw as Operation;
      const params = (op.parameters ?? []).map((p) =>
        `<li><code>${esc(p.name)}</code> (${esc(p.in)}${p.required ? ", required" : ""}) ` +
        `<code>${esc(JSON.stringify(p.schema ?? {}))}</code></li>`
      ).join("");
      const bodies = Object.entries(op.requestBody?.content ?? {}).map(([type, c]) =>
        `<h4>Request <code>${esc(type)}</code></h4><pre>${esc(pretty(c.schema))}</pre>`
      ).join("");
      const responses = Object.entries(op.responses ?? {}).map(([status, r]) => {
        const content = Object.entries(r.content ?? {}).map(([type, c]) =>
          `<details><summary><code>${esc(type)}</code></summary><pre>${esc(pretty(c.schema))}` +
          `</pre></details>`
        ).join("");
        return `<li><b>${esc(status)}</b> ${esc(r.description ?? "")}${content}</li>`;
      }).join("");
      ops.push(
        `<section id="${esc(method)}-${esc(path)}"><h3><span class="m ${esc(method)}">` +
          `${esc(method.toUpperCase())}</span> <code>${esc(path)}</code>` +
          `${op.security?.length ? ' <span class="lock">bearer</span>' : ""}</h3>` +
          `<p>${esc(op.summary ?? "")}</p>${
            op.description ? `<p>${esc(op.description)}</p>` : ""
          }` +
          (params ? `<h4>Parameters</h4><ul>${params}</ul>` : "") + bodies +
          `<h4>Responses</h4><ul>${responses}</ul></section>`,
      );
    }
  }
  const schemas = Object.entries(doc.components?.schemas ?? {}).map(([name, s]) =>
    `<details><summary><code>${esc(name)}</code></summary><pre>${esc(pretty(s))}</pre></details>`
  ).join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)} API</title><link rel="icon" href="data:,"><style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
section{border:1px solid #ddd;border-radius:6px;padding:.2rem 1rem;margin:1rem 0}
pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:13px}
.m{display:inline-block;min-width:4.5em;text-align:center;border-radius:4px;color:#fff;font-size:13px}
.get{background:#2b7bb9}.post{background:#2e9d4e}.delete{background:#c0392b}.put{background:#b97a2b}
.lock{font-size:12px;color:#8a6d00;border:1px solid #e0c870;border-radius:4px;padding:0 .3em}
</style></head><body><h1>${esc(doc.info.title)} <small>${esc(doc.info.version)}</small></h1>
<p>${esc(doc.info.description ?? "")}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> · <a href="/">playground</a></p>
${ops.join("\n")}<h2>Schemas</h2>${schemas}</body></html>`;
}

function pretty(v: unknown): string {
  return JSON.stringify(v ?? {}, null, 2);
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
