//! scipy's `fftpack.dct` (type II, unnormalised) for the 32- and 64-point transforms pHash uses,
//! reproducing its `f64` results bit for bit.
//!
//! imagehash's pHash is `dct(dct(pixels, axis=0), axis=1)` followed by `coefficient > median`. The
//! comparison is decided by rounding wherever coefficients tie or cancel: a left-right symmetric
//! image has exactly zero odd-frequency coefficients in scipy, a checkerboard has pairs of
//! coefficients that differ only in their last bits, and the median sits between them. A textbook
//! cosine sum gets those last bits wrong, so this module performs scipy's own arithmetic, in
//! scipy's order: scipy (>= 1.4) computes the DCT with pocketfft (BSD-3-Clause, Max-Planck-Society;
//! the algorithm of FFTPACK, public domain), as
//!
//! 1. `c[0] *= 2`, `c[n-1] *= 2`, then for odd `k`: `(c[k], c[k+1]) = (c[k+1] + c[k], c[k+1] - c[k])`;
//! 2. a real backward (half-complex to real) FFT in FFTPACK's radix passes (`n = 32`: radix 2, 4,
//!    4; `n = 64`: 4, 4, 4);
//! 3. a post-twiddle pairing `c[k]` with `c[n-k]`.
//!
//! Every twiddle factor is the `f64` pocketfft's `sincos_2pibyn` produces (including the rounding
//! of its two-table complex product), stored below as bit patterns so the result does not depend
//! on the platform's `cos`/`sin`. `tests::twiddles_match_pocketfft_construction` rebuilds them
//! from `cos`/`sin` the way pocketfft does. The 2-D transform's results were checked bit for bit
//! against scipy 1.17.1 (`tests/data/imagehash/dct.tsv` keeps a sample).

