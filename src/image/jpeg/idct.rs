//! libjpeg's accurate integer inverse DCT (`jpeg_idct_islow`, jidctint.c), 8x8, bit for bit.
//!
//! [`scalar`] is a line-for-line port of the C (64-bit intermediates, as the C's `JLONG`); the
//! AVX2 version computes the same butterflies on eight columns, then eight rows, at once in
//! 32-bit lanes. Both passes round and shift exactly as the C does, and the C's shortcuts for
//! all-zero columns and rows give the values the full computation gives, so the two agree
//! wherever the intermediates fit in 32 bits: for every block a real 8-bit JPEG can hold
//! (dequantized coefficients within about ±2^16). On a corrupt file with larger ones the 32-bit
//! lanes wrap where the C's 64-bit sums do not; the pixels are then different garbage, as they
//! are with libjpeg-turbo's own SIMD (16-bit) kernels, which Pillow uses.
//!
//! The final clamp is the C's `range_limit[x & RANGE_MASK]` table written as arithmetic: the
//! table maps `x & 1023`, read as a signed 10-bit number `t`, to `clamp(t + 128, 0, 255)`.

/// `CONST_BITS` and `PASS1_BITS` of jidctint.c (8-bit samples).
const CONST_BITS: u32 = 13;
const PASS1_BITS: u32 = 2;

const FIX_0_298631336: i64 = 2446;
const FIX_0_390180644: i64 = 3196;
const FIX_0_541196100: i64 = 4433;
const FIX_0_765366865: i64 = 6270;
const FIX_0_899976223: i64 = 7373;
const FIX_1_175875602: i64 = 9633;
const FIX_1_501321110: i64 = 12299;
const FIX_1_847759065: i64 = 15137;
const FIX_1_961570560: i64 = 16069;
const FIX_2_053119869: i64 = 16819;
const FIX_2_562915447: i64 = 20995;
const FIX_3_072711026: i64 = 25172;

/// The C's `IDCT_range_limit(cinfo)[x & RANGE_MASK]`.
fn range_limit(x: i64) -> u8 {
    let t = ((x as i32) << 22) >> 22;
    (t + 128).clamp(0, 255) as u8
}

/// `DESCALE(x, n)`: round, then shift right arithmetically.
fn descale(x: i64, n: u32) -> i64 {
    (x + (1 << (n - 1))) >> n
}

#[cfg(test)]
/// The even and odd halves of one 1-D pass, shared by both passes of [`scalar`]: `v` are the
/// eight inputs, the result the eight outputs before descaling.
fn butterfly(v: [i64; 8]) -> [i64; 8] {
    let z1 = (v[2] + v[6]) * FIX_0_541196100;
    let tmp2 = z1 + v[6] * -FIX_1_847759065;
    let tmp3 = z1 + v[2] * FIX_0_765366865;
    let tmp0 = (v[0] + v[4]) << CONST_BITS;
    let tmp1 = (v[0] - v[4]) << CONST_BITS;
    let (tmp10, tmp13, tmp11, tmp12) = (tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2);

    let (t0, t1, t2, t3) = (v[7], v[5], v[3], v[1]);
    let z1 = t0 + t3;
    let z2 = t1 + t2;
    let z3 = t0 + t2;
    let z4 = t1 + t3;
    let z5 = (z3 + z4) * FIX_1_175875602;
    let z1 = z1 * -FIX_0_899976223;
    let z2 = z2 * -FIX_2_562915447;
    let z3 = z3 * -FIX_1_961570560 + z5;
    let z4 = z4 * -FIX_0_390180644 + z5;
    let t0 = t0 * FIX_0_298631336 + z1 + z3;
    let t1 = t1 * FIX_2_053119869 + z2 + z4;
    let t2 = t2 * FIX_3_072711026 + z2 + z3;
    let t3 = t3 * FIX_1_501321110 + z1 + z4;
    [
        tmp10 + t3,
        tmp11 + t2,
        tmp12 + t1,
        tmp13 + t0,
        tmp13 - t0,
        tmp12 - t1,
        tmp11 - t2,
        tmp10 - t3,
    ]
}

