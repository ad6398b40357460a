::core::compile_error! {
    "`name` takes a string: #[function(name = \"jsName\")]"
}
