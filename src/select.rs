//! Atom selections, a small language in the spirit of MDAnalysis and VMD:
//!
//! ```text
//! protein | water | ions | all
//! element X [Y ...]   name X [Y ...]   resname X [Y ...]   type X [Y ...]
//! resid A[-B] [...]   index A[-B] [...]          (index counts atoms from 0, in file order)
//! not S     S and S     S or S     ( S )
//! ```
//!
//! Names compare without regard to case, and a trailing `*` matches any ending
//! (`name H*`). `and` binds tighter than `or`. Ranges include both ends.

use crate::error::{Error, Result};
use crate::topology::{Atom, Topology, ION_RESIDUES};

const PROTEIN: &[&str] = &[
    "ALA", "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "GLY", "HIS", "ILE", "LEU", "LYS", "MET", "PHE", "PRO", "SER", "THR", "TRP", "TYR",
    "VAL", "HID", "HIE", "HIP", "HSD", "HSE", "HSP", "HISA", "HISB", "HISD", "HISE", "HISH", "CYX", "CYM", "ASH", "GLH", "LYN", "ARN",
    "MSE", "SEC", "PYL", "ACE", "NME", "NMA", "NH2",
];
const WATER: &[&str] = &["SOL", "WAT", "HOH", "H2O", "TIP3", "TIP3P", "TIP4", "TIP4P", "TIP5", "SPC", "SPCE", "T3P", "T4P", "T5P"];

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    All,
    Protein,
    Water,
    Ions,
    Field(Field, Vec<String>),
    Resid(Vec<(i64, i64)>),
    Index(Vec<(i64, i64)>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Element,
    Name,
    Resname,
    Type,
}

const KEYWORDS: &[&str] = &["and", "or", "not", "all", "protein", "water", "ions", "element", "name", "resname", "type", "resid", "index"];

/// A parsed selection; `matches` lists the atoms it selects.
#[derive(Debug, Clone)]
pub struct Selection {
    text: String,
    expr: Expr,
}

impl Selection {
    /// Parses a selection once, so that its errors come before any frame is read; an
    /// unknown word or a dangling operator is an [`Error::Option`] quoting the text.
    pub fn parse(text: &str) -> Result<Selection> {
        let spaced = text.replace('(', " ( ").replace(')', " ) ");
        let tokens: Vec<&str> = spaced.split_whitespace().collect();
        let mut p = Parser { text, tokens, at: 0 };
        if p.tokens.is_empty() {
            return Err(p.error("is empty".into()));
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
        let out: Vec<usize> = topology.atoms.iter().enumerate().filter(|(i, a)| eval(&self.expr, *i, a)).map(|(i, _)| i).collect();
        if out.is_empty() {
            return Err(Error::Option(format!("selection '{}' matches no atoms (of {})", self.text, topology.len())));
        }
        Ok(out)
    }
}

fn glob(pattern: &str, value: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => value.len() >= prefix.len() && value[..prefix.len()].eq_ignore_ascii_case(prefix),
        None => pattern.eq_ignore_ascii_case(value),
    }
}

