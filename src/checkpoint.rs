//! A run's checkpoint: each finished frame's result committed to an SQLite file as it
//! completes, so a run killed at any moment resumes where it stopped and ends with the same
//! bits as one that never stopped.
//!
//! Why SQLite, in WAL mode with `synchronous=NORMAL`: a commit is atomic, so a SIGKILL
//! loses only the frames still being computed and never leaves a half-written row; a power
//! loss may lose the last few commits but cannot corrupt the file. One fsync per checkpoint
//! of the WAL instead of one per frame keeps the cost far below a frame's compute.
//!
//! A checkpoint belongs to one input and one set of parameters: its `identity` (the input's
//! path, size and content fingerprint, and every parameter that changes numbers) is stored
//! with it, and opening it with a different identity is refused, naming what differs.
//! Frames are keyed by their seed key, which does not depend on which frames were selected,
//! so a run over more frames reuses what a shorter run computed.

use crate::compute::{FrameResult, LaunchInfo};
use crate::error::{Error, Result};
use crate::estimate::{Estimate, Quantity};
use crate::job::Job;
use crate::trajectory::FrameInfo;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Format of the tables and of the encoded results; a checkpoint of another version is
/// refused rather than misread. 2: each stored result carries its warnings and a checksum.
const SCHEMA: &str = "2";

/// SQLite's `PRAGMA application_id` of a trajwalk checkpoint ("TRJW"): the mark, read before
/// anything is written, that the database is ours. `--checkpoint` pointed at another
/// program's database emptied its `frames` table before failing; now such a file is refused
/// untouched.
const APPLICATION_ID: i32 = 0x5452_4a57;

/// Named values that must match for a checkpoint to be reused (`input.path`, `walks`, ...).
pub type Identity = BTreeMap<String, String>;

/// An open checkpoint file: one row per frame keyed by its seed key, each write its own
/// commit, so a kill loses only the frames in flight. It is held exclusively (SQLite's
/// exclusive locking mode) from the open to the drop, so no other run can relabel or write
/// it meanwhile: a `--fresh` run once relabelled a checkpoint another run still committed to,
/// and the next resume took 78 of its 98 frames from other walks.
pub struct Checkpoint {
    conn: Connection,
    path: PathBuf,
}

/// What an opened checkpoint already holds.
#[derive(Debug, Default)]
pub struct Resume {
    /// Keys of frames with a stored result.
    pub finished: HashSet<u64>,
    /// Frames that failed last time, with their errors; they are computed again.
    pub failed: Vec<(usize, String)>,
    /// Frames whose stored result fails its checksum (a damaged file): computed again, and
    /// said, rather than used.
    pub damaged: Vec<usize>,
}

/// 64-bit FNV-1a: a fingerprint, not a defence against a forger.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(mut self, data: &[u8]) -> Fnv {
        for &b in data {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self
    }
    fn hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Bytes read at a time by [`fingerprint`]: a whole number of its 32-byte stripes.
const READ_BYTES: usize = 1 << 20;

/// A file's size and a 64-bit hash of every byte of it, so that an edit anywhere, of any
/// size, is a different input: the sampled fingerprint this replaced (4 MB of a file) let a
/// same-size edit elsewhere in a 14 MB XYZ resume stale frames. Four lanes multiply and
/// rotate the file's 8-byte words, several GB/s, so reading the file, not hashing it, is
/// the cost (README, "Checkpoints", gives it).
pub fn fingerprint(path: &Path) -> Result<(u64, String)> {
    let io = |error| Error::Io { path: path.into(), error };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let mut hash = Stripes::new(size);
    let mut buf = vec![0u8; READ_BYTES];
    loop {
        // Fill the buffer (a read may return less), so stripes never straddle two reads.
        let mut filled = 0;
        while filled < buf.len() {
            match file.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io(e)),
            }
        }
        hash.add(&buf[..filled]);
        if filled < buf.len() {
            return Ok((size, format!("{:016x}", hash.finish())));
        }
    }
}

/// The word hash of [`fingerprint`]: not a defence against a forger, but every bit of the
/// input reaches the result, in order.
struct Stripes {
    lanes: [u64; 4],
    /// Bytes after the last whole stripe, hashed at the end.
    tail: Vec<u8>,
}

