// Every response the integration tests receive is checked against the Worker's own /openapi.json
// by a JSON Schema 2020-12 validator (@cfworker/json-schema: workerd refuses `new Function`, so
// ajv cannot run here), so the document and the behaviour cannot drift apart unnoticed.

import { exports } from "cloudflare:workers";
import { dereference, type OutputUnit, type Schema, validate } from "@cfworker/json-schema";

interface MediaType {
  schema?: Schema;
}
interface ResponseObject {
  description?: string;
  headers?: Record<string, { required?: boolean }>;
  content?: Record<string, MediaType>;
}
interface Operation {
  responses: Record<string, ResponseObject>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

/** Paths that are not API operations, so the document rightly does not describe them. */
export const UNDOCUMENTED_PATHS: { pattern: RegExp; reason: string }[] = [
  { pattern: /^\/openapi\.json$/, reason: "the document itself (validated as OpenAPI 3.1 in test/node)" },
  { pattern: /^\/docs$/, reason: "HTML reference for people, rendered from the document" },
  { pattern: /^\/admin(\/|$)/, reason: "the admin portal: HTML pages and form posts, not API operations" },
];

interface Template {
  path: string;
  /** Every parameter one segment. */
  exact: RegExp;
  /** A trailing parameter may hold slashes: /v1/files/{path} serves nested paths. */
  nested: RegExp;
  params: number;
  literal: number;
}

export interface Checker {
  check(method: string, url: string, response: Response): Promise<void>;
}

/** A checker for one OpenAPI 3.1 document: method + path → operation → declared response → checks. */
export function openApiChecker(doc: OpenApiDocument): Checker {
  const lookup = dereference(doc as unknown as Schema);
  const templates: Template[] = Object.keys(doc.paths).map((path) => {
    const parts = path.split(/(\{[^}]+\})/).filter(Boolean);
    const source = (last: string) =>
      parts
        .map((part, i) => {
          if (!part.startsWith("{")) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
          return i === parts.length - 1 ? last : "[^/]+";
        })
        .join("");
    const params = parts.filter((p) => p.startsWith("{")).length;
    return {
      path,
      exact: new RegExp(`^${source("[^/]+")}$`),
      nested: new RegExp(`^${source(".+")}$`),
      params,
      literal: parts.filter((p) => !p.startsWith("{")).join("").length,
    };
  });

  const problemSchema = doc.components?.schemas?.Problem;

  function operationFor(method: string, pathname: string): { path: string; op: Operation } | null {
    const bySpecificity = (a: Template, b: Template) => a.params - b.params || b.literal - a.literal;
    const matches = [
      ...templates.filter((t) => t.exact.test(pathname)).sort(bySpecificity),
      ...templates.filter((t) => !t.exact.test(pathname) && t.nested.test(pathname)).sort(bySpecificity),
    ];
    for (const t of matches) {
      const ops = doc.paths[t.path] ?? {};
      // HEAD is GET without a body (RFC 9110) unless the document describes it separately.
      const op = ops[method] ?? (method === "head" ? ops.get : undefined);
      if (op) return { path: t.path, op };
    }
    return null;
  }

  // The validator also reports every enclosing schema ("a subschema had errors"): show the leaves.
  const WRAPPERS = new Set(["$ref", "properties", "items", "prefixItems", "allOf"]);
  const errorsOf = (errors: OutputUnit[]) => {
    const leaves = errors.filter((e) => !WRAPPERS.has(e.keyword));
    return (leaves.length > 0 ? leaves : errors)
      .slice(0, 10)
      .map((e) => `  ${e.instanceLocation}: ${e.error} (${e.keywordLocation})`)
      .join("\n");
  };

