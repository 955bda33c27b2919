//! Cryptocurrency addresses for the pattern detector (`super`): Bitcoin legacy base58check
//! (`1…` P2PKH, `3…` P2SH, checksum verified), Bitcoin segwit bech32/bech32m (`bc1…`,
//! checksum and witness program verified) and Ethereum `0x` + 40 hex (EIP-55 checksum
//! verified when the hex is mixed case).

use super::{entity, word_end, word_start};
use crate::mask::{Entity, Label};
use regex::Regex;
use tiny_keccak::{Hasher, Keccak};

pub(super) struct Cryptos {
    base58: Regex,
    bech32: Regex,
    eth: Regex,
}

impl Cryptos {
    pub(super) fn new() -> Self {
        Cryptos {
            base58: Regex::new(r"[13][1-9A-HJ-NP-Za-km-z]{25,34}").expect("base58 regex is valid; this is a bug"),
            bech32: Regex::new(r"(?:bc1|BC1)[02-9ac-hj-np-zAC-HJ-NP-Z]{6,87}")
                .expect("bech32 regex is valid; this is a bug"),
            eth: Regex::new(r"0[xX][0-9a-fA-F]{40}").expect("eth regex is valid; this is a bug"),
        }
    }

    pub(super) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        let whole = |s: usize, e: usize| word_start(text, s) && word_end(text, e);
        for m in self.base58.find_iter(text) {
            if whole(m.start(), m.end()) && base58_address(m.as_str()) {
                out.push(entity(m.start(), m.end(), Label::CryptoAddress, 1.0));
            }
        }
        if memchr::memmem::find(text.as_bytes(), b"bc1").is_some()
            || memchr::memmem::find(text.as_bytes(), b"BC1").is_some()
        {
            for m in self.bech32.find_iter(text) {
                if whole(m.start(), m.end()) && bech32_address(m.as_str()) {
                    out.push(entity(m.start(), m.end(), Label::CryptoAddress, 1.0));
                }
            }
        }
        if memchr::memchr(b'0', text.as_bytes()).is_some() {
            for m in self.eth.find_iter(text) {
                if whole(m.start(), m.end()) && eth_address(&m.as_str()[2..]) {
                    out.push(entity(m.start(), m.end(), Label::CryptoAddress, 1.0));
                }
            }
        }
    }
}

/// Base58check with a P2PKH (0x00) or P2SH (0x05) version byte and a 20-byte hash.
fn base58_address(s: &str) -> bool {
    match bs58::decode(s).with_check(None).into_vec() {
        Ok(payload) => payload.len() == 21 && matches!(payload[0], 0x00 | 0x05),
        Err(_) => false,
    }
}

/// A mainnet segwit address (bech32 for v0, bech32m for v1+), single case.
fn bech32_address(s: &str) -> bool {
    let lower = s.bytes().any(|b| b.is_ascii_lowercase());
    let upper = s.bytes().any(|b| b.is_ascii_uppercase());
    if lower && upper {
        return false;
    }
    matches!(bech32::segwit::decode(s), Ok((hrp, _, _)) if hrp == bech32::hrp::BC)
}

/// 40 hex digits: all one case, or mixed case that matches its EIP-55 checksum.
fn eth_address(hex: &str) -> bool {
    let lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    let upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    if !(lower && upper) {
        return true;
    }
    let lowered = hex.to_ascii_lowercase();
    let mut hash = [0u8; 32];
    let mut k = Keccak::v256();
    k.update(lowered.as_bytes());
    k.finalize(&mut hash);
    hex.bytes().enumerate().all(|(i, c)| {
        let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0x0f;
        if c.is_ascii_digit() {
            true
        } else if nibble >= 8 {
            c.is_ascii_uppercase()
        } else {
            c.is_ascii_lowercase()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::found_label;
    use super::*;

    const GOOD: &[&str] = &[
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
        "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359",
        "0xFB6916095CA1DF60BB79CE92CE3EA74C37C5D359",
    ];

    #[test]
    fn finds_addresses() {
        for a in GOOD {
            let text = format!("send to {a}, thanks");
            assert_eq!(found_label(&text, Label::CryptoAddress), vec![a.to_string()], "{text}");
        }
    }

    #[test]
    fn rejects_look_alikes() {
        for text in [
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", // one char changed
            "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz",
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",   // bad checksum
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7KV8F3T4",   // mixed case
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",   // bad EIP-55
            "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed00", // too long
            "0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea",     // too short
            "tx 0xdeadbeef",
            "x1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        ] {
            assert_eq!(found_label(text, Label::CryptoAddress), Vec::<String>::new(), "{text}");
        }
    }

    #[test]
    fn eip55() {
        assert!(eth_address("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
        assert!(!eth_address("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"));
    }
}
