//! The bundled peptide analysed through the library: the hydrodynamic radius of every frame
//! as it is computed, then the summary over frames. `cargo run --release --example analyse`
use trajwalk::analysis::{Analysis, Options};
use trajwalk::compute::Sampling;
use trajwalk::estimate::Quantity;
use trajwalk::job::JobOptions;
use trajwalk::output::FrameReport;
use trajwalk::radii::{Radii, RadiiKey, RadiiTable};

fn main() -> trajwalk::Result<()> {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let table = RadiiTable::named_or_file(&format!("{examples}/united-atom.radii"))?;
    let options = Options {
        job: JobOptions {
            radii: Some(Radii::Table { table, key: RadiiKey::Element }),
            sampling: Sampling { walks: 20_000, interior_samples: 20_000, ..Default::default() },
            ..Default::default()
        },
        ..Default::default()
    };
    let analysis = Analysis::open(format!("{examples}/peptide.h5md"), options)?;
    let mut print = |f: &FrameReport| {
        let rh = f.result.get(Quantity::HydrodynamicRadius).expect("every frame has Rh");
        println!(
            "frame {:>2}  t = {:>5} ps  Rh = {:.3} +- {:.3} {}",
            f.info.index,
            f.info.time.unwrap_or(f64::NAN),
            rh.value[0],
            rh.std[0],
            f.length_unit.name
        );
        Ok(())
    };
    let done = analysis.run(&mut [&mut print])?;
    print!("{}", done.summary.table(&analysis.job().trajectory.length_unit.name));
    Ok(())
}
