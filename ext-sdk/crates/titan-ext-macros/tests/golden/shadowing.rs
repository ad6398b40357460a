fn result(call: u32, args: &str) -> &'static str {
    "ok"
}
#[doc(hidden)]
#[allow(unsafe_code)]
unsafe extern "C" fn __titan_glue_result(
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
                let __arg0 = ::titan_ext::private::arg::<u32>(__args, 0usize, "call")?;
                let __arg1 = ::titan_ext::private::arg::<&str>(__args, 1usize, "args")?;
                let __out = result(__arg0, __arg1);
                ::titan_ext::private::ret(__out)
            },
        )
    }
}
#[doc(hidden)]
#[allow(non_snake_case, missing_docs)]
mod result {
    pub const DEF: ::titan_ext::private::sys::titan_function_def = ::titan_ext::private::function_def(
        c"result",
        2u32,
        super::__titan_glue_result,
        c"{\"doc\":\"\",\"fallible\":false,\"params\":[{\"name\":\"call\",\"rust\":\"u32\",\"type\":\"number\"},{\"name\":\"args\",\"rust\":\"&str\",\"type\":\"string\"}],\"returns\":\"string\",\"rust_returns\":\"&'static str\"}",
    );
}
