//! A Huffman decoder for libjpeg's sequential scans, faster than libjpeg's own (`jdhuff.c`),
//! which is most of the time of a scaled decode and about a third of a full one.
//!
//! [`install`] runs right after `jpeg_start_decompress` and, for a file whose one interleaved
//! Huffman scan has not been started, swaps libjpeg's entropy decoder (`cinfo->entropy`) for
//! [`Entropy`]. libjpeg's coefficient controller then calls [`decode_mcu`] for each MCU, as it
//! would call jdhuff.c's, and runs its own IDCT and everything after it on the coefficients.
//!
//! Why it is faster:
//! - the whole file is in memory, so the bit buffer refills eight bytes at a time where they
//!   hold no `0xFF`, and never calls a source manager;
//! - one table lookup gives a whole coefficient (its code, the extra bits that follow and the
//!   value they make) when both fit in [`FAST_BITS`] bits, which most do; libjpeg looks up the
//!   code, then reads the extra bits in a second step;
//! - where the coefficients' values aren't kept (a component not needed, the ACs of a 1/8-scale
//!   decode), one lookup in [`SKIP_BITS`] bits steps over up to two of them.
//!
//! It decodes valid data to exactly the coefficients jdhuff.c does (the same values, stored at
//! the same positions, with the same DC wrap-around and natural-order clamp). Whatever jdhuff.c
//! treats specially instead gives up: a code no table has, data that runs into a marker, a
//! restart marker that is not the next expected one or not where it should be, fill bytes,
//! or input that ends without a marker. Giving up unwinds with [`GiveUp`] and the caller
//! decodes the file again with libjpeg's own decoder, which then warns, pads or fails exactly
//! as it always does. Such files are corrupt; valid files never give up.
//!
//! The structs read here are libjpeg's internals that `mozjpeg-sys` keeps private, mirrored in
//! [`super::abi`].

use mozjpeg_sys as j;

use super::abi::tail;

type Cinfo = j::jpeg_decompress_struct;

/// [`Output::kernels`](super::Output) bit: the scan was decoded by [`decode_mcu`].
pub(super) const HUFFMAN: u8 = 16;

/// [`Output::kernels`](super::Output) bit: a 1/8-scale grey decode went straight from the DC
/// terms (`Entropy::first_component_dcs`, x86-64 builds with the kernels), past libjpeg's
/// coefficient controller.
#[cfg_attr(
    not(all(target_arch = "x86_64", not(feature = "jpeg-simd"))),
    allow(dead_code)
)]
pub(super) const DC_PLANE: u8 = 32;

/// Bits a fast lookup reads: a code and its extra bits that fit here decode in one lookup.
const FAST_BITS: u32 = 11;

/// Bits a skip lookup reads: up to two whole AC coefficients (codes and extra bits) that fit
/// here are stepped over in one lookup, where their values are not needed.
const SKIP_BITS: u32 = 12;

/// The panic payload with which [`decode_mcu`] gives up (see the module documentation).
pub(super) struct GiveUp;

type StartPassFn = unsafe extern "C-unwind" fn(*mut Cinfo);
type DecodeMcuFn = unsafe extern "C-unwind" fn(*mut Cinfo, *mut *mut [i16; 64]) -> j::boolean;

/// `struct jpeg_entropy_decoder` (jpegint.h): what libjpeg's other modules call and read.
#[repr(C)]
struct EntropyPub {
    start_pass: Option<StartPassFn>,
    decode_mcu: Option<DecodeMcuFn>,
    insufficient_data: j::boolean,
}

/// The decoder libjpeg calls instead of jdhuff.c's: [`EntropyPub`] first, as libjpeg expects.
#[repr(C)]
pub(super) struct Entropy {
    public: EntropyPub,
    state: State,
}

/// Zigzag index to natural position, with the 63s that libjpeg's `jpeg_natural_order` has past
/// the end (so a run reaching past the block lands on 63, as in libjpeg) and more for our
/// end-of-block, which advances 64.
const NATURAL: [u8; 128] = {
    const ZIGZAG: [u8; 64] = [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27,
        20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
        58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    ];
    let mut t = [63u8; 128];
    let mut i = 0;
    while i < 64 {
        t[i] = ZIGZAG[i];
        i += 1;
    }
    t
};