const N32_PASS0: [u64; 15] = [
    0x3fef_6297_cff7_5cb0,
    0x3fc8_f8b8_3c69_a60a,
    0x3fed_906b_cf32_8d46,
    0x3fd8_7de2_a6ae_a963,
    0x3fea_9b66_290e_a1a3,
    0x3fe1_c73b_39ae_68c8,
    0x3fe6_a09e_667f_3bcc,
    0x3fe6_a09e_667f_3bcd,
    0x3fe1_c73b_39ae_68c8,
    0x3fea_9b66_290e_a1a3,
    0x3fd8_7de2_a6ae_a963,
    0x3fed_906b_cf32_8d46,
    0x3fc8_f8b8_3c69_a60a,
    0x3fef_6297_cff7_5cb0,
    0x0000_0000_0000_0000,
];
const N32_PASS1: [u64; 9] = [
    0x3fed_906b_cf32_8d46,
    0x3fd8_7de2_a6ae_a963,
    0x0000_0000_0000_0000,
    0x3fe6_a09e_667f_3bcc,
    0x3fe6_a09e_667f_3bcd,
    0x0000_0000_0000_0000,
    0x3fd8_7de2_a6ae_a963,
    0x3fed_906b_cf32_8d46,
    0x0000_0000_0000_0000,
];
const N32_DCT: [u64; 32] = [
    0x3fef_f621_e379_6d7e,
    0x3fef_d88d_a3d1_2526,
    0x3fef_a755_7f08_a517,
    0x3fef_6297_cff7_5cb0,
    0x3fef_0a7e_fb92_30d7,
    0x3fee_9f41_56c6_2dda,
    0x3fee_2121_04f6_86e5,
    0x3fed_906b_cf32_8d46,
    0x3fec_ed7a_f43c_c773,
    0x3fec_38b2_f180_bdb1,
    0x3feb_7283_4519_6e3e,
    0x3fea_9b66_290e_a1a3,
    0x3fe9_b3e0_47f3_8741,
    0x3fe8_bc80_6b15_1741,
    0x3fe7_b5df_226a_afaf,
    0x3fe6_a09e_667f_3bcc,
    0x3fe5_7d69_348c_ec9f,
    0x3fe4_4cf3_2509_1dd6,
    0x3fe3_0ff7_fce1_7034,
    0x3fe1_c73b_39ae_68c8,
    0x3fe0_7387_9922_ffed,
    0x3fde_2b5d_3806_f639,
    0x3fdb_5d10_09e1_5cbf,
    0x3fd8_7de2_a6ae_a961,
    0x3fd5_8f9a_75ab_1fdb,
    0x3fd2_9406_2ed5_9f04,
    0x3fcf_19f9_7b21_5f1c,
    0x3fc8_f8b8_3c69_a60a,
    0x3fc2_c810_6e8e_6136,
    0x3fb9_17a6_bc29_b424,
    0x3fa9_1f65_f10d_d810,
    0x8000_0000_0000_0000,
];
const N64_PASS0: [u64; 45] = [
    0x3fef_d88d_a3d1_2526,
    0x3fb9_17a6_bc29_b42c,
    0x3fef_6297_cff7_5cb0,
    0x3fc8_f8b8_3c69_a60a,
    0x3fee_9f41_56c6_2dda,
    0x3fd2_9406_2ed5_9f05,
    0x3fed_906b_cf32_8d46,
    0x3fd8_7de2_a6ae_a963,
    0x3fec_38b2_f180_bdb1,
    0x3fde_2b5d_3806_f63b,
    0x3fea_9b66_290e_a1a3,
    0x3fe1_c73b_39ae_68c8,
    0x3fe8_bc80_6b15_1741,
    0x3fe4_4cf3_2509_1dd6,
    0x0000_0000_0000_0000,
    0x3fef_6297_cff7_5cb0,
    0x3fc8_f8b8_3c69_a60a,
    0x3fed_906b_cf32_8d46,
    0x3fd8_7de2_a6ae_a963,
    0x3fea_9b66_290e_a1a3,
    0x3fe1_c73b_39ae_68c8,
    0x3fe6_a09e_667f_3bcc,
    0x3fe6_a09e_667f_3bcd,
    0x3fe1_c73b_39ae_68c8,
    0x3fea_9b66_290e_a1a3,
    0x3fd8_7de2_a6ae_a961,
    0x3fed_906b_cf32_8d46,
    0x3fc8_f8b8_3c69_a60a,
    0x3fef_6297_cff7_5cb0,
    0x0000_0000_0000_0000,
    0x3fee_9f41_56c6_2dda,
    0x3fd2_9406_2ed5_9f05,
    0x3fea_9b66_290e_a1a3,
    0x3fe1_c73b_39ae_68c8,
    0x3fe4_4cf3_2509_1dd6,
    0x3fe8_bc80_6b15_1741,
    0x3fd8_7de2_a6ae_a961,
    0x3fed_906b_cf32_8d46,
    0x3fb9_17a6_bc29_b424,
    0x3fef_d88d_a3d1_2526,
    0xbfc8_f8b8_3c69_a60a,
    0x3fef_6297_cff7_5cb0,
    0xbfde_2b5d_3806_f63b,
    0x3fec_38b2_f180_bdb1,
    0x0000_0000_0000_0000,
];
const N64_PASS1: [u64; 9] = [
    0x3fed_906b_cf32_8d46,
    0x3fd8_7de2_a6ae_a963,
    0x0000_0000_0000_0000,
    0x3fe6_a09e_667f_3bcc,
    0x3fe6_a09e_667f_3bcd,
    0x0000_0000_0000_0000,
    0x3fd8_7de2_a6ae_a961,
    0x3fed_906b_cf32_8d46,
    0x0000_0000_0000_0000,
];
const N64_DCT: [u64; 64] = [
    0x3fef_fd88_6084_cd0d,
    0x3fef_f621_e379_6d7e,
    0x3fef_e9cd_ad01_883a,
    0x3fef_d88d_a3d1_2526,
    0x3fef_c264_70e1_9fd3,
    0x3fef_a755_7f08_a517,
    0x3fef_8764_fa71_4ba9,
    0x3fef_6297_cff7_5cb0,
    0x3fef_38f3_ac64_e589,
    0x3fef_0a7e_fb92_30d7,
    0x3fee_d740_e768_4963,
    0x3fee_9f41_56c6_2dda,
    0x3fee_6288_ec48_e112,
    0x3fee_2121_04f6_86e5,
    0x3fed_db13_b6cc_c23d,
    0x3fed_906b_cf32_8d46,
    0x3fed_4134_d14d_c93a,
    0x3fec_ed7a_f43c_c773,
    0x3fec_954b_2134_11f4,
    0x3fec_38b2_f180_bdb1,
    0x3feb_d7c0_ac6f_9529,
    0x3feb_7283_4519_6e3e,
    0x3feb_090a_5815_01ff,
    0x3fea_9b66_290e_a1a2,
    0x3fea_29a7_a046_2782,
    0x3fe9_b3e0_47f3_8740,
    0x3fe9_3a22_4992_63fb,
    0x3fe8_bc80_6b15_1741,
    0x3fe8_3b0e_0bff_976e,
    0x3fe7_b5df_226a_afae,
    0x3fe7_2d08_37ef_ff97,
    0x3fe6_a09e_667f_3bcc,
    0x3fe6_10b7_551d_2cde,
    0x3fe5_7d69_348c_ec9f,
    0x3fe4_e6ca_bbe3_e5e9,
    0x3fe4_4cf3_2509_1dd6,
    0x3fe3_affa_2920_50b9,
    0x3fe3_0ff7_fce1_7034,
    0x3fe2_6d05_4cdd_12de,
    0x3fe1_c73b_39ae_68c8,
    0x3fe1_1eb3_541b_4b22,
    0x3fe0_7387_9922_ffed,
    0x3fdf_8ba4_dbf8_9aba,
    0x3fde_2b5d_3806_f639,
    0x3fdc_c66e_9931_c45e,
    0x3fdb_5d10_09e1_5cbf,
    0x3fd9_ef79_43a8_ed8a,
    0x3fd8_7de2_a6ae_a963,
    0x3fd7_0885_30fa_459f,
    0x3fd5_8f9a_75ab_1fdd,
    0x3fd4_135c_9417_6602,
    0x3fd2_9406_2ed5_9f06,
    0x3fd1_11d2_62b1_f678,
    0x3fcf_19f9_7b21_5f1c,
    0x3fcc_0b82_6a7e_4f63,
    0x3fc8_f8b8_3c69_a60b,
    0x3fc5_e214_448b_3fc8,
    0x3fc2_c810_6e8e_613a,
    0x3fbf_564e_56a9_7310,
    0x3fb9_17a6_bc29_b42c,
    0x3fb2_d520_92ce_19f4,
    0x3fa9_1f65_f10d_d818,
    0x3f99_2155_f7a3_6690,
    0x8000_0000_0000_0000,
];

