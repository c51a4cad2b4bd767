//! The input parsers against damaged and hostile inputs: the defects found in them, each
//! with its exact message, and property tests that feed the .bod, PDB and radii parsers
//! arbitrary bytes and arbitrary sequences of their own keywords, numbers (NaN, inf, huge,
//! negative), truncated lines, byte-order marks and CRLF, and the HDF5 readers byte-mutated
//! copies of small valid H5MD and WepyHDF5 files. Every case must end within
//! `CASE_LIMIT` without a panic, either Ok or with an error whose message names the file.
//!
//! Case counts (release, 2 cores, the whole file in about 10 s): `TEXT_CASES` for each
//! text property, `HDF5_CASES` for each HDF5 one, each HDF5 case in a child process.
//!
//! What the HDF5 fuzzing found that trajwalk cannot fix: on about one damaged H5MD file in
//! a hundred the HDF5 C library (1.10) segfaults or corrupts its heap in H5HG_read, or
//! spends seconds filling a damaged variable-length string's length in H5T__conv_vlen,
//! reading a `unit` attribute. Those cases are printed and their files kept, and fail only
//! with TRAJWALK_STRICT_HDF5_FUZZ=1.

mod common;

use common::h5::{mdtraj_topology, positions, write_wepy, H5md, Save, Steps};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::TestCaseError;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::OnceLock;
use std::time::Duration;
use trajwalk::error::Error;
use trajwalk::radii::RadiiTable;
use trajwalk::trajectory::{Chunk, Frame, OpenOptions, Trajectory};

const TEXT_CASES: u32 = 1500;
const HDF5_CASES: u32 = 250;
/// Far above what any case takes (well under a millisecond for text, a few for HDF5), so
/// only a hang trips it, even on a loaded machine.
const CASE_LIMIT: Duration = Duration::from_secs(10);
/// The bound for a child process opening a damaged HDF5 file: well above the tens of
/// milliseconds one takes, and short, since the C library's own hangs on damaged files
/// (see `Outcome::Failed`) each cost this much.
const HDF5_CASE_LIMIT: Duration = Duration::from_secs(3);

fn scratch(name: &str) -> PathBuf {
    common::scratch("parser-props", name)
}

/// A fresh path per case: HDF5 recognises a file it has open by its inode, so a file
/// rewritten in place could be answered from a stale open handle.
fn case_path(tag: &str, ext: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    scratch(&format!("{tag}-{}.{ext}", NEXT.fetch_add(1, Ordering::Relaxed)))
}

fn config(cases: u32) -> ProptestConfig {
    // No regression files in the source tree: what the fuzzing found is kept as the
    // explicit tests at the top of this file.
    ProptestConfig { cases, failure_persistence: None, max_shrink_time: 30_000, ..ProptestConfig::default() }
}

/// Runs `f` on its own thread: a panic or a run past `CASE_LIMIT` fails the case (a hang
/// leaves its thread behind, which only matters to a run that already failed).
fn bounded<T: Send + 'static>(what: String, f: impl FnOnce() -> T + Send + 'static) -> Result<T, TestCaseError> {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(CASE_LIMIT) {
        Ok(v) => {
            let _ = handle.join();
            Ok(v)
        }
        Err(RecvTimeoutError::Timeout) => Err(TestCaseError::fail(format!("{what}: still running after {CASE_LIMIT:?}"))),
        Err(RecvTimeoutError::Disconnected) => {
            let payload = handle.join().expect_err("the thread ended without sending");
            let message = payload.downcast_ref::<String>().cloned().or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()));
            Err(TestCaseError::fail(format!("{what} panicked: {}", message.unwrap_or_default())))
        }
    }
}

/// An error must say what is wrong and name the file.
fn names_the_file(e: &Error, path: &Path) -> Result<(), TestCaseError> {
    let m = e.to_string();
    prop_assert!(!m.trim().is_empty(), "empty message for {}", path.display());
    prop_assert!(m.contains(&path.display().to_string()), "'{m}' does not name {}", path.display());
    Ok(())
}

