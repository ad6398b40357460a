/*
 * titan_ext.h: the Titan native extension ABI, version 1, for C (and Zig, C++...).
 *
 * The C view of the Rust crate `titan-ext-sys` (the source of truth; a test there checks that
 * this file states the same constants, sizes and field offsets). The rules are written down in
 * `core-runtime/docs/abi.md`; the short version:
 *
 *  - An extension is a shared library exporting one symbol, `titan_extension_entry`, which
 *    returns a static `titan_extension` descriptor. The first five fields of that descriptor
 *    (`abi_version`, `struct_size`, `name`, `version`, `sdk_version`) are frozen forever: every
 *    host, old or new, can read them and refuse a mismatch with an exact message.
 *  - Arguments are borrowed from the host for the duration of a call. Results and errors are
 *    owned by the extension until the host passes them to `free_value`, exactly once.
 *  - Nothing may unwind across this boundary (no C++ exceptions, no Rust panics).
 *  - Functions may be called from several worker threads at once.
 *  - Structs only ever grow at the end; readers check `struct_size` before reading a field that
 *    a newer ABI appended.
 *
 * All strings are UTF-8. `*_fn` members marked "optional" may be NULL; the others may not.
 */
#ifndef TITAN_EXT_H
#define TITAN_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes. */
#define TITAN_ABI_VERSION 1

/* The one symbol an extension exports (see `titan_entry_fn`). */
#define TITAN_ENTRY_SYMBOL "titan_extension_entry"

/* ---- Values ---------------------------------------------------------------------------- */

/* `titan_value.kind`. */
#define TITAN_NULL 0   /* JS null / undefined; no payload */
#define TITAN_BOOL 1   /* payload.boolean */
#define TITAN_F64 2    /* payload.number: a JS number */
#define TITAN_I64 3    /* payload.integer: a JS BigInt */
#define TITAN_STRING 4 /* payload.buffer: UTF-8 text, NOT NUL-terminated */
#define TITAN_BYTES 5  /* payload.buffer: bytes (a JS Uint8Array) */
#define TITAN_JSON 6   /* payload.buffer: a structured value (object/array) as UTF-8 JSON text */

/* A pointer and a length. `ptr` may be NULL when `len` is 0. Who owns the bytes depends on
 * where the value is: see `titan_value`. */
typedef struct titan_buffer {
    const uint8_t *ptr;
    size_t len;
} titan_buffer;

/* The payload of a `titan_value`, selected by its `kind`. */
typedef union titan_payload {
    bool boolean;        /* TITAN_BOOL (one byte, 0 or 1) */
    double number;       /* TITAN_F64 */
    int64_t integer;     /* TITAN_I64 */
    titan_buffer buffer; /* TITAN_STRING, TITAN_BYTES, TITAN_JSON */
} titan_payload;

/* One argument or result.
 * Arguments: borrowed from the host, valid until the call returns; copy what you keep.
 * Results and errors: the buffer belongs to the extension until the host hands the value back
 * through `titan_extension.free_value` (exactly once). Whoever allocates, frees. */
typedef struct titan_value {
    uint32_t kind;     /* TITAN_NULL ... TITAN_JSON */
    uint32_t reserved; /* 0 in ABI 1 */
    titan_payload payload;
} titan_value;

/* ---- Calls ----------------------------------------------------------------------------- */

/* Status of a call, `init` or `worker_init`. */
typedef int32_t titan_status;
#define TITAN_OK 0  /* success: the result (or out-parameter) is set */
#define TITAN_ERR 1 /* failure: the result/error holds a TITAN_STRING message owned by the
                     * extension (freed by the host through free_value) */

/* What the host passes to every call. Valid for the call only. */
typedef struct titan_call {
    uint32_t struct_size;  /* sizeof(titan_call) as the host built it */
    uint32_t worker_id;    /* the calling worker (isolate); stable for the worker's life */
    void *extension_state; /* what `init` stored in *state */
    void *worker_state;    /* what `worker_init` stored for this worker (NULL without it) */
} titan_call;

/* A function exported to JS. May run on several worker threads at once.
 * `args` holds exactly `argc` (== the def's `arity`) borrowed values; missing JS arguments are
 * TITAN_NULL. The function always writes `*result`: the value on TITAN_OK, a TITAN_STRING
 * message on TITAN_ERR. */
typedef titan_status (*titan_fn)(const titan_call *call, const titan_value *args, size_t argc,
                                 titan_value *result);

