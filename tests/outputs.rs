//! What every output shows of a result's uncertainty and units, read back: the CSV's appended
//! columns (converged, time_unit, `<name>_unit`, `<name>_model_std`) and the H5MD file's
//! `model_std` datasets equal the JSON's to the bit, the table's model column and its
//! "(dimensionless)" units, and the plot's panels for the transport coefficients when the
//! run computed them.

mod common;

use common::{example, ok, s};
use serde_json::Value;
use std::path::{Path, PathBuf};
use trajwalk::estimate::Quantity;
use trajwalk::output::{format_model, format_uncertain};

fn scratch(name: &str) -> PathBuf {
    common::scratch("outputs", name)
}

/// The peptide's frames 0, 20 and 47 with every transport coefficient computed.
fn peptide_run(out: &Path) {
    let (input, radii) = (example("peptide.h5md"), example("united-atom.radii"));
    ok(&[
        "run",
        &input,
        "--radii",
        &radii,
        "--frames",
        "0,20,47",
        "--walks",
        "4000",
        "--interior",
        "4000",
        "--temperature",
        "293.15K",
        "--viscosity",
        "1.002cp",
        "--mass",
        "1.2kDa",
        "--buoyancy-factor",
        "0.27",
        "--out",
        &s(out),
        "--quiet",
    ]);
}

fn scalar_quantities_with_model() -> Vec<Quantity> {
    Quantity::ALL.into_iter().filter(|q| q.model_relative_uncertainty().is_some()).collect()
}

#[test]
fn csv_and_h5_carry_convergence_units_and_model_std_as_the_json_does() {
    let (json, csv_path, h5) = (scratch("m.json"), scratch("m.csv"), scratch("m.h5"));
    peptide_run(&json);
    peptide_run(&csv_path);
    peptide_run(&h5);
    let doc: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let frames = doc["frames"].as_array().unwrap();
    let f0 = &frames[0];
    let computed: Vec<Quantity> = Quantity::ALL.into_iter().filter(|q| f0.get(q.name()).is_some()).collect();
    assert_eq!(computed.len(), Quantity::ALL.len(), "every quantity, the transport ones included");
    let with_model = scalar_quantities_with_model();
    assert!(with_model.iter().all(|q| q.shape() == trajwalk::estimate::Shape::Scalar));

    // The CSV parses with a CSV reader into the old columns, in their old places, then the
    // appended ones.
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let mut expected: Vec<String> =
        ["frame", "time", "step", "spheres", "length_unit", "walks", "interior_samples"].map(String::from).to_vec();
    let suffixes = |q: Quantity| -> Vec<&str> {
        match q.shape() {
            trajwalk::estimate::Shape::Scalar => vec![""],
            trajwalk::estimate::Shape::Vector => vec!["_1", "_2", "_3"],
            trajwalk::estimate::Shape::Tensor => vec!["_xx", "_xy", "_xz", "_yx", "_yy", "_yz", "_zx", "_zy", "_zz"],
        }
    };
    for q in &computed {
        for sfx in suffixes(*q) {
            expected.push(format!("{}{sfx}", q.name()));
            expected.push(format!("{}{sfx}_std", q.name()));
        }
    }
    expected.extend(["converged".into(), "time_unit".into()]);
    for q in &computed {
        expected.push(format!("{}_unit", q.name()));
        if with_model.contains(q) {
            expected.push(format!("{}_model_std", q.name()));
        }
    }
    assert_eq!(header, expected);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    let length_unit = f0["length_unit"].as_str().unwrap();
    assert_eq!(length_unit, "A");
    for (row, frame) in rows.iter().zip(frames) {
        assert_eq!(row.len(), header.len());
        assert_eq!(&row[col("converged")], frame["converged"].as_bool().unwrap().to_string());
        assert_eq!(&row[col("time_unit")], "ps");
        assert_eq!(frame["time_unit"], "ps");
        for q in &computed {
            let unit = &row[col(&format!("{}_unit", q.name()))];
            let want = match q.unit(length_unit) {
                u if u.is_empty() => "1".to_string(),
                u => u,
            };
            assert_eq!(unit, want, "{}", q.name());
            if q.reports_unit() {
                assert_eq!(frame[q.name()]["unit"].as_str(), Some(unit), "{}: the JSON's unit", q.name());
            }
        }
        for q in &with_model {
            let rel = q.model_relative_uncertainty().unwrap();
            let value: f64 = row[col(q.name())].parse().unwrap();
            let model: f64 = row[col(&format!("{}_model_std", q.name()))].parse().unwrap();
            assert_eq!(value.to_bits(), frame[q.name()]["value"].as_f64().unwrap().to_bits());
            assert_eq!(model.to_bits(), (value.abs() * rel).to_bits(), "{}: |value| x {rel}", q.name());
            assert_eq!(model.to_bits(), frame[q.name()]["model_std"].as_f64().unwrap().to_bits(), "{}: the JSON's", q.name());
        }
    }
    let rh = |k: usize| frames[k]["hydrodynamic_radius"]["value"].as_f64().unwrap();
    assert_eq!(rows[1][col("hydrodynamic_radius_model_std")].parse::<f64>().unwrap(), 0.01 * rh(1));

    // H5MD: model_std beside value and std, with the unit, for exactly those quantities.
    let file = hdf5::File::open(&h5).unwrap();
    for q in &computed {
        let g = file.group(&format!("observables/{}", q.name())).unwrap();
        let has = g.link_exists("model_std");
        assert_eq!(has, with_model.contains(q), "{}: model_std present only with a model uncertainty", q.name());
        if !has {
            continue;
        }
        let rel = q.model_relative_uncertainty().unwrap();
        let value = g.dataset("value").unwrap().read_raw::<f64>().unwrap();
        let model = g.dataset("model_std").unwrap().read_raw::<f64>().unwrap();
        let json: Vec<f64> = frames.iter().map(|f| f[q.name()]["model_std"].as_f64().unwrap()).collect();
        assert_eq!(model, json, "{}: the JSON's model_std", q.name());
        assert_eq!(model, value.iter().map(|v| v.abs() * rel).collect::<Vec<_>>(), "{}", q.name());
        let unit = g.dataset("model_std").unwrap().attr("unit").ok().map(|a| a.read_scalar::<hdf5::types::VarLenUnicode>().unwrap());
        match q.unit(length_unit) {
            u if u.is_empty() => assert!(unit.is_none(), "{}: dimensionless, no unit attribute", q.name()),
            u => assert_eq!(unit.unwrap().as_str(), u, "{}", q.name()),
        }
    }
    let unit = |path: &str| -> String {
        file.dataset(path).unwrap().attr("unit").unwrap().read_scalar::<hdf5::types::VarLenUnicode>().unwrap().as_str().into()
    };
    assert_eq!(unit("observables/hydrodynamic_radius/model_std"), "A");
    assert_eq!(unit("observables/diffusion_coefficient/model_std"), "cm^2/s");
    assert_eq!(unit("observables/intrinsic_viscosity_mass_units/model_std"), "cm^3/g");
}