/// A DCT size pHash uses: 32 (`hash_size` 8) or 64 (`hash_size` 16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DctSize {
    N32,
    N64,
}

/// One radix pass of the backward real FFT: its radix, `l1`, `ido` and twiddles (FFTPACK names).
struct Pass {
    radix: usize,
    l1: usize,
    ido: usize,
    wa: &'static [u64],
}

struct Plan {
    n: usize,
    passes: [Pass; 3],
    post: &'static [u64],
}

static PLAN32: Plan = Plan {
    n: 32,
    passes: [
        Pass {
            radix: 2,
            l1: 1,
            ido: 16,
            wa: &N32_PASS0,
        },
        Pass {
            radix: 4,
            l1: 2,
            ido: 4,
            wa: &N32_PASS1,
        },
        Pass {
            radix: 4,
            l1: 8,
            ido: 1,
            wa: &[],
        },
    ],
    post: &N32_DCT,
};

static PLAN64: Plan = Plan {
    n: 64,
    passes: [
        Pass {
            radix: 4,
            l1: 1,
            ido: 16,
            wa: &N64_PASS0,
        },
        Pass {
            radix: 4,
            l1: 4,
            ido: 4,
            wa: &N64_PASS1,
        },
        Pass {
            radix: 4,
            l1: 16,
            ido: 1,
            wa: &[],
        },
    ],
    post: &N64_DCT,
};

#[inline]
fn tw(table: &[u64], i: usize) -> f64 {
    f64::from_bits(table[i])
}

