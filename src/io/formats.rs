//! The catalogue of what trajwalk reads: every format with its extensions, whether it gives
//! frames, a topology or both, and which reader handles it. `trajwalk formats` prints it,
//! an unknown extension is answered with it, and `--topology` is dispatched through it, so
//! the three can never disagree.

use crate::error::{Error, Result};
use crate::topology::Topology;
use std::path::Path;

/// Which reader handles a format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// HDF5: H5MD or WepyHDF5, told apart by content.
    Hdf5,
    /// trajwalk's own PDB reader.
    Pdb,
    /// A ZENO .bod body.
    Bod,
    /// The chemfiles library, under its own name for the format.
    Chemfiles(&'static str),
    /// GROMACS XTC through the `molly` crate (`super::xtc`).
    Molly,
    /// trajwalk's own DCD reader (`super::dcd`).
    Dcd,
    /// trajwalk's own CHARMM/NAMD PSF reader (topology only).
    Psf,
    /// trajwalk's own AMBER PRMTOP reader (topology only).
    Prmtop,
    /// GROMACS TNG, read frame set by frame set through the TNG library chemfiles links.
    Tng,
    /// Recognised so as to be refused with what to do instead (GROMACS .tpr).
    Refused,
}

/// What a topology from a format carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carries {
    /// Nothing about the atoms: a `--topology` is needed for selections and radii by element.
    Nothing,
    /// Elements only (H5MD species, XYZ symbols).
    Elements,
    /// Names, residues and elements (given or guessed), with bonds where the format has them.
    Atoms,
}

/// One format of the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct FormatInfo {
    /// Short name, as outputs and the checkpoint record the format.
    pub name: &'static str,
    /// What people call it.
    pub label: &'static str,
    /// File name extensions, lower case, without the dot.
    pub extensions: &'static [&'static str],
    /// Which reader.
    pub backend: Backend,
    /// Whether it is read as a trajectory (else only as a `--topology`).
    pub frames: bool,
    /// What it says about the atoms, as an input or as a `--topology`.
    pub carries: Carries,
    /// Whether its frames record the MD step (else none is reported).
    pub steps: bool,
    /// The unit frame times are reported in, when it records times.
    pub time_unit: Option<&'static str>,
    /// Whether the format names elements (mmCIF type symbols, XYZ, MOL2 types); otherwise
    /// the element is guessed from the atom name as for PDB (a GRO's "CA" is carbon).
    pub elements_given: bool,
}

const fn entry(name: &'static str, label: &'static str, extensions: &'static [&'static str], backend: Backend) -> FormatInfo {
    FormatInfo {
        name,
        label,
        extensions,
        backend,
        frames: true,
        carries: Carries::Nothing,
        steps: false,
        time_unit: None,
        elements_given: false,
    }
}

/// Every format trajwalk reads, in the order `trajwalk formats` lists them.
pub const CATALOGUE: &[FormatInfo] = &[
    FormatInfo {
        carries: Carries::Elements,
        steps: true,
        ..entry("h5md", "H5MD (or WepyHDF5)", &["h5md", "h5", "hdf5", "he5"], Backend::Hdf5)
    },
    FormatInfo { carries: Carries::Atoms, ..entry("pdb", "PDB, one frame per MODEL", &["pdb", "ent"], Backend::Pdb) },
    entry("bod", "ZENO body", &["bod"], Backend::Bod),
    FormatInfo { steps: true, time_unit: Some("ps"), ..entry("xtc", "GROMACS XTC", &["xtc"], Backend::Molly) },
    FormatInfo { steps: true, time_unit: Some("ps"), ..entry("trr", "GROMACS TRR", &["trr"], Backend::Chemfiles("TRR")) },
    FormatInfo { carries: Carries::Atoms, ..entry("gro", "GROMACS GRO", &["gro"], Backend::Chemfiles("GRO")) },
    FormatInfo { steps: true, time_unit: Some("ps"), ..entry("tng", "GROMACS TNG", &["tng"], Backend::Tng) },
    FormatInfo { time_unit: Some("ps"), ..entry("dcd", "CHARMM/NAMD DCD", &["dcd"], Backend::Dcd) },
    // chemfiles does not read an Amber NetCDF's time variable.
    entry("netcdf", "Amber NetCDF", &["nc", "ncdf", "netcdf"], Backend::Chemfiles("Amber NetCDF")),
    FormatInfo { steps: true, ..entry("lammpstrj", "LAMMPS dump", &["lammpstrj", "lammpsdump"], Backend::Chemfiles("LAMMPS")) },
    FormatInfo {
        carries: Carries::Elements,
        elements_given: true,
        ..entry("xyz", "XYZ / extended XYZ", &["xyz", "extxyz"], Backend::Chemfiles("XYZ"))
    },
    FormatInfo {
        carries: Carries::Atoms,
        elements_given: true,
        ..entry("mmcif", "mmCIF / PDBx", &["cif", "mmcif"], Backend::Chemfiles("mmCIF"))
    },
    FormatInfo { carries: Carries::Atoms, elements_given: true, ..entry("mol2", "Tripos MOL2", &["mol2"], Backend::Chemfiles("MOL2")) },
    FormatInfo { frames: false, carries: Carries::Atoms, ..entry("psf", "CHARMM/NAMD PSF", &["psf"], Backend::Psf) },
    FormatInfo { frames: false, carries: Carries::Atoms, ..entry("prmtop", "AMBER PRMTOP", &["prmtop", "parm7"], Backend::Prmtop) },
    FormatInfo { frames: false, ..entry("tpr", "GROMACS TPR", &["tpr"], Backend::Refused) },
];