/* One exported function. */
typedef struct titan_function_def {
    uint32_t struct_size;  /* sizeof(titan_function_def) */
    uint32_t arity;        /* number of JS parameters */
    const char *name;      /* JS name (t.<namespace>.<name>), NUL-terminated, static */
    titan_fn call;         /* the implementation */
    const char *signature; /* NUL-terminated JSON for docs and generated .d.ts, static:
                            * {"params":[{"name":"key","type":"string","rust":"&str"}],
                            *  "returns":"string | null","rust_returns":"Option<String>",
                            *  "fallible":true,"doc":"..."} ("rust*"/"doc" may be absent) */
} titan_function_def;

/* ---- The host -------------------------------------------------------------------------- */

/* `titan_host.log` levels. */
#define TITAN_LOG_DEBUG 10
#define TITAN_LOG_INFO 20
#define TITAN_LOG_WARN 30
#define TITAN_LOG_ERROR 40

/* What the host offers an extension (in `init`). The pointer stays valid until `unload`.
 * Call host functions only through this table: an extension links nothing from the host. */
typedef struct titan_host {
    uint32_t abi_version; /* the host's TITAN_ABI_VERSION */
    uint32_t struct_size; /* sizeof(titan_host) as the host built it */
    void *host_data;      /* opaque; pass back to every host function */
    /* A log line attributed to the extension. `msg` is UTF-8, `len` bytes, not NUL-terminated,
     * borrowed for the call. Callable from any thread. */
    void (*log)(void *host_data, uint32_t level, const uint8_t *msg, size_t len);
    /* Registers a Netron transport: `transport` points to a `titan_transport_def`, read during
     * the call. Only during `init`. TITAN_ERR when the host refuses it (a built-in or taken
     * scheme, a malformed definition, a reload): the host then fails the extension's load with
     * the reason, whatever `init` returns. A host older than transports always answers TITAN_ERR. */
    titan_status (*register_transport)(void *host_data, const void *transport);
    /* -- appended in ABI 1 (titan-ext 0.1): check struct_size before reading (see
     *    TITAN_HOST_HAS_DATA_DIR) -- */
    /* The app's data directory: a UTF-8 path, `len` bytes, NOT NUL-terminated; `len` 0 when the
     * host has none. For files the extension keeps (a database, a cache). Valid until `unload`. */
    titan_buffer data_dir;
} titan_host;

/* Whether `host` (a table of host->struct_size bytes) has `data_dir`: an older host's ends
 * before it. */
#define TITAN_HOST_HAS_DATA_DIR(host) \
    ((host)->struct_size >= offsetof(titan_host, data_dir) + sizeof(titan_buffer))

/* Frees the buffer of a value this extension produced (a result or an error). Called exactly
 * once per such value, from any thread; must accept every kind (non-buffer kinds own nothing). */
typedef void (*titan_free_value_fn)(titan_value *value);

/* ---- Transports ------------------------------------------------------------------------ */

/* `titan_transport_def.read_plain` only: the peer closed the stream cleanly (a TLS close_notify,
 * or the end of the socket for a transport without one); no more plaintext will come. */
#define TITAN_CLOSED 2

/* A Netron transport for SCHEME://HOST:PORT listen addresses, registered from `init`.
 * Sans-IO: the host owns the TCP socket and its I/O loop; a session only transforms bytes. For
 * each accepted connection the host calls session_new, feeds socket bytes to read_tls, sends
 * what write_tls gives, and exchanges plaintext (Netron's frames) through read_plain and
 * write_plain once is_handshaking is false. "tls" in the names means the wire bytes.
 * Failing functions return TITAN_ERR with a TITAN_STRING in *error, freed through this table's
 * free_value; a failing session drops its own connection only. `state` is used from any thread
 * at once; a session by one thread at a time (it may move between threads). Counts written
 * through out-parameters never exceed the buffer's length. */
