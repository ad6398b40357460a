// JS/TS Netron services as a worker isolate holds them: `defineService` checks a definition, the
// registry resolves `name`, `name@version` and definition ids, and `invoke` runs a method with its
// contract checked on the way in and out. Methods are synchronous; a generator method streams.

import { createHash } from "node:crypto";
import { Definition, TitanError } from "./codec.js";

/** A schema as a contract holds it: anything implementing Standard Schema (zod ≥ 3.24, valibot, arktype). */
export interface ContractSchema {
  "~standard": { validate(value: unknown): StandardResult | Promise<StandardResult> };
}
type StandardResult = { value: unknown; issues?: undefined } | { issues: ReadonlyArray<StandardIssue> };
interface StandardIssue {
  message: string;
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
}

/** One method's contract: its arguments and what it returns (for a generator, each yielded value). */
export interface MethodContract {
  /** A tuple/array schema checks the argument list; any other schema checks the single argument. */
  input?: ContractSchema;
  output?: ContractSchema;
}

/** What `defineService` takes. */
export interface ServiceDefinition {
  name: string;
  version: string;
  description?: string;
  contract?: Record<string, MethodContract>;
  methods: Record<string, (...args: any[]) => unknown>;
  /**
   * Values peers read with Netron's GET (`peer.get(service, name)`): constants, or getters computed
   * per read. Read-only: every worker isolate holds its own copy of a service, so a SET would change
   * one worker's copy only (keep shared state in t.db or an extension).
   */
  properties?: Record<string, unknown>;
  /** Calls need an authenticated peer (Netron `authenticate` task, or a bearer token over HTTP). */
  auth?: boolean;
}

// Methods run synchronously, so "the caller of the method running now" is one variable.
let currentCaller: CallerContext | undefined;

/** The caller of the service method running now (`t.netron.caller()`); undefined outside one. */
export function runningCaller(): CallerContext | undefined {
  return currentCaller;
}

/** Runs `step` (a generator's next chunk) with `caller` as the running caller. */
export function withCaller<T>(caller: CallerContext, step: () => T): T {
  const outer = currentCaller;
  currentCaller = caller;
  try {
    return step();
  } finally {
    currentCaller = outer;
  }
}

/** Who is calling: the peer's authentication, if any, and what its transport proved about it. */
export interface CallerContext {
  auth?: { userId?: unknown; roles?: unknown; claims: Record<string, unknown> };
  transport: "netron" | "http";
  peer?: PeerIdentity;
}

/** What a transport extension proved about the peer in its handshake (tls-transport with
 * `clientCa`: the verified client certificate, decoded). */
export interface PeerIdentity {
  /** The transport's scheme ("tls"). */
  transport?: string;
  /** The certificate as the transport gave it (hex DER). */
  certificate?: string;
  subject?: string;
  issuer?: string;
  subjectAltName?: string;
  fingerprint256?: string;
  serialNumber?: string;
  validTo?: string;
  [field: string]: unknown;
}