/// FFTPACK `radb2`: `cc` holds `l1` half-complex blocks of `2 * ido`, `ch` receives `2 * l1`
/// blocks of `ido`.
fn radb2(ido: usize, l1: usize, cc: &[f64], ch: &mut [f64], wa: &[u64]) {
    let c = |a: usize, b: usize, k: usize| cc[a + ido * (b + 2 * k)];
    let h = |a: usize, k: usize, b: usize| a + ido * (k + l1 * b);
    let w = |x: usize, i: usize| tw(wa, i + x * (ido - 1));
    for k in 0..l1 {
        ch[h(0, k, 0)] = c(0, 0, k) + c(ido - 1, 1, k);
        ch[h(0, k, 1)] = c(0, 0, k) - c(ido - 1, 1, k);
    }
    if ido.is_multiple_of(2) {
        for k in 0..l1 {
            ch[h(ido - 1, k, 0)] = 2.0 * c(ido - 1, 0, k);
            ch[h(ido - 1, k, 1)] = -2.0 * c(0, 1, k);
        }
    }
    if ido <= 2 {
        return;
    }
    for k in 0..l1 {
        for i in (2..ido).step_by(2) {
            let ic = ido - i;
            ch[h(i - 1, k, 0)] = c(i - 1, 0, k) + c(ic - 1, 1, k);
            let tr2 = c(i - 1, 0, k) - c(ic - 1, 1, k);
            let ti2 = c(i, 0, k) + c(ic, 1, k);
            ch[h(i, k, 0)] = c(i, 0, k) - c(ic, 1, k);
            let (wr, wi) = (w(0, i - 2), w(0, i - 1));
            ch[h(i, k, 1)] = wr * ti2 + wi * tr2;
            ch[h(i - 1, k, 1)] = wr * tr2 - wi * ti2;
        }
    }
}

/// FFTPACK `radb4`, same layout conventions as [`radb2`].
fn radb4(ido: usize, l1: usize, cc: &[f64], ch: &mut [f64], wa: &[u64]) {
    const SQRT2: f64 = std::f64::consts::SQRT_2;
    let c = |a: usize, b: usize, k: usize| cc[a + ido * (b + 4 * k)];
    let h = |a: usize, k: usize, b: usize| a + ido * (k + l1 * b);
    let w = |x: usize, i: usize| tw(wa, i + x * (ido - 1));
    for k in 0..l1 {
        let tr2 = c(0, 0, k) + c(ido - 1, 3, k);
        let tr1 = c(0, 0, k) - c(ido - 1, 3, k);
        let tr3 = 2.0 * c(ido - 1, 1, k);
        let tr4 = 2.0 * c(0, 2, k);
        ch[h(0, k, 0)] = tr2 + tr3;
        ch[h(0, k, 2)] = tr2 - tr3;
        ch[h(0, k, 3)] = tr1 + tr4;
        ch[h(0, k, 1)] = tr1 - tr4;
    }
    if ido.is_multiple_of(2) {
        for k in 0..l1 {
            let ti1 = c(0, 3, k) + c(0, 1, k);
            let ti2 = c(0, 3, k) - c(0, 1, k);
            let tr2 = c(ido - 1, 0, k) + c(ido - 1, 2, k);
            let tr1 = c(ido - 1, 0, k) - c(ido - 1, 2, k);
            ch[h(ido - 1, k, 0)] = tr2 + tr2;
            ch[h(ido - 1, k, 1)] = SQRT2 * (tr1 - ti1);
            ch[h(ido - 1, k, 2)] = ti2 + ti2;
            ch[h(ido - 1, k, 3)] = -SQRT2 * (tr1 + ti1);
        }
    }
    if ido <= 2 {
        return;
    }
    for k in 0..l1 {
        for i in (2..ido).step_by(2) {
            let ic = ido - i;
            let tr2 = c(i - 1, 0, k) + c(ic - 1, 3, k);
            let tr1 = c(i - 1, 0, k) - c(ic - 1, 3, k);
            let ti1 = c(i, 0, k) + c(ic, 3, k);
            let ti2 = c(i, 0, k) - c(ic, 3, k);
            let tr4 = c(i, 2, k) + c(ic, 1, k);
            let ti3 = c(i, 2, k) - c(ic, 1, k);
            let tr3 = c(i - 1, 2, k) + c(ic - 1, 1, k);
            let ti4 = c(i - 1, 2, k) - c(ic - 1, 1, k);
            ch[h(i - 1, k, 0)] = tr2 + tr3;
            let cr3 = tr2 - tr3;
            ch[h(i, k, 0)] = ti2 + ti3;
            let ci3 = ti2 - ti3;
            let cr4 = tr1 + tr4;
            let cr2 = tr1 - tr4;
            let ci2 = ti1 + ti4;
            let ci4 = ti1 - ti4;
            for (b, ci, cr) in [(1, ci2, cr2), (2, ci3, cr3), (3, ci4, cr4)] {
                let (wr, wi) = (w(b - 1, i - 2), w(b - 1, i - 1));
                ch[h(i, k, b)] = wr * ci + wi * cr;
                ch[h(i - 1, k, b)] = wr * cr - wi * ci;
            }
        }
    }
}