/// Opens `path` and reads its first frames (at most 4) through a reader of every atom, as a
/// run would.
fn open_and_read(path: &Path) -> Result<(Trajectory, Vec<Frame>), Error> {
    let t = Trajectory::open(path, &OpenOptions::default())?;
    let mut reader = t.reader(0..t.topology.len())?;
    let mut frames = vec![];
    for f in 0..t.len().min(4) {
        let (segment, start) = t.locate(f);
        frames.extend(reader.read_chunk(&Chunk { segment, start, step: 1, count: 1 })?);
    }
    Ok((t, frames))
}

/// Writes `bytes` to a new file with extension `ext`, opens and reads it under the time
/// bound, and checks the outcome: frames of the topology's size, or an error naming the file.
fn check_input(tag: &str, ext: &str, bytes: Vec<u8>) -> Result<Option<(Trajectory, Vec<Frame>)>, TestCaseError> {
    let path = case_path(tag, ext);
    std::fs::write(&path, &bytes).unwrap();
    let p = path.clone();
    let outcome = bounded(format!("opening {}", path.display()), move || open_and_read(&p));
    let _ = std::fs::remove_file(&path);
    match outcome? {
        Ok((t, frames)) => {
            prop_assert!(!t.topology.is_empty() && !t.is_empty(), "{}: opened with no atoms or no frames", path.display());
            for f in &frames {
                prop_assert_eq!(f.positions.len(), t.topology.len());
            }
            Ok(Some((t, frames)))
        }
        Err(e) => {
            names_the_file(&e, &path)?;
            Ok(None)
        }
    }
}

fn check_radii(text: String) -> Result<(), TestCaseError> {
    let path = Path::new("radii.txt");
    let parsed = bounded("parsing a radii table".into(), move || RadiiTable::parse(&text, Path::new("radii.txt")))?;
    match parsed {
        Ok(t) => prop_assert_eq!(t.source, "radii.txt"),
        Err(e) => names_the_file(&e, path)?,
    }
    Ok(())
}

fn check_radii_file(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let path = case_path("radii", "txt");
    std::fs::write(&path, &bytes).unwrap();
    let spec = path.display().to_string();
    let parsed = bounded(format!("reading {spec}"), move || RadiiTable::named_or_file(&spec))?;
    let _ = std::fs::remove_file(&path);
    if let Err(e) = parsed {
        names_the_file(&e, &path)?;
    }
    Ok(())
}

/// A .bod body must come out walkable in its numbers: finite centres, positive radii.
fn check_bod(tag: &str, bytes: Vec<u8>) -> Result<(), TestCaseError> {
    if let Some((_, frames)) = check_input(tag, "bod", bytes)? {
        prop_assert!(frames[0].positions.iter().flatten().all(|v| v.is_finite()), "{:?}", frames[0].positions);
    }
    Ok(())
}

// ---------------------------------------------------------------- what the fuzzing found

fn open_err(path: &Path) -> String {
    Trajectory::open(path, &OpenOptions::default()).unwrap_err().to_string()
}

#[test]
fn a_truncated_pdb_atom_line_is_reported_as_itself_at_open() {
    // Its element columns are cut off too, so before the fix the run failed on the missing
    // element first (or, with --radius, on the coordinates only once reading began).
    let path = scratch("truncated.pdb");
    std::fs::write(&path, "ATOM      1  CA  ALA A   1      11.104  6\nEND\n").unwrap();
    assert_eq!(open_err(&path), format!("{}, line 1: z coordinate '' is not a number", path.display()));
    std::fs::write(
        &path,
        "MODEL 1\nATOM      1  XX  ALA A   1       1.000   2.000   3.000\nENDMDL\nMODEL 2\nATOM      1  XX  ALA A   1       1.0\n",
    )
    .unwrap();
    assert_eq!(open_err(&path), format!("{}, line 5: y coordinate '' is not a number", path.display()));
    // As a topology only the names matter: coordinates are not read.
    let t = trajwalk::io::pdb::read_topology(&path).unwrap();
    assert_eq!(t.len(), 1);
}

