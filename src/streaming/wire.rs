//! The wire form of query results. `QueryResultChunk` is written by hand (prost's `extern_path`
//! puts it in place of the generated type) so that a row batch can travel as protobuf bytes
//! encoded straight from the parsed upstream body, with no message struct per row or value.
//! It decodes like the generated type, so clients see ordinary `RowBatch` messages.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use prost::DecodeError;
use prost::encoding::{
    DecodeContext, WireType, encode_key, encode_varint, encoded_len_varint, key_len, message, skip_field,
};

use crate::pb::v1::{ResultHeader, ResultSummary, RowBatch};

/// One message of a RunCard or RunQuery stream: the header, a batch of rows, or the summary.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct QueryResultChunk {
    /// The chunk's content.
    pub chunk: Option<Chunk>,
}

/// The content of a [`QueryResultChunk`].
#[derive(Clone, PartialEq, Debug)]
pub enum Chunk {
    /// Column metadata; always first.
    Header(ResultHeader),
    /// Decoded rows (what a client receives).
    Rows(RowBatch),
    /// Rows already encoded as a `RowBatch` message body (what the gateway sends).
    EncodedRows(EncodedRows),
    /// Counts and limits; always last.
    Summary(ResultSummary),
}

/// The bytes of an encoded `RowBatch` message, and how many rows they hold.
#[derive(Clone, PartialEq, Debug)]
pub struct EncodedRows {
    /// The `RowBatch` message body.
    pub bytes: Bytes,
    /// The number of rows encoded.
    pub rows: usize,
}

impl QueryResultChunk {
    /// Returns a chunk holding the header.
    pub fn header(header: ResultHeader) -> Self {
        QueryResultChunk { chunk: Some(Chunk::Header(header)) }
    }

    /// Returns a chunk holding encoded rows.
    pub fn rows(rows: EncodedRows) -> Self {
        QueryResultChunk { chunk: Some(Chunk::EncodedRows(rows)) }
    }

    /// Returns a chunk holding the summary.
    pub fn summary(summary: ResultSummary) -> Self {
        QueryResultChunk { chunk: Some(Chunk::Summary(summary)) }
    }
}

impl prost::Message for QueryResultChunk {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        match &self.chunk {
            Some(Chunk::Header(header)) => message::encode(1, header, buf),
            Some(Chunk::Rows(rows)) => message::encode(2, rows, buf),
            Some(Chunk::EncodedRows(rows)) => {
                encode_key(2, WireType::LengthDelimited, buf);
                encode_varint(rows.bytes.len() as u64, buf);
                buf.put_slice(&rows.bytes);
            }
            Some(Chunk::Summary(summary)) => message::encode(3, summary, buf),
            None => {}
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        context: DecodeContext,
    ) -> Result<(), DecodeError> {
        match tag {
            1 => {
                let mut header = match self.chunk.take() {
                    Some(Chunk::Header(header)) => header,
                    _ => ResultHeader::default(),
                };
                message::merge(wire_type, &mut header, buf, context)?;
                self.chunk = Some(Chunk::Header(header));
                Ok(())
            }
            2 => {
                let mut rows = match self.chunk.take() {
                    Some(Chunk::Rows(rows)) => rows,
                    _ => RowBatch::default(),
                };
                message::merge(wire_type, &mut rows, buf, context)?;
                self.chunk = Some(Chunk::Rows(rows));
                Ok(())
            }
            3 => {
                let mut summary = match self.chunk.take() {
                    Some(Chunk::Summary(summary)) => summary,
                    _ => ResultSummary::default(),
                };
                message::merge(wire_type, &mut summary, buf, context)?;
                self.chunk = Some(Chunk::Summary(summary));
                Ok(())
            }
            _ => skip_field(wire_type, tag, buf, context),
        }
    }

    fn encoded_len(&self) -> usize {
        match &self.chunk {
            Some(Chunk::Header(header)) => message::encoded_len(1, header),
            Some(Chunk::Rows(rows)) => message::encoded_len(2, rows),
            Some(Chunk::EncodedRows(rows)) => {
                key_len(2) + encoded_len_varint(rows.bytes.len() as u64) + rows.bytes.len()
            }
            Some(Chunk::Summary(summary)) => message::encoded_len(3, summary),
            None => 0,
        }
    }

    fn clear(&mut self) {
        self.chunk = None;
    }
}

/// Receives the typed cells of rows, one row at a time. The parsers write to this trait, so the
/// same pipeline feeds protobuf row batches ([`ProtobufRows`]) and Arrow record batches
/// (`super::arrow::ArrowRows`).
pub trait RowEncoder {
    /// Appends a SQL null.
    fn null(&mut self);
    /// Appends a boolean.
    fn boolean(&mut self, value: bool);
    /// Appends an integer.
    fn int(&mut self, value: i64);
    /// Appends a floating-point number.
    fn double(&mut self, value: f64);
    /// Appends text.
    fn text(&mut self, value: &str);
    /// Ends the current row.
    fn end_row(&mut self);
}

