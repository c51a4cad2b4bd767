//! The MDAnalysis keywords of the selection language (`backbone`, `segid`, `chainid`,
//! `bynum`, `byres`, and the refused distance selections): exactly which atoms each selects
//! on a small topology, the segment ids the PDB and mdtraj JSON readers fill, and the exact
//! messages of their mistakes.

mod common;

use std::path::Path;
use trajwalk::select::Selection;
use trajwalk::topology::{Atom, Topology};

/// Two protein chains in segments PROA/PROB, two waters that differ only by segment, an ion,
/// and a lone ALA atom after them that repeats the first residue's chain, segment, number and
/// name (a residue is a run of consecutive atoms, so it is a residue of its own).
fn topology() -> Topology {
    let atom = |name: &str, resname: &str, resid, chain: &str, segid: &str| Atom {
        name: name.into(),
        resname: resname.into(),
        resid,
        chain: chain.into(),
        segid: segid.into(),
        ..Default::default()
    };
    Topology {
        atoms: vec![
            atom("N", "ALA", 1, "A", "PROA"),    // 0, bynum 1
            atom("CA", "ALA", 1, "A", "PROA"),   // 1
            atom("C", "ALA", 1, "A", "PROA"),    // 2
            atom("O", "ALA", 1, "A", "PROA"),    // 3
            atom("CB", "ALA", 1, "A", "PROA"),   // 4
            atom("N", "CGLY", 2, "A", "PROA"),   // 5: an Amber C-terminal name MDAnalysis knows
            atom("ca", "CGLY", 2, "A", "PROA"),  // 6
            atom("OXT", "CGLY", 2, "A", "PROA"), // 7: not backbone in MDAnalysis
            atom("OW", "SOL", 3, "", "WAT1"),    // 8
            atom("HW1", "SOL", 3, "", "WAT1"),   // 9
            atom("OW", "SOL", 3, "", "WAT2"),    // 10: same number, another segment
            atom("HW1", "SOL", 3, "", "WAT2"),   // 11
            atom("O", "ALA", 1, "B", "PROB"),    // 12: same number and name, another chain
            atom("NA", "NA", 4, "", "ION"),      // 13
            atom("CA", "ALA", 1, "A", "PROA"),   // 14, bynum 15
        ],
        bonds: vec![],
    }
}

