//! Exports the shadow stack pointer (`__stack_pointer`) from the wasm module.
//!
//! A kernel that panics traps (`panic = "abort"`) without unwinding, so the
//! stack pointer stays where the trapped call had moved it: every trap leaks
//! that frame, and some tens of thousands of traps exhaust the 1 MiB stack, after
//! which every call traps. TypeScript reads the pointer once after
//! instantiation (calls never nest: the module imports nothing) and puts it
//! back after a trap.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").map_or(false, |arch| arch == "wasm32") {
        println!("cargo:rustc-link-arg=--export=__stack_pointer");
    }
    // The threads core's own cfg (scripts/build-wasm.sh), declared so that newer compilers do not warn about it.
    println!("cargo:rustc-check-cfg=cfg(wasmnet_threads)");
    println!("cargo:rerun-if-changed=build.rs");
}
