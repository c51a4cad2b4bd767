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
    /// `--viscosity water`: the viscosity is water's at the temperature ([`water_viscosity`]),
    /// which [`crate::job::Job::prepare`] puts in `viscosity_pa_s` once the temperature is
    /// known (the command line's or the input's). Kept in reports to say where the number
    /// came from; not written when false, so earlier checkpoints keep their identity.
    #[serde(skip_serializing_if = "is_false")]
    pub viscosity_of_water: bool,
    /// `--mass auto`: the mass is the selected atoms' standard atomic weights summed, which
    /// [`crate::job::Job::prepare`] puts in `mass_kg`. Not written when false.
    #[serde(skip_serializing_if = "is_false")]
    pub mass_from_elements: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// k_B in J/K (exact since the 2019 SI), the value ZENO uses.
pub const BOLTZMANN: f64 = 1.380649e-23;
/// One dalton in kg (CODATA 2018), for masses given in Da and `--mass auto`.
pub const DALTON_KG: f64 = 1.660_539_066_60e-27;

impl Conditions {
    /// No condition set: then no transport coefficient is asked for, and generic length
    /// units are fine.
    pub fn is_empty(&self) -> bool {
        *self == Conditions::default()
    }

    /// Fills what `other` sets (command-line options override the input file); `water` or
    /// `auto` on the command line override the input's number too.
    pub fn overridden_by(&self, other: &Conditions) -> Conditions {
        let viscosity_set = other.viscosity_pa_s.is_some() || other.viscosity_of_water;
        let mass_set = other.mass_kg.is_some() || other.mass_from_elements;
        Conditions {
            temperature_k: other.temperature_k.or(self.temperature_k),
            viscosity_pa_s: if viscosity_set { other.viscosity_pa_s } else { self.viscosity_pa_s },
            mass_kg: if mass_set { other.mass_kg } else { self.mass_kg },
            buoyancy_factor: other.buoyancy_factor.or(self.buoyancy_factor),
            viscosity_of_water: if viscosity_set { other.viscosity_of_water } else { self.viscosity_of_water },
            mass_from_elements: if mass_set { other.mass_from_elements } else { self.mass_from_elements },
        }
    }

    /// The command line's conditions: temperature, viscosity and mass each need a unit
    /// (`20C`, `1.002cp`, `14.3kDa`), as a .bod file's TEMP, VISCOSITY and MASS lines do;
    /// a bare number is refused with the spelled-out choices, because no range of numbers
    /// tells the units apart (20 is a room temperature in C and a deep-frozen one in K, 1 is
    /// water in cp and syrup in Pa.s). `viscosity` may be `water` and `mass` `auto`, settled
    /// by [`crate::job::Job::prepare`].
    pub fn parse(temperature: Option<&str>, viscosity: Option<&str>, mass: Option<&str>, buoyancy: Option<f64>) -> Result<Conditions> {
        let is = |text: Option<&str>, word: &str| text.is_some_and(|t| t.trim().eq_ignore_ascii_case(word));
        let (water, auto) = (is(viscosity, "water"), is(mass, "auto"));
        Ok(Conditions {
            temperature_k: temperature.map(parse_temperature).transpose()?,
            viscosity_pa_s: viscosity.filter(|_| !water).map(parse_viscosity).transpose()?,
            mass_kg: mass.filter(|_| !auto).map(parse_mass).transpose()?,
            buoyancy_factor: buoyancy.map(buoyancy_factor).transpose()?,
            viscosity_of_water: water,
            mass_from_elements: auto,
        })
    }

