fn nothing() {}
#[doc(hidden)]
#[allow(unsafe_code)]
unsafe extern "C" fn __titan_glue_nothing(
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
                let __out = nothing();
                ::titan_ext::private::ret(__out)
            },
        )
    }
}
#[doc(hidden)]
#[allow(non_snake_case, missing_docs)]
mod nothing {
    pub const DEF: ::titan_ext::private::sys::titan_function_def = ::titan_ext::private::function_def(
        c"nothing",
        0u32,
        super::__titan_glue_nothing,
        c"{\"doc\":\"\",\"fallible\":false,\"params\":[],\"returns\":\"null\",\"rust_returns\":\"()\"}",
    );
}
