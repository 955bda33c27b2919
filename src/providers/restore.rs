//! Streaming restore, the client side (part of the providers layer): which texts of a
//! client API's stream events may carry placeholders, and the events that carry held-back
//! text out at the end of a block. The pipeline owns the restorers (`mask::StreamRestorer`,
//! one per text stream) behind [`Restore`]; each wire module reads and rewrites its own
//! events (`openai::StreamState`, `anthropic::restore_stream_event`); [`ClientStream`]
//! picks the module for the client's API; the Responses API's stream, with its per-item
//! events and `.done` copies, is `responses::StreamState`.

use super::sse::SseEvent;
use super::{anthropic, openai, ApiKind, TextRef};

/// One text stream inside a client's event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StreamKey {
    /// Chat Completions choice index, or Messages content block index.
    pub index: u64,
    /// 0 = message text; 1 + n = Chat Completions tool call n; Messages: 0 text, 1 tool
    /// input JSON.
    pub sub: u64,
}

/// What a client stream's event handling needs from the pipeline's restorers.
pub trait Restore {
    /// Restores one delta of `key`'s text (`json`: JSON source, as tool arguments are);
    /// returns what can go out now (empty: held back, it may begin a placeholder).
    fn push(&mut self, key: StreamKey, json: bool, text: &str) -> String;
    /// Flushes and retires the text streams `pred` picks: (key, held text) for those that
    /// held some.
    fn flush(&mut self, pred: &dyn Fn(&StreamKey) -> bool) -> Vec<(StreamKey, String)>;
    /// Restores whole texts in place (a `.done` event's text, an item or response a stream
    /// event carries).
    fn restore_texts(&mut self, refs: Vec<TextRef<'_>>);
    /// Token counts the stream reported (merged: a zero does not overwrite a count).
    fn usage(&mut self, usage: Option<(u64, u64)>);
}

/// The client API's side of one stream.
pub enum ClientStream {
    OpenAi(openai::StreamState),
    Anthropic,
}

impl ClientStream {
    /// `strip_usage`: Veil asked a Chat Completions upstream for the usage chunk on the
    /// client's behalf; it is kept from the client.
    pub fn new(api: ApiKind, strip_usage: bool) -> ClientStream {
        match api {
            ApiKind::OpenAi => ClientStream::OpenAi(openai::StreamState::new(strip_usage)),
            ApiKind::Anthropic => ClientStream::Anthropic,
        }
    }

    /// One event of the client's stream, restored: nothing (all of it held back), itself,
    /// or rewritten, with the held text of blocks that end here.
    pub fn on_event(&mut self, ev: SseEvent, r: &mut dyn Restore) -> Vec<SseEvent> {
        match self {
            ClientStream::OpenAi(s) => s.on_event(ev, r),
            ClientStream::Anthropic => anthropic::restore_stream_event(ev, r),
        }
    }

    /// Events carrying everything still held back (end of stream, or before an error).
    pub fn flush_all(&mut self, r: &mut dyn Restore) -> Vec<SseEvent> {
        match self {
            ClientStream::OpenAi(s) => s.flush_all(r),
            ClientStream::Anthropic => anthropic::flush_all(r),
        }
    }
}
