//! WepyHDF5 files of weighted-ensemble runs: coordinates at
//! /runs/R/trajectories/T/positions (cycles x atoms x 3) and, when present, box_vectors
//! (cycles x 3 x 3); their units at /units/units/positions and /units/units/box_vectors, or
//! /units/units/positions_unit and /units/units/box_vectors_unit as wepy's OpenMM runner
//! names them (or the same under /units); the mdtraj-style JSON topology at /topology,
//! and /_settings/main_rep_idxs when the positions hold a subset of the topology's atoms.
//! The sequence is every selected run's selected trajectories in numeric order; frame
//! (run, traj, cycle) is keyed by that triple.

use super::hdf5::{dataset, input_error, length_scale, read_frames, read_strings};
use crate::error::{Error, Result};
use crate::estimate::{Estimate, Shape};
use crate::topology::{element_symbol, Atom, Topology};
use crate::trajectory::{Chunk, Format, Frame, FrameInfo, FrameReader, OpenOptions, Segment, Trajectory, WepyLabel};
use crate::units::LengthUnit;
use crate::vec3::M3;
use ndarray::s;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How a WepyHDF5 file's lengths convert to Angstrom and where each segment's box is.
#[derive(Clone, Debug)]
pub struct Layout {
    scale: f64,
    box_scale: f64,
    /// Per segment, its box_vectors dataset when it has one.
    cells: Vec<Option<String>>,
}

/// Numeric member names of a group ("0", "1", "10"), in numeric order.
fn indices(group: &hdf5::Group, path: &Path) -> Result<Vec<u64>> {
    let mut out: Vec<u64> =
        group.member_names().map_err(|e| input_error(path, e.to_string()))?.iter().filter_map(|n| n.parse().ok()).collect();
    out.sort_unstable();
    Ok(out)
}

fn pick(available: &[u64], wanted: &Option<Vec<u64>>, what: &str, path: &Path) -> Result<Vec<u64>> {
    let Some(wanted) = wanted else { return Ok(available.to_vec()) };
    for w in wanted {
        if !available.contains(w) {
            let list: Vec<String> = available.iter().map(u64::to_string).collect();
            return Err(input_error(path, format!("has no {what} {w} (it has: {})", list.join(", "))));
        }
    }
    Ok(wanted.clone())
}

/// The unit wepy stored for `field`. WepyHDF5 writes each key of its `units` dict to
/// /units/units/<key>: the field's own name is the key its docs give, `<field>_unit` the
/// key wepy's OpenMM runner (UNIT_NAMES) gives; /units/<key>, without the inner group, is
/// read the same way.
fn unit(file: &hdf5::File, field: &str, path: &Path) -> Result<Option<String>> {
    // The field's own name first: a file with both got it from a deliberate override of the runner's defaults.
    let candidates = ["units/units", "units"].map(|g| [format!("{g}/{field}"), format!("{g}/{field}_unit")]);
    for candidate in candidates.concat() {
        if file.link_exists(&candidate) && file.dataset(&candidate).is_ok() {
            let ds = dataset(file, &candidate, path)?;
            return Ok(read_strings(&ds, &format!("/{candidate}"), path)?.into_iter().next());
        }
    }
    Ok(None)
}