const SERVICE_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;
// semver 2.0.0: MAJOR.MINOR.PATCH with optional pre-release and build.
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** Checks a service definition and returns it unchanged (typed), as `defineAction` does for actions. */
export function defineService<const S extends ServiceDefinition>(service: S): S {
  const where = `defineService(${JSON.stringify((service as Partial<ServiceDefinition>)?.name ?? "?")})`;
  if (!service || typeof service !== "object") throw new TypeError(`defineService expects an object { name, version, methods }`);
  if (typeof service.name !== "string" || !SERVICE_NAME.test(service.name)) {
    throw new TypeError(`${where}: name must start with a letter and hold only letters, digits, ".", "_" and "-" (e.g. "calculator")`);
  }
  if (typeof service.version !== "string" || !SEMVER.test(service.version)) {
    throw new TypeError(`${where}: version must be semver, like "1.0.0" (got ${JSON.stringify(service.version)})`);
  }
  if (!service.methods || typeof service.methods !== "object") throw new TypeError(`${where}: methods must be an object of functions`);
  for (const [method, fn] of Object.entries(service.methods)) {
    if (typeof fn !== "function") throw new TypeError(`${where}: methods.${method} is ${typeof fn}, not a function`);
  }
  if (service.properties !== undefined) {
    if (!service.properties || typeof service.properties !== "object" || Array.isArray(service.properties)) {
      throw new TypeError(`${where}: properties must be an object of values or getters, like { unit: "celsius" }`);
    }
    for (const name of Object.keys(service.properties)) {
      if (Object.hasOwn(service.methods, name)) throw new TypeError(`${where}: "${name}" is both a method and a property; rename one`);
    }
  }
  for (const [method, contract] of Object.entries(service.contract ?? {})) {
    if (!(method in service.methods)) throw new TypeError(`${where}: the contract names "${method}", which is not in methods`);
    for (const side of ["input", "output"] as const) {
      const schema = contract?.[side];
      if (schema !== undefined && typeof (schema as ContractSchema)?.["~standard"]?.validate !== "function") {
        throw new TypeError(`${where}: contract.${method}.${side} is not a schema (use zod, or any Standard Schema library)`);
      }
    }
  }
  return service;
}

/** One registered service, ready to answer. */
export interface RegisteredService {
  definition: ServiceDefinition;
  key: string;
  defId: string;
  /** Netron's ServiceMetadata for `query_interface`. */
  meta: { name: string; version: string; properties: Record<string, { type: string; readonly: boolean }>; methods: Record<string, { type: string; arguments: { index: number; type: string }[] }> };
}

/** Services by `name@version`, resolvable by name (newest version), qualified name or definition id. */
export class ServiceRegistry {
  private readonly byKey = new Map<string, RegisteredService>();
  private readonly byDefId = new Map<string, RegisteredService>();
  private readonly newest = new Map<string, RegisteredService>();

  constructor(services: readonly ServiceDefinition[]) {
    for (const definition of services) {
      defineService(definition);
      const key = `${definition.name}@${definition.version}`;
      if (this.byKey.has(key)) throw new Error(`two services are named ${key}: give one another name or version`);
      const service: RegisteredService = { definition, key, defId: definitionId(key), meta: metaOf(definition) };
      this.byKey.set(key, service);
      this.byDefId.set(service.defId, service);
      const current = this.newest.get(definition.name);
      if (!current || compareSemver(definition.version, current.definition.version) > 0) this.newest.set(definition.name, service);
    }
  }

  get size(): number {
    return this.byKey.size;
  }

  /** `name@version` of every service, sorted. */
  list(): { name: string; version: string }[] {
    return [...this.byKey.values()].map((s) => ({ name: s.definition.name, version: s.definition.version })).sort((a, b) => (a.name + a.version).localeCompare(b.name + b.version));
  }

  /** A definition id, `name@version`, or a bare name (the newest version). */
  resolve(ref: unknown): RegisteredService {
    if (typeof ref !== "string" || ref.length === 0) {
      throw new TitanError({ code: 400, message: `a service is named by a string (name, name@version or definition id), got ${describe(ref)}` });
    }
    const found = this.byDefId.get(ref) ?? this.byKey.get(ref) ?? (ref.includes("@") ? undefined : this.newest.get(ref));
    if (!found) {
      throw new TitanError({ code: 404, message: `Service '${ref}' not found`, details: { serviceName: ref, available: [...this.byKey.keys()] } });
    }
    return found;
  }

  /** The Definition `query_interface` answers with. */
  definitionFor(ref: unknown, peerId: string): Definition {
    const service = this.resolve(ref);
    return new Definition(service.defId, "", peerId, service.meta);
  }
}

/** The outcome of a call: a value, or a generator to stream. */
export type Invocation = { kind: "value"; value: unknown } | { kind: "stream"; iterator: Iterator<unknown>; output?: ContractSchema; where: string };

