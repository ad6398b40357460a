/*
 * A complete Titan extension in C: `t.hello.greet("Ada")` → "hello, Ada", `t.hello.add(2, 3)`
 * → 5. Build: cc -std=c11 -shared -fPIC -fvisibility=hidden -I../include hello.c -o libhello.so
 * Shown in core-runtime/docs/abi.md; titan-ext-sys's tests compile and call it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "titan_ext.h"

/* Results and errors are malloc'ed here and freed in free_value below: whoever allocates, frees. */
static titan_value owned_string(const char *text, size_t len) {
    titan_value v = {.kind = TITAN_STRING};
    uint8_t *copy = malloc(len ? len : 1);
    if (copy != NULL) memcpy(copy, text, len);
    v.payload.buffer.ptr = copy;
    v.payload.buffer.len = copy != NULL ? len : 0;
    return v;
}

static titan_status fail(titan_value *result, const char *message) {
    *result = owned_string(message, strlen(message));
    return TITAN_ERR;
}

static titan_status greet(const titan_call *call, const titan_value *args, size_t argc, titan_value *result) {
    (void)call;
    if (argc < 1 || args[0].kind != TITAN_STRING) return fail(result, "argument `name` must be a string");
    /* Borrowed for this call only: copied into the result. Not NUL-terminated. */
    titan_buffer name = args[0].payload.buffer;
    char text[256];
    int n = snprintf(text, sizeof text, "hello, %.*s", (int)(name.len > 200 ? 200 : name.len), (const char *)name.ptr);
    *result = owned_string(text, (size_t)n);
    return TITAN_OK;
}

static titan_status add(const titan_call *call, const titan_value *args, size_t argc, titan_value *result) {
    (void)call;
    if (argc < 2 || args[0].kind != TITAN_F64 || args[1].kind != TITAN_F64) return fail(result, "add takes two numbers");
    result->kind = TITAN_F64;
    result->reserved = 0;
    result->payload.number = args[0].payload.number + args[1].payload.number;
    return TITAN_OK;
}

static void free_value(titan_value *value) {
    if (value->kind == TITAN_STRING || value->kind == TITAN_BYTES || value->kind == TITAN_JSON) {
        free((void *)value->payload.buffer.ptr);
    }
    value->kind = TITAN_NULL;
}

static const titan_function_def functions[] = {
    {sizeof(titan_function_def), 1, "greet", greet,
     "{\"params\":[{\"name\":\"name\",\"type\":\"string\"}],\"returns\":\"string\",\"fallible\":true}"},
    {sizeof(titan_function_def), 2, "add", add,
     "{\"params\":[{\"name\":\"a\",\"type\":\"number\"},{\"name\":\"b\",\"type\":\"number\"}],\"returns\":\"number\",\"fallible\":true}"},
};

static const titan_extension descriptor = {
    .abi_version = TITAN_ABI_VERSION,
    .struct_size = sizeof(titan_extension),
    .name = "hello",
    .version = "1.0.0",
    .sdk_version = "c-1.0.0",
    .functions = functions,
    .function_count = sizeof functions / sizeof functions[0],
    .free_value = free_value, /* init, worker_init, worker_drop, unload: not needed (NULL) */
};

TITAN_EXPORT const titan_extension *titan_extension_entry(uint32_t host_abi_version) {
    (void)host_abi_version; /* the host compares versions and explains a mismatch */
    return &descriptor;
}