  const mediaTypeOf = (response: Response) =>
    (response.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";

  const declaredKey = (content: Record<string, MediaType>, type: string) =>
    [type, `${type.split("/")[0]}/*`, "*/*"].find((key) => key in content);

  /** Every schema that applies to the instance in place: itself, its $ref, allOf, matching anyOf/oneOf. */
  function applicable(schema: Schema | boolean | undefined, instance: unknown): Schema[] {
    if (!schema || typeof schema !== "object") return [];
    const out = [schema];
    if (schema.__absolute_ref__) out.push(...applicable(lookup[schema.__absolute_ref__], instance));
    for (const s of schema.allOf ?? []) out.push(...applicable(s, instance));
    for (const s of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) {
      if (validate(instance, s, "2020-12", lookup).valid) out.push(...applicable(s, instance));
    }
    return out;
  }

  /**
   * Properties the document does not name. JSON Schema lets an object without
   * additionalProperties carry anything more; an answer's undeclared field is still drift (a
   * generated client does not know it), so an object whose schema lists properties is closed here.
   */
  function undocumented(instance: unknown, schema: Schema, at: string): string[] {
    const schemas = applicable(schema, instance);
    if (Array.isArray(instance)) {
      return instance.flatMap((item, i) =>
        schemas.flatMap((s) =>
          s.items && typeof s.items === "object" ? undocumented(item, s.items as Schema, `${at}/${i}`) : [],
        ),
      );
    }
    if (!instance || typeof instance !== "object") return [];
    const open = schemas.some(
      (s) => (s.additionalProperties !== undefined && s.additionalProperties !== false) || s.patternProperties,
    );
    const closed = !open && schemas.some((s) => s.properties);
    return Object.entries(instance).flatMap(([key, value]) => {
      const where = `${at}/${key}`;
      const named = schemas.flatMap((s) => (s.properties?.[key] !== undefined ? [s.properties[key]] : []));
      if (named.length === 0 && closed) return [where];
      const inner = named.length > 0 ? named : schemas.map((s) => s.additionalProperties);
      return inner.flatMap((s) => (s && typeof s === "object" ? undocumented(value, s, where) : []));
    });
  }

  async function checkBody(where: string, response: Response, type: string, schema: Schema | undefined) {
    if (!/^application\/(?:[\w.-]+\+)?json$/.test(type) || !schema) return;
    const text = await response.clone().text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${where}: the ${type} body is not JSON: ${text.slice(0, 200)}`);
    }
    const result = validate(body, schema, "2020-12", lookup, false);
    if (!result.valid) {
      throw new Error(
        `${where}: the body does not match the documented schema:\n${errorsOf(result.errors)}\nbody: ${text.slice(0, 600)}`,
      );
    }
    const extra = undocumented(body, schema, "#");
    if (extra.length > 0) {
      throw new Error(
        `${where}: the body has properties the document does not declare: ${[...new Set(extra)].slice(0, 10).join(", ")}\nbody: ${text.slice(0, 600)}`,
      );
    }
  }

  return {
    async check(method, url, response) {
      const { pathname } = new URL(url);
      const lower = method.toLowerCase();
      const where = `${method.toUpperCase()} ${pathname} → ${response.status}`;
      if (UNDOCUMENTED_PATHS.some((p) => p.pattern.test(pathname))) return;
      const type = mediaTypeOf(response);
      const found = operationFor(lower, pathname);
      if (!found) {
        // No such operation: the only right answer is the app's not-found problem.
        if (response.status !== 404 || type !== "application/problem+json") {
          throw new Error(`${where}: no operation in /openapi.json matches ${method.toUpperCase()} ${pathname}`);
        }
        await checkBody(where, response, type, problemSchema);
        return;
      }
      const spec = `${where} (documented as ${lower} ${found.path})`;
      const declaredResponse =
        found.op.responses[String(response.status)] ??
        found.op.responses[`${String(response.status)[0]}XX`] ??
        found.op.responses.default;
      if (!declaredResponse) {
        const statuses = Object.keys(found.op.responses).join(", ");
        const body = type.includes("json") ? `: ${(await response.clone().text()).slice(0, 300)}` : "";
        throw new Error(`${spec}: status ${response.status} is not declared (declared: ${statuses})${body}`);
      }
      for (const [name, header] of Object.entries(declaredResponse.headers ?? {})) {
        if (header.required && !response.headers.has(name)) {
          throw new Error(`${spec}: the declared header ${name} is missing`);
        }
      }
      // 204 and 304 carry no content; HEAD carries GET's headers (so its content type) without it.
      if (response.status === 204 || response.status === 304) return;
      const content = declaredResponse.content ?? {};
      if (Object.keys(content).length === 0) {
        if (response.body !== null && lower !== "head") {
          throw new Error(`${spec}: a body (${type || "no content type"}) is answered but none is declared`);
        }
        return;
      }
      const key = declaredKey(content, type);
      if (!key) {
        throw new Error(
          `${spec}: content type '${type}' is not declared (declared: ${Object.keys(content).join(", ")})`,
        );
      }
      // A wildcard (files: served with the type they were stored with) declares bytes, not JSON.
      if (lower !== "head" && !key.includes("*")) await checkBody(spec, response, type, content[key]?.schema);
    },
  };
}

let suiteChecker: Promise<Checker> | undefined;

/** The checker for the document the Worker serves, fetched once per test file. */
export function documentChecker(): Promise<Checker> {
  suiteChecker ??= exports.default
    .fetch(new Request("https://silo.test/openapi.json"))
    .then(async (res) => openApiChecker((await res.json()) as OpenApiDocument));
  return suiteChecker;
}

/** Checks one answer against the document; fails the test with method, path, status and errors. */
export async function expectDocumented(request: Request, response: Response): Promise<Response> {
  await (await documentChecker()).check(request.method, request.url, response);
  return response;
}

/** The Worker's fetch, every answer checked against the document. */
export async function checkedFetch(request: Request): Promise<Response> {
  const { method, url } = request;
  const response = await exports.default.fetch(request);
  await (await documentChecker()).check(method, url, response);
  return response;
}
