//! Atom selections, a small language in the spirit of MDAnalysis and VMD:
//!
//! ```text
//! protein | backbone | water | ions | all
//! element X [Y ...]   name X [Y ...]   resname X [Y ...]   type X [Y ...]
//! segid X [Y ...]     chainid X [Y ...]
//! resid A[-B] [...]   index A[-B] [...]   bynum A[-B] [...]   (index counts from 0, bynum from 1)
//! byres S                                  (whole residues; S runs to the next ')' or the end)
//! not S     S and S     S or S     ( S )
//! ```
//!
//! Names compare without regard to case, and a trailing `*` matches any ending
//! (`name H*`). `and` binds tighter than `or`. Ranges include both ends.
//!
//! The MDAnalysis keywords mean what they mean there: `backbone` is the atoms named N, CA,
//! C and O of protein residues (no OXT or OT1/OT2, unlike VMD); `bynum` numbers atoms from 1;
//! `byres` takes everything after it up to a closing parenthesis or the end, as
//! MDAnalysis's low precedence for it does (`byres name CA and resid 3` is
//! `byres (name CA and resid 3)`); a residue is a run of consecutive atoms with the same
//! chain, segment, residue number and residue name; `segid` reads the chain where the
//! topology has no segment ids at all, as MDAnalysis's PDB reader does. Distance
//! selections (`around`, `sphzone`, ...) are refused: the body's atoms are chosen once,
//! before any frame is read, and a distance selection changes from frame to frame.

use crate::error::{Error, Result};
use crate::topology::{Atom, Topology, ION_RESIDUES};
use std::cell::OnceCell;

/// Residue names `protein` selects: ours (common Amber, CHARMM and GROMACS names and caps)
/// together with every name MDAnalysis's `protein` knows, so that a selection copied from an
/// MDAnalysis script selects at least what it did there (terminal residues NALA ... CMET
/// included).
const PROTEIN: &[&str] = &[
    "ALA", "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "GLY", "HIS", "ILE", "LEU", "LYS", "MET", "PHE", "PRO", "SER", "THR", "TRP", "TYR",
    "VAL", "HID", "HIE", "HIP", "HSD", "HSE", "HSP", "HISA", "HISB", "HISD", "HISE", "HISH", "CYX", "CYM", "ASH", "GLH", "LYN", "ARN",
    "MSE", "SEC", "PYL", "ACE", "NME", "NMA", "NH2", // ours; below, MDAnalysis's others
    "ALAD", "ARGN", "ASPH", "CYS2", "CYSH", "QLN", "PGLU", "GLUH", "HIS1", "LYSH", "ASN1", "CYS1", "HIS2", "ORN", "DAB", "HYP", "NALA",
    "NGLY", "NSER", "NTHR", "NLEU", "NILE", "NVAL", "NASN", "NGLN", "NARG", "NHID", "NHIE", "NHIP", "NTRP", "NPHE", "NTYR", "NGLU", "NASP",
    "NLYS", "NPRO", "NCYS", "NCYX", "NMET", "CALA", "CGLY", "CSER", "CTHR", "CLEU", "CILE", "CVAL", "CASF", "CASN", "CGLN", "CARG", "CHID",
    "CHIE", "CHIP", "CTRP", "CPHE", "CTYR", "CGLU", "CASP", "CLYS", "CPRO", "CCYS", "CCYX", "CMET", "CME", "ASF",
];
const WATER: &[&str] = &["SOL", "WAT", "HOH", "H2O", "TIP3", "TIP3P", "TIP4", "TIP4P", "TIP5", "SPC", "SPCE", "T3P", "T4P", "T5P"];
/// Atom names `backbone` selects in protein residues: MDAnalysis's list exactly.
const BACKBONE: &[&str] = &["N", "CA", "C", "O"];
/// MDAnalysis's selections by distance, which a fixed body cannot follow.
const DISTANCE: &[&str] = &["around", "sphzone", "sphlayer", "cyzone", "cylayer", "isolayer", "point"];

