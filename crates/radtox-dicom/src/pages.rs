//! Large buffers (the dose grid, whole-file reads) backed by transparent huge pages
//! where Linux allows it.
//!
//! A fresh 9.4 MiB dose grid is about 2 400 page faults of 4 KiB when first written,
//! each costing over a microsecond of kernel time here (fault, zeroing, accounting);
//! with 2 MiB pages the same grid takes a handful. Transparent huge pages are commonly
//! configured `madvise` (only regions that ask get them), so the buffers ask.

/// A zeroed `Vec` of `n` values whose untouched pages are advised to be huge pages.
///
/// The allocation is zeroed by the allocator without touching its pages (large
/// allocations come straight from the kernel, already zero), so the advice applies
/// before the first write.
pub(crate) fn zeroed_huge<T: Copy + Default>(n: usize) -> Vec<T> {
    let mut v = vec![T::default(); n];
    advise_huge_pages(&mut v);
    v
}

/// The whole file at `path`, like [`std::fs::read`], in a buffer with one huge page of
/// slack whose whole 2 MiB pages are advised to be huge pages: whatever the buffer's
/// address, about half of a 2 MB RT Struct then lands on one huge page instead of
/// ~240 small ones, each faulted in while the file is copied. The slack is never
/// touched, so it costs address space only.
pub(crate) fn read_file(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let size = file
        .metadata()
        .map_or(0, |m| usize::try_from(m.len()).unwrap_or(usize::MAX));
    let slack = if size >= HUGE / 2 { HUGE } else { 0 };
    // As std::fs::read: room for the whole file up front, and an error rather than an
    // abort when a (damaged or hostile) size cannot be had.
    let mut buf = Vec::new();
    buf.try_reserve_exact(size.saturating_add(slack))?;
    if slack > 0 {
        advise_huge_pages(buf.spare_capacity_mut());
    }
    file.read_to_end(&mut buf)?;
    Ok(buf)
}

const HUGE: usize = 2 << 20;

/// Ask the kernel to back the whole 2 MiB pages inside `buf` with huge pages. Advice
/// only: refused or unsupported advice changes nothing.
#[cfg(target_os = "linux")]
fn advise_huge_pages<T>(buf: &mut [T]) {
    let start = buf.as_mut_ptr() as usize;
    let end = start + std::mem::size_of_val(buf);
    // madvise needs page-aligned bounds; only whole huge pages can be huge anyway.
    let Some(first) = start.checked_next_multiple_of(HUGE) else {
        return;
    };
    let last = end - end % HUGE;
    if last > first {
        // SAFETY: [first, last) lies inside `buf`, which we borrow exclusively, so no
        // other reference observes it. MADV_HUGEPAGE changes only how the kernel backs
        // those pages, never their contents or validity; an error (e.g. THP disabled)
        // leaves the memory as it was, so the result is ignored.
        unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                last - first,
                libc::MADV_HUGEPAGE,
            );
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages<T>(_: &mut [T]) {}

#[cfg(test)]
mod tests {
    #[test]
    fn read_file_reads_small_and_large_files_whole() {
        let dir = tempfile::tempdir().unwrap();
        for size in [0, 10, (3 << 20) + 17] {
            let path = dir.path().join(format!("f{size}"));
            let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            std::fs::write(&path, &bytes).unwrap();
            assert_eq!(super::read_file(&path).unwrap(), bytes);
        }
        assert!(super::read_file(&dir.path().join("absent")).is_err());
    }

    #[test]
    fn huge_buffers_are_zeroed_and_sized() {
        for n in [0, 1, 1000, 3 << 20] {
            let v: Vec<f32> = super::zeroed_huge(n);
            assert_eq!(v.len(), n);
            assert!(v.iter().all(|&x| x == 0.0));
        }
    }
}
