//! Owns the bound on recorded parameters: a call's parameters are kept in its event, but a huge
//! query or parameter list is cut to 16 KiB and carries the SHA-256 of the whole text, so the trail
//! stays small and still proves what was asked.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The most bytes of parameters an event keeps as they are.
pub(crate) const MAX_PARAMETERS_BYTES: usize = 16 * 1024;

/// Returns the parameters as recorded: unchanged when their JSON text fits the bound, else an
/// object with the text's size, its SHA-256 and its first 16 KiB (cut on a character boundary).
pub(crate) fn bounded_parameters(parameters: Value) -> Value {
    let text = parameters.to_string();
    if text.len() <= MAX_PARAMETERS_BYTES {
        return parameters;
    }
    let mut cut = MAX_PARAMETERS_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let digest = Sha256::digest(text.as_bytes());
    let hash: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    json!({"truncated": true, "bytes": text.len(), "sha256": hash, "prefix": &text[..cut]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_parameters_are_kept_and_large_ones_cut_with_the_hash_of_the_whole() {
        let small = json!({"card_id": 4, "parameters": []});
        assert_eq!(bounded_parameters(small.clone()), small);

        let large = json!({"query": "é".repeat(20_000)});
        let bounded = bounded_parameters(large.clone());
        assert_eq!(bounded["truncated"], json!(true));
        assert_eq!(bounded["bytes"], json!(large.to_string().len()));
        assert_eq!(bounded["sha256"].as_str().map(str::len), Some(64));
        let prefix = bounded["prefix"].as_str().unwrap();
        assert!(prefix.len() <= MAX_PARAMETERS_BYTES && large.to_string().starts_with(prefix));
        assert!(bounded.to_string().len() < MAX_PARAMETERS_BYTES + 200);
    }
}
