::core::compile_error! {
    "name each parameter with a plain identifier"
}
