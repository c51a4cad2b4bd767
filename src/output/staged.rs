//! Files that appear whole or not at all: written under a temporary name in the target's
//! directory and renamed into place when complete, so a reader (or a crashed run) never
//! leaves a half-written result under the name the user gave.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A file written under a temporary name in its directory and renamed into place by
/// `commit`; dropped uncommitted (an error before any frame), the temporary file is removed.
pub struct Staged {
    path: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

impl Staged {
    /// Reserves a temporary name beside `path`; nothing is created yet. A target that exists
    /// and is not a regular file (a FIFO, a device, a directory) is refused: the rename would
    /// replace it with a regular file. Temporary files that killed runs left for the same
    /// target are removed.
    pub fn new(path: &Path) -> Result<Staged> {
        let fail = |message: &str| Error::Output { path: path.into(), message: message.into() };
        if let Ok(m) = std::fs::metadata(path) {
            if !m.is_file() {
                return Err(fail(
                    "exists and is not a regular file (a FIFO, a device or a directory); results are written under a temporary \
                     name and renamed into place, which would replace it: give a file name",
                ));
            }
        }
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = path.file_name().ok_or_else(|| fail("is not a file name"))?.to_string_lossy().into_owned();
        let ext = path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
        remove_stale(dir, &name, &ext);
        let tmp = dir.join(temporary_name(&name, std::process::id(), &ext));
        Ok(Staged { path: path.into(), tmp, committed: false })
    }

    /// Where the file is written until it is committed.
    pub fn tmp(&self) -> &Path {
        &self.tmp
    }

    /// The name the file gets when committed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the finished file into place.
    pub fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.path).map_err(|e| Error::Output { path: self.path.clone(), message: e.to_string() })?;
        self.committed = true;
        Ok(())
    }
}

/// What makes two paths the same file: device and inode for a file that exists (so a link,
/// `./x` and `../d/x` are caught, not only equal names), else the directory and the name it
/// will have.
#[derive(PartialEq, Eq)]
enum FileId {
    Inode(u64, u64),
    Future(PathBuf, std::ffi::OsString),
}

fn file_id(path: &Path) -> Option<FileId> {
    #[cfg(unix)]
    if let Ok(m) = std::fs::metadata(path) {
        use std::os::unix::fs::MetadataExt;
        return Some(FileId::Inode(m.dev(), m.ino()));
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    Some(FileId::Future(std::fs::canonicalize(dir).ok()?, path.file_name()?.to_owned()))
}

/// Refuses an output that is the same file as an input (the trajectory, its topology, a radii
/// file) or as another output, before anything is written: either would lose data.
/// Each path comes with what it is, for the message.
pub fn check_distinct(inputs: &[(&str, &Path)], outputs: &[(&str, &Path)]) -> Result<()> {
    let ids: Vec<Option<FileId>> = outputs.iter().map(|(_, p)| file_id(p)).collect();
    let input_ids: Vec<Option<FileId>> = inputs.iter().map(|(_, p)| file_id(p)).collect();
    for (k, (what, path)) in outputs.iter().enumerate() {
        let Some(id) = &ids[k] else { continue };
        let clash = inputs
            .iter()
            .zip(&input_ids)
            .find(|(_, input)| input.as_ref() == Some(id))
            .map(|(i, _)| i)
            .or_else(|| outputs[..k].iter().zip(&ids).find(|(_, other)| other.as_ref() == Some(id)).map(|(o, _)| o));
        if let Some((other, other_path)) = clash {
            return Err(Error::Output {
                path: path.to_path_buf(),
                message: format!("the {what} is the same file as the {other} {}: refusing to write over it", other_path.display()),
            });
        }
    }
    Ok(())
}

fn temporary_name(name: &str, pid: u32, ext: &str) -> String {
    format!(".{}.tmp{pid}{ext}", shortened(name, ext))
}

/// The longest file name most filesystems take (NAME_MAX).
const NAME_MAX: usize = 255;

/// `name` cut (at a character boundary) so that `.NAME.tmpPID.EXT` fits in [`NAME_MAX`]
/// bytes whatever the process id: a legal 254-character `--out` name was refused "File name
/// too long" because its temporary name was longer.
fn shortened<'a>(name: &'a str, ext: &str) -> &'a str {
    let room = NAME_MAX.saturating_sub(".".len() + ".tmp".len() + u32::MAX.to_string().len() + ext.len());
    let mut end = name.len().min(room);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// Removes `.NAME.tmpPID.EXT` files in `dir` whose process is gone (a SIGKILL, a power cut):
/// nothing else would, and each can hold a large part of a result. Only where /proc tells
/// which processes live; a file whose process may still run is left alone.
fn remove_stale(dir: &Path, name: &str, ext: &str) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let prefix = format!(".{}.tmp", shortened(name, ext));
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let pid = file.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(ext)).and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid.filter(|&p| p != std::process::id() && !Path::new(&format!("/proc/{p}")).exists()) {
            if file == temporary_name(name, pid, ext) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Where a report goes: standard output, a staged file (committed also when a run stops
/// early, so the frames it finished are kept), or any writer a program hands in.
pub enum Destination {
    /// The process's standard output, flushed at the end.
    Stdout(std::io::BufWriter<std::io::StdoutLock<'static>>),
    /// A file that appears under its name only when the report is finished.
    File {
        /// The reserved temporary name and the final one.
        staged: Staged,
        /// The open temporary file.
        file: std::io::BufWriter<std::fs::File>,
    },
    /// A caller's writer (a buffer, a socket), flushed at the end.
    Writer(Box<dyn Write + Send>),
}

impl Destination {
    /// Standard output when `out` is None, else a staged file at `out`.
    pub fn open(out: Option<&Path>) -> Result<Destination> {
        let Some(path) = out else { return Ok(Destination::Stdout(std::io::BufWriter::new(std::io::stdout().lock()))) };
        let staged = Staged::new(path)?;
        let file = std::fs::File::create(staged.tmp()).map_err(|e| Error::Output { path: path.into(), message: e.to_string() })?;
        Ok(Destination::File { staged, file: std::io::BufWriter::new(file) })
    }

    /// The name errors call this destination by.
    pub fn name(&self) -> PathBuf {
        match self {
            Destination::File { staged, .. } => staged.path().into(),
            Destination::Stdout(_) => "stdout".into(),
            Destination::Writer(_) => "the output writer".into(),
        }
    }

    /// Flushes everything and, for a file, syncs it and renames it into place.
    pub fn commit(self) -> Result<()> {
        let name = self.name();
        let fail = |e: std::io::Error| Error::writing(name.clone(), &e);
        match self {
            Destination::Stdout(mut w) => w.flush().map_err(fail),
            Destination::Writer(mut w) => w.flush().map_err(fail),
            Destination::File { staged, file } => {
                file.into_inner().map_err(|e| e.into_error()).and_then(|f| f.sync_all()).map_err(fail)?;
                staged.commit()
            }
        }
    }
}

impl Write for Destination {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Destination::Stdout(w) => w.write(buf),
            Destination::File { file, .. } => file.write(buf),
            Destination::Writer(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Destination::Stdout(w) => w.flush(),
            Destination::File { file, .. } => file.flush(),
            Destination::Writer(w) => w.flush(),
        }
    }
}