/// A fast entry: `len | run << 8 | (value as u16) << 16`, 0 when the lookup needs the slow
/// path. `len` is the code's length plus its extra bits; a coefficient is stored at zigzag
/// index `k + run` and decoding goes on at `k + run + 1` (end of block: run 63, value 0; a run
/// of sixteen zeros: run 15, value 0; both store a zero where nothing was yet).
type Fast = u32;

/// One Huffman table, derived as jdhuff.c's `jpeg_make_d_derived_tbl` does.
struct Table {
    /// Whole coefficients (AC) or DC differences by the next [`FAST_BITS`] bits.
    fast: Box<[Fast; 1 << FAST_BITS]>,
    /// AC tables: by the next [`SKIP_BITS`] bits, the first whole coefficient's length and
    /// zigzag advance (`len1 | adv1 << 8`), and both with the second's if it fits too
    /// (`len12 << 16 | adv12 << 24`; the first's again if not); 0 when the first does not fit.
    /// An end of block advances 64. `None` for DC tables.
    skip: Option<Box<[u32; 1 << SKIP_BITS]>>,
    /// Codes of up to [`FAST_BITS`] bits: `len << 8 | symbol`, 0 for a longer code.
    short: Box<[u16; 1 << FAST_BITS]>,
    /// The largest code of each length (-1 for none), and 0xFFFFF past 16 (as libjpeg).
    maxcode: [i32; 18],
    /// `huffval` index minus code, for the codes of each length.
    valoffset: [i32; 17],
    huffval: [u8; 256],
}

/// An AC symbol's run and extra-bit count as decoding treats them (see [`Fast`]): a run of
/// sixteen zeros (`0xF0`) is run 15 storing a zero, any other symbol without extra bits ends the
/// block (run 63).
fn ac_symbol(sym: u8) -> (usize, u32) {
    match (usize::from(sym >> 4), u32::from(sym & 15)) {
        (15, 0) => (15, 0),
        (_, 0) => (63, 0),
        rs => rs,
    }
}

/// jdhuff.h's `HUFF_EXTEND`: the value of `s` extra bits `x`.
fn extend(x: i32, s: u32) -> i32 {
    if x < 1 << (s - 1) {
        x + (-1 << s) + 1
    } else {
        x
    }
}