fn sel_in(top: &Topology, text: &str) -> Vec<usize> {
    Selection::parse(text).unwrap_or_else(|e| panic!("{text}: {e}")).matches(top).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn sel(text: &str) -> Vec<usize> {
    sel_in(&topology(), text)
}

fn err(text: &str) -> String {
    Selection::parse(text).unwrap_err().to_string()
}

fn none(text: &str) -> String {
    Selection::parse(text).unwrap().matches(&topology()).unwrap_err().to_string()
}

#[test]
fn backbone_is_n_ca_c_o_of_protein_residues() {
    assert_eq!(sel("backbone"), vec![0, 1, 2, 3, 5, 6, 12, 14]);
    assert_eq!(sel("BACKBONE and chainid B"), vec![12]);
    assert_eq!(sel("protein and not backbone"), vec![4, 7]);
    // An atom named like a backbone atom outside a protein residue is not backbone.
    let mut t = topology();
    t.atoms[8].name = "O".into();
    assert_eq!(
        Selection::parse("backbone and resid 3").unwrap().matches(&t).unwrap_err().to_string(),
        "invalid option: selection 'backbone and resid 3' matches no atoms (of 15)"
    );
}

#[test]
fn segid_and_chainid_select_by_segment_and_chain() {
    assert_eq!(sel("segid PROA"), vec![0, 1, 2, 3, 4, 5, 6, 7, 14]);
    assert_eq!(sel("segid wat*"), vec![8, 9, 10, 11]);
    assert_eq!(sel("segid PROB ION"), vec![12, 13]);
    assert_eq!(sel("chainid B"), vec![12]);
    assert_eq!(sel("chainID a"), vec![0, 1, 2, 3, 4, 5, 6, 7, 14]);
    assert_eq!(none("segid A"), "invalid option: selection 'segid A' matches no atoms (of 15)");
    // Where no atom has a segment id, segid reads the chain, as MDAnalysis's PDB reader does.
    let mut t = topology();
    t.atoms.iter_mut().for_each(|a| a.segid.clear());
    assert_eq!(sel_in(&t, "segid B"), vec![12]);
    assert_eq!(sel_in(&t, "segid A"), vec![0, 1, 2, 3, 4, 5, 6, 7, 14]);
}

#[test]
fn bynum_counts_atoms_from_one() {
    assert_eq!(sel("bynum 1"), vec![0]);
    assert_eq!(sel("bynum 2-3 14"), vec![1, 2, 13]);
    assert_eq!(sel("bynum 14:15"), vec![13, 14]);
    assert_eq!(sel("bynum 1-15"), sel("index 0-14"));
    assert_eq!(sel("bynum -5-1"), vec![0]);
    assert_eq!(none("bynum 0"), "invalid option: selection 'bynum 0' matches no atoms (of 15)");
    assert_eq!(none("bynum 16-20"), "invalid option: selection 'bynum 16-20' matches no atoms (of 15)");
    assert_eq!(sel("bynum 9223372036854775807 or bynum 15"), vec![14]);
}

#[test]
fn byres_takes_whole_residues() {
    assert_eq!(sel("byres name OXT"), vec![5, 6, 7]);
    assert_eq!(sel("byres index 0"), vec![0, 1, 2, 3, 4]);
    // The waters share chain, number and name but not segment; ALA 1 of chain B and the
    // ALA 1 atom after the ion are residues of their own.
    assert_eq!(sel("byres index 10"), vec![10, 11]);
    assert_eq!(sel("byres index 12"), vec![12]);
    assert_eq!(sel("byres bynum 15"), vec![14]);
    assert_eq!(sel("byres name CB or name OXT"), vec![0, 1, 2, 3, 4, 5, 6, 7]);
    // byres takes the rest of the selection (MDAnalysis's precedence), unless parenthesised.
    assert_eq!(sel("byres index 4 and name CB"), vec![0, 1, 2, 3, 4]);
    assert_eq!(sel("(byres index 4) and name CB"), vec![4]);
    assert_eq!(sel("water and byres index 10"), vec![10, 11]);
    assert_eq!(sel("not byres index 0 or index 14"), vec![5, 6, 7, 8, 9, 10, 11, 12, 13]);
    assert_eq!(sel("byres byres index 1"), vec![0, 1, 2, 3, 4]);
    assert_eq!(sel("byres (index 1) or index 13"), vec![0, 1, 2, 3, 4, 13]);
    assert_eq!(none("byres name XYZ"), "invalid option: selection 'byres name XYZ' matches no atoms (of 15)");
    // Without residue information (element-only topologies) every atom is in one residue,
    // as in MDAnalysis's minimal topology.
    let bare = Topology::from_elements(vec![Some("C"); 4]);
    assert_eq!(sel_in(&bare, "byres index 2"), vec![0, 1, 2, 3]);
}

#[test]
fn distance_selections_are_refused_with_the_reason() {
    let why = "selects by distance, which changes from frame to frame, but the body's atoms are chosen once, before any frame is read; name the atoms instead (resid, index, bynum, or byres of them)";
    assert_eq!(err("around 5 protein"), format!("invalid option: selection 'around 5 protein': 'around' {why}"));
    assert_eq!(
        err("protein or AROUND 3.5 resname LIG"),
        format!("invalid option: selection 'protein or AROUND 3.5 resname LIG': 'around' {why}")
    );
    assert_eq!(err("byres sphzone 10 index 0"), format!("invalid option: selection 'byres sphzone 10 index 0': 'sphzone' {why}"));
    for k in ["sphlayer", "cyzone", "cylayer", "isolayer", "point"] {
        assert_eq!(err(&format!("{k} 1 2")), format!("invalid option: selection '{k} 1 2': '{k}' {why}"));
    }
}

#[test]
fn mistakes_with_the_new_keywords_are_named() {
    assert_eq!(err("byres"), "invalid option: selection 'byres' ends where a selection was expected");
    assert_eq!(err("byres )"), "invalid option: selection 'byres )' has an unmatched ')'");
    assert_eq!(err("(byres protein"), "invalid option: selection '(byres protein' has an unclosed '('");
    assert_eq!(err("segid"), "invalid option: selection 'segid' needs a value after 'segid'");
    assert_eq!(err("chainid and protein"), "invalid option: selection 'chainid and protein' needs a value after 'chainid'");
    assert_eq!(err("name backbone"), "invalid option: selection 'name backbone' needs a value after 'name'");
    assert_eq!(err("bynum x"), "invalid option: selection 'bynum x': bynum takes whole numbers and ranges A-B, not 'x'");
    assert_eq!(err("bynum 3-1"), "invalid option: selection 'bynum 3-1': bynum range 3-1 is empty (1 < 3)");
    assert_eq!(
        err("bynum 99999999999999999999"),
        "invalid option: selection 'bynum 99999999999999999999': 99999999999999999999 is too large for bynum (at most 9223372036854775807)"
    );
    assert_eq!(err("backbone CA"), "invalid option: selection 'backbone CA' unexpected 'CA'");
    assert_eq!(err("bakcbone"), "invalid option: selection 'bakcbone' has an unknown keyword 'bakcbone' (expected protein, backbone, water, ions, all, element, name, resname, type, segid, chainid, resid, index, bynum, byres, not, and, or)");
    let deep = format!("{}protein", "byres ".repeat(101));
    assert!(err(&deep).ends_with(" nests deeper than 100 levels (each '(', 'not' and 'byres' is one)"), "{}", err(&deep));
    assert_eq!(sel(&format!("{}index 0", "byres ".repeat(100))), vec![0, 1, 2, 3, 4]);
}

/// A PDB ATOM record with the columns the format fixes.
fn pdb_atom(serial: usize, name: &str, resname: &str, chain: &str, resid: i64, segid: &str) -> String {
    let x = serial as f64 * 1.5;
    format!(
        "ATOM  {serial:>5} {name:<4} {resname:<3} {chain:1}{resid:>4}    {x:>8.3}{:>8.3}{:>8.3}{:>6.2}{:>6.2}      {segid:<4}\n",
        0.0, 0.0, 1.0, 0.0
    )
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn the_pdb_reader_fills_segment_ids_from_columns_73_to_76() {
    let path = common::scratch("selection-keywords", "segments.pdb");
    let text = [
        pdb_atom(1, "N", "ALA", "A", 1, "PROA"),
        pdb_atom(2, "CA", "ALA", "A", 1, "PROA"),
        pdb_atom(3, "OW", "SOL", "A", 1, "WAT"),
        pdb_atom(4, "CA", "ALA", "B", 1, ""),
    ]
    .concat();
    write(&path, &text);
    let top = trajwalk::io::pdb::read_topology(&path).unwrap();
    assert_eq!(top.atoms.iter().map(|a| a.segid.as_str()).collect::<Vec<_>>(), ["PROA", "PROA", "WAT", ""]);
    assert_eq!(top.atoms.iter().map(|a| a.chain.as_str()).collect::<Vec<_>>(), ["A", "A", "A", "B"]);
    assert_eq!(sel_in(&top, "segid PROA"), vec![0, 1]);
    assert_eq!(sel_in(&top, "byres bynum 1"), vec![0, 1]);
    assert_eq!(sel_in(&top, "backbone"), vec![0, 1, 3]);
    // A file without segment ids: segid reads the chains.
    let plain = common::scratch("selection-keywords", "chains.pdb");
    write(&plain, &[pdb_atom(1, "N", "ALA", "A", 1, ""), pdb_atom(2, "N", "ALA", "B", 2, "")].concat());
    let top = trajwalk::io::pdb::read_topology(&plain).unwrap();
    assert_eq!(sel_in(&top, "segid B"), vec![1]);
}

#[test]
fn the_mdtraj_json_reader_fills_segment_ids_from_segment_id() {
    let json = r#"{"chains": [{"index": 0, "chain_id": "A", "residues": [
        {"index": 0, "resSeq": 7, "name": "GLY", "segmentID": "PROA", "atoms": [
            {"index": 0, "name": "N", "element": "N"}, {"index": 1, "name": "CA", "element": "C"}]},
        {"index": 1, "resSeq": 8, "name": "HOH", "atoms": [{"index": 2, "name": "O", "element": "O"}]}]}],
        "bonds": [[0, 1]]}"#;
    let top = trajwalk::io::wepy::parse_topology(json, Path::new("t.wepy.h5")).unwrap();
    assert_eq!(top.atoms.iter().map(|a| a.segid.as_str()).collect::<Vec<_>>(), ["PROA", "PROA", ""]);
    assert_eq!(sel_in(&top, "segid PROA"), vec![0, 1]);
    assert_eq!(sel_in(&top, "byres bynum 3"), vec![2]);
}

#[test]
fn cobrotoxin_backbone_is_four_atoms_a_residue_less_the_c_terminal_o() {
    let Some(pdb) = common::shared_data("cobrotoxin.pdb") else { return };
    let top = trajwalk::io::pdb::read_topology(&pdb).unwrap();
    // 62 residues, N CA C in each and O in all but the last, whose oxygens are O1/O2.
    assert_eq!(sel_in(&top, "backbone").len(), 62 * 4 - 1);
    assert_eq!(sel_in(&top, "byres backbone"), sel_in(&top, "protein"));
    assert_eq!(sel_in(&top, "bynum 1-10"), (0..10).collect::<Vec<_>>());
    assert_eq!(sel_in(&top, "byres bynum 1").len(), sel_in(&top, "resid 1 and protein").len());
}
