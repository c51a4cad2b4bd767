//! Memory bounds: what a file's header may make a reader allocate is bounded by what the
//! file can hold. Each case writes a small file whose header claims far more than it holds
//! and opens it under a counting allocator: it must be refused with the exact reason, and
//! the peak of what was allocated meanwhile must stay far below what the claim would take.
//! (An XTC of 256 kB claiming 23 million atoms took 10.2 GB at open.)
//!
//! One test, so that no other test of this binary allocates while a peak is measured.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use trajwalk::trajectory::{OpenOptions, Trajectory};

/// The system allocator, counting the bytes live and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = LIVE.fetch_add(bytes, Ordering::SeqCst) + bytes;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

// SAFETY: every call is passed to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        System.dealloc(p, layout);
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = System.realloc(p, layout, new_size);
        if !q.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
            grew(new_size);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What `f` returns and the most bytes it had allocated at once beyond what was live before.
fn peak_of<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let r = f();
    (r, PEAK.load(Ordering::SeqCst) - base)
}

/// The most a refused open of these small files may allocate: a few buffers of the file's
/// size and the libraries' own tables, never anything sized by the claim.
const BOUND: usize = 16 << 20;

fn scratch(name: &str) -> PathBuf {
    common::scratch("memory", name)
}

/// Opens `path` as a trajectory, expecting a refusal; the message (with the path as
/// "FILE") and the peak allocated.
fn refused_open(path: &Path) -> (String, usize) {
    let (result, peak) = peak_of(|| Trajectory::open_all(&[path.to_path_buf()], &OpenOptions::default()).map(|t| t.topology.len()));
    let message = result.expect_err("a file claiming more than it holds is refused").to_string();
    (message.replace(&path.display().to_string(), "FILE"), peak)
}

fn be(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

/// An XTC frame of `atoms` atoms whose compressed stream is `stream` (from the header's
/// precision on: precision 1000, a range of one integer on each axis, first small size 9).
fn xtc(atoms: u32, stream: &[u8]) -> Vec<u8> {
    let mut b = be(&[1995, atoms, 0, 0]);
    b.extend(be(&[0; 9]));
    b.extend(be(&[atoms, 1000f32.to_bits(), 0, 0, 0, 0, 0, 0, 9, stream.len() as u32]));
    b.extend(stream);
    b
}

#[test]
fn every_header_sized_allocation_is_bounded_by_the_file() {
    let mut peaks = vec![];

    // XTC, a count no stream of this size can hold: 23 million atoms in 256 kB (four atoms a
    // byte at most) is refused from the header.
    let path = scratch("claims.xtc");
    std::fs::write(&path, xtc(23_000_000, &vec![0xff; 256 << 10])).unwrap();
    let (message, peak) = refused_open(&path);
    assert_eq!(message, "FILE: frame 0 at byte 0 claims 23000000 atoms in 262144 bytes of coordinates (a damaged file?)");
    peaks.push(("xtc count beyond the stream", peak));

    // XTC, a count the stream's size allows but its bits do not decode to: the first frame's
    // stream is walked before the topology (1 million atoms, 144 MB) is built.
    let path = scratch("damaged.xtc");
    std::fs::write(&path, xtc(1_000_000, &vec![0xff; 256 << 10])).unwrap();
    let (message, peak) = refused_open(&path);
    assert_eq!(message, "FILE: frame 0: its compressed coordinates are damaged (they end at bit 2097238 of 2097152)");
    peaks.push(("xtc stream that does not decode", peak));

    // DCD: 100 million atoms in a 1 kB file.
    let path = scratch("claims.dcd");
    let mut d = vec![];
    let le = |w: i32| w.to_le_bytes();
    d.extend(le(84));
    d.extend(b"CORD");
    d.extend([0u8; 80]);
    d.extend(le(84));
    d.extend(le(4));
    d.extend(le(0));
    d.extend(le(4));
    d.extend(le(4));
    d.extend(le(100_000_000));
    d.extend(le(4));
    // The first coordinate record's marker agrees with the count; the file then ends.
    d.extend(le(400_000_000));
    d.resize(1024, 0);
    std::fs::write(&path, d).unwrap();
    let (message, peak) = refused_open(&path);
    assert_eq!(message, "FILE: is truncated: its frame 0 runs to byte 1200000140, but the file ends at byte 1024");
    peaks.push(("dcd", peak));

    // PSF: a trillion atoms announced in a few lines.
    let path = scratch("claims.psf");
    std::fs::write(&path, "PSF\n\n 1000000000000 !NATOM\n       1 P 1 ALA N NH3 -0.3 14.007 0\n").unwrap();
    let (result, peak) = peak_of(|| trajwalk::io::formats::read_topology(&path).map(|t| t.len()));
    assert_eq!(
        result.unwrap_err().to_string().replace(&path.display().to_string(), "FILE"),
        "FILE, line 4: the file ends after 1 of the 1000000000000 atoms !NATOM announces"
    );
    peaks.push(("psf", peak));

    // H5MD: a chunked position dataset claiming 10 million atoms and storing nothing (HDF5
    // allocates chunks only as they are written), in a file of a few kB.
    let path = scratch("claims.h5md");
    {
        let _lock = common::hdf5_fork_lock();
        let file = hdf5::File::create(&path).unwrap();
        file.create_group("h5md").unwrap();
        let position = file.create_group("particles").unwrap().create_group("all").unwrap().create_group("position").unwrap();
        position.new_dataset::<f32>().chunk((1, 1024, 3)).shape((1, 10_000_000, 3)).create("value").unwrap();
    }
    assert!(std::fs::metadata(&path).unwrap().len() < 64 << 10);
    let (message, peak) = refused_open(&path);
    assert_eq!(
        message,
        "FILE: /particles/all/position/value has shape [1, 10000000, 3] but stores 0 bytes, too few for its values even compressed \
         (a damaged file?)"
    );
    peaks.push(("h5md", peak));

    for (case, peak) in peaks {
        assert!(peak < BOUND, "{case}: {peak} bytes allocated at once, more than {BOUND}");
    }
}
