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
    /// Reserves a temporary name beside `path`; nothing is created yet.
    pub fn new(path: &Path) -> Result<Staged> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = path.file_name().ok_or_else(|| Error::Output { path: path.into(), message: "is not a file name".into() })?;
        let ext = path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
        let tmp = dir.join(format!(".{}.tmp{}{ext}", name.to_string_lossy(), std::process::id()));
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
        let fail = |e: std::io::Error| Error::Output { path: name.clone(), message: e.to_string() };
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