fn eval(e: &Expr, index: usize, a: &Atom) -> bool {
    let res = a.resname.trim().to_ascii_uppercase();
    match e {
        Expr::All => true,
        Expr::Protein => PROTEIN.contains(&res.as_str()),
        Expr::Water => WATER.contains(&res.as_str()),
        Expr::Ions => ION_RESIDUES.contains(&res.as_str()),
        Expr::Field(f, values) => {
            let v = match f {
                Field::Element => a.element.unwrap_or(""),
                Field::Name => &a.name,
                Field::Resname => &a.resname,
                Field::Type => &a.atom_type,
            };
            values.iter().any(|p| glob(p, v.trim()))
        }
        Expr::Resid(ranges) => ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&a.resid)),
        Expr::Index(ranges) => ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&(index as i64))),
        Expr::Not(x) => !eval(x, index, a),
        Expr::And(x, y) => eval(x, index, a) && eval(y, index, a),
        Expr::Or(x, y) => eval(x, index, a) || eval(y, index, a),
    }
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<&'a str>,
    at: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, message: String) -> Error {
        Error::Option(format!("selection '{}' {message}", self.text))
    }

    fn peek(&self) -> Option<&'a str> {
        self.tokens.get(self.at).copied()
    }

    fn keyword(&self, k: &str) -> bool {
        self.peek().is_some_and(|t| t.eq_ignore_ascii_case(k))
    }

    fn or(&mut self) -> Result<Expr> {
        let mut e = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr> {
        let mut e = self.not()?;
        while self.keyword("and") {
            self.at += 1;
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr> {
        if self.keyword("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.primary()
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

    fn ranges(&mut self, keyword: &str) -> Result<Vec<(i64, i64)>> {
        let words = self.values(keyword)?;
        words
            .iter()
            .map(|w| {
                let bad = || self.error(format!("'{keyword} {w}': expected a whole number or a range A-B"));
                let (lo, hi) = match w[1..].find(['-', ':']) {
                    Some(p) => (&w[..p + 1], &w[p + 2..]),
                    None => (&w[..], &w[..]),
                };
                let lo: i64 = lo.parse().map_err(|_| bad())?;
                let hi: i64 = hi.parse().map_err(|_| bad())?;
                if hi < lo {
                    return Err(self.error(format!("'{keyword} {w}': the range is empty ({hi} < {lo})")));
                }
                Ok((lo, hi))
            })
            .collect()
    }

    fn primary(&mut self) -> Result<Expr> {
        let Some(t) = self.peek() else {
            return Err(self.error("ends where a selection was expected".into()));
        };
        self.at += 1;
        let e = match t.to_ascii_lowercase().as_str() {
            "(" => {
                let e = self.or()?;
                if self.peek() != Some(")") {
                    return Err(self.error("has an unclosed '('".into()));
                }
                self.at += 1;
                e
            }
            "all" => Expr::All,
            "protein" => Expr::Protein,
            "water" => Expr::Water,
            "ions" => Expr::Ions,
            k @ ("element" | "name" | "resname" | "type") => {
                let f = match k {
                    "element" => Field::Element,
                    "name" => Field::Name,
                    "resname" => Field::Resname,
                    _ => Field::Type,
                };
                Expr::Field(f, self.values(k)?.into_iter().map(String::from).collect())
            }
            "resid" => Expr::Resid(self.ranges("resid")?),
            "index" => Expr::Index(self.ranges("index")?),
            ")" => return Err(self.error("has an unmatched ')'".into())),
            other => {
                return Err(self.error(format!(
                    "has an unknown keyword '{other}' (expected protein, water, ions, all, element, name, resname, type, resid, index, not, and, or)"
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
        assert_eq!(err("protien"), "invalid option: selection 'protien' has an unknown keyword 'protien' (expected protein, water, ions, all, element, name, resname, type, resid, index, not, and, or)");
        assert_eq!(err("(protein"), "invalid option: selection '(protein' has an unclosed '('");
        assert_eq!(err("protein)"), "invalid option: selection 'protein)' unexpected ')'");
        assert_eq!(err("name"), "invalid option: selection 'name' needs a value after 'name'");
        assert_eq!(err("resid 5-2"), "invalid option: selection 'resid 5-2' 'resid 5-2': the range is empty (2 < 5)");
        assert_eq!(err("resid x"), "invalid option: selection 'resid x' 'resid x': expected a whole number or a range A-B");
        assert_eq!(err("protein and"), "invalid option: selection 'protein and' ends where a selection was expected");
        let none = Selection::parse("resname XYZ").unwrap().matches(&topology()).unwrap_err().to_string();
        assert_eq!(none, "invalid option: selection 'resname XYZ' matches no atoms (of 8)");
    }
}