impl Stripes {
    const PRIME: u64 = 0x9E37_79B1_85EB_CA87;

    fn new(seed: u64) -> Stripes {
        Stripes { lanes: [seed, seed ^ 0xC2B2_AE3D_27D4_EB4F, seed.rotate_left(17), !seed], tail: vec![] }
    }

    /// Adds `data`; only the last call may pass a length that is not a multiple of 32.
    fn add(&mut self, data: &[u8]) {
        let mut stripes = data.chunks_exact(32);
        for stripe in &mut stripes {
            for (lane, word) in self.lanes.iter_mut().zip(stripe.chunks_exact(8)) {
                let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
                *lane = (*lane ^ w).wrapping_mul(Self::PRIME).rotate_left(31);
            }
        }
        self.tail.extend_from_slice(stripes.remainder());
    }

    fn finish(self) -> u64 {
        let mut h = self.lanes.iter().fold(0u64, |h, &l| (h ^ l).wrapping_mul(Self::PRIME).rotate_left(27));
        for &b in &self.tail {
            h = (h ^ u64::from(b)).wrapping_mul(Self::PRIME).rotate_left(11);
        }
        h ^ (h >> 29)
    }
}

fn hash_f64s(values: impl IntoIterator<Item = f64>) -> String {
    values.into_iter().fold(Fnv::new(), |h, v| h.bytes(&v.to_bits().to_le_bytes())).hex()
}

fn hash_usizes(values: impl IntoIterator<Item = usize>) -> String {
    values.into_iter().fold(Fnv::new(), |h, v| h.bytes(&(v as u64).to_le_bytes())).hex()
}

/// Everything that decides a frame's numbers besides the frame itself: the input file, the
/// atoms, their radii (as resolved, so an edited radii file counts), unwrapping, the body
/// and sampling options and the physical conditions. Strategy, threads, chunking and the
/// frame selection are absent because they never change a frame's numbers.
pub fn identity(job: &Job) -> Result<Identity> {
    let t = &job.trajectory;
    // Every file of a chain, in order, joined by newlines (a single input as before).
    let (mut paths, mut sizes, mut contents) = (vec![], vec![], vec![]);
    for file in t.files() {
        let path = std::fs::canonicalize(file).map_err(|error| Error::Io { path: file.into(), error })?;
        let (size, content) = fingerprint(&path)?;
        paths.push(path.display().to_string());
        sizes.push(size.to_string());
        contents.push(content);
    }
    let json = |v: serde_json::Value| v.to_string();
    let mut id = Identity::new();
    id.insert("input.path".into(), paths.join("\n"));
    id.insert("input.size".into(), sizes.join("\n"));
    id.insert("input.fingerprint".into(), contents.join("\n"));
    id.insert("input.format".into(), t.format.name().into());
    id.insert("input.datasets".into(), json(serde_json::json!(t.segments.iter().map(|s| &s.dataset).collect::<Vec<_>>())));
    id.insert("length_unit".into(), t.length_unit.name.clone());
    id.insert("atoms".into(), format!("{} ({})", job.atoms.len(), hash_usizes(job.atoms.iter().copied())));
    id.insert("bonds".into(), hash_usizes(job.topology.bonds.iter().flat_map(|&[a, b]| [a, b])));
    id.insert("radii".into(), hash_f64s(job.radii.iter().copied()));
    id.insert(format!("{DETAIL}radii"), job.radii.iter().map(f64::to_string).collect::<Vec<_>>().join(" "));
    id.insert("unwrap".into(), job.unwrap.to_string());
    id.insert("launch".into(), format!("{:?}", job.body.launch));
    id.insert("launch_radius".into(), json(serde_json::json!(job.body.launch_radius)));
    id.insert("skin_thickness".into(), json(serde_json::json!(job.body.skin_thickness)));
    let s = &job.sampling;
    id.insert("walks".into(), s.walks.to_string());
    id.insert("interior".into(), s.interior_samples.to_string());
    id.insert("seed".into(), s.seed.to_string());
    id.insert("max_rsd_capacitance".into(), json(serde_json::json!(s.max_rsd_capacitance)));
    id.insert("max_rsd_polarizability".into(), json(serde_json::json!(s.max_rsd_polarizability)));
    id.insert("max_rsd_volume".into(), json(serde_json::json!(s.max_rsd_volume)));
    id.insert("estimator".into(), s.estimator.name().into());
    id.insert("conditions".into(), json(serde_json::json!(job.conditions)));
    Ok(id)
}