impl Table {
    /// Derives the table, or `None` where libjpeg would have refused it (it has, in
    /// `start_pass`, before we run; checked again because we index with it).
    fn new(htbl: &j::JHUFF_TBL, dc: bool) -> Option<Table> {
        let mut sizes = Vec::with_capacity(257);
        for l in 1..=16u8 {
            for _ in 0..htbl.bits[usize::from(l)] {
                sizes.push(l);
            }
        }
        if sizes.len() > 256 {
            return None;
        }
        let mut codes = vec![0u32; sizes.len()];
        let (mut code, mut p) = (0u32, 0);
        let mut si = sizes.first().copied().unwrap_or(0);
        while p < sizes.len() {
            while p < sizes.len() && sizes[p] == si {
                codes[p] = code;
                code += 1;
                p += 1;
            }
            if code >= 1 << si {
                return None;
            }
            code <<= 1;
            si += 1;
        }
        let mut t = Table {
            fast: Box::new([0; 1 << FAST_BITS]),
            skip: None,
            short: Box::new([0; 1 << FAST_BITS]),
            maxcode: [-1; 18],
            valoffset: [0; 17],
            huffval: htbl.huffval,
        };
        t.maxcode[17] = 0xFFFFF;
        let mut p = 0usize;
        for l in 1..=16 {
            let n = usize::from(htbl.bits[l]);
            if n > 0 {
                t.valoffset[l] = p as i32 - codes[p] as i32;
                p += n;
                t.maxcode[l] = codes[p - 1] as i32;
            }
        }
        for (p, (&len, &code)) in sizes.iter().zip(&codes).enumerate() {
            let sym = htbl.huffval[p];
            if dc && sym > 15 {
                return None;
            }
            let len = u32::from(len);
            if len > FAST_BITS {
                continue;
            }
            let first = (code << (FAST_BITS - len)) as usize;
            let span = 1usize << (FAST_BITS - len);
            for e in &mut t.short[first..first + span] {
                *e = (len as u16) << 8 | u16::from(sym);
            }
            let (run, s) = if dc {
                (0, u32::from(sym))
            } else {
                ac_symbol(sym)
            };
            let run = run as u32;
            if s == 0 {
                for e in &mut t.fast[first..first + span] {
                    *e = len | run << 8;
                }
            } else if len + s <= FAST_BITS {
                for (i, e) in t.fast[first..first + span].iter_mut().enumerate() {
                    let x = (i >> (FAST_BITS - len - s)) as i32;
                    let v = extend(x, s) as i16 as u16;
                    *e = (len + s) | run << 8 | u32::from(v) << 16;
                }
            }
        }
        if !dc {
            // The first coefficient of each index: `len | adv << 8` (0: doesn't fit).
            let mut first = vec![0u32; 1 << SKIP_BITS];
            for (p, (&len, &code)) in sizes.iter().zip(&codes).enumerate() {
                let (run, s) = ac_symbol(htbl.huffval[p]);
                let (len, adv) = (u32::from(len), run as u32 + 1);
                if len + s > SKIP_BITS {
                    continue;
                }
                let at = (code << (SKIP_BITS - len)) as usize;
                first[at..at + (1 << (SKIP_BITS - len))].fill((len + s) | adv << 8);
            }
            const MASK: usize = (1 << SKIP_BITS) - 1;
            let skip = t.skip.insert(Box::new([0; 1 << SKIP_BITS]));
            for (i, e) in skip.iter_mut().enumerate() {
                let (l1, a1) = (first[i] & 0xFF, first[i] >> 8);
                if l1 == 0 {
                    continue;
                }
                // The second, from the bits after the first (zeros shifted in past the
                // index: it counts only if it fits in the bits the index has).
                let next = first[(i << l1) & MASK];
                let (l2, a2) = (next & 0xFF, next >> 8);
                *e = if a1 < 64 && l2 != 0 && l1 + l2 <= SKIP_BITS {
                    l1 | a1 << 8 | (l1 + l2) << 16 | (a1 + a2) << 24
                } else {
                    l1 | a1 << 8 | l1 << 16 | a1 << 24
                };
            }
        }
        Some(t)
    }
}

/// One block of the MCU: its tables, component and what libjpeg keeps of it (jdhuff.c
/// `start_pass_huff_decoder`: the DC if the component is needed, the ACs too unless it is
/// decoded at 1/8 scale).
#[derive(Clone, Copy)]
struct Block {
    dc: u8,
    ac: u8,
    ci: u8,
    dc_needed: bool,
    ac_needed: bool,
}

/// The bit reader over the whole input.
struct Reader {
    /// The whole input, and the next byte to read into `bits`.
    data: *const u8,
    len: usize,
    pos: usize,
    /// Bits not yet consumed, from the top; `n` of them are the data's, the rest are zero or
    /// the start of `data[pos]`. Negative `n`: zeros were consumed past a marker.
    bits: u64,
    n: i32,
    /// The reader stopped at a marker (or the end of the input: `eof`) and reads zeros.
    marker: bool,
    eof: bool,
}

struct State {
    r: Reader,
    /// The scan's tables, which [`Block`]s index.
    tables: Vec<Table>,
    blocks: Vec<Block>,
    pred: [i32; 4],
    restart_interval: u32,
    restarts_to_go: u32,
    next_restart: u8,
    mcus_left: u64,
}

/// Gives up (see the module documentation).
fn give_up() -> ! {
    std::panic::resume_unwind(Box::new(GiveUp))
}

impl Reader {
    /// `data[i]`, if in the input.
    #[inline(always)]
    fn byte(&self, i: usize) -> Option<u8> {
        // SAFETY: `data` is `len` readable bytes (see `install`), and `i < len` is checked.
        (i < self.len).then(|| unsafe { *self.data.add(i) })
    }

