//! H5MD files (MDAnalysis, ZnH5MD, LAMMPS, ESPResSo write them): the coordinates at
//! /particles/GROUP/position/value (frames x atoms x 3, f32 or f64, any chunking), step and
//! time in explicit (one per frame) or fixed (a scalar increment plus an `offset`
//! attribute) mode, `unit` attributes converted to Angstrom, an optional periodic box, and
//! elements from /particles/GROUP/species when the file has them.

use super::hdf5::{dataset, input_error, length_scale, read_frames, read_strings, text_attr};
use crate::error::Result;
use crate::topology::{element_of_number, element_symbol, Topology};
use crate::trajectory::{Chunk, Format, Frame, FrameInfo, FrameReader, OpenOptions, Segment, Trajectory};
use crate::units::LengthUnit;
use crate::vec3::M3;
use hdf5::types::TypeDescriptor;
use ndarray::s;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The periodic cell: none, one for the whole file, or one per frame.
#[derive(Clone, Debug)]
pub enum CellLayout {
    /// No periodic box, a box with no periodic dimension, or `--no-unwrap`: frames come
    /// without a cell.
    None,
    /// One cell for every frame, rows the cell vectors, in Angstrom.
    Fixed(M3),
    /// A (frames, 3) or (frames, 3, 3) dataset, scaled to Angstrom.
    PerFrame {
        /// Path of the box's `edges/value` dataset.
        dataset: String,
        /// Multiplies its values into Angstrom: the box's own `unit`, else the positions'.
        scale: f64,
    },
}

/// Where an H5MD file's frames are, worked out once at open so that each reader only
/// opens datasets.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Absolute path of the (frames, atoms, 3) position dataset.
    pub position: String,
    /// Multiplies file lengths into Angstrom.
    pub scale: f64,
    /// The periodic box the frames carry.
    pub cell: CellLayout,
}

/// The most that HDF5's deflate filter shrinks data (zlib's limit is 1032:1).
const MAX_COMPRESSION: u128 = 1032;

/// Steps or times of `n` frames from an H5MD `step`/`time` element: a dataset of one
/// value per frame, or a scalar increment with an optional `offset` attribute.
fn per_frame(group: &hdf5::Group, name: &str, n: usize, path: &Path) -> Result<Option<Vec<f64>>> {
    if !group.link_exists(name) {
        return Ok(None);
    }
    let ds = dataset(group, name, path)?;
    let what = format!("{}/{name}", group.name());
    let err = |e: hdf5::Error| input_error(path, format!("cannot read {what}: {e}"));
    if ds.is_scalar() {
        let increment: f64 = ds.read_scalar().map_err(err)?;
        let offset: f64 = match ds.attr("offset") {
            Ok(a) => a.read_scalar().map_err(err)?,
            Err(_) => 0.0,
        };
        return Ok(Some((0..n).map(|i| offset + i as f64 * increment).collect()));
    }
    // Checked before reading: a damaged file's shape can claim more values than memory holds.
    if ds.size() != n {
        return Err(input_error(path, format!("{what} has {} values but there are {n} frames", ds.size())));
    }
    Ok(Some(ds.read_raw::<f64>().map_err(err)?))
}

fn species(group: &hdf5::Group, atoms: usize, path: &Path) -> Result<Option<Vec<Option<&'static str>>>> {
    if !group.link_exists("species") {
        return Ok(None);
    }
    let ds = if group.group("species").is_ok() { dataset(group, "species/value", path)? } else { dataset(group, "species", path)? };
    let what = ds.name();
    let err = |e: hdf5::Error| input_error(path, format!("cannot read {what}: {e}"));
    let shape = ds.shape();
    let per_frame = shape.len() == 2;
    if shape.last() != Some(&atoms) || shape.len() > 2 {
        return Err(input_error(path, format!("{what} has shape {shape:?}, expected ({atoms},) or (frames, {atoms})")));
    }
    let descriptor = ds.dtype().and_then(|t| t.to_descriptor()).map_err(err)?;
    let text = matches!(
        descriptor,
        TypeDescriptor::VarLenUnicode | TypeDescriptor::VarLenAscii | TypeDescriptor::FixedAscii(_) | TypeDescriptor::FixedUnicode(_)
    );
    let elements = if text {
        let mut names = read_strings(&ds, &what, path)?;
        names.truncate(atoms);
        names
            .iter()
            .map(|n| element_symbol(n).map(Some).ok_or_else(|| input_error(path, format!("unknown element '{n}' in {what}"))))
            .collect::<Result<Vec<_>>>()?
    } else {
        let numbers: Vec<f64> = if per_frame { ds.read_slice_1d(s![0, ..]).map_err(err)?.to_vec() } else { ds.read_raw().map_err(err)? };
        numbers
            .iter()
            .map(|&z| {
                let ok = z.fract() == 0.0;
                ok.then(|| element_of_number(z as i64))
                    .flatten()
                    .map(Some)
                    .ok_or_else(|| input_error(path, format!("{what} holds {z}, which is not an atomic number")))
            })
            .collect::<Result<Vec<_>>>()?
    };
    Ok(Some(elements))
}

