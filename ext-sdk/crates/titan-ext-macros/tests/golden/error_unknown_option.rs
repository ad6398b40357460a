::core::compile_error! {
    "unknown option: the only one is `name = \"jsName\"`"
}
