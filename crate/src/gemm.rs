//! Single-precision matrix multiply: `C = op(A)·op(B)` or `C += op(A)·op(B)`.
//!
//! Transposes are expressed through strides (`A[i][p] = a[i*rsa + p*csa]`),
//! so one routine serves the dense layer's forward pass (a·w), its gradients
//! (aᵀ·δ and δ·wᵀ) and the convolution's im2col products.
//!
//! Structure (Goto/BLIS): B is packed into `KC×8` column panels, A into
//! `KC×4` row panels, and a 4×8 register-blocked micro-kernel (eight f32x4
//! accumulators, which fits V8's 15 usable xmm registers without spilling)
//! runs over the packed panels. Edge tiles go through the same micro-kernel
//! on zero-padded panels and are copied out partially.
//!
//! Two shortcuts keep small-M products (a dense layer on a shard of 16–63
//! samples) from spending their time copying: a row-major A is read in place
//! (four rows broadcast from where they are, no A panels), and a B that many
//! products share (a dense layer's weights during a training step) can be
//! packed once with `pack_b_whole` and passed as `PackedB`. Neither changes
//! the arithmetic: same products, summed in the same order.

use crate::simd::{F32x4, LANES};

/// Rows of the micro-tile.
pub const MR: usize = 4;
/// Columns of the micro-tile (two f32x4 vectors).
pub const NR: usize = 8;
/// Depth of one packed block.
pub const KC: usize = 256;
/// Rows of A packed at once.
pub const MC: usize = 128;
/// Columns of B packed at once.
pub const NC: usize = 512;

/// Floats of scratch space `gemm` needs: one packed block of B and one of A.
pub const WORKSPACE_LEN: usize = KC * NC + MC * KC;

/// A strided, read-only matrix view.
#[derive(Clone, Copy)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows × cols` matrix.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        MatRef { data, rows, cols, row_stride: cols, col_stride: 1 }
    }
    /// The transpose of a row-major `cols × rows` matrix, seen as `rows × cols`.
    pub fn transposed(data: &'a [f32], rows: usize, cols: usize) -> Self {
        MatRef { data, rows, cols, row_stride: 1, col_stride: rows }
    }
    /// Checks that every element the strides can reach lies inside `data`.
    fn in_bounds(&self) -> bool {
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        // Checked: strides whose products wrap around must not pass for small ones.
        let last = (self.rows - 1)
            .checked_mul(self.row_stride)
            .and_then(|r| (self.cols - 1).checked_mul(self.col_stride).and_then(|c| r.checked_add(c)));
        matches!(last, Some(last) if last < self.data.len())
    }
    #[inline(always)]
    fn at(&self, i: usize, p: usize) -> f32 {
        self.data[i * self.row_stride + p * self.col_stride]
    }
}

/// `c[i*ldc + j] (+)= Σ_p A[i][p]·B[p][j]` for an `m × n` result.
///
/// `accumulate = false` overwrites C (its old contents are ignored, even NaN).
pub fn gemm(a: MatRef, b: MatRef, c: &mut [f32], ldc: usize, accumulate: bool, workspace: &mut [f32]) {
    assert_eq!(b.rows, a.cols, "gemm: inner dimensions differ");
    assert!(b.in_bounds(), "gemm: operand strides leave their buffers");
    drive(a, PanelsOfB::PackEach(b), b.cols, c, ldc, accumulate, workspace);
}

/// `gemm` with B packed beforehand by `pack_b_whole` (B is `a.cols × n`).
pub fn gemm_prepacked(a: MatRef, b: PackedB, c: &mut [f32], ldc: usize, accumulate: bool, workspace: &mut [f32]) {
    assert_eq!(b.k, a.cols, "gemm: inner dimensions differ");
    assert!(b.data.len() >= packed_b_len(b.k, b.n), "gemm: packed B too small");
    drive(a, PanelsOfB::Prepacked(b), b.n, c, ldc, accumulate, workspace);
}

/// A whole `k × n` B in the driver's panel order (see `pack_b_whole`).
#[derive(Clone, Copy)]
pub struct PackedB<'a> {
    pub data: &'a [f32],
    pub k: usize,
    pub n: usize,
}