/** Runs `method` of `service` with `args`, checking its contract. Errors are TitanErrors. */
export function invoke(service: RegisteredService, method: unknown, args: unknown[], caller: CallerContext): Invocation {
  const { definition } = service;
  if (typeof method !== "string" || !Object.hasOwn(definition.methods, method)) {
    throw new TitanError({
      code: 404,
      message: `${service.key} has no method ${JSON.stringify(method)}`,
      details: { service: service.key, method, methods: Object.keys(definition.methods) },
    });
  }
  if (definition.auth && !caller.auth) {
    throw new TitanError({ code: 401, message: `${service.key} needs an authenticated caller: authenticate with a token first`, details: { service: service.key, method } });
  }
  const where = `${service.key}.${method}`;
  const contract = definition.contract?.[method];
  let callArgs = args;
  if (contract?.input) {
    const listSchema = isListSchema(contract.input);
    const checked = validate(contract.input, listSchema ? args : args[0], `${where} input`);
    if (!checked.ok) {
      throw new TitanError({ code: 422, message: `invalid input for ${where}: ${checked.summary}`, details: { service: service.key, method, issues: checked.issues } });
    }
    callArgs = listSchema ? (checked.value as unknown[]) : [checked.value, ...args.slice(1)];
  }
  let result: unknown;
  try {
    result = withCaller(caller, () => definition.methods[method]!.apply(definition.methods, callArgs));
  } catch (error) {
    throw asTitanError(error, where);
  }
  if (isIterator(result)) return { kind: "stream", iterator: result, output: contract?.output, where };
  if (result instanceof Promise) {
    result.catch(() => {});
    throw new TitanError({ code: 500, message: `${where} returned a Promise: service methods run synchronously in Titan (use t.fetch, t.db ... which block), or return a generator to stream` });
  }
  return { kind: "value", value: checkOutput(contract?.output, result, where) };
}

/** Netron's GET: reads a declared property (calling its getter, if it has one) as `caller`. */
export function readProperty(service: RegisteredService, name: unknown, caller: CallerContext): unknown {
  const properties = declaredProperties(service, name);
  if (service.definition.auth && !caller.auth) {
    throw new TitanError({ code: 401, message: `${service.key} needs an authenticated caller: authenticate with a token first`, details: { service: service.key, property: name } });
  }
  const where = `${service.key}.${name as string}`;
  let value: unknown;
  try {
    value = withCaller(caller, () => Reflect.get(properties, name as string));
  } catch (error) {
    throw asTitanError(error, where);
  }
  if (value instanceof Promise) {
    value.catch(() => {});
    throw new TitanError({ code: 500, message: `${where} is a Promise: properties are read synchronously in Titan` });
  }
  return value;
}

/** Netron's SET: refused, with the reason (see `ServiceDefinition.properties`). */
export function writeProperty(service: RegisteredService, name: unknown): never {
  declaredProperties(service, name);
  throw new TitanError({
    code: 403,
    message: `${service.key}.${name as string} is read-only: each worker isolate holds its own copy of a service, so a SET would change one worker's copy only; add a method that writes to shared state (t.db, an extension) instead`,
    details: { service: service.key, property: name },
  });
}

function declaredProperties(service: RegisteredService, name: unknown): Record<string, unknown> {
  const properties = service.definition.properties ?? {};
  if (typeof name !== "string" || !Object.hasOwn(properties, name)) {
    throw new TitanError({
      code: 404,
      message: `${service.key} has no property ${JSON.stringify(name)}`,
      details: { service: service.key, property: name, properties: Object.keys(properties) },
    });
  }
  return properties;
}

/** Checks one returned (or yielded) value against the contract's `output`. */
export function checkOutput(schema: ContractSchema | undefined, value: unknown, where: string): unknown {
  if (!schema) return value;
  const checked = validate(schema, value, `${where} output`);
  if (!checked.ok) {
    throw new TitanError({ code: 500, message: `${where} returned a value its contract does not allow: ${checked.summary}`, details: { issues: checked.issues } });
  }
  return checked.value;
}

