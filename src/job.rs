//! A job: which frames of which input become which bodies, settled once before any walk
//! runs (selection, radii, frame list, chunking), so every way of running it (serial, in
//! threads, later over frames in parallel or on a GPU) builds exactly the same body for a
//! frame and seeds it with the same key.

use crate::body::{Body, BodyOptions};
use crate::compute::{compute_frame, FrameResult, Sampling};
use crate::error::{Error, Result};
use crate::estimate::Context;
use crate::pbc;
use crate::pool::Pool;
use crate::radii::{self, Radii};
use crate::select::Selection;
use crate::stream::FrameStream;
use crate::topology::{self, Topology};
use crate::trajectory::{Chunk, Format, Frame, FrameSelection, Trajectory};
use crate::units::{self, Conditions};
use std::collections::BTreeMap;
use std::ops::Range;

/// What the user asked for, before it is checked against the input.
#[derive(Clone, Debug)]
pub struct JobOptions {
    /// An atom selection (see [`crate::select`]); None selects every atom.
    pub select: Option<String>,
    /// None: the input's own radii (.bod), else Bondi by element.
    pub radii: Option<Radii>,
    /// Multiplies every radius, the .bod file's own included; must be positive. A scale
    /// outside 0.5 to 2 is noted ([`Job::notes`]).
    pub radius_scale: f64,
    /// A hydration shell in Angstrom, added to every radius after the scale (a .bod file's
    /// radii too, converted to its unit): r' = r x scale + add. May be negative as long as
    /// every radius stays positive.
    pub radius_add: f64,
    /// Make molecules whole across the periodic box before building a body; frames without
    /// a cell are used as they are either way.
    pub unwrap: bool,
    /// Which frames of the input's sequence to compute.
    pub frames: FrameSelection,
    /// Launch sphere and skin; for a .bod input, unset values come from its RLAUNCH and ST.
    pub body: BodyOptions,
    /// Walks, interior samples, seed and stopping rule, checked in [`Job::prepare`].
    pub sampling: Sampling,
    /// Solution conditions from the command line; they override a .bod file's.
    pub conditions: Conditions,
}

/// Every atom with Bondi radii by element (a .bod body's own radii), unwrapped, every
/// frame, 1e6 walks and interior samples, no solution conditions.
impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            select: None,
            radii: None,
            radius_scale: 1.0,
            radius_add: 0.0,
            unwrap: true,
            frames: FrameSelection::default(),
            body: BodyOptions::default(),
            sampling: Sampling::default(),
            conditions: Conditions::default(),
        }
    }
}

/// Bytes of coordinates one chunk should hold: large enough that a hyperslab read costs
/// little per frame, small enough that a few queued chunks stay far below the 100 MB a
/// 20,000-atom trajectory must run in.
const CHUNK_BYTES: usize = 2 << 20;
const MAX_CHUNK_FRAMES: usize = 256;
/// Chunks read ahead of the compute.
pub const READ_AHEAD: usize = 2;

/// A checked, settled job, shared by every worker; each opens its own readers from
/// `trajectory`.
#[derive(Clone, Debug)]
pub struct Job {
    /// The opened input.
    pub trajectory: Trajectory,
    /// Selected atoms, ascending indices into the input's atoms.
    pub atoms: Vec<usize>,
    /// The atom range read from the file: the selection's span, so a protein at the head
    /// of a solvated system is read without its water.
    pub read: Range<usize>,
    /// The selected atoms' topology (names and bonds), for the unwrap.
    pub topology: Topology,
    /// One radius per selected atom, in `atoms`' order and the input's length unit, scaled.
    pub radii: Vec<f64>,
    /// Indices into the input's sequence, in the order results are delivered (a `--frames`
    /// list keeps its own order).
    pub frames: Vec<usize>,
    /// Whether frames with a cell are made whole before their body is built.
    pub unwrap: bool,
    /// Body options, with a .bod file's RLAUNCH and ST where the options left them unset.
    pub body: BodyOptions,
    /// Validated sampling options.
    pub sampling: Sampling,
    /// The conditions in force: the command line's over a .bod file's, with `water` and
    /// `auto` settled into numbers.
    pub conditions: Conditions,
    /// What a person should know about how the options were taken, one sentence each,
    /// without the `note: ` a terminal prefixes: conditions given without the rest a
    /// coefficient needs, the mass `--mass auto` found (and whether hydrogens are missing
    /// from it), an unusual radius scale. The library never prints; drivers show them.
    pub notes: Vec<String>,
}

