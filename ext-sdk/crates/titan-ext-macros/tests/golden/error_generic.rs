::core::compile_error! {
    "Titan extension functions cannot be generic"
}
