// The schema of `titan.config.json`: one zod schema, also published as JSON Schema for editors.

import { z } from "zod";

/** Byte sizes in the config: a plain number of bytes, or "512kb", "1mb", "1.5gb" (units of 1024). */
export const BYTE_SIZE_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)\s*$/i;

const UNIT_BYTES: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** Converts a config byte size to bytes; assumes the value already passed the schema. */
export function toBytes(size: number | string): number {
  if (typeof size === "number") return size;
  const match = BYTE_SIZE_PATTERN.exec(size);
  if (!match) throw new Error(`not a byte size: ${size}`);
  return Math.floor(Number(match[1]) * (UNIT_BYTES[match[2]!.toLowerCase()] ?? 1));
}

/**
 * Each key with its schema and, for error messages, the form it expects. Defaults are written
 * into the JSON Schema for editors but not applied by the schema: `resolveConfig` applies them,
 * because `port` has a precedence chain (`--port` > PORT > config > `t.start(port)` > 3000) and
 * `workers` depends on the machine that runs the build, not the one that made it.
 */
export const CONFIG_FIELDS = {
  $schema: {
    schema: z.string().meta({ description: "Path or URL of this file's JSON Schema, for editor completion." }),
    expected: "a string (path or URL of the JSON Schema)",
  },
  port: {
    schema: z.int().min(0).max(65535).meta({
      description: "TCP port to listen on; 0 picks a free one. Overridden by --port and PORT.",
      default: 3000,
    }),
    expected: "an integer from 0 to 65535",
  },
  host: {
    schema: z.string().min(1).meta({ description: "Address to listen on.", default: "0.0.0.0" }),
    expected: 'a non-empty string such as "0.0.0.0" or "127.0.0.1"',
  },
  workers: {
    schema: z.int().min(1).max(256).meta({
      description: "Worker isolates, each its own server. Default: the machine's available parallelism.",
    }),
    expected: "an integer from 1 to 256",
  },
  bodyLimit: {
    schema: z
      .union([z.int().min(0), z.string().regex(BYTE_SIZE_PATTERN)])
      .meta({ description: 'Largest request body: bytes, or a size like "512kb" or "1mb" (1 kb = 1024 bytes).', default: "1mb" }),
    expected: 'a number of bytes or a size such as "512kb" or "1mb"',
  },
  actionTimeout: {
    schema: z.int().min(1).meta({
      description: "Milliseconds an action may run before it is stopped and the client gets 504.",
      default: 30000,
    }),
    expected: "a positive integer (milliseconds)",
  },
  shutdownTimeout: {
    schema: z.int().min(0).meta({
      description: "Milliseconds a graceful shutdown waits for in-flight requests.",
      default: 10000,
    }),
    expected: "an integer ≥ 0 (milliseconds)",
  },
  db: {
    schema: z
      .strictObject({
        path: z.string().min(1).meta({ description: "The SQLite file of t.db, relative to the app.", default: ".titan/app.db" }),
      })
      .meta({ description: "t.db, the built-in SQLite engine." }),
    expected: 'an object such as { "path": "data/app.db" }',
  },
  netron: {
    schema: z
      .strictObject({
        listen: z
          .array(z.string().regex(/^[a-z][a-z0-9+.-]*:\/\/.+/, "an address such as tcp://0.0.0.0:7100"))
          .meta({ description: 'Netron listen addresses: "tcp://0.0.0.0:7100", "ws://0.0.0.0:7101/netron", "unix:///tmp/app.sock", or a scheme an extension provides ("tls://0.0.0.0:7443").' }),
        auth: z
          .strictObject({
            secret: z.string().min(1).optional().meta({ description: "JWT secret (HS*) or PEM public key (RS256). Prefer secretEnv." }),
            secretEnv: z.string().min(1).optional().meta({ description: "Environment variable holding the secret." }),
            algorithms: z.array(z.enum(["HS256", "HS384", "HS512", "RS256"])).optional(),
            issuer: z.string().optional(),
            audience: z.string().optional(),
          })
          .optional()
          .meta({ description: "Peers authenticate with a JWT (Netron's authenticate task, or a bearer token on POST /netron/invoke), checked by t.jwt." }),
        discovery: z
          .strictObject({
            redis: z.string().regex(/^rediss?:\/\//, "a redis:// URL").meta({ description: "Redis URL, redis://host:6379." }),
            ttl: z.int().min(100).optional().meta({ description: "Milliseconds a registration lives without a heartbeat.", default: 10000 }),
            prefix: z.string().min(1).optional().meta({ default: "titan:netron" }),
            advertise: z.array(z.string()).optional().meta({ description: "Addresses clients should dial, when the listen addresses are not reachable as written (0.0.0.0)." }),
          })
          .optional()
          .meta({ description: "Register the app's services in Redis so clients find them with discover()." }),
      })
      .meta({ description: "Netron RPC: JS/TS services (app/services/) served over tcp, unix, ws and extension transports." }),
    expected: 'an object such as { "listen": ["tcp://0.0.0.0:7100"] }',
  },
  extensions: {
    schema: z
      .array(
        z.strictObject({
          path: z.string().min(1).meta({ description: "The extension's directory (holding its titan.json), relative to the app." }),
          config: z.unknown().optional().meta({ description: "Given to the extension's init as JSON." }),
        }),
      )
      .meta({ description: "Native extensions to load, as t.<namespace>. Only these are loaded." }),
    expected: 'an array of { "path": "../mydb", "config": { ... } }',
  },
} as const;

export type ConfigKey = keyof typeof CONFIG_FIELDS;
export const CONFIG_KEYS = Object.keys(CONFIG_FIELDS) as ConfigKey[];

export const titanConfigSchema = z
  .strictObject({
    $schema: CONFIG_FIELDS.$schema.schema.optional(),
    port: CONFIG_FIELDS.port.schema.optional(),
    host: CONFIG_FIELDS.host.schema.optional(),
    workers: CONFIG_FIELDS.workers.schema.optional(),
    bodyLimit: CONFIG_FIELDS.bodyLimit.schema.optional(),
    actionTimeout: CONFIG_FIELDS.actionTimeout.schema.optional(),
    shutdownTimeout: CONFIG_FIELDS.shutdownTimeout.schema.optional(),
    db: CONFIG_FIELDS.db.schema.optional(),
    netron: CONFIG_FIELDS.netron.schema.optional(),
    extensions: CONFIG_FIELDS.extensions.schema.optional(),
  })
  .meta({ title: "Titan app config (titan.config.json)" });

/** `titan.config.json` as written by the user, validated. */
export type TitanConfig = z.infer<typeof titanConfigSchema>;

/** The schema as JSON Schema (draft 2020-12), for `$schema` references in editors. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(titanConfigSchema, { io: "input" }) as Record<string, unknown>;
}
