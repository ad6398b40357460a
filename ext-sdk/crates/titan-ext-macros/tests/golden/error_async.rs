::core::compile_error! {
    "Titan extension functions are synchronous: remove `async`"
}
