// Generates src/server/openapi.ts from the server's OpenAPI document
// (crates/coguest-server/openapi.json, itself checked against what the server serves), so the
// admin API's types are never copied by hand: the body and answer types, and `Operations`, one
// entry per operation with its method, path, path parameters, body and answer.
//
//   node scripts/gen-openapi.mjs           writes src/server/openapi.ts
//   node scripts/gen-openapi.mjs --check   fails when the committed file differs from what the
//                                          document generates
import { compile } from "json-schema-to-typescript";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { writeOrCheck } from "./generated.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..");
const docPath = join(pkg, "../../crates/coguest-server/openapi.json");
const wireSchemaPath = join(pkg, "../../crates/coguest-proto/protocol.schema.json");
const outPath = join(pkg, "src/server/openapi.ts");

const doc = JSON.parse(readFileSync(docPath, "utf8"));
const wireNames = new Set(Object.keys(JSON.parse(readFileSync(wireSchemaPath, "utf8")).$defs));
const schemas = doc.components.schemas;
const REF = "#/components/schemas/";

/** The name a `$ref` points at. */
const refName = (ref) => {
  if (!ref.startsWith(REF)) throw new Error(`unexpected reference ${ref}`);
  return ref.slice(REF.length);
};

/**
 * Rewrites a schema for json-schema-to-typescript: a reference to a wire type (one of
 * src/wire.ts's, imported rather than generated twice) or a `$ref` with sibling keywords becomes
 * the referenced type's name (`tsType`); other references point at `$defs`. Notes every wire
 * type used in `imports`.
 */
function reshape(node, imports) {
  if (Array.isArray(node)) return node.map((n) => reshape(n, imports));
  if (node === null || typeof node !== "object") return node;
  if (typeof node.$ref === "string") {
    const name = refName(node.$ref);
    const { $ref, ...rest } = node;
    if (wireNames.has(name)) {
      imports.add(name);
      return { ...reshape(rest, imports), tsType: name };
    }
    if (Object.keys(rest).length > 0) return { ...reshape(rest, imports), tsType: name };
    return { $ref: `#/$defs/${name}` };
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, reshape(v, imports)]));
}

/** The TypeScript type of a body or answer schema (a reference, or `null` or a reference). */
function typeOf(schema, imports) {
  if (schema === undefined) return "void";
  if (typeof schema.$ref === "string") {
    const name = refName(schema.$ref);
    if (wireNames.has(name)) imports.add(name);
    return name;
  }
  if (Array.isArray(schema.oneOf)) return schema.oneOf.map((s) => typeOf(s, imports)).join(" | ");
  if (schema.type === "null") return "null";
  throw new Error(`no TypeScript type for the schema ${JSON.stringify(schema)}`);
}

/** A path parameter's TypeScript type. */
function paramType(schema) {
  if (schema?.type === "string") return "string";
  if (schema?.type === "integer" || schema?.type === "number") return "number";
  throw new Error(`no TypeScript type for the parameter schema ${JSON.stringify(schema)}`);
}

/** A JSDoc comment of `text`, indented by `indent`. */
const jsdoc = (text, indent) =>
  `${indent}/**\n${text
    .trim()
    .split("\n")
    .map((l) => `${indent} * ${l.trim()}`.trimEnd())
    .join("\n")}\n${indent} */\n`;

const imports = new Set();
const defs = {};
for (const [name, schema] of Object.entries(schemas)) {
  if (wireNames.has(name)) continue;
  defs[name] = reshape(schema, imports);
}
const root = {
  title: "AdminSchemas",
  description: "Every body and answer type of the admin API, by name.",
  type: "object",
  properties: Object.fromEntries(Object.keys(defs).map((n) => [n, { $ref: `#/$defs/${n}` }])),
  required: Object.keys(defs),
  additionalProperties: false,
  $defs: defs,
};

const METHODS = ["get", "put", "post", "delete", "patch"];
const operations = [];
for (const [path, item] of Object.entries(doc.paths)) {
  for (const method of METHODS) {
    const op = item[method];
    if (op === undefined) continue;
    const params = (op.parameters ?? []).filter((p) => p.in === "path");
    const others = (op.parameters ?? []).filter((p) => p.in !== "path");
    if (others.length > 0) throw new Error(`${op.operationId}: only path parameters are supported`);
    const body = op.requestBody?.content?.["application/json"]?.schema;
    const ok = Object.keys(op.responses).filter((s) => s.startsWith("2")).sort();
    const answers = new Set(ok.map((s) => typeOf(op.responses[s].content?.["application/json"]?.schema, imports)));
    if (answers.size !== 1) throw new Error(`${op.operationId}: its 2xx answers differ`);
    operations.push({
      id: op.operationId,
      method: method.toUpperCase(),
      path,
      doc: op.description ?? op.summary ?? "",
      params: params.map((p) => `${p.name}: ${paramType(p.schema)}`),
      body: body === undefined ? "undefined" : typeOf(body, imports),
      bodyRequired: body !== undefined && op.requestBody.required === true,
      response: [...answers][0],
      statuses: ok.map(Number),
    });
  }
}
const seen = new Set();
for (const op of operations) {
  if (typeof op.id !== "string" || seen.has(op.id)) throw new Error(`operation id ${op.id} is missing or repeated`);
  seen.add(op.id);
}
operations.sort((a, b) => (a.id < b.id ? -1 : 1));

const banner = `/* eslint-disable */
// GENERATED by scripts/gen-openapi.mjs from crates/coguest-server/openapi.json (the server's
// OpenAPI document). Do not edit: run \`npm run gen\`; \`npm run check:gen\` fails when stale.
`;
const types = await compile(root, "AdminSchemas", {
  bannerComment: "",
  additionalProperties: false,
  unreachableDefinitions: true,
  strictIndexSignatures: true,
  format: true,
  style: { printWidth: 100 },
});

let out = banner;
if (imports.size > 0) out += `\nimport type { ${[...imports].sort().join(", ")} } from "../wire.js";\n`;
out += `\n${types.trim()}\n`;
out += `
/**
 * Every operation of the admin API, by its \`operationId\`: the HTTP method, the path (with
 * \`{name}\` for each path parameter), the path parameters, the JSON body (\`undefined\` when it
 * takes none; \`bodyRequired\` says whether it must be sent), the answer of its success statuses
 * (\`void\` for none) and those statuses.
 */
export interface Operations {
`;
for (const op of operations) {
  if (op.doc !== "") out += jsdoc(op.doc, "  ");
  out += `  ${op.id}: {
    method: "${op.method}";
    path: "${op.path}";
    params: ${op.params.length > 0 ? `{ ${op.params.join("; ")} }` : "Record<string, never>"};
    body: ${op.body};
    bodyRequired: ${op.bodyRequired};
    response: ${op.response};
  };
`;
}
out += `}

/** An operation's id. */
export type OperationId = keyof Operations;

/** Each operation's method, path template and success statuses, to send it. */
export const OPERATIONS: {
  readonly [K in OperationId]: {
    readonly method: Operations[K]["method"];
    readonly path: Operations[K]["path"];
    readonly bodyRequired: Operations[K]["bodyRequired"];
    readonly statuses: readonly number[];
  };
} = {
`;
for (const op of operations) {
  out += `  ${op.id}: { method: "${op.method}", path: "${op.path}", bodyRequired: ${op.bodyRequired}, statuses: [${op.statuses.join(", ")}] },\n`;
}
out += "};\n";

writeOrCheck(outPath, out, {
  name: "src/server/openapi.ts",
  source: "crates/coguest-server/openapi.json",
  fix: "npm run gen",
});