typedef struct titan_transport_def {
    uint32_t struct_size; /* sizeof(titan_transport_def) as the extension built it */
    uint32_t reserved;    /* 0 */
    const char *scheme;   /* lower-case URL scheme ("tls"), NUL-terminated, read during the call */
    void *state;          /* on TITAN_OK the host's, passed to free_state when the last listener
                           * and connection using it are gone (possibly after unload); on
                           * TITAN_ERR still the extension's */
    titan_status (*session_new)(void *state, void **session, titan_value *error);
    void (*session_free)(void *session); /* once, any thread */
    /* Socket bytes in (`len` 0: end of stream); *consumed <= len, the rest comes again later. */
    titan_status (*read_tls)(void *session, const uint8_t *data, size_t len, size_t *consumed,
                             titan_value *error);
    /* Plaintext out: *read <= cap; TITAN_OK with *read 0: none yet; TITAN_CLOSED: the end. */
    titan_status (*read_plain)(void *session, uint8_t *buf, size_t cap, size_t *read,
                               titan_value *error);
    /* Plaintext in: *consumed <= len (0 when full: the host drains write_tls, then retries). */
    titan_status (*write_plain)(void *session, const uint8_t *data, size_t len, size_t *consumed,
                                titan_value *error);
    /* Socket bytes out: *written <= cap. */
    titan_status (*write_tls)(void *session, uint8_t *buf, size_t cap, size_t *written,
                              titan_value *error);
    bool (*wants_write)(void *session);    /* write_tls has bytes to give */
    bool (*is_handshaking)(void *session); /* no plaintext flows before the handshake ends */
    void (*close)(void *session);          /* optional: queue a close_notify */
    void (*free_state)(void *state);       /* optional: once, any thread */
    titan_free_value_fn free_value;        /* required: frees error messages */
    /* -- appended in ABI 1 (titan-ext 0.1): the host checks struct_size before reading (see
     *    TITAN_TRANSPORT_HAS_PEER_IDENTITY) -- */
    /* Optional. Who the peer proved to be, asked once when the handshake has ended: sets
     * *identity to a TITAN_JSON object (freed through free_value), or TITAN_NULL when the peer
     * proved nothing (no client certificate). Services see it as the caller's `peer`. */
    titan_status (*peer_identity)(void *session, titan_value *identity, titan_value *error);
} titan_transport_def;

/* Whether `def` (a table of def->struct_size bytes) has `peer_identity`: an older extension's
 * ends before it. */
#define TITAN_TRANSPORT_HAS_PEER_IDENTITY(def) \
    ((def)->struct_size >= offsetof(titan_transport_def, peer_identity) + sizeof(void *))

/* ---- The extension --------------------------------------------------------------------- */

/* Called once, before any function. `config_json` is the extension's `config` object from the
 * app's config as UTF-8 JSON (`config_len` bytes, borrowed; `null` or empty when absent).
 * Stores the extension's state in *state (may stay NULL). On TITAN_ERR, *error holds a
 * TITAN_STRING message the host frees through free_value. */
typedef titan_status (*titan_init_fn)(const titan_host *host, const uint8_t *config_json,
                                      size_t config_len, void **state, titan_value *error);

/* Called on each worker's thread before its first call; stores per-worker state (touched only
 * from that thread, so it needs no lock). Errors as for init. */
typedef titan_status (*titan_worker_init_fn)(void *state, uint32_t worker_id, void **worker_state,
                                             titan_value *error);

/* Called on the worker's thread when the worker stops. */
typedef void (*titan_worker_drop_fn)(void *state, uint32_t worker_id, void *worker_state);

/* Called once, after the last call and worker_drop, before the library is closed. */
typedef void (*titan_unload_fn)(void *state);


/* The descriptor `titan_extension_entry` returns: static for the life of the library. */
typedef struct titan_extension {
    /* -- the header: frozen forever, readable by every host of every ABI version -- */
    uint32_t abi_version;    /* TITAN_ABI_VERSION the extension was built for */
    uint32_t struct_size;    /* sizeof(titan_extension) as the extension built it */
    const char *name;        /* extension name, NUL-terminated */
    const char *version;     /* extension version, NUL-terminated */
    const char *sdk_version; /* version of the SDK that built it (a C extension: its own) */
    /* -- ABI 1 -- */
    const titan_function_def *functions; /* `function_count` entries, static */
    size_t function_count;
    titan_init_fn init;               /* optional */
    titan_worker_init_fn worker_init; /* optional */
    titan_worker_drop_fn worker_drop; /* optional */
    titan_unload_fn unload;           /* optional */
    titan_free_value_fn free_value;   /* required */
} titan_extension;

/* The entry point's type. `host_abi_version` is the host's TITAN_ABI_VERSION. Return the
 * descriptor even when the versions differ (the host explains the mismatch from the header);
 * NULL only if the extension cannot describe itself to that host at all. */
typedef const titan_extension *(*titan_entry_fn)(uint32_t host_abi_version);

#if defined(_WIN32)
#define TITAN_EXPORT __declspec(dllexport)
#else
#define TITAN_EXPORT __attribute__((visibility("default")))
#endif

/* An extension defines this (and nothing else needs exporting). */
TITAN_EXPORT const titan_extension *titan_extension_entry(uint32_t host_abi_version);

/* ---- Layout (64-bit targets) ------------------------------------------------------------ */

