//! The direct and im2col paths against each other, and every path against a
//! scalar float64 loop written from the definition (pad, valid true
//! convolution, keep every s-th output).

use super::*;
use crate::gemm::WORKSPACE_LEN;

/// Deterministic values in [-1, 1).
fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

struct Case {
    s: ConvShape,
    a: Vec<f32>,
    f: Vec<f32>,
    b: Vec<f32>,
    delta: Vec<f32>,
}

fn case(s: ConvShape, seed: u64) -> Case {
    let len = s.lengths().unwrap();
    Case { s, a: noise(len.input, seed), f: noise(len.filter, seed + 1), b: noise(s.m, seed + 2), delta: noise(len.output, seed + 3) }
}

fn padded(n: usize, c: usize, h: usize, w: usize, m: usize, fh: usize, fw: usize, pad: [usize; 4], stride: [usize; 2]) -> ConvShape {
    let [pt, pb, pl, pr] = pad;
    let [sh, sw] = stride;
    ConvShape { n, c, h, w, m, fh, fw, pt, pb, pl, pr, sh, sw }
}

/// The padded input `Ap[i,k,py,px]`: zero outside the image.
fn padded_at(s: &ConvShape, a: &[f32], i: usize, k: usize, py: usize, px: usize) -> Option<usize> {
    if py < s.pt || py >= s.pt + s.h || px < s.pl || px >= s.pl + s.w {
        return None;
    }
    Some(((i * s.c + k) * s.h + py - s.pt) * s.w + px - s.pl).filter(|&at| at < a.len())
}

