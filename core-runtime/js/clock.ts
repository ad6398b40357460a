// The action-timeout clock shared by a worker (which stamps when its action started) and the
// host's watchdog (which reads the stamps): milliseconds in an int32 slot of a SharedArrayBuffer,
// so stamping costs two atomic stores and no message.

/** Milliseconds since `epoch` as a non-zero int32 (0 means idle). Wraps every 49.7 days. */
export function clock32(epoch: number, now = Date.now()): number {
  return ((now - epoch) | 0) || 1;
}

/** Milliseconds from `startedAt` to `now`, both `clock32` stamps: int32 subtraction stays right
 * across a wrap for any duration under 24 days. */
export function elapsed32(now: number, startedAt: number): number {
  return (now - startedAt) | 0;
}
