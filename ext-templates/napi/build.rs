//! Links the addon against Node-API (napi-rs's build helper).
fn main() {
    napi_build::setup();
}
