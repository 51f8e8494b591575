//! An incremental CSV reader for Metabase's csv export: fed body chunks as they arrive, it hands
//! each complete record to a callback and keeps at most one partial record.
//!
//! When a query fails after the response began, Metabase appends its JSON error object
//! (`{"status":"failed",...}`) to the body and ends it. A data value can look the same: a first
//! column whose value begins with `{`. So a record that begins with an unquoted `{"status":"failed"`
//! is held back until the body shows what it is: anything but whitespace after it makes it data
//! (it is delivered, and reading goes on); the end of the body makes it the error object, when
//! its bytes are one. A record that begins with any other `{` is data at once.

/// How Metabase's error object begins.
const ERROR_MARKER: &[u8] = b"{\"status\":\"failed\"";
/// The most bytes held as a possible error object; a longer record is data.
pub(crate) const MAX_ERROR_OBJECT_BYTES: usize = 256 * 1024;

/// A complete record: its bytes and where each field ends. The bytes are checked as UTF-8 once
/// per record, not once per field.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    bytes: &'a [u8],
    text: Option<&'a str>,
    ends: &'a [usize],
}

impl<'a> Record<'a> {
    /// Returns the number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Returns whether the record has no fields.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Returns a field's text (invalid UTF-8 is replaced).
    pub fn field(&self, index: usize) -> std::borrow::Cow<'a, str> {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        match self.text {
            Some(text) => std::borrow::Cow::Borrowed(&text[start..self.ends[index]]),
            None => String::from_utf8_lossy(&self.bytes[start..self.ends[index]]),
        }
    }

    /// Returns a field's length in bytes.
    pub fn field_len(&self, index: usize) -> usize {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        self.ends[index] - start
    }

    /// Returns every field as owned text.
    pub fn to_vec(&self) -> Vec<String> {
        (0..self.len()).map(|index| self.field(index).into_owned()).collect()
    }
}

/// What the reader found.
#[derive(Debug)]
pub enum Event<'a> {
    /// A complete record.
    Record(Record<'a>),
    /// The body ended with Metabase's JSON error object; [`CsvReader::error_text`] holds it.
    ErrorObject,
    /// The record being read passed the reader's record limit; reading stops. `field` is the
    /// index of the field being read, `bytes` the record's bytes so far.
    Oversized {
        /// The index of the field being read.
        field: usize,
        /// The record's bytes so far.
        bytes: usize,
    },
}

/// A record that began with an unquoted `{"status":"failed"`, not yet known to be data.
#[derive(Debug)]
struct Candidate {
    /// Where in the body its `{` is.
    start: u64,
    /// Its bytes as they came, and once it is complete any whitespace after it.
    raw: Vec<u8>,
    /// Once the record is complete: where in the body it ends (past its terminator) and how many
    /// bytes of `raw` are the record's.
    complete: Option<(u64, usize)>,
}

impl Candidate {
    /// Reports whether `raw` may still be the error object: it agrees with the marker so far and
    /// is not too long.
    fn may_be_error_object(&self) -> bool {
        let compared = self.raw.len().min(ERROR_MARKER.len());
        self.raw[..compared] == ERROR_MARKER[..compared] && self.raw.len() <= MAX_ERROR_OBJECT_BYTES
    }

    /// Reports whether `raw` is Metabase's error object.
    fn is_error_object(&self) -> bool {
        self.raw.starts_with(ERROR_MARKER)
            && serde_json::from_slice::<serde_json::Value>(&self.raw)
                .is_ok_and(|value| value.get("status").and_then(serde_json::Value::as_str) == Some("failed"))
    }
}

/// The reader's state across chunks.
#[derive(Debug, Default)]
pub struct CsvReader {
    record: Vec<u8>,
    ends: Vec<usize>,
    field_start: usize,
    in_quotes: bool,
    quote_pending: bool,
    at_record_start: bool,
    candidate: Option<Candidate>,
    fed: u64,
    error_text: Option<Vec<u8>>,
    record_limit: Option<usize>,
}