    /// Tops `bits` up to at least 57 data bits a byte at a time, or to the marker or the end
    /// where the data stops. The hot loop in [`State::mcu`] refills eight bytes at once where
    /// it can, and calls this otherwise.
    #[cold]
    #[inline(never)]
    fn refill_slow(&mut self) {
        while self.n <= 56 && !self.marker {
            let Some(b) = self.byte(self.pos) else {
                self.marker = true;
                self.eof = true;
                return;
            };
            if b == 0xFF {
                match self.byte(self.pos + 1) {
                    Some(0) => self.pos += 2,
                    // A marker (fill bytes included) or the end: the data stops here.
                    _ => {
                        self.marker = true;
                        return;
                    }
                }
            } else {
                self.pos += 1;
            }
            self.bits |= u64::from(b) << (56 - self.n);
            self.n += 8;
        }
    }

    /// Reads restart marker `RSTnext`, which must come next (libjpeg's `process_restart`).
    fn restart(&mut self, next: u8) {
        self.refill_slow();
        // Only the last byte's padding may be left, right before the expected RSTn.
        if !self.marker
            || self.eof
            || !(0..8).contains(&self.n)
            || self.byte(self.pos + 1) != Some(0xD0 + next)
        {
            give_up();
        }
        self.pos += 2;
        self.bits = 0;
        self.n = 0;
        self.marker = false;
    }

    /// After the last MCU: libjpeg reads ahead up to eight bytes, so input that ends within
    /// reach without a marker makes it warn (and fail), which we leave to it.
    fn finish(&self) {
        let mut i = self.pos;
        while i < self.pos + 64 {
            match self.byte(i) {
                None => give_up(),
                Some(0xFF) => match self.byte(i + 1) {
                    Some(0) => i += 2,
                    None => give_up(),
                    Some(_) => return,
                },
                Some(_) => i += 1,
            }
        }
    }
}

/// A symbol whose code is longer than [`FAST_BITS`], from the top of `bits` (libjpeg's
/// `jpeg_huff_decode`): `(symbol, code length)`.
#[cold]
#[inline(never)]
fn long_symbol(t: &Table, bits: u64) -> (u8, u32) {
    let e = t.short[(bits >> (64 - FAST_BITS)) as usize];
    if e != 0 {
        return (e as u8, u32::from(e >> 8));
    }
    let peek = (bits >> 48) as i32;
    for l in FAST_BITS + 1..=16 {
        let code = peek >> (16 - l);
        if code <= t.maxcode[l as usize] {
            return (
                t.huffval[((code + t.valoffset[l as usize]) & 0xFF) as usize],
                l,
            );
        }
    }
    // libjpeg: "Corrupt JPEG data: bad Huffman code".
    give_up()
}

/// `s` (1..=15) extra bits from the top of `bits` as a value.
#[inline(always)]
fn extra(bits: u64, s: u32) -> i32 {
    extend((bits >> (64 - s)) as i32, s)
}