/// The lower-case extension of `path`, empty when it has none.
pub fn extension(path: &Path) -> String {
    path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase()
}

/// The catalogue's entry for `path`'s extension.
pub fn by_extension(path: &Path) -> Option<&'static FormatInfo> {
    let ext = extension(path);
    CATALOGUE.iter().find(|f| f.extensions.contains(&ext.as_str()))
}

fn list(pick: impl Fn(&FormatInfo) -> bool) -> String {
    CATALOGUE.iter().filter(|f| pick(f)).flat_map(|f| f.extensions.iter().map(|e| format!(".{e}"))).collect::<Vec<_>>().join(" ")
}

/// The extensions read as trajectories, for error messages.
pub fn trajectory_extensions() -> String {
    list(|f| f.frames)
}

/// The extensions read as a `--topology`.
pub fn topology_extensions() -> String {
    list(|f| f.carries == Carries::Atoms || f.backend == Backend::Refused)
}

/// The refusal of a GROMACS run input, which trajwalk does not parse (its layout changes
/// with every GROMACS version): GROMACS itself writes the structure as a GRO.
pub fn tpr_refused(path: &Path) -> Error {
    Error::Input {
        path: path.into(),
        message: format!(
            "is a GROMACS run input (.tpr), which trajwalk does not read; write its atoms as a GRO with `gmx editconf -f {} -o conf.gro` and give --topology conf.gro",
            path.display()
        ),
    }
}

/// The atoms named by a `--topology` file, read by the reader its extension calls for.
pub fn read_topology(path: &Path) -> Result<Topology> {
    super::check_readable(path)?;
    let unknown = || Error::Input {
        path: path.into(),
        message: format!(
            "is not a topology trajwalk reads (by its extension '{}'): expected one of {}",
            extension(path),
            topology_extensions()
        ),
    };
    let info = by_extension(path).ok_or_else(unknown)?;
    match info.backend {
        Backend::Pdb => super::pdb::read_topology(path),
        Backend::Psf => super::psf::read(path),
        Backend::Prmtop => super::prmtop::read(path),
        Backend::Refused => Err(tpr_refused(path)),
        Backend::Chemfiles(_) if info.carries == Carries::Atoms => super::chemfiles::read_topology(path, info),
        _ => Err(unknown()),
    }
}

/// The element whose standard atomic weight is nearest `mass` (daltons), within 0.1 Da;
/// None for a massless site (a TIP4P charge, a lone pair) or a mass that is no element's
/// (hydrogen mass repartitioning moves hydrogens to 3.024 and their heavy atoms down).
/// PSF and PRMTOP topologies carry masses and, PSF always, PRMTOP sometimes, no elements.
pub fn element_of_mass(mass: f64) -> Option<&'static str> {
    crate::topology::nearest_element_by_weight(mass, 0.1)
}
