//! Property tests of the selection language through its public API: whatever the text, a
//! selection parses or is refused with a message naming it, matching never panics, and no
//! case takes more than a few milliseconds.

use proptest::prelude::*;
use std::time::{Duration, Instant};
use trajwalk::select::{Selection, MAX_DEPTH};
use trajwalk::topology::{Atom, Topology};

/// Generous for a debug build on a loaded machine; a release build takes microseconds.
const PER_CASE: Duration = Duration::from_millis(200);

fn topology() -> Topology {
    let atom = |name: &str, element, resname: &str, resid, atom_type: &str| Atom {
        name: name.into(),
        element,
        resname: resname.into(),
        resid,
        atom_type: atom_type.into(),
        ..Default::default()
    };
    // Chains and segments: the protein in A/PROA, water and ion in segments of their own;
    // "ala" is a residue apart from the ALA before it (names compare exactly for residues).
    let place = |a: Atom, chain: &str, segid: &str| Atom { chain: chain.into(), segid: segid.into(), ..a };
    Topology {
        atoms: vec![
            place(atom("N", Some("N"), "ALA", 1, "NH1"), "A", "PROA"),
            place(atom("CA", Some("C"), "ALA", 1, "CT1"), "A", "PROA"),
            place(atom("HA", Some("H"), "ala", 1, "HB"), "A", "PROA"),
            place(atom("CA", Some("C"), " GLY ", 2, "CT2"), "A", "PROA"),
            place(atom("OW", Some("O"), "SOL", 3, "OT"), "", "WAT"),
            place(atom("HW1", Some("H"), "SOL", 3, "HT"), "", "WAT"),
            place(atom("NA", Some("Na"), "NA", -4, "SOD"), "", "ION"),
            atom("Éa", None, "LIG", 9_223_372_036_854_775_807, ""),
        ],
        bonds: vec![],
    }
}

/// The parser's ways of saying what is wrong, one of which every refusal uses.
const PROBLEMS: &[&str] = &[
    " is empty",
    " unexpected '",
    " has an unclosed '('",
    " has an unmatched ')'",
    " needs a value after '",
    " ends where a selection was expected",
    " has an unknown keyword '",
    " nests deeper than 100 levels",
    " takes whole numbers and ranges A-B, not '",
    " is too large for ",
    " is too small for ",
    " is empty (",
    " selects by distance, which changes from frame to frame",
];

/// The selection as messages quote it: whole up to 80 characters, else its first 60.
fn quoted(text: &str) -> String {
    let n = text.chars().count();
    if n <= 80 {
        format!("'{text}'")
    } else {
        format!("'{}...' ({n} characters)", text.chars().take(60).collect::<String>())
    }
}

/// Parses and matches `text`, checking every outcome has the documented form; returns the
/// selected atoms (empty when it matches none) or None when the parser refused it.
fn check(text: &str, top: &Topology) -> Option<Vec<usize>> {
    let t = Instant::now();
    let out = match Selection::parse(text) {
        Err(e) => {
            let m = e.to_string();
            let head = format!("invalid option: selection {}", quoted(text));
            let problem = m.strip_prefix(&head).unwrap_or_else(|| panic!("{text:?}: {m}"));
            // What follows the selection says what is wrong with it, in one of the parser's words.
            assert!(PROBLEMS.iter().any(|p| problem.contains(p)), "{text:?}: {m}");
            // ... and never quotes the whole selection a second time (a single word may be named).
            let words = text.split_whitespace().count();
            assert!(words < 2 || !problem.contains(text.trim()), "the selection is repeated: {m}");
            None
        }
        Ok(s) => {
            assert_eq!(s.text(), text);
            match s.matches(top) {
                Ok(atoms) => {
                    assert!(!atoms.is_empty());
                    assert!(atoms.windows(2).all(|w| w[0] < w[1]), "{text:?}: {atoms:?}");
                    assert!(atoms.iter().all(|&i| i < top.len()));
                    Some(atoms)
                }
                Err(e) => {
                    let m = e.to_string();
                    assert_eq!(m, format!("invalid option: selection {} matches no atoms (of {})", quoted(text), top.len()));
                    Some(vec![])
                }
            }
        }
    };
    let took = t.elapsed();
    assert!(took < PER_CASE, "{text:?} took {took:?}");
    out
}