impl State {
    fn mcu(&mut self, out: Option<&[*mut [i16; 64]]>) {
        if self.restart_interval != 0 {
            if self.restarts_to_go == 0 {
                self.r.restart(self.next_restart);
                self.pred = [0; 4];
                self.restarts_to_go = self.restart_interval;
                self.next_restart = (self.next_restart + 1) & 7;
            }
            self.restarts_to_go -= 1;
        }
        // The reader's hot fields as locals, in registers; written back around the cold path.
        let (data, len) = (self.r.data, self.r.len);
        let (mut bits, mut n, mut pos) = (self.r.bits, self.r.n, self.r.pos);
        // At least 32 bits (a code and its extra bits need 31 at most) unless the data stops.
        macro_rules! refill {
            () => {
                if n < 32 {
                    let mut slow = true;
                    if pos + 8 <= len {
                        // SAFETY: `pos + 8 <= len` bytes of the input (see `Reader::byte`).
                        let x = unsafe { data.add(pos).cast::<[u8; 8]>().read() };
                        let x = u64::from_be_bytes(x);
                        // No byte is 0xFF: the eight bytes are data as they are. The bits
                        // past the new `n` are the start of `data[pos]`, as `Reader` allows.
                        let ff = !x;
                        if ff.wrapping_sub(0x0101_0101_0101_0101) & !ff & 0x8080_8080_8080_8080 == 0
                        {
                            bits |= x >> n;
                            pos += ((63 - n) >> 3) as usize;
                            n |= 56;
                            slow = false;
                        }
                    }
                    if slow {
                        self.r.bits = bits;
                        self.r.n = n;
                        self.r.pos = pos;
                        self.r.refill_slow();
                        (bits, n, pos) = (self.r.bits, self.r.n, self.r.pos);
                    }
                }
            };
        }
        macro_rules! consume {
            ($len:expr) => {{
                let l = $len;
                bits <<= l;
                n -= l as i32;
            }};
        }
        // The next AC coefficient's `(run, value)` (see [`Fast`]).
        macro_rules! ac {
            ($fast:expr, $table:expr) => {{
                refill!();
                let e = $fast[(bits >> (64 - FAST_BITS)) as usize];
                if e != 0 {
                    consume!(e & 0xFF);
                    (((e >> 8) & 0xFF) as usize, (e >> 16) as i16)
                } else {
                    let (sym, l) = long_symbol($table, bits);
                    consume!(l);
                    match ac_symbol(sym) {
                        (run, 0) => (run, 0),
                        (run, s) => {
                            let v = extra(bits, s) as i16;
                            consume!(s);
                            (run, v)
                        }
                    }
                }
            }};
        }
        for (b, &blk) in self.blocks.iter().enumerate() {
            let (dc_table, ac_table) = (
                &self.tables[usize::from(blk.dc)],
                &self.tables[usize::from(blk.ac)],
            );
            refill!();
            let e = dc_table.fast[(bits >> (64 - FAST_BITS)) as usize];
            let diff = if e != 0 {
                consume!(e & 0xFF);
                i32::from((e >> 16) as i16)
            } else {
                let (s, l) = long_symbol(dc_table, bits);
                consume!(l);
                match u32::from(s) {
                    0 => 0,
                    s => {
                        let v = extra(bits, s);
                        consume!(s);
                        v
                    }
                }
            };
            let fast = &*ac_table.fast;
            if blk.dc_needed {
                let p = &mut self.pred[usize::from(blk.ci)];
                *p = p.wrapping_add(diff);
                if let Some(out) = out {
                    // SAFETY: `out` holds a pointer per block of the MCU (jdcoefct.c), each to
                    // a zeroed block that nothing else references during the call.
                    let coef = unsafe { &mut *out[b] };
                    coef[0] = *p as i16;
                    if blk.ac_needed {
                        let mut k = 1;
                        while k < 64 {
                            let (run, v) = ac!(fast, ac_table);
                            coef[usize::from(NATURAL[k + run])] = v;
                            k += run + 1;
                        }
                        continue;
                    }
                }
            }
            // Every AC table has its skip table (`Table::new`).
            let Some(skip) = ac_table.skip.as_deref() else {
                give_up()
            };
            let mut k = 1;
            while k < 64 {
                refill!();
                let e = skip[(bits >> (64 - SKIP_BITS)) as usize];
                if e == 0 {
                    k += ac!(fast, ac_table).0 + 1;
                    continue;
                }
                if k + ((e >> 8) & 0xFF) as usize >= 64 {
                    consume!(e & 0xFF);
                    break;
                }
                consume!((e >> 16) & 0xFF);
                k += (e >> 24) as usize;
            }
        }
        (self.r.bits, self.r.n, self.r.pos) = (bits, n, pos);
        if n < 0 {
            // Zeros past a marker were decoded: libjpeg warns and pads.
            give_up();
        }
        self.mcus_left -= 1;
        if self.mcus_left == 0 {
            self.r.finish();
        }
    }
}