impl Checkpoint {
    /// Opens or creates the checkpoint at `path` for a run with `identity` and holds it
    /// until dropped: exclusively, so that the write-ahead log needs no shared-memory index
    /// (which network filesystems lack) and no other run can use it meanwhile (other
    /// processes cannot read it either). An existing one made with another identity is
    /// refused unless `fresh`, which empties it; a file that is not a trajwalk checkpoint is
    /// refused before anything is written to it.
    pub fn open(path: &Path, identity: &Identity, fresh: bool) -> Result<(Checkpoint, Resume)> {
        let refuse = |message: String| Error::Checkpoint { path: path.into(), message };
        let err = |e: rusqlite::Error| refuse(describe(path, &e));
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(err)?;
        // Before the first access to the WAL: only then does SQLite keep its index in the
        // heap rather than in a -shm file.
        conn.query_row("PRAGMA locking_mode=EXCLUSIVE", [], |_| Ok(())).map_err(err)?;
        // Whose database this is, read before the first write (setting WAL mode is one).
        let application: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(err)?;
        let tables: Vec<String> = {
            let mut q = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map_err(err)?;
            let names = q.query_map([], |r| r.get(0)).map_err(err)?;
            names.collect::<rusqlite::Result<_>>().map_err(err)?
        };
        // A checkpoint written before the mark: exactly our two tables, with our schema row.
        let legacy = application == 0
            && tables == ["frames", "identity"]
            && conn.query_row("SELECT count(*) FROM identity WHERE name = 'schema'", [], |r| r.get::<_, i64>(0)).is_ok_and(|n| n == 1);
        if !(application == APPLICATION_ID || legacy || (application == 0 && tables.is_empty())) {
            return Err(refuse(format!(
                "is not a trajwalk checkpoint but another program's SQLite database (application id {application:#x}, tables: {}), \
                 so nothing was written to it; give another --checkpoint file",
                if tables.is_empty() { "none".to_string() } else { tables.join(", ") }
            )));
        }
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(refuse(format!("cannot use write-ahead logging (journal mode {mode})")));
        }
        // Taken now and kept to the drop (exclusive locking mode never gives it back).
        conn.execute_batch(&format!(
            "BEGIN EXCLUSIVE;
             PRAGMA application_id = {APPLICATION_ID};
             COMMIT;
             PRAGMA synchronous=NORMAL;
             CREATE TABLE IF NOT EXISTS identity (name TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS frames (
                 key INTEGER PRIMARY KEY,
                 frame INTEGER NOT NULL,
                 result BLOB,
                 error TEXT,
                 finished_at TEXT NOT NULL DEFAULT (datetime('now')));"
        ))
        .map_err(err)?;
        let mut stored = Identity::new();
        {
            let mut q = conn.prepare("SELECT name, value FROM identity").map_err(err)?;
            let rows = q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(err)?;
            for row in rows {
                let (k, v) = row.map_err(err)?;
                stored.insert(k, v);
            }
        }
        let mut wanted = identity.clone();
        wanted.insert("schema".into(), SCHEMA.into());
        let cp = Checkpoint { conn, path: path.into() };
        if fresh || stored.is_empty() {
            cp.reset(&wanted)?;
            return Ok((cp, Resume::default()));
        }
        let differs = differences(&stored, &wanted);
        if !differs.is_empty() {
            return Err(Error::Checkpoint {
                path: path.into(),
                message: format!(
                    "was made for another input or other parameters: {}; use --fresh to discard it, or another --checkpoint file",
                    differs.join("; ")
                ),
            });
        }
        let resume = cp.resume()?;
        Ok((cp, resume))
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        Error::Checkpoint { path: self.path.clone(), message: describe(&self.path, &e) }
    }

