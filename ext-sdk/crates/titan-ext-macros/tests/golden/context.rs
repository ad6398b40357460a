fn greet(cx: &Context, name: &str) -> Result<(), String> {
    todo!()
}
#[doc(hidden)]
#[allow(unsafe_code)]
unsafe extern "C" fn __titan_glue_greet(
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
                let __arg0 = ::titan_ext::private::arg::<&str>(__args, 0usize, "name")?;
                let __out = greet(__cx, __arg0);
                let __out = __out.map_err(::titan_ext::private::err)?;
                ::titan_ext::private::ret(__out)
            },
        )
    }
}
#[doc(hidden)]
#[allow(non_snake_case, missing_docs)]
mod greet {
    pub const DEF: ::titan_ext::private::sys::titan_function_def = ::titan_ext::private::function_def(
        c"greet",
        1u32,
        super::__titan_glue_greet,
        c"{\"doc\":\"\",\"fallible\":true,\"params\":[{\"name\":\"name\",\"rust\":\"&str\",\"type\":\"string\"}],\"returns\":\"null\",\"rust_returns\":\"()\"}",
    );
}
