//! An `LD_PRELOAD` library for UML 6.1 kernels on hosts with a large XSAVE area.
//!
//! UML 6.1 keeps its processes' FPU state as an 832-byte XSAVE image (x87, SSE and the
//! AVX upper halves) that it reads and writes with `ptrace(PTRACE_GETREGSET /
//! PTRACE_SETREGSET, NT_X86_XSTATE)`. A host with AVX-512 or AMX has a larger image and
//! refuses a `SETREGSET` that is not whole, so the kernel kills its first process. This
//! library replaces the kernel's `ptrace()` (its C library call) for exactly those two
//! requests: a read hands the kernel the first 832 bytes of the host's image, a write
//! lays the kernel's 832 bytes over the process's current host image and writes that
//! back whole. The components the kernel does not know (AVX-512, AMX, PKRU) stay as the
//! host process has them. Every other request goes to the C library unchanged.
//!
//! The image layout is the standard (non-compacted) XSAVE format of the Intel SDM, vol. 1,
//! §13.4: the legacy FXSAVE area at 0..512, the XSAVE header at 512..576 (its first 8 bytes
//! are `XSTATE_BV`, the components present), the AVX component at 576..832.
//!
//! As a Rust library, [`launch`] tells a program that starts UML kernels whether this
//! host needs the preload and how to apply it.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod launch;
mod sys;

/// Bytes of the legacy (FXSAVE) area at the start of an XSAVE image.
pub const LEGACY_BYTES: usize = 512;
/// Offset of `XSTATE_BV` in the XSAVE header.
pub const XSTATE_BV: usize = 512;
/// Offset of the first component after the header (AVX in the standard format).
pub const EXTENDED: usize = 576;
/// The components a UML 6.1 kernel saves: x87, SSE, AVX (bits 0 to 2 of `XSTATE_BV`).
pub const KERNEL_COMPONENTS: u64 = 0b111;

fn xstate_bv(image: &[u8]) -> u64 {
    image
        .get(XSTATE_BV..XSTATE_BV + 8)
        .map_or(0, |b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
}

fn set_xstate_bv(image: &mut [u8], bv: u64) {
    if let Some(b) = image.get_mut(XSTATE_BV..XSTATE_BV + 8) {
        b.copy_from_slice(&bv.to_le_bytes());
    }
}

/// What a read hands the kernel: the start of the host's `image`, as much as `out`
/// holds, with `XSTATE_BV` naming only the components inside it. Returns the length.
pub fn shorten(image: &[u8], out: &mut [u8]) -> usize {
    let n = image.len().min(out.len());
    out[..n].copy_from_slice(&image[..n]);
    if n >= XSTATE_BV + 8 {
        set_xstate_bv(out, xstate_bv(image) & KERNEL_COMPONENTS);
    }
    n
}

/// Lays the kernel's short image over the host's current `image` for a write: the
/// legacy area and the components after the header as far as `short` reaches, and the
/// kernel's present-bits for its own components; the rest of the host's image stays.
pub fn merge(image: &mut [u8], short: &[u8]) {
    let n = image.len().min(short.len());
    let legacy = n.min(LEGACY_BYTES);
    image[..legacy].copy_from_slice(&short[..legacy]);
    if n > EXTENDED {
        image[EXTENDED..n].copy_from_slice(&short[EXTENDED..n]);
    }
    if n >= XSTATE_BV + 8 {
        let bv = (xstate_bv(short) & KERNEL_COMPONENTS) | (xstate_bv(image) & !KERNEL_COMPONENTS);
        set_xstate_bv(image, bv);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// A host image of 2696 bytes (AVX-512 and PKRU) with every byte set to `fill` and
    /// the components `bv` present.
    fn host(fill: u8, bv: u64) -> Vec<u8> {
        let mut v = vec![fill; 2696];
        v[XSTATE_BV..EXTENDED].fill(0);
        set_xstate_bv(&mut v, bv);
        v
    }

    #[test]
    fn a_read_is_the_start_of_the_host_image_with_only_the_kernels_components() {
        let image = host(0xab, 0x2e7);
        let mut out = [0u8; 832];
        assert_eq!(shorten(&image, &mut out), 832);
        assert_eq!(out[..XSTATE_BV], image[..XSTATE_BV]);
        assert_eq!(xstate_bv(&out), 0x7);
        assert_eq!(out[EXTENDED..], image[EXTENDED..832]);
    }

    #[test]
    fn a_write_keeps_what_the_kernel_does_not_know() {
        let mut image = host(0xab, 0x2e7);
        let mut short = vec![0x11u8; 832];
        short[XSTATE_BV..EXTENDED].fill(0);
        set_xstate_bv(&mut short, 0x3); // AVX in its initial state
        merge(&mut image, &short);
        assert!(image[..LEGACY_BYTES].iter().all(|&b| b == 0x11));
        assert!(image[EXTENDED..832].iter().all(|&b| b == 0x11));
        assert!(
            image[832..].iter().all(|&b| b == 0xab),
            "AVX-512 and PKRU untouched"
        );
        assert_eq!(xstate_bv(&image), 0x2e3);
    }

    #[test]
    fn read_then_write_gives_back_the_same_image() {
        let original = host(0x5a, 0x2e7);
        let mut short = [0u8; 832];
        shorten(&original, &mut short);
        let mut image = original.clone();
        merge(&mut image, &short);
        assert_eq!(image, original);
    }
}
