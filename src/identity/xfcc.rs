//! Envoy's `x-forwarded-client-cert` (XFCC) header, as Istio sets it: one comma-separated
//! element per proxy hop, each a `;`-separated list of `Key=value` pairs whose values may be
//! double-quoted (with `\"` escapes, so commas and semicolons inside quotes do not split).
//!
//! The last element describes the client of the nearest proxy, the hop the gateway trusts; its
//! SPIFFE `URI=` value is the caller.

use super::IdentityError;

/// The header's name.
pub(crate) const XFCC_HEADER: &str = "x-forwarded-client-cert";

/// One hop of an XFCC header: its key/value pairs in order, quotes removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct XfccElement {
    /// The pairs as they appear, such as `("By", "spiffe://...")` and `("URI", "spiffe://...")`.
    pub pairs: Vec<(String, String)>,
}

impl XfccElement {
    /// Returns the first value of `key`, compared without regard to case.
    #[cfg(test)]
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.values(key).next()
    }

    /// Returns every value of `key` in order, compared without regard to case (Envoy writes one
    /// `URI=` per URI SAN).
    pub(crate) fn values<'element>(&'element self, key: &str) -> impl Iterator<Item = &'element str> {
        self.pairs.iter().filter(move |(name, _)| name.eq_ignore_ascii_case(key)).map(|(_, value)| value.as_str())
    }
}

/// Parses a whole XFCC header value into its elements, the nearest hop last.
pub(crate) fn parse_xfcc(header: &str) -> Result<Vec<XfccElement>, IdentityError> {
    split_unquoted(header, ',')?.into_iter().map(parse_element).collect()
}

/// Returns the SPIFFE URI of the nearest hop's client: the one `URI=` value of the last element,
/// which must start with `spiffe://`. Fails with [`IdentityError::InvalidXfcc`] when the header
/// cannot be parsed and with [`IdentityError::NoSpiffeId`] when that element has no SPIFFE URI or
/// several URIs (an X.509-SVID has exactly one).
pub(crate) fn nearest_spiffe_id(header: &str) -> Result<String, IdentityError> {
    let elements = parse_xfcc(header)?;
    let nearest = elements.last().ok_or(IdentityError::InvalidXfcc)?;
    let uris: Vec<&str> = nearest.values("URI").collect();
    match uris.as_slice() {
        [only] if only.starts_with("spiffe://") && only.chars().all(|character| character.is_ascii_graphic()) => {
            Ok((*only).to_owned())
        }
        _ => Err(IdentityError::NoSpiffeId),
    }
}

fn parse_element(element: &str) -> Result<XfccElement, IdentityError> {
    let mut pairs = Vec::new();
    for pair in split_unquoted(element, ';')? {
        let (key, raw_value) = pair.split_once('=').ok_or(IdentityError::InvalidXfcc)?;
        let key = key.trim();
        if key.is_empty() || key.contains('"') {
            return Err(IdentityError::InvalidXfcc);
        }
        pairs.push((key.to_owned(), unquote(raw_value.trim())?));
    }
    Ok(XfccElement { pairs })
}

/// Splits on `separator` outside double quotes, trimming each part; an empty part or an
/// unterminated quote is an error.
fn split_unquoted(text: &str, separator: char) -> Result<Vec<&str>, IdentityError> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut start = 0;
    for (index, character) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if in_quotes && character == '\\' {
            escaped = true;
        } else if character == '"' {
            in_quotes = !in_quotes;
        } else if character == separator && !in_quotes {
            parts.push(text[start..index].trim());
            start = index + character.len_utf8();
        }
    }
    if in_quotes {
        return Err(IdentityError::InvalidXfcc);
    }
    parts.push(text[start..].trim());
    if parts.iter().any(|part| part.is_empty()) {
        return Err(IdentityError::InvalidXfcc);
    }
    Ok(parts)
}

