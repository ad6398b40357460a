//! `#[titan_ext::function]`: turns an ordinary Rust function into a Titan extension function.
//! Next to the function it generates an `extern "C"` glue function (convert arguments, call,
//! convert the result, catch panics) and a module of the same name holding the descriptor
//! entry `DEF`, which `titan_ext::extension!` collects. All `unsafe` lives in `titan_ext::private`;
//! the generated code only calls it. `expand` is checked against golden files (`tests/golden`).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, FnArg, GenericArgument, ItemFn, Lit, Meta, Pat, PathArguments, ReturnType, Token, Type};

/// Exports a function to JS as `t.<namespace>.<name>`; `#[function(name = "jsName")]` renames it.
#[proc_macro_attribute]
pub fn function(attr: proc_macro::TokenStream, item: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand(attr.into(), item.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// How a value crosses: directly (scalars, strings, bytes) or as JSON (any serde type).
#[derive(Clone, Copy, PartialEq)]
enum Path {
    Direct,
    Json,
}

/// The expansion, as a function of token streams so tests can check it.
fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let function: ItemFn = syn::parse2(item)?;
    let js_name = js_name(attr)?.unwrap_or_else(|| function.sig.ident.to_string());
    let ident = &function.sig.ident;
    let vis = &function.vis;
    let glue = format_ident!("__titan_glue_{}", ident);
    if function.sig.asyncness.is_some() {
        return Err(syn::Error::new_spanned(function.sig.fn_token, "Titan extension functions are synchronous: remove `async`"));
    }
    if !function.sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(&function.sig.generics, "Titan extension functions cannot be generic"));
    }

    let mut takes_context = false;
    let mut conversions = Vec::new();
    let mut call_args = Vec::new();
    let mut params_json = Vec::new();
    for (position, input) in function.sig.inputs.iter().enumerate() {
        let FnArg::Typed(typed) = input else {
            return Err(syn::Error::new_spanned(input, "extension functions are free functions, without `self`"));
        };
        if position == 0 && is_context(&typed.ty) {
            takes_context = true;
            call_args.push(quote!(__cx));
            continue;
        }
        let Pat::Ident(pattern) = &*typed.pat else {
            return Err(syn::Error::new_spanned(&typed.pat, "name each parameter with a plain identifier"));
        };
        let name = pattern.ident.to_string();
        let index = conversions.len();
        let var = format_ident!("__arg{}", index);
        let ty = &typed.ty;
        let convert = match classify(ty) {
            Path::Direct => quote!(::titan_ext::private::arg::<#ty>(__args, #index, #name)?),
            Path::Json => quote!(::titan_ext::private::arg_json::<#ty>(__args, #index, #name)?),
        };
        conversions.push(quote!(let #var = #convert;));
        call_args.push(quote!(#var));
        params_json.push(serde_json::json!({ "name": name, "type": ts_type(ty), "rust": type_text(ty) }));
    }
    let _ = takes_context;
    let arity = u32::try_from(conversions.len()).expect("fewer than 2^32 parameters");

    let (value_ty, fallible) = match &function.sig.output {
        ReturnType::Default => (None, false),
        ReturnType::Type(_, ty) => match result_ok_type(ty) {
            Some(ok) => (Some(ok), true),
            None => (Some((**ty).clone()), false),
        },
    };
    let unwrap = fallible.then(|| quote!(let __out = __out.map_err(::titan_ext::private::err)?;));
    let ret = match &value_ty {
        Some(ty) if classify(ty) == Path::Json => quote!(::titan_ext::private::ret_json(__out)),
        _ => quote!(::titan_ext::private::ret(__out)),
    };
    let returns_ts = value_ty.as_ref().map_or_else(|| "null".to_owned(), ts_type);
    let doc = doc_text(&function);
    let signature = serde_json::json!({
        "params": params_json,
        "returns": returns_ts,
        "rust_returns": value_ty.as_ref().map_or_else(|| "()".to_owned(), type_text),
        "fallible": fallible,
        "doc": doc,
    })
    .to_string();
    let js_name_c = c_string(&js_name);
    let signature_c = c_string(&signature);

    Ok(quote! {
        #function

        #[doc(hidden)]
        #[allow(unsafe_code)]
        unsafe extern "C" fn #glue(
            __call: *const ::titan_ext::private::sys::titan_call,
            __argv: *const ::titan_ext::private::sys::titan_value,
            __argc: usize,
            __result: *mut ::titan_ext::private::sys::titan_value,
        ) -> ::titan_ext::private::sys::titan_status {
            // SAFETY: the host calls this with the pointers the ABI describes.
            unsafe {
                ::titan_ext::private::invoke(__call, __argv, __argc, __result, |__cx, __args| {
                    let _ = &__cx;
                    #(#conversions)*
                    let __out = #ident(#(#call_args),*);
                    #unwrap
                    #ret
                })
            }
        }

        #[doc(hidden)]
        #[allow(non_snake_case, missing_docs)]
        #vis mod #ident {
            pub const DEF: ::titan_ext::private::sys::titan_function_def =
                ::titan_ext::private::function_def(#js_name_c, #arity, super::#glue, #signature_c);
        }
    })
}

fn js_name(attr: TokenStream) -> syn::Result<Option<String>> {
    if attr.is_empty() {
        return Ok(None);
    }
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)?;
    let mut name = None;
    for meta in metas {
        match meta {
            Meta::NameValue(nv) if nv.path.is_ident("name") => match nv.value {
                Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) => name = Some(s.value()),
                other => return Err(syn::Error::new_spanned(other, "`name` takes a string: #[function(name = \"jsName\")]")),
            },
            other => return Err(syn::Error::new_spanned(other, "unknown option: the only one is `name = \"jsName\"`")),
        }
    }
    Ok(name)
}

fn c_string(text: &str) -> syn::LitCStr {
    let c = std::ffi::CString::new(text).expect("names and signatures contain no NUL");
    syn::LitCStr::new(&c, Span::call_site())
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        _ => None,
    }
}

fn generic_arg(segment: &syn::PathSegment, index: usize) -> Option<&Type> {
    let PathArguments::AngleBracketed(args) = &segment.arguments else { return None };
    args.args.iter().filter_map(|a| if let GenericArgument::Type(t) = a { Some(t) } else { None }).nth(index)
}

fn is_context(ty: &Type) -> bool {
    matches!(ty, Type::Reference(r) if last_segment(&r.elem).is_some_and(|s| s.ident == "Context"))
}

fn result_ok_type(ty: &Type) -> Option<Type> {
    let segment = last_segment(ty)?;
    (segment.ident == "Result").then(|| generic_arg(segment, 0).cloned()).flatten()
}

const DIRECT: &[&str] = &["bool", "f32", "f64", "i8", "i16", "i32", "u8", "u16", "u32", "i64", "u64", "String"];

fn classify(ty: &Type) -> Path {
    match ty {
        Type::Tuple(tuple) if tuple.elems.is_empty() => Path::Direct,
        Type::Reference(r) => match &*r.elem {
            Type::Path(_) if last_segment(&r.elem).is_some_and(|s| s.ident == "str") => Path::Direct,
            Type::Slice(slice) if last_segment(&slice.elem).is_some_and(|s| s.ident == "u8") => Path::Direct,
            _ => Path::Json,
        },
        _ => match last_segment(ty) {
            Some(s) if DIRECT.iter().any(|d| s.ident == d) && s.arguments.is_empty() => Path::Direct,
            Some(s) if s.ident == "Vec" && generic_arg(s, 0).and_then(last_segment).is_some_and(|i| i.ident == "u8") => Path::Direct,
            Some(s) if s.ident == "Option" => generic_arg(s, 0).map_or(Path::Json, classify),
            Some(s) if s.ident == "Value" => Path::Direct,
            _ => Path::Json,
        },
    }
}

fn ts_type(ty: &Type) -> String {
    match ty {
        Type::Tuple(tuple) if tuple.elems.is_empty() => "null".into(),
        Type::Reference(r) => match &*r.elem {
            Type::Slice(_) => "Uint8Array".into(),
            inner => ts_type(inner),
        },
        _ => match last_segment(ty) {
            Some(s) => match s.ident.to_string().as_str() {
                "bool" => "boolean".into(),
                "f32" | "f64" | "i8" | "i16" | "i32" | "u8" | "u16" | "u32" => "number".into(),
                "i64" | "u64" => "bigint".into(),
                "String" | "str" => "string".into(),
                "Vec" if generic_arg(s, 0).and_then(last_segment).is_some_and(|i| i.ident == "u8") => "Uint8Array".into(),
                "Vec" => generic_arg(s, 0).map_or("unknown[]".into(), |t| format!("Array<{}>", ts_type(t))),
                "Option" => generic_arg(s, 0).map_or("unknown".into(), |t| format!("{} | null", ts_type(t))),
                "HashMap" | "BTreeMap" => generic_arg(s, 1).map_or("Record<string, unknown>".into(), |t| format!("Record<string, {}>", ts_type(t))),
                _ => "unknown".into(),
            },
            None => "unknown".into(),
        },
    }
}

/// The type as written, for docs: `Vec<u8>`, `&'static str`, `Option<&str>`. Token spacing is
/// dropped except between two words (`'static str`, `dyn Trait`).
fn type_text(ty: &Type) -> String {
    let spaced = quote!(#ty).to_string();
    let chars: Vec<char> = spaced.chars().collect();
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric() || *c == '_');
    let mut text = String::with_capacity(spaced.len());
    for (i, c) in chars.iter().enumerate() {
        if *c != ' ' || (word(i.checked_sub(1).and_then(|p| chars.get(p))) && word(chars.get(i + 1))) {
            text.push(*c);
        }
    }
    text
}

fn doc_text(function: &ItemFn) -> String {
    let lines: Vec<String> = function
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod golden_tests;
