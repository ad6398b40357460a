/// Describes a user.
/// Second line.
pub fn describe(
    user: User,
    scores: Vec<u32>,
    extra: Option<Extra>,
) -> Result<Summary, MyError> {
    todo!()
}
#[doc(hidden)]
#[allow(unsafe_code)]
unsafe extern "C" fn __titan_glue_describe(
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
                let __arg0 = ::titan_ext::private::arg_json::<
                    User,
                >(__args, 0usize, "user")?;
                let __arg1 = ::titan_ext::private::arg_json::<
                    Vec<u32>,
                >(__args, 1usize, "scores")?;
                let __arg2 = ::titan_ext::private::arg_json::<
                    Option<Extra>,
                >(__args, 2usize, "extra")?;
                let __out = describe(__arg0, __arg1, __arg2);
                let __out = __out.map_err(::titan_ext::private::err)?;
                ::titan_ext::private::ret_json(__out)
            },
        )
    }
}
#[doc(hidden)]
#[allow(non_snake_case, missing_docs)]
pub mod describe {
    pub const DEF: ::titan_ext::private::sys::titan_function_def = ::titan_ext::private::function_def(
        c"describe",
        3u32,
        super::__titan_glue_describe,
        c"{\"doc\":\"Describes a user.\\nSecond line.\",\"fallible\":true,\"params\":[{\"name\":\"user\",\"rust\":\"User\",\"type\":\"unknown\"},{\"name\":\"scores\",\"rust\":\"Vec<u32>\",\"type\":\"Array<number>\"},{\"name\":\"extra\",\"rust\":\"Option<Extra>\",\"type\":\"unknown | null\"}],\"returns\":\"unknown\",\"rust_returns\":\"Summary\"}",
    );
}
