//! What the HDF5 readers share: opening a file with a message a user can act on, reading
//! strings whatever their HDF5 string type, and frame-range hyperslabs of (frames, atoms, 3)
//! datasets.

use crate::error::{Error, Result};
use hdf5::types::{FixedAscii, FixedUnicode, TypeDescriptor, VarLenAscii, VarLenUnicode};
use ndarray::{s, Array3};
use std::io::Read;
use std::path::Path;

const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// An [`Error::Input`] for `path`: an HDF5 problem is one of the whole file, not of a line.
pub fn input_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Input { path: path.into(), message: message.into() }
}

/// Angstrom per unit, for the length units H5MD and wepy writers use.
pub fn angstrom_per(unit: &str) -> Option<f64> {
    match unit.trim() {
        "nm" | "nanometer" | "nanometers" => Some(10.0),
        "Angstrom" | "angstrom" | "Ang" | "ang" | "A" | "Å" | "angstroms" => Some(1.0),
        "pm" | "picometer" => Some(0.01),
        "um" | "micrometer" => Some(1e4),
        _ => None,
    }
}

/// Angstrom per unit of `what`: the `unit` the file gives, else the user's `length_unit`
/// (`--length-unit`), else an error: a guessed unit would be a silent factor of ten.
pub fn length_scale(unit: Option<&str>, what: &str, length_unit: Option<&str>, path: &Path) -> Result<f64> {
    const EXPECTED: &str = "expected nm, Angstrom, A, pm or um";
    match (unit, length_unit) {
        // A unit given for a file that states its own is refused rather than ignored (or
        // obeyed: the file knows its coordinates better), unless the two agree.
        (Some(u), Some(l)) if angstrom_per(u).is_some() && angstrom_per(u) != angstrom_per(l) => Err(Error::Option(format!(
            "--length-unit {l}: {what} in {} states its unit, '{u}'; --length-unit is only for files without one",
            path.display()
        ))),
        (Some(u), _) => angstrom_per(u).ok_or_else(|| input_error(path, format!("unknown length unit '{u}' in {what} ({EXPECTED})"))),
        (None, Some(u)) => angstrom_per(u).ok_or_else(|| Error::Option(format!("unknown --length-unit '{u}' ({EXPECTED})"))),
        (None, None) => Err(input_error(path, format!("{what} has no unit attribute: give --length-unit (nm, Angstrom, pm)"))),
    }
}

/// Whether the file starts with HDF5's signature (at 0 or after a user block of 512,
/// 1024, ... bytes, as the format allows).
pub fn is_hdf5(path: &Path) -> Result<bool> {
    let mut f = std::fs::File::open(path).map_err(|error| Error::Io { path: path.into(), error })?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut offset = 0u64;
    let mut buf = [0u8; 8];
    while offset + 8 <= len {
        use std::io::Seek;
        f.seek(std::io::SeekFrom::Start(offset)).map_err(|error| Error::Io { path: path.into(), error })?;
        if f.read_exact(&mut buf).is_ok() && &buf == SIGNATURE {
            return Ok(true);
        }
        offset = if offset == 0 { 512 } else { offset * 2 };
    }
    Ok(false)
}

/// Opens `path` read-only, telling a file that is not HDF5 at all (a wrong extension) from
/// one HDF5 cannot open (truncated or damaged).
pub fn open(path: &Path) -> Result<hdf5::File> {
    if !is_hdf5(path)? {
        return Err(input_error(path, "not an HDF5 file (no HDF5 signature)"));
    }
    hdf5::File::open(path).map_err(|e| input_error(path, format!("cannot be opened as HDF5 (truncated or damaged?): {e}")))
}

/// The dataset `name` (relative to `file`, or absolute), with an error that names it rather
/// than HDF5's own message.
pub fn dataset(file: &hdf5::Group, name: &str, path: &Path) -> Result<hdf5::Dataset> {
    file.dataset(name).map_err(|_| input_error(path, format!("has no dataset {name}")))
}

/// Every element of a string dataset or attribute, as text.
pub fn read_strings(c: &hdf5::Container, what: &str, path: &Path) -> Result<Vec<String>> {
    let err = |e: hdf5::Error| input_error(path, format!("cannot read {what} as text: {e}"));
    let descriptor = c.dtype().and_then(|t| t.to_descriptor()).map_err(err)?;
    let reader = c.as_reader();
    let out = match descriptor {
        TypeDescriptor::VarLenUnicode => reader.read_raw::<VarLenUnicode>().map_err(err)?.iter().map(|s| s.to_string()).collect(),
        TypeDescriptor::VarLenAscii => reader.read_raw::<VarLenAscii>().map_err(err)?.iter().map(|s| s.to_string()).collect(),
        TypeDescriptor::FixedAscii(_) => reader.read_raw::<FixedAscii<256>>().map_err(err)?.iter().map(|s| s.to_string()).collect(),
        TypeDescriptor::FixedUnicode(_) => reader.read_raw::<FixedUnicode<256>>().map_err(err)?.iter().map(|s| s.to_string()).collect(),
        other => return Err(input_error(path, format!("{what} should be text, but it holds {other}"))),
    };
    Ok(out)
}

/// A text attribute of `location`, if it has one.
pub fn text_attr(location: &hdf5::Location, name: &str, what: &str, path: &Path) -> Result<Option<String>> {
    if !location.attr_names().map_err(|e| input_error(path, e.to_string()))?.iter().any(|n| n == name) {
        return Ok(None);
    }
    let attr = location.attr(name).map_err(|e| input_error(path, format!("cannot open {what}: {e}")))?;
    Ok(read_strings(&attr, what, path)?.into_iter().next())
}

/// Frames `start, start+step, ...` (`count` of them) and atoms `atoms` of a (frames, atoms, 3)
/// dataset, in one hyperslab read. The file's type (f32 or f64) is converted to f64 by HDF5.
pub fn read_frames(
    ds: &hdf5::Dataset,
    start: usize,
    step: usize,
    count: usize,
    atoms: std::ops::Range<usize>,
    path: &Path,
) -> Result<Array3<f64>> {
    let end = start + step * (count - 1) + 1;
    ds.read_slice::<f64, _, ndarray::Ix3>(s![start..end;step, atoms, ..])
        .map_err(|e| input_error(path, format!("cannot read frames {start}..{end} of {}: {e}", ds.name())))
}