    fn reset(&self, identity: &Identity) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute_batch("DELETE FROM frames; DELETE FROM identity;").map_err(|e| self.err(e))?;
        for (k, v) in identity {
            tx.execute("INSERT INTO identity (name, value) VALUES (?1, ?2)", params![k, v]).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// What the checkpoint holds; every stored result is checked against its checksum here,
    /// so a damaged one is computed again rather than delivered.
    fn resume(&self) -> Result<Resume> {
        let mut resume = Resume::default();
        let mut q = self.conn.prepare("SELECT key, frame, result, error FROM frames ORDER BY frame").map_err(|e| self.err(e))?;
        let rows = q
            .query_map([], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<Vec<u8>>>(2)?, r.get::<_, Option<String>>(3)?))
            })
            .map_err(|e| self.err(e))?;
        for row in rows {
            match row.map_err(|e| self.err(e))? {
                (key, frame, Some(blob), _) => match unseal(key as u64, &blob) {
                    Some(_) => {
                        resume.finished.insert(key as u64);
                    }
                    None => resume.damaged.push(frame as usize),
                },
                (_, frame, None, error) => resume.failed.push((frame as usize, error.unwrap_or_default())),
            }
        }
        Ok(resume)
    }

    /// Commits a finished frame.
    pub fn record(&self, info: &FrameInfo, result: &FrameResult) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO frames (key, frame, result, error) VALUES (?1, ?2, ?3, NULL)",
                params![info.key as i64, info.index as i64, seal(info.key, result)],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Records that a frame failed, so the next run reports it and computes it again.
    pub fn record_failure(&self, info: &FrameInfo, error: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO frames (key, frame, result, error) VALUES (?1, ?2, NULL, ?3)",
                params![info.key as i64, info.index as i64, error],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// A finished frame's stored result, exactly as it was computed.
    pub fn load(&self, key: u64) -> Result<FrameResult> {
        let blob: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT result FROM frames WHERE key = ?1", params![key as i64], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?
            .flatten();
        let blob =
            blob.ok_or_else(|| Error::Checkpoint { path: self.path.clone(), message: format!("frame key {key} has no stored result") })?;
        unseal(key, &blob).ok_or_else(|| Error::Checkpoint {
            path: self.path.clone(),
            message: format!("the stored result of frame key {key} is damaged"),
        })
    }
}

/// An SQLite error as a checkpoint's message: a file SQLite cannot read says to delete it
/// (`--fresh` cannot empty what SQLite cannot open), and a lock names the process holding it.
fn describe(path: &Path, e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseCorrupt, DatabaseLocked, NotADatabase};
    match e.sqlite_error_code() {
        Some(NotADatabase | DatabaseCorrupt) => format!(
            "cannot be read as a checkpoint ({e}); if it is a damaged checkpoint, delete it (and its -wal file) to start over: \
             --fresh cannot empty a file SQLite cannot read"
        ),
        Some(DatabaseBusy | DatabaseLocked) => match holder(path) {
            Some((pid, command)) => {
                format!("is in use by another run (process {pid}: {command}); wait for it to end, or give another --checkpoint file")
            }
            None => "is in use by another run (on another host, or one whose lock is not listed here); \
                     wait for it to end, or give another --checkpoint file"
                .into(),
        },
        _ => e.to_string(),
    }
}

/// The process holding a lock on `path` and its command line, from the kernel's list of
/// file locks (/proc/locks, Linux; a lock taken on another NFS client is not listed).
fn holder(path: &Path) -> Option<(u32, String)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    let dev = m.dev();
    // glibc's major() and minor() of a dev_t, as /proc/locks writes them.
    let (major, minor) = (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff), (dev & 0xff) | ((dev >> 12) & !0xff));
    let file = format!("{major:02x}:{minor:02x}:{}", m.ino());
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    // Another process's lock first: this process may hold a lock of its own on the file
    // while it waits for the holder's.
    let pids: Vec<u32> = locks
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 6 && f[1] == "POSIX" && f[5] == file).then(|| f[4].parse().ok()).flatten()
        })
        .collect();
    let pid = pids.iter().copied().find(|&p| p != std::process::id()).or(pids.first().copied())?;
    let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let mut command = argv.split(|&b| b == 0).filter(|a| !a.is_empty()).map(String::from_utf8_lossy).collect::<Vec<_>>().join(" ");
    if command.chars().count() > 200 {
        command = command.chars().take(200).collect::<String>() + "...";
    }
    Some((pid, if command.is_empty() { "command unknown".into() } else { command }))
}

