//! Server-Sent Events codec (part of the providers layer): both wire APIs stream their
//! answers as SSE. [`SseDecoder`] turns raw upstream bytes, split anywhere by the network,
//! into whole events; [`encode`] writes an event back out for the client.
//!
//! The decoder follows the WHATWG event-stream rules that matter here: `\n`, `\r\n` and `\r`
//! line ends (also split across chunks), comment lines (`:` prefix), `data:` with or without
//! the space, several `data:` lines joined by `\n`, blank line dispatches, events without
//! any `data:` line are dropped. Text is decoded as UTF-8 only once a line is complete, so a
//! character split between chunks is never damaged; invalid bytes become U+FFFD.
//!
//! Unlike a browser, `event` and `id` are per event here (reset after each dispatch): Veil
//! re-encodes what it received, it does not track a reconnection id.

use bytes::Bytes;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SseEvent {
    /// The `event:` field, if the event had one.
    pub event: Option<String>,
    /// All `data:` lines of the event, joined by `\n`.
    pub data: String,
    /// The `id:` field, if the event had one.
    pub id: Option<String>,
}

impl SseEvent {
    /// An event with only `data` (the OpenAI stream style).
    pub fn data(data: impl Into<String>) -> Self {
        SseEvent { event: None, data: data.into(), id: None }
    }

    /// An event with a name and `data` (the Anthropic stream style).
    pub fn named(event: impl Into<String>, data: impl Into<String>) -> Self {
        SseEvent { event: Some(event.into()), data: data.into(), id: None }
    }
}

/// Incremental, chunk-boundary safe SSE decoder.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// Bytes of the line being read (no line end yet).
    line: Vec<u8>,
    /// The previous chunk ended with `\r`: a leading `\n` in the next one belongs to it.
    skip_lf: bool,
    /// No line has been completed yet (a leading BOM is stripped from the first line).
    started: bool,
    /// Fields of the event being built.
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed raw bytes (they may split anywhere: inside a line, inside a UTF-8 character,
    /// between `\r` and `\n`). Returns the events completed by these bytes.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        let mut rest = bytes;
        if self.skip_lf {
            if let Some((&b'\n', tail)) = rest.split_first() {
                rest = tail;
            }
            if !bytes.is_empty() {
                self.skip_lf = false;
            }
        }
        while let Some(pos) = memchr::memchr2(b'\n', b'\r', rest) {
            self.line.extend_from_slice(&rest[..pos]);
            let line = std::mem::take(&mut self.line);
            if let Some(ev) = self.process_line(&line) {
                out.push(ev);
            }
            self.line = line;
            self.line.clear();
            if rest[pos] == b'\r' {
                match rest.get(pos + 1) {
                    Some(b'\n') => rest = &rest[pos + 2..],
                    Some(_) => rest = &rest[pos + 1..],
                    None => {
                        // `\r` at the end of the chunk: a `\n` may follow in the next one.
                        self.skip_lf = true;
                        rest = &[];
                    }
                }
            } else {
                rest = &rest[pos + 1..];
            }
        }
        self.line.extend_from_slice(rest);
        out
    }

    /// End of stream: returns the last event if the stream ended without the blank line
    /// that would have dispatched it (an unterminated last line counts as a line).
    pub fn finish(&mut self) -> Option<SseEvent> {
        self.skip_lf = false;
        let mut last = None;
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            last = self.process_line(&line);
        }
        last.or_else(|| self.dispatch())
    }

    /// Handles one complete line; returns an event when the line is blank.
    fn process_line(&mut self, raw: &[u8]) -> Option<SseEvent> {
        let text = String::from_utf8_lossy(raw);
        let mut line: &str = &text;
        if !self.started {
            self.started = true;
            line = line.strip_prefix('\u{FEFF}').unwrap_or(line);
        }
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_owned()),
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        let id = self.id.take();
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        Some(SseEvent { event, data: std::mem::take(&mut self.data), id })
    }
}