#[cfg(test)]
/// `jpeg_idct_islow` on one block: `coef` in natural order, `quant` its quantization table
/// (natural order), `out[r]` the eight output samples of row `r`.
pub(crate) fn scalar(coef: &[i16; 64], quant: &[u16; 64], out: &mut [[u8; 8]; 8]) {
    let mut ws = [0i64; 64];
    for c in 0..8 {
        // DEQUANTIZE is an `int` product in the C.
        let v: [i64; 8] = std::array::from_fn(|r| {
            i64::from(i32::from(coef[8 * r + c]).wrapping_mul(i32::from(quant[8 * r + c])))
        });
        for (r, x) in butterfly(v).into_iter().enumerate() {
            ws[8 * r + c] = i64::from(descale(x, CONST_BITS - PASS1_BITS) as i32);
        }
    }
    for (r, row) in out.iter_mut().enumerate() {
        let v: [i64; 8] = std::array::from_fn(|c| ws[8 * r + c]);
        for (o, x) in row.iter_mut().zip(butterfly(v)) {
            *o = range_limit(descale(x, CONST_BITS + PASS1_BITS + 3));
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::idct as avx2;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::*;
    use crate::arch::x86::Avx2;

    /// [`scalar`] with AVX2 (see the module documentation for where they may differ).
    pub(crate) fn idct(_: Avx2, coef: &[i16; 64], quant: &[u16; 64], out: &mut [[u8; 8]; 8]) {
        // SAFETY: the token proves AVX2.
        unsafe { run(coef, quant, out) }
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn mul(a: __m256i, k: i64) -> __m256i {
        _mm256_mullo_epi32(a, _mm256_set1_epi32(k as i32))
    }

    /// One 1-D pass on eight lanes, before descaling (as [`butterfly`]).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn butterfly8(v: [__m256i; 8]) -> [__m256i; 8] {
        let add = |a, b| _mm256_add_epi32(a, b);
        let sub = |a, b| _mm256_sub_epi32(a, b);
        let z1 = mul(add(v[2], v[6]), FIX_0_541196100);
        let tmp2 = add(z1, mul(v[6], -FIX_1_847759065));
        let tmp3 = add(z1, mul(v[2], FIX_0_765366865));
        let tmp0 = _mm256_slli_epi32::<{ CONST_BITS as i32 }>(add(v[0], v[4]));
        let tmp1 = _mm256_slli_epi32::<{ CONST_BITS as i32 }>(sub(v[0], v[4]));
        let (tmp10, tmp13) = (add(tmp0, tmp3), sub(tmp0, tmp3));
        let (tmp11, tmp12) = (add(tmp1, tmp2), sub(tmp1, tmp2));

        let (t0, t1, t2, t3) = (v[7], v[5], v[3], v[1]);
        let z1 = add(t0, t3);
        let z2 = add(t1, t2);
        let z3 = add(t0, t2);
        let z4 = add(t1, t3);
        let z5 = mul(add(z3, z4), FIX_1_175875602);
        let z1 = mul(z1, -FIX_0_899976223);
        let z2 = mul(z2, -FIX_2_562915447);
        let z3 = add(mul(z3, -FIX_1_961570560), z5);
        let z4 = add(mul(z4, -FIX_0_390180644), z5);
        let t0 = add(add(mul(t0, FIX_0_298631336), z1), z3);
        let t1 = add(add(mul(t1, FIX_2_053119869), z2), z4);
        let t2 = add(add(mul(t2, FIX_3_072711026), z2), z3);
        let t3 = add(add(mul(t3, FIX_1_501321110), z1), z4);
        [
            add(tmp10, t3),
            add(tmp11, t2),
            add(tmp12, t1),
            add(tmp13, t0),
            sub(tmp13, t0),
            sub(tmp12, t1),
            sub(tmp11, t2),
            sub(tmp10, t3),
        ]
    }

    /// Transposes an 8x8 matrix of 32-bit values held as eight rows.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn transpose(m: [__m256i; 8]) -> [__m256i; 8] {
        let a0 = _mm256_unpacklo_epi32(m[0], m[1]);
        let a1 = _mm256_unpackhi_epi32(m[0], m[1]);
        let a2 = _mm256_unpacklo_epi32(m[2], m[3]);
        let a3 = _mm256_unpackhi_epi32(m[2], m[3]);
        let a4 = _mm256_unpacklo_epi32(m[4], m[5]);
        let a5 = _mm256_unpackhi_epi32(m[4], m[5]);
        let a6 = _mm256_unpacklo_epi32(m[6], m[7]);
        let a7 = _mm256_unpackhi_epi32(m[6], m[7]);
        let b0 = _mm256_unpacklo_epi64(a0, a2);
        let b1 = _mm256_unpackhi_epi64(a0, a2);
        let b2 = _mm256_unpacklo_epi64(a1, a3);
        let b3 = _mm256_unpackhi_epi64(a1, a3);
        let b4 = _mm256_unpacklo_epi64(a4, a6);
        let b5 = _mm256_unpackhi_epi64(a4, a6);
        let b6 = _mm256_unpacklo_epi64(a5, a7);
        let b7 = _mm256_unpackhi_epi64(a5, a7);
        [
            _mm256_permute2x128_si256::<0x20>(b0, b4),
            _mm256_permute2x128_si256::<0x20>(b1, b5),
            _mm256_permute2x128_si256::<0x20>(b2, b6),
            _mm256_permute2x128_si256::<0x20>(b3, b7),
            _mm256_permute2x128_si256::<0x31>(b0, b4),
            _mm256_permute2x128_si256::<0x31>(b1, b5),
            _mm256_permute2x128_si256::<0x31>(b2, b6),
            _mm256_permute2x128_si256::<0x31>(b3, b7),
        ]
    }

    /// `range_limit` of `descale(x, 18)` in each lane.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn limit(x: __m256i) -> __m256i {
        let x = _mm256_srai_epi32::<18>(_mm256_add_epi32(x, _mm256_set1_epi32(1 << 17)));
        let t = _mm256_srai_epi32::<22>(_mm256_slli_epi32::<22>(x));
        let t = _mm256_add_epi32(t, _mm256_set1_epi32(128));
        _mm256_min_epi32(_mm256_max_epi32(t, _mm256_setzero_si256()), _mm256_set1_epi32(255))
    }

    #[target_feature(enable = "avx2")]
    fn run(coef: &[i16; 64], quant: &[u16; 64], out: &mut [[u8; 8]; 8]) {
        let load = |r: usize| {
            // SAFETY: 16 bytes at element `8 * r` (r < 8) of 64-element arrays.
            let (c, q) = unsafe {
                (
                    _mm_loadu_si128(coef.as_ptr().add(8 * r).cast()),
                    _mm_loadu_si128(quant.as_ptr().add(8 * r).cast()),
                )
            };
            _mm256_mullo_epi32(_mm256_cvtepi16_epi32(c), _mm256_cvtepu16_epi32(q))
        };
        let rows: [__m256i; 8] = std::array::from_fn(load);

        // A block with only its DC coefficient (most chroma blocks): every sample is the same.
        let ac = rows[1..]
            .iter()
            .fold(_mm256_setzero_si256(), |acc, &r| _mm256_or_si256(acc, r));
        let dc_lane_mask = _mm256_setr_epi32(0, -1, -1, -1, -1, -1, -1, -1);
        let ac = _mm256_or_si256(ac, _mm256_and_si256(rows[0], dc_lane_mask));
        if _mm256_testz_si256(ac, ac) != 0 {
            let dc = i64::from(_mm256_cvtsi256_si32(rows[0]));
            let v = range_limit(descale(dc << PASS1_BITS, PASS1_BITS + 3));
            for row in out.iter_mut() {
                *row = [v; 8];
            }
            return;
        }

        // Pass 1: columns in lanes; then descale by CONST_BITS - PASS1_BITS.
        let ws = butterfly8(rows).map(|x| {
            _mm256_srai_epi32::<11>(_mm256_add_epi32(x, _mm256_set1_epi32(1 << 10)))
        });
        // Pass 2: rows in lanes. `o[c]` holds output column `c` of every row.
        let o = butterfly8(transpose(ws)).map(|x| limit(x));
        // Pack four columns into each 32-bit lane (bytes in column order), then pair them up
        // into each row's eight bytes.
        let pack4 = |a: __m256i, b: __m256i, c: __m256i, d: __m256i| {
            let ab = _mm256_or_si256(a, _mm256_slli_epi32::<8>(b));
            let cd = _mm256_or_si256(_mm256_slli_epi32::<16>(c), _mm256_slli_epi32::<24>(d));
            _mm256_or_si256(ab, cd)
        };
        let lo = pack4(o[0], o[1], o[2], o[3]);
        let hi = pack4(o[4], o[5], o[6], o[7]);
        // 64-bit elements: rows 0, 1, 4, 5 and rows 2, 3, 6, 7.
        let a = _mm256_unpacklo_epi32(lo, hi);
        let b = _mm256_unpackhi_epi32(lo, hi);
        let rows_of: [(usize, i64); 8] = [
            (0, _mm256_extract_epi64::<0>(a)),
            (1, _mm256_extract_epi64::<1>(a)),
            (4, _mm256_extract_epi64::<2>(a)),
            (5, _mm256_extract_epi64::<3>(a)),
            (2, _mm256_extract_epi64::<0>(b)),
            (3, _mm256_extract_epi64::<1>(b)),
            (6, _mm256_extract_epi64::<2>(b)),
            (7, _mm256_extract_epi64::<3>(b)),
        ];
        for (r, bytes) in rows_of {
            out[r] = bytes.to_le_bytes();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn range(&mut self, lo: i32, hi: i32) -> i32 {
            lo + (self.next() % (hi - lo + 1) as u64) as i32
        }
    }

    /// The IDCT straight from its definition (cosines in f64), before level shift and clamp.
    fn float_idct(coef: &[i16; 64], quant: &[u16; 64]) -> [[f64; 8]; 8] {
        let c = |u: usize| if u == 0 { 1.0 / 2f64.sqrt() } else { 1.0 };
        let mut out = [[0.0; 8]; 8];
        for (y, row) in out.iter_mut().enumerate() {
            for (x, o) in row.iter_mut().enumerate() {
                let mut s = 0.0;
                for v in 0..8 {
                    for u in 0..8 {
                        let f = f64::from(coef[8 * v + u]) * f64::from(quant[8 * v + u]);
                        s += c(u)
                            * c(v)
                            * f
                            * (((2 * x + 1) * u) as f64 * std::f64::consts::PI / 16.0).cos()
                            * (((2 * y + 1) * v) as f64 * std::f64::consts::PI / 16.0).cos();
                    }
                }
                *o = s / 4.0;
            }
        }
        out
    }

    /// Blocks like a real JPEG's: a DC, a few low-frequency AC values, many zeros; sometimes
    /// DC only, sometimes dense, sometimes near the clamping limits.
    fn block(rng: &mut Rng) -> ([i16; 64], [u16; 64]) {
        let mut quant = [0u16; 64];
        for (i, q) in quant.iter_mut().enumerate() {
            *q = rng.range(1, 8 + 3 * i as i32) as u16;
        }
        let mut coef = [0i16; 64];
        let kind = rng.range(0, 3);
        coef[0] = rng.range(-1024 / i32::from(quant[0]), 1023 / i32::from(quant[0])) as i16;
        for (i, c) in coef.iter_mut().enumerate().skip(1) {
            let keep = match kind {
                0 => false,
                1 => rng.range(0, 9) == 0,
                _ => i < 20 || rng.range(0, 3) == 0,
            };
            if keep {
                let m = (600 / i32::from(quant[i])).max(1);
                *c = rng.range(-m, m) as i16;
            }
        }
        if kind == 3 {
            // Saturated blocks: far outside the sample range both ways.
            coef[0] = if rng.range(0, 1) == 0 { 2047 } else { -2048 };
            quant[0] = 8;
        }
        (coef, quant)
    }

    #[test]
    fn scalar_is_the_idct() {
        // libjpeg's ISLOW is within one level of the rounded exact transform (IEEE 1180).
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            let (coef, quant) = block(&mut rng);
            let want = float_idct(&coef, &quant);
            if want.iter().flatten().any(|v| v.abs() > 500.0) {
                // Far outside the sample range, where libjpeg's table wraps around.
                continue;
            }
            let mut out = [[0u8; 8]; 8];
            scalar(&coef, &quant, &mut out);
            for y in 0..8 {
                for x in 0..8 {
                    let want = (want[y][x] + 128.0).clamp(0.0, 255.0);
                    let d = (f64::from(out[y][x]) - want).abs();
                    assert!(d <= 1.5, "({x},{y}): {} vs {want}", out[y][x]);
                }
            }
        }
    }

    #[test]
    fn range_limit_is_libjpegs_table() {
        // prepare_range_limit_table (jdmaster.c), indexed from IDCT_range_limit with & 1023.
        let mut table = vec![0u8; 1024];
        for (i, t) in table.iter_mut().enumerate() {
            *t = match i {
                0..=127 => (i + 128) as u8,
                128..=511 => 255,
                512..=895 => 0,
                _ => (i - 896) as u8,
            };
        }
        for x in -5000i64..5000 {
            assert_eq!(range_limit(x), table[(x & 1023) as usize], "{x}");
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_equals_scalar() {
        let Some(token) = crate::arch::x86::Avx2::new() else {
            return;
        };
        let mut rng = Rng(7);
        for i in 0..200_000 {
            let (coef, quant) = block(&mut rng);
            let (mut want, mut got) = ([[0u8; 8]; 8], [[1u8; 8]; 8]);
            scalar(&coef, &quant, &mut want);
            avx2(token, &coef, &quant, &mut got);
            assert_eq!(got, want, "block {i}: {coef:?} {quant:?}");
        }
        // Extremes that still fit the 32-bit lanes: every coefficient at ±2^11 with quant 16.
        for sign in [1i16, -1] {
            let coef = [2047 * sign; 64];
            let quant = [16u16; 64];
            let (mut want, mut got) = ([[0u8; 8]; 8], [[1u8; 8]; 8]);
            scalar(&coef, &quant, &mut want);
            avx2(token, &coef, &quant, &mut got);
            assert_eq!(got, want);
        }
    }
}
