//! Enterprise names as the search sees them.
//!
//! A name and a query are folded the same way (full-width forms to half-width, lower case,
//! letters and digits only), so `清源（郑州）纸业` and `清源郑州纸业` are the same text. The
//! index keeps each name's overlapping two-character fragments (bigrams): a query of two
//! characters is one bigram, a longer one matches only names holding all its bigrams, and the
//! plain substring test decides. Bigrams rather than trigrams because the distinctive part of
//! a Chinese enterprise name (its 字号, `清源`) is usually two characters long.

use std::cmp::Reverse;
use std::collections::BTreeSet;

/// Fewer characters than this (after folding) would list half the register.
pub const MIN_QUERY_CHARS: usize = 2;
/// Longer than any enterprise name.
pub const MAX_QUERY_CHARS: usize = 60;
/// The query string as sent, in bytes, before anything else is looked at.
pub const MAX_RAW_QUERY: usize = 300;
/// A search reads at most this many bigrams, the rarest of the query's.
pub const RAREST: usize = 3;
/// When even the rarest bigram of a query occurs in more names than this, the query names no
/// enterprise in particular and is refused without reading the index.
pub const SCAN_LIMIT: i64 = 10_000;

/// Characters that mean "anything" in some search syntax. Nothing here treats them so, but a
/// query holding one is an attempt to list, and is told so rather than quietly searched.
const WILDCARDS: &[char] = &['%', '_', '*', '?'];

/// One character folded for search, or `None` for spaces and punctuation.
fn fold(c: char) -> Option<char> {
    let c = match c {
        // Full-width ASCII forms (Ａ, １, （ …) to their ASCII counterparts.
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0)?,
        _ => c,
    };
    if !c.is_alphanumeric() {
        return None;
    }
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => Some(l),
        _ => Some(c),
    }
}

/// A name or query folded for search.
pub fn normalise(s: &str) -> String {
    s.chars().filter_map(fold).collect()
}

/// The overlapping two-character fragments of a folded name, each once, in order.
pub fn bigrams(norm: &str) -> BTreeSet<String> {
    let chars: Vec<char> = norm.chars().collect();
    chars.windows(2).map(|w| w.iter().collect()).collect()
}

/// A bigram as the SQLite full-text index stores it: both code points in hexadecimal, an ASCII
/// word whatever the characters, so no tokenizer rule can split or fold it.
pub fn fts_token(gram: &str) -> String {
    gram.chars().map(|c| format!("{:06x}", c as u32)).collect()
}

/// Why a query is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryError {
    Missing,
    TooShort,
    TooLong,
    Wildcard,
}

/// A query that may be searched: folded, at least two characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameQuery {
    pub norm: String,
}

impl NameQuery {
    pub fn parse(raw: &str) -> Result<NameQuery, QueryError> {
        if raw.len() > MAX_RAW_QUERY {
            return Err(QueryError::TooLong);
        }
        if raw.trim().is_empty() {
            return Err(QueryError::Missing);
        }
        let wildcard = raw.chars().any(|c| {
            let c = match c {
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                _ => c,
            };
            WILDCARDS.contains(&c)
        });
        if wildcard {
            return Err(QueryError::Wildcard);
        }
        let norm = normalise(raw);
        match norm.chars().count() {
            0 => Err(QueryError::Missing),
            n if n < MIN_QUERY_CHARS => Err(QueryError::TooShort),
            n if n > MAX_QUERY_CHARS => Err(QueryError::TooLong),
            _ => Ok(NameQuery { norm }),
        }
    }

    pub fn bigrams(&self) -> BTreeSet<String> {
        bigrams(&self.norm)
    }
}

/// How a query is searched, decided from how many names hold each of its bigrams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A bigram no name holds: nothing can match.
    Nothing,
    /// Every bigram is in more than `SCAN_LIMIT` names.
    TooBroad,
    /// Read the names holding all of these (the rarest, rarest first), then test each.
    Read(Vec<String>),
}

/// Chooses the bigrams to read: `counts` has the names per bigram for those of the query's
/// bigrams that occur at all.
pub fn plan(query: &BTreeSet<String>, counts: &[(String, i64)]) -> Plan {
    let mut known: Vec<(i64, &str)> = Vec::with_capacity(query.len());
    for gram in query {
        match counts.iter().find(|(g, _)| g == gram) {
            Some((_, n)) if *n > 0 => known.push((*n, gram)),
            _ => return Plan::Nothing,
        }
    }
    known.sort_unstable();
    match known.first() {
        None => Plan::Nothing,
        Some((n, _)) if *n > SCAN_LIMIT => Plan::TooBroad,
        Some(_) => Plan::Read(
            known
                .iter()
                .take(RAREST)
                .map(|(_, g)| (*g).to_owned())
                .collect(),
        ),
    }
}