/// Whether a residue is a water or an ion: a molecule of its own, never part of the chain
/// that the residues before and after it form (the unwrap keeps them apart).
pub fn is_water_or_ion(resname: &str) -> bool {
    let r = resname.to_ascii_uppercase();
    WATER.contains(&r.as_str()) || ION_RESIDUES.contains(&r.as_str())
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    /// A property of one atom and its index alone.
    Test(Test),
    Not(Box<Expr>),
    // n-ary rather than binary, so that a long flat `a or b or ...` is one level deep to
    // evaluate and to drop, however many terms it has.
    And(Vec<Expr>),
    Or(Vec<Expr>),
    /// Every atom of each residue that has an atom in the operand.
    ByRes(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    All,
    Protein,
    Backbone,
    Water,
    Ions,
    Field(Field, Vec<String>),
    Resid(Vec<(i64, i64)>),
    Index(Vec<(i64, i64)>),
    /// Ranges of 1-based atom numbers.
    Bynum(Vec<(i64, i64)>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Element,
    Name,
    Resname,
    Type,
    Segid,
    Chain,
}

const KEYWORDS: &[&str] = &[
    "and", "or", "not", "all", "protein", "backbone", "water", "ions", "element", "name", "resname", "type", "segid", "chainid", "resid",
    "index", "bynum", "byres", "around", "sphzone", "sphlayer", "cyzone", "cylayer", "isolayer", "point",
];

/// The keywords that select by residue (the residue's name, number or kind): a selection
/// using one on an input that names no residues is told why it matched nothing.
const RESIDUE_KEYWORDS: &[&str] = &["protein", "backbone", "water", "ions", "resname", "resid", "byres"];

/// How deeply a selection may nest, counting each `(`, `not` and `byres` as one level: the
/// parser and the matcher recurse once per level, so an unbounded depth (a generated
/// selection, a fuzzer's) would overflow the stack and abort with no message. No selection
/// a person writes comes near it, and it stays far below what a 2 MB thread stack holds in
/// a debug build (about 3 KB a level there).
pub const MAX_DEPTH: usize = 100;

/// Selections longer than this many characters are shortened in messages, so that a
/// generated selection of thousands of terms does not fill the terminal.
const QUOTE_CHARS: usize = 80;

/// The selection as messages quote it: whole when short, else its beginning and its length.
fn quote(text: &str) -> String {
    let n = text.chars().count();
    if n <= QUOTE_CHARS {
        return format!("'{text}'");
    }
    let head: String = text.chars().take(QUOTE_CHARS - 20).collect();
    format!("'{head}...' ({n} characters)")
}

/// A parsed selection; `matches` lists the atoms it selects.
#[derive(Debug, Clone)]
pub struct Selection {
    text: String,
    expr: Expr,
}

impl Selection {
    /// Parses a selection once, so that its errors come before any frame is read; an
    /// unknown word, a dangling operator, a number out of range or nesting deeper than
    /// [`MAX_DEPTH`] is an [`Error::Option`] quoting the text.
    pub fn parse(text: &str) -> Result<Selection> {
        let mut p = Parser { text, tokens: tokens(text), at: 0, depth: 0 };
        if p.tokens.is_empty() {
            return Err(p.error("is empty"));
        }
        let expr = p.or()?;
        if let Some(t) = p.peek() {
            return Err(p.error(format!("unexpected '{t}'")));
        }
        Ok(Selection { text: text.into(), expr })
    }

    /// The selection as the user wrote it, for messages.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Indices of the selected atoms, ascending; an empty result is an error, because a
    /// body of no atoms has no properties and the typo should be reported, not computed.
    pub fn matches(&self, topology: &Topology) -> Result<Vec<usize>> {
        let cx = Context {
            atoms: &topology.atoms,
            segid_is_chain: topology.atoms.iter().all(|a| a.segid.trim().is_empty()),
            residues: OnceCell::new(),
        };
        let out: Vec<usize> = mask(&self.expr, &cx).iter().enumerate().filter(|(_, &b)| b).map(|(i, _)| i).collect();
        if out.is_empty() {
            // An XTC, TRR or DCD names nothing, so 'protein' matched nothing there without
            // saying why.
            let named = |f: fn(&crate::topology::Atom) -> &str| topology.atoms.iter().any(|a| !f(a).is_empty());
            let hint = match (named(|a| &a.name), named(|a| &a.resname)) {
                (false, false) => {
                    "; the input names no atoms or residues (its format holds coordinates only): give --topology FILE, \
                     a PDB, GRO, PSF or PRMTOP of the same atoms"
                }
                (true, false) if self.text.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| RESIDUE_KEYWORDS.contains(&w)) => {
                    "; the input names no residues: to select by residue, give --topology FILE"
                }
                _ => "",
            };
            return Err(Error::Option(format!("selection {} matches no atoms (of {}){hint}", quote(&self.text), topology.len())));
        }
        Ok(out)
    }
}

/// Splits a selection into words, with `(` and `)` words of their own, in one pass.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = vec![];
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() || c == '(' || c == ')' {
            if let Some(s) = start.take() {
                out.push(&text[s..i]);
            }
            if c != '(' && c != ')' {
                continue;
            }
            out.push(&text[i..i + 1]);
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

/// What matching needs beyond one atom: the other atoms, for residues and for whether the
/// topology has segment ids at all.
struct Context<'t> {
    atoms: &'t [Atom],
    /// No atom has a segment id, so `segid` reads the chain (as MDAnalysis's PDB reader,
    /// which takes the chains for segments when the segment columns are blank).
    segid_is_chain: bool,
    /// Each atom's residue, numbered from 0 in file order; found on the first `byres`.
    residues: OnceCell<Vec<usize>>,
}

impl Context<'_> {
    /// Residues as MDAnalysis builds them from a PDB file: a new residue begins wherever the
    /// chain, segment, residue number or residue name differs from the atom before.
    fn residues(&self) -> &[usize] {
        self.residues.get_or_init(|| {
            let key = |a: &'_ Atom| (a.chain.trim().to_string(), a.segid.trim().to_string(), a.resid, a.resname.trim().to_string());
            let mut out = Vec::with_capacity(self.atoms.len());
            let mut r = 0;
            for (i, a) in self.atoms.iter().enumerate() {
                if i > 0 && key(a) != key(&self.atoms[i - 1]) {
                    r += 1;
                }
                out.push(r);
            }
            out
        })
    }
}