#[test]
fn a_byte_order_mark_is_skipped_by_the_text_readers() {
    let bod = scratch("bom.bod");
    std::fs::write(&bod, "\u{feff}SPHERE 0 0 0 2\r\nSPHERE 3 0 0 1\r\n").unwrap();
    let (t, frames) = open_and_read(&bod).unwrap();
    assert_eq!(t.topology.len(), 2);
    assert_eq!(frames[0].positions, vec![[0.0, 0.0, 0.0], [3.0, 0.0, 0.0]]);

    let radii = RadiiTable::parse("\u{feff}CA 1.9\nN 1.6\n", Path::new("r.txt")).unwrap();
    assert_eq!(radii.get("CA"), Some(1.9));

    let pdb = scratch("bom.pdb");
    std::fs::write(
        &pdb,
        "\u{feff}ATOM      1  N   ALA A   1       1.000   2.000   3.000  1.00  0.00           N\r\n\
         ATOM      2  CA  ALA A   1       2.000   2.000   3.000  1.00  0.00           C\r\nEND\r\n",
    )
    .unwrap();
    let (t, frames) = open_and_read(&pdb).unwrap();
    assert_eq!(t.topology.atoms.iter().map(|a| a.element).collect::<Vec<_>>(), vec![Some("N"), Some("C")]);
    assert_eq!(frames[0].positions, vec![[1.0, 2.0, 3.0], [2.0, 2.0, 3.0]]);
    // The same with models, which are read by seeking to where each starts.
    std::fs::write(
        &pdb,
        "\u{feff}MODEL        1\nATOM      1  N   ALA A   1       1.000   2.000   3.000\nENDMDL\n\
         MODEL        2\nATOM      1  N   ALA A   1       4.000   2.000   3.000\nENDMDL\n",
    )
    .unwrap();
    let (_, frames) = open_and_read(&pdb).unwrap();
    assert_eq!(frames.iter().map(|f| f.positions[0][0]).collect::<Vec<_>>(), vec![1.0, 4.0]);
}

#[test]
fn a_wepy_file_of_no_atoms_is_refused_at_open() {
    let path = scratch("no-atoms.wepy.h5");
    write_wepy(&path, &mdtraj_topology(&[]), None, "nanometer", &[vec![ndarray::Array3::zeros((2, 0, 3))]]);
    assert_eq!(
        open_err(&path),
        format!("{}: /runs/0/trajectories/0/positions is empty: it holds no atoms (shape [2, 0, 3])", path.display())
    );
}

#[test]
fn a_conect_bond_listed_only_from_its_higher_serial_is_kept() {
    let path = scratch("conect.pdb");
    std::fs::write(
        &path,
        "ATOM      1  C   LIG A   1       0.000   0.000   0.000\nATOM      2  O   LIG A   1       1.200   0.000   0.000\n\
         ATOM      3  N   LIG A   1       2.400   0.000   0.000\nCONECT    2    1    3\nCONECT    3    3\nEND\n",
    )
    .unwrap();
    let t = Trajectory::open(&path, &OpenOptions::default()).unwrap();
    assert_eq!(t.topology.bonds, vec![[0, 1], [1, 2]]);
}

#[test]
fn non_finite_cryst1_values_and_overflowing_bod_lengths_are_refused() {
    let path = scratch("nan-cell.pdb");
    std::fs::write(
        &path,
        "CRYST1   30.000      nan   30.000  90.00  90.00  90.00 P 1           1\nATOM      1  C   LIG A   1       0.000   0.000   0.000\n",
    )
    .unwrap();
    assert_eq!(open_err(&path), format!("{}, line 1: CRYST1 value 'nan' is not a finite number", path.display()));
    let bod = scratch("huge.bod");
    std::fs::write(&bod, "HUNITS 1e300 m\nSPHERE 1e10 0 0 1\n").unwrap();
    assert_eq!(
        open_err(&bod),
        format!("invalid body: {}: lengths times the HUNITS scale 1e300 are out of range (infinite or zero)", bod.display())
    );
    std::fs::write(&bod, "HUNITS 1e-300 m\nSPHERE 0 0 0 1e-300\n").unwrap();
    assert_eq!(
        open_err(&bod),
        format!("invalid body: {}: lengths times the HUNITS scale 1e-300 are out of range (infinite or zero)", bod.display())
    );
}