/// The language's own words, in the forms a person (or a typo) produces them.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "and", "or", "not", "AND", "Or", "NOT", "all", "protein", "water", "ions", "Protein", "element", "name", "resname", "type",
            "resid", "index", "RESID", "(", ")", "(", ")", "backbone", "Backbone", "segid", "chainid", "chainID", "bynum", "byres", "BYRES",
            "byres", "around", "sphzone",
        ])
        .prop_map(String::from),
        2 => prop::sample::select(vec!["CA", "ca", "H*", "*", "N", "Na", "SOL", "ALA", "gly", "CT*", "É*", "Éa", "O*W", "x", "protien", "PROA", "pro*", "WAT", "A"])
            .prop_map(String::from),
        2 => (-10i64..12).prop_map(|n| n.to_string()),
        2 => (-10i64..12, -10i64..12, prop::sample::select(vec!["-", ":"])).prop_map(|(a, b, s)| format!("{a}{s}{b}")),
        1 => prop::sample::select(vec![
            "99999999999999999999", "18446744073709551615", "9223372036854775807", "-9223372036854775808", "0-18446744073709551615",
            "1-", "-", ":", "--3", "Å", "é-3", "3-é", "1e3", "+4", "0x10",
        ])
        .prop_map(String::from),
    ]
}

/// Token sequences joined by spaces, or now and then by nothing (so that parentheses and
/// words run together as they may in a command line).
fn sentence() -> impl Strategy<Value = String> {
    prop::collection::vec((token(), prop::sample::select(vec![" ", " ", " ", "", "\t", "  "])), 0..12)
        .prop_map(|parts| parts.into_iter().map(|(t, sep)| format!("{t}{sep}")).collect())
}