#[test]
fn the_table_shows_the_model_std_in_its_own_column_and_says_dimensionless() {
    let bod = example("two_spheres.bod");
    let run = |format: &str| {
        ok(&["run", &bod, "--walks", "2e4", "--interior", "2e4", "--threads", "1", "--mass", "2.5kDa", "--format", format, "-q"]).stdout
    };
    let doc: Value = serde_json::from_slice(&run("json")).unwrap();
    let frame = &doc["frames"][0];
    let table = String::from_utf8(run("table")).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    let header = *lines.iter().find(|l| l.trim_start().starts_with("quantity ")).expect("a header");
    assert!(header.contains("value +- std (Monte Carlo)") && header.contains("+- model std (ZENO)"), "{header}");
    let row = |name: &str| *lines.iter().find(|l| l.trim_start().starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name}"));

    let (rh, rh_std) = (frame["hydrodynamic_radius"]["value"].as_f64().unwrap(), frame["hydrodynamic_radius"]["std"].as_f64().unwrap());
    let model = frame["hydrodynamic_radius"]["model_std"].as_f64().unwrap();
    assert_eq!(model, rh.abs() * 0.01);
    let rh_row = row("hydrodynamic_radius");
    let cells: Vec<&str> = rh_row.split_whitespace().collect();
    let want = format!("hydrodynamic_radius {} {} nm", format_uncertain(rh, rh_std), format_model(rh, model));
    assert_eq!(cells.join(" "), want, "{rh_row}");
    // e.g. "1.3868 +- 0.0030" then "+- 0.014": the model std is about five times the MC std.
    assert_eq!(format_model(rh, model), format!("+- {:.3}", model));
    // The model column lines up with its header, and the unit column too.
    let at = |line: &str, cell: &str| line.find(cell).unwrap();
    assert_eq!(at(rh_row, &format_model(rh, model)), at(header, "+- model std (ZENO)"), "\n{header}\n{rh_row}");
    assert_eq!(rh_row.len() - 2, at(header, "unit"), "\n{header}\n{rh_row}");
    // A quantity without a model uncertainty leaves the column empty.
    let c_row = row("capacitance");
    assert!(c_row[at(header, "+- model std (ZENO)")..at(header, "unit")].trim().is_empty(), "{c_row}");
    assert!(c_row.ends_with(" nm"));

    for name in ["intrinsic_conductivity", "q_eta", "intrinsic_viscosity"] {
        assert!(row(name).ends_with(" (dimensionless)"), "{}", row(name));
    }
    let eta = row("intrinsic_viscosity");
    let v = &frame["intrinsic_viscosity"];
    let (value, model) = (v["value"].as_f64().unwrap(), v["model_std"].as_f64().unwrap());
    assert_eq!(model, value.abs() * 0.015);
    assert!(eta.contains(&format!(" {}  ", format_model(value, model))), "{eta}");
    let d = row("diffusion_coefficient");
    let dv = &frame["diffusion_coefficient"];
    let (value, model) = (dv["value"].as_f64().unwrap(), dv["model_std"].as_f64().unwrap());
    assert!(d.contains(&format_model(value, model)) && format_model(value, model).ends_with(")e-6"), "{d}");
    assert!(d.ends_with(" cm^2/s"));
    assert!(row("intrinsic_viscosity_mass_units").ends_with(" cm^3/g"));
    assert!(table.contains("ZENO's printed +- is the two combined, sqrt(std^2 + model^2)"), "{table}");
}

