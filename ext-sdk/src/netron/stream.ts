// A stream a server method produces (a generator on the server), as the client receives it: STREAM
// packets put back in index order into a bounded buffer that one `for await` consumer drains.

import { ErrorCode, NetronClientError } from "./errors.js";

/** What a stream needs from the connection it arrived on. */
export interface StreamLink {
  /** The most chunks kept waiting for the consumer (in order and out of order together). */
  readonly limit: number;
  /** e.g. "calculator@1.0.0.count", for messages; "" until the CALL answer names it. */
  readonly what: () => string;
  /** Tells the server to stop producing (STREAM_CLOSE), if the connection is still up. */
  sendClose(reason: string): void;
  /** The stream reached its end, failed or was cancelled: it takes no more packets. */
  settled(): void;
}

type Waiter<T> = { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void };

/**
 * The values a server-side generator yields, in order. Iterate it once with `for await`; leaving the
 * loop early (break, return, throw) cancels the stream on the server. If the consumer falls more than
 * `streamBuffer` chunks behind (connect() option), the stream is cancelled and the iterator throws a
 * 429 NetronClientError (reason "stream-overflow") after yielding what was buffered.
 */
export class RemoteStream<T = unknown> implements AsyncIterable<T> {
  private readonly ready: T[] = [];
  /** Chunks that arrived ahead of a missing index. */
  private readonly ahead = new Map<number, { data: unknown; eos: boolean }>();
  private nextIndex = 0;
  private state: "open" | "ended" | "failed" | "cancelled" = "open";
  private failure: unknown;
  private readonly waiters: Waiter<T>[] = [];
  private iterated = false;

  /** @internal Streams are created by the Peer as packets arrive. */
  constructor(
    /** The server's stream id (per connection). */
    readonly id: number,
    private readonly link: StreamLink,
  ) {}

  /** Chunks received and not consumed yet. */
  get buffered(): number {
    return this.ready.length + this.ahead.size;
  }

  /** True once the server will send nothing more (end, error, cancel, lost connection). */
  get finished(): boolean {
    return this.state !== "open";
  }

  /** @internal One STREAM packet. `eos` marks the last; its data is a final value unless null. */
  push(index: number, data: unknown, eos: boolean): void {
    if (this.state !== "open" || index < this.nextIndex || this.ahead.has(index)) return;
    this.ahead.set(index, { data, eos });
    for (let entry = this.ahead.get(this.nextIndex); entry; entry = this.ahead.get(this.nextIndex)) {
      this.ahead.delete(this.nextIndex);
      this.nextIndex += 1;
      // Netron's EOS packet carries null (no value); a non-null one is a last value, as Netron reads it.
      if (!entry.eos || entry.data !== null) this.deliver(entry.data as T);
      if (entry.eos) {
        this.settle("ended");
        return;
      }
    }
    if (this.buffered > this.link.limit) {
      const what = this.link.what() || `stream ${this.id}`;
      this.link.sendClose("overflow");
      this.fail(
        new NetronClientError(
          "stream-overflow",
          ErrorCode.TOO_MANY_REQUESTS,
          `${what}: ${this.buffered} chunks are waiting for the consumer, over the streamBuffer limit of ${this.link.limit}, so the stream was cancelled. ` +
            `Consume it faster (no slow awaits inside the loop), or raise streamBuffer in connect() options`,
          { details: { streamId: this.id, limit: this.link.limit } },
        ),
      );
    }
  }

  /** @internal The stream failed (STREAM_ERROR, lost connection, ...): buffered chunks are still yielded first. */
  fail(error: unknown): void {
    if (this.state !== "open") return;
    this.failure = error;
    this.ahead.clear();
    this.settle("failed");
  }

  /** Stops the stream: the server is told to stop its generator, and buffered chunks are dropped. */
  cancel(reason = "cancelled"): void {
    this.ready.length = 0;
    if (this.state !== "open") return;
    this.ahead.clear();
    this.link.sendClose(reason);
    this.settle("cancelled");
  }

  private deliver(value: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve({ value, done: false });
    else this.ready.push(value);
  }

  private settle(state: "ended" | "failed" | "cancelled"): void {
    this.state = state;
    this.link.settled();
    if (this.ready.length > 0) return;
    for (const waiter of this.waiters.splice(0)) this.finishWaiter(waiter);
  }

  private finishWaiter(waiter: Waiter<T>): void {
    if (this.state === "failed" && this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      waiter.reject(failure);
    } else {
      waiter.resolve({ value: undefined, done: true });
    }
  }

  private next(): Promise<IteratorResult<T>> {
    if (this.ready.length > 0) return Promise.resolve({ value: this.ready.shift() as T, done: false });
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.state === "open") this.waiters.push(waiter);
      else this.finishWaiter(waiter);
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.iterated) {
      throw new TypeError(`${this.link.what() || `stream ${this.id}`} is already being iterated: a remote stream has one consumer; call the method again for another stream`);
    }
    this.iterated = true;
    return {
      next: () => this.next(),
      return: (value?: unknown) => {
        this.cancel();
        return Promise.resolve({ value: value as T, done: true });
      },
    };
  }
}