/// A listed certificate found by a search, with what ranking needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub cert_id: String,
    /// The enterprise's name, folded.
    pub norm: String,
    pub valid_from: i64,
}

/// Orders matches by how well the name fits the query: the whole name first, then names that
/// begin with it, then by where it occurs and how much else the name holds; the same name's
/// newest certificate first.
pub fn rank(query: &NameQuery, mut found: Vec<Listed>) -> Vec<Listed> {
    let q = query.norm.as_str();
    found.sort_by_cached_key(|l| {
        let at = l
            .norm
            .find(q)
            .map_or(usize::MAX, |byte| l.norm[..byte].chars().count());
        (
            l.norm != q,
            at,
            l.norm.chars().count(),
            l.norm.clone(),
            Reverse(l.valid_from),
            l.cert_id.clone(),
        )
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(id: &str, name: &str, from: i64) -> Listed {
        Listed {
            cert_id: id.into(),
            norm: normalise(name),
            valid_from: from,
        }
    }

    #[test]
    fn names_fold_full_width_forms_case_and_punctuation() {
        assert_eq!(
            normalise("清源（郑州）纸业 有限公司"),
            "清源郑州纸业有限公司"
        );
        assert_eq!(normalise("ＡＢＣ环保·科技１号"), "abc环保科技1号");
        assert_eq!(normalise("  -（）· "), "");
    }

    #[test]
    fn bigrams_overlap_and_repeat_once() {
        let g: Vec<String> = bigrams("清源清源").into_iter().collect();
        assert_eq!(g, ["清源", "源清"]);
        assert!(bigrams("清").is_empty());
        assert_eq!(fts_token("清源"), "006e05006e90");
    }

    #[test]
    fn queries_that_would_list_the_register_are_refused() {
        assert_eq!(NameQuery::parse(""), Err(QueryError::Missing));
        assert_eq!(NameQuery::parse("   "), Err(QueryError::Missing));
        assert_eq!(NameQuery::parse("（）"), Err(QueryError::Missing));
        assert_eq!(NameQuery::parse("清"), Err(QueryError::TooShort));
        assert_eq!(NameQuery::parse("清 "), Err(QueryError::TooShort));
        for q in ["%", "清源%", "*", "_", "清?", "％", "＊公司"] {
            assert_eq!(NameQuery::parse(q), Err(QueryError::Wildcard), "{q}");
        }
        assert_eq!(
            NameQuery::parse(&"清".repeat(MAX_QUERY_CHARS + 1)),
            Err(QueryError::TooLong)
        );
        assert_eq!(
            NameQuery::parse(&"a".repeat(MAX_RAW_QUERY + 1)),
            Err(QueryError::TooLong)
        );
        assert_eq!(NameQuery::parse(" 清源 ").unwrap().norm, "清源");
    }

    #[test]
    fn the_rarest_bigrams_are_read_and_hopeless_queries_are_not() {
        let q = NameQuery::parse("清源食品有限").unwrap().bigrams();
        let counts = |extra: i64| -> Vec<(String, i64)> {
            [
                ("清源", 40),
                ("源食", 9),
                ("食品", 3_000),
                ("品有", 2_000),
                ("有限", 900_000 + extra),
            ]
            .iter()
            .map(|(g, n)| ((*g).to_owned(), *n))
            .collect()
        };
        assert_eq!(
            plan(&q, &counts(0)),
            Plan::Read(vec!["源食".into(), "清源".into(), "品有".into()])
        );
        // A bigram no name holds: nothing to read.
        let mut missing = counts(0);
        missing.retain(|(g, _)| g != "源食");
        assert_eq!(plan(&q, &missing), Plan::Nothing);
        let broad = NameQuery::parse("有限").unwrap().bigrams();
        assert_eq!(plan(&broad, &counts(0)), Plan::TooBroad);
    }

    #[test]
    fn the_whole_name_ranks_first_then_names_that_begin_with_the_query() {
        let q = NameQuery::parse("清源纸业").unwrap();
        let ranked = rank(
            &q,
            vec![
                listed("a", "漯河市清源纸业有限公司", 1),
                listed("b", "清源纸业", 1),
                listed("c", "清源纸业有限公司", 1),
                listed("d", "郑州清源纸业有限公司", 1),
                listed("e", "清源纸业有限公司", 5),
            ],
        );
        let ids: Vec<&str> = ranked.iter().map(|l| l.cert_id.as_str()).collect();
        assert_eq!(ids, ["b", "e", "c", "d", "a"]);
    }
}