#[cfg(all(target_arch = "x86_64", not(feature = "jpeg-simd")))]
impl Entropy {
    /// Decodes the whole scan without libjpeg's coefficient controller, for a decode that
    /// keeps only the DC terms of the scan's first component (1/8 scale, grey output): calls
    /// `dc(bx, by, coefficient)` for each of that component's blocks inside the image, with
    /// the DC coefficient libjpeg would have stored. `None` (nothing read) unless every block
    /// of the MCU keeps exactly that: the first component's DC alone.
    ///
    /// # Safety
    ///
    /// `cinfo` is the decompressor [`install`] returned this for, before any MCU was decoded.
    pub(super) unsafe fn first_component_dcs(
        &mut self,
        cinfo: &mut Cinfo,
        mut dc: impl FnMut(usize, usize, i16),
    ) -> Option<()> {
        // SAFETY: a live decompressor (this function's contract).
        let t = unsafe { &*tail(cinfo) };
        // SAFETY: set by the SOS reader (checked non-null in `install`).
        let c = unsafe { &*t.cur_comp_info[0] };
        let (mw, mh) = (
            usize::try_from(c.mcu_width).ok()?,
            usize::try_from(c.mcu_height).ok()?,
        );
        let first = mw * mh;
        let keeps_first_dc = self.state.blocks.iter().enumerate().all(|(b, blk)| {
            !blk.ac_needed && blk.dc_needed == (b < first) && (b >= first || blk.ci == 0)
        });
        if !keeps_first_dc || first == 0 || c.component_index != 0 || self.state.mcus_left == 0 {
            return None;
        }
        let (wib, hib) = (c.width_in_blocks as usize, c.height_in_blocks as usize);
        // Only the first component's DC terms are written, so the blocks need no clearing.
        let mut coef = [[0i16; 64]; 10];
        let ptrs: Vec<*mut [i16; 64]> = coef.iter_mut().map(std::ptr::from_mut).collect();
        for row in 0..t.MCU_rows_in_scan as usize {
            for col in 0..t.MCUs_per_row as usize {
                self.state.mcu(Some(&ptrs[..self.state.blocks.len()]));
                for (b, &p) in ptrs[..first].iter().enumerate() {
                    let (bx, by) = (col * mw + b % mw, row * mh + b / mw);
                    if bx < wib && by < hib {
                        // SAFETY: `p` points into `coef`, which `mcu` has written through it;
                        // no reference to it is live.
                        dc(bx, by, unsafe { (*p)[0] });
                    }
                }
            }
        }
        Some(())
    }
}

/// jdhuff.c's `decode_mcu`, for the scan [`install`] set up.
///
/// # Safety
///
/// Called by libjpeg only: `cinfo` is the decompressor whose `entropy` is an [`Entropy`], and
/// `mcu_data` is null or holds `blocks_in_MCU` pointers to zeroed blocks.
unsafe extern "C-unwind" fn decode_mcu(
    cinfo: *mut Cinfo,
    mcu_data: *mut *mut [i16; 64],
) -> j::boolean {
    // SAFETY: this function's contract; `install` put an `Entropy` there, which outlives the
    // decompressor's use of it.
    unsafe {
        let tail = &*tail(cinfo);
        let e = &mut *tail.entropy.cast::<Entropy>();
        let out = (!mcu_data.is_null())
            .then(|| std::slice::from_raw_parts(mcu_data, e.state.blocks.len()));
        if e.state.mcus_left == 0 {
            give_up();
        }
        e.state.mcu(out);
    }
    1
}

/// Never called for the one scan we decode; a second scan is libjpeg's business.
///
/// # Safety
///
/// Any: it reads nothing.
unsafe extern "C-unwind" fn start_pass(_cinfo: *mut Cinfo) {
    give_up()
}

