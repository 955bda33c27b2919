//! The placeholder grammar and the per-request map between placeholders and values.
//!
//! A placeholder is `[LABEL_N]`, e.g. `[PERSON_1]`, `[STREET_ADDRESS_2]`: an opening `[`,
//! a docs/interface.md label, `_`, a decimal index starting at 1, and a closing `]`. Because the
//! closing delimiter cannot occur inside, no placeholder is a prefix of another
//! (`[PERSON_1]` vs `[PERSON_12]`). The *core* is the part between the brackets; models
//! sometimes drop the brackets or change the case, and `restore` accepts those mutations.
//!
//! Text that merely looks like a placeholder never collides with a real one: when a
//! request already contains `[PERSON_1]` (in any case, with or without brackets), the map
//! skips index 1 for PERSON, so the literal text is left alone on the way back.

use super::Label;
use std::collections::{HashMap, HashSet};

/// Longest label name (`STREET_ADDRESS`) + `_` + up to 6 digits + 2 brackets.
pub const MAX_PLACEHOLDER_LEN: usize = 14 + 1 + 6 + 2;

/// One masked value.
#[derive(Debug, Clone)]
pub struct Slot {
    /// `[LABEL_N]`
    pub placeholder: String,
    /// The raw value; never logged.
    pub value: String,
    pub label: Label,
}

impl Slot {
    /// The placeholder without its brackets: `LABEL_N`.
    pub fn core(&self) -> &str {
        &self.placeholder[1..self.placeholder.len() - 1]
    }
}

/// Both directions between placeholders and values for one request.
#[derive(Debug, Default, Clone)]
pub struct PlaceholderMap {
    slots: Vec<Slot>,
    by_value: HashMap<String, usize>,
    next_index: HashMap<Label, u32>,
    /// Cores (upper-cased) that already occur in the request text; never handed out.
    taken: HashSet<String>,
}

impl PlaceholderMap {
    /// A map that avoids every placeholder-looking core found in `texts`.
    pub fn avoiding<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut map = Self::default();
        for t in texts {
            map.reserve_existing(t);
        }
        map
    }

    /// Records every `LABEL_N` core (any case) occurring in `text` as taken.
    pub fn reserve_existing(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut i = 0;
        while let Some(off) = memchr::memchr(b'_', &bytes[i..]) {
            let us = i + off;
            i = us + 1;
            // digits after '_'
            let mut d = us + 1;
            while d < bytes.len() && bytes[d].is_ascii_digit() {
                d += 1;
            }
            if d == us + 1 {
                continue;
            }
            // letters/underscores before '_'
            let mut s = us;
            while s > 0 && (bytes[s - 1].is_ascii_alphabetic() || bytes[s - 1] == b'_') {
                s -= 1;
            }
            if s == us {
                continue;
            }
            let core = text[s..d].to_ascii_uppercase();
            // Any suffix of the letters may be the label (`MY_PERSON_1` holds `PERSON_1`).
            for (k, _) in core.match_indices('_') {
                if k + 1 < core.len() {
                    self.taken.insert(core[k + 1..].to_string());
                }
            }
            self.taken.insert(core);
        }
    }

    /// The placeholder for `value`, creating one if this value is new to the request.
    /// The same value always gets the same placeholder within one map.
    pub fn placeholder_for(&mut self, value: &str, label: Label) -> &str {
        if let Some(&i) = self.by_value.get(value) {
            return &self.slots[i].placeholder;
        }
        let counter = self.next_index.entry(label).or_insert(0);
        let placeholder = loop {
            *counter += 1;
            let core = format!("{}_{}", label.as_str(), counter);
            if !self.taken.contains(&core) {
                break format!("[{core}]");
            }
        };
        self.slots.push(Slot { placeholder, value: value.to_string(), label });
        self.by_value.insert(value.to_string(), self.slots.len() - 1);
        &self.slots[self.slots.len() - 1].placeholder
    }

    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_value_same_placeholder() {
        let mut m = PlaceholderMap::default();
        let a = m.placeholder_for("Ann", Label::Person).to_string();
        let b = m.placeholder_for("Bob", Label::Person).to_string();
        let c = m.placeholder_for("Ann", Label::Person).to_string();
        assert_eq!(a, "[PERSON_1]");
        assert_eq!(b, "[PERSON_2]");
        assert_eq!(a, c);
        assert_eq!(m.placeholder_for("a@b.co", Label::Email), "[EMAIL_1]");
    }

    #[test]
    fn skips_cores_present_in_the_input() {
        let mut m = PlaceholderMap::avoiding(["see [person_1] and EMAIL_1, also x_PERSON_2"]);
        assert_eq!(m.placeholder_for("Ann", Label::Person), "[PERSON_3]");
        assert_eq!(m.placeholder_for("a@b.co", Label::Email), "[EMAIL_2]");
    }

    #[test]
    fn longest_placeholder_fits_the_bound() {
        let mut m = PlaceholderMap::default();
        let p = m.placeholder_for("x", Label::StreetAddress).to_string();
        assert!(p.len() + 5 <= MAX_PLACEHOLDER_LEN);
    }
}