#[derive(Clone, Copy)]
enum PanelsOfB<'a> {
    /// Packed block by block into the workspace, as the driver reaches it.
    PackEach(MatRef<'a>),
    Prepacked(PackedB<'a>),
}

/// `n` rounded up to whole panels.
fn panel_cols(n: usize) -> usize {
    (n + NR - 1) / NR * NR
}

/// Floats `pack_b_whole` writes for a `k × n` B: every column block of NC, each of
/// its KC-deep blocks as zero-padded `kc × NR` panels, blocks in the driver's order.
pub fn packed_b_len(k: usize, n: usize) -> usize {
    k.checked_mul(panel_cols(n)).expect("gemm: packed B size overflows")
}

/// Where block (jc, pc) of a packed B starts: the full column blocks before jc
/// hold `NC·k` floats each, and the blocks above pc in this one `ncp·kc` each.
fn packed_block_offset(k: usize, n: usize, jc: usize, pc: usize) -> usize {
    jc * k + pc * panel_cols(NC.min(n - jc))
}

/// Packs all of B for `gemm_prepacked`: the panels `gemm` would pack block by block.
pub fn pack_b_whole(b: MatRef, out: &mut [f32]) {
    let (k, n) = (b.rows, b.cols);
    assert!(b.in_bounds(), "gemm: operand strides leave their buffers");
    assert!(out.len() >= packed_b_len(k, n), "gemm: packed B too small");
    for_each_packed_block(k, n, |jc, nc, pc, kc| pack_b(b, pc, kc, jc, nc, &mut out[packed_block_offset(k, n, jc, pc)..]));
}

/// Writes a `k × n` B packed by `pack_b_whole` back into row-major `out` (`k·n` floats): the training loop puts a
/// dense layer's weights back from the step's packed copy when an update must be undone, instead of copying them
/// aside before every update. Rare, so plain loops.
pub fn unpack_b_whole(packed: &[f32], k: usize, n: usize, out: &mut [f32]) {
    for_each_packed_block(k, n, |jc, nc, pc, kc| {
        let block = packed_block_offset(k, n, jc, pc);
        for j in 0..nc {
            for p in 0..kc {
                // Indexing checks every read and write against the slices' lengths.
                out[(pc + p) * n + jc + j] = packed[block + ((j / NR) * kc + p) * NR + j % NR];
            }
        }
    });
}

/// Calls `block(jc, nc, pc, kc)` for each block of a `k × n` B: columns jc..jc+nc (NC at most), depths pc..pc+kc
/// (KC at most), in the order the driver multiplies them and `packed_block_offset` lays them out.
#[inline(always)]
fn for_each_packed_block(k: usize, n: usize, mut block: impl FnMut(usize, usize, usize, usize)) {
    let mut jc = 0;
    while jc < n {
        let nc = NC.min(n - jc);
        let mut pc = 0;
        while pc < k {
            let kc = KC.min(k - pc);
            block(jc, nc, pc, kc);
            pc += kc;
        }
        jc += nc;
    }
}

fn drive(a: MatRef, panels_of_b: PanelsOfB, n: usize, c: &mut [f32], ldc: usize, accumulate: bool, workspace: &mut [f32]) {
    let (m, k) = (a.rows, a.cols);
    assert!(a.in_bounds(), "gemm: operand strides leave their buffers");
    let c_fits = m == 0 || n == 0 || (m - 1).checked_mul(ldc).and_then(|x| x.checked_add(n)).map_or(false, |need| need <= c.len());
    assert!(ldc >= n && c_fits, "gemm: C too small");
    assert!(workspace.len() >= WORKSPACE_LEN, "gemm: workspace too small");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                c[i * ldc..i * ldc + n].iter_mut().for_each(|x| *x = 0.0);
            }
        }
        return;
    }
    let (packed_b, rest) = workspace.split_at_mut(KC * NC);
    let packed_a = &mut rest[..MC * KC];
    // A row-major A is read in place: its rows are already consecutive along the depth. So is a transposed one
    // (the weight gradient's aᵀ): a tile's four rows are four consecutive floats at each depth.
    let a_in_place = a.col_stride == 1;
    let a_transposed_in_place = !a_in_place && a.row_stride == 1;

    for_each_packed_block(k, n, |jc, nc, pc, kc| {
        if let PanelsOfB::PackEach(b) = panels_of_b {
            pack_b(b, pc, kc, jc, nc, packed_b);
        }
        let panels: &[f32] = match panels_of_b {
            PanelsOfB::PackEach(_) => packed_b,
            PanelsOfB::Prepacked(p) => &p.data[packed_block_offset(k, n, jc, pc)..],
        };
        let add = accumulate || pc > 0;
        let mut ic = 0;
        while ic < m {
            let mc = MC.min(m - ic);
            let c_block = &mut c[ic * ldc + jc..];
            if a_in_place {
                macro_block_rows(a, ic, mc, pc, kc, nc, panels, c_block, ldc, add);
            } else if a_transposed_in_place {
                macro_block_columns(a, ic, mc, pc, kc, nc, panels, c_block, ldc, add);
            } else {
                pack_a(a, ic, mc, pc, kc, packed_a);
                macro_block(kc, mc, nc, packed_a, panels, c_block, ldc, add);
            }
            ic += mc;
        }
    });
}

