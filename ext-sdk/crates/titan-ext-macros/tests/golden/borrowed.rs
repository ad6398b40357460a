fn shout(s: &str, bytes: &[u8], label: Option<&str>) -> Vec<u8> {
    todo!()
}
#[doc(hidden)]
#[allow(unsafe_code)]
unsafe extern "C" fn __titan_glue_shout(
    __call: *const ::titan_ext::private::sys::titan_call,
    __argv: *const ::titan_ext::private::sys::titan_value,
    __argc: usize,
    __result: *mut ::titan_ext::private::sys::titan_value,
) -> ::titan_ext::private::sys::titan_status {
    unsafe {
        ::titan_ext::private::invoke(
            __call,
            __argv,
            __argc,
            __result,
            |__cx, __args| {
                let _ = &__cx;
                let __arg0 = ::titan_ext::private::arg::<&str>(__args, 0usize, "s")?;
                let __arg1 = ::titan_ext::private::arg::<
                    &[u8],
                >(__args, 1usize, "bytes")?;
                let __arg2 = ::titan_ext::private::arg::<
                    Option<&str>,
                >(__args, 2usize, "label")?;
                let __out = shout(__arg0, __arg1, __arg2);
                ::titan_ext::private::ret(__out)
            },
        )
    }
}
#[doc(hidden)]
#[allow(non_snake_case, missing_docs)]
mod shout {
    pub const DEF: ::titan_ext::private::sys::titan_function_def = ::titan_ext::private::function_def(
        c"shout",
        3u32,
        super::__titan_glue_shout,
        c"{\"doc\":\"\",\"fallible\":false,\"params\":[{\"name\":\"s\",\"rust\":\"&str\",\"type\":\"string\"},{\"name\":\"bytes\",\"rust\":\"&[u8]\",\"type\":\"Uint8Array\"},{\"name\":\"label\",\"rust\":\"Option<&str>\",\"type\":\"string | null\"}],\"returns\":\"Uint8Array\",\"rust_returns\":\"Vec<u8>\"}",
    );
}
