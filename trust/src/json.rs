//! A bound on JSON nesting, checked on the raw bytes before any parser sees them, so a deeply
//! nested document costs one linear scan and never a deep recursion. It does not validate JSON
//! (serde does that next); it only has to count brackets outside strings correctly, whatever
//! the input.

/// The nesting depth of `json`: `1` for `{"a":1}`, `2` for `{"a":[1]}`, `0` for a scalar.
/// Stops counting once `limit` is exceeded (the answer is then `limit + 1`).
pub(crate) fn nesting_depth(json: &[u8], limit: usize) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > deepest {
                    deepest = depth;
                    if deepest > limit {
                        return deepest;
                    }
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::nesting_depth;

    #[test]
    fn depth_counts_brackets_outside_strings_only() {
        let cases: &[(&str, usize)] = &[
            ("1", 0),
            ("\"x\"", 0),
            ("{}", 1),
            ("[]", 1),
            (r#"{"a":1}"#, 1),
            (r#"{"a":[1,{"b":2}]}"#, 3),
            (r#"[[],[[]],[]]"#, 3),
            (r#"{"a":"{[{[{["}"#, 1),
            (r#"{"a":"\"{{{"}"#, 1),
            (r#"{"a":"\\","b":{}}"#, 2),
            (r#"{"a":"\\\"[[["}"#, 1),
            // Garbage still terminates with a bounded answer.
            ("]]]]{", 1),
            ("\"unterminated [[[[", 0),
        ];
        for (json, depth) in cases {
            assert_eq!(nesting_depth(json.as_bytes(), 100), *depth, "{json}");
        }
    }

    #[test]
    fn scanning_stops_past_the_limit() {
        let deep = "[".repeat(1_000_000);
        assert_eq!(nesting_depth(deep.as_bytes(), 8), 9);
        let at_limit = format!("{}{}", "[".repeat(8), "]".repeat(8));
        assert_eq!(nesting_depth(at_limit.as_bytes(), 8), 8);
    }
}
