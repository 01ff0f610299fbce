//! A four-lane f32 vector with one implementation per instruction set.
//!
//! Kernels are written once against `F32x4`; the wasm32 build with
//! `+simd128` maps it onto `v128`, every other target (native `cargo test`)
//! onto a plain array, so the same kernel code is tested natively and in wasm.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub struct F32x4(v128);

    impl F32x4 {
        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            F32x4(f32x4_splat(x))
        }
        #[inline(always)]
        pub fn zero() -> Self {
            F32x4(f32x4_splat(0.0))
        }
        /// Loads four consecutive floats starting at `p`.
        ///
        /// # Safety
        /// `p..p+4` must be readable; wasm loads need no alignment.
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> Self {
            F32x4(v128_load(p as *const v128))
        }
        /// # Safety
        /// `p..p+4` must be writable.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            v128_store(p as *mut v128, self.0)
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            F32x4(f32x4_add(self.0, o.0))
        }
        #[inline(always)]
        pub fn sub(self, o: Self) -> Self {
            F32x4(f32x4_sub(self.0, o.0))
        }
        #[inline(always)]
        pub fn mul(self, o: Self) -> Self {
            F32x4(f32x4_mul(self.0, o.0))
        }
        #[inline(always)]
        pub fn div(self, o: Self) -> Self {
            F32x4(f32x4_div(self.0, o.0))
        }
        /// `self * b + c`, as two rounded operations (wasm has no fused form in 1.63).
        #[inline(always)]
        pub fn mul_add(self, b: Self, c: Self) -> Self {
            F32x4(f32x4_add(f32x4_mul(self.0, b.0), c.0))
        }
        #[inline(always)]
        pub fn sqrt(self) -> Self {
            F32x4(f32x4_sqrt(self.0))
        }
        /// Lane-wise `if |x| < f32::MIN_POSITIVE { +0 } else { x }`: subnormals and −0 become +0; NaN, ±∞ and normal
        /// numbers stay. (See `optim.rs` for why optimizer state is flushed.)
        #[inline(always)]
        pub fn flush_subnormal(self) -> Self {
            // Integer tests only (a float compare measured slower, and slower still on subnormal lanes): a zero exponent
            // field marks a subnormal or a zero, whose lanes are cleared. (−0 becomes +0 too: it moves no weight, and
            // keeping it cost an instruction a vector.)
            let tiny = i32x4_eq(v128_and(self.0, i32x4_splat(0x7f80_0000)), i32x4_splat(0));
            F32x4(v128_andnot(self.0, tiny))
        }
        /// Lane-wise `x > 0 ? x : 0`; NaN lanes become 0, as in the scalar path.
        #[inline(always)]
        pub fn relu(self) -> Self {
            F32x4(f32x4_pmax(f32x4_splat(0.0), self.0))
        }
        /// Transposes the 4×4 matrix whose rows are `r`.
        #[inline(always)]
        pub fn transpose4(r: [Self; 4]) -> [Self; 4] {
            let t0 = i32x4_shuffle::<0, 4, 1, 5>(r[0].0, r[1].0);
            let t1 = i32x4_shuffle::<2, 6, 3, 7>(r[0].0, r[1].0);
            let t2 = i32x4_shuffle::<0, 4, 1, 5>(r[2].0, r[3].0);
            let t3 = i32x4_shuffle::<2, 6, 3, 7>(r[2].0, r[3].0);
            [
                F32x4(i64x2_shuffle::<0, 2>(t0, t2)),
                F32x4(i64x2_shuffle::<1, 3>(t0, t2)),
                F32x4(i64x2_shuffle::<0, 2>(t1, t3)),
                F32x4(i64x2_shuffle::<1, 3>(t1, t3)),
            ]
        }
        /// Lane-wise `if o > self { o } else { self }` (no NaN handling: inputs are finite).
        #[inline(always)]
        pub fn max(self, o: Self) -> Self {
            F32x4(f32x4_pmax(self.0, o.0))
        }
        /// Splits eight consecutive floats `a ++ b` into even and odd positions.
        #[inline(always)]
        pub fn deinterleave(a: Self, b: Self) -> (Self, Self) {
            (F32x4(i32x4_shuffle::<0, 2, 4, 6>(a.0, b.0)), F32x4(i32x4_shuffle::<1, 3, 5, 7>(a.0, b.0)))
        }
        /// Lanes `[a0, a0, a1, a1]` and `[a2, a2, a3, a3]`.
        #[inline(always)]
        pub fn duplicate_pairs(self) -> (Self, Self) {
            (F32x4(i32x4_shuffle::<0, 0, 1, 1>(self.0, self.0)), F32x4(i32x4_shuffle::<2, 2, 3, 3>(self.0, self.0)))
        }
        /// Lanes `[a2, a3, a0, a1]`.
        #[inline(always)]
        pub fn swap_halves(self) -> Self {
            F32x4(i32x4_shuffle::<2, 3, 0, 1>(self.0, self.0))
        }
        /// Stores lanes 0 and 1.
        ///
        /// # Safety
        /// `p..p+2` must be writable.
        #[inline(always)]
        pub unsafe fn store_low2(self, p: *mut f32) {
            v128_store64_lane::<0>(self.0, p as *mut u64)
        }
        /// Keeps lane i where `bytes[i] != 0`, else 0.0.
        #[inline(always)]
        pub fn keep_where(self, bytes: [u8; 4]) -> Self {
            let m = i32x4(bytes[0] as i32, bytes[1] as i32, bytes[2] as i32, bytes[3] as i32);
            let m = i32x4_ne(m, i32x4_splat(0));
            F32x4(v128_and(m, self.0))
        }
        /// Lane-wise `if x == y { self } else { 0 }` (a NaN equals nothing).
        #[inline(always)]
        pub fn where_equal(self, x: Self, y: Self) -> Self {
            F32x4(v128_and(f32x4_eq(x.0, y.0), self.0))
        }
        /// Lane-wise `if gate > 0 { self } else { 0 }`.
        #[inline(always)]
        pub fn where_positive(self, gate: Self) -> Self {
            let m = f32x4_gt(gate.0, f32x4_splat(0.0));
            F32x4(v128_and(m, self.0))
        }
        /// A lane mask for `and`: all bits set in lanes `first..4`, clear below.
        #[inline(always)]
        pub fn mask_from_lane(first: usize) -> Self {
            let on = |lane: usize| if lane >= first { -1i32 } else { 0 };
            F32x4(i32x4(on(0), on(1), on(2), on(3)))
        }
        /// Bitwise `self & mask`: keeps the lanes a `mask_from_lane` mask sets, zeroes the others.
        #[inline(always)]
        pub fn and(self, mask: Self) -> Self {
            F32x4(v128_and(self.0, mask.0))
        }
        /// The sum of the four lanes, as `(a0 + a1) + (a2 + a3)` (the scalar twin adds in the same order).
        #[inline(always)]
        pub fn sum_lanes(self) -> f32 {
            (f32x4_extract_lane::<0>(self.0) + f32x4_extract_lane::<1>(self.0))
                + (f32x4_extract_lane::<2>(self.0) + f32x4_extract_lane::<3>(self.0))
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    #[derive(Clone, Copy)]
    pub struct F32x4([f32; 4]);

    impl F32x4 {
        #[inline(always)]
        fn map2(self, o: Self, f: impl Fn(f32, f32) -> f32) -> Self {
            F32x4([
                f(self.0[0], o.0[0]),
                f(self.0[1], o.0[1]),
                f(self.0[2], o.0[2]),
                f(self.0[3], o.0[3]),
            ])
        }
        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            F32x4([x; 4])
        }
        #[inline(always)]
        pub fn zero() -> Self {
            F32x4([0.0; 4])
        }
        /// # Safety
        /// `p..p+4` must be readable.
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> Self {
            F32x4(core::ptr::read_unaligned(p as *const [f32; 4]))
        }
        /// # Safety
        /// `p..p+4` must be writable.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            core::ptr::write_unaligned(p as *mut [f32; 4], self.0)
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            self.map2(o, |a, b| a + b)
        }
        #[inline(always)]
        pub fn sub(self, o: Self) -> Self {
            self.map2(o, |a, b| a - b)
        }
        #[inline(always)]
        pub fn mul(self, o: Self) -> Self {
            self.map2(o, |a, b| a * b)
        }
        #[inline(always)]
        pub fn div(self, o: Self) -> Self {
            self.map2(o, |a, b| a / b)
        }
        #[inline(always)]
        pub fn mul_add(self, b: Self, c: Self) -> Self {
            self.mul(b).add(c)
        }
        #[inline(always)]
        pub fn sqrt(self) -> Self {
            F32x4([self.0[0].sqrt(), self.0[1].sqrt(), self.0[2].sqrt(), self.0[3].sqrt()])
        }
        #[inline(always)]
        pub fn flush_subnormal(self) -> Self {
            F32x4(self.0.map(crate::simd::flush_subnormal))
        }
        #[inline(always)]
        pub fn relu(self) -> Self {
            self.map2(self, |a, _| if a > 0.0 { a } else { 0.0 })
        }
        #[inline(always)]
        pub fn transpose4(r: [Self; 4]) -> [Self; 4] {
            [0, 1, 2, 3].map(|c| F32x4([r[0].0[c], r[1].0[c], r[2].0[c], r[3].0[c]]))
        }
        #[inline(always)]
        pub fn max(self, o: Self) -> Self {
            self.map2(o, |a, b| if b > a { b } else { a })
        }
        #[inline(always)]
        pub fn deinterleave(a: Self, b: Self) -> (Self, Self) {
            (F32x4([a.0[0], a.0[2], b.0[0], b.0[2]]), F32x4([a.0[1], a.0[3], b.0[1], b.0[3]]))
        }
        #[inline(always)]
        pub fn duplicate_pairs(self) -> (Self, Self) {
            (F32x4([self.0[0], self.0[0], self.0[1], self.0[1]]), F32x4([self.0[2], self.0[2], self.0[3], self.0[3]]))
        }
        #[inline(always)]
        pub fn keep_where(self, bytes: [u8; 4]) -> Self {
            F32x4([0, 1, 2, 3].map(|i| if bytes[i] != 0 { self.0[i] } else { 0.0 }))
        }
        #[inline(always)]
        pub fn swap_halves(self) -> Self {
            F32x4([self.0[2], self.0[3], self.0[0], self.0[1]])
        }
        /// # Safety
        /// `p..p+2` must be writable.
        #[inline(always)]
        pub unsafe fn store_low2(self, p: *mut f32) {
            core::ptr::write_unaligned(p as *mut [f32; 2], [self.0[0], self.0[1]])
        }
        #[inline(always)]
        pub fn where_equal(self, x: Self, y: Self) -> Self {
            F32x4([0, 1, 2, 3].map(|i| if x.0[i] == y.0[i] { self.0[i] } else { 0.0 }))
        }
        #[inline(always)]
        pub fn where_positive(self, gate: Self) -> Self {
            self.map2(gate, |a, g| if g > 0.0 { a } else { 0.0 })
        }
        #[inline(always)]
        pub fn mask_from_lane(first: usize) -> Self {
            F32x4([0, 1, 2, 3].map(|lane| f32::from_bits(if lane >= first { u32::MAX } else { 0 })))
        }
        #[inline(always)]
        pub fn and(self, mask: Self) -> Self {
            self.map2(mask, |a, m| f32::from_bits(a.to_bits() & m.to_bits()))
        }
        #[inline(always)]
        pub fn sum_lanes(self) -> f32 {
            (self.0[0] + self.0[1]) + (self.0[2] + self.0[3])
        }
    }
}