/// Swaps in [`Entropy`] for a single-scan sequential Huffman file whose scan has not started,
/// reading `bytes` (the input given to `jpeg_mem_src`), and returns it: the caller keeps it
/// alive as long as `cinfo`. `None` (nothing changed) for anything else.
///
/// # Safety
///
/// `cinfo` is a decompressor on which `jpeg_start_decompress` has just returned, reading
/// `bytes` through `jpeg_mem_src`; `bytes` outlives its use.
pub(super) unsafe fn install(cinfo: &mut Cinfo, bytes: &[u8]) -> Option<Box<Entropy>> {
    // SAFETY: a live decompressor.
    let t = unsafe { &mut *tail(cinfo) };
    if t.progressive_mode != 0
        || t.arith_code != 0
        || t.comps_in_scan != cinfo.num_components
        || !(1..=4).contains(&t.comps_in_scan)
        || (t.Ss, t.Se, t.Ah, t.Al) != (0, 63, 0, 0)
        || t.unread_marker != 0
        || cinfo.input_iMCU_row != 0
        || t.inputctl.is_null()
        || t.entropy.is_null()
        || cinfo.src.is_null()
        || !(1..=10).contains(&t.blocks_in_MCU)
        || t.data_precision != 8
    {
        return None;
    }
    // SAFETY: non-null, set up by `jinit_input_controller`.
    if unsafe { (*t.inputctl).has_multiple_scans } != 0 {
        return None;
    }
    // The scan's data starts where libjpeg's source stands.
    // SAFETY: non-null, the memory source `jpeg_mem_src` set up.
    let src = unsafe { &*cinfo.src };
    let start = (src.next_input_byte as usize).checked_sub(bytes.as_ptr() as usize)?;
    if start > bytes.len() || start + src.bytes_in_buffer != bytes.len() {
        return None;
    }
    // The tables, and where each of libjpeg's DC and AC slots is among them.
    let mut tables = Vec::new();
    let mut slots = [[None::<u8>; 4]; 2];
    let mut comps = [(0u8, 0u8, false, false); 4];
    for (ci, &c) in t.cur_comp_info[..t.comps_in_scan as usize]
        .iter()
        .enumerate()
    {
        if c.is_null() {
            return None;
        }
        // SAFETY: the scan's components, set by the SOS reader.
        let c = unsafe { &*c };
        let (dc, ac) = (
            usize::try_from(c.dc_tbl_no).ok()?,
            usize::try_from(c.ac_tbl_no).ok()?,
        );
        if dc >= 4
            || ac >= 4
            || t.dc_huff_tbl_ptrs[dc].is_null()
            || t.ac_huff_tbl_ptrs[ac].is_null()
        {
            return None;
        }
        let mut index = |kind: usize, slot: usize, htbl: *mut j::JHUFF_TBL| {
            if let Some(i) = slots[kind][slot] {
                return Some(i);
            }
            // SAFETY: non-null (checked above): a table libjpeg read (or its default).
            tables.push(Table::new(unsafe { &*htbl }, kind == 0)?);
            let i = (tables.len() - 1) as u8;
            slots[kind][slot] = Some(i);
            Some(i)
        };
        let dc = index(0, dc, t.dc_huff_tbl_ptrs[dc])?;
        let ac = index(1, ac, t.ac_huff_tbl_ptrs[ac])?;
        let needed = c.component_needed != 0;
        comps[ci] = (dc, ac, needed, needed && c.dct_scaled_size > 1);
    }
    let mut blocks = Vec::with_capacity(t.blocks_in_MCU as usize);
    for &ci in &t.MCU_membership[..t.blocks_in_MCU as usize] {
        let ci = usize::try_from(ci)
            .ok()
            .filter(|&ci| ci < t.comps_in_scan as usize)?;
        let (dc, ac, dc_needed, ac_needed) = comps[ci];
        blocks.push(Block {
            dc,
            ac,
            ci: ci as u8,
            dc_needed,
            ac_needed,
        });
    }
    let mcus = u64::from(t.MCUs_per_row) * u64::from(t.MCU_rows_in_scan);
    if mcus == 0 {
        return None;
    }
    let mut e = Box::new(Entropy {
        public: EntropyPub {
            start_pass: Some(start_pass),
            decode_mcu: Some(decode_mcu),
            insufficient_data: 0,
        },
        state: State {
            r: Reader {
                data: bytes.as_ptr(),
                len: bytes.len(),
                pos: start,
                bits: 0,
                n: 0,
                marker: false,
                eof: false,
            },
            tables,
            blocks,
            pred: [0; 4],
            restart_interval: t.restart_interval,
            restarts_to_go: t.restart_interval,
            next_restart: 0,
            mcus_left: mcus,
        },
    });
    t.entropy = std::ptr::from_mut(&mut *e).cast();
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::SplitMix64;

    /// A random valid table: code lengths by a random walk that stays within the code space
    /// (libjpeg's check), symbols random (DC: 0..=15).
    fn random_table(rng: &mut SplitMix64, dc: bool) -> j::JHUFF_TBL {
        // SAFETY: a plain C struct of integers, for which zero is valid.
        let mut t: j::JHUFF_TBL = unsafe { std::mem::zeroed() };
        let (mut room, mut n) = (1u64 << 16, 0usize);
        let want = if dc {
            1 + rng.next() as usize % 16
        } else {
            2 + rng.next() as usize % 160
        };
        for l in 1..=16usize {
            let cost = 1u64 << (16 - l);
            let mut k = rng.next() as usize % (want / 4 + 2);
            if l == 16 || n + k > want {
                k = want.saturating_sub(n);
            }
            // An all-ones code is not allowed (libjpeg refuses a full code space).
            k = k.min(((room - 1) / cost) as usize).min(255);
            t.bits[l] = k as u8;
            room -= k as u64 * cost;
            n += k;
        }
        for v in &mut t.huffval[..n] {
            *v = if dc {
                (rng.next() % 16) as u8
            } else {
                rng.next() as u8
            };
        }
        t
    }

    /// The coefficient at the top of `bits`, decoded the plain way (libjpeg's
    /// `jpeg_huff_decode`): `(code + extra length, run, value)`, run 63 for an end of block.
    fn plain(t: &j::JHUFF_TBL, bits: u64, dc: bool) -> Option<(u32, usize, i32)> {
        let (mut code, mut first, mut p) = (0i64, 0i64, 0usize);
        for l in 1..=16u32 {
            code = code << 1 | ((bits >> (64 - l)) & 1) as i64;
            let count = i64::from(t.bits[l as usize]);
            if code - first < count {
                let sym = t.huffval[p + (code - first) as usize];
                let (r, s) = if dc {
                    (0, u32::from(sym))
                } else {
                    (usize::from(sym >> 4), u32::from(sym & 15))
                };
                return Some(match (dc, s, r) {
                    (_, 0, _) if dc => (l, 0, 0),
                    (_, 0, 15) => (l, 15, 0),
                    (_, 0, _) => (l, 63, 0),
                    _ => (l + s, r, extend(((bits << l) >> (64 - s)) as i32, s)),
                });
            }
            p += count as usize;
            first = (first + count) << 1;
        }
        None
    }

    /// Every lookup table agrees with the plain decode, on random tables and bits.
    #[test]
    fn tables_decode_as_the_plain_walk() {
        let mut rng = SplitMix64::new(7);
        for case in 0..300 {
            let dc = case % 3 == 0;
            let h = random_table(&mut rng, dc);
            let t = Table::new(&h, dc).expect("a valid table");
            for _ in 0..2000 {
                let bits = rng.next();
                let want = plain(&h, bits, dc);
                // The short table, or the long search.
                let got = (t.short[(bits >> (64 - FAST_BITS)) as usize] != 0 || want.is_some())
                    .then(|| std::panic::catch_unwind(|| long_symbol(&t, bits)).ok())
                    .flatten();
                assert_eq!(got.is_some(), want.is_some(), "case {case}");
                // A fast entry is the whole coefficient.
                let e = t.fast[(bits >> (64 - FAST_BITS)) as usize];
                if e != 0 {
                    let (len, run, v) = want.unwrap();
                    assert_eq!(e & 0xFF, len, "case {case}");
                    assert_eq!(((e >> 8) & 0xFF) as usize, run);
                    assert_eq!(i32::from((e >> 16) as i16), v);
                } else if let Some((len, _, _)) = want {
                    assert!(
                        len > FAST_BITS,
                        "case {case}: {len} bits not in the fast table"
                    );
                }
                if dc {
                    continue;
                }
                // A skip entry: one or two coefficients' lengths and advances.
                let e = t.skip.as_ref().unwrap()[(bits >> (64 - SKIP_BITS)) as usize];
                let adv = |run: usize| if run == 63 { 64 } else { run as u32 + 1 };
                match want {
                    Some((l1, r1, _)) if l1 <= SKIP_BITS => {
                        assert_eq!((e & 0xFF, (e >> 8) & 0xFF), (l1, adv(r1)));
                        let second = plain(&h, bits << l1, false)
                            .filter(|&(l2, _, _)| r1 != 63 && l1 + l2 <= SKIP_BITS);
                        let (l12, a12) = second
                            .map_or((l1, adv(r1)), |(l2, r2, _)| (l1 + l2, adv(r1) + adv(r2)));
                        assert_eq!(((e >> 16) & 0xFF, e >> 24), (l12, a12), "case {case}");
                    }
                    _ => assert_eq!(e, 0),
                }
            }
        }
    }
}
