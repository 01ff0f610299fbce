//! The allocator behind a lock, for the threads core (`scripts/build-wasm.sh`): several instances of the module,
//! one per worker thread, in one shared memory.
//!
//! Debian's wasm32 std is built without atomics, so its allocator (dlmalloc) assumes one thread and its own lock is
//! a no-op. This crate is compiled with atomics in that build, so a spin lock here is real: every call into the std
//! allocator runs with it held. Held only for the allocator's own bookkeeping (and zeroing a new block), never
//! across a kernel, so a thread that waits for it waits microseconds.
use core::sync::atomic::{AtomicBool, Ordering};
use std::alloc::{GlobalAlloc, Layout, System};

pub struct LockedSystem;

static LOCKED: AtomicBool = AtomicBool::new(false);

fn with_lock<T>(f: impl FnOnce() -> T) -> T {
    while LOCKED.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
        core::hint::spin_loop();
    }
    let out = f();
    LOCKED.store(false, Ordering::Release);
    out
}

// SAFETY: each method forwards to `System` with the same arguments, one thread at a time (the lock), which is what
// a single-threaded allocator needs; the caller's obligations pass through unchanged.
unsafe impl GlobalAlloc for LockedSystem {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        with_lock(|| System.alloc(layout))
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        with_lock(|| System.alloc_zeroed(layout))
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        with_lock(|| System.dealloc(ptr, layout))
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        with_lock(|| System.realloc(ptr, layout, new_size))
    }
}

#[global_allocator]
static ALLOCATOR: LockedSystem = LockedSystem;