/// Packs `B[pc..pc+kc][jc..jc+nc]` into consecutive `kc × NR` panels, the last one zero-padded.
fn pack_b(b: MatRef, pc: usize, kc: usize, jc: usize, nc: usize, out: &mut [f32]) {
    let panels = (nc + NR - 1) / NR;
    assert!(out.len() >= panels * kc * NR);
    for panel in 0..panels {
        let j0 = jc + panel * NR;
        let width = NR.min(jc + nc - j0);
        let dst = &mut out[panel * kc * NR..(panel + 1) * kc * NR];
        if b.col_stride == 1 && (width == NR || width == LANES) {
            // Row-major B: each row of the panel is 8 consecutive floats (4 and 4 zeros in a last panel of 4, as
            // the course's 100 columns leave). Vector copies: 0.46× the time of `copy_from_slice`, whose last panel
            // of 4 also took the scalar path below.
            let last = (pc + kc - 1) * b.row_stride + j0 + width;
            assert!(last <= b.data.len());
            let zero = F32x4::zero();
            for p in 0..kc {
                let s = (pc + p) * b.row_stride + j0;
                // SAFETY: s + width <= last <= b.data.len() (rows pc..pc+kc, asserted above); the stores write
                // dst[p·NR .. p·NR + 8], within dst's kc·NR floats.
                unsafe {
                    let from = b.data.as_ptr().add(s);
                    let to = dst.as_mut_ptr().add(p * NR);
                    F32x4::load(from).store(to);
                    let high = if width == NR { F32x4::load(from.add(LANES)) } else { zero };
                    high.store(to.add(LANES));
                }
            }
        } else if b.row_stride == 1 && width == NR {
            // Transposed B (e.g. wᵀ): column j is consecutive in memory; transpose 4×4 blocks.
            let whole = kc - kc % 4;
            let mut p = 0;
            while p < whole {
                for half in 0..2 {
                    let rows = [0, 1, 2, 3].map(|r| b.col_stride * (j0 + 4 * half + r) + pc + p);
                    // SAFETY: gemm checked that every B[p][j] with p < k, j < n lies in b.data;
                    // these loads read B[pc+p .. pc+p+4][j0+4·half+r], all within that range.
                    let t = unsafe { F32x4::transpose4(rows.map(|o| F32x4::load(b.data.as_ptr().add(o)))) };
                    for (q, v) in t.iter().enumerate() {
                        // SAFETY: (p+q)·NR + 4·half + 4 <= kc·NR = dst.len().
                        unsafe { v.store(dst.as_mut_ptr().add((p + q) * NR + 4 * half)) };
                    }
                }
                p += 4;
            }
            for p in whole..kc {
                for jj in 0..NR {
                    dst[p * NR + jj] = b.at(pc + p, j0 + jj);
                }
            }
        } else {
            for p in 0..kc {
                for jj in 0..NR {
                    dst[p * NR + jj] = if jj < width { b.at(pc + p, j0 + jj) } else { 0.0 };
                }
            }
        }
    }
}