fn glob(pattern: &str, value: &str) -> bool {
    match pattern.strip_suffix('*') {
        // Bytes, not a str slice: the prefix's length may fall inside a character of value.
        Some(prefix) => value.len() >= prefix.len() && value.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes()),
        None => pattern.eq_ignore_ascii_case(value),
    }
}

impl Test {
    fn matches(&self, index: usize, a: &Atom, cx: &Context) -> bool {
        let residue = |list: &[&str]| {
            let res = a.resname.trim();
            list.iter().any(|r| r.eq_ignore_ascii_case(res))
        };
        let within = |ranges: &[(i64, i64)], n: i64| ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&n));
        match self {
            Test::All => true,
            Test::Protein => residue(PROTEIN),
            Test::Backbone => residue(PROTEIN) && BACKBONE.iter().any(|n| n.eq_ignore_ascii_case(a.name.trim())),
            Test::Water => residue(WATER),
            Test::Ions => residue(ION_RESIDUES),
            Test::Field(f, values) => {
                let v = match f {
                    Field::Element => a.element.unwrap_or(""),
                    Field::Name => &a.name,
                    Field::Resname => &a.resname,
                    Field::Type => &a.atom_type,
                    Field::Segid if cx.segid_is_chain => &a.chain,
                    Field::Segid => &a.segid,
                    Field::Chain => &a.chain,
                };
                values.iter().any(|p| glob(p, v.trim()))
            }
            Test::Resid(ranges) => within(ranges, a.resid),
            Test::Index(ranges) => within(ranges, index as i64),
            // Compared as index + 1 would overflow nothing: an index is far below i64::MAX.
            Test::Bynum(ranges) => within(ranges, index as i64 + 1),
        }
    }
}

/// Which atoms `e` selects, one flag per atom. Whole-topology rather than atom by atom,
/// because `byres` needs the other atoms of a residue; recursion is one level per `not`,
/// `byres` or nested and/or, which the parser bounds.
fn mask(e: &Expr, cx: &Context) -> Vec<bool> {
    match e {
        Expr::Test(t) => cx.atoms.iter().enumerate().map(|(i, a)| t.matches(i, a, cx)).collect(),
        Expr::Not(x) => {
            let mut m = mask(x, cx);
            m.iter_mut().for_each(|b| *b = !*b);
            m
        }
        Expr::And(xs) => fold(xs, cx, true),
        Expr::Or(xs) => fold(xs, cx, false),
        Expr::ByRes(x) => {
            let m = mask(x, cx);
            let residues = cx.residues();
            let mut hit = vec![false; residues.last().map_or(0, |r| r + 1)];
            for (&r, _) in residues.iter().zip(&m).filter(|(_, &b)| b) {
                hit[r] = true;
            }
            residues.iter().map(|&r| hit[r]).collect()
        }
    }
}