/// scipy's unnormalised DCT-II of `c` in place: `y[k] = 2 * sum x[j] cos(pi k (2j+1) / 2n)`.
fn dct2_1d(plan: &Plan, c: &mut [f64], scratch: &mut [f64]) {
    let n = plan.n;
    debug_assert_eq!(c.len(), n);
    c[0] *= 2.0;
    c[n - 1] *= 2.0;
    for k in (1..n - 1).step_by(2) {
        let t = c[k + 1];
        c[k + 1] = t - c[k];
        c[k] += t;
    }
    // Backward real FFT: the passes ping-pong between `c` and `scratch`; three passes leave the
    // result in `scratch`.
    let [p0, p1, p2] = &plan.passes;
    let run = |p: &Pass, src: &[f64], dst: &mut [f64]| match p.radix {
        2 => radb2(p.ido, p.l1, src, dst, p.wa),
        _ => radb4(p.ido, p.l1, src, dst, p.wa),
    };
    run(p0, c, scratch);
    run(p1, scratch, c);
    run(p2, c, scratch);
    c.copy_from_slice(scratch);
    let half = n / 2;
    for k in 1..half {
        let kc = n - k;
        let (a, b) = (tw(plan.post, k - 1), tw(plan.post, kc - 1));
        let t1 = a * c[kc] + b * c[k];
        let t2 = a * c[k] - b * c[kc];
        c[k] = 0.5 * (t1 + t2);
        c[kc] = 0.5 * (t1 - t2);
    }
    c[half] *= tw(plan.post, half - 1);
}

