//! Golden tests: `expand` on representative inputs, pretty-printed and compared with
//! `tests/golden/<case>.rs`. Error cases are golden too: their expansion is the
//! `compile_error!` the author would see. After an intended change to the generated code, run
//! `UPDATE_GOLDEN=1 cargo test -p titan-ext-macros` and review the diff like any other code.

use std::path::PathBuf;

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand;

/// Every case: (name, attribute arguments, item).
fn cases() -> Vec<(&'static str, TokenStream, TokenStream)> {
    vec![
        (
            "scalars",
            quote!(),
            quote! {
                /// Adds.
                fn add(a: f64, b: i32, flag: bool, n: i64) -> f64 {
                    a + f64::from(b)
                }
            },
        ),
        (
            "borrowed",
            quote!(),
            quote! {
                fn shout(s: &str, bytes: &[u8], label: Option<&str>) -> Vec<u8> {
                    todo!()
                }
            },
        ),
        (
            "serde_result",
            quote!(),
            quote! {
                /// Describes a user.
                /// Second line.
                pub fn describe(user: User, scores: Vec<u32>, extra: Option<Extra>) -> Result<Summary, MyError> {
                    todo!()
                }
            },
        ),
        (
            "context",
            quote!(),
            quote! {
                fn greet(cx: &Context, name: &str) -> Result<(), String> {
                    todo!()
                }
            },
        ),
        (
            "renamed",
            quote!(name = "camelName"),
            quote! {
                pub(crate) fn snake_name() -> Option<String> {
                    None
                }
            },
        ),
        ("unit", quote!(), quote! { fn nothing() {} }),
        (
            // Parameter names and a function name that the glue's own locals must not shadow.
            "shadowing",
            quote!(),
            quote! {
                fn result(call: u32, args: &str) -> &'static str {
                    "ok"
                }
            },
        ),
        ("error_async", quote!(), quote! { async fn fetch(url: String) -> String { url } }),
        ("error_generic", quote!(), quote! { fn id<T: Clone>(value: T) -> T { value } }),
        ("error_self", quote!(), quote! { fn method(&self, n: u32) -> u32 { n } }),
        ("error_pattern", quote!(), quote! { fn pair((a, b): (u32, u32)) -> u32 { a + b } }),
        ("error_unknown_option", quote!(rename = "x"), quote! { fn f() {} }),
        ("error_name_not_a_string", quote!(name = camelName), quote! { fn f() {} }),
    ]
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The expansion (or its `compile_error!`), as `rustfmt`-style source.
fn render(attr: TokenStream, item: TokenStream) -> String {
    let tokens = expand(attr, item).unwrap_or_else(syn::Error::into_compile_error);
    let file: syn::File = syn::parse2(tokens).unwrap_or_else(|e| panic!("the expansion is not a Rust file: {e}"));
    prettyplease::unparse(&file)
}

#[test]
fn expansions_match_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut mismatches = Vec::new();
    for (name, attr, item) in cases() {
        let actual = render(attr, item);
        let path = golden_dir().join(format!("{name}.rs"));
        if update {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => mismatches.push(format!("{name}: differs from {}\n{}", path.display(), first_difference(&expected, &actual))),
            Err(e) => mismatches.push(format!("{name}: cannot read {}: {e}", path.display())),
        }
    }
    assert!(mismatches.is_empty(), "{}\n\nIf the change is intended: UPDATE_GOLDEN=1 cargo test -p titan-ext-macros", mismatches.join("\n\n"));
}

#[test]
fn every_golden_file_has_a_case() {
    let names: Vec<String> = cases().iter().map(|(name, ..)| format!("{name}.rs")).collect();
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        assert!(names.contains(&file), "tests/golden/{file} belongs to no case: delete it");
    }
}

#[test]
fn error_cases_expand_to_compile_errors_only() {
    for (name, attr, item) in cases().into_iter().filter(|(name, ..)| name.starts_with("error_")) {
        let error = expand(attr, item).expect_err(name);
        assert!(!error.to_string().is_empty(), "{name}");
    }
}

/// The first differing line, with its number, for a readable failure.
fn first_difference(expected: &str, actual: &str) -> String {
    let mut expected_lines = expected.lines();
    let mut actual_lines = actual.lines();
    for number in 1.. {
        match (expected_lines.next(), actual_lines.next()) {
            (Some(e), Some(a)) if e == a => continue,
            (None, None) => break,
            (e, a) => return format!("line {number}:\n  golden:   {}\n  expanded: {}", e.unwrap_or("<end>"), a.unwrap_or("<end>")),
        }
    }
    "whitespace at the end differs".into()
}