pub use imp::F32x4;

/// Lanes per vector.
pub const LANES: usize = 4;

/// `F32x4::flush_subnormal` for one float: a subnormal (or −0) becomes +0.
#[inline(always)]
pub fn flush_subnormal(x: f32) -> f32 {
    if x.to_bits() & 0x7f80_0000 == 0 {
        0.0
    } else {
        x
    }
}

/// Applies `vec` to every whole group of four elements of the equally long
/// slices and `scalar` to the remainder: the shape of every elementwise kernel.
#[inline(always)]
pub fn zip_map(
    out: &mut [f32],
    a: &[f32],
    b: &[f32],
    vec: impl Fn(F32x4, F32x4) -> F32x4,
    scalar: impl Fn(f32, f32) -> f32,
) {
    let n = out.len();
    assert!(a.len() == n && b.len() == n);
    let whole = n - n % LANES;
    let mut i = 0;
    while i < whole {
        // SAFETY: i + 4 <= whole <= n, and all three slices have length n.
        unsafe {
            let r = vec(F32x4::load(a.as_ptr().add(i)), F32x4::load(b.as_ptr().add(i)));
            r.store(out.as_mut_ptr().add(i));
        }
        i += LANES;
    }
    for j in whole..n {
        out[j] = scalar(a[j], b[j]);
    }
}