fn matrix_from(values: &[f64], scale: f64) -> M3 {
    let mut m = [[0.0; 3]; 3];
    if values.len() == 3 {
        for k in 0..3 {
            m[k][k] = values[k] * scale;
        }
    } else {
        for k in 0..9 {
            m[k / 3][k % 3] = values[k] * scale;
        }
    }
    m
}

fn cell_layout(group: &hdf5::Group, frames: usize, position_scale: f64, path: &Path) -> Result<CellLayout> {
    let Ok(bx) = group.group("box") else { return Ok(CellLayout::None) };
    let boundary = if bx.link_exists("boundary") {
        read_strings(&*dataset(&bx, "boundary", path)?, "box/boundary", path)?
    } else if bx.attr_names().map(|n| n.iter().any(|n| n == "boundary")).unwrap_or(false) {
        let attr = bx.attr("boundary").map_err(|e| input_error(path, e.to_string()))?;
        read_strings(&attr, "box boundary", path)?
    } else {
        vec!["periodic".into(); 3]
    };
    if !boundary.iter().any(|b| b.trim() == "periodic") || !bx.link_exists("edges") {
        return Ok(CellLayout::None);
    }
    let time_dependent = bx.group("edges").is_ok();
    let ds = if time_dependent { dataset(&bx, "edges/value", path)? } else { dataset(&bx, "edges", path)? };
    let scale = match text_attr(&ds, "unit", "box edges unit", path)? {
        Some(u) => length_scale(Some(&u), &ds.name(), None, path)?,
        None => position_scale,
    };
    let shape = ds.shape();
    let err = |e: hdf5::Error| input_error(path, format!("cannot read {}: {e}", ds.name()));
    if time_dependent {
        let ok = shape.first() == Some(&frames) && (shape[1..] == [3] || shape[1..] == [3, 3]);
        if !ok {
            return Err(input_error(
                path,
                format!(
                    "{} has shape {shape:?}, expected ({frames}, 3) or ({frames}, 3, 3), one cell per frame (--no-unwrap ignores the box)",
                    ds.name()
                ),
            ));
        }
        return Ok(CellLayout::PerFrame { dataset: ds.name(), scale });
    }
    if !(shape == [3] || shape == [3, 3]) {
        return Err(input_error(path, format!("{} has shape {shape:?}, expected (3,) or (3, 3)", ds.name())));
    }
    Ok(CellLayout::Fixed(matrix_from(&ds.read_raw::<f64>().map_err(err)?, scale)))
}

