//! A minimal Server-Sent Events reader: enough for chat-completion streams (`data:` lines,
//! events separated by a blank line, `\n` or `\r\n`).

/// Feeds bytes in, yields the `data` payload of each complete event.
#[derive(Default)]
pub struct SseParser {
    buf: Vec<u8>,
}

impl SseParser {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(bytes);
        let mut out = vec![];
        while let Some((end, sep)) = find_blank_line(&self.buf) {
            let event: Vec<u8> = self.buf.drain(..end + sep).collect();
            let text = String::from_utf8_lossy(&event[..end]);
            let data: Vec<&str> = text
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            if !data.is_empty() {
                out.push(data.join("\n"));
            }
        }
        out
    }

    /// Whatever is left when the stream closes (a final event without its blank line).
    pub fn finish(&mut self) -> Vec<String> {
        if self.buf.iter().all(u8::is_ascii_whitespace) {
            return vec![];
        }
        self.buf.extend_from_slice(b"\n\n");
        self.push(&[])
    }
}

fn find_blank_line(b: &[u8]) -> Option<(usize, usize)> {
    for i in 0..b.len() {
        if b[i..].starts_with(b"\n\n") {
            return Some((i, 2));
        }
        if b[i..].starts_with(b"\r\n\r\n") {
            return Some((i, 4));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_events_across_chunks() {
        let mut p = super::SseParser::default();
        assert!(p.push(b"data: {\"a\"").is_empty());
        assert_eq!(p.push(b":1}\n\ndata: [DONE]\r\n\r\n: comment\n\n"), vec!["{\"a\":1}", "[DONE]"]);
        assert_eq!(p.push(b"data: x"), Vec::<String>::new());
        assert_eq!(p.finish(), vec!["x"]);
    }
}
