//! Memory the TypeScript side owns: aligned, zeroed blocks, and batch gathering.

use std::alloc::{alloc_zeroed, dealloc, Layout};

/// Every block is 16-byte aligned so f32x4 loads of its start are aligned.
pub const ALIGN: usize = 16;

/// The product of `dims` (a buffer length), or a panic — a trap in wasm, which
/// TypeScript reports as an error naming the kernel — where it would wrap
/// around `usize` (32 bits on wasm32). Every length a shim in `lib.rs` forms
/// from its arguments goes through this, so a size that overflows can never
/// become a short slice over someone else's memory.
pub fn checked_len(dims: &[usize]) -> usize {
    match dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) {
        Some(len) => len,
        None => panic!("buffer size overflows usize"),
    }
}

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
    assert!(dst.len() >= checked_len(&[index.len(), row_len]));
    // Checked against the row count, so `i·row_len` below cannot wrap around to another row.
    let rows = if row_len == 0 { 0 } else { src.len() / row_len };
    if row_len > 0 {
        // One read of every row's first float before any copy: the rows of a shuffled batch are far apart (the
        // training set is 188 MB for MNIST), and these independent reads wait for memory together, where each
        // copy's first read would wait alone.
        for &i in index {
            let i = i as usize;
            assert!(i < rows, "gather_rows: index past the last row");
            // SAFETY: i < rows, so i·row_len < src.len(). Volatile: a read whose value is unused would be dropped.
            unsafe { core::ptr::read_volatile(src.as_ptr().add(i * row_len)) };
        }
    }
    for (r, &i) in index.iter().enumerate() {
        let i = i as usize;
        assert!(i < rows || row_len == 0, "gather_rows: index past the last row");
        dst[r * row_len..(r + 1) * row_len].copy_from_slice(&src[i * row_len..(i + 1) * row_len]);
    }
}

/// Copies a short run of floats (an image row, a few dozen): whole vectors and a last one ending at the run's end,
/// inline. `copy_from_slice` calls compiler_builtins' memcpy, whose call and set-up cost more than such a copy:
/// im2col made one per row of every tap, and spent most of its time in them.
#[inline(always)]
pub fn copy_short(dst: &mut [f32], src: &[f32]) {
    use crate::simd::{F32x4, LANES};
    let len = src.len();
    assert_eq!(dst.len(), len);
    if len < LANES {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = *s;
        }
        return;
    }
    let mut x = 0;
    while x + LANES < len {
        // SAFETY: x + 4 < len: inside both slices.
        unsafe { F32x4::load(src.as_ptr().add(x)).store(dst.as_mut_ptr().add(x)) };
        x += LANES;
    }
    // SAFETY: len >= 4: the last four floats of both slices.
    unsafe { F32x4::load(src.as_ptr().add(len - LANES)).store(dst.as_mut_ptr().add(len - LANES)) };
}

/// Zeros a short run of floats (an im2col row's few padded outputs) inline, without a memset call.
#[inline(always)]
pub fn zero_short(dst: &mut [f32]) {
    use crate::simd::{F32x4, LANES};
    let len = dst.len();
    let mut x = 0;
    while x + LANES <= len {
        // SAFETY: x + 4 <= len.
        unsafe { F32x4::zero().store(dst.as_mut_ptr().add(x)) };
        x += LANES;
    }
    while x < len {
        // SAFETY: x < len. Volatile: LLVM would turn a plain loop of stores back into a memset call.
        unsafe { core::ptr::write_volatile(dst.as_mut_ptr().add(x), 0.0) };
        x += 1;
    }
}

