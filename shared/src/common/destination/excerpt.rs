//! What Herald keeps of a reply from an endpoint an account controls (a token endpoint, an SMTP
//! server's error): a short, bounded excerpt. The whole reply would let an account read through
//! Herald whatever answers at an address, and a large one would not fit its log record.

/// The most characters kept of a reply.
pub const MAX_EXCERPT: usize = 256;

/// The first [`MAX_EXCERPT`] characters of `text`, with control characters as spaces, and `…`
/// when it was cut.
pub fn excerpt(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(MAX_EXCERPT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(MAX_EXCERPT).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_replies_are_cut_and_marked() {
        let long = "x".repeat(1024 * 1024);
        let kept = excerpt(&long);
        assert_eq!(kept.chars().count(), MAX_EXCERPT + 1);
        assert!(kept.ends_with('…'));
        assert_eq!(excerpt("invalid_client"), "invalid_client");
        assert_eq!(excerpt("a\r\nb"), "a  b");
        let exact = "é".repeat(MAX_EXCERPT);
        assert_eq!(excerpt(&exact), exact);
    }
}
