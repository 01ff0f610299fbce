//! The allocator behind a lock, for the threads core (`scripts/build-wasm.sh`): several instances of the module,
//! one per worker thread, in one shared memory.
//!
//! Debian's wasm32 std is built without atomics, so its allocator (dlmalloc) assumes one thread and its own lock is
//! a no-op. This crate is compiled with atomics in that build, so a spin lock here is real: every call into the std
//! allocator runs with it held. Held only for the allocator's own bookkeeping (and zeroing a new block), never
//! across a kernel, so a thread that waits for it waits microseconds.
//!
//! One more thing the instances must agree on is the memory's size. When one grows it, V8 brings the other threads'
//! instances up to date asynchronously, so an instance could take the lock, be handed a block in the new pages and
//! trap "memory access out of bounds" inside dlmalloc with the lock held (2 of 40 runs of `wasmnet train` with 2
//! workers, under load: the other worker then spun for ever). So the lock also records the size the memory has
//! reached, and an instance whose own `memory.size` is less first grows it by 0 pages, which makes the engine
//! bring its bounds up to date.
//!
//! And should an instance trap inside the allocator all the same (a wasmnet bug), the lock is poisoned rather than
//! left held: see `wn_poison_allocator`.
use core::arch::wasm32::{memory_grow, memory_size, unreachable};
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::alloc::{GlobalAlloc, Layout, System};

pub struct LockedSystem;

/// Free, or the holder's instance (`instance_id`), or `POISONED` with the id of the instance that poisoned it.
static LOCK: AtomicU32 = AtomicU32::new(FREE);
const FREE: u32 = 0;
/// The holder trapped inside the allocator (`wn_poison_allocator`): the heap's books may be half-written and the lock
/// is never released, so whoever comes next traps too, instead of spinning for ever.
const POISONED: u32 = 1 << 31;
/// The memory's size in pages as the last holder of the lock left it (a grow happens only with the lock held).
static PAGES: AtomicUsize = AtomicUsize::new(0);

/// Which instance runs this: each has its own shadow stack, 2 MiB apart (ts/core/wasm.ts, `useOwnStack`), so a local's
/// address tells them apart (1 for an instance on the module's own stack, below 1 MiB).
fn instance_id() -> u32 {
    let local = 0u8;
    // SAFETY: reading a local through a pointer to it; the read only keeps the local on the shadow stack.
    let address = unsafe { core::ptr::read_volatile(&&local) } as *const u8 as usize;
    (address >> 21) as u32 + 1
}

fn with_lock<T>(f: impl FnOnce() -> T) -> T {
    let me = instance_id();
    loop {
        match LOCK.compare_exchange_weak(FREE, me, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => break,
            Err(word) if word & POISONED != 0 => unreachable(),
            Err(_) => core::hint::spin_loop(),
        }
    }
    if memory_size(0) < PAGES.load(Ordering::Relaxed) {
        memory_grow(0, 0);
    }
    let out = f();
    PAGES.store(memory_size(0), Ordering::Relaxed);
    LOCK.store(FREE, Ordering::Release);
    out
}

/// After a trap in this instance (ts/core/wasm.ts, `guarded`): if it trapped holding the allocator's lock, the lock
/// stays taken, marked so that every instance's next allocation traps rather than waits for it. Returns 1 if this
/// instance poisoned the lock (now or at an earlier trap), 2 if another did (this trap most likely that one's
/// echo), 0 otherwise.
#[no_mangle]
pub extern "C" fn wn_poison_allocator() -> u32 {
    let me = instance_id();
    match LOCK.compare_exchange(me, POISONED | me, Ordering::AcqRel, Ordering::Relaxed) {
        Ok(_) => 1,
        Err(word) if word == POISONED | me => 1,
        Err(word) if word & POISONED != 0 => 2,
        Err(_) => 0,
    }
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
