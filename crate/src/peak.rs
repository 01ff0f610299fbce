//! A probe of the machine's f32x4 arithmetic peak, for the benchmark's
//! "percent of peak" column: independent multiply-add chains, no memory traffic.

use crate::simd::F32x4;

/// Runs `iterations` rounds of 12 independent f32x4 multiply-add chains
/// (12 × 4 lanes × 2 flops = 96 flops a round) and returns a value that
/// depends on all of them, so nothing is optimised away.
pub fn simd_peak(iterations: u32) -> f32 {
    let m = F32x4::splat(0.999_999);
    let c = F32x4::splat(1e-7);
    let mut acc = [F32x4::splat(1.0); 12];
    for _ in 0..iterations {
        for a in acc.iter_mut() {
            *a = a.mul_add(m, c);
        }
    }
    acc.iter().fold(F32x4::zero(), |s, a| s.add(*a)).sum_lanes()
}