/// Opens `/particles/GROUP` (`opts.group`, else the first group HDF5 lists) as one segment
/// of frames delivered in Angstrom. Steps are rounded to integers; times stay in the file's
/// time unit, which becomes the trajectory's `time_unit`.
pub fn open(path: &Path, file: &hdf5::File, opts: &OpenOptions) -> Result<Trajectory> {
    let particles = file.group("particles").map_err(|e| input_error(path, e.to_string()))?;
    let names = particles.member_names().map_err(|e| input_error(path, e.to_string()))?;
    let name = match &opts.group {
        Some(g) if names.contains(g) => g.clone(),
        Some(g) => {
            return Err(input_error(path, format!("has no particles group '{g}' (it has: {})", names.join(", "))));
        }
        None => names.first().cloned().ok_or_else(|| input_error(path, "has no group under /particles"))?,
    };
    let group = particles.group(&name).map_err(|e| input_error(path, e.to_string()))?;
    let position_path = format!("/particles/{name}/position/value");
    let ds = dataset(file, &position_path, path)?;
    let shape = ds.shape();
    if shape.len() != 3 || shape[2] != 3 {
        return Err(input_error(path, format!("{position_path} has shape {shape:?}, expected (frames, atoms, 3)")));
    }
    let (n, atoms) = (shape[0], shape[1]);
    if n == 0 || atoms == 0 {
        return Err(input_error(path, format!("{position_path} is empty (shape {shape:?})")));
    }
    // The frame table and the topology are allocated from the shape, and a chunked dataset
    // may claim any shape while storing nothing (a 10 kB file claiming 10^8 atoms took 14 GB
    // of topology): the shape must be one the stored bytes can hold. A value takes 4 bytes
    // at least (f32) and deflate, HDF5's compression, shrinks 1032:1 at most.
    let stored = ds.storage_size();
    let values = (n as u128) * (atoms as u128) * 3;
    if values * 4 > u128::from(stored) * MAX_COMPRESSION {
        return Err(input_error(
            path,
            format!(
                "{position_path} has shape {shape:?} but stores {stored} bytes, too few for its values even compressed (a damaged file?)"
            ),
        ));
    }
    // A failed allocation would abort the process.
    let too_large = || input_error(path, format!("{position_path} has shape {shape:?}, too large to index (a damaged file?)"));
    let mut frames = Vec::new();
    frames.try_reserve_exact(n).map_err(|_| too_large())?;
    Vec::<crate::topology::Atom>::new().try_reserve_exact(atoms).map_err(|_| too_large())?;
    let unit = text_attr(&ds, "unit", &format!("the unit of {position_path}"), path)?;
    let scale = length_scale(unit.as_deref(), &position_path, opts.length_unit.as_deref(), path)?;
    let position = group.group("position").map_err(|e| input_error(path, e.to_string()))?;
    let steps = per_frame(&position, "step", n, path)?;
    let times = per_frame(&position, "time", n, path)?;
    let time_unit =
        if position.link_exists("time") { text_attr(&**dataset(&position, "time", path)?, "unit", "time unit", path)? } else { None };
    let elements = species(&group, atoms, path)?.unwrap_or_else(|| vec![None; atoms]);
    let cell = if opts.no_cell { CellLayout::None } else { cell_layout(&group, n, scale, path)? };
    frames.extend((0..n).map(|i| FrameInfo {
        index: i,
        key: i as u64,
        step: steps.as_ref().map(|s| s[i].round() as i64),
        time: times.as_ref().map(|t| t[i]),
        wepy: None,
    }));
    Ok(Trajectory {
        path: path.into(),
        format: Format::H5md(Layout { position: position_path.clone(), scale, cell }),
        topology: Arc::new(Topology::from_elements(elements)),
        segments: vec![Segment { dataset: position_path, first: 0, frames: n }],
        frames: Arc::new(frames),
        length_unit: LengthUnit::angstrom(),
        time_unit,
    })
}

/// A worker's own handle on an H5MD file: datasets stay open between chunks.
pub struct Reader {
    path: PathBuf,
    position: hdf5::Dataset,
    cell: Option<hdf5::Dataset>,
    layout: Layout,
    frames: Arc<Vec<FrameInfo>>,
    atoms: Range<usize>,
}

impl Reader {
    /// Opens the file again for this reader; each frame will hold only the atoms in `atoms`.
    pub fn new(t: &Trajectory, layout: &Layout, atoms: Range<usize>) -> Result<Reader> {
        let file = super::hdf5::open(&t.path)?;
        let position = dataset(&file, &layout.position, &t.path)?;
        let cell = match &layout.cell {
            CellLayout::PerFrame { dataset: d, .. } => Some(dataset(&file, d, &t.path)?),
            _ => None,
        };
        Ok(Reader { path: t.path.clone(), position, cell, layout: layout.clone(), frames: t.frames.clone(), atoms })
    }
}

impl FrameReader for Reader {
    fn read_chunk(&mut self, c: &Chunk) -> Result<Vec<Frame>> {
        let xyz = read_frames(&self.position, c.start, c.step, c.count, self.atoms.clone(), &self.path)?;
        let cells: Vec<Option<M3>> = match (&self.layout.cell, &self.cell) {
            (CellLayout::PerFrame { scale, .. }, Some(ds)) => {
                let end = c.start + c.step * (c.count - 1) + 1;
                let err = |e: hdf5::Error| input_error(&self.path, format!("cannot read {}: {e}", ds.name()));
                let flat: Vec<f64> = if ds.ndim() == 2 {
                    ds.read_slice_2d::<f64, _>(s![c.start..end;c.step, ..]).map_err(err)?.iter().copied().collect()
                } else {
                    ds.read_slice::<f64, _, ndarray::Ix3>(s![c.start..end;c.step, .., ..]).map_err(err)?.iter().copied().collect()
                };
                let per = flat.len() / c.count;
                flat.chunks(per).map(|m| Some(matrix_from(m, *scale))).collect()
            }
            (CellLayout::Fixed(m), _) => vec![Some(*m); c.count],
            _ => vec![None; c.count],
        };
        let first = c.start;
        Ok((0..c.count)
            .map(|k| {
                let positions = xyz
                    .slice(s![k, .., ..])
                    .outer_iter()
                    .map(|p| [p[0] * self.layout.scale, p[1] * self.layout.scale, p[2] * self.layout.scale])
                    .collect();
                Frame { info: self.frames[first + k * c.step].clone(), positions, cell: cells[k] }
            })
            .collect())
    }
}