/// Whether every value is finite (no NaN, no ±∞): x·0 is 0 exactly for finite x.
///
/// Four independent sums, so the loop runs at load speed instead of waiting on one add's latency per vector
/// (one sum made this pass about 4× slower: it checks every gradient and every parameter each step).
pub fn all_finite(values: &[f32]) -> bool {
    use crate::simd::{F32x4, LANES};
    const BLOCK: usize = 4 * LANES;
    let zero = F32x4::zero();
    let mut acc = [zero; 4];
    let blocks = values.len() - values.len() % BLOCK;
    let mut i = 0;
    while i < blocks {
        for (j, a) in acc.iter_mut().enumerate() {
            // SAFETY: i + BLOCK <= blocks <= values.len(), so i + 4j + 4 <= values.len().
            let v = unsafe { F32x4::load(values.as_ptr().add(i + j * LANES)) };
            // NaN·0 and ∞·0 are NaN, and NaN survives the sum.
            *a = a.add(v.mul(zero));
        }
        i += BLOCK;
    }
    let mut bad = 0.0f32;
    for &v in &values[blocks..] {
        bad += v * 0.0;
    }
    (acc[0].add(acc[1]).add(acc[2].add(acc[3])).sum_lanes() + bad) == 0.0
}

/// `dst[i] += src[i]`: one node of the fixed tree that sums a batch's shard
/// gradients (lane-wise f32 adds, so the result does not depend on SIMD).
/// Returns whether every sum is finite: at the tree's root that is the batch's
/// gradient, which the training loop then need not read again to check it.
pub fn add_assign(dst: &mut [f32], src: &[f32]) -> bool {
    assert_eq!(dst.len(), src.len());
    let d = dst.as_mut_ptr();
    // SAFETY: dst and src hold len floats each (asserted); d is read before it is written, element by element.
    unsafe { add_checked(d, src.as_ptr(), d, dst.len()) }
}

/// `dst[i] = a[i] + b[i]`: the gradient tree's root, written straight into a parameter's gradient.
/// Returns whether every sum is finite (see `add_assign`).
pub fn add_to(dst: &mut [f32], a: &[f32], b: &[f32]) -> bool {
    assert!(a.len() == dst.len() && b.len() == dst.len());
    // SAFETY: all three hold len floats (asserted); dst, a unique borrow, overlaps neither input.
    unsafe { add_checked(a.as_ptr(), b.as_ptr(), dst.as_mut_ptr(), dst.len()) }
}

