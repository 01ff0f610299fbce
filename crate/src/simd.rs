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
        /// Lane-wise `x > 0 ? x : 0`; NaN lanes become 0, as in the scalar path.
        #[inline(always)]
        pub fn relu(self) -> Self {
            F32x4(f32x4_pmax(f32x4_splat(0.0), self.0))
        }
        /// Lane-wise `if gate > 0 { self } else { 0 }`.
        #[inline(always)]
        pub fn where_positive(self, gate: Self) -> Self {
            let m = f32x4_gt(gate.0, f32x4_splat(0.0));
            F32x4(v128_and(m, self.0))
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
        pub fn relu(self) -> Self {
            self.map2(self, |a, _| if a > 0.0 { a } else { 0.0 })
        }
        #[inline(always)]
        pub fn where_positive(self, gate: Self) -> Self {
            self.map2(gate, |a, g| if g > 0.0 { a } else { 0.0 })
        }
    }
}

pub use imp::F32x4;

/// Lanes per vector.
pub const LANES: usize = 4;

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