/// `scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0), axis=1)` of a square `n x n` grey image,
/// returning the top-left `keep x keep` coefficients row-major.
pub(crate) fn dct2d_top_left(size: DctSize, pixels: &[u8], keep: usize) -> Vec<f64> {
    let plan = match size {
        DctSize::N32 => &PLAN32,
        DctSize::N64 => &PLAN64,
    };
    let n = plan.n;
    assert_eq!(pixels.len(), n * n, "DCT input must be {n}x{n}");
    let mut col = vec![0f64; n];
    let mut scratch = vec![0f64; n];
    // Column transforms, stored transposed: cols[j][i] = D1[i][j].
    let mut cols = vec![0f64; n * n];
    for j in 0..n {
        for (i, v) in col.iter_mut().enumerate() {
            *v = f64::from(pixels[i * n + j]);
        }
        dct2_1d(plan, &mut col, &mut scratch);
        cols[j * n..(j + 1) * n].copy_from_slice(&col);
    }
    // Row transforms of the first `keep` rows.
    let mut out = Vec::with_capacity(keep * keep);
    let mut row = vec![0f64; n];
    for i in 0..keep {
        for (j, v) in row.iter_mut().enumerate() {
            *v = cols[j * n + i];
        }
        dct2_1d(plan, &mut row, &mut scratch);
        out.extend_from_slice(&row[..keep]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// pocketfft's `sincos_2pibyn<double>(n)[idx]`: cos/sin of multiples of `pi / (4n)` reduced
    /// to the first octant, from two tables whose entries are multiplied as complex numbers.
    fn sincos_2pibyn(n: usize, idx: usize) -> (f64, f64) {
        let ang = 0.25 * std::f64::consts::PI / n as f64;
        let calc = |x: usize| -> (f64, f64) {
            let x = x << 3;
            let cs = |k: usize| ((k as f64 * ang).cos(), (k as f64 * ang).sin());
            if x < 4 * n {
                if x < 2 * n {
                    if x < n {
                        return cs(x);
                    }
                    let (c, s) = cs(2 * n - x);
                    return (s, c);
                }
                let x = x - 2 * n;
                if x < n {
                    let (c, s) = cs(x);
                    return (-s, c);
                }
                let (c, s) = cs(2 * n - x);
                return (-c, s);
            }
            let x = 8 * n - x;
            if x < 2 * n {
                if x < n {
                    let (c, s) = cs(x);
                    return (c, -s);
                }
                let (c, s) = cs(2 * n - x);
                return (s, -c);
            }
            let x = x - 2 * n;
            if x < n {
                let (c, s) = cs(x);
                return (-s, -c);
            }
            let (c, s) = cs(2 * n - x);
            (-c, -s)
        };
        let nval = (n + 2) / 2;
        let mut shift = 1;
        while (1usize << shift) * (1usize << shift) < nval {
            shift += 1;
        }
        let mask = (1usize << shift) - 1;
        // v1[i] = calc(i), v2[i] = calc(i * (mask + 1)), both with entry 0 = (1, 0).
        let v1 = |i: usize| if i == 0 { (1.0, 0.0) } else { calc(i) };
        let v2 = |i: usize| {
            if i == 0 {
                (1.0, 0.0)
            } else {
                calc(i * (mask + 1))
            }
        };
        let product = |idx: usize| {
            let (x1, x2) = (v1(idx & mask), v2(idx >> shift));
            (x1.0 * x2.0 - x1.1 * x2.1, x1.0 * x2.1 + x1.1 * x2.0)
        };
        if 2 * idx <= n {
            product(idx)
        } else {
            let (r, i) = product(n - idx);
            (r, -i)
        }
    }

    /// Rebuilds the stored tables from `cos`/`sin` the way pocketfft does. glibc's `cos`/`sin`
    /// (what scipy's wheels use) are what the constants were taken from; other C libraries may
    /// round a last bit differently, which is why the tables are stored rather than computed.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn twiddles_match_pocketfft_construction() {
        for plan in [&PLAN32, &PLAN64] {
            let n = plan.n;
            for (k, &t) in plan.post.iter().enumerate() {
                assert_eq!(
                    sincos_2pibyn(4 * n, k + 1).0.to_bits(),
                    t,
                    "n={n} post-twiddle {k}"
                );
            }
            for pass in &plan.passes {
                for j in 1..pass.radix {
                    for i in 1..=(pass.ido - 1) / 2 {
                        let (r, im) = sincos_2pibyn(n, j * pass.l1 * i);
                        let at = (j - 1) * (pass.ido - 1) + 2 * i - 2;
                        assert_eq!(
                            r.to_bits(),
                            pass.wa[at],
                            "n={n} radix {} wa[{at}]",
                            pass.radix
                        );
                        assert_eq!(
                            im.to_bits(),
                            pass.wa[at + 1],
                            "n={n} radix {} wa[{}]",
                            pass.radix,
                            at + 1
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn flat_and_symmetric_inputs_give_exact_zeros() {
        let flat = vec![137u8; 32 * 32];
        let d = dct2d_top_left(DctSize::N32, &flat, 32);
        assert_eq!(d[0], 137.0 * 4.0 * 32.0 * 32.0);
        assert!(d[1..].iter().all(|&v| v == 0.0));
        // Left-right mirror: every odd horizontal frequency vanishes exactly, as in scipy.
        let mirror: Vec<u8> = (0..64 * 64)
            .map(|i| {
                let (y, x) = (i / 64, i % 64);
                let x = x.min(63 - x);
                (x * 7 + y * y * 3 % 251) as u8
            })
            .collect();
        let d = dct2d_top_left(DctSize::N64, &mirror, 64);
        for y in 0..64 {
            for x in (1..64).step_by(2) {
                assert_eq!(d[y * 64 + x], 0.0, "({y}, {x})");
            }
        }
    }
}