/// Width, height and pixels of a PNG.
fn decode(path: &Path) -> (usize, usize, Vec<u8>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    pixels.truncate(info.buffer_size());
    (info.width as usize, info.height as usize, pixels)
}

/// Whether the panel cell (row, column) of a 1200-wide plot of 450-high rows has dark pixels.
fn drawn(png: &(usize, usize, Vec<u8>), row: usize, column: usize) -> bool {
    let (w, _, pixels) = png;
    (450 * row..450 * (row + 1)).any(|y| (600 * column..600 * (column + 1)).any(|x| pixels[3 * (y * w + x)] < 128))
}

#[test]
fn plots_add_a_panel_for_each_transport_coefficient_computed() {
    let (input, radii) = (example("peptide.h5md"), example("united-atom.radii"));
    let plot = |name: &str, extra: &[&str]| -> PathBuf {
        let path = scratch(name);
        let mut args =
            vec!["run", input.as_str(), "--radii", radii.as_str(), "--frames", "0,10,20", "--walks", "1000", "--interior", "1000"];
        args.extend(extra);
        let p = s(&path);
        args.extend(["--plot", &p, "--quiet", "--format", "json"]);
        ok(&args);
        path
    };
    // Rh, [eta], Rg, volume: four panels, two rows.
    let four = decode(&plot("four.png", &[]));
    assert_eq!((four.0, four.1), (1200, 900));
    assert!(drawn(&four, 1, 0) && drawn(&four, 1, 1));
    // D alone (temperature and viscosity, no mass): a fifth panel, the sixth cell blank.
    let five = decode(&plot("five.png", &["--temperature", "298K", "--viscosity", "0.89cp"]));
    assert_eq!((five.0, five.1), (1200, 1350));
    assert!(drawn(&five, 2, 0) && !drawn(&five, 2, 1), "five panels");
    // D, s and [eta] in cm^3/g: seven panels (friction is a copy of Rh, left out).
    let all = ["--temperature", "298K", "--viscosity", "0.89cp", "--mass", "1.2kDa", "--buoyancy-factor", "0.27"];
    let seven = decode(&plot("seven.png", &all));
    assert_eq!((seven.0, seven.1), (1200, 1800));
    assert!(drawn(&seven, 3, 0) && !drawn(&seven, 3, 1), "seven panels");
    // Each panel says what its error bars are.
    let svg = std::fs::read_to_string(plot("seven.svg", &all)).unwrap();
    for caption in [
        "hydrodynamic radius (bars: sqrt(MC\u{b2} + model\u{b2}))",
        "intrinsic viscosity (bars: sqrt(MC\u{b2} + model\u{b2}))",
        "radius of gyration (bars: MC std)",
        "volume (bars: MC std)",
        "diffusion coefficient (bars: sqrt(MC\u{b2} + model\u{b2}))",
        "sedimentation coefficient (bars: sqrt(MC\u{b2} + model\u{b2}))",
        "intrinsic viscosity mass units (bars: sqrt(MC\u{b2} + model\u{b2}))",
    ] {
        assert!(svg.contains(caption), "no caption {caption:?}");
    }
    assert!(!svg.contains("friction coefficient"));
}
