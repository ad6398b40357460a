// The Netron wire codec, shared with the runtime's workers: it lives in @titan/core so the worker
// isolates and this client speak byte-identical Netron.
export * from "@titan/core/netron/codec";