/// Identity entries under this prefix are not compared: they explain a difference that a
/// compared entry (a hash) found, such as which radius changed.
const DETAIL: &str = "detail.";

/// "walks: 2000 in the checkpoint, 1000000 now" for each name whose value differs; for the
/// radii, which are compared by hash, the first radius that differs.
fn differences(stored: &Identity, wanted: &Identity) -> Vec<String> {
    let names: std::collections::BTreeSet<&String> = stored.keys().chain(wanted.keys()).filter(|n| !n.starts_with(DETAIL)).collect();
    names
        .into_iter()
        .filter(|n| stored.get(*n) != wanted.get(*n))
        .map(|n| {
            let detail = format!("{DETAIL}{n}");
            if let (Some(a), Some(b)) = (stored.get(&detail), wanted.get(&detail)) {
                let (a, b): (Vec<&str>, Vec<&str>) = (a.split(' ').collect(), b.split(' ').collect());
                if let Some(k) = (0..a.len().max(b.len())).find(|&k| a.get(k) != b.get(k)) {
                    let show = |v: Option<&&str>| v.map_or("(none)".to_string(), |s| s.to_string());
                    return format!(
                        "{n}: the first that differs is selected atom {k}'s, {} in the checkpoint, {} now",
                        show(a.get(k)),
                        show(b.get(k))
                    );
                }
            }
            let show = |v: Option<&String>| v.map_or("(none)".to_string(), |s| s.clone());
            format!("{n}: {} in the checkpoint, {} now", show(stored.get(n)), show(wanted.get(n)))
        })
        .collect()
}

/// A result as little-endian words: every f64 by its bits, so a loaded result is the
/// computed one bit for bit (NaN included, which JSON could not carry).
pub(crate) fn encode(r: &FrameResult) -> Vec<u8> {
    let mut b = Out(Vec::with_capacity(64 + r.estimates.len() * 64));
    for v in [r.walks, r.interior_samples, r.hits, r.steps, u64::from(r.converged)] {
        b.word(v);
    }
    let l = &r.launch;
    for v in [l.center[0], l.center[1], l.center[2], l.radius, l.enclosing_radius, l.skin_thickness, r.seconds] {
        b.f64(v);
    }
    b.word(r.estimates.len() as u64);
    for e in &r.estimates {
        b.counted(e.quantity.name().as_bytes()).word(e.value.len() as u64);
        for &v in e.value.iter().chain(&e.std) {
            b.f64(v);
        }
    }
    b.0
}

/// Writes what [`Words`] reads: little-endian words, f64s by their bits, and bytes after
/// their count; the transport's messages are written with it too.
#[derive(Default)]
pub(crate) struct Out(pub(crate) Vec<u8>);

impl Out {
    pub(crate) fn word(&mut self, v: u64) -> &mut Self {
        self.0.extend(v.to_le_bytes());
        self
    }
    pub(crate) fn f64(&mut self, v: f64) -> &mut Self {
        self.word(v.to_bits())
    }
    /// Bytes after a word giving their count.
    pub(crate) fn counted(&mut self, b: &[u8]) -> &mut Self {
        self.word(b.len() as u64);
        self.0.extend(b);
        self
    }
    pub(crate) fn text(&mut self, s: &str) -> &mut Self {
        self.counted(s.as_bytes())
    }
    pub(crate) fn maybe(&mut self, s: &Option<String>) -> &mut Self {
        match s {
            Some(s) => self.word(1).text(s),
            None => self.word(0),
        }
    }
}

/// Reads the words `encode` wrote, failing on a short blob; the transport's messages
/// (which carry frame results in this encoding) read their other fields with it too.
pub(crate) struct Words<'a>(pub(crate) &'a [u8]);

