//! The dense layer's bias terms (its products go through `gemm`).

/// `z[r][c] += b[c]` for every row of the row-major `z`.
pub fn add_row_bias(z: &mut [f32], b: &[f32]) {
    let cols = b.len();
    assert!(cols > 0 && z.len() % cols == 0);
    for row in z.chunks_exact_mut(cols) {
        crate::simd::zip_map_in_place(row, b, |x, y| x.add(y), |x, y| x + y);
    }
}

/// `out[c] (+)= Σ_r m[r][c]`, the bias gradient `db = Σ_i δ_i`, summed in f64.
pub fn column_sums(m: &[f32], out: &mut [f32], accumulate: bool) {
    let cols = out.len();
    assert!(cols > 0 && m.len() % cols == 0);
    let rows = m.len() / cols;
    for (c, o) in out.iter_mut().enumerate() {
        let mut s = 0.0f64;
        for r in 0..rows {
            s += m[r * cols + c] as f64;
        }
        *o = if accumulate { *o + s as f32 } else { s as f32 };
    }
}