impl Job {
    /// Checks `opts` against the input and settles atoms, radii and frames, so that a bad
    /// selection, radius or frame range fails before any walk runs.
    pub fn prepare(trajectory: Trajectory, opts: &JobOptions) -> Result<Job> {
        opts.sampling.validate()?;
        radii::check_scale(opts.radius_scale)?;
        radii::check_add(opts.radius_add)?;
        let all = &trajectory.topology;
        let atoms = match &opts.select {
            Some(s) => Selection::parse(s)?.matches(all)?,
            None => (0..all.len()).collect(),
        };
        let topology = all.subset(&atoms);
        let mut body = opts.body.clone();
        let mut conditions = opts.conditions.clone();
        let mut radii = match (&trajectory.format, &opts.radii) {
            (Format::Bod(input), None) => {
                body.launch_radius = body.launch_radius.or(input.launch_radius);
                body.skin_thickness = body.skin_thickness.or(input.skin_thickness);
                conditions = input.conditions.overridden_by(&conditions);
                atoms.iter().map(|&i| input.radii[i] * opts.radius_scale).collect()
            }
            (Format::Bod(_), Some(_)) => {
                return Err(Error::Option("--radii and --radius do not apply to a .bod input, whose spheres carry their radii".into()))
            }
            (_, Some(r)) => radii::assign(&topology, r, opts.radius_scale)?,
            (_, None) => radii::assign(
                &topology,
                &Radii::Table { table: radii::RadiiTable::bondi(), key: radii::RadiiKey::Element },
                opts.radius_scale,
            )?,
        };
        let unit = &trajectory.length_unit;
        if opts.radius_add != 0.0 {
            let Some(meters) = unit.meters else {
                return Err(Error::Option(format!(
                    "--radius-add is in Angstrom, but {} is in generic units (L): set HUNITS",
                    trajectory.path.display()
                )));
            };
            // 1e-10 / 1e-10 is exactly 1: an Angstrom input's shell is the number given.
            radii::add_shell(&mut radii, opts.radius_add * (1e-10 / meters), opts.radius_add, &unit.name)?;
        }
        if !conditions.is_empty() && unit.meters.is_none() {
            return Err(Error::Option(format!(
                "transport coefficients need a physical length unit, but {} is in generic units (L): set HUNITS",
                trajectory.path.display()
            )));
        }
        // Every driver refuses such a radius when it builds a body (Body::new, naming the
        // sphere); here, once for the job and before any frame is read, naming the atom.
        for (k, &r) in radii.iter().enumerate() {
            if let Some(fault) = crate::body::radius_fault(r) {
                let what = match topology.atoms[k].name.as_str() {
                    "" => format!("sphere {}", atoms[k]),
                    name => format!("atom {} ({name})", atoms[k]),
                };
                return Err(Error::Body(format!("{what} {fault}")));
            }
        }
        let mut notes: Vec<String> = radii::scale_note(opts.radius_scale).into_iter().collect();
        if conditions.viscosity_of_water {
            let t = conditions
                .temperature_k
                .ok_or_else(|| Error::Option("--viscosity water needs the temperature: give --temperature, e.g. 20C".into()))?;
            conditions.viscosity_pa_s = Some(units::water_viscosity(t)?);
        }
        if conditions.mass_from_elements {
            let (daltons, note) = mass_of(&topology, &trajectory)?;
            conditions.mass_kg = Some(daltons * units::DALTON_KG);
            notes.push(note);
        }
        notes.extend(conditions.missing());
        if let (Format::Bod(input), false) = (&trajectory.format, conditions.is_empty()) {
            if !input.length_unit_given {
                notes.push(format!(
                    "{} has no HUNITS line: its lengths are taken as Angstrom for the transport coefficients (add e.g. HUNITS 1 nm if they are not)",
                    trajectory.path.display()
                ));
            }
        }
        let frames = opts.frames.resolve(trajectory.len())?;
        let read = atoms[0]..atoms[atoms.len() - 1] + 1;
        Ok(Job {
            trajectory,
            atoms,
            read,
            topology,
            radii,
            frames,
            unwrap: opts.unwrap,
            body,
            sampling: opts.sampling.clone(),
            conditions,
            notes,
        })
    }

    /// Frames a chunk may hold at most: about `CHUNK_BYTES` of coordinates.
    pub fn max_chunk_frames(&self) -> usize {
        let bytes_per_frame = self.read.len() * 3 * std::mem::size_of::<f64>();
        (CHUNK_BYTES / bytes_per_frame.max(1)).clamp(1, MAX_CHUNK_FRAMES)
    }