// ---------------------------------------------------------------------------- strategies

/// Number-like tokens: ordinary values, the special spellings Rust's parser accepts (NaN,
/// inf), overflow, underflow, negative zero, and near misses.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (-1000.0..1000.0f64).prop_map(|v| format!("{v:.3}")),
        1 => any::<f64>().prop_map(|v| v.to_string()),
        1 => any::<i64>().prop_map(|v| v.to_string()),
        2 => select(vec![
            "nan", "NaN", "-nan", "inf", "-inf", "infinity", "+Infinity", "1e308", "1e309", "-1e309", "0", "-0", "0.0", "1e-320",
            "-1", "-0.5", "1", "2", "1.5.2", "0x10", "+3", ".5", "5.", "e5", "1e", "--1", "1_000", "", "\u{ff11}", "1,5",
        ])
        .prop_map(String::from),
        1 => "[-+.eE0-9a-z]{1,8}",
    ]
}

fn unit() -> impl Strategy<Value = String> {
    select(vec!["m", "cm", "nm", "A", "L", "pm", "C", "K", "F", "Da", "kDa", "g", "kg", "p", "cp", "furlong", ""]).prop_map(String::from)
}

/// A document of lines, maybe with a byte-order mark, CRLF endings, no final newline, or
/// cut short anywhere (at a character boundary, the text parsers taking &str).
fn document(lines: impl Strategy<Value = Vec<String>>) -> impl Strategy<Value = String> {
    (any::<bool>(), lines, any::<bool>(), any::<bool>(), proptest::option::weighted(0.2, any::<Index>())).prop_map(
        |(bom, lines, crlf, last_newline, cut)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = if bom { "\u{feff}".to_string() } else { String::new() };
            text.push_str(&lines.join(eol));
            if last_newline {
                text.push_str(eol);
            }
            if let Some(cut) = cut {
                let mut at = cut.index(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                text.truncate(at);
            }
            text
        },
    )
}

fn bod_line() -> impl Strategy<Value = String> {
    let keyword = select(vec![
        "SPHERE",
        "SPHERE",
        "SPHERE",
        "sphere",
        "Atom",
        "ST",
        "RLAUNCH",
        "HUNITS",
        "UNITS",
        "TEMP",
        "MASS",
        "VISCOSITY",
        "BF",
        "CUBE",
        "TRAJECTORY",
        "VOXELS",
        "BLOB",
        "#",
        "",
        "\u{feff}SPHERE",
    ]);
    let token = prop_oneof![4 => number(), 1 => unit(), 1 => Just("#".to_string())];
    (keyword, proptest::collection::vec(token, 0..7), "[ \t]{0,2}").prop_map(|(k, args, pad)| format!("{pad}{k} {}", args.join(" ")))
}

fn radii_line() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        select(vec!["C", "CA", "ca", "N", "O", "Fe", "O1'", "*", "", "#", "\u{feff}C"]).prop_map(String::from),
        "[A-Za-z0-9']{1,4}",
    ];
    (key, proptest::collection::vec(number(), 0..3), proptest::option::of("#[ -~]{0,8}"))
        .prop_map(|(k, r, comment)| format!("{k} {} {}", r.join(" "), comment.unwrap_or_default()))
}

/// A PDB coordinate: usually the format's own 8.3, sometimes a token of another width,
/// which shifts the columns after it.
fn coordinate() -> impl Strategy<Value = String> {
    prop_oneof![4 => (-999.0..9999.0f64).prop_map(|v| format!("{v:8.3}")), 1 => number()]
}