    /// Why a transport coefficient the given conditions point to is not computed: the
    /// diffusion coefficient when a temperature or a viscosity is given without the other,
    /// the sedimentation coefficient when a mass or a buoyancy factor is given without the
    /// rest of what it needs. One line per coefficient, naming what is missing and how to
    /// give it; none when no condition is set (then only shape is asked for). The friction
    /// coefficient and `[eta]` in cm^3/g need one condition each, so are never half-asked.
    pub fn missing(&self) -> Vec<String> {
        let have = [self.temperature_k.is_some(), self.viscosity_pa_s.is_some(), self.mass_kg.is_some(), self.buoyancy_factor.is_some()];
        const NAMES: [&str; 4] = ["the temperature", "the viscosity", "the mass", "the buoyancy factor"];
        const HOW: [&str; 4] = [
            "a temperature (--temperature, e.g. 20C)",
            "a viscosity (--viscosity, e.g. 1.002cp, or water)",
            "a mass (--mass, e.g. 14.3kDa, or auto)",
            "a buoyancy factor 1 - v_bar rho (--buoyancy-factor, e.g. 0.27)",
        ];
        // Each coefficient: what it needs, and which of those say that it is wanted.
        let coefficients: [(&str, &[usize], &[usize]); 2] =
            [("diffusion coefficient", &[0, 1], &[0, 1]), ("sedimentation coefficient", &[1, 2, 3], &[2, 3])];
        let mut lines = vec![];
        for (name, needs, wanted_by) in coefficients {
            let (given, missing): (Vec<usize>, Vec<usize>) = needs.iter().partition(|&&k| have[k]);
            if missing.is_empty() || !wanted_by.iter().any(|&k| have[k]) {
                continue;
            }
            let missing: Vec<&str> = missing.iter().map(|&k| HOW[k]).collect();
            let given: Vec<&str> = given.iter().map(|&k| NAMES[k]).collect();
            lines.push(format!("no {name}: it needs {} besides {}", and(&missing), and(&given)));
        }
        lines
    }
}

/// "a", "a and b", "a, b and c".
fn and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn positive(what: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(Error::Option(format!("{what} must be a positive number, got {v}")))
    }
}

/// Temperature: `unit` is K or C (also °C).
pub fn temperature(value: f64, unit: &str) -> Result<f64> {
    let k = match unit.to_ascii_lowercase().as_str() {
        "k" => value,
        "c" | "°c" => value + 273.15,
        "" => return Err(Error::Option(format!("a temperature needs a unit: {value}C or {value}K"))),
        _ => return Err(Error::Option(format!("unknown temperature unit '{unit}' (expected K or C)"))),
    };
    positive("temperature (in K)", k)
}

/// Solvent viscosity: `unit` is cp, p, Pa.s or mPa.s.
pub fn viscosity(value: f64, unit: &str) -> Result<f64> {
    let factor = match unit.to_ascii_lowercase().as_str() {
        "cp" => 1e-3,
        "p" => 0.1,
        "pa.s" | "pas" | "pa*s" | "pa s" => 1.0,
        "mpa.s" | "mpas" | "mpa*s" | "mpa s" => 1e-3,
        "" => return Err(Error::Option(format!("a viscosity needs a unit: {value}Pa.s, {value}cp or {value}p"))),
        _ => return Err(Error::Option(format!("unknown viscosity unit '{unit}' (expected cp, p or Pa.s)"))),
    };
    positive("viscosity", value).map(|v| v * factor)
}

/// Mass of one molecule: `unit` is Da, kDa, g or kg.
pub fn mass(value: f64, unit: &str) -> Result<f64> {
    let factor = match unit.to_ascii_lowercase().as_str() {
        "da" => DALTON_KG,
        "kda" => 1e3 * DALTON_KG,
        "g" => 1e-3,
        "kg" => 1.0,
        "" => return Err(Error::Option(format!("a mass needs a unit: {value}Da, {value}kDa, {value}g or {value}kg"))),
        _ => return Err(Error::Option(format!("unknown mass unit '{unit}' (expected Da, kDa, g or kg)"))),
    };
    positive("mass", value).map(|v| v * factor)
}

/// A condition's text converted by `convert`, refused with `needs` (given the number as
/// typed) when it has no unit: a bare number's unit would be a guess.
fn with_unit(text: &str, needs: impl Fn(&str) -> String, convert: fn(f64, &str) -> Result<f64>) -> Result<f64> {
    let (value, unit) = split_value_unit(text)?;
    if unit.is_empty() {
        return Err(Error::Option(needs(text.trim())));
    }
    convert(value, &unit)
}

/// `--temperature` text such as "20C" or "293.15K", in K; a bare number is refused.
pub fn parse_temperature(text: &str) -> Result<f64> {
    with_unit(text, |t| format!("--temperature {t} needs a unit: {t}C or {t}K"), temperature)
}