#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
#ifdef __cplusplus
#define TITAN_STATIC_ASSERT static_assert
#else
#define TITAN_STATIC_ASSERT _Static_assert
#endif
#define TITAN_CHECK_SIZE(type, size) TITAN_STATIC_ASSERT(sizeof(type) == (size), "sizeof(" #type ")")
#define TITAN_CHECK_OFFSET(type, field, offset) \
    TITAN_STATIC_ASSERT(offsetof(type, field) == (offset), "offsetof(" #type ", " #field ")")

TITAN_CHECK_SIZE(titan_buffer, 16);
TITAN_CHECK_OFFSET(titan_buffer, ptr, 0);
TITAN_CHECK_OFFSET(titan_buffer, len, 8);

TITAN_CHECK_SIZE(titan_payload, 16);

TITAN_CHECK_SIZE(titan_value, 24);
TITAN_CHECK_OFFSET(titan_value, kind, 0);
TITAN_CHECK_OFFSET(titan_value, reserved, 4);
TITAN_CHECK_OFFSET(titan_value, payload, 8);

TITAN_CHECK_SIZE(titan_call, 24);
TITAN_CHECK_OFFSET(titan_call, struct_size, 0);
TITAN_CHECK_OFFSET(titan_call, worker_id, 4);
TITAN_CHECK_OFFSET(titan_call, extension_state, 8);
TITAN_CHECK_OFFSET(titan_call, worker_state, 16);

TITAN_CHECK_SIZE(titan_function_def, 32);
TITAN_CHECK_OFFSET(titan_function_def, struct_size, 0);
TITAN_CHECK_OFFSET(titan_function_def, arity, 4);
TITAN_CHECK_OFFSET(titan_function_def, name, 8);
TITAN_CHECK_OFFSET(titan_function_def, call, 16);
TITAN_CHECK_OFFSET(titan_function_def, signature, 24);

TITAN_CHECK_SIZE(titan_host, 48);
TITAN_CHECK_OFFSET(titan_host, abi_version, 0);
TITAN_CHECK_OFFSET(titan_host, struct_size, 4);
TITAN_CHECK_OFFSET(titan_host, host_data, 8);
TITAN_CHECK_OFFSET(titan_host, log, 16);
TITAN_CHECK_OFFSET(titan_host, register_transport, 24);
TITAN_CHECK_OFFSET(titan_host, data_dir, 32);

TITAN_CHECK_SIZE(titan_extension, 88);
TITAN_CHECK_OFFSET(titan_extension, abi_version, 0);
TITAN_CHECK_OFFSET(titan_extension, struct_size, 4);
TITAN_CHECK_OFFSET(titan_extension, name, 8);
TITAN_CHECK_OFFSET(titan_extension, version, 16);
TITAN_CHECK_OFFSET(titan_extension, sdk_version, 24);
TITAN_CHECK_OFFSET(titan_extension, functions, 32);
TITAN_CHECK_OFFSET(titan_extension, function_count, 40);
TITAN_CHECK_OFFSET(titan_extension, init, 48);
TITAN_CHECK_OFFSET(titan_extension, worker_init, 56);
TITAN_CHECK_OFFSET(titan_extension, worker_drop, 64);
TITAN_CHECK_OFFSET(titan_extension, unload, 72);
TITAN_CHECK_OFFSET(titan_extension, free_value, 80);

TITAN_CHECK_SIZE(titan_transport_def, 120);
TITAN_CHECK_OFFSET(titan_transport_def, struct_size, 0);
TITAN_CHECK_OFFSET(titan_transport_def, reserved, 4);
TITAN_CHECK_OFFSET(titan_transport_def, scheme, 8);
TITAN_CHECK_OFFSET(titan_transport_def, state, 16);
TITAN_CHECK_OFFSET(titan_transport_def, session_new, 24);
TITAN_CHECK_OFFSET(titan_transport_def, session_free, 32);
TITAN_CHECK_OFFSET(titan_transport_def, read_tls, 40);
TITAN_CHECK_OFFSET(titan_transport_def, read_plain, 48);
TITAN_CHECK_OFFSET(titan_transport_def, write_plain, 56);
TITAN_CHECK_OFFSET(titan_transport_def, write_tls, 64);
TITAN_CHECK_OFFSET(titan_transport_def, wants_write, 72);
TITAN_CHECK_OFFSET(titan_transport_def, is_handshaking, 80);
TITAN_CHECK_OFFSET(titan_transport_def, close, 88);
TITAN_CHECK_OFFSET(titan_transport_def, free_state, 96);
TITAN_CHECK_OFFSET(titan_transport_def, free_value, 104);
TITAN_CHECK_OFFSET(titan_transport_def, peer_identity, 112);

#undef TITAN_CHECK_SIZE
#undef TITAN_CHECK_OFFSET
#undef TITAN_STATIC_ASSERT
#endif

#ifdef __cplusplus
}
#endif

#endif /* TITAN_EXT_H */
