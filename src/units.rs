//! Physical units: the length unit a body is in, and the solution conditions (temperature,
//! solvent viscosity, mass, buoyancy factor) that turn shape into transport coefficients.
//! Accepts ZENO's unit names so a .bod file runs unchanged.

use crate::error::{Error, Result};
use serde::Serialize;

/// The length unit of the body's coordinates; `meters` is None for ZENO's generic "L".
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LengthUnit {
    /// As reports print it: "A", "L", or the lower-cased name otherwise ("nm", "cm", ...).
    pub name: String,
    /// Metres per unit; None for "L", which rules out transport coefficients. Not
    /// serialised.
    #[serde(skip)]
    pub meters: Option<f64>,
}

impl LengthUnit {
    /// The unit the molecular readers deliver positions in.
    pub fn angstrom() -> Self {
        LengthUnit { name: "A".into(), meters: Some(1e-10) }
    }

    /// ZENO's names: m, cm, nm, A, L; also Angstrom and pm.
    pub fn parse(name: &str) -> Result<Self> {
        let meters = match name.to_ascii_lowercase().as_str() {
            "m" => Some(1.0),
            "cm" => Some(1e-2),
            "nm" => Some(1e-9),
            "a" | "angstrom" | "ang" => Some(1e-10),
            "pm" => Some(1e-12),
            "l" => None,
            _ => return Err(Error::Option(format!("unknown length unit '{name}' (expected m, cm, nm, A, pm or L)"))),
        };
        let name = match name.to_ascii_lowercase().as_str() {
            "a" | "angstrom" | "ang" => "A".to_string(),
            "l" => "L".to_string(),
            other => other.to_string(),
        };
        Ok(LengthUnit { name, meters })
    }
}

/// Solution conditions in SI units. Each transport coefficient is computed when the
/// conditions it needs are present.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Conditions {
    /// Kelvin; with the viscosity it gives the diffusion coefficient.
    pub temperature_k: Option<f64>,
    /// Solvent viscosity in Pa s; every coefficient built on the friction needs it.
    pub viscosity_pa_s: Option<f64>,
    /// Mass of one molecule in kg (not per mole); for sedimentation and `[eta]` in cm^3/g.
    pub mass_kg: Option<f64>,
    /// 1 - v_bar rho, dimensionless; may be zero or negative. For sedimentation.
    pub buoyancy_factor: Option<f64>,
}

/// k_B in J/K (exact since the 2019 SI), the value ZENO uses.
pub const BOLTZMANN: f64 = 1.380649e-23;
const DALTON_KG: f64 = 1.660_539_066_60e-27;

impl Conditions {
    /// No condition set: then no transport coefficient is asked for, and generic length
    /// units are fine.
    pub fn is_empty(&self) -> bool {
        *self == Conditions::default()
    }

    /// Fills what `other` sets (command-line options override the input file).
    pub fn overridden_by(&self, other: &Conditions) -> Conditions {
        Conditions {
            temperature_k: other.temperature_k.or(self.temperature_k),
            viscosity_pa_s: other.viscosity_pa_s.or(self.viscosity_pa_s),
            mass_kg: other.mass_kg.or(self.mass_kg),
            buoyancy_factor: other.buoyancy_factor.or(self.buoyancy_factor),
        }
    }
}

fn positive(what: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(Error::Option(format!("{what} must be a positive number, got {v}")))
    }
}

/// Temperature: `unit` is K (default) or C.
pub fn temperature(value: f64, unit: &str) -> Result<f64> {
    let k = match unit.to_ascii_lowercase().as_str() {
        "" | "k" => value,
        "c" => value + 273.15,
        _ => return Err(Error::Option(format!("unknown temperature unit '{unit}' (expected K or C)"))),
    };
    positive("temperature (in K)", k)
}

/// Solvent viscosity: `unit` is cp (default), p, or Pa.s.
pub fn viscosity(value: f64, unit: &str) -> Result<f64> {
    let factor = match unit.to_ascii_lowercase().as_str() {
        "" | "cp" => 1e-3,
        "p" => 0.1,
        "pa.s" | "pas" | "pa*s" => 1.0,
        "mpa.s" | "mpas" => 1e-3,
        _ => return Err(Error::Option(format!("unknown viscosity unit '{unit}' (expected cp, p or Pa.s)"))),
    };
    positive("viscosity", value).map(|v| v * factor)
}

/// Mass: `unit` is Da (default), kDa, g or kg.
pub fn mass(value: f64, unit: &str) -> Result<f64> {
    let factor = match unit.to_ascii_lowercase().as_str() {
        "" | "da" => DALTON_KG,
        "kda" => 1e3 * DALTON_KG,
        "g" => 1e-3,
        "kg" => 1.0,
        _ => return Err(Error::Option(format!("unknown mass unit '{unit}' (expected Da, kDa, g or kg)"))),
    };
    positive("mass", value).map(|v| v * factor)
}

/// Accepts any finite buoyancy factor: unlike the other conditions it may be zero or
/// negative (a molecule that floats).
pub fn buoyancy_factor(value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::Option(format!("buoyancy factor must be a finite number, got {value}")))
    }
}

/// Splits a command-line value such as "20C", "0.89cp", "14.3 kDa" into number and unit.
pub fn split_value_unit(text: &str) -> Result<(f64, String)> {
    let t = text.trim();
    let end = t
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_digit()
                || c == '.'
                || c == '+'
                || c == '-'
                || ((c == 'e' || c == 'E') && t[i + 1..].starts_with(|d: char| d.is_ascii_digit() || d == '-' || d == '+')))
        })
        .map(|(i, _)| i)
        .unwrap_or(t.len());
    let value: f64 = t[..end].parse().map_err(|_| Error::Option(format!("'{text}' is not a number with an optional unit")))?;
    Ok((value, t[end..].trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_with_units() {
        assert_eq!(split_value_unit("20C").unwrap(), (20.0, "C".into()));
        assert_eq!(split_value_unit("1.5e-3 Pa.s").unwrap(), (1.5e-3, "Pa.s".into()));
        assert_eq!(split_value_unit("14.3kDa").unwrap(), (14.3, "kDa".into()));
        assert_eq!(split_value_unit("293.15").unwrap(), (293.15, "".into()));
        assert_eq!(temperature(20.0, "C").unwrap(), 293.15);
        assert_eq!(viscosity(1.0, "p").unwrap(), 0.1);
        assert!((mass(1.0, "kDa").unwrap() - 1.66053906660e-24).abs() < 1e-35);
        assert_eq!(split_value_unit("warm").unwrap_err().to_string(), "invalid option: 'warm' is not a number with an optional unit");
        assert_eq!(
            temperature(-300.0, "C").unwrap_err().to_string(),
            "invalid option: temperature (in K) must be a positive number, got -26.850000000000023"
        );
        assert_eq!(
            viscosity(1.0, "furlong").unwrap_err().to_string(),
            "invalid option: unknown viscosity unit 'furlong' (expected cp, p or Pa.s)"
        );
        assert_eq!(LengthUnit::parse("nm").unwrap().meters, Some(1e-9));
        assert_eq!(LengthUnit::parse("l").unwrap().meters, None);
    }
}