impl CsvReader {
    /// Returns a reader at the start of a body.
    pub fn new() -> Self {
        CsvReader { at_record_start: true, ..Default::default() }
    }

    /// Returns a reader that holds at most about `bytes` of one record (plus one chunk): a longer
    /// record ends reading with [`Event::Oversized`] instead of growing without bound.
    pub fn with_record_limit(bytes: usize) -> Self {
        CsvReader { record_limit: Some(bytes), ..CsvReader::new() }
    }

    /// Returns Metabase's error object, once [`CsvReader::finish`] found that the body ended
    /// with one.
    pub fn error_text(&self) -> Option<&[u8]> {
        self.error_text.as_deref()
    }

    /// Returns where in the body the bytes begin that may still be Metabase's error object, so
    /// that a pass-through can hold them back; `None` when every byte read so far is data.
    pub fn held_from(&self) -> Option<u64> {
        self.candidate.as_ref().map(|candidate| candidate.start)
    }

    fn finish_field(&mut self) {
        self.ends.push(self.record.len());
        self.field_start = self.record.len();
    }

    fn field_is_empty(&self) -> bool {
        self.record.len() == self.field_start
    }

    fn emit(&mut self, on_event: &mut dyn FnMut(Event<'_>) -> bool) -> bool {
        let text = std::str::from_utf8(&self.record)
            .ok()
            .filter(|text| self.ends.iter().all(|end| text.is_char_boundary(*end)));
        let keep_going = on_event(Event::Record(Record { bytes: &self.record, text, ends: &self.ends }));
        self.record.clear();
        self.ends.clear();
        self.field_start = 0;
        self.at_record_start = true;
        keep_going
    }

    /// Feeds a chunk; calls `on_event` for each complete record and returns false when the
    /// callback asked to stop.
    pub fn feed(&mut self, chunk: &[u8], on_event: &mut dyn FnMut(Event<'_>) -> bool) -> bool {
        self.feed_until_stop(chunk, on_event).is_none()
    }

    /// Feeds a chunk like [`CsvReader::feed`] and returns where in the body (counted from its
    /// first byte, across chunks) reading stopped when the callback asked to stop: just past the
    /// record's line terminator (`\n` or `\r\n`). Returns `None` when the whole chunk was read.
    pub fn feed_until_stop(&mut self, chunk: &[u8], on_event: &mut dyn FnMut(Event<'_>) -> bool) -> Option<u64> {
        let base = self.fed;
        self.fed += chunk.len() as u64;
        let stop = self.consume(chunk, base, on_event);
        if stop.is_none() && self.record_limit.is_some_and(|limit| self.record.len() > limit) {
            on_event(Event::Oversized { field: self.ends.len(), bytes: self.record.len() });
            return Some(self.fed);
        }
        stop
    }

    /// Reads `chunk`, which begins at `base` in the body.
    fn consume(&mut self, chunk: &[u8], base: u64, on_event: &mut dyn FnMut(Event<'_>) -> bool) -> Option<u64> {
        let mut index = 0;
        // Where the bytes of an incomplete candidate not yet copied to it begin.
        let mut candidate_from = 0;
        while index < chunk.len() {
            if let Some(candidate) = self.candidate.as_mut().filter(|candidate| candidate.complete.is_some()) {
                let data_at = chunk[index..].iter().position(|byte| !byte.is_ascii_whitespace());
                let run_end = data_at.map_or(chunk.len(), |offset| index + offset);
                candidate.raw.extend_from_slice(&chunk[index..run_end]);
                index = run_end;
                if data_at.is_none() && candidate.may_be_error_object() {
                    return None;
                }
                if let Some(stop) = self.release(on_event) {
                    return Some(stop);
                }
                continue;
            }
            let byte = chunk[index];
            if self.at_record_start && !self.in_quotes && byte == b'{' {
                self.candidate = Some(Candidate { start: base + index as u64, raw: Vec::new(), complete: None });
                candidate_from = index;
            }
            self.at_record_start = false;
            if self.in_quotes && !self.quote_pending {
                let quote = memchr::memchr(b'"', &chunk[index..]).map_or(chunk.len(), |offset| index + offset);
                self.record.extend_from_slice(&chunk[index..quote]);
                if quote == chunk.len() {
                    break;
                }
                self.quote_pending = true;
                index = quote + 1;
                continue;
            }
            if self.in_quotes {
                if self.quote_pending {
                    self.quote_pending = false;
                    if byte == b'"' {
                        self.record.push(b'"');
                        index += 1;
                        continue;
                    }
                    self.in_quotes = false;
                } else {
                    if byte == b'"' {
                        self.quote_pending = true;
                    } else {
                        self.record.push(byte);
                    }
                    index += 1;
                    continue;
                }
            }
            match byte {
                b'"' if self.field_is_empty() => self.in_quotes = true,
                b',' => self.finish_field(),
                b'\n' => {
                    if !self.field_is_empty() && self.record.last() == Some(&b'\r') {
                        self.record.pop();
                    }
                    self.finish_field();
                    if let Some(candidate) = self.candidate.as_mut() {
                        candidate.raw.extend_from_slice(&chunk[candidate_from..=index]);
                        candidate.complete = Some((base + index as u64 + 1, candidate.raw.len()));
                        if candidate.may_be_error_object() {
                            index += 1;
                            continue;
                        }
                        self.candidate = None;
                    }
                    if !self.emit(on_event) {
                        return Some(base + index as u64 + 1);
                    }
                }
                other => {
                    let mut run_end = index + 1;
                    while run_end < chunk.len() && !matches!(chunk[run_end], b',' | b'\n' | b'"') {
                        run_end += 1;
                    }
                    if run_end > index + 1 {
                        self.record.extend_from_slice(&chunk[index..run_end]);
                        index = run_end;
                        continue;
                    }
                    self.record.push(other);
                }
            }
            index += 1;
        }
        if let Some(candidate) = self.candidate.as_mut().filter(|candidate| candidate.complete.is_none()) {
            candidate.raw.extend_from_slice(&chunk[candidate_from..]);
            if !candidate.may_be_error_object() {
                self.candidate = None;
            }
        }
        None
    }

    /// Delivers a complete candidate as the data it turned out to be, then reads again the
    /// whitespace that followed it. Returns where reading stopped, if the callback asked to.
    fn release(&mut self, on_event: &mut dyn FnMut(Event<'_>) -> bool) -> Option<u64> {
        let candidate = self.candidate.take()?;
        let (end, record_length) = candidate.complete?;
        if !self.emit(on_event) {
            return Some(end);
        }
        self.consume(&candidate.raw[record_length..], end, on_event)
    }

    /// Ends the body: a held record that is Metabase's error object becomes
    /// [`CsvReader::error_text`] (and an [`Event::ErrorObject`]); otherwise a last record, held or
    /// without a trailing newline, is delivered. Returns where reading stopped, if the callback
    /// asked to.
    pub fn finish(&mut self, on_event: &mut dyn FnMut(Event<'_>) -> bool) -> Option<u64> {
        if self.error_text.is_some() {
            return None;
        }
        if let Some(candidate) = self.candidate.as_ref() {
            if candidate.is_error_object() {
                self.error_text = self.candidate.take().map(|candidate| candidate.raw);
                self.record.clear();
                self.ends.clear();
                on_event(Event::ErrorObject);
                return None;
            }
            if candidate.complete.is_some() {
                if let Some(stop) = self.release(on_event) {
                    return Some(stop);
                }
            } else {
                self.candidate = None;
            }
        }
        if self.quote_pending {
            self.quote_pending = false;
            self.in_quotes = false;
        }
        if !self.at_record_start {
            self.finish_field();
            if !self.emit(on_event) {
                return Some(self.fed);
            }
        }
        None
    }
}

#[cfg(test)]
#[path = "csv_tests.rs"]
mod tests;
