//! `include/titan_ext.h` states the same ABI as this crate: every constant with its value, every
//! type by name, every struct's size and every field's offset (the header's `TITAN_CHECK_*`
//! lines). With a C compiler on the machine, the header is also compiled (as C11 and C++11, with
//! warnings as errors), the sizes and offsets are read back from the compiled program, and the
//! C example extension (`c-example/hello.c`) is linked in and called through its descriptor.

use std::collections::BTreeSet;
use std::mem::{offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

use titan_ext_sys::*;

const HEADER: &str = include_str!("../include/titan_ext.h");

fn constants() -> BTreeSet<(String, String)> {
    let number = |name: &str, value: i64| (name.to_owned(), value.to_string());
    BTreeSet::from([
        number("TITAN_ABI_VERSION", TITAN_ABI_VERSION.into()),
        number("TITAN_NULL", TITAN_NULL.into()),
        number("TITAN_BOOL", TITAN_BOOL.into()),
        number("TITAN_F64", TITAN_F64.into()),
        number("TITAN_I64", TITAN_I64.into()),
        number("TITAN_STRING", TITAN_STRING.into()),
        number("TITAN_BYTES", TITAN_BYTES.into()),
        number("TITAN_JSON", TITAN_JSON.into()),
        number("TITAN_OK", TITAN_OK.into()),
        number("TITAN_ERR", TITAN_ERR.into()),
        number("TITAN_CLOSED", TITAN_CLOSED.into()),
        number("TITAN_LOG_DEBUG", TITAN_LOG_DEBUG.into()),
        number("TITAN_LOG_INFO", TITAN_LOG_INFO.into()),
        number("TITAN_LOG_WARN", TITAN_LOG_WARN.into()),
        number("TITAN_LOG_ERROR", TITAN_LOG_ERROR.into()),
        ("TITAN_ENTRY_SYMBOL".into(), format!("{:?}", std::str::from_utf8(TITAN_ENTRY_SYMBOL.strip_suffix(b"\0").unwrap()).unwrap())),
    ])
}

fn sizes() -> BTreeSet<(String, usize)> {
    let size = |name: &str, size: usize| (name.to_owned(), size);
    BTreeSet::from([
        size("titan_buffer", size_of::<titan_buffer>()),
        size("titan_payload", size_of::<titan_payload>()),
        size("titan_value", size_of::<titan_value>()),
        size("titan_call", size_of::<titan_call>()),
        size("titan_function_def", size_of::<titan_function_def>()),
        size("titan_host", size_of::<titan_host>()),
        size("titan_extension", size_of::<titan_extension>()),
        size("titan_transport_def", size_of::<titan_transport_def>()),
    ])
}

macro_rules! offsets {
    ($($ty:ident { $($field:ident),* })*) => {
        BTreeSet::from([$($((stringify!($ty).to_owned(), stringify!($field).to_owned(), offset_of!($ty, $field))),*),*])
    };
}

/// Every field of every struct, in declaration order.
fn offsets() -> BTreeSet<(String, String, usize)> {
    offsets! {
        titan_buffer { ptr, len }
        titan_value { kind, reserved, payload }
        titan_call { struct_size, worker_id, extension_state, worker_state }
        titan_function_def { struct_size, arity, name, call, signature }
        titan_host { abi_version, struct_size, host_data, log, register_transport, data_dir }
        titan_extension {
            abi_version, struct_size, name, version, sdk_version, functions, function_count, init,
            worker_init, worker_drop, unload, free_value
        }
        titan_transport_def {
            struct_size, reserved, scheme, state, session_new, session_free, read_tls, read_plain,
            write_plain, write_tls, wants_write, is_handshaking, close, free_state, free_value,
            peer_identity
        }
    }
}

/// `TITAN_CHECK_SIZE(type, n);` / `TITAN_CHECK_OFFSET(type, field, n);` lines of the header.
fn header_checks(macro_name: &str) -> Vec<Vec<String>> {
    let prefix = format!("{macro_name}(");
    HEADER
        .lines()
        .filter_map(|line| line.trim().strip_prefix(&prefix)?.strip_suffix(");"))
        .map(|args| args.split(',').map(|a| a.trim().to_owned()).collect())
        .collect()
}

#[test]
fn header_states_every_constant_with_its_value() {
    let stated: BTreeSet<(String, String)> = HEADER
        .lines()
        .filter_map(|line| {
            let mut words = line.strip_prefix("#define ")?.split_whitespace();
            let (name, value) = (words.next()?, words.next()?);
            // Constants only: not the include guard, function-like or attribute macros.
            let literal = value.starts_with('"') || value.parse::<i64>().is_ok();
            (name.starts_with("TITAN_") && !name.contains('(') && literal).then(|| (name.to_owned(), value.to_owned()))
        })
        .collect();
    assert_eq!(stated, constants());
}

#[test]
fn header_names_every_type() {
    let structs = ["titan_buffer", "titan_payload", "titan_value", "titan_call", "titan_function_def", "titan_host", "titan_extension", "titan_transport_def"];
    for name in structs {
        assert!(HEADER.contains(&format!("}} {name};")), "typedef of {name}");
    }
    let functions = ["titan_fn", "titan_init_fn", "titan_worker_init_fn", "titan_worker_drop_fn", "titan_unload_fn", "titan_free_value_fn", "titan_entry_fn"];
    for name in functions {
        assert!(HEADER.contains(&format!("(*{name})(")), "typedef of {name}");
    }
    assert!(HEADER.contains("typedef int32_t titan_status;"));
    assert!(HEADER.contains("const titan_extension *titan_extension_entry(uint32_t host_abi_version);"));
}

#[test]
fn header_states_the_same_sizes_and_offsets() {
    let sizes_stated: BTreeSet<(String, usize)> =
        header_checks("TITAN_CHECK_SIZE").into_iter().map(|a| (a[0].clone(), a[1].parse().unwrap())).collect();
    assert_eq!(sizes_stated, sizes());
    let offsets_stated: BTreeSet<(String, String, usize)> =
        header_checks("TITAN_CHECK_OFFSET").into_iter().map(|a| (a[0].clone(), a[1].clone(), a[2].parse().unwrap())).collect();
    assert_eq!(offsets_stated, offsets());
}

/// `$CC`, else `cc`, if it runs.
fn c_compiler() -> Option<String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    Command::new(&cc).arg("--version").output().ok().filter(|o| o.status.success()).map(|_| cc)
}