/// z[i,j,y,x] = b[j] + Σ_{k,u,v} F[j,k,u,v] · Ap[i,k, y·sh + fh−1−u, x·sw + fw−1−v], and its three gradients.
fn naive(t: &Case) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let s = &t.s;
    let (zh, zw) = (s.zh(), s.zw());
    let len = s.lengths().unwrap();
    let (mut z, mut df, mut db, mut da) = (vec![0.0; len.output], vec![0.0; len.filter], vec![0.0; s.m], vec![0.0; len.input]);
    for i in 0..s.n {
        for j in 0..s.m {
            for y in 0..zh {
                for x in 0..zw {
                    let o = ((i * s.m + j) * zh + y) * zw + x;
                    let d = t.delta[o] as f64;
                    z[o] = t.b[j] as f64;
                    db[j] += d;
                    for k in 0..s.c {
                        for u in 0..s.fh {
                            for v in 0..s.fw {
                                let q = ((j * s.c + k) * s.fh + u) * s.fw + v;
                                let at = padded_at(s, &t.a, i, k, y * s.sh + s.fh - 1 - u, x * s.sw + s.fw - 1 - v);
                                if let Some(at) = at {
                                    z[o] += t.f[q] as f64 * t.a[at] as f64;
                                    df[q] += d * t.a[at] as f64;
                                    da[at] += d * t.f[q] as f64;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    (z, df, db, da)
}

fn assert_close(what: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{}: length", what);
    let scale = want.iter().fold(1.0f64, |m, x| m.max(x.abs()));
    for (q, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((*g as f64 - w).abs() <= tol * scale, "{}[{}]: got {}, want {}", what, q, g, w);
    }
}

fn as_f64(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

/// Runs the public forward and backward (whatever path they pick) and checks them against `naive`.
fn check_against_naive(t: &Case) {
    let s = &t.s;
    let len = s.lengths().unwrap();
    let (z_want, df_want, db_want, da_want) = naive(t);
    let mut ws = vec![0.0; WORKSPACE_LEN];
    let (mut cols, mut dcols) = (vec![0.0; len.cols], vec![0.0; len.cols]);
    let mut z = vec![0.0; len.output];
    conv2d_forward(s, &t.a, &t.f, &t.b, &mut z, false, &mut cols, &mut ws);
    assert_close(&format!("z {:?}", s), &z, &z_want, 1e-5);
    let mut zr = vec![0.0; len.output];
    conv2d_forward(s, &t.a, &t.f, &t.b, &mut zr, true, &mut cols, &mut ws);
    assert_close(&format!("relu z {:?}", s), &zr, &z_want.iter().map(|x| x.max(0.0)).collect::<Vec<_>>(), 1e-5);
    let (mut df, mut db, mut da) = (vec![9.0; len.filter], vec![9.0; s.m], vec![9.0; len.input]);
    conv2d_backward(s, &t.a, &t.f, &t.delta, &mut df, &mut db, Some(&mut da), &mut cols, &mut dcols, &mut ws, false);
    assert_close(&format!("df {:?}", s), &df, &df_want, 1e-5);
    assert_close(&format!("db {:?}", s), &db, &db_want, 1e-5);
    assert_close(&format!("da {:?}", s), &da, &da_want, 1e-5);
    // Accumulating adds the same gradients again.
    conv2d_backward(s, &t.a, &t.f, &t.delta, &mut df, &mut db, None, &mut cols, &mut dcols, &mut ws, true);
    assert_close(&format!("2·df {:?}", s), &df, &df_want.iter().map(|x| 2.0 * x).collect::<Vec<_>>(), 1e-5);
    assert_close(&format!("2·db {:?}", s), &db, &db_want.iter().map(|x| 2.0 * x).collect::<Vec<_>>(), 1e-5);
}

#[test]
fn unpadded_matches_the_definition() {
    for (seed, s) in [
        ConvShape::unpadded(2, 3, 7, 6, 5, 3, 2),
        ConvShape::unpadded(3, 2, 9, 11, 7, 3, 3),
        ConvShape::unpadded(2, 1, 6, 4, 3, 6, 1),
        ConvShape::unpadded(1, 9, 13, 10, 10, 1, 1),
        ConvShape::unpadded(2, 3, 10, 13, 6, 2, 2),
        // 5×5 through the direct filter gradient (2-filter blocks): 5 filters, rows of 7 outputs.
        ConvShape::unpadded(2, 2, 9, 11, 5, 5, 5),
        // Input rows that fill whole vectors of Δ (w = 4·⌈zw/4⌉): 3×3 (zw = 10 of w = 12) takes the wide kernel, whose
        // last vector's taps reach past the last row; 2×2 (zw = 11 of w = 12) keeps the row kernel.
        ConvShape::unpadded(2, 2, 9, 12, 5, 3, 3),
        ConvShape::unpadded(2, 1, 6, 12, 3, 2, 2),
    ]
    .into_iter()
    .enumerate()
    {
        check_against_naive(&case(s, seed as u64 * 10));
    }
}

#[test]
fn padded_and_strided_match_the_definition() {
    let shapes = [
        // padding only, stride 1: the direct kernels on a padded copy where the output row is wide enough
        padded(2, 3, 7, 9, 5, 3, 3, [1, 1, 1, 1], [1, 1]),
        padded(2, 2, 5, 6, 3, 2, 2, [0, 1, 0, 1], [1, 1]),
        padded(1, 2, 3, 3, 2, 3, 3, [1, 1, 1, 1], [1, 1]),
        padded(2, 1, 6, 7, 4, 4, 5, [2, 1, 3, 1], [1, 1]),
        padded(1, 2, 2, 3, 3, 3, 3, [2, 2, 2, 2], [1, 1]),
        // stride only, not dividing the input
        padded(2, 3, 11, 11, 4, 3, 3, [0, 0, 0, 0], [2, 2]),
        padded(2, 3, 11, 10, 4, 3, 3, [0, 0, 0, 0], [3, 3]),
        padded(1, 2, 9, 13, 3, 2, 4, [0, 0, 0, 0], [3, 2]),
        // both, asymmetric
        padded(2, 3, 11, 9, 5, 3, 3, [1, 1, 1, 1], [2, 2]),
        padded(2, 2, 10, 7, 3, 4, 2, [1, 2, 0, 1], [3, 2]),
        padded(1, 1, 5, 5, 2, 5, 5, [4, 4, 4, 4], [4, 3]),
        padded(3, 4, 8, 8, 6, 1, 1, [1, 0, 2, 0], [2, 3]),
    ];
    for (seed, s) in shapes.iter().enumerate() {
        let t = case(*s, 100 + seed as u64 * 10);
        check_against_naive(&t);
        // The im2col path itself, also where the public entry picks the padded direct copy.
        let len = s.lengths().unwrap();
        let (z_want, df_want, _, _) = naive(&t);
        let mut ws = vec![0.0; WORKSPACE_LEN];
        let mut cols = vec![0.0; len.cols];
        let mut z = vec![0.0; len.output];
        im2col::forward(s, &t.a, &t.f, &t.b, &mut z, false, &mut cols, &mut ws);
        assert_close("im2col z", &z, &z_want, 1e-5);
        let mut df = vec![0.0; len.filter];
        im2col::filter_gradient(s, &t.a, &t.delta, &mut df, false, &mut cols, &mut ws);
        assert_close("im2col df", &df, &df_want, 1e-5);
    }
}

#[test]
fn padded_stride_one_uses_the_direct_kernels_on_a_copy() {
    assert_eq!(forward_path(&padded(1, 1, 7, 9, 1, 3, 3, [1, 1, 1, 1], [1, 1])), Path::DirectOnPaddedCopy);
    assert_eq!(filter_gradient_path(&padded(1, 1, 7, 9, 1, 3, 3, [1, 1, 1, 1], [1, 1])), Path::DirectOnPaddedCopy);
    assert_eq!(forward_path(&padded(1, 1, 7, 9, 1, 3, 3, [1, 1, 1, 1], [2, 1])), Path::Im2col);
    assert_eq!(forward_path(&ConvShape::unpadded(1, 1, 28, 28, 32, 3, 3)), Path::Direct);
    assert_eq!(filter_gradient_path(&ConvShape::unpadded(1, 1, 28, 28, 32, 3, 3)), Path::Direct);
    // 5×5: one channel direct (LeNet-5's first layer, on a padded copy), two or more through im2col (its second).
    assert_eq!(filter_gradient_path(&padded(1, 1, 28, 28, 6, 5, 5, [2, 2, 2, 2], [1, 1])), Path::DirectOnPaddedCopy);
    assert_eq!(filter_gradient_path(&ConvShape::unpadded(1, 6, 14, 14, 16, 5, 5)), Path::Im2col);
    assert_eq!(filter_gradient_path(&ConvShape::unpadded(1, 2, 14, 14, 16, 5, 5)), Path::Im2col);
    assert_eq!(filter_gradient_path(&ConvShape::unpadded(1, 6, 14, 14, 16, 3, 3)), Path::Direct);
}

#[test]
fn direct_input_gradient_matches_the_definition() {
    // The turned filters' groups of 4 with 0 to 3 left over (c = 1 to 8), Δ of 1 to 9 channels, rows of the forward's
    // blocks (widths 4, 5, 7, 8, 9, 11, 12, 13, 14, 17, 28: one vector, overlapping vectors, blocks of 8, a shifted
    // last block, the two-row tail), 'same', valid, asymmetric and widest padding (fh − 1), 1×1 to 5×5.
    let shapes = [
        padded(2, 3, 7, 9, 5, 3, 3, [1, 1, 1, 1], [1, 1]),
        padded(2, 1, 6, 4, 2, 3, 3, [1, 1, 1, 1], [1, 1]),
        padded(1, 2, 5, 5, 3, 3, 3, [2, 2, 2, 2], [1, 1]),
        padded(2, 5, 9, 8, 9, 3, 3, [1, 1, 1, 1], [1, 1]),
        padded(1, 6, 10, 14, 4, 5, 5, [2, 2, 2, 2], [1, 1]),
        padded(2, 7, 6, 11, 3, 2, 3, [1, 0, 2, 0], [1, 1]),
        padded(1, 3, 8, 12, 2, 4, 5, [3, 0, 0, 4], [1, 1]),
        padded(2, 2, 9, 13, 6, 1, 1, [0, 0, 0, 0], [1, 1]),
        padded(1, 4, 12, 17, 5, 3, 3, [0, 0, 0, 0], [1, 1]),
        padded(1, 8, 28, 28, 8, 3, 3, [1, 1, 1, 1], [1, 1]),
        padded(1, 3, 7, 7, 7, 3, 3, [1, 1, 1, 1], [1, 1]),
        padded(2, 5, 6, 9, 1, 3, 3, [1, 1, 1, 1], [1, 1]),
    ];
    for (seed, s) in shapes.iter().enumerate() {
        assert!(direct::input_gradient_applies(s), "{:?}", s);
        let t = case(*s, 500 + seed as u64 * 10);
        let (_, _, _, da_want) = naive(&t);
        // With scratch too short (a buffer of its own) and long enough (NaN-filled: padding must be written, not assumed).
        for scratch_len in [0, s.m * (s.zh() + 2 * s.fh) * (s.zw() + 2 * s.fw)] {
            let mut da = vec![f32::NAN; s.lengths().unwrap().input];
            let mut scratch = vec![f32::NAN; scratch_len];
            direct::input_gradient(s, &t.f, &t.delta, &mut da, &mut scratch);
            assert_close(&format!("direct da {:?}, scratch {}", s, scratch_len), &da, &da_want, 1e-5);
        }
    }
}

#[test]
fn the_input_gradient_takes_the_forward_kernel_where_it_computes_no_more() {
    assert_eq!([4, 5, 7, 8, 10, 12, 14, 16, 26, 28].map(direct::forward_row_outputs), [4, 8, 8, 8, 12, 12, 16, 16, 28, 28]);
    // vggMini's 32 → 32 at 28×28 ('same'): rows of 28 are whole blocks.
    assert_eq!(input_gradient_path(&padded(1, 32, 28, 28, 32, 3, 3, [1, 1, 1, 1], [1, 1])), Path::Direct);
    // Its 32 → 64 at 14×14: rows of 14 compute 16.
    assert_eq!(input_gradient_path(&padded(1, 32, 14, 14, 64, 3, 3, [1, 1, 1, 1], [1, 1])), Path::Im2col);
    // LeNet-5's second convolution (valid 5×5): 14×14 inputs against 10×10 outputs.
    assert_eq!(input_gradient_path(&ConvShape::unpadded(1, 6, 14, 14, 16, 5, 5)), Path::Im2col);
    // Stride 2, padding as wide as the filter, inputs narrower than a vector: not for the forward kernel.
    assert_eq!(input_gradient_path(&padded(1, 4, 16, 16, 4, 3, 3, [1, 1, 1, 1], [2, 2])), Path::Im2col);
    assert_eq!(input_gradient_path(&padded(1, 4, 16, 16, 4, 3, 3, [3, 3, 3, 3], [1, 1])), Path::Im2col);
    // Padding as wide as the filter on one side only (fh − 1 − p would underflow there), the other sides 'same'.
    for pad in [[3, 1, 1, 1], [1, 3, 1, 1], [1, 1, 3, 1], [1, 1, 1, 3]] {
        assert_eq!(input_gradient_path(&padded(1, 4, 16, 16, 4, 3, 3, pad, [1, 1])), Path::Im2col, "{:?}", pad);
    }
    assert_eq!(input_gradient_path(&padded(1, 4, 3, 3, 4, 3, 3, [1, 1, 1, 1], [1, 1])), Path::Im2col);
}

#[test]
fn direct_and_im2col_agree_without_padding() {
    let shapes = [
        ConvShape::unpadded(2, 3, 7, 9, 5, 3, 3),
        ConvShape::unpadded(3, 1, 28, 28, 6, 3, 3),
        ConvShape::unpadded(2, 5, 11, 13, 9, 2, 2),
        ConvShape::unpadded(2, 4, 6, 7, 3, 1, 1),
        ConvShape::unpadded(1, 2, 9, 12, 7, 4, 5),
        ConvShape::unpadded(2, 3, 5, 6, 2, 2, 3),
        // Filter-gradient blocks (2 filters for 3×3, 3 for 1×1 and 2×2) and its masked last vector: m = 4,
        // rows of 9 outputs (two vectors and one lane), rows of exactly one vector, m = 1.
        ConvShape::unpadded(2, 2, 8, 11, 4, 3, 3),
        ConvShape::unpadded(2, 1, 5, 5, 1, 2, 2),
        ConvShape::unpadded(1, 3, 4, 7, 8, 1, 1),
        // 5×5 (LeNet-5's): blocks of 2 filters, m = 5 (2 + 2 + 1), a row of 10 outputs (two vectors and a
        // masked one); and 16 filters over 6 channels, LeNet-5's second convolution.
        ConvShape::unpadded(2, 2, 9, 14, 5, 5, 5),
        ConvShape::unpadded(2, 6, 14, 14, 16, 5, 5),
        // Forward rows by blocks of 8 and vectors of 4: widths 13, 14, 15 end with a shifted block of 8, 11 with one
        // vector, 6 and 5 are two overlapping vectors.
        ConvShape::unpadded(1, 2, 5, 15, 3, 3, 3),
        ConvShape::unpadded(1, 1, 4, 16, 5, 3, 3),
        ConvShape::unpadded(1, 1, 4, 17, 5, 3, 3),
        ConvShape::unpadded(1, 2, 6, 13, 4, 3, 3),
        ConvShape::unpadded(2, 1, 4, 8, 2, 3, 3),
        ConvShape::unpadded(1, 3, 5, 7, 6, 3, 3),
    ];
    for (seed, s) in shapes.iter().enumerate() {
        let t = case(*s, 300 + seed as u64 * 10);
        let len = s.lengths().unwrap();
        let mut ws = vec![0.0; WORKSPACE_LEN];
        let mut cols = vec![0.0; len.cols];
        assert!(direct::forward_applies(s));
        for relu in [false, true] {
            let (mut direct_z, mut im2col_z) = (vec![0.0; len.output], vec![0.0; len.output]);
            direct::forward_with_taps(s, &direct::Taps::new(s, &t.f), &t.a, &t.b, &mut direct_z, relu);
            im2col::forward(s, &t.a, &t.f, &t.b, &mut im2col_z, relu, &mut cols, &mut ws);
            assert_close(&format!("z {:?} relu {}", s, relu), &direct_z, &as_f64(&im2col_z), 1e-5);
        }
        if direct::filter_gradient_applies(s) {
            for accumulate in [false, true] {
                let start = noise(len.filter, 7);
                let (mut direct_df, mut im2col_df) = (start.clone(), start);
                direct::filter_gradient(s, &t.a, &t.delta, &mut direct_df, accumulate);
                im2col::filter_gradient(s, &t.a, &t.delta, &mut im2col_df, accumulate, &mut cols, &mut ws);
                assert_close(&format!("df {:?}", s), &direct_df, &as_f64(&im2col_df), 1e-5);
            }
        }
    }
}

#[test]
fn forward_is_true_convolution() {
    // convolve2d([[1,0,0],[0,0,0],[0,0,0]], [[1,2],[3,4]], 'valid') = [[4,0],[0,0]]: the flipped kernel meets the 1.
    let s = ConvShape::unpadded(1, 1, 3, 3, 1, 2, 2);
    let (a, f) = ([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]);
    let mut z = [0.0; 4];
    let (mut cols, mut ws) = (vec![0.0; s.lengths().unwrap().cols], vec![0.0; WORKSPACE_LEN]);
    conv2d_forward(&s, &a, &f, &[0.0], &mut z, false, &mut cols, &mut ws);
    assert_eq!(z, [4.0, 0.0, 0.0, 0.0]);
}

#[test]
fn lengths_refuse_bad_geometry_and_overflow() {
    assert!(padded(1, 1, 4, 4, 1, 5, 3, [0, 0, 0, 0], [1, 1]).lengths().is_none());
    assert!(padded(1, 1, 4, 4, 1, 5, 3, [1, 0, 0, 0], [1, 1]).lengths().is_some());
    assert!(padded(1, 1, 4, 4, 1, 0, 3, [0, 0, 0, 0], [1, 1]).lengths().is_none());
    assert!(padded(1, 1, 4, 4, 1, 3, 3, [0, 0, 0, 0], [0, 1]).lengths().is_none());
    assert!(padded(1, 1, 4, 4, 1, 3, 3, [usize::MAX, 1, 0, 0], [1, 1]).lengths().is_none());
    assert!(padded(1, 1 << 40, 1 << 30, 1, 1, 1, 1, [0, 0, 0, 0], [1, 1]).lengths().is_none());
    // Huge strides are fine: one output row and column.
    let s = padded(1, 1, 4, 4, 1, 3, 3, [0, 0, 0, 0], [usize::MAX, usize::MAX]);
    assert_eq!(s.lengths().map(|l| l.output), Some(1));
    assert_eq!(
        padded(2, 3, 11, 10, 4, 3, 2, [1, 2, 0, 3], [2, 3]).lengths(),
        Some(ConvLengths { input: 2 * 3 * 11 * 10, filter: 4 * 3 * 3 * 2, output: 2 * 4 * 6 * 4, cols: 3 * 3 * 2 * 6 * 4 })
    );
}

#[test]
fn wide_delta_gives_the_filter_and_bias_gradients_of_the_usual_layout_bit_for_bit() {
    // Every path of these shapes runs the wide kernel (Δ copied where it comes in the usual layout): the floats
    // agree bit for bit whichever way Δ arrives, and the plane sums and the row-by-row kernel agree to rounding.
    // (n, c, h, w, m): the course's first layer, two channels with an odd filter count (a last block of one filter).
    for (seed, [n, c, h, w, m]) in [[2, 1, 28, 28, 32], [3, 2, 9, 12, 5], [2, 1, 6, 8, 2]].into_iter().enumerate() {
        let s = ConvShape::unpadded(n, c, h, w, m, 3, 3);
        assert!(super::wide_delta_applies(&s), "{s:?}");
        let t = case(s, 100 + seed as u64);
        let (zh, zw) = (s.zh(), s.zw());
        let mut wide = vec![f32::NAN; n * m * zh * w];
        for (q, row) in wide.chunks_exact_mut(w).enumerate() {
            row[..zw].copy_from_slice(&t.delta[q * zw..(q + 1) * zw]);
            row[zw..].iter_mut().for_each(|x| *x = 0.0);
        }
        let len = s.lengths().unwrap();
        let (mut cols, mut ws) = (vec![0.0; len.cols], vec![0.0; WORKSPACE_LEN]);
        let mut sums = vec![f32::NAN; n * m];
        for accumulate in [false, true] {
            let (mut df, mut df_wide) = (vec![0.5; len.filter], vec![0.5; len.filter]);
            super::filter_gradient(&s, &t.a, &t.delta, &mut df, accumulate, &mut cols, &mut ws);
            super::filter_gradient_wide(&s, &t.a, &wide, &mut df_wide, accumulate, &mut sums);
            assert!(df.iter().zip(&df_wide).all(|(x, y)| x.to_bits() == y.to_bits()), "df {s:?}");
        }
        let (mut df, mut narrow_sums) = (vec![0.5; len.filter], vec![f32::NAN; n * m]);
        super::filter_gradient_and_plane_sums(&s, &t.a, &t.delta, &mut df, false, &mut cols, &mut ws, &mut narrow_sums);
        for q in 0..n * m {
            assert_eq!(narrow_sums[q].to_bits(), sums[q].to_bits(), "plane {q} of {s:?}");
            let exact: f64 = t.delta[q * zh * zw..(q + 1) * zh * zw].iter().map(|&x| x as f64).sum();
            assert!((sums[q] as f64 - exact).abs() <= 1e-5 * (1.0 + exact.abs()), "plane {q}: {} against {exact}", sums[q]);
        }
        // The usual kernel on Δ as it is (another order of the same sums), against the wide one.
        let mut df_rows = vec![0.0; len.filter];
        direct::filter_gradient(&s, &t.a, &t.delta, &mut df_rows, false);
        for (x, y) in df_rows.iter().zip(&df) {
            assert!((x - y).abs() <= 1e-5 * (1.0 + x.abs()), "{x} against {y}");
        }
    }
}

#[test]
fn wide_delta_without_images_overwrites_or_keeps_the_gradients() {
    // n = 0 on a shape of the wide kernel: dF and db cleared without accumulate, left as they are with it.
    let s = ConvShape::unpadded(0, 1, 28, 28, 3, 3, 3);
    assert!(super::wide_delta_applies(&s));
    let len = ConvShape { n: 1, ..s }.lengths().unwrap();
    let (mut cols, mut dcols, mut ws) = (vec![0.0; len.cols], vec![0.0; len.cols], vec![0.0; WORKSPACE_LEN]);
    for accumulate in [false, true] {
        let (mut df, mut db) = (vec![0.5; len.filter], vec![0.5; 3]);
        super::conv2d_backward(&s, &[], &vec![0.0; len.filter], &[], &mut df, &mut db, None, &mut cols, &mut dcols, &mut ws, accumulate);
        let want = if accumulate { 0.5 } else { 0.0 };
        assert!(df.iter().chain(&db).all(|&x| x == want), "accumulate {accumulate}");
        let mut df = vec![0.5; len.filter];
        super::filter_gradient(&s, &[], &[], &mut df, accumulate, &mut cols, &mut ws);
        assert!(df.iter().all(|&x| x == want), "filter_gradient, accumulate {accumulate}");
    }
}
