//! libjpeg's internal structs that `mozjpeg-sys` keeps private (jpeglib.h, jpegint.h), mirrored
//! with `repr(C)` for the default ABI `mozjpeg-sys` builds, and checked at compile time against
//! the struct sizes and the offsets of their public fields. Read by [`super::hooks`] and
//! [`super::entropy`].

use std::os::raw::{c_int, c_uint, c_void};

use mozjpeg_sys as j;

type Cinfo = j::jpeg_decompress_struct;

/// `jpeg_decompress_struct` from `quant_tbl_ptrs` to its end (jpeglib.h, the default ABI that
/// `mozjpeg-sys` builds).
#[repr(C)]
#[allow(non_snake_case)]
pub(super) struct Tail {
    pub(super) quant_tbl_ptrs: [*mut j::JQUANT_TBL; 4],
    pub(super) dc_huff_tbl_ptrs: [*mut j::JHUFF_TBL; 4],
    pub(super) ac_huff_tbl_ptrs: [*mut j::JHUFF_TBL; 4],
    pub(super) data_precision: c_int,
    pub(super) comp_info: *mut c_void,
    pub(super) progressive_mode: j::boolean,
    pub(super) arith_code: j::boolean,
    pub(super) arith_dc_L: [u8; 16],
    pub(super) arith_dc_U: [u8; 16],
    pub(super) arith_ac_K: [u8; 16],
    pub(super) restart_interval: c_uint,
    pub(super) saw_JFIF_marker: j::boolean,
    pub(super) JFIF_major_version: u8,
    pub(super) JFIF_minor_version: u8,
    pub(super) density_unit: u8,
    pub(super) X_density: u16,
    pub(super) Y_density: u16,
    pub(super) saw_Adobe_marker: j::boolean,
    pub(super) Adobe_transform: u8,
    CCIR601_sampling: j::boolean,
    pub(super) marker_list: *mut c_void,
    pub(super) max_h_samp_factor: c_int,
    pub(super) max_v_samp_factor: c_int,
    pub(super) min_DCT_scaled_size: c_int,
    pub(super) total_iMCU_rows: c_uint,
    pub(super) sample_range_limit: *mut u8,
    pub(super) comps_in_scan: c_int,
    pub(super) cur_comp_info: [*mut CompInfo; 4],
    pub(super) MCUs_per_row: c_uint,
    pub(super) MCU_rows_in_scan: c_uint,
    pub(super) blocks_in_MCU: c_int,
    pub(super) MCU_membership: [c_int; 10],
    pub(super) Ss: c_int,
    pub(super) Se: c_int,
    pub(super) Ah: c_int,
    pub(super) Al: c_int,
    pub(super) unread_marker: c_int,
    pub(super) master: *mut c_void,
    pub(super) main: *mut c_void,
    pub(super) coef: *mut c_void,
    pub(super) post: *mut c_void,
    pub(super) inputctl: *mut InputController,
    pub(super) marker: *mut c_void,
    pub(super) entropy: *mut c_void,
    pub(super) idct: *mut c_void,
    pub(super) upsample: *mut c_void,
    pub(super) cconvert: *mut c_void,
    pub(super) cquantize: *mut c_void,
}

const TAIL_AT: usize = std::mem::offset_of!(Cinfo, quant_tbl_ptrs);
const _: () = assert!(
    TAIL_AT + std::mem::size_of::<Tail>() == std::mem::size_of::<Cinfo>()
        && TAIL_AT + std::mem::offset_of!(Tail, comp_info)
            == std::mem::offset_of!(Cinfo, comp_info)
        && TAIL_AT + std::mem::offset_of!(Tail, marker_list)
            == std::mem::offset_of!(Cinfo, marker_list)
        && TAIL_AT + std::mem::offset_of!(Tail, max_v_samp_factor)
            == std::mem::offset_of!(Cinfo, max_v_samp_factor)
);

/// `jpeg_component_info` (jpeglib.h, the default ABI), with the fields `mozjpeg-sys` keeps
/// private.
#[repr(C)]
pub(super) struct CompInfo {
    pub(super) component_id: c_int,
    pub(super) component_index: c_int,
    pub(super) h_samp_factor: c_int,
    pub(super) v_samp_factor: c_int,
    pub(super) quant_tbl_no: c_int,
    pub(super) dc_tbl_no: c_int,
    pub(super) ac_tbl_no: c_int,
    pub(super) width_in_blocks: c_uint,
    pub(super) height_in_blocks: c_uint,
    pub(super) dct_scaled_size: c_int,
    pub(super) downsampled_width: c_uint,
    pub(super) downsampled_height: c_uint,
    pub(super) component_needed: c_int,
    pub(super) mcu_width: c_int,
    pub(super) mcu_height: c_int,
    pub(super) mcu_blocks: c_int,
    pub(super) mcu_sample_width: c_int,
    pub(super) last_col_width: c_int,
    pub(super) last_row_height: c_int,
    pub(super) quant_table: *mut j::JQUANT_TBL,
    pub(super) dct_table: *mut c_void,
}

const _: () = assert!(
    std::mem::size_of::<CompInfo>() == std::mem::size_of::<j::jpeg_component_info>()
        && std::mem::offset_of!(CompInfo, ac_tbl_no)
            == std::mem::offset_of!(j::jpeg_component_info, ac_tbl_no)
        && std::mem::offset_of!(CompInfo, quant_table)
            == std::mem::offset_of!(j::jpeg_component_info, quant_table)
);

/// `struct jpeg_input_controller` (jpegint.h).
#[repr(C)]
pub(super) struct InputController {
    pub(super) consume_input: *const c_void,
    pub(super) reset_input_controller: *const c_void,
    pub(super) start_input_pass: *const c_void,
    pub(super) finish_input_pass: *const c_void,
    pub(super) has_multiple_scans: j::boolean,
    pub(super) eoi_reached: j::boolean,
}

/// The private tail of a decompressor.
///
/// # Safety
///
/// `cinfo` points to a live decompressor.
pub(super) unsafe fn tail(cinfo: *mut Cinfo) -> *mut Tail {
    // SAFETY: `Tail` mirrors the struct from `TAIL_AT` to its end (checked above).
    unsafe { cinfo.cast::<u8>().add(TAIL_AT).cast::<Tail>() }
}
