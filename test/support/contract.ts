/**
 * Checks real responses against the service's own /openapi.json: the operation documents the
 * status, the media type is one it lists, and the body validates against that schema (ajv's
 * JSON Schema 2020-12 dialect, the one OpenAPI 3.1 uses, with ajv-formats for date-time and uri).
 */
import * as assert from "uvu/assert";
import Ajv2020Module from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { rewriteRefs } from "../../src/api/declared-input.ts";
import type { JsonResponse } from "./http.ts";

type Validate = ((data: unknown) => boolean) & { errors?: unknown };
type AjvLike = { compile(schema: object): Validate };
const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ?? Ajv2020Module) as new (options: object) => AjvLike;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: AjvLike) => void;

/** A text/event-stream body's events as objects of their fields (comments dropped; `retry` a number). */
function sseEvents(text: string): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const event: Record<string, unknown> = {};
    for (const line of block.split(/\r?\n/)) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      event[field] = field === "retry" ? Number(value) : field === "data" && event.data !== undefined ? `${event.data}\n${value}` : value;
    }
    if (Object.keys(event).length > 0) events.push(event);
  }
  return events;
}

export class ContractChecker {
  private readonly ajv: AjvLike;
  private readonly compiled = new Map<string, Validate>();
  private readonly defs: unknown;
  /** "METHOD path status" of every response checked, to report coverage. */
  readonly seen = new Set<string>();

  constructor(readonly document: any) {
    // strict off: OpenAPI keywords such as discriminator and example are not JSON Schema vocabulary.
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.defs = rewriteRefs(document.components.schemas);
  }

  private validator(key: string, schema: unknown): Validate {
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile({ ...(rewriteRefs(schema) as object), $defs: this.defs });
      this.compiled.set(key, validate);
    }
    return validate;
  }

  /** Validates `body` against a named component schema (for responses outside any operation, such as 405). */
  component(name: string, body: unknown): void {
    const validate = this.validator(`component ${name}`, { $ref: `#/components/schemas/${name}` });
    assert.ok(validate(body), `${name}: ${JSON.stringify(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
  }

  /** `path` is the document's path (template or concrete), e.g. "/v1/reports/{id}". */
  check(method: string, path: string, response: JsonResponse): void {
    const label = `${method.toUpperCase()} ${path} → ${response.status}`;
    const operation = this.document.paths[path]?.[method.toLowerCase()];
    assert.ok(operation, `${method} ${path} is not in the document`);
    const documented = operation.responses[String(response.status)];
    assert.ok(documented, `${label} is not documented (documented: ${Object.keys(operation.responses).join(", ")})`);
    this.seen.add(`${method.toUpperCase()} ${path} ${response.status}`);
    const contentType = (response.headers.get("content-type") ?? "").split(";")[0].trim();
    if (!documented.content) {
      assert.ok(response.body === undefined || response.body === "", `${label}: documented without a body, got ${contentType}`);
      return;
    }
    const media = documented.content[contentType];
    assert.ok(media, `${label}: content type ${JSON.stringify(contentType)} is not one of ${Object.keys(documented.content).join(", ")}`);
    const validate = this.validator(`${method} ${path} ${response.status} ${contentType}`, media.schema);
    if (contentType === "text/event-stream") {
      // The schema describes one event; the body is a stream of them.
      for (const event of sseEvents(String(response.body))) {
        assert.ok(validate(event), `${label} event: ${JSON.stringify(validate.errors)}\n${JSON.stringify(event)}`);
      }
      return;
    }
    assert.ok(
      validate(response.body),
      `${label} (${contentType}): ${JSON.stringify(validate.errors)}\n${JSON.stringify(response.body).slice(0, 800)}`,
    );
  }
}