/// Returns a value without its surrounding quotes and escapes; an unquoted value must not
/// contain a quote.
fn unquote(value: &str) -> Result<String, IdentityError> {
    let Some(inner) = value.strip_prefix('"') else {
        return if value.contains('"') { Err(IdentityError::InvalidXfcc) } else { Ok(value.to_owned()) };
    };
    let inner = inner.strip_suffix('"').ok_or(IdentityError::InvalidXfcc)?;
    let mut unescaped = String::with_capacity(inner.len());
    let mut characters = inner.chars();
    while let Some(character) = characters.next() {
        match character {
            '\\' => unescaped.push(characters.next().ok_or(IdentityError::InvalidXfcc)?),
            '"' => return Err(IdentityError::InvalidXfcc),
            other => unescaped.push(other),
        }
    }
    Ok(unescaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISTIO: &str = r#"By=spiffe://cluster.local/ns/default/sa/gateway;Hash=abc;Subject="";URI=spiffe://cluster.local/ns/orders/sa/orders-api"#;

    #[test]
    fn an_istio_header_names_the_client_spiffe_id() {
        assert_eq!(nearest_spiffe_id(ISTIO).as_deref(), Ok("spiffe://cluster.local/ns/orders/sa/orders-api"));
        let elements = parse_xfcc(ISTIO).expect("parses");
        assert_eq!(elements.len(), 1);
        assert_eq!(elements[0].get("by"), Some("spiffe://cluster.local/ns/default/sa/gateway"));
        assert_eq!(elements[0].get("Subject"), Some(""));
        assert_eq!(elements[0].get("Hash"), Some("abc"));
    }

    #[test]
    fn the_last_hop_is_the_nearest_client() {
        let header = format!(
            "By=spiffe://cluster.local/ns/edge/sa/ingress;Hash=111;URI=spiffe://cluster.local/ns/outside/sa/far,{ISTIO}"
        );
        assert_eq!(nearest_spiffe_id(&header).as_deref(), Ok("spiffe://cluster.local/ns/orders/sa/orders-api"));
        assert_eq!(parse_xfcc(&header).expect("parses").len(), 2);
    }

    #[test]
    fn quoted_values_keep_their_commas_semicolons_and_escaped_quotes() {
        let header = concat!(
            r#"Hash=1;Subject="CN=far, O=\"Acme; Inc\"";URI=spiffe://cluster.local/ns/a/sa/far,"#,
            r#"Hash=2;Subject="CN=near, OU=x";URI=spiffe://cluster.local/ns/b/sa/near"#,
        );
        let elements = parse_xfcc(header).expect("parses");
        assert_eq!(elements.len(), 2);
        assert_eq!(elements[0].get("Subject"), Some(r#"CN=far, O="Acme; Inc""#));
        assert_eq!(elements[1].get("Subject"), Some("CN=near, OU=x"));
        assert_eq!(nearest_spiffe_id(header).as_deref(), Ok("spiffe://cluster.local/ns/b/sa/near"));
    }

    #[test]
    fn an_element_with_several_uris_names_no_one() {
        let header = "Hash=abc;URI=https://example.com/not-spiffe;URI=spiffe://cluster.local/ns/orders/sa/orders-api";
        assert_eq!(nearest_spiffe_id(header), Err(IdentityError::NoSpiffeId));
        let two_spiffe = "Hash=abc;URI=spiffe://cluster.local/ns/a/sa/a;URI=spiffe://cluster.local/ns/b/sa/b";
        assert_eq!(nearest_spiffe_id(two_spiffe), Err(IdentityError::NoSpiffeId));
    }

    #[test]
    fn a_nearest_hop_without_a_spiffe_uri_has_no_identity() {
        let header = "URI=spiffe://cluster.local/ns/a/sa/far,By=spiffe://cluster.local/ns/default/sa/gateway;Hash=abc";
        assert_eq!(nearest_spiffe_id(header), Err(IdentityError::NoSpiffeId));
        assert_eq!(nearest_spiffe_id("Hash=abc;URI=https://example.com/x"), Err(IdentityError::NoSpiffeId));
    }

    #[test]
    fn malformed_headers_are_rejected() {
        let malformed = [
            r#"Hash=abc;Subject="unterminated;URI=spiffe://a/b"#,
            "Hash=abc;URI",
            "=abc",
            "Hash=abc;;URI=spiffe://a/b",
            "URI=spiffe://a/b,",
            "",
            r#"Hash=ab"c;URI=spiffe://a/b"#,
            r#"Subject="a"b";URI=spiffe://a/b"#,
        ];
        for header in malformed {
            assert_eq!(nearest_spiffe_id(header), Err(IdentityError::InvalidXfcc), "{header}");
        }
    }
}