    /// The job's frames as tasks of at most `chunk_frames` frames (and the byte limit).
    pub fn tasks(&self, chunk_frames: usize) -> Vec<Chunk> {
        self.trajectory.chunks(&self.frames, chunk_frames.clamp(1, self.max_chunk_frames()))
    }

    /// Reads the given chunks ahead of the caller, in order.
    pub fn stream_chunks(&self, chunks: Vec<Chunk>) -> FrameStream {
        FrameStream::spawn(&self.trajectory, self.read.clone(), chunks, READ_AHEAD)
    }

    /// Reads the job's frames ahead of the caller, in order.
    pub fn stream(&self) -> FrameStream {
        self.stream_chunks(self.tasks(usize::MAX))
    }

    /// The selected atoms of a frame, checked and made whole, as a body.
    pub fn body(&self, frame: &Frame) -> Result<Body> {
        let mut centers: Vec<[f64; 3]> = self.atoms.iter().map(|&i| frame.positions[i - self.read.start]).collect();
        if let Some(k) = centers.iter().position(|c| !c.iter().all(|v| v.is_finite())) {
            let i = self.atoms[k];
            return Err(Error::Input {
                path: self.trajectory.path.clone(),
                message: format!(
                    "frame {}: atom {i} ({}) has a non-finite coordinate {:?}",
                    frame.info.index, self.trajectory.topology.atoms[i].name, centers[k]
                ),
            });
        }
        let mut unwrapped_in = None;
        if let (true, Some(m)) = (self.unwrap, &frame.cell) {
            let refused = |fault: pbc::CellError| {
                let fault = match fault {
                    pbc::CellError::TooSmall { atom, to, bonded, distance, width } => {
                        pbc::CellError::TooSmall { atom: self.atoms[atom], to: self.atoms[to], bonded, distance, width }
                    }
                    pbc::CellError::NarrowerThanAtom { atom, radius, width } => {
                        pbc::CellError::NarrowerThanAtom { atom: self.atoms[atom], radius, width }
                    }
                    other => other,
                };
                Error::Input {
                    path: self.trajectory.path.clone(),
                    message: format!(
                        "frame {}: the periodic box {} {} {fault} (--no-unwrap ignores the box)",
                        frame.info.index,
                        describe_cell(m),
                        self.trajectory.length_unit.name
                    ),
                }
            };
            // An all-zero cell is Ok(None): the "no box" of H5MD, DCD and XTC writers.
            if let Some(cell) = pbc::Cell::new(m).map_err(refused)? {
                pbc::holds_spheres(&cell, &self.radii).map_err(refused)?;
                // Consecutive atoms are one molecule within a named residue, and across
                // consecutive residues of one chain that are neither water nor ions (a
                // protein or nucleic acid without bonds in its file): a topology without
                // residues (H5MD species alone) may list separate molecules.
                let atoms = &self.topology.atoms;
                let linked = |a: usize, b: usize| {
                    let (x, y) = (&atoms[a], &atoms[b]);
                    let named = !x.resname.is_empty() && !y.resname.is_empty();
                    let same_residue = (&x.chain, x.resid, &x.resname) == (&y.chain, y.resid, &y.resname);
                    let polymer = x.chain == y.chain
                        && (y.resid - x.resid).abs() <= 1
                        && !crate::select::is_water_or_ion(&x.resname)
                        && !crate::select::is_water_or_ion(&y.resname);
                    named && (same_residue || polymer)
                };
                pbc::make_whole(&mut centers, &cell, &self.topology.bonds, linked).map_err(refused)?;
                unwrapped_in = Some(cell);
            }
        }
        let mut body = Body::new(&centers, &self.radii, &self.body)
            .map_err(|e| Error::Input { path: self.trajectory.path.clone(), message: format!("frame {}: {e}", frame.info.index) })?;
        if self.sampling.walks < crate::grid::PAYS_FROM_WALKS {
            body.grid = None;
        }
        // A body that still overlaps its own periodic images after unwrapping is most likely
        // several molecules (a solvent shell, a wrong selection) rather than one: said, since
        // the numbers are then those of the union. Measured against the 26 neighbour images,
        // not the box's face width: a protein in GROMACS's rhombic dodecahedron spans more
        // than the width and is 18.9 A from its nearest image.
        if let Some(cell) = &unwrapped_in {
            if let Some((gap, k, l)) = pbc::nearest_image_gap(&centers, &self.radii, cell, 0.0) {
                let u = &self.trajectory.length_unit.name;
                body.warnings.push(format!(
                    "the body overlaps its own periodic image after unwrapping (atom {} and the image of atom {}, by {} {u}): \
                     several molecules, or a selection that is not one?",
                    self.atoms[k],
                    self.atoms[l],
                    pbc::significant(-gap)
                ));
            }
        }
        Ok(body)
    }

