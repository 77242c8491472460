//! A streaming masker (1Password `op run`'s masking): every secret value in a byte stream is
//! replaced by `<redacted:NAME>`, also when a value is split across reads.
//!
//! Only what might still become a secret is held back: at each position, if the bytes left in
//! the buffer are a proper prefix of some value, output stops there until more bytes (or the
//! end) arrive. So ordinary output (ending in a newline, say) passes at once, and at most
//! (longest value − 1) bytes are ever held. When values overlap, the longest match wins.

use zeroize::Zeroizing;

/// Values shorter than this cannot be masked without showing them: every place their few
/// characters occur in the output would be marked, which spells the value out.
pub const MIN_MASKED: usize = 4;

/// Refuse (exit 2) to mask a value too short to hide; names the secret, never its length.
pub fn check_maskable(secrets: &[(String, super::Value)]) -> anyhow::Result<()> {
    let short: Vec<&str> = secrets
        .iter()
        .filter(|(_, v)| !v.is_empty() && v.chars().count() < MIN_MASKED)
        .map(|(n, _)| n.as_str())
        .collect();
    if short.is_empty() {
        return Ok(());
    }
    Err(crate::error::CliError::bad_input(format!(
        "--mask cannot hide {}: masking a value that short would mark where it occurs and so show it",
        short.join(", ")
    ))
    .hint("leave it out with --only, run without --mask, or store a longer value; the command was not started")
    .into())
}

pub struct Masker {
    /// (value, replacement), longest value first.
    secrets: Vec<(Zeroizing<Vec<u8>>, Vec<u8>)>,
    /// Whether any value starts with this byte (skips most positions at once).
    first: [bool; 256],
    held: Zeroizing<Vec<u8>>,
}

impl Masker {
    /// Empty values are ignored (they would match everywhere).
    pub fn new(secrets: &[(String, super::Value)]) -> Masker {
        let mut list: Vec<(Zeroizing<Vec<u8>>, Vec<u8>)> = secrets
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| (Zeroizing::new(v.as_bytes().to_vec()), format!("<redacted:{n}>").into_bytes()))
            .collect();
        list.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
        let mut first = [false; 256];
        for (v, _) in &list {
            first[v[0] as usize] = true;
        }
        Masker { secrets: list, first, held: Zeroizing::new(vec![]) }
    }

    /// Feed a chunk; appends everything that is safe to show to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let mut buf = Zeroizing::new(Vec::with_capacity(self.held.len() + chunk.len()));
        buf.extend_from_slice(&self.held);
        buf.extend_from_slice(chunk);
        self.held = self.scan(&buf, false, out);
    }

    /// End of stream: flush what was held (masking any complete value in it).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let buf = std::mem::take(&mut self.held);
        self.held = self.scan(&buf, true, out);
        debug_assert!(self.held.is_empty());
    }

    /// Mask `buf` into `out`; returns the tail that must wait for more input.
    fn scan(&self, buf: &[u8], eof: bool, out: &mut Vec<u8>) -> Zeroizing<Vec<u8>> {
        let mut emitted = 0;
        let mut i = 0;
        while i < buf.len() {
            if !self.first[buf[i] as usize] {
                i += 1;
                continue;
            }
            let rest = &buf[i..];
            let mut matched: Option<&(Zeroizing<Vec<u8>>, Vec<u8>)> = None;
            let mut maybe_longer = false;
            for s in &self.secrets {
                let v = &s.0;
                if rest.len() >= v.len() {
                    if matched.is_none() && rest.starts_with(v) {
                        matched = Some(s);
                    }
                } else if !eof && v.starts_with(rest) {
                    maybe_longer = true;
                }
            }
            if maybe_longer {
                break;
            }
            match matched {
                Some((v, replacement)) => {
                    out.extend_from_slice(&buf[emitted..i]);
                    out.extend_from_slice(replacement);
                    i += v.len();
                    emitted = i;
                }
                None => i += 1,
            }
        }
        out.extend_from_slice(&buf[emitted..i]);
        Zeroizing::new(buf[i..].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masker(pairs: &[(&str, &str)]) -> Masker {
        let v: Vec<(String, super::super::Value)> =
            pairs.iter().map(|(n, v)| (n.to_string(), Zeroizing::new(v.to_string()))).collect();
        Masker::new(&v)
    }

    /// Feed `input` in chunks of `size` and return the whole output.
    fn run(m: &mut Masker, input: &[u8], size: usize) -> String {
        let mut out = vec![];
        for chunk in input.chunks(size.max(1)) {
            m.feed(chunk, &mut out);
        }
        m.finish(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn masks_at_every_split() {
        let input = b"token=sk-SECRET-123 and again sk-SECRET-123\nsk-SECRET-12 is not it\n";
        let want = "token=<redacted:K> and again <redacted:K>\nsk-SECRET-12 is not it\n";
        for size in 1..=input.len() {
            assert_eq!(run(&mut masker(&[("K", "sk-SECRET-123")]), input, size), want, "chunk size {size}");
        }
    }

    #[test]
    fn longest_value_wins_and_prefixes_wait() {
        let pairs = [("SHORT", "abc"), ("LONG", "abcdef")];
        for size in 1..=12 {
            assert_eq!(
                run(&mut masker(&pairs), b"abcdef abc abcde", size),
                "<redacted:LONG> <redacted:SHORT> <redacted:SHORT>de",
                "size {size}"
            );
        }
    }

    #[test]
    fn holds_only_a_possible_prefix() {
        let mut m = masker(&[("K", "secret")]);
        let mut out = vec![];
        m.feed(b"hello\n", &mut out);
        assert_eq!(out, b"hello\n", "nothing held when no value can start");
        out.clear();
        m.feed(b"a sec", &mut out);
        assert_eq!(out, b"a ", "a possible prefix waits");
        out.clear();
        m.feed(b"ond", &mut out);
        assert_eq!(out, b"second");
        out.clear();
        m.feed(b"sec", &mut out);
        m.finish(&mut out);
        assert_eq!(out, b"sec", "end of stream flushes an incomplete prefix");
    }

    #[test]
    fn repeated_and_adjacent_values() {
        for size in 1..=9 {
            assert_eq!(run(&mut masker(&[("A", "aa")]), b"aaaaa", size), "<redacted:A><redacted:A>a", "size {size}");
            assert_eq!(
                run(&mut masker(&[("X", "xy"), ("Y", "yz")]), b"xyz yz", size),
                "<redacted:X>z <redacted:Y>",
                "size {size}"
            );
        }
    }

    #[test]
    fn empty_values_are_ignored_and_binary_passes() {
        let mut m = masker(&[("E", "")]);
        assert!(m.secrets.is_empty());
        assert_eq!(run(&mut m, b"anything", 3), "anything");
        let mut m = masker(&[("K", "\u{e9}t\u{e9}")]);
        let mut out = vec![];
        m.feed(&[0xff, 0xc3], &mut out);
        m.feed(&[0xa9, b't', 0xc3, 0xa9, 0x00], &mut out);
        m.finish(&mut out);
        assert_eq!(out, [&[0xff][..], b"<redacted:K>", &[0x00]].concat());
    }
}