/// An and (`and` true) or an or of operands: each atom is tested by a simple operand only
/// while the operands before it leave it undecided, and a compound operand is not evaluated
/// once every atom is decided, so that a long flat and/or costs what the atom-by-atom
/// short-circuit did.
fn fold(xs: &[Expr], cx: &Context, and: bool) -> Vec<bool> {
    let mut m = vec![and; cx.atoms.len()];
    for x in xs {
        match x {
            Expr::Test(t) => {
                for (i, (a, b)) in cx.atoms.iter().zip(m.iter_mut()).enumerate() {
                    if *b == and {
                        *b = t.matches(i, a, cx);
                    }
                }
            }
            _ if m.iter().all(|&b| b != and) => break,
            _ => {
                for (b, o) in m.iter_mut().zip(mask(x, cx)) {
                    *b = if and { *b && o } else { *b || o };
                }
            }
        }
    }
    m
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<&'a str>,
    at: usize,
    /// Levels of `(`, `not` and `byres` open at the current token.
    depth: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::Option(format!("selection {} {message}", quote(self.text)))
    }

    /// A problem with one value: the selection, then the value named after a colon.
    fn value_error(&self, message: impl std::fmt::Display) -> Error {
        Error::Option(format!("selection {}: {message}", quote(self.text)))
    }

    fn peek(&self) -> Option<&'a str> {
        self.tokens.get(self.at).copied()
    }

    fn keyword(&self, k: &str) -> bool {
        self.peek().is_some_and(|t| t.eq_ignore_ascii_case(k))
    }

    /// Opens one level of nesting, refusing the one past [`MAX_DEPTH`].
    fn deeper(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nests deeper than {MAX_DEPTH} levels (each '(', 'not' and 'byres' is one)")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr> {
        let mut terms = vec![self.and()?];
        while self.keyword("or") {
            self.at += 1;
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 { terms.pop().unwrap() } else { Expr::Or(terms) })
    }

    fn and(&mut self) -> Result<Expr> {
        let mut terms = vec![self.not()?];
        while self.keyword("and") {
            self.at += 1;
            terms.push(self.not()?);
        }
        Ok(if terms.len() == 1 { terms.pop().unwrap() } else { Expr::And(terms) })
    }

    /// A run of `not`s is counted in a loop rather than by recursion.
    fn not(&mut self) -> Result<Expr> {
        let mut nots = 0;
        while self.keyword("not") {
            self.at += 1;
            self.deeper()?;
            nots += 1;
        }
        let mut e = self.primary()?;
        self.depth -= nots;
        for _ in 0..nots {
            e = Expr::Not(Box::new(e));
        }
        Ok(e)
    }

    /// The words after a field keyword, up to the next keyword or parenthesis.
    fn values(&mut self, keyword: &str) -> Result<Vec<&'a str>> {
        let mut out = vec![];
        while let Some(t) = self.peek() {
            if t == "(" || t == ")" || KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(t)) {
                break;
            }
            out.push(t);
            self.at += 1;
        }
        if out.is_empty() {
            return Err(self.error(format!("needs a value after '{keyword}'")));
        }
        Ok(out)
    }

    /// One end of a range: a whole number that fits an i64, or a message naming the word.
    fn number(&self, keyword: &str, word: &str, part: &str) -> Result<i64> {
        use std::num::IntErrorKind;
        part.parse().map_err(|e: std::num::ParseIntError| match e.kind() {
            IntErrorKind::PosOverflow => self.value_error(format_args!("{part} is too large for {keyword} (at most {})", i64::MAX)),
            IntErrorKind::NegOverflow => self.value_error(format_args!("{part} is too small for {keyword} (at least {})", i64::MIN)),
            _ => self.value_error(format_args!("{keyword} takes whole numbers and ranges A-B, not '{word}'")),
        })
    }

    fn ranges(&mut self, keyword: &str) -> Result<Vec<(i64, i64)>> {
        let words = self.values(keyword)?;
        words
            .iter()
            .map(|&w| {
                // The separator is searched for after the first character, which may be a
                // lower end's minus sign (or any character at all: hence char_indices, not w[1..]).
                let (lo, hi) = match w.char_indices().skip(1).find(|&(_, c)| c == '-' || c == ':') {
                    Some((p, _)) => (&w[..p], &w[p + 1..]),
                    None => (w, w),
                };
                let lo = self.number(keyword, w, lo)?;
                let hi = self.number(keyword, w, hi)?;
                if hi < lo {
                    return Err(self.value_error(format_args!("{keyword} range {w} is empty ({hi} < {lo})")));
                }
                Ok((lo, hi))
            })
            .collect()
    }

    fn primary(&mut self) -> Result<Expr> {
        let Some(t) = self.peek() else {
            return Err(self.error("ends where a selection was expected"));
        };
        self.at += 1;
        let e = match t.to_ascii_lowercase().as_str() {
            "(" => {
                self.deeper()?;
                let e = self.or()?;
                if self.peek() != Some(")") {
                    return Err(self.error("has an unclosed '('"));
                }
                self.at += 1;
                self.depth -= 1;
                e
            }
            "byres" => {
                // Everything up to a closing parenthesis or the end, as MDAnalysis's
                // precedence 1 for byres (below and/or) makes it.
                self.deeper()?;
                let e = self.or()?;
                self.depth -= 1;
                Expr::ByRes(Box::new(e))
            }
            "all" => Expr::Test(Test::All),
            "protein" => Expr::Test(Test::Protein),
            "backbone" => Expr::Test(Test::Backbone),
            "water" => Expr::Test(Test::Water),
            "ions" => Expr::Test(Test::Ions),
            k @ ("element" | "name" | "resname" | "type" | "segid" | "chainid") => {
                let f = match k {
                    "element" => Field::Element,
                    "name" => Field::Name,
                    "resname" => Field::Resname,
                    "type" => Field::Type,
                    "segid" => Field::Segid,
                    _ => Field::Chain,
                };
                Expr::Test(Test::Field(f, self.values(k)?.into_iter().map(String::from).collect()))
            }
            "resid" => Expr::Test(Test::Resid(self.ranges("resid")?)),
            "index" => Expr::Test(Test::Index(self.ranges("index")?)),
            "bynum" => Expr::Test(Test::Bynum(self.ranges("bynum")?)),
            k if DISTANCE.contains(&k) => {
                return Err(self.value_error(format_args!(
                    "'{k}' selects by distance, which changes from frame to frame, but the body's atoms are chosen once, before any frame is read; name the atoms instead (resid, index, bynum, or byres of them)"
                )))
            }
            ")" => return Err(self.error("has an unmatched ')'")),
            other => {
                return Err(self.error(format!(
                    "has an unknown keyword '{other}' (expected protein, backbone, water, ions, all, element, name, resname, type, segid, chainid, resid, index, bynum, byres, not, and, or)"
                )))
            }
        };
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology() -> Topology {
        let atom = |name: &str, element, resname: &str, resid| Atom {
            name: name.into(),
            element: Some(element),
            resname: resname.into(),
            resid,
            ..Default::default()
        };
        Topology {
            atoms: vec![
                atom("N", "N", "ALA", 1),
                atom("CA", "C", "ALA", 1),
                atom("HA", "H", "ALA", 1),
                atom("CA", "C", "GLY", 2),
                atom("OW", "O", "SOL", 3),
                atom("HW1", "H", "SOL", 3),
                atom("NA", "Na", "NA", 4),
                atom("CL", "Cl", "CL", 5),
            ],
            bonds: vec![],
        }
    }

    fn sel(text: &str) -> Vec<usize> {
        Selection::parse(text).unwrap().matches(&topology()).unwrap()
    }

    #[test]
    fn the_language_selects_what_it_says() {
        assert_eq!(sel("protein"), vec![0, 1, 2, 3]);
        assert_eq!(sel("water"), vec![4, 5]);
        assert_eq!(sel("ions"), vec![6, 7]);
        assert_eq!(sel("all"), (0..8).collect::<Vec<_>>());
        assert_eq!(sel("element H"), vec![2, 5]);
        assert_eq!(sel("name ca"), vec![1, 3]);
        assert_eq!(sel("name H*"), vec![2, 5]);
        assert_eq!(sel("resname ALA GLY"), vec![0, 1, 2, 3]);
        assert_eq!(sel("resid 2-4"), vec![3, 4, 5, 6]);
        assert_eq!(sel("index 0 6:7"), vec![0, 6, 7]);
        assert_eq!(sel("protein and not element H"), vec![0, 1, 3]);
        assert_eq!(sel("water or ions and name NA"), vec![4, 5, 6]);
        assert_eq!(sel("(water or ions) and name NA"), vec![6]);
        assert_eq!(sel("not not protein AND resid 1"), vec![0, 1, 2]);
    }

    #[test]
    fn mistakes_are_reported_with_the_selection() {
        let err = |text: &str| Selection::parse(text).unwrap_err().to_string();
        assert_eq!(err(""), "invalid option: selection '' is empty");
        assert_eq!(err("protien"), "invalid option: selection 'protien' has an unknown keyword 'protien' (expected protein, backbone, water, ions, all, element, name, resname, type, segid, chainid, resid, index, bynum, byres, not, and, or)");
        assert_eq!(err("(protein"), "invalid option: selection '(protein' has an unclosed '('");
        assert_eq!(err("protein)"), "invalid option: selection 'protein)' unexpected ')'");
        assert_eq!(err("name"), "invalid option: selection 'name' needs a value after 'name'");
        assert_eq!(err("resid 5-2"), "invalid option: selection 'resid 5-2': resid range 5-2 is empty (2 < 5)");
        assert_eq!(err("resid x"), "invalid option: selection 'resid x': resid takes whole numbers and ranges A-B, not 'x'");
        assert_eq!(err("protein and"), "invalid option: selection 'protein and' ends where a selection was expected");
        let none = Selection::parse("resname XYZ").unwrap().matches(&topology()).unwrap_err().to_string();
        assert_eq!(none, "invalid option: selection 'resname XYZ' matches no atoms (of 8)");
    }

    fn err(text: &str) -> String {
        Selection::parse(text).unwrap_err().to_string()
    }

    fn nested(open: &str, depth: usize, close: &str) -> String {
        format!("{}protein{}", open.repeat(depth), close.repeat(depth))
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_an_error_not_a_stack_overflow() {
        let parens = nested("(", 20_000, ")");
        assert_eq!(
            err(&parens),
            format!(
                "invalid option: selection '{}...' (40007 characters) nests deeper than 100 levels (each '(', 'not' and 'byres' is one)",
                "(".repeat(60)
            )
        );
        let nots = nested("not ", 30_000, "");
        assert_eq!(
            err(&nots),
            format!(
                "invalid option: selection '{}...' (120007 characters) nests deeper than 100 levels (each '(', 'not' and 'byres' is one)",
                "not ".repeat(15)
            )
        );
        // The limit itself is allowed, and one more is refused, whichever way the levels come.
        assert_eq!(sel(&nested("(", MAX_DEPTH, ")")), vec![0, 1, 2, 3]);
        assert_eq!(sel(&nested("not ", MAX_DEPTH, "")), vec![0, 1, 2, 3]);
        assert_eq!(sel(&nested("not (", MAX_DEPTH / 2, ")")), vec![0, 1, 2, 3]);
        assert!(err(&nested("(", MAX_DEPTH + 1, ")")).ends_with("nests deeper than 100 levels (each '(', 'not' and 'byres' is one)"));
        assert!(err(&nested("not ", MAX_DEPTH + 1, "")).ends_with("nests deeper than 100 levels (each '(', 'not' and 'byres' is one)"));
        assert!(err(&format!("not {}", nested("not (", MAX_DEPTH / 2, ")"))).contains("nests deeper than 100 levels"));
        // Levels closed again do not count against later ones.
        let side_by_side = format!("{} or {}", nested("(", MAX_DEPTH, ")"), nested("not ", MAX_DEPTH, ""));
        assert_eq!(sel(&side_by_side), vec![0, 1, 2, 3]);
    }

    #[test]
    fn the_deepest_selection_allowed_fits_a_small_stack() {
        // A quarter of the 2 MB a spawned thread gets, in whatever build the tests run.
        let run = || {
            for text in [nested("(", MAX_DEPTH, ")"), nested("not ", MAX_DEPTH, ""), nested("not (", MAX_DEPTH / 2, ")")] {
                let s = Selection::parse(&text).unwrap();
                assert_eq!(s.matches(&topology()).unwrap(), vec![0, 1, 2, 3]);
                assert!(Selection::parse(&format!("not {text}")).is_err());
            }
        };
        std::thread::Builder::new().stack_size(512 * 1024).spawn(run).unwrap().join().unwrap();
    }

    #[test]
    fn long_flat_selections_take_linear_time_and_no_stack() {
        // A flat or/and is one level however many terms it has: parsing, matching and
        // dropping it fit a 128 KiB stack (a binary tree 10,000 deep would not), and each
        // atom costs at most one comparison a term.
        let run = || {
            let terms = 10_000;
            let atoms = 1_000;
            let big = Topology {
                atoms: (0..atoms).map(|i| Atom { resname: "ALA".into(), resid: i as i64, ..Default::default() }).collect(),
                bonds: vec![],
            };
            let t = std::time::Instant::now();
            let ors = (0..terms).map(|i| format!("index {i}")).collect::<Vec<_>>().join(" or ");
            let s = Selection::parse(&ors).unwrap();
            assert_eq!(s.matches(&big).unwrap(), (0..atoms).collect::<Vec<_>>());
            drop(s);
            let ands = (0..terms).map(|i| format!("not resid {}", terms + i)).collect::<Vec<_>>().join(" and ");
            assert_eq!(Selection::parse(&ands).unwrap().matches(&big).unwrap().len(), atoms);
            // About 1.5e7 comparisons: milliseconds in release, about a second in debug.
            let took = t.elapsed();
            assert!(took < std::time::Duration::from_secs(10), "{took:?}");
        };
        std::thread::Builder::new().stack_size(128 * 1024).spawn(run).unwrap().join().unwrap();
        // Nesting beside a long flat or still has all its levels.
        let ors = (0..10_000).map(|i| format!("index {i}")).collect::<Vec<_>>().join(" or ");
        assert!(Selection::parse(&format!("{ors} or {}", nested("(", MAX_DEPTH, ")"))).is_ok());
    }

    #[test]
    fn numbers_too_large_for_a_range_are_named_once() {
        assert_eq!(
            err("index 0-18446744073709551615"),
            "invalid option: selection 'index 0-18446744073709551615': 18446744073709551615 is too large for index (at most 9223372036854775807)"
        );
        assert_eq!(
            err("resid 1-99999999999999999999"),
            "invalid option: selection 'resid 1-99999999999999999999': 99999999999999999999 is too large for resid (at most 9223372036854775807)"
        );
        assert_eq!(
            err("protein and resid -99999999999999999999-3"),
            "invalid option: selection 'protein and resid -99999999999999999999-3': -99999999999999999999 is too small for resid (at least -9223372036854775808)"
        );
        for text in ["index 0-18446744073709551615", "resid 1-99999999999999999999", "resid x", "resid 5-2"] {
            assert_eq!(err(text).matches(text).count(), 1, "{}", err(text));
        }
        // The extremes themselves are numbers.
        assert_eq!(sel("index 0-9223372036854775807"), (0..8).collect::<Vec<_>>());
        assert_eq!(sel("resid -9223372036854775808-1"), vec![0, 1, 2]);
    }

    #[test]
    fn values_that_begin_with_any_character_are_errors_not_panics() {
        assert_eq!(err("resid Å"), "invalid option: selection 'resid Å': resid takes whole numbers and ranges A-B, not 'Å'");
        assert_eq!(err("index é-3"), "invalid option: selection 'index é-3': index takes whole numbers and ranges A-B, not 'é-3'");
        assert_eq!(err("index 3-é"), "invalid option: selection 'index 3-é': index takes whole numbers and ranges A-B, not '3-é'");
        assert_eq!(err("index 漢:3"), "invalid option: selection 'index 漢:3': index takes whole numbers and ranges A-B, not '漢:3'");
        assert_eq!(err("resid -"), "invalid option: selection 'resid -': resid takes whole numbers and ranges A-B, not '-'");
        assert_eq!(err("resid 1-"), "invalid option: selection 'resid 1-': resid takes whole numbers and ranges A-B, not '1-'");
        // A wildcard prefix that ends inside a multi-byte character of a name is no match.
        let mut t = topology();
        t.atoms[0].name = "Éa".into();
        assert_eq!(
            Selection::parse("name E*").unwrap().matches(&t).unwrap_err().to_string(),
            "invalid option: selection 'name E*' matches no atoms (of 8)"
        );
        assert_eq!(Selection::parse("name Éa*").unwrap().matches(&t).unwrap(), vec![0]);
    }

    #[test]
    fn tokens_split_on_whitespace_and_parentheses() {
        assert_eq!(tokens(" (a\tb)(c)  d é(f) "), vec!["(", "a", "b", ")", "(", "c", ")", "d", "é", "(", "f", ")"]);
        assert_eq!(tokens(""), Vec::<&str>::new());
        assert_eq!(tokens("protein"), vec!["protein"]);
    }
}