/// The floats of `v` in lanes `0..v.len()` (at most 4) and +0.0 in the others: a row's last, partial vector read
/// without reaching past the slice.
#[inline(always)]
pub fn load_partial(v: &[f32]) -> F32x4 {
    assert!(v.len() <= 4);
    let mut lanes = [0.0f32; 4];
    for (lane, x) in lanes.iter_mut().zip(v) {
        *lane = *x;
    }
    // SAFETY: `lanes` holds four floats.
    unsafe { F32x4::load(lanes.as_ptr()) }
}

/// `out[i] = f(out[i], b[i])`, vectorised like `zip_map`.
#[inline(always)]
pub fn zip_map_in_place(
    out: &mut [f32],
    b: &[f32],
    vec: impl Fn(F32x4, F32x4) -> F32x4,
    scalar: impl Fn(f32, f32) -> f32,
) {
    let n = out.len();
    assert!(b.len() == n);
    let whole = n - n % LANES;
    let mut i = 0;
    while i < whole {
        // SAFETY: i + 4 <= whole <= n, and both slices have length n.
        unsafe {
            let p = out.as_mut_ptr().add(i);
            vec(F32x4::load(p), F32x4::load(b.as_ptr().add(i))).store(p);
        }
        i += LANES;
    }
    for j in whole..n {
        out[j] = scalar(out[j], b[j]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_lanes_adds_the_pairs_first() {
        // In f32, 1e8 + 1 rounds to 1e8: pairwise this is 0, left to right it would be 1.
        let v = [1e8f32, 1.0, -1e8, 1.0];
        // SAFETY: `v` holds four floats.
        let x = unsafe { F32x4::load(v.as_ptr()) };
        assert_eq!(x.sum_lanes(), 0.0);
        assert_eq!(F32x4::splat(0.25).sum_lanes(), 1.0);
    }
}