impl Words<'_> {
    pub(crate) fn word(&mut self) -> Option<u64> {
        let (head, rest) = self.0.split_first_chunk::<8>()?;
        self.0 = rest;
        Some(u64::from_le_bytes(*head))
    }
    pub(crate) fn f64(&mut self) -> Option<f64> {
        self.word().map(f64::from_bits)
    }
    pub(crate) fn f64s(&mut self, n: usize) -> Option<Vec<f64>> {
        (0..n).map(|_| self.f64()).collect()
    }
    pub(crate) fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        let data = self.0;
        let (head, rest) = (data.len() >= n).then(|| data.split_at(n))?;
        self.0 = rest;
        Some(head)
    }
    /// Bytes after a word giving their count.
    pub(crate) fn counted(&mut self) -> Option<&[u8]> {
        let n = usize::try_from(self.word()?).ok()?;
        self.bytes(n)
    }
    pub(crate) fn text(&mut self) -> Option<String> {
        String::from_utf8(self.counted()?.to_vec()).ok()
    }
    pub(crate) fn maybe(&mut self) -> Option<Option<String>> {
        match self.word()? {
            0 => Some(None),
            1 => self.text().map(Some),
            _ => None,
        }
    }
    pub(crate) fn count(&mut self, each: usize) -> Option<usize> {
        let n = usize::try_from(self.word()?).ok()?;
        (n.checked_mul(each)? <= self.0.len()).then_some(n)
    }
}

/// A result as the checkpoint stores it: [`encode`]'s words, its warnings (which a resumed
/// frame reports as the computed one did), then a checksum: FNV-1a of the frame's key and
/// everything before it. A changed byte or bit anywhere, the key's included, fails the
/// checksum (each FNV step is a bijection of its state), so a damaged row is never used
/// for another frame or with other numbers.
fn seal(key: u64, r: &FrameResult) -> Vec<u8> {
    let mut b = Out(encode(r));
    b.word(r.warnings.len() as u64);
    for w in &r.warnings {
        b.text(w);
    }
    let sum = Fnv::new().bytes(&key.to_le_bytes()).bytes(&b.0).0;
    b.word(sum);
    b.0
}

/// What [`seal`] wrote for `key`, or None when the checksum or the words disagree.
fn unseal(key: u64, blob: &[u8]) -> Option<FrameResult> {
    let (body, sum) = blob.split_last_chunk::<8>()?;
    if Fnv::new().bytes(&key.to_le_bytes()).bytes(body).0 != u64::from_le_bytes(*sum) {
        return None;
    }
    let mut w = Words(body);
    let mut r = decode_words(&mut w)?;
    let n = w.count(8)?;
    r.warnings = (0..n).map(|_| w.text()).collect::<Option<_>>()?;
    w.0.is_empty().then_some(r)
}

pub(crate) fn decode(blob: &[u8]) -> Option<FrameResult> {
    let mut b = Words(blob);
    let r = decode_words(&mut b)?;
    b.0.is_empty().then_some(r)
}

