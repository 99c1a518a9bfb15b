//! A hint to the CPU to fetch a cache line before it is read: a pure
//! performance hint that changes no result.

/// Asks the CPU to bring `x`'s cache line into its caches. Does nothing
/// on targets without a prefetch instruction.
#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` reads no memory and cannot fault (it is a
    // hint, dropped for an invalid address), and SSE is part of the
    // x86_64 baseline, so the target feature is always present; `x` is a
    // valid reference anyway.
    #[allow(unsafe_code)]
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}