/** Any thrown value as the TitanError a peer receives: TitanErrors pass, others keep their message. */
export function asTitanError(error: unknown, where: string): TitanError {
  if (error instanceof TitanError) return error;
  const maybe = error as { code?: unknown; message?: unknown; details?: unknown; name?: unknown } | null;
  const code = typeof maybe?.code === "number" && maybe.code >= 400 && maybe.code < 600 ? maybe.code : 500;
  const message = typeof maybe?.message === "string" ? maybe.message : String(error);
  return new TitanError({ code, message, details: { ...(typeof maybe?.details === "object" && maybe.details ? maybe.details : {}), method: where, errorName: typeof maybe?.name === "string" ? maybe.name : "Error" } });
}

type Checked = { ok: true; value: unknown } | { ok: false; issues: { message: string; path: PropertyKey[] }[]; summary: string };

function validate(schema: ContractSchema, value: unknown, where: string): Checked {
  const result = schema["~standard"].validate(value);
  if (result instanceof Promise) {
    result.catch(() => {});
    throw new TitanError({ code: 500, message: `${where}: the schema validates asynchronously; Titan checks contracts synchronously (drop async refinements)` });
  }
  if (!result.issues) return { ok: true, value: result.value };
  const issues = result.issues.map((issue) => ({ message: issue.message, path: (issue.path ?? []).map((p) => (typeof p === "object" ? p.key : p)) }));
  const summary = issues.map((i) => (i.path.length ? `${i.path.map(String).join(".")}: ${i.message}` : i.message)).join("; ");
  return { ok: false, issues, summary };
}

/** zod 3 and 4 tell tuple and array schemas apart by their definition's type. */
function isListSchema(schema: ContractSchema): boolean {
  const s = schema as { _zod?: { def?: { type?: string } }; _def?: { typeName?: string; type?: string } };
  const type = s._zod?.def?.type ?? s._def?.type ?? s._def?.typeName;
  return type === "tuple" || type === "array" || type === "ZodTuple" || type === "ZodArray";
}

function isIterator(value: unknown): value is Iterator<unknown> {
  return typeof value === "object" && value !== null && typeof (value as Iterator<unknown>).next === "function" && typeof (value as Iterable<unknown>)[Symbol.iterator] === "function";
}

/** The same id on every worker and every restart, so a Definition stays valid across reconnects. */
function definitionId(key: string): string {
  const hex = createHash("sha256").update(`titan-netron:${key}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function metaOf(definition: ServiceDefinition): RegisteredService["meta"] {
  const methods: RegisteredService["meta"]["methods"] = {};
  for (const [name, fn] of Object.entries(definition.methods)) {
    const streams = Object.prototype.toString.call(fn) === "[object GeneratorFunction]";
    methods[name] = { type: streams ? "stream" : "unknown", arguments: Array.from({ length: fn.length }, (_, index) => ({ index, type: "unknown" })) };
  }
  const properties: RegisteredService["meta"]["properties"] = {};
  for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(definition.properties ?? {}))) {
    // Reading the descriptor, not the value: a getter runs only when a peer asks for it.
    const value = descriptor.value as unknown;
    properties[name] = { type: descriptor.get ? "unknown" : value === null ? "null" : Array.isArray(value) ? "array" : typeof value, readonly: true };
  }
  return { name: definition.name, version: definition.version, properties, methods };
}

/** Compares two semver versions by precedence (build metadata ignored). */
export function compareSemver(a: string, b: string): number {
  const pa = SEMVER.exec(a);
  const pb = SEMVER.exec(b);
  if (!pa || !pb) return a.localeCompare(b);
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return Math.sign(d);
  }
  if (pa[4] === pb[4]) return 0;
  if (pa[4] === undefined) return 1;
  if (pb[4] === undefined) return -1;
  return pa[4].localeCompare(pb[4], "en", { numeric: true });
}

function describe(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}
