//! Uniform paging for list RPCs: `page_size` (default 100, at most 1000) and an opaque
//! `page_token` that carries the next offset.

use crate::error::GatewayError;

/// The page size used when a request leaves it at 0.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 100;
/// The largest page a request may ask for; larger sizes are reduced to it.
pub(crate) const MAX_PAGE_SIZE: usize = 1000;
/// The largest offset a token may carry: far past any list Metabase or the audit log returns,
/// and small enough that no store's offset arithmetic overflows on a forged token.
const MAX_OFFSET: usize = 1 << 31;

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    /// How many items at most.
    pub size: usize,
    /// How many items to skip.
    pub offset: usize,
}

impl Page {
    /// Reads `page_size` and `page_token` from a request.
    pub(crate) fn from_request(page_size: i32, page_token: &str) -> Result<Self, GatewayError> {
        if page_size < 0 {
            return Err(GatewayError::invalid_argument("page_size", "page_size must not be negative"));
        }
        let size = match page_size as usize {
            0 => DEFAULT_PAGE_SIZE,
            size => size.min(MAX_PAGE_SIZE),
        };
        let offset = if page_token.is_empty() { 0 } else { decode_token(page_token)? };
        Ok(Page { size, offset })
    }

    /// Returns the token for the page after this one, empty when `total` is reached.
    pub(crate) fn next_token(&self, total: usize) -> String {
        let next = self.offset + self.size;
        if next >= total { String::new() } else { encode_token(next) }
    }

    /// Cuts this page out of a full list, returning it with the list's total size.
    pub(crate) fn slice<T>(&self, items: Vec<T>) -> (Vec<T>, usize) {
        let total = items.len();
        (items.into_iter().skip(self.offset).take(self.size).collect(), total)
    }
}

fn encode_token(offset: usize) -> String {
    format!("v1:{offset}").bytes().map(|byte| format!("{byte:02x}")).collect()
}

fn decode_token(token: &str) -> Result<usize, GatewayError> {
    let invalid = || GatewayError::invalid_argument("page_token", "page_token is not one this gateway issued");
    if !token.len().is_multiple_of(2) || !token.is_ascii() {
        return Err(invalid());
    }
    let bytes: Result<Vec<u8>, _> =
        (0..token.len()).step_by(2).map(|index| u8::from_str_radix(&token[index..index + 2], 16)).collect();
    let text = String::from_utf8(bytes.map_err(|_| invalid())?).map_err(|_| invalid())?;
    text.strip_prefix("v1:")
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()))
        .and_then(|digits| digits.parse::<usize>().ok())
        .filter(|offset| *offset <= MAX_OFFSET)
        // Only the spelling this gateway issues: no leading zeros, no upper-case hex.
        .filter(|offset| encode_token(*offset) == token)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_a_list_and_end_with_an_empty_token() {
        let first = Page::from_request(2, "").unwrap();
        let (items, total) = first.slice(vec![1, 2, 3]);
        assert_eq!((items, total), (vec![1, 2], 3));
        let token = first.next_token(total);
        let second = Page::from_request(2, &token).unwrap();
        assert_eq!(second.slice(vec![1, 2, 3]).0, vec![3]);
        assert_eq!(second.next_token(3), "");
    }

    #[test]
    fn sizes_default_and_cap_and_bad_tokens_are_invalid() {
        assert_eq!(Page::from_request(0, "").unwrap().size, DEFAULT_PAGE_SIZE);
        assert_eq!(Page::from_request(5000, "").unwrap().size, MAX_PAGE_SIZE);
        assert!(Page::from_request(-1, "").is_err());
        assert!(Page::from_request(10, "zz").is_err());
    }

    #[test]
    fn forged_tokens_are_invalid_arguments_however_they_are_made() {
        let forged = |text: &str| text.bytes().map(|byte| format!("{byte:02x}")).collect::<String>();
        for text in ["v1:18446744073709551615", "v1:9999999999", "v1:-1", "v1:+5", "v1:", "v2:5", "v1:5 "] {
            let refused = Page::from_request(10, &forged(text)).unwrap_err();
            assert!(
                matches!(&refused, GatewayError::InvalidArgument { field, .. } if field == "page_token"),
                "{text}: {refused:?}"
            );
        }
        assert_eq!(Page::from_request(10, &forged("v1:2147483648")).unwrap().offset, 1 << 31);
    }

    #[test]
    fn arbitrary_tokens_never_panic_and_only_issued_tokens_decode() {
        let mut random = crate::seeded::Seeded::new(0x7061_6765);
        let issued: Vec<String> = (0..200).map(|_| encode_token(random.below(MAX_OFFSET + 1))).collect();
        for round in 0..5_000 {
            let token = match round % 4 {
                0 => random.text(b"0123456789abcdefABCDEF", 40),
                1 => random.text(b"v1:-+ 0123456789", 24).bytes().map(|byte| format!("{byte:02x}")).collect(),
                2 => {
                    let mut bytes = random.pick(&issued).clone().into_bytes();
                    let at = random.below(bytes.len());
                    bytes[at] = *random.pick(b"0123456789abcdefABCDEF:z\xff");
                    String::from_utf8_lossy(&bytes).into_owned()
                }
                _ => String::from_utf8_lossy(&random.bytes(64)).into_owned(),
            };
            if let Ok(page) = Page::from_request(random.below(2000) as i32, &token) {
                assert!(
                    token.is_empty() || encode_token(page.offset) == token,
                    "{token:?} decoded but was never issued"
                );
            }
        }
        for token in &issued {
            let page = Page::from_request(10, token).expect("an issued token decodes");
            assert_eq!(&encode_token(page.offset), token);
        }
        assert!(Page::from_request(10, &encode_token(5).to_uppercase()).is_err(), "upper-case hex is not issued");
        assert!(Page::from_request(10, "76313a3035").is_err(), "v1:05 is not issued");
    }
}
