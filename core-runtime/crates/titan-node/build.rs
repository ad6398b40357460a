//! Links the addon against Node-API (napi-build sets the linker flags for a Node addon).
fn main() {
    napi_build::setup();
}