fn atom_line() -> impl Strategy<Value = String> {
    (
        select(vec!["ATOM  ", "HETATM", "ATOM  ", "ATOM"]),
        prop_oneof![(0..12i64).prop_map(|s| s.to_string()), "[ -~]{0,5}"],
        select(vec!["N", "CA", "C", "O", "CL", "MW", "OW", "1HB", "", "FE", "Na"]),
        select(vec!["ALA", "SOL", "NA", "CL", "LIG", ""]),
        select(vec!["A", "B", " ", "1"]),
        select(vec!["1", "-5", "9999", "A000", "x", "", "10000"]),
        (coordinate(), coordinate(), coordinate()),
        select(vec!["C", "N", "O", "CL", "FE", "XX", "", "1", "c"]),
        proptest::option::weighted(0.3, 0..82usize),
    )
        .prop_map(|(record, serial, name, resname, chain, resid, (x, y, z), element, cut)| {
            let mut l = format!(
                "{record:<6}{serial:>5} {name:<4} {resname:<3} {chain:1}{resid:>4}    {x:>8}{y:>8}{z:>8}  1.00  0.00          {element:>2}"
            );
            if let Some(cut) = cut {
                let mut at = cut.min(l.len());
                while !l.is_char_boundary(at) {
                    at -= 1;
                }
                l.truncate(at);
            }
            l
        })
}

fn pdb_line() -> impl Strategy<Value = String> {
    let length = prop_oneof![3 => (0.5..100.0f64).prop_map(|v| format!("{v:9.3}")), 1 => number()];
    let angle = prop_oneof![3 => (0.0..180.0f64).prop_map(|v| format!("{v:7.2}")), 1 => number()];
    let cryst1 = (length.clone(), length.clone(), length, angle.clone(), angle.clone(), angle)
        .prop_map(|(a, b, c, al, be, ga)| format!("CRYST1{a:>9}{b:>9}{c:>9}{al:>7}{be:>7}{ga:>7} P 1           1"));
    let serial = prop_oneof![4 => (0..12i64).prop_map(|s| format!("{s:>5}")), 1 => "[ -~]{0,6}"];
    let conect = proptest::collection::vec(serial, 0..6).prop_map(|s| format!("CONECT{}", s.concat()));
    prop_oneof![
        8 => atom_line(),
        1 => cryst1,
        2 => select(vec!["MODEL        1", "MODEL", "ENDMDL", "END", "TER", "REMARK   1 x", "", "END   "]).prop_map(String::from),
        1 => conect,
        1 => "[ -~]{0,80}",
    ]
}

/// A few bytes of `bytes` flipped, overwritten, or the file cut short.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    Truncate(Index),
}