/// `--viscosity` text such as "1.002cp" or "0.001Pa.s", in Pa s; a bare number is refused.
pub fn parse_viscosity(text: &str) -> Result<f64> {
    let needs = |t: &str| {
        format!(
            "--viscosity {t} needs a unit: {t}Pa.s, {t}cp or {t}p (water at 20C is 0.001002Pa.s = 1.002cp), \
             or water for water's viscosity at the temperature"
        )
    };
    with_unit(text, needs, viscosity)
}

/// `--mass` text such as "14.3kDa", in kg; a bare number is refused.
pub fn parse_mass(text: &str) -> Result<f64> {
    let needs = |t: &str| {
        format!("--mass {t} needs a unit: {t}Da, {t}kDa, {t}g or {t}kg (of one molecule), or auto for the selected atoms' standard atomic weights")
    };
    with_unit(text, needs, mass)
}

/// The temperatures, in K, [`water_viscosity`] answers for: liquid water at atmospheric
/// pressure, 0 C to 100 C.
pub const WATER_RANGE_K: (f64, f64) = (273.15, 373.15);

/// Liquid water's density in kg/m^3 at 1 atm and `celsius` (0 to 150 C): Kell's equation,
/// G. S. Kell, J. Chem. Eng. Data 20, 97 (1975), eq. 16, within 0.01 kg/m^3 of his
/// measurements. The viscosity's density argument needs no more.
fn water_density(celsius: f64) -> f64 {
    let t = celsius;
    (999.83952 + 16.945176 * t - 7.9870401e-3 * t.powi(2) - 46.170461e-6 * t.powi(3) + 105.56302e-9 * t.powi(4) - 280.54253e-12 * t.powi(5))
        / (1.0 + 16.879850e-3 * t)
}

/// Viscosity of water in Pa s at `kelvin` and density `rho` (kg/m^3): the IAPWS 2008
/// formulation (IAPWS R12-08; Huber et al., J. Phys. Chem. Ref. Data 38, 101 (2009)),
/// eta = eta0(T) eta1(T, rho) with the critical enhancement eta2 = 1, which the release
/// allows outside the near-critical region (within 0.1 % there).
pub fn iapws_2008_viscosity(kelvin: f64, rho: f64) -> f64 {
    const H0: [f64; 4] = [1.67752, 2.20462, 0.6366564, -0.241605];
    #[rustfmt::skip]
    const H1: [[f64; 7]; 6] = [
        [5.20094e-1, 2.22531e-1, -2.81378e-1, 1.61913e-1, -3.25372e-2, 0.0, 0.0],
        [8.50895e-2, 9.99115e-1, -9.06851e-1, 2.57399e-1, 0.0, 0.0, 0.0],
        [-1.08374, 1.88797, -7.72479e-1, 0.0, 0.0, 0.0, 0.0],
        [-2.89555e-1, 1.26613, -4.89837e-1, 0.0, 6.98452e-2, 0.0, -4.35673e-3],
        [0.0, 0.0, -2.57040e-1, 0.0, 0.0, 8.72102e-3, 0.0],
        [0.0, 1.20573e-1, 0.0, 0.0, 0.0, 0.0, -5.93264e-4],
    ];
    let t = kelvin / 647.096;
    let d = rho / 322.0;
    let eta0 = 100.0 * t.sqrt() / (0..4).map(|i| H0[i] / t.powi(i as i32)).sum::<f64>();
    let mut sum = 0.0;
    for (i, row) in H1.iter().enumerate() {
        for (j, h) in row.iter().enumerate() {
            sum += h * (1.0 / t - 1.0).powi(i as i32) * (d - 1.0).powi(j as i32);
        }
    }
    eta0 * (d * sum).exp() * 1e-6
}

/// `--viscosity water`: liquid water's viscosity in Pa s at `kelvin` and atmospheric
/// pressure, by the IAPWS 2008 formulation ([`iapws_2008_viscosity`]) at Kell's density;
/// IAPWS gives its uncertainty there as 1 %. 1.0016e-3 at 20 C, 0.8900e-3 at 25 C.
/// Refused outside 0 C to 100 C ([`WATER_RANGE_K`]), where water at 1 atm is not liquid.
pub fn water_viscosity(kelvin: f64) -> Result<f64> {
    let (low, high) = WATER_RANGE_K;
    if !(low..=high).contains(&kelvin) {
        return Err(Error::Option(format!(
            "--viscosity water is liquid water's viscosity at atmospheric pressure, from 0C to 100C, but the temperature is {}C ({kelvin} K): give the viscosity with a unit",
            round(kelvin - 273.15)
        )));
    }
    Ok(iapws_2008_viscosity(kelvin, water_density(kelvin - 273.15)))
}