/// A [`RowEncoder`] that gathers rows into batches of one wire encoding: the result pipeline
/// sends a batch once it holds about [`BatchEncoder::BATCH_BYTES`].
pub(crate) trait BatchEncoder: RowEncoder {
    /// A finished batch, ready to be sent.
    type Batch;
    /// The size in bytes at which a batch is sent.
    const BATCH_BYTES: usize;
    /// Returns how many rows the current batch holds.
    fn rows(&self) -> usize;
    /// Returns the current batch's size in bytes (an estimate where the encoding is not bytes yet).
    fn byte_len(&self) -> usize;
    /// Takes the current batch, leaving an empty one.
    fn take(&mut self) -> Self::Batch;
    /// Returns how many values did not fit their column's type and were sent as nulls; an
    /// encoding that keeps such values as text never nulls one.
    fn mistyped(&self) -> u64 {
        0
    }
}

/// Encodes rows as the body of a protobuf `RowBatch` message.
#[derive(Debug, Default)]
pub struct ProtobufRows {
    batch: BytesMut,
    row: Vec<u8>,
    rows: usize,
}

/// Tag bytes of `Row.values` (field 1, length-delimited) and `RowBatch.rows` (likewise).
const REPEATED_MESSAGE_TAG: u8 = 0x0A;

fn put_varint(buffer: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        buffer.push((value as u8) | 0x80);
        value >>= 7;
    }
    buffer.push(value as u8);
}

impl ProtobufRows {
    /// Returns how many rows the current batch holds.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Returns the current batch's size in bytes.
    pub fn byte_len(&self) -> usize {
        self.batch.len()
    }

    /// Takes the current batch, leaving an empty one.
    pub fn take(&mut self) -> EncodedRows {
        let rows = std::mem::take(&mut self.rows);
        EncodedRows { bytes: self.batch.split().freeze(), rows }
    }
}

impl BatchEncoder for ProtobufRows {
    type Batch = EncodedRows;
    // Well under gRPC's 4 MiB default and the 1 MiB the API promises, large enough to keep
    // per-message overhead small.
    const BATCH_BYTES: usize = 128 * 1024;

    fn rows(&self) -> usize {
        ProtobufRows::rows(self)
    }

    fn byte_len(&self) -> usize {
        ProtobufRows::byte_len(self)
    }

    fn take(&mut self) -> EncodedRows {
        ProtobufRows::take(self)
    }
}

impl RowEncoder for ProtobufRows {
    fn null(&mut self) {
        self.row.extend_from_slice(&[REPEATED_MESSAGE_TAG, 2, 0x08, 0x00]);
    }

    fn boolean(&mut self, value: bool) {
        self.row.extend_from_slice(&[REPEATED_MESSAGE_TAG, 2, 0x10, u8::from(value)]);
    }

    fn int(&mut self, value: i64) {
        let length = 1 + encoded_len_varint(value as u64);
        self.row.extend_from_slice(&[REPEATED_MESSAGE_TAG, length as u8, 0x18]);
        put_varint(&mut self.row, value as u64);
    }

    fn double(&mut self, value: f64) {
        self.row.extend_from_slice(&[REPEATED_MESSAGE_TAG, 9, 0x21]);
        self.row.extend_from_slice(&value.to_le_bytes());
    }

    fn text(&mut self, value: &str) {
        let length = value.len();
        self.row.push(REPEATED_MESSAGE_TAG);
        put_varint(&mut self.row, (1 + encoded_len_varint(length as u64) + length) as u64);
        self.row.push(0x2A);
        put_varint(&mut self.row, length as u64);
        self.row.extend_from_slice(value.as_bytes());
    }

    fn end_row(&mut self) {
        self.batch.reserve(self.row.len() + 6);
        self.batch.put_u8(REPEATED_MESSAGE_TAG);
        encode_varint(self.row.len() as u64, &mut self.batch);
        self.batch.extend_from_slice(&self.row);
        self.row.clear();
        self.rows += 1;
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::pb::v1::value::Kind;

    #[test]
    fn encoded_rows_decode_as_ordinary_row_batches() {
        let mut encoder = ProtobufRows::default();
        encoder.int(9_007_199_254_740_993);
        encoder.int(-5);
        encoder.double(2.5);
        encoder.text("Gizmo");
        encoder.boolean(true);
        encoder.null();
        encoder.end_row();
        encoder.text(&"x".repeat(300));
        encoder.end_row();
        let chunk = QueryResultChunk::rows(encoder.take());
        let decoded = QueryResultChunk::decode(chunk.encode_to_vec().as_slice()).expect("decodes");
        let Some(Chunk::Rows(batch)) = decoded.chunk else { panic!("a row batch") };
        let kinds: Vec<Kind> = batch.rows[0].values.iter().map(|value| value.kind.clone().unwrap()).collect();
        assert_eq!(
            kinds,
            vec![
                Kind::IntValue(9_007_199_254_740_993),
                Kind::IntValue(-5),
                Kind::DoubleValue(2.5),
                Kind::StringValue("Gizmo".into()),
                Kind::BoolValue(true),
                Kind::NullValue(0)
            ]
        );
        assert_eq!(batch.rows[1].values[0].kind, Some(Kind::StringValue("x".repeat(300))));
        assert_eq!(chunk.encoded_len(), chunk.encode_to_vec().len());
    }
}