fn mutations(max: usize) -> impl Strategy<Value = Vec<Mutation>> {
    let one = prop_oneof![
        4 => (any::<Index>(), 0..8u8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        4 => (any::<Index>(), any::<u8>()).prop_map(|(i, v)| Mutation::Set(i, v)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
    ];
    proptest::collection::vec(one, 1..=max)
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        match m {
            Mutation::Flip(i, bit) => {
                let i = i.index(bytes.len());
                bytes[i] ^= 1 << bit;
            }
            Mutation::Set(i, v) => {
                let i = i.index(bytes.len());
                bytes[i] = *v;
            }
            Mutation::Truncate(i) => bytes.truncate(i.index(bytes.len())),
        }
    }
    bytes
}

/// Set in the child process an HDF5 case runs in, to the file it opens.
const CHILD_VAR: &str = "TRAJWALK_PARSER_PROPS_CHILD";
/// Starts the child's report line, apart from whatever else the test harness prints.
const MARK: &str = "parser-props-outcome:";

/// What a child process found opening one damaged HDF5 file.
enum Outcome {
    Opened {
        atoms: usize,
        frames: usize,
        read: usize,
    },
    Refused,
    /// Killed by a signal (SIGSEGV, or SIGABRT from glibc's heap checks) with no Rust
    /// panic or allocation failure, or still running at `HDF5_CASE_LIMIT`: the HDF5 C
    /// library corrupting memory or looping on a damaged file, as every such case the
    /// fuzzing found was (see the top of this file).
    Failed(String),
}

/// Not a test of its own: the child process each HDF5 case runs in, so that a crash of the
/// HDF5 C library on a damaged file ends one case, not the test binary.
#[test]
fn hdf5_case_child() {
    let Some(path) = std::env::var_os(CHILD_VAR) else { return };
    match open_and_read(Path::new(&path)) {
        Ok((t, frames)) => println!(
            "\n{MARK} ok {} {} {}",
            t.topology.len(),
            t.len(),
            frames.iter().filter(|f| f.positions.len() == t.topology.len()).count()
        ),
        Err(e) => println!("\n{MARK} err {e}"),
    }
}

/// Opens `path` in a child process under the time bound. A Rust panic or a failed
/// allocation (a size taken from the damaged file unchecked) fails the case; a crash in the
/// C library is returned, for the caller to count.
fn open_in_child(path: &Path) -> Result<Outcome, TestCaseError> {
    let mut child = {
        let _lock = common::hdf5_fork_lock();
        // At most 2 GiB of address space: a damaged length that the C library allocates
        // and fills is then an error there, not gigabytes of a shared machine's memory.
        std::process::Command::new("sh")
            .args(["-c", "ulimit -v 2097152 && exec \"$0\" \"$@\""])
            .arg(std::env::current_exe().unwrap())
            .args(["hdf5_case_child", "--exact", "--nocapture", "--test-threads=1", "-q"])
            .env(CHILD_VAR, path)
            .env("RUST_BACKTRACE", "0")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > HDF5_CASE_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Outcome::Failed(format!("still running after {HDF5_CASE_LIMIT:?}")));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    prop_assert!(!stderr.contains("panicked at"), "opening {} panicked: {stderr}", path.display());
    prop_assert!(!stderr.contains("memory allocation of"), "opening {} allocated from an unchecked size: {stderr}", path.display());
    if let Some(line) = stdout.lines().find_map(|l| l.strip_prefix(MARK)) {
        prop_assert!(status.success(), "{}: {status}", path.display());
        let line = line.trim();
        if let Some(message) = line.strip_prefix("err ") {
            prop_assert!(
                !message.trim().is_empty() && message.contains(&path.display().to_string()),
                "'{message}' does not name {}",
                path.display()
            );
            return Ok(Outcome::Refused);
        }
        let n: Vec<usize> = line.trim_start_matches("ok ").split(' ').map(|v| v.parse().unwrap()).collect();
        return Ok(Outcome::Opened { atoms: n[0], frames: n[1], read: n[2] });
    }
    use std::os::unix::process::ExitStatusExt;
    prop_assert!(status.signal().is_some(), "opening {}: no outcome, {status}: {stderr}", path.display());
    Ok(Outcome::Failed(format!("{status}, {}", stderr.trim())))
}

/// Opens a damaged copy in a child; a crash or hang of the HDF5 C library is printed and
/// its file kept, but fails the case only with TRAJWALK_STRICT_HDF5_FUZZ=1, as trajwalk
/// cannot prevent it.
fn check_hdf5(tag: &str, ext: &str, bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let path = case_path(tag, ext);
    std::fs::write(&path, &bytes).unwrap();
    let outcome = open_in_child(&path)?;
    match outcome {
        Outcome::Opened { atoms, frames, read } => {
            prop_assert!(
                atoms > 0 && frames > 0 && read == frames.min(4),
                "{}: {atoms} atoms, {frames} frames, {read} read",
                path.display()
            );
        }
        Outcome::Refused => {}
        Outcome::Failed(how) => {
            let kept = scratch(&format!("crash-{}", path.file_name().unwrap().to_string_lossy()));
            std::fs::copy(&path, &kept).unwrap();
            let report = format!("{}: {how}", kept.display());
            eprintln!("the HDF5 C library failed on a damaged file (kept): {report}");
            prop_assert!(std::env::var_os("TRAJWALK_STRICT_HDF5_FUZZ").is_none(), "{report}");
        }
    }
    let _ = std::fs::remove_file(&path);
    Ok(())
}

fn valid_h5md() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let path = scratch("valid.h5md");
        let mut f = H5md::new(positions(3, 4, |i, a| [1.5 * a as f64, 0.1 * i as f64, 0.0]));
        f.single_precision = true;
        f.unit = Some("nm");
        f.species = Some(vec![6, 7, 8, 16]);
        f.steps = Steps::Explicit { steps: vec![0, 10, 20], times: vec![0.0, 0.5, 1.0] };
        f.box_edges = Some(vec![3.0, 3.0, 3.1]);
        f.write(&path);
        std::fs::read(&path).unwrap()
    })
}

