//! ZENO's .bod input, so any ZENO input of spheres runs unchanged.
//!
//! One command per line, keywords case-insensitive: `SPHERE x y z r` (and its alias
//! `ATOM x y z r`), `ST d`, `RLAUNCH R`, `HUNITS s unit` (m, cm, nm, A, L; `UNITS unit`
//! means `HUNITS 1 unit`), `TEMP t C|K`, `MASS m Da|kDa|g|kg`, `VISCOSITY v p|cp`, `BF b`.
//! Text after `#` is a comment (an extension); a leading UTF-8 byte-order mark is skipped.
//! ZENO's other bodies (CUBE, CUBOID, VOXELS, TRAJECTORY) are refused by name rather than
//! silently ignored.
//!
//! Lengths in the file are multiplied by the HUNITS scale, so results come out in the
//! HUNITS unit. Without HUNITS the unit is Angstrom (ZENO would call it a generic length).

use crate::error::{Error, Result};
use crate::units::{self, Conditions, LengthUnit};
use crate::vec3::V3;
use std::path::{Path, PathBuf};

/// A .bod file's spheres and settings, lengths already multiplied by the HUNITS scale.
#[derive(Clone, Debug, PartialEq)]
pub struct BodInput {
    /// Sphere centres in `length_unit`, in file order.
    pub centers: Vec<V3>,
    /// One radius per centre, in `length_unit`.
    pub radii: Vec<f64>,
    /// ST; None leaves the body's default (1e-6 of its bounding radius).
    pub skin_thickness: Option<f64>,
    /// RLAUNCH, about the launch centre; None puts it just outside the enclosing sphere.
    pub launch_radius: Option<f64>,
    /// The HUNITS or UNITS unit, Angstrom when the file names none; ZENO's generic L has
    /// no metres, so no transport coefficients.
    pub length_unit: LengthUnit,
    /// TEMP, MASS, VISCOSITY and BF in SI units; command-line values override them.
    pub conditions: Conditions,
    /// Whether HUNITS or UNITS named the unit; without, Angstrom is assumed, which a run
    /// that computes transport coefficients says once.
    pub length_unit_given: bool,
}

/// Reads and parses a .bod file (see [`parse`]).
pub fn read(path: &Path) -> Result<BodInput> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::Io { path: path.into(), error })?;
    parse(&text, path)
}

struct Line<'a> {
    path: &'a Path,
    number: usize,
    keyword: String,
    args: Vec<&'a str>,
}

impl Line<'_> {
    fn error(&self, message: String) -> Error {
        Error::Parse { path: PathBuf::from(self.path), line: self.number, message }
    }

    /// The line's arguments as `n` finite numbers, then what follows them (units).
    fn numbers(&self, n: usize, names: &str, extra: usize) -> Result<Vec<f64>> {
        if self.args.len() != n + extra {
            return Err(self.error(format!(
                "{} expects {names}, found {} value{}",
                self.keyword,
                self.args.len(),
                if self.args.len() == 1 { "" } else { "s" }
            )));
        }
        self.args[..n]
            .iter()
            .map(|tok| match tok.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                Ok(_) => Err(self.error(format!("{}: '{tok}' is not a finite number", self.keyword))),
                Err(_) => Err(self.error(format!("{}: '{tok}' is not a number", self.keyword))),
            })
            .collect()
    }

    fn positive(&self, what: &str, v: f64) -> Result<f64> {
        if v > 0.0 {
            Ok(v)
        } else {
            Err(self.error(format!("{} {what} must be positive, got {v}", self.keyword)))
        }
    }

    fn with_unit<T>(&self, convert: impl Fn(f64, &str) -> Result<T>, value: f64) -> Result<T> {
        convert(value, self.args[1]).map_err(|e| match e {
            Error::Option(m) => self.error(m),
            other => other,
        })
    }
}

