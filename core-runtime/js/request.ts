// The request an action receives, built from the flat array the core hands over (layout in
// titan-node's `to_js`). Fixed-shape fields are set at once; headers and query are decoded only
// when an action reads them, since most actions never do.

export const enum Slot {
  Id = 0,
  Action = 1,
  Method = 2,
  Path = 3,
  Params = 4,
  Query = 5,
  BodyKind = 6,
  BodyText = 7,
  BodyBytes = 8,
  Form = 9,
  HeadersAt = 10,
}

export const enum BodyKind {
  None = 0,
  Json = 1,
  Form = 2,
  Text = 3,
  Binary = 4,
}

/** What `workerNext` returns: see the layout above. */
export type RawRequest = unknown[];

type Fields = Record<string, string | string[]>;

/** `[k, v, k, v]` → `{ k: v }`, a repeated key becoming an array. */
export function pairsToFields(pairs: ArrayLike<unknown>, from = 0): Fields {
  const out: Fields = {};
  for (let i = from; i + 1 < pairs.length; i += 2) {
    const key = pairs[i] as string;
    const value = pairs[i + 1] as string;
    const existing = out[key];
    if (existing === undefined) out[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[key] = [existing, value];
  }
  return out;
}

/** Decodes a query string the way the core decodes form bodies (WHATWG urlencoded). */
export function decodeQuery(query: string | null): Fields {
  if (!query) return {};
  const pairs: string[] = [];
  for (const [key, value] of new URLSearchParams(query)) pairs.push(key, value);
  return pairsToFields(pairs);
}

export class TitanRequest {
  readonly id: string;
  readonly method: string;
  readonly path: string;
  readonly params: Record<string, string | number>;
  readonly body: unknown;
  readonly rawBody: string | null;
  #raw: RawRequest;
  #headers: Record<string, string> | undefined;
  #query: Fields | undefined;

  constructor(raw: RawRequest, body: unknown) {
    this.id = raw[Slot.Id] as string;
    this.method = raw[Slot.Method] as string;
    this.path = raw[Slot.Path] as string;
    const params = raw[Slot.Params] as unknown[] | null;
    this.params = params ? (pairsToFields(params) as unknown as Record<string, string | number>) : {};
    this.body = body;
    this.rawBody = raw[Slot.BodyText] as string | null;
    this.#raw = raw;
  }

  /** Lower-cased header names; repeated headers joined with `, `. */
  get headers(): Record<string, string> {
    return (this.#headers ??= pairsToFields(this.#raw, Slot.HeadersAt) as Record<string, string>);
  }

  /** The decoded query string; a repeated key becomes an array. */
  get query(): Fields {
    return (this.#query ??= decodeQuery(this.#raw[Slot.Query] as string | null));
  }

  toJSON() {
    const { id, method, path, params, query, headers, body, rawBody } = this;
    return { id, method, path, params, query, headers, body, rawBody };
  }
}