/// The mdtraj JSON topology: chains of residues of atoms, and bonds as index pairs.
pub fn parse_topology(json: &str, path: &Path) -> Result<Topology> {
    let bad = |m: &str| input_error(path, format!("/topology is not an mdtraj JSON topology: {m}"));
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| bad(&e.to_string()))?;
    let mut atoms: Vec<(usize, Atom)> = vec![];
    for chain in v["chains"].as_array().ok_or_else(|| bad("no chains"))? {
        let chain_id = chain["chain_id"].as_str().map(String::from).unwrap_or_else(|| chain["index"].to_string());
        for residue in chain["residues"].as_array().ok_or_else(|| bad("a chain has no residues"))? {
            let resname = residue["name"].as_str().unwrap_or("").to_string();
            let resid = residue["resSeq"].as_i64().or_else(|| residue["index"].as_i64()).unwrap_or(0);
            let segid = residue["segmentID"].as_str().unwrap_or("").trim().to_string();
            for atom in residue["atoms"].as_array().ok_or_else(|| bad("a residue has no atoms"))? {
                let index = atom["index"].as_u64().ok_or_else(|| bad("an atom has no index"))? as usize;
                let element = match atom["element"].as_str().unwrap_or("") {
                    "" | "VS" => None,
                    e => Some(element_symbol(e).ok_or_else(|| input_error(path, format!("/topology: unknown element '{e}'")))?),
                };
                atoms.push((
                    index,
                    Atom {
                        name: atom["name"].as_str().unwrap_or("").to_string(),
                        atom_type: String::new(),
                        element,
                        resname: resname.clone(),
                        resid,
                        chain: chain_id.clone(),
                        segid: segid.clone(),
                    },
                ));
            }
        }
    }
    atoms.sort_by_key(|(i, _)| *i);
    if atoms.iter().enumerate().any(|(k, (i, _))| k != *i) {
        return Err(bad("atom indices are not 0..n"));
    }
    let n = atoms.len();
    let bonds = v["bonds"]
        .as_array()
        .map(|b| {
            b.iter()
                .filter_map(|pair| Some([pair[0].as_u64()? as usize, pair[1].as_u64()? as usize]))
                .filter(|&[a, b]| a < n && b < n)
                .collect()
        })
        .unwrap_or_default();
    Ok(Topology { atoms: atoms.into_iter().map(|(_, a)| a).collect(), bonds })
}

