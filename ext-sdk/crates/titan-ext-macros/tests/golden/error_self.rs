::core::compile_error! {
    "extension functions are free functions, without `self`"
}