/// Writes one event: `event:` and `id:` lines when set, one `data:` line per line of
/// `data`, then the blank line. `data` is always written, so the event survives decoding.
pub fn encode(ev: &SseEvent) -> Bytes {
    let mut out = String::with_capacity(ev.data.len() + 32);
    if let Some(event) = &ev.event {
        out.push_str("event: ");
        push_single_line(&mut out, event);
        out.push('\n');
    }
    if let Some(id) = &ev.id {
        out.push_str("id: ");
        push_single_line(&mut out, id);
        out.push('\n');
    }
    for line in split_lines(&ev.data) {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

/// A field value that must stay on one line: line breaks become spaces.
fn push_single_line(out: &mut String, value: &str) {
    out.extend(value.chars().map(|c| match c {
        '\r' | '\n' => ' ',
        c => c,
    }));
}

/// Splits on `\r\n`, `\r` or `\n`, the way the decoder will read the lines back. An empty
/// string gives one empty line.
fn split_lines(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let cur = rest?;
        match cur.find(['\r', '\n']) {
            Some(pos) => {
                let skip = if cur[pos..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&cur[pos + skip..]);
                Some(&cur[..pos])
            }
            None => {
                rest = None;
                Some(cur)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut d = SseDecoder::new();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(d.push(c));
        }
        out.extend(d.finish());
        out
    }

    const SAMPLE: &str = "\u{FEFF}: keep-alive comment\r\n\
        event: message_start\r\n\
        data: {\"type\":\"message_start\",\"text\":\"héllo 🌍 ünïcode\"}\r\n\
        \r\n\
        event: ping\n\
        data:{\"type\": \"ping\"}\n\
        \n\
        id: 7\r\
        data: line one\r\
        data: line two\r\
        data:\r\
        \r\
        event: no-data\n\
        \n\
        retry: 1000\n\
        unknown-field\n\
        data: last 中文\n";

    fn sample_expected() -> Vec<SseEvent> {
        vec![
            SseEvent::named("message_start", "{\"type\":\"message_start\",\"text\":\"héllo 🌍 ünïcode\"}"),
            SseEvent::named("ping", "{\"type\": \"ping\"}"),
            SseEvent { event: None, data: "line one\nline two\n".into(), id: Some("7".into()) },
            SseEvent::data("last 中文"),
        ]
    }

    #[test]
    fn decodes_sample_in_one_chunk() {
        assert_eq!(decode_all(&[SAMPLE.as_bytes()]), sample_expected());
    }

    #[test]
    fn chunking_invariance_every_split_point() {
        let bytes = SAMPLE.as_bytes();
        for i in 0..=bytes.len() {
            let got = decode_all(&[&bytes[..i], &bytes[i..]]);
            assert_eq!(got, sample_expected(), "split at {i}");
        }
    }

    #[test]
    fn chunking_invariance_two_splits_and_single_bytes() {
        let bytes = SAMPLE.as_bytes();
        for i in (0..=bytes.len()).step_by(3) {
            for j in (i..=bytes.len()).step_by(5) {
                let got = decode_all(&[&bytes[..i], &bytes[i..j], &bytes[j..]]);
                assert_eq!(got, sample_expected(), "split at {i},{j}");
            }
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(decode_all(&singles), sample_expected());
    }

    #[test]
    fn empty_chunks_do_not_lose_pending_cr() {
        let got = decode_all(&[b"data: a\r", b"", b"\n", b"\r\n"]);
        assert_eq!(got, vec![SseEvent::data("a")]);
    }

    #[test]
    fn finish_without_trailing_blank_line() {
        let mut d = SseDecoder::new();
        assert!(d.push(b"data: x\n").is_empty());
        assert_eq!(d.finish(), Some(SseEvent::data("x")));
        assert_eq!(d.finish(), None);
        let mut d = SseDecoder::new();
        assert!(d.push(b"event: e\ndata: x").is_empty());
        assert_eq!(d.finish(), Some(SseEvent::named("e", "x")));
        let mut d = SseDecoder::new();
        assert!(d.push(b"event: e\n").is_empty());
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn invalid_utf8_is_lossy() {
        let got = decode_all(&[b"data: a\xffb\n\n"]);
        assert_eq!(got, vec![SseEvent::data("a\u{FFFD}b")]);
    }

    #[test]
    fn openai_done_stream() {
        let got = decode_all(&[b"data: {\"a\":1}\n\ndata: [DONE]\n\n"]);
        assert_eq!(got, vec![SseEvent::data("{\"a\":1}"), SseEvent::data("[DONE]")]);
    }

    #[test]
    fn encode_formats() {
        assert_eq!(
            encode(&SseEvent::named("message_stop", "{\"type\":\"message_stop\"}")),
            Bytes::from_static(b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
        );
        assert_eq!(encode(&SseEvent::data("a\nb\r\nc")), Bytes::from_static(b"data: a\ndata: b\ndata: c\n\n"));
        assert_eq!(encode(&SseEvent::data("")), Bytes::from_static(b"data: \n\n"));
    }

    #[test]
    fn encode_decode_round_trip() {
        let events = vec![
            SseEvent::named("x", " leading space\n\ntwo blank"),
            SseEvent { event: None, data: String::new(), id: Some("42".into()) },
            SseEvent::data("ünï 🌍"),
        ];
        let mut wire = Vec::new();
        for ev in &events {
            wire.extend_from_slice(&encode(ev));
        }
        assert_eq!(decode_all(&[&wire]), events);
    }
}
