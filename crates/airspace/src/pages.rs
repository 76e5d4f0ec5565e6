//! Large immutable arrays in memory advised for transparent huge pages.
//!
//! A strategic query over a million volumes reads a few hundred cache lines scattered over some
//! 330 MB of packed runs. In 4 KiB pages that is about 80,000 pages: nearly every line read
//! misses the TLB, and the walk of the page tables (whose entries, 640 KB of them, are evicted
//! from the caches along with the data by whatever else runs) costs as much as the line itself.
//! In 2 MiB pages the same arrays take some 170 TLB entries, and their page-table entries fit in
//! a few cache lines. Where the kernel's setting is `madvise` (a common default, and this
//! project's machines'), only memory that asks for huge pages gets them, whichever allocator the
//! process uses; so the arrays of the packed runs ask for them themselves.
//!
//! This is a hint about memory the index owns, not I/O: an anonymous private mapping (what an
//! allocator itself does for large blocks) with `madvise(MADV_HUGEPAGE)`, through `memmap2`'s
//! safe interface, viewed as a typed slice through `bytemuck`'s checked casts, so no `unsafe`
//! here. When the mapping or the advice fails, or the array is small, the array stays on the
//! heap: same contents, same answers, only the page size differs.

use std::ops::{Deref, DerefMut};

use bytemuck::Pod;

/// Arrays at least this large (bytes) are mapped and advised; smaller ones stay on the heap (a
/// huge page is 2 MiB: a smaller array would waste most of one).
pub(crate) const MAPPED_BYTES_MIN: usize = 2 << 20;

/// Alignment of a mapped array: a huge page's size, so the array's first page is a huge one.
const HUGE_PAGE_BYTES: usize = 2 << 20;

/// An array of `T`, fixed in size once made, in huge pages when it is large (see the module).
#[derive(Debug)]
pub(crate) struct Pages<T> {
    heap: Vec<T>,
    /// The mapping, the offset of the array in it (bytes) and its length (elements).
    mapped: Option<(memmap2::MmapMut, usize, usize)>,
}

impl<T> Default for Pages<T> {
    fn default() -> Self {
        Pages {
            heap: Vec::new(),
            mapped: None,
        }
    }
}

impl<T: Pod> Pages<T> {
    /// `v`'s elements, moved into advised memory when `v` is large enough.
    pub(crate) fn new(v: Vec<T>) -> Self {
        let bytes = std::mem::size_of_val(v.as_slice());
        if bytes >= MAPPED_BYTES_MIN
            && let Some((mut map, offset)) = advised(bytes)
        {
            map[offset..offset + bytes].copy_from_slice(bytemuck::cast_slice(&v));
            return Pages {
                heap: Vec::new(),
                mapped: Some((map, offset, v.len())),
            };
        }
        Pages {
            heap: v,
            mapped: None,
        }
    }

    /// Whether the array is in advised memory.
    #[cfg(test)]
    pub(crate) fn is_mapped(&self) -> bool {
        self.mapped.is_some()
    }
}

/// An anonymous mapping holding `bytes` from an offset aligned to a huge page, advised for huge
/// pages; `None` if it cannot be made. The advice is only a hint: when it is refused (a kernel
/// without transparent huge pages) the mapping is used as it is.
fn advised(bytes: usize) -> Option<(memmap2::MmapMut, usize)> {
    let map = memmap2::MmapMut::map_anon(bytes.checked_add(HUGE_PAGE_BYTES)?).ok()?;
    #[cfg(target_os = "linux")]
    let _ = map.advise(memmap2::Advice::HugePage);
    let at = map.as_ptr() as usize;
    let offset = (HUGE_PAGE_BYTES - at % HUGE_PAGE_BYTES) % HUGE_PAGE_BYTES;
    Some((map, offset))
}

impl<T: Pod> Deref for Pages<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        match &self.mapped {
            Some((map, offset, len)) => {
                bytemuck::cast_slice(&map[*offset..*offset + len * std::mem::size_of::<T>()])
            }
            None => &self.heap,
        }
    }
}

impl<T: Pod> DerefMut for Pages<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.mapped {
            Some((map, offset, len)) => bytemuck::cast_slice_mut(
                &mut map[*offset..*offset + *len * std::mem::size_of::<T>()],
            ),
            None => &mut self.heap,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_arrays_are_mapped_small_ones_not_and_both_read_and_write_as_given() {
        for n in [
            0usize,
            1,
            1000,
            MAPPED_BYTES_MIN / 32 - 1,
            MAPPED_BYTES_MIN / 32 + 3,
            300_000,
        ] {
            let v: Vec<[f32; 8]> = (0..n).map(|i| [i as f32; 8]).collect();
            let mut p = Pages::new(v.clone());
            assert_eq!(p.is_mapped(), n * 32 >= MAPPED_BYTES_MIN, "n = {n}");
            assert_eq!(&p[..], &v[..], "n = {n}");
            if n > 0 {
                p[n - 1] = [-1.0; 8];
                assert_eq!(p[n - 1], [-1.0; 8]);
                assert_eq!(&p[..n - 1], &v[..n - 1]);
            }
        }
        // Elements whose alignment is larger than a word, and bytes.
        let v: Vec<u8> = (0..MAPPED_BYTES_MIN + 5).map(|i| i as u8).collect();
        let p = Pages::new(v.clone());
        assert!(p.is_mapped());
        assert_eq!(&p[..], &v[..]);
        assert!(Pages::<u64>::default().is_empty());
    }
}
