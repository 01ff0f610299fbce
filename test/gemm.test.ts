// The GEMM kernels (crate/src/gemm.rs) against a float64 product written from the definition: wn_gemm for every
// transpose, and wn_gemm_prepacked (B packed once by wn_gemm_pack_b, as a dense layer does per training step),
// which must give wn_gemm's floats exactly. Sizes cross the kernel's blocks (KC = 256 deep, NC = 512 wide) and
// its 4×8 tiles.
import { describe, expect, it } from 'vitest';
import { allocF32, gemmWorkspace, kernels } from 'wasmnet/internal';
import { Rng } from 'wasmnet';

/** C[i][j] = Σ_p A[i][p]·B[p][j] in float64, with A[i][p] = a[i·rsa + p·csa] and B[p][j] = b[p·rsb + j·csb]. */
function reference(m: number, n: number, k: number, a: Float32Array, rsa: number, csa: number, b: Float32Array, rsb: number, csb: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) c[i * n + j] += a[i * rsa + p * csa] * b[p * rsb + j * csb];
  return c;
}

const filled = (len: number, rng: Rng) => Float32Array.from({ length: len }, () => rng.uniform() * 2 - 1);

// [m, n, k]: one tile, ragged tiles, k across KC, n across NC, and the dense layer's shapes on a 63-sample shard.
const SHAPES: [number, number, number][] = [[1, 1, 1], [5, 9, 3], [13, 17, 300], [7, 530, 20], [63, 100, 541], [3, 1100, 7]];

describe('gemm', () => {
  for (const [m, n, k] of SHAPES) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true]] as const) {
      it(`${m}×${n}×${k}${ta ? ' Aᵀ' : ''}${tb ? ' Bᵀ' : ''}: float64 reference, and prepacked B gives the same bits`, () => {
        const kk = kernels();
        const rng = new Rng(m * 1000 + n + k);
        const [a, b, start] = [filled(m * k, rng), filled(k * n, rng), filled(m * n, rng)];
        const [rsa, csa] = ta ? [1, m] : [k, 1];
        const [rsb, csb] = tb ? [1, k] : [n, 1];
        const [ab, bb, c1, c2] = [allocF32(a.length), allocF32(b.length), allocF32(m * n), allocF32(m * n)];
        ab.set(a);
        bb.set(b);
        const packed = allocF32(kk.wn_gemm_packed_b_len(k, n) >>> 0);
        kk.wn_gemm_pack_b(k, n, bb.ptr, b.length, rsb, csb, packed.ptr);
        const want = reference(m, n, k, a, rsa, csa, b, rsb, csb);
        for (const accumulate of [0, 1]) {
          c1.set(start);
          c2.set(start);
          kk.wn_gemm(m, n, k, ab.ptr, a.length, rsa, csa, bb.ptr, b.length, rsb, csb, c1.ptr, n, accumulate, gemmWorkspace());
          kk.wn_gemm_prepacked(m, n, k, ab.ptr, a.length, rsa, csa, packed.ptr, c2.ptr, n, accumulate, gemmWorkspace());
          const got = c1.toArray();
          const tol = 1e-6 * Math.sqrt(k) + 1e-6;
          got.forEach((v, i) => expect(Math.abs(v - (want[i] + (accumulate ? start[i] : 0)))).toBeLessThan(tol));
          expect(Buffer.from(c2.toArray().buffer)).toEqual(Buffer.from(got.buffer));
        }
        for (const buf of [ab, bb, c1, c2, packed]) buf.free();
      });
    }
  }

  it('sizes a packed B as k rows of whole 8-column panels', () => {
    const kk = kernels();
    expect(kk.wn_gemm_packed_b_len(10, 9)).toBe(10 * 16);
    expect(kk.wn_gemm_packed_b_len(300, 601)).toBe(300 * 608);
    expect(kk.wn_gemm_packed_b_len(5408, 100)).toBe(5408 * 104);
  });
});