fn run(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    assert!(output.status.success(), "{command:?} failed:\n{}{}", text(&output.stdout), text(&output.stderr));
    text(&output.stdout)
}

#[test]
fn a_c_compiler_agrees_and_the_c_example_works() {
    let Some(cc) = c_compiler() else {
        eprintln!("SKIPPED: no C compiler (set CC or install cc) to compile include/titan_ext.h");
        return;
    };
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let include = crate_dir.join("include");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("titan-ext-sys-c-header");
    std::fs::create_dir_all(&dir).unwrap();

    // A program that prints what the compiler made of the header, then calls the example.
    let mut program = String::from("#include <stdio.h>\n#include <string.h>\n#include \"titan_ext.h\"\nint main(void) {\n");
    for (ty, _) in sizes() {
        program += &format!("    printf(\"size {ty} %zu\\n\", sizeof({ty}));\n");
    }
    for (ty, field, _) in offsets() {
        program += &format!("    printf(\"offset {ty} {field} %zu\\n\", offsetof({ty}, {field}));\n");
    }
    // An extension reads an appended host field only when the host's table is long enough.
    program += r#"
    titan_host older = {0}, newer = {0};
    older.struct_size = (uint32_t)offsetof(titan_host, data_dir);
    newer.struct_size = (uint32_t)sizeof(titan_host);
    printf("data_dir %d %d\n", TITAN_HOST_HAS_DATA_DIR(&older) ? 1 : 0, TITAN_HOST_HAS_DATA_DIR(&newer) ? 1 : 0);
    titan_transport_def older_transport = {0}, newer_transport = {0};
    older_transport.struct_size = (uint32_t)offsetof(titan_transport_def, peer_identity);
    newer_transport.struct_size = (uint32_t)sizeof(titan_transport_def);
    printf("peer_identity %d %d\n", TITAN_TRANSPORT_HAS_PEER_IDENTITY(&older_transport) ? 1 : 0,
           TITAN_TRANSPORT_HAS_PEER_IDENTITY(&newer_transport) ? 1 : 0);
"#;
    program += r#"
    const titan_extension *ext = titan_extension_entry(TITAN_ABI_VERSION);
    printf("extension %s %s %u %zu\n", ext->name, ext->version, ext->abi_version, ext->function_count);
    titan_call call = {sizeof(titan_call), 0, NULL, NULL};
    titan_value args[2] = {{.kind = TITAN_STRING}, {.kind = TITAN_F64}};
    args[0].payload.buffer.ptr = (const uint8_t *)"Ada";
    args[0].payload.buffer.len = 3;
    for (size_t i = 0; i < ext->function_count; i++) {
        titan_value result;
        titan_status status = ext->functions[i].call(&call, args, ext->functions[i].arity, &result);
        if (result.kind == TITAN_STRING) {
            printf("call %s %d %.*s\n", ext->functions[i].name, status, (int)result.payload.buffer.len, (const char *)result.payload.buffer.ptr);
        } else {
            printf("call %s %d kind %u\n", ext->functions[i].name, status, result.kind);
        }
        ext->free_value(&result);
    }
    return 0;
}
"#;
    let source = dir.join("check.c");
    std::fs::write(&source, program).unwrap();
    let binary = dir.join("check");
    let strict = ["-Wall", "-Wextra", "-Werror", "-pedantic"];
    run(Command::new(&cc).arg("-std=c11").args(strict).arg("-I").arg(&include).arg(&source).arg(crate_dir.join("c-example/hello.c")).arg("-o").arg(&binary));

    let mut expected: Vec<String> = sizes().into_iter().map(|(ty, n)| format!("size {ty} {n}")).collect();
    expected.extend(offsets().into_iter().map(|(ty, field, n)| format!("offset {ty} {field} {n}")));
    expected.push("data_dir 0 1".to_owned());
    expected.push("peer_identity 0 1".to_owned());
    expected.push(format!("extension hello 1.0.0 {TITAN_ABI_VERSION} 2"));
    expected.push(format!("call greet {TITAN_OK} hello, Ada"));
    expected.push(format!("call add {TITAN_ERR} add takes two numbers"));
    assert_eq!(run(&mut Command::new(&binary)).lines().collect::<Vec<_>>(), expected);

    // The header is C++-clean too, when a C++ compiler sits next to the C one.
    let cxx = if cc == "cc" { "c++".to_owned() } else { cc.replace("gcc", "g++").replace("clang", "clang++") };
    if Command::new(&cxx).arg("--version").output().is_ok_and(|o| o.status.success()) {
        run(Command::new(&cxx).args(["-std=c++11", "-fsyntax-only", "-x", "c++"]).args(strict).arg(include.join("titan_ext.h")));
    } else {
        eprintln!("SKIPPED: no C++ compiler ({cxx}) to check the header as C++");
    }
}
