/// Adds.
fn add(a: f64, b: i32, flag: bool, n: i64) -> f64 {
    a + f64::from(b)
}
#[doc(hidden)]
#[allow(unsafe_code)]
unsafe extern "C" fn __titan_glue_add(
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
                let __arg0 = ::titan_ext::private::arg::<f64>(__args, 0usize, "a")?;
                let __arg1 = ::titan_ext::private::arg::<i32>(__args, 1usize, "b")?;
                let __arg2 = ::titan_ext::private::arg::<bool>(__args, 2usize, "flag")?;
                let __arg3 = ::titan_ext::private::arg::<i64>(__args, 3usize, "n")?;
                let __out = add(__arg0, __arg1, __arg2, __arg3);
                ::titan_ext::private::ret(__out)
            },
        )
    }
}
#[doc(hidden)]
#[allow(non_snake_case, missing_docs)]
mod add {
    pub const DEF: ::titan_ext::private::sys::titan_function_def = ::titan_ext::private::function_def(
        c"add",
        4u32,
        super::__titan_glue_add,
        c"{\"doc\":\"Adds.\",\"fallible\":false,\"params\":[{\"name\":\"a\",\"rust\":\"f64\",\"type\":\"number\"},{\"name\":\"b\",\"rust\":\"i32\",\"type\":\"number\"},{\"name\":\"flag\",\"rust\":\"bool\",\"type\":\"boolean\"},{\"name\":\"n\",\"rust\":\"i64\",\"type\":\"bigint\"}],\"returns\":\"number\",\"rust_returns\":\"f64\"}",
    );
}