    /// One frame's observables: the same numbers whoever calls it, on however many threads.
    pub fn compute(&self, frame: &Frame, pool: &Pool) -> Result<FrameResult> {
        let body = self.body(frame)?;
        compute_frame(&body, frame.info.key, &self.sampling, &self.context(&body), pool)
    }

    /// What the estimators need of a frame's body besides its tallies.
    pub fn context(&self, body: &Body) -> Context {
        Context {
            launch_radius: body.launch_radius,
            length_meters: self.trajectory.length_unit.meters,
            conditions: self.conditions.clone(),
        }
    }
}

/// A cell as an error names it: an orthorhombic one by its edges, any other by its vectors.
fn describe_cell(m: &[[f64; 3]; 3]) -> String {
    let row = |r: &[f64; 3]| format!("[{}]", r.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "));
    if pbc::is_orthorhombic(m) {
        format!("with edges {}", row(&[m[0][0], m[1][1], m[2][2]]))
    } else {
        format!("with vectors [{}]", m.iter().map(row).collect::<Vec<_>>().join(", "))
    }
}

/// `--mass auto`: the selected atoms' standard atomic weights summed, in daltons, and a note
/// giving the mass and formula (Hill order) and, when the selection has fewer hydrogens
/// than carbons (a united-atom or heavy-atom model), that the mass counts only the atoms
/// present. Atoms without an element are refused by name, as are elements without a
/// standard atomic weight.
fn mass_of(topology: &Topology, trajectory: &Trajectory) -> Result<(f64, String)> {
    if let Format::Bod(_) = trajectory.format {
        return Err(Error::Option(format!(
            "--mass auto sums the atoms' elements, but the spheres of {} have none: give --mass with a unit (e.g. 14.3kDa) or MASS in the file",
            trajectory.path.display()
        )));
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unnamed: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for atom in &topology.atoms {
        match atom.element {
            Some(e) => *counts.entry(e).or_default() += 1,
            None => *unnamed.entry((atom.name.as_str(), atom.resname.as_str())).or_default() += 1,
        }
    }
    if !unnamed.is_empty() {
        let n: usize = unnamed.values().sum();
        let mut kinds: Vec<_> = unnamed.iter().collect();
        kinds.sort_by_key(|(_, &n)| std::cmp::Reverse(n));
        let named: Vec<String> = kinds
            .iter()
            .take(3)
            .map(|((name, resname), &k)| {
                let what = match (name.is_empty(), resname.is_empty()) {
                    (true, _) => "unnamed".to_string(),
                    (false, true) => name.to_string(),
                    (false, false) => format!("{name} in {resname}"),
                };
                format!("{what} ({k})")
            })
            .collect();
        let more = if kinds.len() > 3 { format!(" and {} more kinds", kinds.len() - 3) } else { String::new() };
        return Err(Error::Option(format!(
            "--mass auto needs every selected atom's element, but {n} atom{} none: {}{more}; give --topology, leave them out with --select, or give --mass with a unit",
            if n == 1 { " has" } else { "s have" },
            named.join(", ")
        )));
    }
    let unweighed: Vec<String> =
        counts.iter().filter(|(e, _)| topology::atomic_weight(e).is_none()).map(|(e, n)| format!("{e} ({n})")).collect();
    if !unweighed.is_empty() {
        return Err(Error::Option(format!(
            "--mass auto: IUPAC gives no standard atomic weight for {} (no stable isotopes): give --mass with a unit",
            unweighed.join(", ")
        )));
    }
    // Summed by element in a fixed order, so the mass is the same number on every machine.
    let daltons: f64 = counts.iter().map(|(e, &n)| n as f64 * topology::atomic_weight(e).expect("checked above")).sum();
    let count = |e: &str| counts.get(e).copied().unwrap_or(0);
    let mut order: Vec<&str> = counts.keys().copied().collect();
    if count("C") > 0 {
        order.sort_by_key(|&e| (e != "C", e != "H", e));
    }
    let formula: String = order.iter().map(|&e| if counts[e] == 1 { e.to_string() } else { format!("{e}{}", counts[e]) }).collect();
    let atoms = topology.len();
    let mut note = format!("--mass auto: {daltons:.3} Da, {formula} ({atoms} atom{})", if atoms == 1 { "" } else { "s" });
    if count("H") < count("C") {
        note += &format!(
            "; the selection has fewer hydrogens than carbons ({} H), so the mass counts only the atoms present (a united-atom or heavy-atom model weighs less than the molecule)",
            count("H")
        );
    }
    Ok((daltons, note))
}
