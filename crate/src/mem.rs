//! Memory the TypeScript side owns: aligned, zeroed blocks, and batch gathering.

use std::alloc::{alloc_zeroed, dealloc, Layout};

/// Every block is 16-byte aligned so f32x4 loads of its start are aligned.
pub const ALIGN: usize = 16;

/// Allocates `bytes` zeroed bytes; returns null when `bytes` is 0 or memory is exhausted.
pub fn allocate(bytes: usize) -> *mut u8 {
    if bytes == 0 {
        return core::ptr::null_mut();
    }
    match Layout::from_size_align(bytes, ALIGN) {
        // SAFETY: the layout has a non-zero size.
        Ok(layout) => unsafe { alloc_zeroed(layout) },
        Err(_) => core::ptr::null_mut(),
    }
}

/// Frees a block from `allocate`.
///
/// # Safety
/// `ptr` must come from `allocate(bytes)` with the same `bytes`, and not be freed twice.
pub unsafe fn release(ptr: *mut u8, bytes: usize) {
    if ptr.is_null() || bytes == 0 {
        return;
    }
    dealloc(ptr, Layout::from_size_align_unchecked(bytes, ALIGN));
}

/// Copies rows `index[0], index[1], …` of `src` (rows of `row_len` floats) into consecutive rows of `dst`.
pub fn gather_rows(src: &[f32], row_len: usize, index: &[u32], dst: &mut [f32]) {
    assert!(dst.len() >= index.len() * row_len);
    for (r, &i) in index.iter().enumerate() {
        let i = i as usize;
        dst[r * row_len..(r + 1) * row_len].copy_from_slice(&src[i * row_len..(i + 1) * row_len]);
    }
}