/// `out[i] = x[i] + y[i]` for i < len; whether every sum is finite. NaN·0 and ∞·0 are NaN, and NaN survives a
/// sum: two independent sums of each result times 0, so that the check does not make each vector wait on the
/// last one's add.
///
/// # Safety
/// `x`, `y` and `out` hold `len` floats; `out` may be `x` or `y` (each element is read before it is written).
unsafe fn add_checked(x: *const f32, y: *const f32, out: *mut f32, len: usize) -> bool {
    use crate::simd::{F32x4, LANES};
    let zero = F32x4::zero();
    let (mut acc0, mut acc1) = (zero, zero);
    let pairs = len - len % (2 * LANES);
    let whole = len - len % LANES;
    let mut i = 0;
    while i < pairs {
        let r0 = F32x4::load(x.add(i)).add(F32x4::load(y.add(i)));
        let r1 = F32x4::load(x.add(i + LANES)).add(F32x4::load(y.add(i + LANES)));
        r0.store(out.add(i));
        r1.store(out.add(i + LANES));
        acc0 = acc0.add(r0.mul(zero));
        acc1 = acc1.add(r1.mul(zero));
        i += 2 * LANES;
    }
    if i < whole {
        let r = F32x4::load(x.add(i)).add(F32x4::load(y.add(i)));
        r.store(out.add(i));
        acc0 = acc0.add(r.mul(zero));
    }
    let mut bad = 0.0f32;
    for j in whole..len {
        let r = *x.add(j) + *y.add(j);
        *out.add(j) = r;
        bad += r * 0.0;
    }
    (acc0.add(acc1).sum_lanes() + bad) == 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "past the last row")]
    fn gather_rows_refuses_an_index_past_the_rows() {
        let src = [0.0f32; 8];
        let mut dst = [0.0f32; 4];
        gather_rows(&src, 4, &[2], &mut dst);
    }

    #[test]
    fn checked_len_multiplies_and_refuses_to_wrap() {
        assert_eq!(checked_len(&[]), 1);
        assert_eq!(checked_len(&[3, 0, usize::MAX]), 0);
        assert_eq!(checked_len(&[7, 11, 13]), 1001);
        assert_eq!(checked_len(&[usize::MAX, 1]), usize::MAX);
    }

    #[test]
    #[should_panic(expected = "overflows")]
    fn checked_len_panics_on_overflow() {
        checked_len(&[1 << (usize::BITS / 2), 1 << (usize::BITS / 2)]);
    }

    #[test]
    fn add_assign_adds_every_element_like_scalar_adds() {
        let mut a: Vec<f32> = (0..11).map(|i| 0.1 * i as f32).collect();
        let b: Vec<f32> = (0..11).map(|i| 1.0 / (i as f32 + 3.0)).collect();
        let want: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        let mut c = vec![0.0f32; 11];
        add_to(&mut c, &a, &b);
        add_assign(&mut a, &b);
        assert_eq!(a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        assert_eq!(c.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    }

    #[test]
    fn the_tree_adds_report_a_sum_that_is_not_finite_anywhere() {
        // 19 = two pairs of vectors, one more vector and a scalar tail of 3: every path of `add_checked`.
        for len in [0, 3, 4, 8, 12, 19] {
            let b = vec![1.0f32; len];
            let fine: Vec<f32> = (0..len).map(|i| if i % 2 == 0 { f32::MAX / 2.0 } else { -0.0 }).collect();
            let mut c = vec![0.0f32; len];
            assert!(add_to(&mut c, &fine, &b));
            assert!(add_assign(&mut fine.clone(), &b));
            for at in 0..len {
                // a NaN or an infinity in an input, and two finite values whose sum overflows
                for (x, y) in [(f32::NAN, 1.0), (f32::NEG_INFINITY, 1.0), (f32::MAX, f32::MAX)] {
                    let (mut a, mut b2) = (fine.clone(), b.clone());
                    a[at] = x;
                    b2[at] = y;
                    assert!(!add_to(&mut c, &a, &b2), "add_to: {} + {} at {} of {}", x, y, at, len);
                    assert!(!add_assign(&mut a, &b2), "add_assign: {} + {} at {} of {}", x, y, at, len);
                }
            }
        }
    }

    #[test]
    fn all_finite_finds_nan_and_infinities_anywhere() {
        // 37 = two blocks of 16 (every one of the four sums) and a scalar tail of 5.
        for len in [11, 16, 37] {
            let mut v = vec![1.0f32; len];
            assert!(all_finite(&v));
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                for at in 0..len {
                    v[at] = bad;
                    assert!(!all_finite(&v), "{} at {} of {}", bad, at, len);
                    v[at] = if at % 2 == 0 { f32::MAX } else { -0.0 };
                }
            }
            assert!(all_finite(&v));
        }
        assert!(all_finite(&[]));
    }

    #[test]
    fn copy_short_copies_every_length_and_nothing_around_it() {
        // Lengths 0 to 13: the scalar loop, one vector, whole vectors with and without a last overlapping one. The
        // runs sit inside larger buffers, so a store before or past them shows as a changed neighbour.
        let src: Vec<f32> = (0..32).map(|i| 100.0 + i as f32).collect();
        for len in 0..=13 {
            let mut dst = vec![-1.0f32; len + 16];
            copy_short(&mut dst[8..8 + len], &src[8..8 + len]);
            assert_eq!(&dst[8..8 + len], &src[8..8 + len], "len {}", len);
            assert!(dst[..8].iter().chain(&dst[8 + len..]).all(|&x| x == -1.0), "len {}: {:?}", len, dst);
        }
    }

    #[test]
    fn zero_short_zeros_every_length_and_nothing_around_it() {
        for len in 0..=13 {
            let mut dst = vec![5.0f32; len + 16];
            zero_short(&mut dst[8..8 + len]);
            assert!(dst[8..8 + len].iter().all(|&x| x == 0.0), "len {}: {:?}", len, dst);
            assert!(dst[..8].iter().chain(&dst[8 + len..]).all(|&x| x == 5.0), "len {}: {:?}", len, dst);
        }
    }
}