/// `x` without the float noise of a K-to-C subtraction (-26.850000000000023 prints -26.85).
fn round(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
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
        assert_eq!(temperature(20.0, "°C").unwrap(), 293.15);
        assert_eq!(temperature(20.0, "").unwrap_err().to_string(), "invalid option: a temperature needs a unit: 20C or 20K");
        assert_eq!(LengthUnit::parse("nm").unwrap().meters, Some(1e-9));
        assert_eq!(LengthUnit::parse("l").unwrap().meters, None);
    }

    #[test]
    fn the_command_line_needs_units_and_may_say_water_or_auto() {
        let c = Conditions::parse(Some("20C"), Some("1.002 cp"), Some("14.3kDa"), Some(0.27)).unwrap();
        assert_eq!(c.temperature_k, Some(293.15));
        assert_eq!(c.viscosity_pa_s, Some(1.002e-3));
        assert_eq!(c.buoyancy_factor, Some(0.27));
        assert!(!c.viscosity_of_water && !c.mass_from_elements);
        let c = Conditions::parse(None, Some(" Water"), Some("AUTO"), None).unwrap();
        assert!(c.viscosity_of_water && c.mass_from_elements && c.viscosity_pa_s.is_none() && c.mass_kg.is_none());
        assert_eq!(
            Conditions::parse(Some("300"), None, None, None).unwrap_err().to_string(),
            "invalid option: --temperature 300 needs a unit: 300C or 300K"
        );
        assert_eq!(parse_viscosity("1e-3Pa.s").unwrap(), 1e-3);
        assert_eq!(parse_mass("18Da").unwrap(), 18.0 * DALTON_KG);
        // The command line's `water` overrides a file's VISCOSITY, a number overrides `water`.
        let file = Conditions { viscosity_pa_s: Some(1e-3), mass_kg: Some(1.0), ..Default::default() };
        let water = file.overridden_by(&Conditions { viscosity_of_water: true, ..Default::default() });
        assert_eq!((water.viscosity_pa_s, water.viscosity_of_water, water.mass_kg), (None, true, Some(1.0)));
        let number = water.overridden_by(&Conditions { viscosity_pa_s: Some(2e-3), ..Default::default() });
        assert_eq!((number.viscosity_pa_s, number.viscosity_of_water), (Some(2e-3), false));
        // What is reported, and that the new flags leave an old report's conditions as they were.
        assert_eq!(
            serde_json::to_string(&file).unwrap(),
            r#"{"temperature_k":null,"viscosity_pa_s":0.001,"mass_kg":1.0,"buoyancy_factor":null}"#
        );
    }

    #[test]
    fn missing_conditions_are_named_for_the_coefficient_they_point_to() {
        let c = |t: bool, v: bool, m: bool, b: bool| Conditions {
            temperature_k: t.then_some(293.15),
            viscosity_pa_s: v.then_some(1e-3),
            mass_kg: m.then_some(1e-23),
            buoyancy_factor: b.then_some(0.27),
            ..Default::default()
        };
        assert!(c(false, false, false, false).missing().is_empty());
        assert!(c(true, true, false, false).missing().is_empty(), "D asked for and given; s not asked for");
        assert!(c(true, true, true, true).missing().is_empty());
        assert_eq!(
            c(false, true, false, false).missing(),
            ["no diffusion coefficient: it needs a temperature (--temperature, e.g. 20C) besides the viscosity"]
        );
        assert_eq!(
            c(true, false, true, false).missing(),
            [
                "no diffusion coefficient: it needs a viscosity (--viscosity, e.g. 1.002cp, or water) besides the temperature",
                "no sedimentation coefficient: it needs a viscosity (--viscosity, e.g. 1.002cp, or water) and a buoyancy factor 1 - v_bar rho (--buoyancy-factor, e.g. 0.27) besides the mass",
            ]
        );
    }
}
