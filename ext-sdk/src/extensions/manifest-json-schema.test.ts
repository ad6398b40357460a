// titan.json's JSON Schema: generated from the zod manifest schemas, written to ext-sdk/schema/ by
// the build (scripts/setup.mjs), exported by the package, and describing what `titan create ext` writes.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { PACKAGE_ROOT } from "../package-info.js";
import * as manifestModule from "./manifest.js";
import { manifestJsonSchema } from "./manifest-json-schema.js";

interface Branch {
  type: string;
  properties: Record<string, { description?: string; const?: string; pattern?: string }>;
  required: string[];
}
const schema = manifestJsonSchema() as { $schema: string; title: string; anyOf: Branch[] };
const nativeBranch = schema.anyOf.find((branch) => branch.properties.kind?.const === "native");

describe("titan.json JSON Schema", () => {
  test("ext-sdk/schema/titan.schema.json, written by the build, is the schema manifest.ts defines (`npm run build` rewrites it)", () => {
    const committed = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, "schema", "titan.schema.json"), "utf8")) as unknown;
    assert.deepEqual(committed, JSON.parse(JSON.stringify(schema)));
  });

  test("the package exports it next to the config's", () => {
    const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8")) as { exports: Record<string, string> };
    assert.equal(pkg.exports["./schema/titan.schema.json"], "./schema/titan.schema.json");
  });

  test("one branch per manifest form manifest.ts exports, Titan's own form first", () => {
    const forms = Object.keys(manifestModule).filter((key) => key.endsWith("ManifestSchema"));
    assert.equal(schema.anyOf.length, forms.length);
    assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
    assert.equal(schema.title, "titan.json");
    assert.ok(nativeBranch, "a branch with kind: native");
    assert.equal(schema.anyOf[0], nativeBranch);
  });

  test("the native form describes every field `titan create ext` writes, and requires what the parser requires", () => {
    const written = ["$schema", "name", "description", "namespace", "kind", "entry", "native"];
    for (const field of written) {
      assert.ok(nativeBranch!.properties[field], `${field} is in the schema`);
      assert.ok(nativeBranch!.properties[field]!.description, `${field} has a description for editors`);
    }
    assert.deepEqual(nativeBranch!.required.sort(), ["name", "native"]);
    assert.equal(nativeBranch!.properties.kind!.const, "native");
    assert.equal(nativeBranch!.properties.namespace!.pattern, "^[A-Za-z_$][\\w$]*$");
  });

  test("the manifest parser accepts $schema", () => {
    const text = JSON.stringify({ $schema: "./node_modules/titan/schema/titan.schema.json", name: "x", kind: "native", native: { library: {} } });
    const parsed = manifestModule.parseExtensionManifest(text, "titan.json");
    assert.equal(parsed.form, "native");
    assert.equal((parsed.manifest as { $schema?: string }).$schema, "./node_modules/titan/schema/titan.schema.json");
  });
});