/// The words of [`encode`] from the front of `b`, leaving what follows them.
fn decode_words(b: &mut Words) -> Option<FrameResult> {
    let [walks, interior_samples, hits, steps, converged] = [b.word()?, b.word()?, b.word()?, b.word()?, b.word()?];
    let launch =
        LaunchInfo { center: [b.f64()?, b.f64()?, b.f64()?], radius: b.f64()?, enclosing_radius: b.f64()?, skin_thickness: b.f64()? };
    let seconds = b.f64()?;
    let n = b.word()? as usize;
    let mut estimates = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let len = b.word()? as usize;
        let quantity = Quantity::from_name(std::str::from_utf8(b.bytes(len)?).ok()?)?;
        let k = b.word()? as usize;
        if k > 9 {
            return None;
        }
        let value = b.f64s(k)?;
        let std = b.f64s(k)?;
        estimates.push(Estimate { quantity, value, std });
    }
    Some(FrameResult { estimates, walks, interior_samples, hits, steps, converged: converged != 0, launch, seconds, warnings: vec![] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_anywhere_in_the_input_changes_its_fingerprint() {
        // 14 MB like the XYZ, whose same-size edit in a page the old fingerprint did
        // not sample resumed stale frames; every byte position class is tried: the first,
        // inside a stripe, at a 1 MiB read boundary, the tail after the last stripe, the last.
        let dir = std::env::temp_dir().join(format!("trajwalk-fingerprint-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.xyz");
        let mut data: Vec<u8> = (0..14_000_007u64).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let (size, original) = fingerprint(&path).unwrap();
        assert_eq!(size, 14_000_007);
        assert_eq!(fingerprint(&path).unwrap().1, original, "the same bytes, the same fingerprint");
        for at in [0, 13, 7_000_003, READ_BYTES - 1, READ_BYTES, 13_999_999, 14_000_006] {
            data[at] ^= 0x04;
            std::fs::write(&path, &data).unwrap();
            assert_ne!(fingerprint(&path).unwrap().1, original, "a bit flipped at byte {at}");
            data[at] ^= 0x04;
        }
        std::fs::write(&path, &data[..data.len() - 1]).unwrap();
        assert_ne!(fingerprint(&path).unwrap().1, original, "one byte shorter");
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn result() -> FrameResult {
        FrameResult {
            estimates: vec![
                Estimate { quantity: Quantity::Capacitance, value: vec![1.0 / 3.0], std: vec![f64::NAN] },
                Estimate { quantity: Quantity::GyrationEigenvalues, value: vec![1.0, -0.0, f64::INFINITY], std: vec![0.1, 0.2, 5e-324] },
            ],
            walks: 7,
            interior_samples: 11,
            hits: 5,
            steps: 1234,
            converged: false,
            launch: LaunchInfo { center: [0.1, -0.2, 0.3], radius: 2.0, enclosing_radius: 1.5, skin_thickness: 1e-6 },
            seconds: 0.25,
            warnings: vec![],
        }
    }

    fn bits(r: &FrameResult) -> Vec<u64> {
        r.estimates.iter().flat_map(|e| e.value.iter().chain(&e.std).map(|v| v.to_bits())).collect()
    }

    #[test]
    fn a_stored_result_comes_back_bit_for_bit() {
        let r = result();
        let back = decode(&encode(&r)).expect("decodes");
        assert_eq!(bits(&back), bits(&r));
        assert_eq!((back.walks, back.interior_samples, back.hits, back.steps, back.converged), (7, 11, 5, 1234, false));
        assert_eq!(back.launch, r.launch);
        let mut cut = encode(&r);
        cut.pop();
        assert!(decode(&cut).is_none(), "a truncated blob is refused");
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("trajwalk-checkpoint-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        path
    }

    fn id() -> Identity {
        [("walks".to_string(), "100".to_string())].into()
    }

    fn info(index: usize) -> FrameInfo {
        FrameInfo { index, key: 1000 + index as u64, step: None, time: None, wepy: None }
    }

    fn message(path: &Path, fresh: bool) -> String {
        let e = Checkpoint::open(path, &id(), fresh).err().expect("refused").to_string();
        e.replace(&path.display().to_string(), "cp")
    }

    /// Another program's database is refused as it was found: its `frames` table was
    /// emptied before the open failed, and a checkpoint now carries SQLite's application id.
    #[test]
    fn another_programs_database_is_refused_untouched() {
        let path = scratch("other.sqlite");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE frames (id INTEGER, name TEXT); INSERT INTO frames VALUES (1, 'keep me'); CREATE TABLE users (x);",
            )
            .unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        for fresh in [false, true] {
            assert_eq!(
                message(&path, fresh),
                "checkpoint cp: is not a trajwalk checkpoint but another program's SQLite database (application id 0x0, \
                 tables: frames, users), so nothing was written to it; give another --checkpoint file"
            );
        }
        assert_eq!(std::fs::read(&path).unwrap(), before, "not a byte changed");
        // Ours are marked, and reopen.
        let ours = scratch("ours.sqlite");
        drop(Checkpoint::open(&ours, &id(), false).unwrap());
        let app: i32 = Connection::open(&ours).unwrap().query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
        assert_eq!(app, APPLICATION_ID);
        assert!(Checkpoint::open(&ours, &id(), false).is_ok());
    }

    /// A file SQLite cannot read says to delete it, with --fresh too (which cannot empty it).
    #[test]
    fn a_file_sqlite_cannot_read_says_to_delete_it() {
        let path = scratch("garbage.sqlite");
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        for fresh in [false, true] {
            assert_eq!(
                message(&path, fresh),
                "checkpoint cp: cannot be read as a checkpoint (file is not a database); if it is a damaged checkpoint, delete it \
                 (and its -wal file) to start over: --fresh cannot empty a file SQLite cannot read"
            );
        }
    }

    /// A stored frame whose bytes changed, or whose key did, fails its checksum on resume
    /// and is listed to be computed again; the others resume with their warnings.
    #[test]
    fn damaged_frames_are_recomputed_and_warnings_are_kept() {
        let path = scratch("damaged.sqlite");
        {
            let (cp, _) = Checkpoint::open(&path, &id(), false).unwrap();
            let mut warned = result();
            warned.warnings = vec!["the body spans 58.93 A".into(), "second".into()];
            for k in 0..4 {
                cp.record(&info(k), &warned).unwrap();
            }
        }
        {
            let c = Connection::open(&path).unwrap();
            let blob: Vec<u8> = c.query_row("SELECT result FROM frames WHERE frame = 1", [], |r| r.get(0)).unwrap();
            let mut flipped = blob.clone();
            flipped[40] ^= 0x08;
            c.execute("UPDATE frames SET result = ?1 WHERE frame = 1", params![flipped]).unwrap();
            // Frame 2's row now claims frame 3's key, and frame 3's row is gone.
            c.execute("DELETE FROM frames WHERE frame = 3", []).unwrap();
            c.execute("UPDATE frames SET key = ?1 WHERE frame = 2", params![info(3).key as i64]).unwrap();
        }
        let (cp, resume) = Checkpoint::open(&path, &id(), false).unwrap();
        assert_eq!(resume.damaged, [1, 2]);
        assert_eq!(resume.finished, HashSet::from([info(0).key]));
        let back = cp.load(info(0).key).unwrap();
        assert_eq!(back.warnings, ["the body spans 58.93 A", "second"]);
        assert_eq!(bits(&back), bits(&result()));
    }

    /// A checkpoint is held from open to drop: a second open, here in the same process, is
    /// refused naming the process that holds it.
    #[test]
    fn a_held_checkpoint_is_refused_naming_its_holder() {
        let path = scratch("held.sqlite");
        let (held, _) = Checkpoint::open(&path, &id(), false).unwrap();
        let argv = std::fs::read("/proc/self/cmdline").unwrap();
        let command = argv.split(|&b| b == 0).filter(|a| !a.is_empty()).map(String::from_utf8_lossy).collect::<Vec<_>>().join(" ");
        let command = if command.chars().count() > 200 { command.chars().take(200).collect::<String>() + "..." } else { command };
        assert_eq!(
            message(&path, true),
            format!(
                "checkpoint cp: is in use by another run (process {}: {command}); wait for it to end, or give another --checkpoint file",
                std::process::id()
            )
        );
        drop(held);
        assert!(Checkpoint::open(&path, &id(), false).is_ok(), "free again once dropped");
    }

    #[test]
    fn differences_name_each_parameter() {
        let a: Identity = [("walks".to_string(), "2000".to_string()), ("seed".into(), "0".into())].into();
        let b: Identity = [("walks".to_string(), "1000".to_string()), ("seed".into(), "0".into()), ("radii".into(), "x".into())].into();
        assert_eq!(differences(&a, &b), vec!["radii: (none) in the checkpoint, x now", "walks: 2000 in the checkpoint, 1000 now"]);
    }

    #[test]
    fn a_radii_difference_names_the_first_radius_that_differs() {
        let id = |hash: &str, radii: &str| -> Identity {
            [("radii".to_string(), hash.to_string()), (format!("{DETAIL}radii"), radii.to_string())].into()
        };
        assert_eq!(
            differences(&id("h1", "1.7 1.55 1.52"), &id("h2", "1.7 1.6 1.52")),
            vec!["radii: the first that differs is selected atom 1's, 1.55 in the checkpoint, 1.6 now"]
        );
        assert!(differences(&id("h", "1.7"), &id("h", "1.9")).is_empty(), "details are not compared");
    }
}
