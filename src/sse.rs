//! An incremental Server-Sent Events parser (the WHATWG `text/event-stream` format), shared by
//! the runtime's streaming providers and `aiorch bench`.
//!
//! Bytes are fed as they arrive, split anywhere (inside a UTF-8 character or between the `\r`
//! and `\n` of a CRLF). Lines end in `\n`, `\r\n` or `\r`; `data:` lines of one event are joined
//! with `\n`; lines starting with `:` are comments. Both callers read OpenAI-compatible
//! streams, which carry everything in `data:`, so an event is its data: `event:`, `id:` and
//! `retry:` are ignored. Each byte is scanned once: only the unfinished last line is kept
//! between feeds.

#[derive(Debug, Default)]
pub struct Parser {
    /// The unfinished line carried over from the previous feed.
    line: Vec<u8>,
    /// The previous feed ended in `\r`: a `\n` starting the next one belongs to that line end.
    after_cr: bool,
    /// Past the first line (a leading byte order mark is dropped from it).
    started: bool,
    data: String,
    has_data: bool,
}

impl Parser {
    /// Feed the next bytes; returns the data of the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut out = vec![];
        let mut rest = bytes;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if let [b'\n', tail @ ..] = rest {
                rest = tail;
            }
        }
        while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            if self.line.is_empty() {
                self.line_done(&rest[..end], &mut out);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&rest[..end]);
                self.line_done(&line, &mut out);
                line.clear();
                self.line = line;
            }
            let crlf = rest[end] == b'\r';
            rest = &rest[end + 1..];
            if crlf {
                match rest {
                    [b'\n', tail @ ..] => rest = tail,
                    [] => self.after_cr = true,
                    _ => {}
                }
            }
        }
        self.line.extend_from_slice(rest);
        out
    }

    /// The stream has ended. A last event without its closing blank line is still dispatched
    /// (the standard drops it; servers that close right after `data: [DONE]\n` are common).
    pub fn finish(&mut self) -> Option<String> {
        let mut out = vec![];
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_done(&line, &mut out);
        }
        self.after_cr = false;
        self.line_done(b"", &mut out);
        out.pop()
    }

    fn line_done(&mut self, mut line: &[u8], out: &mut Vec<String>) {
        if !self.started {
            self.started = true;
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        if line.is_empty() {
            if self.has_data {
                out.push(std::mem::take(&mut self.data));
            }
            self.data.clear();
            self.has_data = false;
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        if name == b"data" {
            if self.has_data {
                self.data.push('\n');
            }
            self.data.push_str(&String::from_utf8_lossy(value));
            self.has_data = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Parser;

    /// Feed `chunks` one after the other, then finish.
    fn run<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<String> {
        let mut p = Parser::default();
        let mut out: Vec<String> = chunks.into_iter().flat_map(|c| p.push(c)).collect();
        out.extend(p.finish());
        out
    }

    #[test]
    fn fields_comments_and_multi_line_data() {
        let s = b": a comment\nevent: delta\nid: 7\ndata: one\ndata:two\ndata\n\ndata: x\nignored: y\n\n";
        assert_eq!(run([&s[..]]), ["one\ntwo\n", "x"]);
    }

    #[test]
    fn every_line_end() {
        let want = ["a\nb", "c"];
        for s in [
            "data: a\ndata: b\n\ndata: c\n\n",
            "data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n",
            "data: a\rdata: b\r\rdata: c\r\r",
        ] {
            assert_eq!(run([s.as_bytes()]), want, "{s:?}");
        }
        // Mixed, and `\r` then `\n` in separate feeds is one line end, not two.
        assert_eq!(run([&b"data: a\r"[..], b"", b"\ndata: b\n\r", b"\n", b"data: c\r\n\n"]), want);
    }

    #[test]
    fn events_without_data_are_not_dispatched() {
        assert_eq!(run([&b"event: ping\n\nid: 3\n\n: keepalive\n\n"[..]]), Vec::<String>::new());
        // An empty `data:` is still data.
        assert_eq!(run([&b"data:\n\n"[..]]), [""]);
    }

    #[test]
    fn other_fields_are_ignored() {
        let got =
            run([&b"id: 1\ndata: a\n\nevent: e\ndata: b\n\nid\ndata: c\n\nretry: 1500\nid: x\0y\ndata: d\n\n"[..]]);
        assert_eq!(got, ["a", "b", "c", "d"]);
    }

    #[test]
    fn finish_dispatches_a_last_event_without_its_blank_line() {
        assert_eq!(run([&b"data: [DONE]\n"[..]]), ["[DONE]"]);
        assert_eq!(run([&b"data: x"[..]]), ["x"]);
        assert_eq!(run([&b"data: x\n\n\n"[..]]), ["x"]);
        assert_eq!(run([&b": only a comment"[..]]), Vec::<String>::new());
    }

    #[test]
    fn a_byte_order_mark_is_dropped_even_when_split() {
        assert_eq!(run([&b"\xEF\xBB"[..], b"\xBFdata: x\n\n"]), ["x"]);
    }

    #[test]
    fn a_split_utf8_character_survives() {
        let s = "data: h\u{e9}llo \u{1F600}\n\n".as_bytes();
        let at = s.iter().position(|&b| b == 0x9F).unwrap(); // inside the 4-byte emoji
        assert_eq!(run([&s[..at], &s[at..]]), ["h\u{e9}llo \u{1F600}"]);
    }

    /// Every way of cutting the stream in two, and byte by byte, and into pseudo-random pieces,
    /// gives the same events as feeding it whole.
    #[test]
    fn splitting_anywhere_yields_the_same_events() {
        let stream = "\u{feff}: hi\r\nevent: a\r\nid: \u{3b1}\r\ndata: {\"t\":\"\u{e9}\u{1F600}\"}\r\ndata:\r\n\r\n\
                      data: cr\rdata: only\r\rretry: 10\nevent: b\ndata:x\n\nid\n: c\ndata: end\r\n\n\
                      data: \u{4e2d}\u{6587}\r\n\r\ndata: tail";
        let s = stream.as_bytes();
        let whole = run([s]);
        assert_eq!(whole.len(), 6);
        assert_eq!(whole[0], "{\"t\":\"\u{e9}\u{1F600}\"}\n");
        assert_eq!(whole[1], "cr\nonly");
        assert_eq!(whole[2], "x");
        assert_eq!(whole[3], "end");
        assert_eq!(whole[4], "\u{4e2d}\u{6587}");
        assert_eq!(whole[5], "tail");
        for i in 0..=s.len() {
            assert_eq!(run([&s[..i], &s[i..]]), whole, "split at {i}");
        }
        assert_eq!(run(s.chunks(1)), whole, "byte by byte");
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        for round in 0..200 {
            let mut cuts = vec![0];
            while *cuts.last().unwrap() < s.len() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                cuts.push((cuts.last().unwrap() + (seed % 9) as usize).min(s.len()));
            }
            let pieces = cuts.windows(2).map(|w| &s[w[0]..w[1]]);
            assert_eq!(run(pieces), whole, "round {round}: cuts {cuts:?}");
        }
    }
}