/// Packs `A[ic..ic+mc][pc..pc+kc]` into consecutive `kc × MR` panels (column by column), zero-padded.
fn pack_a(a: MatRef, ic: usize, mc: usize, pc: usize, kc: usize, out: &mut [f32]) {
    // Only an A with neither unit stride comes here: a row-major or a transposed A is read in place (`drive`).
    let panels = (mc + MR - 1) / MR;
    assert!(out.len() >= panels * kc * MR);
    for panel in 0..panels {
        let i0 = ic + panel * MR;
        let height = MR.min(ic + mc - i0);
        let dst = &mut out[panel * kc * MR..(panel + 1) * kc * MR];
        for p in 0..kc {
            for ii in 0..MR {
                dst[p * MR + ii] = if ii < height { a.at(i0 + ii, pc + p) } else { 0.0 };
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn macro_block(kc: usize, mc: usize, nc: usize, pa: &[f32], pb: &[f32], c: &mut [f32], ldc: usize, add: bool) {
    tiles(kc, mc, nc, pb, c, ldc, add, |ir, _, panel_b, half| micro_kernel(kc, &pa[(ir / MR) * kc * MR..(ir / MR + 1) * kc * MR], panel_b, half));
}

/// `macro_block` for a row-major A read in place: rows `ic..ic+mc`, depths `pc..pc+kc`.
#[allow(clippy::too_many_arguments)]
fn macro_block_rows(a: MatRef, ic: usize, mc: usize, pc: usize, kc: usize, nc: usize, pb: &[f32], c: &mut [f32], ldc: usize, add: bool) {
    assert!(a.col_stride == 1);
    tiles(kc, mc, nc, pb, c, ldc, add, |ir, height, panel_b, half| {
        // A short last panel repeats its first row in the missing ones; those results are not stored.
        let rows = [0, 1, 2, 3].map(|r| {
            let at = (ic + ir + if r < height { r } else { 0 }) * a.row_stride + pc;
            &a.data[at..at + kc]
        });
        micro_kernel_rows(kc, rows, panel_b, half)
    });
}

/// The macro block's loops: for each 4-row tile of A, every B panel, `tile(ir, height, panel_b, half)` computing it
/// and `store_tile` writing it. A-tile outermost: the tile's rows (read in place: 4 rows × kc) stay in L1 while the
/// panels stream past, and each row of C is finished before the next; B panel outermost measured 1.15× the time for
/// the dense layer's forward product on 32-row shards and 1.05× for its input gradient (the weight gradient's
/// product the same; two builds alternating in one process, 2026-12-02). The order of the tiles changes no sum.
///
/// `half`: the panel holds at most 4 columns (the course's 100 = 12·8 + 4), so the tile computes only its first
/// vector of each row — the same sums for those columns, in half the arithmetic of a whole 4×8 tile (on the dense
/// layer's 32-deep weight gradient, that 13th panel cost an eighth of the product).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn tiles(kc: usize, mc: usize, nc: usize, pb: &[f32], c: &mut [f32], ldc: usize, add: bool, tile: impl Fn(usize, usize, &[f32], bool) -> [F32x4; 8]) {
    let mut ir = 0;
    while ir < mc {
        let height = MR.min(mc - ir);
        let mut jr = 0;
        while jr < nc {
            let width = NR.min(nc - jr);
            let panel_b = &pb[(jr / NR) * kc * NR..(jr / NR + 1) * kc * NR];
            store_tile(tile(ir, height, panel_b, width <= LANES), c, ldc, ir, jr, height, width, add);
            jr += NR;
        }
        ir += MR;
    }
}

/// Writes (or with `add`, adds) the top-left `height × width` of a 4×8 tile at row `ir`, column `jr` of C.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn store_tile(acc: [F32x4; 8], c: &mut [f32], ldc: usize, ir: usize, jr: usize, height: usize, width: usize, add: bool) {
    if height == MR && (width == NR || width == LANES) {
        // A whole tile (or the left half of one, the last panel of 4 columns): straight into C. One bounds check for the tile and `add` tested once, not per row: the
        // per-row checks were about 80 instructions a tile, a tenth of the weight gradient's 32-deep tile. Each row's
        // pointer is computed from the tile's corner, never stepped past the last row.
        let last_row = (ir + MR - 1).checked_mul(ldc).and_then(|x| x.checked_add(jr + width));
        assert!(last_row.map_or(false, |end| end <= c.len()), "gemm: C too small for a tile");
        // SAFETY: row r < MR of the tile starts at (ir + r)·ldc + jr, and its 8 floats (two vectors, offsets 0 and
        // 4) end at or before the last row's end, which the assert puts inside `c` without overflow.
        let base = c.as_mut_ptr();
        let row = |r: usize| unsafe { base.add((ir + r) * ldc + jr) };
        if width == NR {
            if add {
                for (r, pair) in acc.chunks_exact(2).enumerate() {
                    let p = row(r);
                    // SAFETY: as for `row`.
                    unsafe {
                        pair[0].add(F32x4::load(p)).store(p);
                        pair[1].add(F32x4::load(p.add(4))).store(p.add(4));
                    }
                }
            } else {
                for (r, pair) in acc.chunks_exact(2).enumerate() {
                    let p = row(r);
                    // SAFETY: as for `row`.
                    unsafe {
                        pair[0].store(p);
                        pair[1].store(p.add(4));
                    }
                }
            }
        } else {
            for (r, pair) in acc.chunks_exact(2).enumerate() {
                let p = row(r);
                // SAFETY: as for `row`; a half tile writes only the first vector of each row.
                unsafe {
                    let v = if add { pair[0].add(F32x4::load(p)) } else { pair[0] };
                    v.store(p);
                }
            }
        }
        return;
    }
    let mut tile = [0.0f32; MR * NR];
    let t = tile.as_mut_ptr();
    for (q, v) in acc.iter().enumerate() {
        // SAFETY: the tile holds MR·NR = 32 floats and q·4 + 4 <= 32.
        unsafe { v.store(t.add(4 * q)) };
    }
    for ii in 0..height {
        let row = &mut c[(ir + ii) * ldc + jr..(ir + ii) * ldc + jr + width];
        let t = &tile[ii * NR..ii * NR + width];
        if add {
            row.iter_mut().zip(t).for_each(|(x, y)| *x += *y);
        } else {
            row.copy_from_slice(t);
        }
    }
}

/// The 4×8 tile `Σ_p A[r][p] · panel_b[p]` as eight vectors, row by row (two per row), with `A[r][p]` the
/// expression `$a` of `$p` and `$r`; `$p` < `$kc` and `panel_b` must hold `$kc × 8` floats (callers assert it).
/// One macro for both ways of reading A, so that they compile to the same loop.
macro_rules! tile_4x8 {
    ($kc:expr, $pb:expr, |$p:ident, $r:ident| $a:expr) => {{
        let mut c00 = F32x4::zero();
        let mut c01 = F32x4::zero();
        let mut c10 = F32x4::zero();
        let mut c11 = F32x4::zero();
        let mut c20 = F32x4::zero();
        let mut c21 = F32x4::zero();
        let mut c30 = F32x4::zero();
        let mut c31 = F32x4::zero();
        let b = $pb.as_ptr();
        // One depth per iteration: unrolled by two, LLVM interleaves both steps' loads and V8 then
        // spills four accumulators every iteration (seen in --print-wasm-code).
        for $p in 0..$kc {
            // SAFETY: p < kc; the callers assert kc·NR floats in the B panel and kc floats of A per row.
            unsafe {
                let b0 = F32x4::load(b.add($p * NR));
                let b1 = F32x4::load(b.add($p * NR + 4));
                let a0 = F32x4::splat({ let $r = 0; $a });
                c00 = a0.mul_add(b0, c00);
                c01 = a0.mul_add(b1, c01);
                let a1 = F32x4::splat({ let $r = 1; $a });
                c10 = a1.mul_add(b0, c10);
                c11 = a1.mul_add(b1, c11);
                let a2 = F32x4::splat({ let $r = 2; $a });
                c20 = a2.mul_add(b0, c20);
                c21 = a2.mul_add(b1, c21);
                let a3 = F32x4::splat({ let $r = 3; $a });
                c30 = a3.mul_add(b0, c30);
                c31 = a3.mul_add(b1, c31);
            }
        }
        [c00, c01, c10, c11, c20, c21, c30, c31]
    }};
}

/// `tile_4x8!`'s left half: the four vectors of the panel's first 4 columns (the same sums), zeros in the others.
macro_rules! tile_4x4 {
    ($kc:expr, $pb:expr, |$p:ident, $r:ident| $a:expr) => {{
        let mut c0 = F32x4::zero();
        let mut c1 = F32x4::zero();
        let mut c2 = F32x4::zero();
        let mut c3 = F32x4::zero();
        let b = $pb.as_ptr();
        for $p in 0..$kc {
            // SAFETY: as in `tile_4x8!`.
            unsafe {
                let b0 = F32x4::load(b.add($p * NR));
                c0 = F32x4::splat({ let $r = 0; $a }).mul_add(b0, c0);
                c1 = F32x4::splat({ let $r = 1; $a }).mul_add(b0, c1);
                c2 = F32x4::splat({ let $r = 2; $a }).mul_add(b0, c2);
                c3 = F32x4::splat({ let $r = 3; $a }).mul_add(b0, c3);
            }
        }
        let z = F32x4::zero();
        [c0, z, c1, z, c2, z, c3, z]
    }};
}

/// The 4×8 tile `panel_a (kc×4)ᵀ · panel_b (kc×8)` (with `half`, its left 4×4; see `tiles`).
#[inline(always)]
fn micro_kernel(kc: usize, pa: &[f32], pb: &[f32], half: bool) -> [F32x4; 8] {
    assert!(pa.len() >= kc * MR && pb.len() >= kc * NR);
    let a = pa.as_ptr();
    if half {
        tile_4x4!(kc, pb, |p, r| *a.add(p * MR + r))
    } else {
        tile_4x8!(kc, pb, |p, r| *a.add(p * MR + r))
    }
}

/// `micro_kernel` with the four rows of A read where they are (`rows[r][p]` = A[i0+r][pc+p]).
#[inline(always)]
fn micro_kernel_rows(kc: usize, rows: [&[f32]; MR], pb: &[f32], half: bool) -> [F32x4; 8] {
    assert!(rows.iter().all(|r| r.len() >= kc) && pb.len() >= kc * NR);
    let a = rows.map(|r| r.as_ptr());
    if half {
        tile_4x4!(kc, pb, |p, r| *a[r].add(p))
    } else {
        tile_4x8!(kc, pb, |p, r| *a[r].add(p))
    }
}

/// `macro_block` for a transposed A read in place (`row_stride` 1): rows `ic..ic+mc`, depths `pc..pc+kc`.
#[allow(clippy::too_many_arguments)]
fn macro_block_columns(a: MatRef, ic: usize, mc: usize, pc: usize, kc: usize, nc: usize, pb: &[f32], c: &mut [f32], ldc: usize, add: bool) {
    assert!(a.row_stride == 1 && kc >= 1);
    let csa = a.col_stride;
    tiles(kc, mc, nc, pb, c, ldc, add, |ir, height, panel_b, half| {
        // A short last tile repeats its first row in the missing ones; those results are not stored.
        // The highest row read is height − 1 (rows past it read row 0), at the last depth.
        let first = (ic + ir) + pc * csa;
        let last = first + (kc - 1) * csa + (height - 1);
        assert!(last < a.data.len());
        let at = a.data[first..].as_ptr();
        let row = |r: usize| if r < height { r } else { 0 };
        let (r1, r2, r3) = (row(1), row(2), row(3));
        // SAFETY (in the macros): depth p < kc and row offset row(r) <= height − 1, so p·csa + row(r) <= last − first,
        // and last < a.data.len(), checked above.
        if half {
            tile_4x4!(kc, panel_b, |p, r| *at.add(p * csa + [0, r1, r2, r3][r]))
        } else {
            tile_4x8!(kc, panel_b, |p, r| *at.add(p * csa + [0, r1, r2, r3][r]))
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_that_wrap_around_are_out_of_bounds() {
        let data = [0.0f32; 8];
        let ok = MatRef { data: &data, rows: 2, cols: 4, row_stride: 4, col_stride: 1 };
        assert!(ok.in_bounds());
        // (rows − 1)·row_stride wraps to a small number: it must not pass for one.
        let wraps = MatRef { data: &data, rows: 3, cols: 1, row_stride: usize::MAX / 2 + 1, col_stride: 1 };
        assert!(!wraps.in_bounds());
        let sum_wraps = MatRef { data: &data, rows: 2, cols: 2, row_stride: usize::MAX / 2 + 1, col_stride: usize::MAX / 2 + 1 };
        assert!(!sum_wraps.in_bounds());
    }

    fn naive(a: MatRef, b: MatRef) -> Vec<f64> {
        let mut c = vec![0.0; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                for p in 0..a.cols {
                    c[i * b.cols + j] += a.at(i, p) as f64 * b.at(p, j) as f64;
                }
            }
        }
        c
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2654435761).wrapping_add(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn matches_naive_for_every_transpose_and_odd_sizes() {
        let mut ws = vec![0.0; WORKSPACE_LEN];
        for &(m, k, n) in &[(1, 1, 1), (3, 5, 7), (4, 8, 8), (13, 300, 9), (130, 17, 530), (5, 600, 3)] {
            let ad = values(m * k, 1);
            let bd = values(k * n, 2);
            for &(ta, tb) in &[(false, false), (true, false), (false, true), (true, true)] {
                let a = if ta { MatRef::transposed(&ad, m, k) } else { MatRef::row_major(&ad, m, k) };
                let b = if tb { MatRef::transposed(&bd, k, n) } else { MatRef::row_major(&bd, k, n) };
                let expect = naive(a, b);
                let mut c = vec![f32::NAN; m * n];
                gemm(a, b, &mut c, n, false, &mut ws);
                for (x, y) in c.iter().zip(&expect) {
                    assert!((*x as f64 - y).abs() < 1e-4 * (k as f64).sqrt() + 1e-5, "{m}x{k}x{n}: {x} vs {y}");
                }
                gemm(a, b, &mut c, n, true, &mut ws);
                for (x, y) in c.iter().zip(&expect) {
                    assert!((*x as f64 - 2.0 * y).abs() < 2e-4 * (k as f64).sqrt() + 1e-5);
                }
            }
        }
    }

    #[test]
    fn a_strided_c_keeps_its_gaps_and_its_last_whole_tiles() {
        // ldc > n: the floats between rows must stay untouched, and C ends right after its last row (as the wasm
        // entry sizes it), with whole tiles in its last four rows at columns past the first panel.
        // With n = 20, the last panel is a half tile (4 columns), written by its own store.
        let mut ws = vec![0.0; WORKSPACE_LEN];
        for (m, k, n, ldc, accumulate) in [(8, 37, 16, 20, false), (8, 37, 16, 20, true), (8, 37, 20, 23, false), (8, 37, 20, 23, true)] {
            let (ad, bd) = (values(m * k, 7), values(k * n, 8));
            let (a, b) = (MatRef::row_major(&ad, m, k), MatRef::row_major(&bd, k, n));
            let expect = naive(a, b);
            let mut c = vec![f32::NAN; (m - 1) * ldc + n];
            for i in 0..m {
                c[i * ldc..i * ldc + n].iter_mut().for_each(|x| *x = 1.0);
            }
            gemm(a, b, &mut c, ldc, accumulate, &mut ws);
            for i in 0..m {
                for j in 0..ldc {
                    let x = c.get(i * ldc + j).copied();
                    if j < n {
                        let want = expect[i * n + j] + if accumulate { 1.0 } else { 0.0 };
                        assert!((x.unwrap() as f64 - want).abs() < 1e-4, "C[{i}][{j}]");
                    } else if let Some(gap) = x {
                        assert!(gap.is_nan(), "the gap after row {i} was written");
                    }
                }
            }
        }
    }

    #[test]
    fn a_half_last_panel_gives_the_whole_panels_bits() {
        // n = 12 ends in a panel of 4 columns, computed by the half tile; n = 16 computes the same columns in a
        // whole tile. Every transpose of A (packed, or read in place) and of B, both heights of the last tiles.
        let mut ws = vec![0.0; WORKSPACE_LEN];
        for &(m, k) in &[(8, 37), (7, 300)] {
            let (ad, bd) = (values(m * k, 3), values(k * 16, 4));
            for &(ta, tb) in &[(false, false), (true, false), (false, true)] {
                let a = if ta { MatRef::transposed(&ad, m, k) } else { MatRef::row_major(&ad, m, k) };
                // B's first 12 columns are the same matrix either way.
                let b16 = if tb { MatRef::transposed(&bd, k, 16) } else { MatRef::row_major(&bd, k, 16) };
                let b12 = MatRef { cols: 12, ..b16 };
                let (mut c12, mut c16) = (vec![0.0; m * 12], vec![0.0; m * 16]);
                gemm(a, b12, &mut c12, 12, false, &mut ws);
                gemm(a, b16, &mut c16, 16, false, &mut ws);
                for i in 0..m {
                    for j in 0..12 {
                        assert_eq!(c12[i * 12 + j].to_bits(), c16[i * 16 + j].to_bits(), "C[{i}][{j}] ({m}×{k}, {ta}, {tb})");
                    }
                }
            }
        }
    }

    #[test]
    fn unpacking_a_packed_b_gives_b_back() {
        // Past one depth block (KC) and one column block (NC), with a narrow last panel.
        for &(k, n) in &[(1, 1), (5, 3), (100, 100), (KC + 3, 12), (7, NC + 13), (KC + 1, NC + 4)] {
            let b = values(k * n, (k * 31 + n) as u32);
            let mut packed = vec![f32::NAN; packed_b_len(k, n)];
            pack_b_whole(MatRef::row_major(&b, k, n), &mut packed);
            let mut back = vec![f32::NAN; k * n];
            unpack_b_whole(&packed, k, n, &mut back);
            assert!(back.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()), "{} × {}", k, n);
        }
    }

    #[test]
    fn prepacked_b_gives_the_same_bits() {
        let mut ws = vec![0.0; WORKSPACE_LEN];
        // k > KC and n > NC take several blocks; n not a multiple of NR leaves a padded panel.
        for &(m, k, n) in &[(1, 1, 1), (7, 300, 13), (63, 517, 100), (5, 40, 1100), (130, 9, 530)] {
            let ad = values(m * k, 3);
            let bd = values(k * n, 4);
            for &(ta, tb) in &[(false, false), (true, false), (false, true)] {
                let a = if ta { MatRef::transposed(&ad, m, k) } else { MatRef::row_major(&ad, m, k) };
                let b = if tb { MatRef::transposed(&bd, k, n) } else { MatRef::row_major(&bd, k, n) };
                let mut packed = vec![f32::NAN; packed_b_len(k, n)];
                pack_b_whole(b, &mut packed);
                let pb = PackedB { data: &packed, k, n };
                for accumulate in [false, true] {
                    let start = values(m * n, 5);
                    let (mut want, mut got) = (start.clone(), start);
                    gemm(a, b, &mut want, n, accumulate, &mut ws);
                    gemm_prepacked(a, pb, &mut got, n, accumulate, &mut ws);
                    assert!(want.iter().zip(&got).all(|(x, y)| x.to_bits() == y.to_bits()), "{m}x{k}x{n} {ta} {tb}");
                }
            }
        }
    }

    #[test]
    fn a_transposed_a_read_in_place_gives_the_packed_bits() {
        // The weight gradient's aᵀ (row stride 1) read in place, against the same A spread out with stride 2 so
        // that it is packed: short last tiles (m % 4), several depth blocks (k > KC), a half last panel (n = 100).
        let mut ws = vec![0.0; WORKSPACE_LEN];
        for &(m, k, n) in &[(1, 1, 1), (7, 300, 13), (5408 / 8, 32, 100), (130, 9, 530), (6, 40, 4)] {
            let ad = values(m * k, 6);
            let a = MatRef::transposed(&ad, m, k);
            let mut spread = vec![f32::NAN; 2 * m * k];
            for (i, v) in ad.iter().enumerate() {
                spread[2 * i] = *v;
            }
            let packed = MatRef { data: &spread, rows: m, cols: k, row_stride: 2, col_stride: 2 * m };
            let bd = values(k * n, 7);
            let b = MatRef::row_major(&bd, k, n);
            for accumulate in [false, true] {
                let start = values(m * n, 8);
                let (mut want, mut got) = (start.clone(), start);
                gemm(packed, b, &mut want, n, accumulate, &mut ws);
                gemm(a, b, &mut got, n, accumulate, &mut ws);
                assert!(want.iter().zip(&got).all(|(x, y)| x.to_bits() == y.to_bits()), "{m}x{k}x{n} {accumulate}");
            }
        }
    }
}