/// Parses .bod text; `path` only names the file in messages. HUNITS applies to every
/// length in the file, wherever it appears, and the last HUNITS or UNITS wins. A UTF-8
/// byte-order mark at the start (some Windows editors write one) is skipped.
pub fn parse(text: &str, path: &Path) -> Result<BodInput> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut centers = vec![];
    let mut radii = vec![];
    let mut skin = None;
    let mut rlaunch = None;
    let mut scale = 1.0;
    let mut length_unit = LengthUnit::angstrom();
    let mut length_unit_given = false;
    let mut conditions = Conditions::default();
    for (i, raw) in text.lines().enumerate() {
        let content = raw.split('#').next().unwrap_or("");
        let mut tokens = content.split_whitespace();
        let Some(keyword) = tokens.next() else { continue };
        let line = Line { path, number: i + 1, keyword: keyword.to_ascii_uppercase(), args: tokens.collect() };
        match line.keyword.as_str() {
            "SPHERE" | "ATOM" => {
                let v = line.numbers(4, "4 numbers (x y z r)", 0)?;
                centers.push([v[0], v[1], v[2]]);
                radii.push(line.positive("radius", v[3])?);
            }
            "ST" => skin = Some(line.positive("skin thickness", line.numbers(1, "1 number", 0)?[0])?),
            "RLAUNCH" => rlaunch = Some(line.positive("launch radius", line.numbers(1, "1 number", 0)?[0])?),
            "HUNITS" => {
                scale = line.positive("scale", line.numbers(1, "a number and a unit", 1)?[0])?;
                length_unit = LengthUnit::parse(line.args[1]).map_err(|e| line.error(strip(e)))?;
                length_unit_given = true;
            }
            "UNITS" => {
                if line.args.len() != 1 {
                    return Err(line.error("UNITS expects a unit (m, cm, nm, A or L)".into()));
                }
                scale = 1.0;
                length_unit = LengthUnit::parse(line.args[0]).map_err(|e| line.error(strip(e)))?;
                length_unit_given = true;
            }
            "TEMP" => {
                let v = line.numbers(1, "a number and a unit (C or K)", 1)?[0];
                conditions.temperature_k = Some(line.with_unit(units::temperature, v)?);
            }
            "MASS" => {
                let v = line.numbers(1, "a number and a unit (Da, kDa, g or kg)", 1)?[0];
                conditions.mass_kg = Some(line.with_unit(units::mass, v)?);
            }
            "VISCOSITY" => {
                let v = line.numbers(1, "a number and a unit (p or cp)", 1)?[0];
                conditions.viscosity_pa_s = Some(line.with_unit(units::viscosity, v)?);
            }
            "BF" => conditions.buoyancy_factor = Some(line.numbers(1, "1 number", 0)?[0]),
            "CUBE" | "CUBOID" | "VOXELS" | "TRAJECTORY" | "TRIANGLE" => {
                return Err(line.error(format!(
                    "{} bodies are not supported: trajwalk computes unions of spheres \
                     (for trajectories give the trajectory file itself)",
                    line.keyword
                )))
            }
            _ => return Err(line.error(format!("unknown command '{keyword}'"))),
        }
    }
    if centers.is_empty() {
        return Err(Error::Body(format!("{} defines no SPHERE", path.display())));
    }
    for c in &mut centers {
        *c = c.map(|v| v * scale);
    }
    let input = BodInput {
        centers,
        radii: radii.into_iter().map(|r| r * scale).collect(),
        skin_thickness: skin.map(|s| s * scale),
        launch_radius: rlaunch.map(|r| r * scale),
        length_unit,
        conditions,
        length_unit_given,
    };
    // Each value was checked finite (and positive where it must be) as written; times the
    // scale it can still overflow to infinity or underflow to zero.
    let finite = input.centers.iter().flatten().all(|v| v.is_finite());
    let positive = input.radii.iter().chain(&input.skin_thickness).chain(&input.launch_radius).all(|&v| v.is_finite() && v > 0.0);
    if !(finite && positive) {
        let scale = if (1e-4..1e6).contains(&scale) { scale.to_string() } else { format!("{scale:e}") };
        return Err(Error::Body(format!("{}: lengths times the HUNITS scale {scale} are out of range (infinite or zero)", path.display())));
    }
    Ok(input)
}

fn strip(e: Error) -> String {
    match e {
        Error::Option(m) => m,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, Path::new("x.bod")).unwrap_err().to_string()
    }

    #[test]
    fn parses_every_command_case_insensitively() {
        let b = parse(
            "# two spheres\nsphere 0 0 1 2\nATOM 0 0 -1 3  # alias\nSt 0.001\nrlaunch 10\n\
             HUNITS 2 nm\ntemp 20 C\nMASS 14.3 kDa\nviscosity 1 cp\nbf 0.72\n\n",
            Path::new("x.bod"),
        )
        .unwrap();
        assert_eq!(b.centers, vec![[0.0, 0.0, 2.0], [0.0, 0.0, -2.0]]);
        assert_eq!(b.radii, vec![4.0, 6.0]);
        assert_eq!(b.skin_thickness, Some(0.002));
        assert_eq!(b.launch_radius, Some(20.0));
        assert_eq!(b.length_unit.name, "nm");
        assert_eq!(b.conditions.temperature_k, Some(293.15));
        assert_eq!(b.conditions.viscosity_pa_s, Some(1e-3));
        assert_eq!(b.conditions.buoyancy_factor, Some(0.72));
        assert!(b.conditions.mass_kg.is_some());
        let a = parse("SPHERE 1 2 3 4\n", Path::new("y.bod")).unwrap();
        assert_eq!(a.length_unit, LengthUnit::angstrom());
        assert_eq!(a.conditions, Conditions::default());
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        assert_eq!(err("SPHERE 0 0 0 1\nSPHERE 0 0 abc 1\n"), "x.bod, line 2: SPHERE: 'abc' is not a number");
        assert_eq!(err("SPHERE 0 nan 0 1\n"), "x.bod, line 1: SPHERE: 'nan' is not a finite number");
        assert_eq!(err("SPHERE 0 0 0 0\n"), "x.bod, line 1: SPHERE radius must be positive, got 0");
        assert_eq!(err("SPHERE 0 0 0 -1\n"), "x.bod, line 1: SPHERE radius must be positive, got -1");
        assert_eq!(err("SPHERE 0 0 0\n"), "x.bod, line 1: SPHERE expects 4 numbers (x y z r), found 3 values");
        assert_eq!(err("# nothing\n\n"), "invalid body: x.bod defines no SPHERE");
        assert_eq!(err("SPHERE 0 0 0 1\nBLOB 1\n"), "x.bod, line 2: unknown command 'BLOB'");
        assert!(err("CUBE 0 0 0 1\n").starts_with("x.bod, line 1: CUBE bodies are not supported"));
        assert_eq!(
            err("SPHERE 0 0 0 1\nHUNITS 1 furlong\n"),
            "x.bod, line 2: unknown length unit 'furlong' (expected m, cm, nm, A, pm or L)"
        );
        assert_eq!(err("SPHERE 0 0 0 1\nTEMP 20 F\n"), "x.bod, line 2: unknown temperature unit 'F' (expected K or C)");
        assert_eq!(
            read(Path::new("/nonexistent/a.bod")).unwrap_err().to_string(),
            "cannot read /nonexistent/a.bod: No such file or directory (os error 2)"
        );
    }
}