/// Opens the runs and trajectories `opts` selects as one segment per trajectory, in the
/// order `opts` lists them (numeric order when it lists none), frames in Angstrom; each
/// frame's step is its cycle and it has no time.
pub fn open(path: &Path, file: &hdf5::File, opts: &OpenOptions) -> Result<Trajectory> {
    let json = read_strings(&*dataset(file, "topology", path)?, "/topology", path)?.into_iter().next().unwrap_or_default();
    let mut topology = parse_topology(&json, path)?;
    let runs_group = file.group("runs").map_err(|e| input_error(path, e.to_string()))?;
    let runs = pick(&indices(&runs_group, path)?, &opts.runs, "run", path)?;
    let mut segments = vec![];
    let mut cells = vec![];
    let mut frames = vec![];
    let mut atoms = None;
    for &run in &runs {
        let trajs_group = file
            .group(&format!("runs/{run}/trajectories"))
            .map_err(|_| input_error(path, format!("has no group /runs/{run}/trajectories")))?;
        for traj in pick(&indices(&trajs_group, path)?, &opts.trajs, &format!("trajectory in run {run}: traj"), path)? {
            let name = format!("/runs/{run}/trajectories/{traj}/positions");
            let ds = dataset(file, &name, path)?;
            let shape = ds.shape();
            if shape.len() != 3 || shape[2] != 3 {
                return Err(input_error(path, format!("{name} has shape {shape:?}, expected (cycles, atoms, 3)")));
            }
            if shape[1] == 0 {
                // As the H5MD reader words it: a frame of no atoms is no body.
                return Err(input_error(path, format!("{name} is empty: it holds no atoms (shape {shape:?})")));
            }
            if *atoms.get_or_insert(shape[1]) != shape[1] {
                return Err(input_error(path, format!("{name} has {} atoms, earlier trajectories {}", shape[1], atoms.unwrap())));
            }
            if run >= 1 << 16 || traj >= 1 << 16 || shape[0] as u64 >= 1 << 32 {
                return Err(input_error(path, format!("{name}: run, trajectory or cycle index too large for a frame key")));
            }
            let first = frames.len();
            // The frame table is allocated from the shape: a damaged file can claim more
            // cycles than memory holds, and a failed allocation would abort the process.
            // (With overcommit a huge reservation can succeed and fail only when filled, so
            // the shape is also held against the file's size: coordinates compress, but not
            // a thousandfold.)
            let too_large = || input_error(path, format!("{name} has shape {shape:?}, too large to index (a damaged file?)"));
            let file_bytes = std::fs::metadata(path).map_or(u64::MAX, |m| m.len());
            let claimed = (shape[0] as u64).saturating_mul(shape[1] as u64).saturating_mul(12);
            if claimed / 1000 > file_bytes {
                return Err(too_large());
            }
            frames.try_reserve(shape[0]).map_err(|_| too_large())?;
            for cycle in 0..shape[0] as u64 {
                frames.push(FrameInfo {
                    index: frames.len(),
                    key: run << 48 | traj << 32 | cycle,
                    step: Some(cycle as i64),
                    time: None,
                    wepy: Some(WepyLabel { run, traj, cycle }),
                });
            }
            segments.push(Segment { dataset: name, first, frames: shape[0] });
            let bx = format!("/runs/{run}/trajectories/{traj}/box_vectors");
            cells.push((!opts.no_cell && file.link_exists(&bx)).then_some(bx));
        }
    }
    let atoms = atoms.ok_or_else(|| input_error(path, "has no trajectories to read"))?;
    if frames.is_empty() {
        return Err(input_error(path, "its selected trajectories have no cycles"));
    }
    if file.link_exists("_settings/main_rep_idxs") {
        let ds = dataset(file, "_settings/main_rep_idxs", path)?;
        let idx: Vec<i64> = ds.read_raw().map_err(|e| input_error(path, format!("cannot read /_settings/main_rep_idxs: {e}")))?;
        if idx.len() != atoms {
            return Err(input_error(path, format!("/_settings/main_rep_idxs lists {} atoms but the positions hold {atoms}", idx.len())));
        }
        if idx.len() != topology.len() {
            let n = topology.len();
            let idx: Vec<usize> = idx
                .iter()
                .map(|&i| usize::try_from(i).ok().filter(|&i| i < n))
                .collect::<Option<_>>()
                .ok_or_else(|| input_error(path, format!("/_settings/main_rep_idxs names atoms outside the topology's {n}")))?;
            topology = topology.subset(&idx);
        }
    }
    if topology.len() != atoms {
        return Err(input_error(path, format!("positions hold {atoms} atoms but /topology has {}", topology.len())));
    }
    let scale = length_scale(unit(file, "positions", path)?.as_deref(), "positions", opts.length_unit.as_deref(), path)?;
    let box_scale = match unit(file, "box_vectors", path)? {
        Some(u) => length_scale(Some(&u), "box_vectors", None, path)?,
        None => scale,
    };
    Ok(Trajectory {
        path: path.into(),
        format: Format::Wepy(Layout { scale, box_scale, cells }),
        topology: Arc::new(topology),
        segments,
        frames: Arc::new(frames),
        length_unit: LengthUnit::angstrom(),
        time_unit: None,
    })
}

/// A worker's own handle on a WepyHDF5 file.
pub struct Reader {
    path: PathBuf,
    file: hdf5::File,
    layout: Layout,
    segments: Vec<Segment>,
    frames: Arc<Vec<FrameInfo>>,
    atoms: Range<usize>,
}

impl Reader {
    /// Opens the file again for this reader; each frame will hold only the atoms in `atoms`.
    pub fn new(t: &Trajectory, layout: &Layout, atoms: Range<usize>) -> Result<Reader> {
        Ok(Reader {
            path: t.path.clone(),
            file: super::hdf5::open(&t.path)?,
            layout: layout.clone(),
            segments: t.segments.clone(),
            frames: t.frames.clone(),
            atoms,
        })
    }
}