/// A well-formed selection, kept as a tree so that the test can say what it must select.
#[derive(Clone, Debug)]
enum Sel {
    Protein,
    Water,
    Ions,
    All,
    Name(Vec<&'static str>),
    Resid(Vec<(i64, i64)>),
    Index(Vec<(i64, i64)>),
    Backbone,
    Segid(Vec<&'static str>),
    Chainid(Vec<&'static str>),
    Bynum(Vec<(i64, i64)>),
    ByRes(Box<Sel>),
    Not(Box<Sel>),
    And(Box<Sel>, Box<Sel>),
    Or(Box<Sel>, Box<Sel>),
}

impl Sel {
    /// The selection as a person would write it; every operand in parentheses, so that the
    /// text means the tree whatever the precedence.
    fn text(&self) -> String {
        let ranges = |k: &str, r: &[(i64, i64)]| format!("{k} {}", r.iter().map(|(a, b)| format!("{a}-{b}")).collect::<Vec<_>>().join(" "));
        match self {
            Sel::Protein => "protein".into(),
            Sel::Water => "WATER".into(),
            Sel::Ions => "ions".into(),
            Sel::All => "all".into(),
            Sel::Name(n) => format!("name {}", n.join(" ")),
            Sel::Resid(r) => ranges("resid", r),
            Sel::Index(r) => ranges("index", r),
            Sel::Backbone => "backbone".into(),
            Sel::Segid(n) => format!("segid {}", n.join(" ")),
            Sel::Chainid(n) => format!("chainID {}", n.join(" ")),
            Sel::Bynum(r) => ranges("bynum", r),
            Sel::ByRes(x) => format!("byres ({})", x.text()),
            Sel::Not(x) => format!("not ({})", x.text()),
            Sel::And(x, y) => format!("({}) and ({})", x.text(), y.text()),
            Sel::Or(x, y) => format!("({}) Or ({})", x.text(), y.text()),
        }
    }

    /// What the selection selects in `top`, written out independently of the parser.
    fn selects(&self, top: &Topology, i: usize) -> bool {
        let a = &top.atoms[i];
        let res = a.resname.trim().to_ascii_uppercase();
        let glob = |p: &str, v: &str| match p.strip_suffix('*') {
            Some(pre) => v.to_ascii_uppercase().starts_with(&pre.to_ascii_uppercase()),
            None => p.eq_ignore_ascii_case(v),
        };
        match self {
            Sel::Protein => ["ALA", "GLY"].contains(&res.as_str()),
            Sel::Water => res == "SOL",
            Sel::Ions => res == "NA",
            Sel::All => true,
            Sel::Name(n) => n.iter().any(|p| glob(p, &a.name)),
            Sel::Resid(r) => r.iter().any(|&(lo, hi)| lo <= a.resid && a.resid <= hi),
            Sel::Index(r) => r.iter().any(|&(lo, hi)| lo <= i as i64 && i as i64 <= hi),
            Sel::Backbone => {
                ["ALA", "GLY"].contains(&res.as_str()) && ["N", "CA", "C", "O"].iter().any(|n| n.eq_ignore_ascii_case(&a.name))
            }
            Sel::Segid(n) => n.iter().any(|p| glob(p, &a.segid)),
            Sel::Chainid(n) => n.iter().any(|p| glob(p, &a.chain)),
            Sel::Bynum(r) => r.iter().any(|&(lo, hi)| (lo..=hi).contains(&(i as i64 + 1))),
            // Atoms i and j share a residue when every neighbouring pair between them agrees
            // on chain, segment, number and (trimmed, exact) name.
            Sel::ByRes(x) => {
                let key = |k: usize| {
                    let b = &top.atoms[k];
                    (b.chain.as_str(), b.segid.as_str(), b.resid, b.resname.trim())
                };
                let same = |j: usize| (i.min(j)..i.max(j)).all(|k| key(k) == key(k + 1));
                (0..top.len()).any(|j| same(j) && x.selects(top, j))
            }
            Sel::Not(x) => !x.selects(top, i),
            Sel::And(x, y) => x.selects(top, i) && y.selects(top, i),
            Sel::Or(x, y) => x.selects(top, i) || y.selects(top, i),
        }
    }
}

fn grammatical() -> impl Strategy<Value = Sel> {
    let range = (-5i64..10, 0i64..4).prop_map(|(lo, len)| (lo, lo + len));
    let leaf = prop_oneof![
        Just(Sel::Protein),
        Just(Sel::Water),
        Just(Sel::Ions),
        Just(Sel::All),
        prop::collection::vec(prop::sample::select(vec!["CA", "ca", "H*", "*", "N", "NA", "OW", "É*", "éa", "C*", "x"]), 1..3)
            .prop_map(Sel::Name),
        prop::collection::vec(range.clone(), 1..3).prop_map(Sel::Resid),
        prop::collection::vec(range.clone(), 1..3).prop_map(Sel::Index),
        Just(Sel::Backbone),
        prop::collection::vec(prop::sample::select(vec!["PROA", "proa", "PRO*", "WAT", "ION", "*", "x"]), 1..3).prop_map(Sel::Segid),
        prop::collection::vec(prop::sample::select(vec!["A", "a", "B", "*"]), 1..3).prop_map(Sel::Chainid),
        prop::collection::vec(range, 1..3).prop_map(Sel::Bynum),
    ];
    leaf.prop_recursive(6, 32, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|x| Sel::Not(Box::new(x))),
            inner.clone().prop_map(|x| Sel::ByRes(Box::new(x))),
            (inner.clone(), inner.clone()).prop_map(|(x, y)| Sel::And(Box::new(x), Box::new(y))),
            (inner.clone(), inner).prop_map(|(x, y)| Sel::Or(Box::new(x), Box::new(y))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_parses_or_is_refused_with_a_message(text in "\\PC{0,64}") {
        check(&text, &topology());
    }

    #[test]
    fn arbitrary_ascii_text_parses_or_is_refused_with_a_message(text in "[ -~\t]{0,96}") {
        check(&text, &topology());
    }

    #[test]
    fn token_sequences_parse_or_are_refused_and_not_is_the_complement(text in sentence()) {
        let top = topology();
        if let Some(atoms) = check(&text, &top) {
            // Whatever parses, its negation parses too and selects exactly the other atoms.
            let negated = check(&format!("not ({text})"), &top).expect("the negation of a selection parses");
            let rest: Vec<usize> = (0..top.len()).filter(|i| !atoms.contains(i)).collect();
            prop_assert_eq!(negated, rest, "{}", text);
            // And the language's operators agree with sets.
            prop_assert_eq!(check(&format!("({text}) or not ({text})"), &top), Some((0..top.len()).collect::<Vec<_>>()));
            prop_assert_eq!(check(&format!("({text}) and not ({text})"), &top), Some(vec![]));
        }
    }

    #[test]
    fn well_formed_selections_select_what_they_say(tree in grammatical()) {
        let top = topology();
        let expected: Vec<usize> = top.atoms.iter().enumerate().filter(|(i, _)| tree.selects(&top, *i)).map(|(i, _)| i).collect();
        let text = tree.text();
        prop_assert_eq!(check(&text, &top), Some(expected), "{}", text);
    }

    #[test]
    fn nesting_is_refused_past_the_limit_and_only_there(levels in prop::collection::vec(any::<bool>(), 0..2 * MAX_DEPTH)) {
        // Each true opens a parenthesis, each false a not; the parentheses close at the end.
        let open: String = levels.iter().map(|&p| if p { "(" } else { "not " }).collect();
        let close = ")".repeat(levels.iter().filter(|&&p| p).count());
        let text = format!("{open}protein{close}");
        let nots = levels.iter().filter(|&&p| !p).count();
        match check(&text, &topology()) {
            Some(atoms) if levels.len() <= MAX_DEPTH => {
                let protein = vec![0, 1, 2, 3];
                let expected = if nots % 2 == 0 { protein } else { vec![4, 5, 6, 7] };
                prop_assert_eq!(atoms, expected);
            }
            None if levels.len() > MAX_DEPTH => {
                let m = Selection::parse(&text).unwrap_err().to_string();
                prop_assert!(m.ends_with("nests deeper than 100 levels (each '(', 'not' and 'byres' is one)"), "{}", m);
            }
            other => prop_assert!(false, "{} levels: {:?}", levels.len(), other),
        }
    }
}
