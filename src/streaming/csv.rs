//! An incremental CSV reader for Metabase's csv export: fed body chunks as they arrive, it hands
//! each complete record to a callback and keeps at most one partial record. A record that begins
//! with `{"` is not CSV but the JSON error object Metabase writes into the body when a query
//! fails after the response began; the reader reports it instead of a record.

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
    /// The body switched to Metabase's JSON error object; the rest of the body is its text.
    ErrorObject,
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
    error_text: Option<Vec<u8>>,
}

impl CsvReader {
    /// Returns a reader at the start of a body.
    pub fn new() -> Self {
        CsvReader { at_record_start: true, ..Default::default() }
    }

    /// Returns the error object's text gathered so far, once one began.
    pub fn error_text(&self) -> Option<&[u8]> {
        self.error_text.as_deref()
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

    /// Feeds a chunk like [`CsvReader::feed`] and returns where in `chunk` reading stopped when
    /// the callback asked to stop: just past the record's line terminator (`\n` or `\r\n`), or
    /// where the error object begins. Returns `None` when the whole chunk was read.
    pub fn feed_until_stop(&mut self, chunk: &[u8], on_event: &mut dyn FnMut(Event<'_>) -> bool) -> Option<usize> {
        let mut index = 0;
        while index < chunk.len() {
            if let Some(error) = self.error_text.as_mut() {
                error.extend_from_slice(&chunk[index..]);
                return None;
            }
            let byte = chunk[index];
            if self.at_record_start && !self.in_quotes && byte == b'{' {
                self.error_text = Some(chunk[index..].to_vec());
                return (!on_event(Event::ErrorObject)).then_some(index);
            }
            self.at_record_start = false;
            if self.in_quotes && !self.quote_pending {
                let quote = memchr::memchr(b'"', &chunk[index..]).map_or(chunk.len(), |offset| index + offset);
                self.record.extend_from_slice(&chunk[index..quote]);
                if quote == chunk.len() {
                    return None;
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
                    if !self.emit(on_event) {
                        return Some(index + 1);
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
        None
    }

    /// Ends the body: a last record without a trailing newline is delivered.
    pub fn finish(&mut self, on_event: &mut dyn FnMut(Event<'_>) -> bool) {
        if self.error_text.is_some() {
            return;
        }
        if self.quote_pending {
            self.quote_pending = false;
            self.in_quotes = false;
        }
        if !self.at_record_start {
            self.finish_field();
            self.emit(on_event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(chunks: &[&str]) -> (Vec<Vec<String>>, Option<String>) {
        let mut reader = CsvReader::new();
        let mut found = Vec::new();
        let mut on_event = |event: Event<'_>| {
            if let Event::Record(record) = event {
                found.push(record.to_vec());
            }
            true
        };
        for chunk in chunks {
            reader.feed(chunk.as_bytes(), &mut on_event);
        }
        reader.finish(&mut on_event);
        let error = reader.error_text().map(|text| String::from_utf8_lossy(text).into_owned());
        (found, error)
    }

    #[test]
    fn quoted_fields_with_commas_quotes_and_newlines_survive_chunk_boundaries() {
        let (found, error) = records(&["ID,NA", "ME\n1,\"a, \"\"b\"\"\nc\"\n2,", "plain\r\n3,last"]);
        assert_eq!(found, vec![vec!["ID", "NAME"], vec!["1", "a, \"b\"\nc"], vec!["2", "plain"], vec!["3", "last"]]);
        assert!(error.is_none());
    }

    #[test]
    fn a_json_error_object_after_rows_is_reported() {
        let (found, error) = records(&["ID\n1\n2\n{\"status\":\"fai", "led\",\"error\":\"boom\"}"]);
        assert_eq!(found.len(), 3);
        assert_eq!(error.as_deref(), Some("{\"status\":\"failed\",\"error\":\"boom\"}"));
    }
}