impl FrameReader for Reader {
    fn read_chunk(&mut self, c: &Chunk) -> Result<Vec<Frame>> {
        let seg = &self.segments[c.segment];
        let ds = dataset(&self.file, &seg.dataset, &self.path)?;
        let xyz = read_frames(&ds, c.start, c.step, c.count, self.atoms.clone(), &self.path)?;
        let cells: Vec<Option<M3>> = match &self.layout.cells[c.segment] {
            Some(name) => {
                let bx = dataset(&self.file, name, &self.path)?;
                let end = c.start + c.step * (c.count - 1) + 1;
                let m = bx
                    .read_slice::<f64, _, ndarray::Ix3>(s![c.start..end;c.step, .., ..])
                    .map_err(|e| input_error(&self.path, format!("cannot read {name}: {e}")))?;
                m.outer_iter()
                    .map(|b| {
                        let mut cell = [[0.0; 3]; 3];
                        for i in 0..3 {
                            for j in 0..3 {
                                cell[i][j] = b[[i, j]] * self.layout.box_scale;
                            }
                        }
                        Some(cell)
                    })
                    .collect()
            }
            None => vec![None; c.count],
        };
        let scale = self.layout.scale;
        Ok((0..c.count)
            .map(|k| Frame {
                info: self.frames[seg.first + c.start + k * c.step].clone(),
                positions: xyz.slice(s![k, .., ..]).outer_iter().map(|p| [p[0] * scale, p[1] * scale, p[2] * scale]).collect(),
                cell: cells[k],
            })
            .collect())
    }
}

/// Writes per-frame observables back into a WepyHDF5 file where wepy keeps them, at
/// `/runs/R/trajectories/T/observables/<name>` (and `<name>_std`), one row per cycle; a
/// cycle that was not computed is NaN. Only those datasets are created or replaced: the
/// rest of the file is not touched. Returns the datasets written.
pub fn write_back(path: &Path, length_unit: &str, rows: &[(WepyLabel, Vec<Estimate>)]) -> Result<usize> {
    let fail = |message: String| Error::Output { path: path.into(), message };
    let file = hdf5::File::open_rw(path).map_err(|e| fail(format!("cannot open for writing: {e}")))?;
    let mut trajs: BTreeMap<(u64, u64), Vec<_>> = BTreeMap::new();
    for row in rows {
        trajs.entry((row.0.run, row.0.traj)).or_default().push(row);
    }
    let mut written = 0;
    for ((run, traj), rows) in trajs {
        let base = format!("runs/{run}/trajectories/{traj}");
        let cycles = file.dataset(&format!("{base}/positions")).map_err(|e| fail(e.to_string()))?.shape()[0];
        let group = match file.group(&format!("{base}/observables")) {
            Ok(g) => g,
            Err(_) => file.create_group(&format!("{base}/observables")).map_err(|e| fail(e.to_string()))?,
        };
        for (k, e) in rows[0].1.iter().enumerate() {
            let shape = e.quantity.shape();
            let width = e.value.len();
            let mut value = vec![f64::NAN; cycles * width];
            let mut std = vec![f64::NAN; cycles * width];
            for (label, estimates) in &rows {
                let c = label.cycle as usize;
                value[c * width..(c + 1) * width].copy_from_slice(&estimates[k].value);
                std[c * width..(c + 1) * width].copy_from_slice(&estimates[k].std);
            }
            let dims = match shape {
                Shape::Scalar => vec![cycles],
                Shape::Vector => vec![cycles, 3],
                Shape::Tensor => vec![cycles, 3, 3],
            };
            let unit = e.quantity.unit(length_unit);
            for (name, data) in [(e.quantity.name().to_string(), value), (format!("{}_std", e.quantity.name()), std)] {
                if group.link_exists(&name) {
                    group.unlink(&name).map_err(|e| fail(e.to_string()))?;
                }
                let array = ndarray::ArrayD::from_shape_vec(dims.clone(), data).expect("dims match the data");
                let ds = group.new_dataset_builder().with_data(&array).create(name.as_str()).map_err(|e| fail(e.to_string()))?;
                if !unit.is_empty() {
                    crate::io::h5md_write::text_attr(&ds, "unit", &unit).map_err(|e| fail(e.to_string()))?;
                }
                written += 1;
            }
        }
    }
    file.flush().map_err(|e| fail(e.to_string()))?;
    Ok(written)
}
