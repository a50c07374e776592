//! Reads `vectors/kat.txt`: blocks of `key = value` lines separated by blank lines.

use std::collections::HashMap;

/// One vector block.
#[derive(Debug, Clone)]
pub(crate) struct Vector {
    pub fields: HashMap<String, String>,
}

impl Vector {
    pub(crate) fn text(&self, key: &str) -> Result<&str, String> {
        self.fields
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| format!("vector lacks `{key}`"))
    }

    pub(crate) fn hex(&self, key: &str) -> Result<Vec<u8>, String> {
        decode_hex(self.text(key)?)
    }

    pub(crate) fn number(&self, key: &str) -> Result<u32, String> {
        self.text(key)?
            .parse()
            .map_err(|_| format!("`{key}` is not a number"))
    }
}

const KAT: &str = include_str!("../vectors/kat.txt");

/// Every vector of `kind`.
pub(crate) fn of_kind(kind: &str) -> Vec<Vector> {
    KAT.split("\n\n")
        .map(|block| {
            let fields = block
                .lines()
                .filter(|line| !line.starts_with('#'))
                .filter_map(|line| line.split_once('='))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect::<HashMap<_, _>>();
            Vector { fields }
        })
        .filter(|v| v.fields.get("kind").map(String::as_str) == Some(kind))
        .collect()
}

pub(crate) fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    if text.len() % 2 != 0 {
        return Err("odd-length hex".into());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("bad hex at {i}"))
        })
        .collect()
}