fn valid_wepy() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let path = scratch("valid-wepy.h5");
        let topology = mdtraj_topology(&[("C1", "C", "LIG"), ("O1", "O", "LIG"), ("N1", "N", "LIG")]);
        let traj = |seed: f64| positions(2, 3, move |c, a| [seed + 0.1 * c as f64, 0.15 * a as f64, 0.0]);
        write_wepy(&path, &topology, None, "nanometer", &[vec![traj(0.0), traj(1.0)]]);
        std::fs::read(&path).unwrap()
    })
}

// ------------------------------------------------------------------------------ properties

proptest! {
    #![proptest_config(config(TEXT_CASES))]

    #[test]
    fn bod_token_sequences(text in document(proptest::collection::vec(bod_line(), 0..12))) {
        check_bod("bod-tokens", text.into_bytes())?;
    }

    #[test]
    fn bod_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check_bod("bod-bytes", bytes)?;
    }

    #[test]
    fn bod_mutated_token_sequences(text in document(proptest::collection::vec(bod_line(), 1..8)), m in mutations(4)) {
        check_bod("bod-mutated", mutate(text.into_bytes(), &m))?;
    }

    #[test]
    fn pdb_record_sequences(text in document(proptest::collection::vec(pdb_line(), 0..16))) {
        check_input("pdb-records", "pdb", text.into_bytes())?;
    }

    #[test]
    fn pdb_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        check_input("pdb-bytes", "pdb", bytes)?;
    }

    #[test]
    fn pdb_mutated_record_sequences(text in document(proptest::collection::vec(pdb_line(), 1..10)), m in mutations(4)) {
        check_input("pdb-mutated", "pdb", mutate(text.into_bytes(), &m))?;
    }

    #[test]
    fn radii_token_sequences(text in document(proptest::collection::vec(radii_line(), 0..10))) {
        check_radii(text)?;
    }

    #[test]
    fn radii_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        check_radii(String::from_utf8_lossy(&bytes).into_owned())?;
        check_radii_file(bytes)?;
    }
}

proptest! {
    #![proptest_config(config(HDF5_CASES))]

    #[test]
    fn h5md_byte_mutations(m in mutations(3)) {
        check_hdf5("h5md", "h5md", mutate(valid_h5md().to_vec(), &m))?;
    }

    #[test]
    fn wepy_byte_mutations(m in mutations(3)) {
        check_hdf5("wepy", "h5", mutate(valid_wepy().to_vec(), &m))?;
    }
}

#[test]
fn the_unmutated_hdf5_files_open() {
    for (tag, ext, bytes) in [("h5md-valid", "h5md", valid_h5md()), ("wepy-valid", "h5", valid_wepy())] {
        let path = case_path(tag, ext);
        std::fs::write(&path, bytes).unwrap();
        let (t, frames) = open_and_read(&path).unwrap();
        assert_eq!((t.topology.len(), frames.len()), (if tag == "h5md-valid" { 4 } else { 3 }, if tag == "h5md-valid" { 3 } else { 4 }));
    }
}
